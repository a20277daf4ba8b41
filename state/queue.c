/* queue.c - step tasks in Redis Streams: lease, start, complete, outbox */
#include "state/queue.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/random.h>

#include "common/backoff.h"
#include "common/log.h"
#include "state/paging.h"
#include "common/util.h"

static void key_of(store *s, char *buf, size_t len, const char *kind, const char *name) {
    snprintf(buf, len, "%s:%s%s", store_prefix(s), kind, name);
}

int queue_register(store *s, char *const *pools, size_t npools) {
    for (size_t i = 0; i < npools; i++) {
        redisReply *r = store_command(s, "SADD %s:pools %s", store_prefix(s), pools[i]);
        bool ok = r && r->type == REDIS_REPLY_INTEGER;
        if (r) freeReplyObject(r);
        if (!ok) return -1;
    }
    return 0;
}

int queue_prepare(store *s, char **pools, size_t npools) {
    char key[256];
    if (queue_register(s, pools, npools) < 0) return -1;
    for (size_t i = 0; i < npools; i++) {
        key_of(s, key, sizeof(key), "q:", pools[i]);
        if (store_group_create(s, key, QUEUE_GROUP) < 0) return -1;
    }
    key_of(s, key, sizeof(key), "outbox", "");
    return store_group_create(s, key, OUTBOX_GROUP);
}

static int copy_field(char *dst, size_t len, const redisReply *r) {
    if (!r || r->type != REDIS_REPLY_STRING || r->len >= len) return -1;
    memcpy(dst, r->str, r->len);
    dst[r->len] = '\0';
    return 0;
}

/* Parses one stream entry [id, [field, value, ...]] of a task queue. */
static int parse_task(const redisReply *e, const char *pool, lease_item *li) {
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2) return -1;
    const redisReply *kv = e->element[1];
    if (copy_field(li->msgid, sizeof(li->msgid), e->element[0]) < 0) return -1;
    snprintf(li->pool, sizeof(li->pool), "%s", pool);
    if (kv->type != REDIS_REPLY_ARRAY) return -1;
    for (size_t i = 0; i + 1 < kv->elements; i += 2) {
        if (kv->element[i]->type != REDIS_REPLY_STRING || strcmp(kv->element[i]->str, "task") != 0)
            continue;
        const char *ref = kv->element[i + 1]->str;
        const char *slash = ref ? strrchr(ref, '/') : NULL;
        if (!slash || (size_t)(slash - ref) >= sizeof(li->incident) ||
            strlen(slash + 1) >= sizeof(li->step))
            return -1;
        memcpy(li->incident, ref, (size_t)(slash - ref));
        li->incident[slash - ref] = '\0';
        snprintf(li->step, sizeof(li->step), "%s", slash + 1);
        return 0;
    }
    return -1;
}

#define LEASE_MAX_POOLS 32

int queue_lease(store *s, const char *consumer, char **pools, size_t npools,
                size_t max, int block_ms, lease_item *out) {
    const char *argv[12 + 2 * LEASE_MAX_POOLS];
    char keys[LEASE_MAX_POOLS][256], count[24], block[24];
    int argc = 0, n = 0;

    if (npools > LEASE_MAX_POOLS || max == 0) return 0;
    snprintf(count, sizeof(count), "%zu", max);
    snprintf(block, sizeof(block), "%d", block_ms);
    argv[argc++] = "XREADGROUP";
    argv[argc++] = "GROUP";
    argv[argc++] = QUEUE_GROUP;
    argv[argc++] = consumer;
    argv[argc++] = "COUNT";
    argv[argc++] = count;
    if (block_ms > 0) {
        argv[argc++] = "BLOCK";
        argv[argc++] = block;
    }
    argv[argc++] = "STREAMS";
    for (size_t i = 0; i < npools; i++) {
        key_of(s, keys[i], sizeof(keys[i]), "q:", pools[i]);
        argv[argc++] = keys[i];
    }
    for (size_t i = 0; i < npools; i++) argv[argc++] = ">";

    redisReply *r = store_command_argv(s, argc, argv, NULL);
    if (!r) return -1;
    if (r->type == REDIS_REPLY_ERROR) {
        mlog(LOG_ERROR, NULL, "redis XREADGROUP: %s", r->str);
        freeReplyObject(r);
        return -1;
    }
    if (r->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < r->elements; i++) {
            const redisReply *st = r->element[i];
            if (st->type != REDIS_REPLY_ARRAY || st->elements != 2) continue;
            const char *key = st->element[0]->str;
            const char *pool = key + strlen(store_prefix(s)) + 3;
            const redisReply *entries = st->element[1];
            for (size_t j = 0; j < entries->elements && (size_t)n < max; j++) {
                if (parse_task(entries->element[j], pool, &out[n]) == 0) {
                    n++;
                } else {
                    /* Not a task we wrote: acknowledge so it cannot clog. */
                    mlog(LOG_WARN, NULL, "dropping malformed queue entry in %s", key);
                    redisReply *a = store_command(s, "XACK %s %s %s", key, QUEUE_GROUP,
                                                  entries->element[j]->element[0]->str);
                    if (a) freeReplyObject(a);
                }
            }
        }
    }
    freeReplyObject(r);
    return n;
}

