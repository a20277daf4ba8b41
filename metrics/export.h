/* export.h - the Prometheus view of the aggregates: a registry mirroring Redis */
#ifndef MUSTER_EXPORT_H
#define MUSTER_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "common/metrics.h"
#include "state/store.h"

typedef struct exporter exporter;

/* Registers the aggregates' families (and the queue gauges) in m, which
 * must outlive the exporter. Returns NULL when out of memory or when a
 * family cannot be registered (logged). Free with exporter_free(). */
exporter *exporter_new(metrics *m);

/* exporter_free(NULL) is a no-op. The registry is left as it is. */
void exporter_free(exporter *e);

/*
 * Reads the aggregates (P:agg) and adds to the registry what each grew by
 * since the last call: everything on the first call, so a new process shows
 * the totals Redis holds, whoever counted them. The read is skipped when
 * P:agg:version has not moved. A histogram's new observations are rebuilt
 * from its bucket and sum increments as whole milliseconds that fall in the
 * same buckets and add up to the same sum. An aggregate that shrank (Redis
 * lost data) is taken as the new base and logged; counters never go down.
 * Also sets the queue depth gauges. Returns 0, or -1 with err filled when
 * Redis could not be read. Call from one thread.
 */
int exporter_sync(exporter *e, store *s, char *err, size_t errlen);

/* How many observations the last exporter_sync() added to histograms and
 * how many counter increments it applied (for tests and logs). */
uint64_t exporter_applied(const exporter *e);

#endif
