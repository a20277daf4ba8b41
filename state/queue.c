/* queue.c - step tasks in Redis Streams: lease, start, complete, outbox */
#include "state/queue.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/random.h>

#include "common/backoff.h"
#include "common/context.h"
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

static const char *str_of(const redisReply *r) {
    return (r && r->type == REDIS_REPLY_STRING) ? r->str : "";
}

static json_t *load_or_string(const redisReply *r) {
    if (!r || r->type != REDIS_REPLY_STRING) return NULL;
    return json_or_string(r->str, r->len);
}

void task_facts_clear(task_facts *f) {
    free(f->def_text);
    free(f->alert_text);
    json_decref(f->steps);
    memset(f, 0, sizeof(*f));
}

char *task_event_data(const char *incident, const char *workflow, const char *step,
                      const char *action, int attempt, const task_result *res) {
    json_t *ev = json_pack("{s:s, s:s, s:s, s:s?, s:i, s:I}", "incident", incident, "workflow",
                           workflow ? workflow : "", "step", step, "action", action, "attempt",
                           attempt, "duration_ms", (json_int_t)res->duration_ms);
    if (!ev) return NULL;
    if (res->output) json_object_set(ev, "output", res->output);
    if (res->error && *res->error) json_object_set_new(ev, "error", json_string(res->error));
    char *data = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    return data;
}

/* Arguments of a turn: strings the call owns (numbers, encoded JSON) are
 * kept in `owned` and freed after it. */
typedef struct argv_buf {
    const char **v;
    size_t n, cap;
    char **owned;
    size_t nowned, capowned;
} argv_buf;

static int arg_push(argv_buf *a, const char *v) {
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        const char **nv = realloc(a->v, cap * sizeof(*nv));
        if (!nv) return -1;
        a->v = nv;
        a->cap = cap;
    }
    a->v[a->n++] = v ? v : "";
    return 0;
}

/* Pushes a string the call owns (NULL: out of memory). */
static int arg_own(argv_buf *a, char *v) {
    if (!v) return -1;
    if (a->nowned == a->capowned) {
        size_t cap = a->capowned ? a->capowned * 2 : 64;
        char **no = realloc(a->owned, cap * sizeof(*no));
        if (!no) {
            free(v);
            return -1;
        }
        a->owned = no;
        a->capowned = cap;
    }
    a->owned[a->nowned++] = v;
    return arg_push(a, v);
}

static int arg_num(argv_buf *a, long long v) {
    char buf[32];
    snprintf(buf, sizeof(buf), "%lld", v);
    return arg_own(a, strdup(buf));
}

static void argv_free(argv_buf *a) {
    for (size_t i = 0; i < a->nowned; i++) free(a->owned[i]);
    free(a->owned);
    free(a->v);
}

static int push_done(argv_buf *a, const turn_done *d) {
    const task_result *res = d->res;
    const lease_item *li = d->li;
    int rc = arg_push(a, li->incident) | arg_push(a, li->step) | arg_push(a, li->pool) |
             arg_push(a, li->msgid) |
             arg_push(a, res->skipped ? "skipped" : res->succeeded ? "succeeded" : "failed");
    rc |= res->output ? arg_own(a, json_dumps(res->output, JSON_COMPACT | JSON_ENCODE_ANY))
                      : arg_push(a, "");
    rc |= arg_push(a, res->error ? res->error : "") | arg_num(a, (long long)res->duration_ms);
    rc |= arg_own(a, task_event_data(li->incident, d->workflow, li->step, d->action, d->attempt,
                                     res));
    rc |= arg_push(a, res->permanent ? "0" : "1") | arg_num(a, (long long)d->delay_ms);
    return rc ? -1 : 0;
}

static int copy_str(char *dst, size_t len, const redisReply *r) {
    snprintf(dst, len, "%s", str_of(r));
    return 0;
}

static char *dup_or_null(const redisReply *r) {
    const char *v = str_of(r);
    return *v ? strdup(v) : NULL;
}

/* Reads one start record of the turn's reply at *i; fills f for "run".
 * Returns 1 (run), 0 (skipped or buried), 2 (a pool could not be read: f's
 * pool, and its error in defsha), -1 (malformed). */
