/* kpi_day.h - files each incident's figures under the UTC day it opened */
#ifndef MUSTER_KPI_DAY_H
#define MUSTER_KPI_DAY_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "state/store.h"

#define KPI_DAY_MS 86400000LL

/* What the per-day figures may grow to (docs/metrics.md "Figures by
 * period"): how long a day is kept after it ends, how many times to
 * acknowledge and to resolve a day keeps per label set for the p50, and how
 * many label sets a day admits before it counts the rest as _other. */
typedef struct kpi_limits {
    int64_t retention_ms;
    int64_t sample;
    int64_t sets;
} kpi_limits;

/* The settings' defaults, for callers without a config. */
#define KPI_LIMITS_DEFAULT {400LL * KPI_DAY_MS, 200, 500}

/* The limits the settings metrics.kpi_retention, metrics.kpi_sample and
 * metrics.kpi_sets name. */
void kpi_limits_from_config(kpi_limits *kl, const config *cfg);

/* After aggregate.lua counted (or recognised) an event, files what it
 * changed in the incident's record under the incident's day
 * (metrics/lua/kpi.lua): its opening, its first acknowledgement by a
 * person and its resolution (with their times), its automated actions,
 * manual tasks and operator actions (operator.action whose outcome changed
 * something: not "already", "missing", "refused"). Each once, so calling it
 * again for the same event changes nothing. Returns 0, or -1 with err filled when Redis
 * failed (then the caller delivers the event again). */
int kpi_day_file(store *s, const char *id, const char *type, const char *incident,
                 const char *step, const char *outcome, const kpi_limits *kl, char *err,
                 size_t errlen);

#endif
