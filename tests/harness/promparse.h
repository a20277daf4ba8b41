/* promparse.h - a strict parser of the Prometheus text format 0.0.4, for tests */
#ifndef MUSTER_PROMPARSE_H
#define MUSTER_PROMPARSE_H

#include <stddef.h>
#include <stdint.h>

/*
 * prom_parse() reads an exposition (what GET /metrics returns) and checks it
 * against the text format rules, so a test can both read values and catch
 * an exporter that Prometheus would reject or misread:
 *   - UTF-8, "\n" line endings, the last line ending with one; blank lines
 *     and comments other than HELP/TYPE ignored; blanks and tabs between
 *     tokens, leading and trailing ones ignored;
 *   - HELP escapes only \\ and \n; label values only \\, \" and \n;
 *   - metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*,
 *     no label twice in a sample, values as Go's ParseFloat reads them
 *     (decimal, NaN, +Inf, -Inf), an optional int64 timestamp;
 *   - at most one HELP and one TYPE per name, TYPE before the samples, and
 *     all lines of a family one uninterrupted group;
 *   - each name and label set at most once;
 *   - histograms: every label set has _bucket samples with le in increasing
 *     order, cumulative (non-decreasing) counts, a le="+Inf" bucket equal to
 *     _count, and a _sum; summaries: quantile labels in increasing order.
 * Bounded: lines of at most PROM_LINE_MAX bytes, at most PROM_SAMPLES_MAX
 * samples and PROM_LABELS_MAX labels a sample.
 */

#define PROM_LINE_MAX 65536
#define PROM_SAMPLES_MAX 1000000
#define PROM_LABELS_MAX 64

typedef enum {
    PROM_UNTYPED = 0,
    PROM_COUNTER,
    PROM_GAUGE,
    PROM_HISTOGRAM,
    PROM_SUMMARY
} prom_type;

typedef struct prom_label {
    char *name;
    char *value; /* unescaped */
} prom_label;

typedef struct prom_sample {
    char *name;   /* as written: x_bucket, x_sum, x_count, ... */
    char *family; /* the family it belongs to: x for a histogram's x_bucket */
    prom_type type;
    char *help; /* the family's unescaped HELP text, or NULL */
    prom_label *labels;
    size_t nlabels; /* in the order written */
    double value;
    int has_timestamp;
    int64_t timestamp; /* milliseconds since the epoch, when has_timestamp */
    int line;          /* 1-based */
} prom_sample;

/* Parses text (NUL-terminated). On success returns 0 with *out a malloc'd
 * array of *n samples in the order written (caller frees with
 * prom_samples_free(); *out may be NULL when *n is 0). On failure returns -1
 * with err naming the line and the problem ("line 7: ..."), and *out NULL,
 * *n 0. */
int prom_parse(const char *text, prom_sample **out, size_t *n, char *err, size_t errlen);

/* Frees what prom_parse() returned; prom_samples_free(NULL, 0) is a no-op. */
void prom_samples_free(prom_sample *samples, size_t n);

/* The value of label `name` of s, or NULL. */
const char *prom_label_get(const prom_sample *s, const char *name);

/* The sample named `name` whose label set is exactly the given pairs, in
 * any order: prom_find(s, n, "x_total", "action", "slack", NULL). NULL when
 * there is none. */
const prom_sample *prom_find(const prom_sample *samples, size_t n, const char *name, ...)
    __attribute__((sentinel));

/* "counter", "gauge", "histogram", "summary" or "untyped". */
const char *prom_type_name(prom_type t);

#endif