static int parse_start(const redisReply *r, size_t *i, task_facts *f) {
    const redisReply *const *e = (const redisReply *const *)r->element;
    size_t at = *i;
    if (at + 6 > r->elements) return -1;
    const char *tag = str_of(e[at]);
    lease_item li = {0};
    snprintf(li.pool, sizeof(li.pool), "%s", str_of(e[at + 1]));
    snprintf(li.msgid, sizeof(li.msgid), "%s", str_of(e[at + 2]));
    snprintf(li.incident, sizeof(li.incident), "%s", str_of(e[at + 3]));
    snprintf(li.step, sizeof(li.step), "%s", str_of(e[at + 4]));
    if (strcmp(tag, "error") == 0) {
        memset(f, 0, sizeof(*f));
        f->li = li;
        copy_str(f->defsha, sizeof(f->defsha), e[at + 5]);
        *i = at + 6;
        return 2;
    }
    if (strcmp(tag, "run") != 0) {
        log_ctx lc = {li.incident, li.msgid, li.step};
        if (strcmp(tag, "dead") == 0)
            mlog(LOG_WARN, &lc, "task buried: %s", str_of(e[at + 5]));
        else
            mlog(LOG_INFO, &lc, "task is %s: entry acknowledged without running",
                 str_of(e[at + 5]));
        *i = at + 6;
        return 0;
    }
    if (at + 13 > r->elements) return -1;
    long nsteps = atol(str_of(e[at + 12]));
    if (nsteps < 0 || at + 13 + (size_t)nsteps * 4 > r->elements) return -1;
    memset(f, 0, sizeof(*f));
    f->li = li;
    f->attempt = atoi(str_of(e[at + 5]));
    copy_str(f->defsha, sizeof(f->defsha), e[at + 6]);
    f->def_text = dup_or_null(e[at + 7]);
    copy_str(f->workflow, sizeof(f->workflow), e[at + 8]);
    f->alert_text = dup_or_null(e[at + 9]);
    copy_str(f->fingerprint, sizeof(f->fingerprint), e[at + 10]);
    copy_str(f->opened_at, sizeof(f->opened_at), e[at + 11]);
    f->steps = json_object();
    for (size_t k = 0, j = at + 13; k < (size_t)nsteps; k++, j += 4) {
        json_t *st = json_pack("{s:s}", "status", str_of(e[j + 1]));
        json_t *output = load_or_string(e[j + 2]);
        if (output) json_object_set_new(st, "output", output);
        if (*str_of(e[j + 3])) json_object_set_new(st, "error", json_string(str_of(e[j + 3])));
        json_object_set_new(f->steps, str_of(e[j]), st);
    }
    *i = at + 13 + (size_t)nsteps * 4;
    return 1;
}

struct turn_call {
    argv_buf a;
    size_t ndone;
};

static void turn_call_free(turn_call *c) {
    if (!c) return;
    argv_free(&c->a);
    free(c);
}

void queue_turn_drop(turn_call *c) { turn_call_free(c); }

turn_call *queue_turn_send(store *s, const char *consumer, char **pools, size_t npools,
                           size_t lease_max, const turn_done *done, size_t ndone,
                           const lease_item *entries, size_t nentries, char *err, size_t errlen) {
    char ms[24], rfc[40], evbase[48];
    turn_call *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "turn: out of memory");
        return NULL;
    }
    argv_buf *a = &c->a;
    c->ndone = ndone;
    queue_now_args(ms, sizeof(ms), rfc, sizeof(rfc), evbase, sizeof(evbase));
    int bad = arg_push(a, consumer) | arg_own(a, strdup(ms)) | arg_own(a, strdup(rfc)) |
              arg_own(a, strdup(evbase)) | arg_num(a, (long long)lease_max) |
              arg_num(a, (long long)npools);
    for (size_t i = 0; i < npools; i++) bad |= arg_push(a, pools[i]);
    bad |= arg_num(a, (long long)ndone);
    for (size_t i = 0; i < ndone; i++) bad |= push_done(a, &done[i]);
    bad |= arg_num(a, (long long)nentries);
    for (size_t i = 0; i < nentries; i++)
        bad |= arg_own(a, strdup(entries[i].pool)) | arg_own(a, strdup(entries[i].msgid)) |
               arg_own(a, strdup(entries[i].incident)) | arg_own(a, strdup(entries[i].step));
    if (bad) {
        snprintf(err, errlen, "turn: out of memory");
        turn_call_free(c);
        return NULL;
    }
    if (store_eval_append(s, SCRIPT_TURN, (int)a->n, a->v) < 0) {
        snprintf(err, errlen, "turn: redis not reachable");
        turn_call_free(c);
        return NULL;
    }
    return c;
}

