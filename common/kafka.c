/* kafka.c - librdkafka clients configured from muster's settings */
#include "common/kafka.h"

#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/observe.h"

static int set(rd_kafka_conf_t *conf, const char *k, const char *v, char *err, size_t errlen) {
    char e[256];
    if (rd_kafka_conf_set(conf, k, v, e, sizeof(e)) != RD_KAFKA_CONF_OK) {
        /* Never echo a value: it may be a password. */
        snprintf(err, errlen, "kafka setting %s: %s", k, e);
        return -1;
    }
    return 0;
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    (void)rk;
    log_level l = level <= 3 ? LOG_ERROR : level <= 4 ? LOG_WARN : level <= 6 ? LOG_INFO : LOG_DEBUG;
    mlog(l, NULL, "kafka %s: %s", fac, buf);
}

static void error_cb(rd_kafka_t *rk, int code, const char *reason, void *opaque) {
    (void)rk;
    (void)opaque;
    if (code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) atomic_store(&kafka_up, 0);
    mlog(code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ? LOG_WARN : LOG_INFO, NULL, "kafka: %s",
         reason);
}

rd_kafka_conf_t *kafka_conf_new(const config *cfg, char *err, size_t errlen) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (set(conf, "bootstrap.servers", cfg->kafka_brokers, err, errlen) < 0 ||
        set(conf, "security.protocol", cfg->kafka_security_protocol, err, errlen) < 0 ||
        set(conf, "client.id", "muster", err, errlen) < 0 ||
        set(conf, "log.connection.close", "false", err, errlen) < 0)
        goto fail;
    if (*cfg->kafka_sasl_mechanism &&
        (set(conf, "sasl.mechanisms", cfg->kafka_sasl_mechanism, err, errlen) < 0 ||
         set(conf, "sasl.username", cfg->kafka_sasl_username, err, errlen) < 0 ||
         set(conf, "sasl.password", cfg->kafka_sasl_password, err, errlen) < 0))
        goto fail;
    if (*cfg->kafka_ssl_ca && set(conf, "ssl.ca.location", cfg->kafka_ssl_ca, err, errlen) < 0)
        goto fail;
    if (*cfg->kafka_ssl_cert &&
        set(conf, "ssl.certificate.location", cfg->kafka_ssl_cert, err, errlen) < 0)
        goto fail;
    if (*cfg->kafka_ssl_key && set(conf, "ssl.key.location", cfg->kafka_ssl_key, err, errlen) < 0)
        goto fail;
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

rd_kafka_t *kafka_producer_new(const config *cfg,
                               void (*dr_cb)(rd_kafka_t *, const rd_kafka_message_t *, void *),
                               void *opaque, char *err, size_t errlen) {
    char e[512];
    rd_kafka_conf_t *conf = kafka_conf_new(cfg, err, errlen);
    if (!conf) return NULL;
    /* Idempotence keeps retries from writing an event twice, and keeps
     * one incident's events in order within its partition. */
    if (set(conf, "enable.idempotence", "true", err, errlen) < 0 ||
        set(conf, "linger.ms", "5", err, errlen) < 0 ||
        set(conf, "queue.buffering.max.messages", "100000", err, errlen) < 0 ||
        set(conf, "message.timeout.ms", "300000", err, errlen) < 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    if (dr_cb) rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_opaque(conf, opaque);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof(e));
    if (!rk) {
        snprintf(err, errlen, "kafka producer: %s", e);
        rd_kafka_conf_destroy(conf);
    }
    return rk;
}

rd_kafka_t *kafka_consumer_new(const config *cfg, const char *topic, char *err, size_t errlen) {
    return kafka_consumer_open(cfg, topic, 0, err, errlen);
}

rd_kafka_t *kafka_consumer_open(const config *cfg, const char *topic, int report_resets,
                                char *err, size_t errlen) {
    char e[512], interval[24], session[24];
    snprintf(interval, sizeof(interval), "%lld", (long long)cfg->kafka_commit_interval_ms);
    snprintf(session, sizeof(session), "%lld", (long long)cfg->kafka_session_timeout_ms);
    rd_kafka_conf_t *conf = kafka_conf_new(cfg, err, errlen);
    if (!conf) return NULL;
    /* At-least-once: an offset is stored only after Redis holds the work,
     * and only stored offsets are committed. */
    if (set(conf, "group.id", cfg->kafka_group, err, errlen) < 0 ||
        set(conf, "enable.auto.commit", "true", err, errlen) < 0 ||
        set(conf, "auto.commit.interval.ms", interval, err, errlen) < 0 ||
        set(conf, "session.timeout.ms", session, err, errlen) < 0 ||
        set(conf, "enable.auto.offset.store", "false", err, errlen) < 0 ||
        set(conf, "auto.offset.reset", report_resets ? "error" : "earliest", err, errlen) < 0 ||
        set(conf, "enable.partition.eof", "false", err, errlen) < 0 ||
        set(conf, "allow.auto.create.topics", "true", err, errlen) < 0) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof(e));
    if (!rk) {
        snprintf(err, errlen, "kafka consumer: %s", e);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t rc = rd_kafka_subscribe(rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (rc) {
        snprintf(err, errlen, "kafka subscribe %s: %s", topic, rd_kafka_err2str(rc));
        rd_kafka_destroy(rk);
        return NULL;
    }
    return rk;
}

typedef struct sync_state {
    int done;
    rd_kafka_resp_err_t err;
} sync_state;

void kafka_sync_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    (void)opaque;
    sync_state *st = m->_private;
    if (!st) return;
    st->err = m->err;
    st->done = 1;
}

