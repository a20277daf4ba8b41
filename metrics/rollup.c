/* rollup.c - periodic per-incident-kind rollups on Kafka, for dashboards */
#include "metrics/rollup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "metrics/aggregate.h"

#define LOCK_MS 30000

void rollup_batch_free(rollup_batch *b) {
    if (!b) return;
    json_decref(b->messages);
    b->messages = NULL;
}

/* A hash as {field: integer}. NULL when Redis cannot be reached. */
static json_t *read_hash(store *s, const char *key) {
    redisReply *r = store_command(s, "HGETALL %s", key);
    if (!r) return NULL;
    json_t *out = json_object();
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
        if (!r->element[i]->str || !r->element[i + 1]->str) continue;
        json_object_set_new(out, r->element[i]->str,
                            json_integer(atoll(r->element[i + 1]->str)));
    }
    freeReplyObject(r);
    return out;
}

/* Whether field is one of the per-incident-kind aggregates a rollup reports. */
static int group_field(const char *field) {
    char buf[1024], *parts[AGG_MAX_PARTS + 1];
    if (strlen(field) >= sizeof(buf)) return 0;
    memcpy(buf, field, strlen(field) + 1);
    size_t n = aggregate_split(buf, parts, AGG_MAX_PARTS);
    const agg_family *f = aggregate_family(parts[0]);
    if (!f || f->nlabels != 3) return 0;
    /* Histogram buckets stay out: sum and count are enough here. */
    return f->histogram ? n == 5 && (strcmp(parts[4], "sum") == 0 || strcmp(parts[4], "count") == 0)
                        : n == 4;
}

/* Freezes the aggregates as the window [start, end): one HSET, so the
 * pending window is all there or not at all. */
static int freeze(store *s, const char *key, int64_t start, int64_t end, char *err,
                  size_t errlen) {
    char agg[256], start_s[24], end_s[24];
    json_t *now = NULL;
    const char **argv = NULL;
    size_t *lens = NULL;
    int rc = -1;

    err[0] = '\0';
    snprintf(agg, sizeof(agg), "%s:agg", store_prefix(s));
    if (!(now = read_hash(s, agg))) {
        snprintf(err, errlen, "redis not reachable");
        return -1;
    }
    size_t n = json_object_size(now) * 2 + 6, argc = 0;
    argv = calloc(n, sizeof(*argv));
    lens = calloc(n, sizeof(*lens));
    json_t *texts = json_array();
    if (!argv || !lens || !texts) goto out;
    snprintf(start_s, sizeof(start_s), "%lld", (long long)start);
    snprintf(end_s, sizeof(end_s), "%lld", (long long)end);
    argv[argc++] = "HSET";
    argv[argc++] = key;
    argv[argc++] = "start";
    argv[argc++] = start_s;
    argv[argc++] = "end";
    argv[argc++] = end_s;
    const char *field;
    json_t *v;
    json_object_foreach(now, field, v) {
        if (!group_field(field)) continue;
        char num[24];
        snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
        json_array_append_new(texts, json_string(num));
        argv[argc++] = field;
        argv[argc++] = json_string_value(json_array_get(texts, json_array_size(texts) - 1));
    }
    for (size_t i = 0; i < argc; i++) lens[i] = strlen(argv[i]);
    redisReply *r = store_command_argv(s, (int)argc, argv, lens);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "redis: %s", r && r->str ? r->str : "not reachable");
    } else {
        rc = 0;
    }
    if (r) freeReplyObject(r);
out:
    if (rc < 0 && !*err) snprintf(err, errlen, "out of memory");
    json_decref(texts);
    json_decref(now);
    free(argv);
    free(lens);
    return rc;
}

static json_int_t get(const json_t *o, const char *k) {
    return json_integer_value(json_object_get(o, k));
}

/* avg = sum / count in seconds, or null. */
static json_t *timing(json_int_t sum_ms, json_int_t count) {
    return json_pack("{s:I, s:f, s:o}", "count", count, "sum", (double)sum_ms / 1000.0, "avg",
                     count > 0 ? json_real((double)sum_ms / 1000.0 / (double)count) : json_null());
}

static json_t *ratio(json_int_t a, json_int_t b) {
    return b > 0 ? json_real((double)a / (double)b) : json_null();
}

