/* kpi.h - the KPI report: MTTA, MTTR and work per incident for a period */
#ifndef MUSTER_KPI_H
#define MUSTER_KPI_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "state/store.h"

/* Longest period a report covers (its previous period as long again). */
#define KPI_MAX_DAYS 3660

typedef enum { KPI_BY_NONE, KPI_BY_WEEK, KPI_BY_WORKFLOW, KPI_BY_SERVICE, KPI_BY_SEVERITY } kpi_by;

typedef struct kpi_query {
    int64_t until_ms; /* the period ends here (exclusive): its last day is
                         the UTC day holding until_ms - 1 */
    int64_t since_ms; /* its length, rounded up to whole days (at least one) */
    kpi_by by;        /* rows: per ISO week, workflow, service or severity */
} kpi_query;

/* "week", "workflow", "service", "severity" (or "" / "none": no rows).
 * Returns 0 and sets *by, or -1. */
int kpi_by_parse(const char *text, kpi_by *by);

/* The name kpi_by_parse() reads, or NULL for KPI_BY_NONE. */
const char *kpi_by_name(kpi_by by);

/*
 * The report for q, from the per-day figures muster-metrics files in Redis
 * (metrics/kpi_day.c): incidents opened in the period and, for them, the
 * time to the first acknowledgement by a person and to the resolution
 * (p50 and mean, seconds), automated actions and manual tasks (manual steps
 * and operator actions) per incident; the same for the previous period of
 * the same length, and the relative change. The shape (docs/metrics.md
 * "The report"):
 *   {"since", "until", "days", "by", "rows": [{"key", FIGURES}],
 *    "total": {FIGURES}, "previous": {"since", "until", FIGURES},
 *    "change": {figure: (now - before) / before, or null}}
 * FIGURES: incidents, acknowledged, resolved, mtta_p50_s, mtta_mean_s,
 * mttr_p50_s, mttr_mean_s, automated, manual, operator_actions,
 * automated_per_incident, manual_per_incident (null when unknown).
 * Fills *out (caller frees with json_decref()). Returns 0, or -1 with err
 * filled (Redis did not answer, or q is out of range).
 */
int kpi_report(store *s, const kpi_query *q, json_t **out, char *err, size_t errlen);

/* Splits a per-day field "workflow TAB severity TAB service TAB figure" (in
 * place) into labels[0..2] and *figure. Returns 0, or -1 when it has not
 * four parts. */
int kpi_field_parse(char *field, char *labels[3], char **figure);

/* Reads up to max comma-separated whole numbers of ms from text (len
 * bytes, not NUL-terminated), skipping what is not one (a negative, a
 * number past 10^15). Returns how many were stored in out. */
size_t kpi_sample_parse(const char *text, size_t len, int64_t *out, size_t max);

#endif
