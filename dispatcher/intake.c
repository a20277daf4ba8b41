/* intake.c - alerts from Kafka into incidents and queued steps in Redis */
#include "dispatcher/intake.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/alert.h"
#include "state/incident.h"
#include "common/kafka.h"
#include "common/log.h"
#include "state/oncall_store.h"
#include "state/queue.h"
#include "common/sha256.h"
#include "common/util.h"

/* Messages recorded together: one poll's worth, at most. */
#define INTAKE_BATCH 256

/* Entries kept in the Redis dead-letter stream (XADD MAXLEN ~). */
#define REDIS_DLQ_MAX 10000

typedef struct origin {
    const char *topic;
    int32_t partition;
    int64_t offset;
    char text[320]; /* topic/partition/offset */
} origin;

static void add_header(rd_kafka_headers_t *h, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void add_header(rd_kafka_headers_t *h, const char *name, const char *fmt, ...) {
    char v[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v, sizeof(v), fmt, ap);
    va_end(ap);
    rd_kafka_header_add(h, name, -1, v, -1);
}

/* The headers of a dead letter: why, and where it was read. A truncated
 * copy also says how large the whole was and its SHA-256, so the original
 * can be found again (or recognised) on the alerts topic. */
static rd_kafka_headers_t *dlq_headers(const origin *o, const char *reason, size_t len,
                                       const char *sha) {
    rd_kafka_headers_t *h = rd_kafka_headers_new(8);
    rd_kafka_header_add(h, "muster-error", -1, reason, -1);
    rd_kafka_header_add(h, "muster-origin", -1, o->text, -1);
    rd_kafka_header_add(h, "muster-topic", -1, o->topic, -1);
    add_header(h, "muster-partition", "%d", (int)o->partition);
    add_header(h, "muster-offset", "%lld", (long long)o->offset);
    if (sha) {
        add_header(h, "muster-truncated", "true");
        add_header(h, "muster-size", "%zu", len);
        rd_kafka_header_add(h, "muster-sha256", -1, sha, -1);
    }
    return h;
}

/* The last resort: the Redis stream P:intake:dlq, capped, with the first
 * dispatcher.dlq_copy_max bytes of the message. */
static int dead_letter_redis(intake *in, const origin *o, const char *payload, size_t len,
                             const char *sha, const char *reason, const char *kafka_err) {
    char key[256], part[16], off[24], size[24], cap[24];
    size_t keep = len < (size_t)in->cfg->dispatcher_dlq_copy_max ? len
                                                                 : (size_t)in->cfg->dispatcher_dlq_copy_max;
    snprintf(key, sizeof(key), "%s:intake:dlq", store_prefix(in->store));
    snprintf(part, sizeof(part), "%d", (int)o->partition);
    snprintf(off, sizeof(off), "%lld", (long long)o->offset);
    snprintf(size, sizeof(size), "%zu", len);
    snprintf(cap, sizeof(cap), "%d", REDIS_DLQ_MAX);
    const char *argv[] = {"XADD",   key,   "MAXLEN", "~",       cap,   "*",         "topic",
                          o->topic, "partition", part, "offset", off,     "size",      size,
                          "sha256", sha,   "truncated", keep < len ? "true" : "false",
                          "reason", reason, "dlq_error", kafka_err, "payload", payload};
    size_t lens[sizeof(argv) / sizeof(argv[0])];
    int argc = (int)(sizeof(argv) / sizeof(argv[0]));
    /* The payload is Kafka's bytes, not a C string: its length is known. */
    for (int i = 0; i < argc - 1; i++) lens[i] = strlen(argv[i]);
    lens[argc - 1] = keep;
    redisReply *r = store_command_argv(in->store, argc, argv, lens);
    int ok = r && r->type == REDIS_REPLY_STRING;
    if (!ok)
        mlog(LOG_ERROR, NULL, "dead letter for %s not recorded in %s either: %s", o->text, key,
             r && r->type == REDIS_REPLY_ERROR ? r->str : "redis not reachable");
    freeReplyObject(r);
    return ok ? 0 : -1;
}

/* A message no format decodes goes to the first of these that takes it:
 * the dead-letter topic unchanged; the dead-letter topic truncated, when
 * the whole is too large for it; the Redis stream P:intake:dlq. Returns 0
 * when one holds it (its offset may be stored), -1 when none did. */
static int dead_letter(intake *in, const char *topic, int32_t partition, int64_t offset,
                       const char *payload, size_t len, const char *reason) {
    char err[512], sha[SHA256_HEX_LEN];
    origin o = {topic, partition, offset, ""};
    const char *to = in->cfg->kafka_dlq_topic, *fallback = NULL;
    snprintf(o.text, sizeof(o.text), "%s/%d/%lld", topic, (int)partition, (long long)offset);
    rd_kafka_resp_err_t e = kafka_produce_wait(in->producer, to, NULL, payload, len,
                                               dlq_headers(&o, reason, len, NULL), 10000, err,
                                               sizeof(err));
    if (e && kafka_too_large(e) && len > (size_t)in->cfg->dispatcher_dlq_copy_max) {
        size_t keep = (size_t)in->cfg->dispatcher_dlq_copy_max;
        mlog(LOG_WARN, NULL, "dead letter for %s (%zu bytes): %s; writing its first %zu bytes",
             o.text, len, err, keep);
        sha256_hex(payload, len, sha);
        fallback = "kafka_truncated";
        e = kafka_produce_wait(in->producer, to, NULL, payload, keep,
                               dlq_headers(&o, reason, len, sha), 10000, err, sizeof(err));
    }
    if (e) {
        mlog(LOG_ERROR, NULL, "dead letter for %s not written to %s: %s; recording it in redis",
             o.text, to, err);
        if (!fallback) sha256_hex(payload, len, sha);
        fallback = "redis";
        if (dead_letter_redis(in, &o, payload, len, sha, reason, err) < 0) return -1;
    }
    in->dead_letters++;
    metrics_inc(in->m_dead_letters, NULL, 1);
    if (fallback) {
        const char *labels[] = {fallback, NULL};
        metrics_inc(in->m_dlq_fallback, labels, 1);
    }
    mlog(LOG_WARN, NULL, "alert at %s sent to %s%s: %s", o.text,
         fallback && strcmp(fallback, "redis") == 0 ? "the redis stream intake:dlq" : to,
         fallback && strcmp(fallback, "kafka_truncated") == 0 ? " (truncated)" : "", reason);
    return 0;
}

/* Counts and logs what recording one alert did. */
static void note_results(intake *in, const alert *a, size_t nsel, const record_result *results,
                         int n, const char *topic, int32_t partition, int64_t offset, size_t i) {
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
            /* A storm joins thousands a second: counted, logged at debug. */
            in->joined++;
            mlog(LOG_DEBUG, &lc, "alert %s (%s) joined the open incident", a->fingerprint, a->status);
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
        note_results(in, a, nsel, results, n, topic, partition, offset, i);
    }
    free(selected);
    alert_batch_free(&batch);
    return rc;
}