/* Reads a turn's reply into done's outcomes and started. */
static int turn_parse(store *s, const redisReply *r, turn_done *done, size_t ndone,
                      task_facts *started, size_t cap, size_t *nstarted, char *err,
                      size_t errlen) {
    if (r->type != REDIS_REPLY_ARRAY || r->elements < ndone * 2) {
        snprintf(err, errlen, "turn: unexpected reply");
        return -1;
    }
    static const char *const outcomes[] = {"done", "retrying", "dead", "fenced"};
    for (size_t i = 0; i < ndone; i++) {
        const char *o = str_of(r->element[2 * i]);
        done[i].outcome = TURN_DONE;
        for (int k = 0; k < 4; k++)
            if (strcmp(o, outcomes[k]) == 0) done[i].outcome = k;
        snprintf(done[i].detail, sizeof(done[i].detail), "%s", str_of(r->element[2 * i + 1]));
    }
    size_t i = ndone * 2;
    while (i < r->elements) {
        task_facts f;
        int k = parse_start(r, &i, &f);
        if (k < 0) {
            mlog(LOG_ERROR, NULL, "turn: malformed start record at %zu of %zu", i, r->elements);
            break;
        }
        if (k == 0) continue;
        if (k == 2) {
            /* A queue the script could not read (Redis lost it): made again. */
            char key[256];
            mlog(LOG_WARN, NULL, "queue %s: %s; creating it again", f.li.pool, f.defsha);
            key_of(s, key, sizeof(key), "q:", f.li.pool);
            store_group_create(s, key, QUEUE_GROUP);
            continue;
        }
        if (*nstarted < cap)
            started[(*nstarted)++] = f;
        else
            task_facts_clear(&f); /* cannot happen: the script leases at most what fits */
    }
    return 0;
}

int queue_turn_recv(store *s, turn_call *c, turn_done *done, task_facts *started, size_t cap,
                    size_t *nstarted, char *err, size_t errlen) {
    redisReply *r = NULL;
    int rc = -1;
    *nstarted = 0;
    int e = store_eval_reply(s, &r, err, errlen);
    if (e == -2) {
        /* Redis forgot its scripts (a restart): nothing ran; once more,
         * loading them. */
        r = store_eval(s, SCRIPT_TURN, (int)c->a.n, c->a.v, err, errlen);
        e = r ? 0 : -1;
    } else if (e == 0 && store_wait_replicas(s) < 0) {
        snprintf(err, errlen, "redis: connection lost before replicas confirmed");
        e = -1;
    }
    if (e == 0) rc = turn_parse(s, r, done, c->ndone, started, cap, nstarted, err, errlen);
    if (r) freeReplyObject(r);
    turn_call_free(c);
    return rc;
}

int queue_turn(store *s, const char *consumer, char **pools, size_t npools, size_t lease_max,
               turn_done *done, size_t ndone, const lease_item *entries, size_t nentries,
               task_facts *started, size_t cap, size_t *nstarted, char *err, size_t errlen) {
    *nstarted = 0;
    if (lease_max + nentries > cap) lease_max = cap > nentries ? cap - nentries : 0;
    turn_call *c = queue_turn_send(s, consumer, pools, npools, lease_max, done, ndone, entries,
                                   nentries, err, errlen);
    return c ? queue_turn_recv(s, c, done, started, cap, nstarted, err, errlen) : -1;
}