void queue_now_args(char *ms, size_t mslen, char *rfc, size_t rfclen, char *evbase,
                    size_t evlen) {
    int64_t now = now_ms();
    snprintf(ms, mslen, "%lld", (long long)now);
    format_rfc3339(now, rfc, rfclen);
    id_new("evt-", evbase, evlen);
}

static json_t *load_or_string(const redisReply *r) {
    if (!r || r->type != REDIS_REPLY_STRING || r->len == 0) return NULL;
    json_t *v = json_loadb(r->str, r->len, 0, NULL);
    return v ? v : json_stringn(r->str, r->len);
}

static const char *str_of(const redisReply *r) {
    return (r && r->type == REDIS_REPLY_STRING) ? r->str : "";
}

int queue_task_start(store *s, const char *consumer, const lease_item *li, task_run *run,
                     char *err, size_t errlen) {
    char lease[256], ms[24], rfc[40], evbase[48];
    memset(run, 0, sizeof(*run));
    snprintf(lease, sizeof(lease), "%s|%s", consumer, li->msgid);
    queue_now_args(ms, sizeof(ms), rfc, sizeof(rfc), evbase, sizeof(evbase));
    const char *argv[] = {li->incident, li->step, lease, ms, rfc, evbase, li->msgid, li->pool};
    redisReply *r = store_eval(s, SCRIPT_START, 8, argv, err, errlen);
    if (!r) return -1;
    int rc = -1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2) {
        snprintf(err, errlen, "start: unexpected reply");
        goto out;
    }
    if (strcmp(str_of(r->element[0]), "run") != 0) {
        log_ctx lc = {li->incident, li->msgid, li->step};
        if (strcmp(str_of(r->element[0]), "dead") == 0)
            mlog(LOG_WARN, &lc, "task buried: %s", str_of(r->element[1]));
        else
            mlog(LOG_INFO, &lc, "task is %s: entry acknowledged without running",
                 str_of(r->element[1]));
        rc = 0;
        goto out;
    }
    if (r->elements < 7) {
        snprintf(err, errlen, "start: short reply");
        goto out;
    }
    run->def = load_or_string(r->element[1]);
    run->attempt = atoi(str_of(r->element[6]));
    json_t *steps = json_object();
    for (size_t i = 7; i + 3 < r->elements; i += 4) {
        json_t *st = json_pack("{s:s}", "status", str_of(r->element[i + 1]));
        json_t *output = load_or_string(r->element[i + 2]);
        if (output) json_object_set_new(st, "output", output);
        if (*str_of(r->element[i + 3]))
            json_object_set_new(st, "error", json_string(str_of(r->element[i + 3])));
        json_object_set_new(steps, str_of(r->element[i]), st);
    }
    json_t *alert = load_or_string(r->element[2]);
    run->ctx = json_pack("{s:o, s:{s:s, s:s, s:s, s:s}, s:{s:s}, s:{s:s, s:i}, s:o}",
                         "alert", alert ? alert : json_object(),
                         "incident", "id", li->incident, "workflow", str_of(r->element[3]),
                         "fingerprint", str_of(r->element[4]), "opened_at", str_of(r->element[5]),
                         "workflow", "name", str_of(r->element[3]),
                         "step", "id", li->step, "attempt", run->attempt,
                         "steps", steps);
    if (!run->def || !json_is_object(run->def) || !run->ctx) {
        snprintf(err, errlen, "start: task record is damaged");
        task_run_clear(run);
        goto out;
    }
    rc = 1;