/* A poll's worth of messages, recorded together (intake_batch()). */
typedef struct batch_msg {
    rd_kafka_message_t *m;
    alert_batch alerts;
    int decoded;        /* 1: alerts hold its alerts */
    size_t first, nreq; /* its alerts' requests */
} batch_msg;

typedef struct batch_req {
    const workflow **selected;
    record_result results[16];
} batch_req;

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

/* Waits *delay ms, then doubles it up to 5 s: the pace of every retry here. */
static void pause_retry(int64_t *delay) {
    usleep((useconds_t)*delay * 1000);
    if ((*delay *= 2) > 5000) *delay = 5000;
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
        pause_retry(&delay);
    }
    return -1;
}

/* Records a gap where `muster status` shows it (P:intake:gaps: offsets
 * skipped per topic/partition; P:intake:gap_times: when, epoch ms) and
 * appends an intake.gap event to the outbox, in one transaction. */
static int record_gap(intake *in, const char *topic, int32_t partition, int64_t from,
                      int64_t skipped) {
    char tp[300], evbase[48], evid[64], rfc[40], ms[24];
    const char *P = store_prefix(in->store);
    int64_t now = now_ms();
    snprintf(tp, sizeof(tp), "%s/%d", topic, (int)partition);
    id_new("evt-", evbase, sizeof(evbase));
    snprintf(evid, sizeof(evid), "%s-1", evbase);
    format_rfc3339(now, rfc, sizeof(rfc));
    snprintf(ms, sizeof(ms), "%lld", (long long)now);
    json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:i, s:I, s:I, s:I, s:s}}",
                           "specversion", "1.0", "id", evid, "source", "muster", "type",
                           "intake.gap", "time", rfc, "subject", tp, "datacontenttype",
                           "application/json", "data", "topic", topic, "partition",
                           (int)partition, "from_offset", (json_int_t)from, "to_offset",
                           (json_int_t)(from + skipped), "skipped", (json_int_t)skipped, "group",
                           in->cfg->kafka_group);
    char *text = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    json_decref(ev);
    if (!text) return -1;
    int rc = -1, sent = 0;
    if (store_append(in->store, "MULTI") == 0 && ++sent &&
        store_append(in->store, "XADD %s:outbox * key %s event %s", P, tp, text) == 0 && ++sent &&
        store_append(in->store, "HINCRBY %s:intake:gaps %s %lld", P, tp, (long long)skipped) == 0 &&
        ++sent && store_append(in->store, "HSET %s:intake:gap_times %s %s", P, tp, ms) == 0 &&
        ++sent && store_append(in->store, "EXEC") == 0)
        sent++;
    for (int i = 0; i < sent; i++) {
        redisReply *r = NULL;
        if (store_reply(in->store, &r) < 0) break;
        if (i == sent - 1 && sent == 5 && r->type == REDIS_REPLY_ARRAY) rc = 0;
        freeReplyObject(r);
    }
    free(text);
    return rc;
}

