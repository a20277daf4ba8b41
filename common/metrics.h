/* metrics.h - a bounded Prometheus registry rendered as text format 0.0.4 */
#ifndef MUSTER_METRICS_H
#define MUSTER_METRICS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Threading: one mutex guards the whole registry, so every function below
 * except metrics_free() may be called from any thread, and metrics_render()
 * (which the HTTP thread calls) never sees a half-made update. Updates are
 * short critical sections: a linear scan of the family's series and an add.
 * metrics_free() must run after every other user has stopped (httpd_stop()
 * first).
 *
 * Bounds: at most max_families families and max_series label sets per
 * family. Registering one family too many returns NULL; an update that would
 * create one label set too many is dropped. Both are counted in the
 * registry's own counter, rendered after the caller's families:
 *   muster_metrics_overflow_total{kind="family"|"series"}
 * Label values are cut to METRICS_LABEL_VALUE_MAX bytes (on a UTF-8
 * boundary) and invalid UTF-8 is replaced with U+FFFD, so outside input
 * (an action name, a status code) cannot grow memory or break the format.
 *
 * Updates through a NULL family are no-ops, so a failed registration costs
 * a metric, never a crash.
 */

#define METRICS_MAX_LABELS 4        /* label names per family */
#define METRICS_MAX_BUCKETS 32      /* finite bucket bounds per histogram */
#define METRICS_LABEL_VALUE_MAX 128 /* bytes of one label value kept */
#define METRICS_HELP_MAX 512        /* bytes of help text kept */
#define METRICS_DEFAULT_FAMILIES 64
#define METRICS_DEFAULT_SERIES 64

typedef struct metrics metrics;
typedef struct metric_family metric_family;

/* Durations in seconds, 5ms to 60s: for metrics_histogram(). */
extern const double metrics_seconds_buckets[];
extern const size_t metrics_seconds_nbuckets;

/* A registry of at most max_families families of at most max_series label
 * sets each (0 means METRICS_DEFAULT_FAMILIES / METRICS_DEFAULT_SERIES).
 * Returns NULL when out of memory. Free with metrics_free(). */
metrics *metrics_new(size_t max_families, size_t max_series);

/* Frees the registry and its families; metrics_free(NULL) is a no-op. No
 * other thread may use m (or a family of it) any more. */
void metrics_free(metrics *m);

/*
 * Registration. name must match [a-zA-Z_:][a-zA-Z0-9_:]*; label_names is a
 * NULL-terminated array (or NULL for none) of at most METRICS_MAX_LABELS
 * names matching [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__", distinct,
 * and for histograms not "le". help may be NULL. Strings are copied.
 *
 * Registering the same name again with the same kind, label names (and
 * buckets) returns the existing family; a clash (another kind or labels, or
 * a histogram's x_bucket/x_sum/x_count) returns NULL and logs why, as do bad
 * names and a full registry. The family lives until metrics_free().
 *
 * A family without labels is rendered from the start (value 0); a family
 * with labels shows a label set once it has been updated.
 */
metric_family *metrics_counter(metrics *m, const char *name, const char *help,
                               const char *const *label_names);
metric_family *metrics_gauge(metrics *m, const char *name, const char *help,
                             const char *const *label_names);

/* buckets: nbuckets strictly increasing upper bounds, a trailing +Inf
 * optional (the +Inf bucket is always there); NULL means
 * metrics_seconds_buckets. At most METRICS_MAX_BUCKETS finite bounds. */
metric_family *metrics_histogram(metrics *m, const char *name, const char *help,
                                 const char *const *label_names, const double *buckets,
                                 size_t nbuckets);

/* A gauge without labels whose value is fn(arg), called on every
 * metrics_render(): so fn runs on the HTTP thread, concurrently with the
 * rest of the program, and must be thread-safe (read an atomic or take its
 * own lock) and quick. It is called without the registry's lock held, so it
 * may itself update metrics. Returns 0, or -1 (logged) like the functions
 * above. */
int metrics_gauge_fn(metrics *m, const char *name, const char *help, double (*fn)(void *arg),
                     void *arg);

/*
 * Updates. label_values has one entry per label name of the family (NULL
 * entries count as ""); it may be NULL for a family without labels.
 *
 * metrics_inc adds v to a counter (v must be >= 0) or a gauge (any sign).
 * metrics_set sets a gauge. metrics_observe records v in a histogram.
 * A call on the wrong kind of family, a NaN, or a negative counter
 * increment is ignored.
 */
void metrics_inc(metric_family *f, const char *const *label_values, double v);
void metrics_set(metric_family *f, const char *const *label_values, double v);
void metrics_observe(metric_family *f, const char *const *label_values, double v);

/* The registry in the Prometheus text exposition format 0.0.4: families in
 * registration order, each with HELP and TYPE, label sets in the order they
 * were first used, histogram buckets cumulative with le="+Inf" equal to
 * _count. Serve it as "text/plain; version=0.0.4; charset=utf-8".
 * Returns a malloc'd string (caller frees), or NULL when out of memory. */
char *metrics_render(metrics *m);

/* Updates and registrations dropped because a bound was reached. */
uint64_t metrics_overflow(metrics *m);

#endif
