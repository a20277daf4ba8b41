/* observe.c - a daemon's health and metrics endpoints, and its health state */
#include "common/observe.h"

#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"

atomic_int kafka_up = 1;

/* Runs on the HTTP thread: reads atomics only. */
static int ready(void *arg, char *why, size_t len) {
    observe *o = arg;
    if (!atomic_load(&o->workflows)) {
        snprintf(why, len, "workflows not loaded");
        return 0;
    }
    if (!atomic_load(&o->redis)) {
        snprintf(why, len, "redis not reachable");
        return 0;
    }
    if (!atomic_load(&kafka_up)) {
        snprintf(why, len, "kafka: all brokers down");
        return 0;
    }
    int64_t now = mono_ms(), since = atomic_load(&o->blocked_since);
    if (since && o->stall_ms && now - since > o->stall_ms) {
        snprintf(why, len, "intake blocked for %llds on one message (dispatcher.stall %llds)",
                 (long long)(now - since) / 1000, (long long)o->stall_ms / 1000);
        return 0;
    }
    int64_t gap = atomic_load(&o->gap_at);
    if (gap && (!o->gap_hold_ms || now - gap < o->gap_hold_ms)) {
        snprintf(why, len,
                 "degraded: the broker deleted %lld unread alert offset(s) %llds ago "
                 "(muster_dispatcher_skipped_offsets_total)",
                 (long long)atomic_load(&o->gap_skipped), (long long)(now - gap) / 1000);
        return HTTPD_DEGRADED;
    }
    return 1;
}

int observe_start(observe *o, const config *cfg, char *err, size_t errlen) {
    atomic_init(&o->redis, 0);
    atomic_init(&o->kafka, 1);
    atomic_init(&o->workflows, 1);
    atomic_init(&o->blocked_since, 0);
    atomic_init(&o->gap_at, 0);
    atomic_init(&o->gap_skipped, 0);
    o->stall_ms = cfg->dispatcher_stall_ms;
    o->gap_hold_ms = cfg->dispatcher_gap_hold_ms;
    o->h = NULL;
    if (!(o->m = metrics_new(0, 0))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (cfg->status_port < 0) return 0;
    o->h = httpd_start(cfg->status_address, (int)cfg->status_port, o->m, ready, o, err, errlen);
    if (!o->h) return -1;
    mlog(LOG_INFO, NULL, "health and metrics on http://%s:%d (/healthz /readyz /metrics)",
         cfg->status_address, httpd_port(o->h));
    return 0;
}

void observe_stop(observe *o) {
    httpd_stop(o->h);
    metrics_free(o->m);
    o->h = NULL;
    o->m = NULL;
}
