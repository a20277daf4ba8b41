/* main.c - muster-metrics: MTTA, MTTR and action figures from muster.events */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/daemon.h"
#include "common/httpd.h"
#include "common/kafka.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/observe.h"
#include "common/util.h"
#include "metrics/aggregate.h"
#include "metrics/export.h"
#include "metrics/rollup.h"

static const char usage[] =
    "Usage: muster-metrics [OPTIONS]\n"
    "\n"
    "Consumes muster.events (group metrics.group) and counts each event once into\n"
    "aggregates in Redis: MTTA and MTTR, automated actions and manual tasks per\n"
    "incident by workflow, severity and service; attempts, latency, retries and\n"
    "dead tasks by action. Serves them on /metrics (with /healthz and /readyz) and\n"
    "publishes a rollup per window of metrics.rollup_interval on kafka.metrics_topic.\n"
    "A restarted or second aggregator carries on from Redis (docs/metrics.md).\n";

/* How often the registry catches up with Redis, and the queue gauges too. */
#define SYNC_MS 1000
/* Families and label sets the registry holds: the aggregate script admits
 * at most 2000 label sets per kind, so nothing it counts is dropped here. */
#define REGISTRY_FAMILIES 32
#define REGISTRY_SERIES 4096

static atomic_int redis_up;

/* Runs on the HTTP thread: reads atomics only. */
static int ready(void *arg, char *why, size_t len) {
    (void)arg;
    if (!atomic_load(&redis_up)) {
        snprintf(why, len, "redis not reachable");
        return 0;
    }
    if (!atomic_load(&kafka_up)) {
        snprintf(why, len, "kafka: all brokers down");
        return 0;
    }
    return 1;
}

static store *connect_store(const config *cfg) {
    char err[512];
    int64_t delay = 100;
    while (!daemon_stop) {
        store *s = store_open(cfg, err, sizeof(err));
        if (s) return s;
        mlog(LOG_WARN, NULL, "%s; retrying in %lld ms", err, (long long)delay);
        usleep((useconds_t)delay * 1000);
        if ((delay *= 2) > 5000) delay = 5000;
    }
    return NULL;
}

typedef struct aggregator {
    config *cfg;
    store *store;
    exporter *exp;
    rd_kafka_t *consumer, *producer;
    metric_family *invalid, *rollups;
    kpi_limits kpi;
    char owner[128];
    uint64_t counted, duplicates, invalids;
} aggregator;

/* Counts one message; returns 0 when it is done with (its offset may be
 * stored), -1 when stopped before Redis took it. */
static int handle(aggregator *a, const rd_kafka_message_t *m) {
    char err[512];
    int64_t delay = 100;
    for (;;) {
        int rc = aggregate_event(a->store, m->payload, m->len, now_ms(), &a->kpi, err,
                                 sizeof(err));
        atomic_store(&redis_up, store_connected(a->store));
        if (rc == AGG_COUNTED) a->counted++;
        if (rc == AGG_DUPLICATE) a->duplicates++;
        if (rc == AGG_INVALID) {
            a->invalids++;
            metrics_inc(a->invalid, NULL, 1);
            mlog(LOG_WARN, NULL, "%s/%d/%lld skipped: %s", rd_kafka_topic_name(m->rkt),
                 (int)m->partition, (long long)m->offset, err);
        }
        if (rc >= 0) return 0;
        mlog(LOG_WARN, NULL, "event not counted yet: %s; retrying in %lld ms", err,
             (long long)delay);
        if (daemon_stop) return -1;
        usleep((useconds_t)delay * 1000);
        if ((delay *= 2) > 5000) delay = 5000;
    }
}

static void store_offset(aggregator *a, const rd_kafka_message_t *m) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, rd_kafka_topic_name(m->rkt), m->partition)->offset =
        m->offset + 1;
    rd_kafka_offsets_store(a->consumer, l);
    rd_kafka_topic_partition_list_destroy(l);
}