out:
    freeReplyObject(r);
    return rc;
}

void task_run_clear(task_run *run) {
    json_decref(run->def);
    json_decref(run->ctx);
    memset(run, 0, sizeof(*run));
}

int queue_task_complete(store *s, const char *consumer, const lease_item *li,
                        const task_run *run, const task_result *res, char *err,
                        size_t errlen) {
    char lease[256], ms[24], rfc[40], evbase[48], dur[24], delay[24];
    char *output = NULL, *data = NULL;
    int rc = -1;

    /* A page step's level ends in its timers, not in a result. */
    if (res->succeeded && res->page_plan) return paging_arm(s, consumer, li, res->page_plan, err, errlen);
    snprintf(lease, sizeof(lease), "%s|%s", consumer, li->msgid);
    snprintf(dur, sizeof(dur), "%lld", (long long)res->duration_ms);
    if (!res->succeeded) {
        uint64_t rnd = 0;
        getrandom(&rnd, sizeof(rnd), 0);
        retry_policy p = retry_policy_from_json(json_object_get(run->def, "retry"),
                                                retry_policy_default());
        snprintf(delay, sizeof(delay), "%lld",
                 (long long)backoff_delay(&p, run->attempt, res->retry_after_ms,
                                          (double)(rnd >> 11) / 9007199254740992.0));
    } else {
        snprintf(delay, sizeof(delay), "0");
    }
    queue_now_args(ms, sizeof(ms), rfc, sizeof(rfc), evbase, sizeof(evbase));
    if (res->output) output = json_dumps(res->output, JSON_COMPACT | JSON_ENCODE_ANY);
    json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:i, s:I}", "incident", li->incident,
                           "workflow", json_string_value(json_object_get(json_object_get(run->ctx, "incident"), "workflow")),
                           "step", li->step,
                           "action", json_string_value(json_object_get(run->def, "action")),
                           "attempt", run->attempt, "duration_ms", (json_int_t)res->duration_ms);
    if (!ev) {
        snprintf(err, errlen, "complete: cannot build event");
        goto out;
    }
    if (res->output) json_object_set(ev, "output", res->output);
    if (res->error && *res->error) json_object_set_new(ev, "error", json_string(res->error));
    data = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    if (!data) {
        snprintf(err, errlen, "complete: cannot encode event");
        goto out;
    }
    const char *argv[] = {li->incident, li->step, lease, li->pool, li->msgid,
                          res->skipped ? "skipped" : res->succeeded ? "succeeded" : "failed",
                          output ? output : "",
                          res->error ? res->error : "", dur, ms, rfc, evbase, data,
                          res->permanent ? "0" : "1", delay};
    redisReply *r = store_eval(s, SCRIPT_COMPLETE, 15, argv, err, errlen);
    if (!r) goto out;
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
        strcmp(str_of(r->element[0]), "fenced") == 0) {
        snprintf(err, errlen, "lease lost: task is %s",
                 r->elements > 1 ? str_of(r->element[1]) : "?");
        rc = 1;
    } else {
        rc = 0;
    }
    freeReplyObject(r);
out:
    free(output);
    free(data);
    return rc;
}