rd_kafka_resp_err_t kafka_produce_wait(rd_kafka_t *rk, const char *topic, const char *key,
                                       const void *payload, size_t len,
                                       rd_kafka_headers_t *headers, int timeout_ms, char *err,
                                       size_t errlen) {
    sync_state st = {0, RD_KAFKA_RESP_ERR_NO_ERROR};
    rd_kafka_resp_err_t rc = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
        RD_KAFKA_V_VALUE((void *)payload, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(&st), RD_KAFKA_V_END);
    if (rc) {
        if (headers) rd_kafka_headers_destroy(headers);
        snprintf(err, errlen, "kafka produce to %s: %s", topic, rd_kafka_err2str(rc));
        return rc;
    }
    /* The delivery callback (kafka_sync_dr) fills st. */
    for (int waited = 0; !st.done && waited < timeout_ms; waited += 50) rd_kafka_poll(rk, 50);
    if (!st.done) {
        /* Purged messages still get their report, so st is not written
         * after we return. */
        rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        while (!st.done) rd_kafka_poll(rk, 50);
        snprintf(err, errlen, "kafka produce to %s: no acknowledgement in %d ms", topic, timeout_ms);
        return RD_KAFKA_RESP_ERR__TIMED_OUT;
    }
    if (st.err) snprintf(err, errlen, "kafka produce to %s: %s", topic, rd_kafka_err2str(st.err));
    return st.err;
}

int kafka_produce_sync(rd_kafka_t *rk, const char *topic, const char *key, const void *payload,
                       size_t len, rd_kafka_headers_t *headers, int timeout_ms, char *err,
                       size_t errlen) {
    return kafka_produce_wait(rk, topic, key, payload, len, headers, timeout_ms, err, errlen)
               ? -1
               : 0;
}

int kafka_too_large(rd_kafka_resp_err_t code) {
    return code == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ||
           code == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE ||
           code == RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE;
}

int kafka_reset_partition(rd_kafka_t *rk, const char *topic, int32_t partition, int64_t from,
                          int64_t *skipped, char *err, size_t errlen) {
    int64_t low = RD_KAFKA_OFFSET_BEGINNING, high = -1;
    int rc = -1;
    rd_kafka_topic_partition_list_t *parts = NULL, *committed = NULL;
    rd_kafka_resp_err_t e;
    *skipped = 0;
    /* A group that never committed (from < 0) starts at the beginning and
     * lost nothing it had read. A position below the log start lost what
     * lay between; one past the end (a topic made again) is read from the
     * start too. */
    if (from >= 0) {
        if ((e = rd_kafka_query_watermark_offsets(rk, topic, partition, &low, &high, 10000))) {
            snprintf(err, errlen, "kafka %s/%d: watermarks: %s", topic, (int)partition,
                     rd_kafka_err2str(e));
            return -1;
        }
        if (from < low) *skipped = low - from;
    }
    /* A partition whose reset failed stops fetching, and librdkafka refuses
     * to seek it; assigning again restarts it. Every partition gets an
     * explicit start, or the others would look up their committed offsets
     * again and fail the same way: where the application is, else the
     * committed offset, else the beginning (a group's first start). */
    if ((e = rd_kafka_assignment(rk, &parts)) || !parts) {
        snprintf(err, errlen, "kafka assignment: %s", rd_kafka_err2str(e));
        goto out;
    }
    rd_kafka_position(rk, parts);
    committed = rd_kafka_topic_partition_list_copy(parts);
    if ((e = rd_kafka_committed(rk, committed, 10000))) {
        snprintf(err, errlen, "kafka committed offsets: %s", rd_kafka_err2str(e));
        goto out;
    }
    int found = 0;
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *p = &parts->elems[i], *c = &committed->elems[i];
        if (p->partition == partition && strcmp(p->topic, topic) == 0) {
            p->offset = low;
            found = 1;
        } else if (p->offset < 0) {
            p->offset = c->offset >= 0 ? c->offset : RD_KAFKA_OFFSET_BEGINNING;
        }
    }
    /* Not ours any more: the next owner meets the same reset. */
    if (found && (e = rd_kafka_assign(rk, parts))) {
        snprintf(err, errlen, "kafka assign: %s", rd_kafka_err2str(e));
        goto out;
    }
    rc = 0;
out:
    if (parts) rd_kafka_topic_partition_list_destroy(parts);
    if (committed) rd_kafka_topic_partition_list_destroy(committed);
    return rc;
}
