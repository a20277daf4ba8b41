/* schedule.h - on-call schedules: layers of rotations on an IANA clock */
#ifndef MUSTER_SCHEDULE_H
#define MUSTER_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "common/oncall_fields.h"
#include "common/tzone.h"

/* A part of the week a rotation covers: on the days in `days` (bit d is
 * tm_wday d, 0 = Sunday), from `from` to `to` minutes after midnight; when
 * to <= from the window runs past midnight into the next day. */
typedef struct restriction {
    unsigned days;
    int from;
    int to;
} restriction;

/* Participants take turns of `turn` civil seconds, the first beginning at
 * `start` (the start date at the handoff time, on the schedule's clock). */
typedef struct rotation {
    char **who;
    size_t nwho;
    civil_t start;
    int64_t turn;
    restriction *limits; /* none: all the time */
    size_t nlimits;
} rotation;

typedef struct layer {
    char *name;
    rotation *rotations; /* the first that has someone at a time wins */
    size_t nrotations;
} layer;

typedef struct schedule {
    char *id;
    char *name;
    char *timezone; /* IANA; every wall-clock time of the schedule is on it */
    layer *layers;  /* in file order; a later layer wins where it has someone */
    size_t nlayers;
    char *where;
} schedule;

/* Checks the schedule at obj into s, each problem into f; participants
 * are noted in refs to be checked once every file is read. Free with
 * schedule_clear(). */
void schedule_parse(diag_file *f, oncall_refs *refs, schedule *s, const json_t *obj,
                    const char *pointer);

/* Frees what s holds (not s). */
void schedule_clear(schedule *s);

#endif