/* A partition stopped on an offset reset (the group's position is gone
 * from the broker, or the group never committed): counts what the broker
 * deleted unread, reports it, and reads on from the log start. Retries
 * until it has done so or *stop is set. */
static void offset_reset(intake *in, const rd_kafka_message_t *m) {
    char err[512], part[16];
    const char *topic = rd_kafka_topic_name(m->rkt);
    int64_t skipped = 0, delay = 100;
    while (kafka_reset_partition(in->consumer, topic, m->partition, m->offset, &skipped, err,
                                 sizeof(err)) < 0) {
        mlog(LOG_WARN, NULL, "%s; retrying in %lld ms", err, (long long)delay);
        if (*in->stop) return;
        pause_retry(&delay);
    }
    if (skipped == 0) {
        mlog(LOG_DEBUG, NULL, "%s/%d: reading from the log start (%s)", topic, (int)m->partition,
             rd_kafka_message_errstr(m));
        return;
    }
    mlog(LOG_ERROR, NULL,
         "%s/%d: the broker deleted %lld alert offset(s) from %lld before they were read; "
         "they are lost (retention is shorter than the dispatcher's delay)",
         topic, (int)m->partition, (long long)skipped, (long long)m->offset);
    snprintf(part, sizeof(part), "%d", (int)m->partition);
    const char *labels[] = {topic, part, NULL};
    metrics_inc(in->m_skipped, labels, (double)skipped);
    in->skipped += (uint64_t)skipped;
    if (in->obs) {
        atomic_fetch_add(&in->obs->gap_skipped, skipped);
        atomic_store(&in->obs->gap_at, mono_ms());
    }
    for (delay = 100; record_gap(in, topic, m->partition, m->offset, skipped) < 0 && !*in->stop;
         pause_retry(&delay))
        mlog(LOG_WARN, NULL, "intake.gap event for %s/%d not recorded; retrying", topic,
             (int)m->partition);
}

/* Shows how long intake has been stuck on one message of topic/partition
 * (0 when it is not): the gauge, and /readyz past dispatcher.stall. */
static void set_blocked(intake *in, const char *topic, int32_t partition, int64_t since) {
    char part[16];
    snprintf(part, sizeof(part), "%d", (int)partition);
    const char *labels[] = {topic, part, NULL};
    metrics_set(in->m_blocked, labels, since ? (double)(mono_ms() - since) / 1000.0 : 0.0);
    if (in->obs) atomic_store(&in->obs->blocked_since, since);
}

/* Consumer lag per assigned partition, from librdkafka's cached
 * watermarks (no broker round trip: every call is a local read), once a
 * second. */
