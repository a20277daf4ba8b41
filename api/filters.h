/* filters.h - the query of GET /api/v1/incidents: filters, paging, times */
#ifndef MUSTER_API_FILTERS_H
#define MUSTER_API_FILTERS_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define FILTER_LIMIT_DEFAULT 50
#define FILTER_LIMIT_MAX 200
#define FILTER_TEXT_MAX 128

typedef enum {
    STATE_ANY = 0,
    STATE_OPEN,           /* not resolved, acknowledged or not */
    STATE_UNACKNOWLEDGED, /* open, nobody acknowledged yet */
    STATE_ACKNOWLEDGED,   /* open and acknowledged */
    STATE_RESOLVED,
} incident_state;

/* What the caller asked for. Strings are "" when not given. */
typedef struct incident_filter {
    incident_state state;
    char workflow[FILTER_TEXT_MAX];
    char severity[FILTER_TEXT_MAX];
    char service[FILTER_TEXT_MAX];
    char q[FILTER_TEXT_MAX]; /* case-insensitive, in the id, summary or fingerprint */
    int64_t since_ms, until_ms; /* opened at or after / before; 0: no bound */
    size_t limit;
    int has_cursor; /* resume below (cursor_ms, cursor_id) in the newest-first order */
    int64_t cursor_ms;
    char cursor_id[96];
} incident_filter;

/* Returns the value of query parameter key, or NULL when absent. */
typedef const char *(*filter_get_fn)(void *arg, const char *key);

/* Fills f from the parameters get() gives: state, workflow, severity,
 * service, q, since, until (filter_time()), limit (1 to FILTER_LIMIT_MAX),
 * cursor (as filter_cursor() wrote it). now is the wall clock in ms.
 * Returns 0, or -1 with err naming the parameter and its value:
 * "since: \"yesterday\" is not a duration (30d, 12h) or an RFC 3339 time". */
int filter_parse(incident_filter *f, filter_get_fn get, void *arg, int64_t now, char *err,
                 size_t errlen);

/* A time: a duration back from now ("90s", "15m", "12h", "30d", "2w"), an
 * RFC 3339 time, or milliseconds since the epoch (13 digits or more).
 * Returns 0 with *ms filled, or -1. */
int filter_time(const char *text, int64_t now, int64_t *ms);

/* Whether the incident summary (api_incident_summary()'s object) passes f;
 * the time bounds and the cursor are the listing's, not checked here. */
int filter_match(const incident_filter *f, const json_t *summary);

/* The cursor after the incident opened at ms with id: "MS.ID". */
void filter_cursor(int64_t ms, const char *id, char *out, size_t len);

#endif
