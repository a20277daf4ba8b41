/* kpi.h - the four yardsticks (MTTA, MTTR, automated and manual work) from the aggregates */
#ifndef MUSTER_KPI_H
#define MUSTER_KPI_H

#include <stdint.h>
#include <jansson.h>

#include "common/store.h"

/*
 * Reads what muster-metrics keeps in P:agg (docs/metrics.md) and sums it
 * over every workflow, severity and service, or per value of one of them
 * (`by` "workflow", "severity" or "service"; NULL or "" for one row "all").
 * Fills *out (caller frees with json_decref()) with
 *
 *   {"since": null, "until": RFC 3339 now, "by": by|null,
 *    "rows": [{"key", "incidents", "acknowledged", "resolved", "automated",
 *              "manual", "mtta_p50_s", "mtta_mean_s", "mttr_p50_s",
 *              "mttr_mean_s", "automated_per_incident", "manual_per_incident"}],
 *    "previous": null, "change": null}
 *
 * rows sorted by key; figures without observations are null; p50 is
 * interpolated within the histogram's bucket, as Prometheus'
 * histogram_quantile() does. The aggregates count from the first event on,
 * not by period: since_ms is taken and reported as not applied ("since"
 * null), "previous" and "change" are null, and `by` "week" is refused,
 * until muster-metrics keeps figures by period.
 * Returns 0, or -1 with err filled: an unknown `by` ("by: \"x\" is not ...")
 * or Redis not reachable.
 */
int kpi_report(store *s, int64_t since_ms, const char *by, json_t **out, char *err,
               size_t errlen);

#endif