static void update_lag(intake *in) {
    int64_t now = mono_ms();
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (!in->m_lag || now - in->lag_checked < 1000) return;
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

/* One message the slow way, alone, until Redis (or a dead-letter store)
 * has it: the offset is stored only then. A stop in between, even before
 * the first attempt ended, leaves the message to be read again. */
static int handle_one(intake *in, const rd_kafka_message_t *m) {
    const char *topic = rd_kafka_topic_name(m->rkt);
    int64_t delay = 100, since = 0;
    int handled;
    while (!(handled = intake_handle(in, topic, m->partition, m->offset, m->payload, m->len) ==
                       0) &&
           !*in->stop) {
        if (!since) since = mono_ms();
        set_blocked(in, topic, m->partition, since);
        if (in->obs) atomic_store(&in->obs->redis, store_connected(in->store));
        pause_retry(&delay);
    }
    if (since) set_blocked(in, topic, m->partition, 0);
    return handled;
}

static void store_offset(intake *in, const rd_kafka_message_t *m) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, rd_kafka_topic_name(m->rkt), m->partition)->offset =
        m->offset + 1;
    rd_kafka_offsets_store(in->consumer, l);
    rd_kafka_topic_partition_list_destroy(l);
}

/* Records a batch of messages: every alert in one pipelined round trip
 * (incident_record_batch), then, in order, each message's offset is
 * stored once all its alerts are recorded. From the first message that
 * is not, the rest go the slow way, one by one with retries; what the
 * batch recorded of them already is recognised as a redelivery. */
static void intake_batch(intake *in, batch_msg *msgs, size_t n) {
    char err[1024];
    size_t nreq = 0, cap = 0;
    record_req *reqs = NULL;
    batch_req *extra = NULL;
    for (size_t i = 0; i < n; i++) {
        batch_msg *b = &msgs[i];
        b->first = nreq;
        b->nreq = 0;
        b->decoded = alert_decode(b->m->payload, b->m->len, &b->alerts, err, sizeof(err)) == 0;
        if (!b->decoded) continue;
        if (nreq + b->alerts.n > cap) {
            size_t ncap = (nreq + b->alerts.n) * 2;
            record_req *nr = realloc(reqs, ncap * sizeof(*nr));
            batch_req *ne = nr ? realloc(extra, ncap * sizeof(*ne)) : NULL;
            if (nr) reqs = nr;
            if (!nr || !ne) break; /* out of memory: the slow way below */
            extra = ne;
            cap = ncap;
        }
        bool oom = false;
        for (size_t k = 0; k < b->alerts.n; k++, nreq++, b->nreq++) {
            const alert *a = &b->alerts.items[k];
            batch_req *x = &extra[nreq];
            if (!(x->selected = calloc(in->workflows->n + 1, sizeof(*x->selected)))) {
                oom = true; /* the rest the slow way below */
                break;
            }
            json_t *fields = alert_match_fields(a);
            size_t nsel = workflow_select(in->workflows, fields, x->selected);
            json_decref(fields);
            reqs[nreq] = (record_req){.a = a, .wfs = x->selected, .nwfs = nsel,
                                      .o = {rd_kafka_topic_name(b->m->rkt), b->m->partition,
                                            b->m->offset, k},
                                      .out = x->results, .max = 16, .n = -1};
        }
        if (oom) break;
    }
    /* extra moved as it grew: point at where it is now. */
    for (size_t i = 0; i < nreq; i++) {
        reqs[i].wfs = extra[i].selected;
        reqs[i].out = extra[i].results;
    }
    if (nreq && incident_record_batch(in->store, reqs, nreq, err, sizeof(err)) < 0) {
        size_t failed = 0, first = nreq;
        for (size_t i = 0; i < nreq; i++)
            if (reqs[i].n < 0 && failed++ == 0) first = i;
        if (failed)
            mlog(LOG_WARN, NULL, "alert %s not recorded: %s (%zu of the batch's %zu)",
                 reqs[first].a->fingerprint, err, failed, nreq);
    }
    bool slow = false;
    for (size_t i = 0; i < n; i++) {
        batch_msg *b = &msgs[i];
        bool whole = b->decoded && b->first + b->nreq <= nreq && b->nreq == b->alerts.n;
        for (size_t k = 0; whole && k < b->nreq; k++)
            whole = reqs[b->first + k].n >= 0;
        if (!slow && whole) {
            for (size_t k = 0; k < b->nreq; k++) {
                record_req *q = &reqs[b->first + k];
                note_results(in, q->a, q->nwfs, q->out, q->n, q->o.topic, q->o.partition,
                             q->o.offset, k);
            }
            store_offset(in, b->m);
        } else {
            /* An undecodable message (dead letters are not Redis's), or
             * the first one not recorded whole: from here, one by one. One
             * that is not kept (a stop came first) lets nothing after it
             * store an offset, or a later offset would pass it. */
            slow = slow || b->decoded;
            if (!*in->stop && handle_one(in, b->m))
                store_offset(in, b->m);
            else
                slow = true;
        }
    }
    for (size_t i = 0; i < nreq; i++) free(extra[i].selected);
    free(extra);
    free(reqs);
    for (size_t i = 0; i < n; i++) {
        if (msgs[i].decoded) alert_batch_free(&msgs[i].alerts);
        rd_kafka_message_destroy(msgs[i].m);
        memset(&msgs[i], 0, sizeof(msgs[i]));
    }
}