static int parse_outbox(const redisReply *entries, outbox_item *out, size_t max, size_t n) {
    for (size_t j = 0; entries && entries->type == REDIS_REPLY_ARRAY && j < entries->elements && n < max; j++) {
        const redisReply *e = entries->element[j];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
            e->element[1]->type != REDIS_REPLY_ARRAY)
            continue; /* deleted while pending: nil fields */
        outbox_item *it = &out[n];
        memset(it, 0, sizeof(*it));
        if (copy_field(it->id, sizeof(it->id), e->element[0]) < 0) continue;
        const redisReply *kv = e->element[1];
        for (size_t i = 0; i + 1 < kv->elements; i += 2) {
            if (strcmp(str_of(kv->element[i]), "key") == 0) it->key = strdup(str_of(kv->element[i + 1]));
            if (strcmp(str_of(kv->element[i]), "event") == 0) it->event = strdup(str_of(kv->element[i + 1]));
        }
        if (!it->key || !it->event) {
            free(it->key);
            free(it->event);
            continue;
        }
        n++;
    }
    return (int)n;
}

int outbox_read(store *s, const char *consumer, size_t max, int64_t reclaim_ms,
                outbox_item *out) {
    char key[256], count[24], idle[24];
    int n = 0;
    key_of(s, key, sizeof(key), "outbox", "");
    snprintf(count, sizeof(count), "%zu", max);
    snprintf(idle, sizeof(idle), "%lld", (long long)reclaim_ms);

    if (reclaim_ms > 0) {
        redisReply *r = store_command(s, "XAUTOCLAIM %s %s %s %s 0-0 COUNT %s", key, OUTBOX_GROUP,
                                      consumer, idle, count);
        if (!r) return -1;
        if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2)
            n = parse_outbox(r->element[1], out, max, 0);
        freeReplyObject(r);
    }
    if ((size_t)n >= max) return n;
    snprintf(count, sizeof(count), "%zu", max - (size_t)n);
    redisReply *r = store_command(s, "XREADGROUP GROUP %s %s COUNT %s STREAMS %s >", OUTBOX_GROUP,
                                  consumer, count, key);
    if (!r) {
        outbox_items_free(out, (size_t)n);
        return -1;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 && r->element[0]->elements == 2)
        n = parse_outbox(r->element[0]->element[1], out, max, (size_t)n);
    freeReplyObject(r);
    return n;
}

void outbox_items_free(outbox_item *items, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(items[i].key);
        free(items[i].event);
        items[i].key = items[i].event = NULL;
    }
}

int outbox_ack(store *s, char **ids, size_t n) {
    char key[256];
    int rc = 0;
    if (n == 0) return 0;
    key_of(s, key, sizeof(key), "outbox", "");
    const char **argv = calloc(n + 3, sizeof(*argv));
    if (!argv) return -1;
    argv[0] = "XACK";
    argv[1] = key;
    argv[2] = OUTBOX_GROUP;
    for (size_t i = 0; i < n; i++) argv[3 + i] = ids[i];
    redisReply *r = store_command_argv(s, (int)n + 3, argv, NULL);
    if (!r) rc = -1;
    else freeReplyObject(r);
    argv[0] = "XDEL";
    argv[2] = argv[3]; /* shift ids left by one: XDEL key id... */
    for (size_t i = 0; i < n; i++) argv[2 + i] = ids[i];
    r = rc == 0 ? store_command_argv(s, (int)n + 2, argv, NULL) : NULL;
    if (!r) rc = -1;
    else freeReplyObject(r);
    free(argv);
    return rc;
}

int queue_reclaim(store *s, const char *consumer, char **pools, size_t npools, size_t max,
                  int64_t idle_ms, lease_item *out) {
    char key[256], idle[24], count[24];
    int n = 0;
    snprintf(idle, sizeof(idle), "%lld", (long long)idle_ms);
    for (size_t i = 0; i < npools && (size_t)n < max; i++) {
        key_of(s, key, sizeof(key), "q:", pools[i]);
        snprintf(count, sizeof(count), "%zu", max - (size_t)n);
        redisReply *r = store_command(s, "XAUTOCLAIM %s %s %s %s 0-0 COUNT %s", key, QUEUE_GROUP,
                                      consumer, idle, count);
        if (!r) return n > 0 ? n : -1;
        if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2 &&
            r->element[1]->type == REDIS_REPLY_ARRAY) {
            const redisReply *entries = r->element[1];
            for (size_t j = 0; j < entries->elements && (size_t)n < max; j++)
                if (parse_task(entries->element[j], pools[i], &out[n]) == 0) n++;
        }
        freeReplyObject(r);
    }
    return n;
}

