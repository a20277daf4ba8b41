/* observe.h - a daemon's health and metrics endpoints, and its health state */
#ifndef MUSTER_OBSERVE_H
#define MUSTER_OBSERVE_H

#include <stdatomic.h>
#include <stddef.h>

#include "common/config.h"
#include "common/httpd.h"
#include "common/metrics.h"

/* What /readyz reports. The daemon's own thread sets the flags; the HTTP
 * thread reads them, hence atomics. */
typedef struct observe {
    metrics *m;
    httpd *h;
    atomic_int redis;     /* the last Redis call got through */
    atomic_int kafka;     /* Kafka reachable (cleared when every broker is down) */
    atomic_int workflows; /* workflows loaded (always 1 for workers) */
    /* Dispatcher only (0 elsewhere): since when (mono_ms) intake has failed
     * to get past one message, and when the broker last deleted alerts
     * intake had not read, with how many. */
    atomic_llong blocked_since;
    atomic_llong gap_at;
    atomic_llong gap_skipped;
    int64_t stall_ms;    /* blocked longer than this: not ready */
    int64_t gap_hold_ms; /* degraded this long after a gap; 0: until restart */
} observe;

/* Creates the registry and, unless status.port is -1, serves /healthz,
 * /readyz and /metrics on status.address:status.port (0: any free port,
 * logged). Returns 0, or -1 with err filled. */
int observe_start(observe *o, const config *cfg, char *err, size_t errlen);

void observe_stop(observe *o);

/* The Kafka health every librdkafka client of this process reports to
 * (kafka.c's error callback clears it when all brokers are down). */
extern atomic_int kafka_up;

#endif
