/* rota.h - who is on call: a pure function of schedule, overrides and time */
#ifndef MUSTER_ROTA_H
#define MUSTER_ROTA_H

#include <stddef.h>
#include <time.h>

#include "common/oncall.h"

#define ROTA_MAX_DAYS 366
#define ROTA_MAX_SPANS 20000

/* Someone else takes the schedule over [from, to). The caller owns the
 * strings; a later entry of the array wins over an earlier one. */
typedef struct rota_override {
    const char *id;
    const char *who;
    time_t from;
    time_t to;
} rota_override;

/* Who is on call, and why. Strings point into the schedule or overrides. */
typedef struct oncall_result {
    const char *who;         /* person id, or NULL: nobody */
    const char *override_id; /* the override that put them there, or NULL */
    int layer;               /* index of the layer, -1 for an override or nobody */
    int rotation;            /* index of the rotation within the layer */
} oncall_result;

/* Who is on call on s at instant `at`: an override covering `at` (the last
 * of ov that does), else the last layer that has someone, within it the
 * first rotation that does. A rotation has someone from its first handoff
 * on, within its restrictions. Touches nothing but TZ while it runs (see
 * tzone.h); returns 0, or -1 when s has no usable zone. */
int schedule_oncall(const schedule *s, const rota_override *ov, size_t nov, time_t at,
                    oncall_result *out);

/* One stretch of the rota: out.who is on call over [from, to). */
typedef struct rota_span {
    time_t from;
    time_t to;
    oncall_result r;
} rota_span;

/* The rota of s over [from, to): consecutive spans, each starting at a
 * handoff, restriction edge or override edge where who is on call changes
 * (spans of nobody included). At most ROTA_MAX_DAYS long. Returns the
 * number of spans and *out (caller frees with free()), or -1. */
long schedule_rota(const schedule *s, const rota_override *ov, size_t nov, time_t from,
                   time_t to, rota_span **out);

#endif
