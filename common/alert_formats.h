/* alert_formats.h - what alert.c lends the per-format decoders (private to common/alert*.c) */
#ifndef MUSTER_ALERT_FORMATS_H
#define MUSTER_ALERT_FORMATS_H

#include "common/alert.h"

/* One decode in progress: where the alerts go, how much text they hold so
 * far, and where a refusal is written. Every error starts "<format>: ". */
typedef struct alert_ctx {
    alert_batch *out;
    const char *format;
    size_t bytes; /* held to ALERT_MAX_DECODED_BYTES */
    char *err;
    size_t errlen;
} alert_ctx;

/* One alert as a decoder found it, before alert_add() checks and copies it.
 * Strings are borrowed (NULL or "" means "use the default"); labels and
 * annotations are owned references (NULL means empty). */
typedef struct alert_fields {
    const char *source, *fingerprint, *status, *severity, *summary, *starts_at, *ends_at;
    json_t *labels, *annotations;
} alert_fields;

/* How alert_string_map() treats an over-long value. */
enum { ALERT_MAP_LABELS, ALERT_MAP_ANNOTATIONS };

/* Big enough for alert_shown(). */
#define ALERT_SHOWN 80

/* Writes "<format>: <message>" to the context's err. Returns -1. */
int alert_fail(alert_ctx *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* s made fit for an error message: at most 64 bytes, cut at a UTF-8
 * boundary ("..." when cut), control characters as '?'. Returns buf. */
const char *alert_shown(const char *s, char buf[ALERT_SHOWN]);

/* Reads obj[field] as an optional string: *out is NULL when it is absent or
 * null. Refuses another type, or more than max bytes (0: no limit). The error
 * names the field as path + field, e.g. "alerts[3].startsAt". */
int alert_opt_string(alert_ctx *c, const json_t *obj, const char *path, const char *field,
                     size_t max, const char **out);

/* Checks that obj (absent or null: empty) is an object of at most
 * ALERT_MAX_PAIRS strings with names of at most ALERT_MAX_ID bytes, and
 * copies it. Label values longer than ALERT_MAX_ID are refused, annotation
 * values longer than ALERT_MAX_TEXT are cut. New reference, or NULL with the
 * error naming path (e.g. "alerts[3].labels"). */
json_t *alert_string_map(alert_ctx *c, const json_t *obj, const char *path, int kind);

/* Sets annotations[name] = value, cut to ALERT_MAX_TEXT. value NULL or "":
 * nothing. 0, or -1 when out of memory. */
int alert_annotate(alert_ctx *c, json_t *annotations, const char *name, const char *value);

/* Cuts s to at most max bytes at a UTF-8 boundary, ending in "…" when cut.
 * New string (caller frees), NULL when out of memory. */
char *alert_cut(const char *s, size_t max);

/* Checks f against the shared bounds, fills the defaults (status firing,
 * severity warning, fingerprint from the labels, times "") and appends it to
 * the batch as an alert of the context's format. Always takes f's labels and
 * annotations. where prefixes field names in errors ("alerts[3]."). */
int alert_add(alert_ctx *c, alert_fields *f, const char *where);

/* Reads a generic alert (docs/alerts.md) from obj into f; error field names
 * start with path ("" or "data."). default_source stands in for a missing
 * "source". On success f holds new labels and annotations. */
int alert_generic_fields(alert_ctx *c, const json_t *obj, const char *path,
                         const char *default_source, alert_fields *f);

/* The formats. claims() is cheap and never fails; decode() appends the
 * document's alerts to c->out, or fails with c->err filled. */
int alert_alertmanager_claims(const json_t *doc);
int alert_alertmanager_decode(const json_t *doc, alert_ctx *c);
int alert_pagerduty_claims(const json_t *doc);
int alert_pagerduty_decode(const json_t *doc, alert_ctx *c);
int alert_cloudevents_claims(const json_t *doc);
int alert_cloudevents_decode(const json_t *doc, alert_ctx *c);

#endif