static void run(aggregator *a) {
    char err[512];
    int64_t next_sync = 0, next_rollup = 0;
    int64_t interval = a->cfg->metrics_rollup_interval_ms;

    while (!daemon_stop) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(a->consumer, 100);
        if (m && m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                mlog(LOG_WARN, NULL, "kafka consume: %s", rd_kafka_message_errstr(m));
        } else if (m) {
            atomic_store(&kafka_up, 1);
            /* The offset is stored only once Redis holds the count. */
            if (handle(a, m) == 0) store_offset(a, m);
        }
        if (m) rd_kafka_message_destroy(m);
        rd_kafka_poll(a->producer, 0);

        int64_t mono = mono_ms(), now = now_ms();
        if (mono >= next_sync) {
            next_sync = mono + SYNC_MS;
            if (exporter_sync(a->exp, a->store, err, sizeof(err)) < 0)
                mlog(LOG_WARN, NULL, "metrics not refreshed: %s", err);
            atomic_store(&redis_up, store_connected(a->store));
        }
        if (now >= next_rollup) {
            int n = rollup_tick(a->store, a->producer, a->cfg->kafka_metrics_topic, interval, now,
                                a->owner, err, sizeof(err));
            if (n < 0) {
                mlog(LOG_WARN, NULL, "rollup not published: %s; trying again in 5 s", err);
                next_rollup = now + 5000;
            } else {
                if (n > 0) metrics_inc(a->rollups, NULL, n);
                /* Just after the next window ends. */
                next_rollup = now - now % interval + interval + 50;
            }
        }
    }
}

int main(int argc, char **argv) {
    config cfg;
    aggregator a;
    char err[512], host[64] = "";
    httpd *h = NULL;
    metrics *m = NULL;
    int rc = daemon_init(argc, argv, "muster-metrics", usage, CFG_METRICS, &cfg);
    if (rc != 0) return rc < 0 ? 0 : rc;

    memset(&a, 0, sizeof(a));
    a.cfg = &cfg;
    kpi_limits_from_config(&a.kpi, &cfg);
    gethostname(host, sizeof(host) - 1);
    snprintf(a.owner, sizeof(a.owner), "%s-%d", host, (int)getpid());
    /* The aggregator's own consumer group: it reads every event, beside
     * whatever else consumes muster.events. */
    if (config_set(&cfg, "kafka.group", cfg.metrics_group, err, sizeof(err)) < 0 ||
        !(m = metrics_new(REGISTRY_FAMILIES, REGISTRY_SERIES))) {
        fprintf(stderr, "muster-metrics: %s\n", m ? err : "out of memory");
        config_free(&cfg);
        return 2;
    }
    if (cfg.status_port >= 0) {
        if (!(h = httpd_start(cfg.status_address, (int)cfg.status_port, m, ready, NULL, err,
                              sizeof(err)))) {
            fprintf(stderr, "muster-metrics: %s\n", err);
            metrics_free(m);
            config_free(&cfg);
            return 2;
        }
        mlog(LOG_INFO, NULL, "health and metrics on http://%s:%d (/healthz /readyz /metrics)",
             cfg.status_address, httpd_port(h));
    }
    rc = 1;
    if (!(a.exp = exporter_new(m))) {
        mlog(LOG_ERROR, NULL, "cannot register the metrics");
        goto out;
    }
    a.invalid = metrics_counter(m, "muster_aggregator_invalid_events_total",
                                "Messages on muster.events that are not muster events (skipped)",
                                NULL);
    a.rollups = metrics_counter(m, "muster_aggregator_rollups_total",
                                "Rollup messages this process published", NULL);
    if (!(a.store = connect_store(&cfg))) {
        rc = 0;
        goto out;
    }
    atomic_store(&redis_up, 1);
    /* Before the first scrape can see it: the registry starts from what
     * Redis holds, so a restart continues the counters instead of
     * restarting them. */
    if (exporter_sync(a.exp, a.store, err, sizeof(err)) < 0)
        mlog(LOG_WARN, NULL, "metrics not loaded yet: %s", err);
    if (!(a.consumer = kafka_consumer_new(&cfg, cfg.kafka_events_topic, err, sizeof(err))) ||
        !(a.producer = kafka_producer_new(&cfg, rollup_dr, NULL, err, sizeof(err)))) {
        mlog(LOG_ERROR, NULL, "%s", err);
        goto out;
    }
    mlog(LOG_INFO, NULL, "aggregating %s as group %s; rollups every %lld ms on %s",
         cfg.kafka_events_topic, cfg.kafka_group, (long long)cfg.metrics_rollup_interval_ms,
         cfg.kafka_metrics_topic);
    run(&a);
    rc = 0;
out:
    if (a.consumer) {
        /* Commit what Redis already holds, then leave the group. */
        rd_kafka_commit(a.consumer, NULL, 0);
        rd_kafka_consumer_close(a.consumer);
        rd_kafka_destroy(a.consumer);
    }
    if (a.producer) {
        rd_kafka_flush(a.producer, 5000);
        rd_kafka_destroy(a.producer);
    }
    mlog(LOG_INFO, NULL, "aggregator stopped: %llu events counted, %llu duplicates, %llu invalid",
         (unsigned long long)a.counted, (unsigned long long)a.duplicates,
         (unsigned long long)a.invalids);
    httpd_stop(h);
    exporter_free(a.exp);
    store_close(a.store);
    metrics_free(m);
    config_free(&cfg);
    return rc;
}
