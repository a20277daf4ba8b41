/* intake.c - alerts from Kafka into incidents and queued steps in Redis */
#include "dispatcher/intake.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/alert.h"
#include "common/incident.h"
#include "common/kafka.h"
#include "common/log.h"
#include "common/oncall_store.h"
#include "common/queue.h"
#include "common/util.h"

static int dead_letter(intake *in, const char *topic, int32_t partition, int64_t offset,
                       const char *payload, size_t len, const char *reason) {
    char err[512], origin[320];
    rd_kafka_headers_t *h = rd_kafka_headers_new(3);
    snprintf(origin, sizeof(origin), "%s/%d/%lld", topic, (int)partition, (long long)offset);
    rd_kafka_header_add(h, "muster-error", -1, reason, -1);
    rd_kafka_header_add(h, "muster-origin", -1, origin, -1);
    /* The message goes on unchanged; the reason travels in the headers. */
    if (kafka_produce_sync(in->producer, in->cfg->kafka_dlq_topic, NULL, payload, len, h, 10000,
                           err, sizeof(err)) < 0) {
        mlog(LOG_ERROR, NULL, "dead letter for %s not written: %s", origin, err);
        return -1;
    }
    in->dead_letters++;
    metrics_inc(in->m_dead_letters, NULL, 1);
    mlog(LOG_WARN, NULL, "alert at %s sent to %s: %s", origin, in->cfg->kafka_dlq_topic, reason);
    return 0;
}

int intake_handle(intake *in, const char *topic, int32_t partition, int64_t offset,
                  const char *payload, size_t len) {
    alert_batch batch;
    char err[1024];
    int rc = 0;

    if (alert_decode(payload, len, &batch, err, sizeof(err)) < 0)
        return dead_letter(in, topic, partition, offset, payload, len, err);
    const workflow **selected = calloc(in->workflows->n + 1, sizeof(*selected));
    record_result results[64];
    for (size_t i = 0; selected && i < batch.n; i++) {
        const alert *a = &batch.items[i];
        json_t *fields = alert_match_fields(a);
        size_t nsel = workflow_select(in->workflows, fields, selected);
        json_decref(fields);
        alert_origin o = {topic, partition, offset, i};
        int n = incident_record_runs(in->store, a, selected, nsel, &o, results, 64, err, sizeof(err));
        if (n < 0) {
            mlog(LOG_WARN, NULL, "alert %s not recorded: %s", a->fingerprint, err);
            rc = -1;
            break;
        }
        in->alerts++;
        if (nsel == 0 && strcmp(a->status, "firing") == 0) {
            in->unmatched++;
            mlog(LOG_INFO, NULL, "alert %s (\"%s\"): no workflow matches", a->fingerprint, a->summary);
        }
        for (int k = 0; k < n; k++) {
            int outcome = results[k].outcome;
            const char *outcome_label[] = {record_outcome_name(outcome), NULL};
            metrics_inc(in->m_alerts, outcome_label, 1);
            log_ctx lc = {*results[k].incident ? results[k].incident : NULL, NULL, NULL};
            switch (outcome) {
            case RECORD_OPENED:
                in->opened++;
                mlog(LOG_INFO, &lc, "incident opened for \"%s\"", a->summary);
                break;
            case RECORD_JOINED:
                in->joined++;
                mlog(LOG_INFO, &lc, "alert %s (%s) joined the open incident", a->fingerprint, a->status);
                break;
            case RECORD_RESOLVED:
                in->resolved++;
                mlog(LOG_INFO, &lc, "incident resolved: its last alert %s resolved", a->fingerprint);
                break;
            case RECORD_DUPLICATE:
                in->duplicates++;
                mlog(LOG_INFO, NULL, "alert at %s/%d/%lld #%zu was recorded before", topic,
                     (int)partition, (long long)offset, i);
                break;
            default:
                mlog(LOG_INFO, NULL, "alert %s (%s): no open incident to update", a->fingerprint,
                     a->status);
            }
        }
    }
    free(selected);
    alert_batch_free(&batch);
    return rc;
}

/* Registers the pools the workflows' steps use, so `muster status` lists
 * a queue that has tasks but no worker yet. */
static int register_pools(intake *in) {
    for (size_t i = 0; in->workflows && i < in->workflows->n; i++) {
        const workflow *wf = in->workflows->items[i];
        for (size_t j = 0; j < wf->nsteps + wf->nresolve; j++) {
            char *pool = j < wf->nsteps ? wf->steps[j].pool : wf->resolve_steps[j - wf->nsteps].pool;
            if (queue_register(in->store, &pool, 1) < 0) return -1;
        }
    }
    /* The on-call files travel to the workers through Redis. */
    char version[32];
    if (in->oncall && oncall_publish(in->store, in->oncall, version, sizeof(version)) < 0) return -1;
    if (in->oncall) mlog(LOG_INFO, NULL, "on-call set %s written to Redis", version);
    return 0;
}