int intake_run(intake *in) {
    char err[512];
    if (connect_store(in) < 0) return 0;
    if (!(in->producer = kafka_producer_new(in->cfg, kafka_sync_dr, NULL, err, sizeof(err))) ||
        !(in->consumer = kafka_consumer_open(in->cfg, in->cfg->kafka_alerts_topic, 1, err,
                                             sizeof(err)))) {
        mlog(LOG_ERROR, NULL, "%s", err);
        return 1;
    }
    if (in->obs) {
        static const char *const outcome[] = {"outcome", NULL};
        in->m_alerts = metrics_counter(in->obs->m, "muster_dispatcher_alerts_total",
                                       "Alerts recorded, by outcome", outcome);
        in->m_dead_letters = metrics_counter(in->obs->m, "muster_dispatcher_dead_letters_total",
                                             "Messages sent to the dead-letter topic", NULL);
        static const char *const to[] = {"to", NULL};
        in->m_dlq_fallback = metrics_counter(
            in->obs->m, "muster_dispatcher_dead_letter_fallbacks_total",
            "Dead letters not written whole to the dead-letter topic: kafka_truncated (a "
            "truncated copy) or redis (the stream intake:dlq)",
            to);
        static const char *const topic_partition[] = {"topic", "partition", NULL};
        in->m_skipped = metrics_counter(
            in->obs->m, "muster_dispatcher_skipped_offsets_total",
            "Alert offsets the broker deleted before the dispatcher read them (lost alerts)",
            topic_partition);
        in->m_blocked = metrics_gauge(
            in->obs->m, "muster_dispatcher_blocked_seconds",
            "How long intake has failed to get past one message of the partition (0: moving)",
            topic_partition);
        in->m_lag = metrics_gauge(in->obs->m, "muster_dispatcher_consumer_lag",
                                  "Alerts on the topic not yet read, per partition",
                                  topic_partition);
        metric_family *wf = metrics_gauge(in->obs->m, "muster_dispatcher_workflows",
                                          "Workflows loaded", NULL);
        metrics_set(wf, NULL, (double)in->workflows->n);
    }
    mlog(LOG_INFO, NULL, "dispatcher consuming %s as group %s with %zu workflow(s)",
         in->cfg->kafka_alerts_topic, in->cfg->kafka_group, in->workflows->n);
    batch_msg *msgs = calloc(INTAKE_BATCH, sizeof(*msgs));
    if (!msgs) {
        mlog(LOG_ERROR, NULL, "out of memory");
        return 1;
    }
    while (!*in->stop) {
        size_t n = 0;
        int wait = 200;
        /* A batch: what the consumer has now, up to INTAKE_BATCH messages,
         * waiting only for the first. */
        while (n < INTAKE_BATCH) {
            rd_kafka_message_t *m = rd_kafka_consumer_poll(in->consumer, wait);
            wait = 0;
            if (!m) break;
            if (m->err) {
                if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET)
                    offset_reset(in, m);
                else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                    mlog(LOG_WARN, NULL, "kafka consume: %s", rd_kafka_message_errstr(m));
                rd_kafka_message_destroy(m);
                continue;
            }
            msgs[n++].m = m;
        }
        if (in->obs) atomic_store(&in->obs->redis, store_connected(in->store));
        update_lag(in);
        if (n == 0) continue;
        atomic_store(&kafka_up, 1);
        intake_batch(in, msgs, n);
    }
    free(msgs);
    return 0;
}