/* One message per incident kind whose figures grew between snap and pending. */
static json_t *messages(const json_t *pending, const json_t *snap, int64_t start, int64_t end) {
    json_t *groups = json_object(), *out = json_array();
    const char *field;
    json_t *v;
    char buf[1024], *parts[AGG_MAX_PARTS + 1], startr[40], endr[40];

    json_object_foreach((json_t *)pending, field, v) {
        if (!group_field(field)) continue;
        json_int_t d = json_integer_value(v) - get(snap, field);
        if (d == 0) continue;
        memcpy(buf, field, strlen(field) + 1);
        size_t n = aggregate_split(buf, parts, AGG_MAX_PARTS);
        char key[1024], name[64];
        snprintf(key, sizeof(key), "%s\t%s\t%s", parts[1], parts[2], parts[3]);
        snprintf(name, sizeof(name), "%s%s%s", parts[0], n == 5 ? "_" : "", n == 5 ? parts[4] : "");
        json_t *g = json_object_get(groups, key);
        if (!g) json_object_set_new(groups, key, g = json_object());
        json_object_set_new(g, name, json_integer(d));
    }
    format_rfc3339(start, startr, sizeof(startr));
    format_rfc3339(end, endr, sizeof(endr));
    json_object_foreach(groups, field, v) {
        memcpy(buf, field, strlen(field) + 1);
        aggregate_split(buf, parts, 3);
        char id[1200];
        snprintf(id, sizeof(id), "rollup:%lld:%s/%s/%s", (long long)end, parts[0], parts[1],
                 parts[2]);
        json_int_t opened = get(v, "opened");
        json_t *m = json_pack(
            "{s:s, s:{s:s, s:s, s:I}, s:s, s:s, s:s,"
            " s:{s:I, s:I, s:I}, s:o, s:o,"
            " s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:{s:o, s:o}}",
            "id", id, "window", "start", startr, "end", endr, "seconds",
            (json_int_t)((end - start) / 1000), "workflow", parts[0], "severity", parts[1],
            "service", parts[2], "incidents", "opened", opened, "acknowledged",
            get(v, "mtta_count"), "resolved", get(v, "mttr_count"), "mtta_seconds",
            timing(get(v, "mtta_sum"), get(v, "mtta_count")), "mttr_seconds",
            timing(get(v, "mttr_sum"), get(v, "mttr_count")), "actions", "automated",
            get(v, "automated"), "manual", get(v, "manual"), "attempts", get(v, "g_attempts"),
            "failed", get(v, "g_failed"), "retries", get(v, "g_retries"), "dead", get(v, "g_dead"),
            "per_incident", "automated_actions", ratio(get(v, "automated"), opened),
            "manual_tasks", ratio(get(v, "manual"), opened));
        if (m) json_array_append_new(out, m);
    }
    json_decref(groups);
    return out;
}

int rollup_prepare(store *s, int64_t interval_ms, int64_t now, rollup_batch *out, char *err,
                   size_t errlen) {
    const char *p = store_prefix(s);
    char pending_key[256], snap_key[256];
    json_t *pending = NULL, *snap = NULL;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    snprintf(pending_key, sizeof(pending_key), "%s:agg:rollup:pending", p);
    snprintf(snap_key, sizeof(snap_key), "%s:agg:rollup:snap", p);
    if (!(pending = read_hash(s, pending_key)) || !(snap = read_hash(s, snap_key)))
        goto unreachable;
    if (json_object_size(pending) == 0) {
        int64_t end = now - now % interval_ms, last = get(snap, "end"), start = last;
        if (last && end <= last) {
            rc = 0;
            goto out;
        }
        if (!last) {
            /* The first window reaches back to the first event counted. */
            redisReply *r = store_command(s, "GET %s:agg:since", p);
            if (!r) goto unreachable;
            start = r->type == REDIS_REPLY_STRING ? atoll(r->str) : end - interval_ms;
            freeReplyObject(r);
            if (start >= end) {
                rc = 0;
                goto out;
            }
        }
        if (freeze(s, pending_key, start, end, err, errlen) < 0) goto out;
        json_decref(pending);
        if (!(pending = read_hash(s, pending_key))) goto unreachable;
    }
    out->start_ms = get(pending, "start");
    out->end_ms = get(pending, "end");
    out->messages = messages(pending, snap, out->start_ms, out->end_ms);
    rc = out->messages ? 1 : -1;
    if (rc < 0) snprintf(err, errlen, "out of memory");
    goto out;
unreachable:
    snprintf(err, errlen, "redis not reachable");
out:
    json_decref(pending);
    json_decref(snap);
    return rc;
}