static int connect_store(intake *in) {
    char err[512];
    int64_t delay = 100;
    while (!*in->stop) {
        if ((in->store = store_open(in->cfg, err, sizeof(err))) && register_pools(in) == 0) return 0;
        if (in->store) snprintf(err, sizeof(err), "redis: cannot register the task pools");
        store_close(in->store);
        in->store = NULL;
        mlog(LOG_WARN, NULL, "%s; retrying in %lld ms", err, (long long)delay);
        usleep((useconds_t)delay * 1000);
        if ((delay *= 2) > 5000) delay = 5000;
    }
    return -1;
}

/* Consumer lag per assigned partition, from librdkafka's cached
 * watermarks (no broker round trip), every few seconds. */
static void update_lag(intake *in) {
    int64_t now = mono_ms();
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (!in->m_lag || now - in->lag_checked < 5000) return;
    in->lag_checked = now;
    if (rd_kafka_assignment(in->consumer, &parts) || !parts) return;
    rd_kafka_position(in->consumer, parts);
    for (int i = 0; i < parts->cnt; i++) {
        int64_t low, high;
        rd_kafka_topic_partition_t *p = &parts->elems[i];
        if (rd_kafka_get_watermark_offsets(in->consumer, p->topic, p->partition, &low, &high) ||
            high < 0)
            continue;
        char part[16];
        snprintf(part, sizeof(part), "%d", (int)p->partition);
        const char *labels[] = {p->topic, part, NULL};
        int64_t pos = p->offset >= 0 ? p->offset : low;
        metrics_set(in->m_lag, labels, (double)(high > pos ? high - pos : 0));
    }
    rd_kafka_topic_partition_list_destroy(parts);
}

int intake_run(intake *in) {
    char err[512];
    if (connect_store(in) < 0) return 0;
    if (!(in->producer = kafka_producer_new(in->cfg, kafka_sync_dr, NULL, err, sizeof(err))) ||
        !(in->consumer = kafka_consumer_new(in->cfg, in->cfg->kafka_alerts_topic, err, sizeof(err)))) {
        mlog(LOG_ERROR, NULL, "%s", err);
        return 1;
    }
    if (in->obs) {
        static const char *const outcome[] = {"outcome", NULL};
        in->m_alerts = metrics_counter(in->obs->m, "muster_dispatcher_alerts_total",
                                       "Alerts recorded, by outcome", outcome);
        in->m_dead_letters = metrics_counter(in->obs->m, "muster_dispatcher_dead_letters_total",
                                             "Messages sent to the dead-letter topic", NULL);
        static const char *const topic_partition[] = {"topic", "partition", NULL};
        in->m_lag = metrics_gauge(in->obs->m, "muster_dispatcher_consumer_lag",
                                  "Alerts on the topic not yet read, per partition",
                                  topic_partition);
        metric_family *wf = metrics_gauge(in->obs->m, "muster_dispatcher_workflows",
                                          "Workflows loaded", NULL);
        metrics_set(wf, NULL, (double)in->workflows->n);
    }
    mlog(LOG_INFO, NULL, "dispatcher consuming %s as group %s with %zu workflow(s)",
         in->cfg->kafka_alerts_topic, in->cfg->kafka_group, in->workflows->n);
    while (!*in->stop) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(in->consumer, 200);
        if (in->obs) atomic_store(&in->obs->redis, store_connected(in->store));
        update_lag(in);
        if (!m) continue;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                mlog(LOG_WARN, NULL, "kafka consume: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        const char *topic = rd_kafka_topic_name(m->rkt);
        atomic_store(&kafka_up, 1);
        int64_t delay = 100;
        /* Until Redis (or the dead-letter topic) has it, the offset is not
         * stored; a stop in between leaves the message to be read again. */
        while (intake_handle(in, topic, m->partition, m->offset, m->payload, m->len) < 0 &&
               !*in->stop) {
            if (in->obs) atomic_store(&in->obs->redis, store_connected(in->store));
            usleep((useconds_t)delay * 1000);
            if ((delay *= 2) > 5000) delay = 5000;
        }
        if (!*in->stop || delay == 100) {
            rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
            rd_kafka_topic_partition_list_add(l, topic, m->partition)->offset = m->offset + 1;
            rd_kafka_offsets_store(in->consumer, l);
            rd_kafka_topic_partition_list_destroy(l);
        }
        rd_kafka_message_destroy(m);
    }
    return 0;
}