int queue_promote(store *s, size_t max) {
    char ms[24], limit[24], err[256];
    snprintf(ms, sizeof(ms), "%lld", (long long)now_ms());
    snprintf(limit, sizeof(limit), "%zu", max);
    const char *argv[] = {ms, limit};
    redisReply *r = store_eval(s, SCRIPT_PROMOTE, 2, argv, err, sizeof(err));
    if (!r) return -1;
    int n = r->type == REDIS_REPLY_INTEGER ? (int)r->integer : 0;
    freeReplyObject(r);
    return n;
}

static int lease_script(store *s, store_script script, const char *consumer, const lease_item *li) {
    char lease[256], err[256];
    snprintf(lease, sizeof(lease), "%s|%s", consumer, li->msgid);
    const char *argv[] = {li->incident, li->step, lease, li->pool, li->msgid, consumer};
    redisReply *r = store_eval(s, script, 6, argv, err, sizeof(err));
    if (!r) return -1;
    int rc = r->type == REDIS_REPLY_INTEGER ? (int)r->integer : -1;
    freeReplyObject(r);
    return rc;
}

int queue_extend(store *s, const char *consumer, const lease_item *li) {
    return lease_script(s, SCRIPT_EXTEND, consumer, li);
}

int queue_handback(store *s, const char *consumer, const lease_item *li) {
    return lease_script(s, SCRIPT_HANDBACK, consumer, li);
}

int queue_replay(store *s, const char *incident, const char *step, int force, int dry_run,
                 const char *by, char *outcome, size_t olen, char *state, size_t slen,
                 char *err, size_t errlen) {
    char ms[24], rfc[40], evbase[48], replay_id[48];
    queue_now_args(ms, sizeof(ms), rfc, sizeof(rfc), evbase, sizeof(evbase));
    id_new("rpl-", replay_id, sizeof(replay_id));
    const char *argv[] = {incident, step, force ? "1" : "0", dry_run ? "1" : "0", ms, rfc,
                          evbase, replay_id, by ? by : ""};
    redisReply *r = store_eval(s, SCRIPT_REPLAY, 9, argv, err, errlen);
    if (!r) return -1;
    int rc = -1;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
        snprintf(outcome, olen, "%s", str_of(r->element[0]));
        snprintf(state, slen, "%s", str_of(r->element[1]));
        rc = 0;
    } else {
        snprintf(err, errlen, "replay: unexpected reply");
    }
    freeReplyObject(r);
    return rc;
}

json_t *queue_dead_list(store *s, size_t limit) {
    char key[256];
    key_of(s, key, sizeof(key), "dead", "");
    redisReply *r = store_command(s, "ZREVRANGE %s 0 %lld WITHSCORES", key, (long long)limit - 1);
    if (!r) return NULL;
    json_t *out = json_array();
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
        const char *ref = r->element[i]->str;
        const char *slash = strrchr(ref, '/');
        if (!slash) continue;
        char incident[96];
        snprintf(incident, sizeof(incident), "%.*s", (int)(slash - ref), ref);
        redisReply *t = store_command(s, "HMGET %s:{%s}:task:%s attempts error dead_reason def",
                                      store_prefix(s), incident, slash + 1);
        redisReply *w = store_command(s, "HGET %s:{%s}:inc workflow", store_prefix(s), incident);
        if (t && t->type == REDIS_REPLY_ARRAY && t->elements == 4) {
            json_t *def = load_or_string(t->element[3]);
            json_array_append_new(
                out, json_pack("{s:s, s:s, s:s, s:s, s:s?, s:i, s:s, s:s, s:I, s:o}", "task", ref,
                               "incident", incident, "step", slash + 1, "workflow", str_of(w),
                               "action", json_string_value(json_object_get(def, "action")),
                               "attempts", atoi(str_of(t->element[0])), "error",
                               str_of(t->element[1]), "reason", str_of(t->element[2]), "died_at",
                               (json_int_t)atoll(r->element[i + 1]->str),
                               "input", def ? def : json_null()));
        }
        if (t) freeReplyObject(t);
        if (w) freeReplyObject(w);
    }
    freeReplyObject(r);
    return out;
}