int rollup_commit(store *s, char *err, size_t errlen) {
    const char *p = store_prefix(s);
    redisReply *r = store_command(s, "RENAME %s:agg:rollup:pending %s:agg:rollup:snap", p, p);
    if (!r) {
        snprintf(err, errlen, "redis not reachable");
        return -1;
    }
    /* "no such key": another replica committed it already. */
    freeReplyObject(r);
    return 0;
}

typedef struct delivery {
    size_t ok, failed;
} delivery;

void rollup_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    (void)opaque;
    delivery *d = m->_private;
    if (!d) return;
    if (m->err) d->failed++;
    else d->ok++;
}

int rollup_publish(rd_kafka_t *producer, const char *topic, const rollup_batch *b,
                   int timeout_ms, char *err, size_t errlen) {
    delivery d = {0, 0};
    size_t n = json_array_size(b->messages), sent = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_array_get(b->messages, i);
        char key[1024];
        char *text = json_dumps(m, JSON_COMPACT | JSON_REAL_PRECISION(15));
        if (!text) {
            snprintf(err, errlen, "out of memory");
            break;
        }
        snprintf(key, sizeof(key), "%s/%s/%s", json_string_value(json_object_get(m, "workflow")),
                 json_string_value(json_object_get(m, "severity")),
                 json_string_value(json_object_get(m, "service")));
        rd_kafka_resp_err_t e = rd_kafka_producev(
            producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
            RD_KAFKA_V_VALUE(text, strlen(text)), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_OPAQUE(&d), RD_KAFKA_V_END);
        free(text);
        if (e) {
            snprintf(err, errlen, "kafka produce %s: %s", topic, rd_kafka_err2str(e));
            break;
        }
        sent++;
    }
    /* Delivery reports point at d: wait for every one before returning. */
    int64_t end = mono_ms() + timeout_ms;
    while (d.ok + d.failed < sent && mono_ms() < end) rd_kafka_flush(producer, 100);
    if (d.ok + d.failed < sent) {
        /* Still queued: purge them so no report outlives d. */
        rd_kafka_purge(producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_flush(producer, 1000);
        snprintf(err, errlen, "kafka: %zu of %zu rollups not acknowledged in %d ms",
                 sent - d.ok, n, timeout_ms);
        return -1;
    }
    if (sent < n) return -1;
    if (d.failed) {
        snprintf(err, errlen, "kafka: %zu of %zu rollups not delivered", d.failed, n);
        return -1;
    }
    return 0;
}

int rollup_tick(store *s, rd_kafka_t *producer, const char *topic, int64_t interval_ms,
                int64_t now, const char *owner, char *err, size_t errlen) {
    const char *p = store_prefix(s);
    int published = 0;
    redisReply *r = store_command(s, "SET %s:agg:rollup:lock %s NX PX %d", p, owner, LOCK_MS);
    if (!r) {
        snprintf(err, errlen, "redis not reachable");
        return -1;
    }
    int held = r->type == REDIS_REPLY_STATUS;
    freeReplyObject(r);
    if (!held) return 0;
    /* At most the unfinished window and then the current one. */
    for (int round = 0; round < 2; round++) {
        rollup_batch b;
        int due = rollup_prepare(s, interval_ms, now, &b, err, errlen);
        if (due <= 0) {
            if (due < 0) published = -1;
            break;
        }
        size_t n = json_array_size(b.messages);
        int rc = rollup_publish(producer, topic, &b, 10000, err, errlen);
        if (rc == 0) rc = rollup_commit(s, err, errlen);
        if (rc == 0)
            mlog(LOG_INFO, NULL, "rollup of %lld..%lld: %zu message(s) on %s",
                 (long long)b.start_ms, (long long)b.end_ms, n, topic);
        rollup_batch_free(&b);
        if (rc < 0) {
            published = -1;
            break;
        }
        published += (int)n;
    }
    r = store_command(s, "GET %s:agg:rollup:lock", p);
    int mine = r && r->type == REDIS_REPLY_STRING && strcmp(r->str, owner) == 0;
    if (r) freeReplyObject(r);
    if (mine && (r = store_command(s, "DEL %s:agg:rollup:lock", p))) freeReplyObject(r);
    return published;
}