json_t *queue_def(store *s, const char *defsha, char *err, size_t errlen) {
    redisReply *r = store_command(s, "HGET %s:defs %s", store_prefix(s), defsha);
    if (!r) {
        snprintf(err, errlen, "redis: connection lost reading definition %s", defsha);
        return NULL;
    }
    json_t *def = r->type == REDIS_REPLY_STRING ? json_loadb(r->str, r->len, 0, NULL) : NULL;
    if (!def) snprintf(err, errlen, "step definition %s is missing from Redis", defsha);
    freeReplyObject(r);
    return def;
}

int queue_task_start(store *s, const char *consumer, const lease_item *li, task_run *run,
                     char *err, size_t errlen) {
    task_facts f;
    size_t n = 0;
    memset(run, 0, sizeof(*run));
    if (queue_turn(s, consumer, NULL, 0, 0, NULL, 0, li, 1, &f, 1, &n, err, errlen) < 0)
        return -1;
    if (n == 0) return 0;
    run->def = f.def_text ? json_loads(f.def_text, 0, NULL) : queue_def(s, f.defsha, err, errlen);
    run->attempt = f.attempt;
    run->ctx = task_context(li->incident, f.workflow, f.fingerprint, f.opened_at, li->step,
                            f.attempt, f.alert_text, json_incref(f.steps));
    task_facts_clear(&f);
    if (!json_is_object(run->def) || !run->ctx) {
        snprintf(err, errlen, "start: task record is damaged");
        task_run_clear(run);
        return -1;
    }
    return 1;
}

void task_run_clear(task_run *run) {
    json_decref(run->def);
    json_decref(run->ctx);
    memset(run, 0, sizeof(*run));
}

int queue_task_complete(store *s, const char *consumer, const lease_item *li,
                        const task_run *run, const task_result *res, char *err,
                        size_t errlen) {
    /* A page step's level ends in its timers, not in a result. */
    if (res->succeeded && res->page_plan) return paging_arm(s, consumer, li, res->page_plan, err, errlen);
    uint64_t rnd = 0;
    if (!res->succeeded) getrandom(&rnd, sizeof(rnd), 0);
    retry_policy p = retry_policy_from_json(json_object_get(run->def, "retry"), retry_policy_default());
    turn_done d = {
        .li = li,
        .workflow = json_string_value(json_object_get(json_object_get(run->ctx, "incident"), "workflow")),
        .action = json_string_value(json_object_get(run->def, "action")),
        .attempt = run->attempt,
        .res = res,
        .delay_ms = res->succeeded ? 0 : backoff_delay(&p, run->attempt, res->retry_after_ms,
                                                       (double)(rnd >> 11) / 9007199254740992.0),
    };
    size_t n = 0;
    if (queue_turn(s, consumer, NULL, 0, 0, &d, 1, NULL, 0, NULL, 0, &n, err, errlen) < 0)
        return -1;
    if (d.outcome == TURN_FENCED) {
        snprintf(err, errlen, "lease lost: task is %s", d.detail);
        return 1;
    }
    return 0;
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
    /* XACK key group id... and XDEL key id..., in one round trip. */
    argv[0] = "XACK";
    argv[1] = key;
    argv[2] = OUTBOX_GROUP;
    for (size_t i = 0; i < n; i++) argv[3 + i] = ids[i];
    if (store_append_argv(s, (int)n + 3, argv, NULL) < 0) rc = -1;
    /* hiredis formatted the first already: reuse the vector as
     * XDEL key id... from its second slot. */
    argv[1] = "XDEL";
    argv[2] = key;
    if (rc == 0 && store_append_argv(s, (int)n + 2, argv + 1, NULL) < 0) rc = -1;
    for (int k = 0; rc == 0 && k < 2; k++) {
        redisReply *r = NULL;
        if (store_reply(s, &r) < 0) rc = -1;
        if (r) freeReplyObject(r);
    }
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
        redisReply *t = store_command(s, "HMGET %s:{%s}:task:%s attempts error dead_reason def defsha",
                                      store_prefix(s), incident, slash + 1);
        redisReply *w = store_command(s, "HGET %s:{%s}:inc workflow", store_prefix(s), incident);
        if (t && t->type == REDIS_REPLY_ARRAY && t->elements == 5) {
            char derr[160];
            json_t *def = *str_of(t->element[4]) ? queue_def(s, str_of(t->element[4]), derr, sizeof(derr))
                                                 : load_or_string(t->element[3]);
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
