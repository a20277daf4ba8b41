/* aggregate.h - counts one event of muster.events, once, into Redis aggregates */
#ifndef MUSTER_AGGREGATE_H
#define MUSTER_AGGREGATE_H

#include <stddef.h>
#include <stdint.h>

#include "state/store.h"
#include "metrics/kpi_day.h"

/* Largest event accepted; a larger one is invalid (and skipped). */
#define AGG_EVENT_MAX (8 * 1024 * 1024)

/* How long an event id is remembered to recognise a repeat. */
#define AGG_DEDUPE_MS (24LL * 3600 * 1000)

/* Longest duration_ms taken into the latency histograms (a year). */
#define AGG_DURATION_MAX_MS (366LL * 86400 * 1000)

/* Parts of an aggregate field: the family and up to three label values, and
 * a histogram's component. */
#define AGG_MAX_PARTS 5

typedef enum {
    AGG_COUNTED = 0, /* new: the aggregates hold it now */
    AGG_DUPLICATE,   /* seen before: nothing changed but the duplicate count */
    AGG_INVALID,     /* not a muster event (err says why): nothing changed */
} agg_outcome;

/*
 * One family of aggregates in the Redis hash P:agg. A field is the family's
 * code, then its label values, then (histograms) the component, joined by
 * TABs: "opened\tservice-down\tcritical\tcheckout", or
 * "duration\twebhook\tsucceeded\tb3" (bucket 3, not cumulative; b<nbounds>
 * is the one above every bound), "...\tsum" (ms), "...\tcount".
 * Families without a metric name feed the rollups only.
 */
typedef struct agg_family {
    const char *code;
    size_t nlabels;
    const char *label_names[4]; /* NULL-terminated */
    int histogram;
    const int64_t *bounds_ms; /* histograms: upper bounds in ms */
    size_t nbounds;
    const char *metric; /* Prometheus family, or NULL */
    const char *help;
} agg_family;

extern const agg_family aggregate_families[];
extern const size_t aggregate_nfamilies;

/* The family of code `code` (the first part of a field), or NULL. */
const agg_family *aggregate_family(const char *code);

/* Splits field (modified in place) at TABs into at most max parts. Returns
 * how many parts there are, or max + 1 when there are more. */
size_t aggregate_split(char *field, char **parts, size_t max);

/* Parses an RFC 3339 time ("2026-11-24T20:20:59.448Z", or with a +hh:mm
 * offset) into ms since the epoch. Returns 0 or -1. */
int aggregate_parse_time(const char *text, int64_t *ms);

/* Counts one event (CloudEvents 1.0 JSON text of len bytes) into the
 * aggregates, atomically and at most once per event id (state/lua/
 * aggregate.lua), then files the incident's figures by day under the limits
 * kl (kpi_day_file(); NULL: the settings' defaults). now is the wall clock
 * in ms (it ages the remembered ids). Returns an agg_outcome, or -1 with err filled when Redis could not be
 * reached or failed: then nothing was counted and the caller tries again.
 * AGG_INVALID fills err with what is wrong with the event. */
int aggregate_event(store *s, const char *event, size_t len, int64_t now,
                    const kpi_limits *kl, char *err, size_t errlen);

#endif
