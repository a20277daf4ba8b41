/* incident.c - incidents in Redis: record an alert, read timelines */
#include "state/incident.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state/queue.h"
#include "common/sha256.h"
#include "common/sig_crypto.h"
#include "common/strbuf.h"
#include "common/util.h"

static const char *outcome_names[] = {"opened", "joined", "resolved", "ignored", "duplicate"};

const char *record_outcome_name(int outcome) {
    return (outcome >= 0 && outcome <= RECORD_DUPLICATE) ? outcome_names[outcome] : "error";
}

/* What a step's templates and conditions read of the incident, as the
 * task's ctx field (turn.lua): "" nothing (no template, no condition, an
 * action that does not take the alert), "i" the incident and its alert,
 * "i:a,b" and the state and output of steps a and b (the steps it needs
 * and those its templates name as steps.ID), "i:*" and of every step (a
 * template names `steps` another way). Erring towards reading more is
 * always safe; a name may come twice. */
static void step_ctx(const json_t *def, const char *def_text, const json_t *needs, char *out,
                     size_t len) {
    const char *action = json_string_value(json_object_get(def, "action"));
    bool reads = (action && strcmp(action, "exec") == 0) || strstr(def_text, "{{") ||
                 json_array_size(json_object_get(def, "if")) > 0;
    if (!reads) {
        snprintf(out, len, "%s", "");
        return;
    }
    strbuf b = {.max = len - 1};
    strbuf_str(&b, "i");
    bool any = false;
    /* The steps it needs, always: their states decide what it sees. */
    size_t k;
    const json_t *need;
    json_array_foreach(needs, k, need) {
        strbuf_str(&b, any ? "," : ":");
        strbuf_str(&b, json_string_value(need));
        any = true;
    }
    for (const char *p = strstr(def_text, "steps"); p; p = strstr(p + 5, "steps")) {
        bool word = p == def_text || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
        if (!word) continue;
        if (p[5] != '.') {
            if (isalnum((unsigned char)p[5]) || p[5] == '_') continue; /* "stepsize" */
            any = false;
            b.len = 1;
            strbuf_str(&b, ":*");
            break;
        }
        const char *id = p + 6, *e = id;
        while (isalnum((unsigned char)*e) || *e == '_' || *e == '-') e++;
        if (e == id) continue;
        strbuf_str(&b, any ? "," : ":");
        strbuf_add(&b, id, (size_t)(e - id));
        any = true;
    }
    snprintf(out, len, "%s", b.failed || !b.s ? "i:*" : b.s);
    strbuf_free(&b);
}

/* A step list as expand.lua wants it, as JSON text: needs as a count, the
 * definition's SHA-256 (and its text when with_defs), what the hot path
 * reads without decoding JSON, and the lists as JSON text. */
static char *steps_text(const workflow *wf, const wf_step *steps, size_t n,
                        json_t *(*def)(const workflow *, size_t), bool with_defs) {
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *deps = json_array(), *needs = json_array();
        for (size_t j = 0; j < n; j++)
            for (size_t k = 0; k < steps[j].nneeds; k++)
                if (steps[j].needs[k] == i) json_array_append_new(deps, json_string(steps[j].id));
        for (size_t k = 0; k < steps[i].nneeds; k++)
            json_array_append_new(needs, json_string(steps[steps[i].needs[k]].id));
        json_t *d = def(wf, i);
        /* Its dependents as release_dependents() takes them, without
         * decoding JSON: "name|pool|kind,..." (ids and pools are names of
         * letters, digits, _ and -). */
        strbuf rel = {0};
        for (size_t j = 0; j < n; j++)
            for (size_t k = 0; k < steps[j].nneeds; k++)
                if (steps[j].needs[k] == i) {
                    json_t *dj = def(wf, j);
                    const char *da = json_string_value(json_object_get(dj, "action"));
                    strbuf_printf(&rel, "%s%s|%s|%s", rel.len ? "," : "", steps[j].id,
                                  steps[j].pool,
                                  da && strcmp(da, "manual") == 0 ? "manual" : "task");
                    json_decref(dj);
                }
        char *deps_text = json_dumps(deps, JSON_COMPACT);
        char *needs_text = json_dumps(needs, JSON_COMPACT);
        char *def_text = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
        char sha[SHA256_HEX_LEN], ctx[512];
        const char *action = json_string_value(json_object_get(d, "action"));
        sha256_hex(def_text ? def_text : "{}", def_text ? strlen(def_text) : 2, sha);
        step_ctx(d, def_text ? def_text : "{}", needs, ctx, sizeof(ctx));
        json_t *st = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i}", "id",
                               steps[i].id, "pool", steps[i].pool, "needs",
                               (json_int_t)steps[i].nneeds, "needs_ids", needs_text ? needs_text : "[]",
                               "dependents", deps_text ? deps_text : "[]", "defsha", sha, "action",
                               action ? action : "", "kind",
                               action && strcmp(action, "manual") == 0 ? "manual" : "task", "ctx",
                               ctx, "coe", steps[i].continue_on_error ? "1" : "0", "max_attempts",
                               steps[i].retry.max_attempts);
        json_object_set_new(st, "release", json_string(rel.s && !rel.failed ? rel.s : ""));
        strbuf_free(&rel);
        if (with_defs) json_object_set_new(st, "def", json_string(def_text ? def_text : "{}"));
        json_array_append_new(arr, st);
        free(deps_text);
        free(needs_text);
        free(def_text);
        json_decref(needs);
        json_decref(deps);
        json_decref(d);
    }
    char *text = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    return text;
}

/* A workflow's steps as the record script takes them, made once per
 * workflow: [0] with the definitions' text, [1] without, once Redis holds
 * them (P:defs) on the store connection `written`. */
typedef struct steps_cache {
    char *steps[2], *resolve[2];
    unsigned long written; /* store generation that holds the definitions; 0: none */
} steps_cache;

static void steps_cache_free(void *p) {
    steps_cache *c = p;
    if (!c) return;
    for (int i = 0; i < 2; i++) {
        free(c->steps[i]);
        free(c->resolve[i]);
    }
    free(c);
}

static steps_cache *cache_of(const workflow *cwf) {
    workflow *wf = (workflow *)cwf; /* the cache is not the workflow's meaning */
    if (wf->cache && wf->cache_free == steps_cache_free) return wf->cache;
    steps_cache *c = calloc(1, sizeof(*c));
    if (!c) return NULL;
    for (int i = 0; i < 2; i++) {
        c->steps[i] = steps_text(wf, wf->steps, wf->nsteps, workflow_step_json, i == 0);
        c->resolve[i] =
            steps_text(wf, wf->resolve_steps, wf->nresolve, workflow_resolve_step_json, i == 0);
        if (!c->steps[i] || !c->resolve[i]) {
            steps_cache_free(c);
            return NULL;
        }
    }
    if (wf->cache_free) wf->cache_free(wf->cache);
    wf->cache = c;
    wf->cache_free = steps_cache_free;
    return c;
}

/* The arguments of one expand.lua call, owned. */
typedef struct record_call {
    char tp[320], seq[32], ms[24], rfc[40], evbase[48];
    char before[32]; /* the sequence of the batch's alert before it on its partition */
    char *alert_text, *runs_text;
    const char *argv[10];
} record_call;

static void record_call_free(record_call *c) {
    free(c->alert_text);
    free(c->runs_text);
    c->alert_text = c->runs_text = NULL;
}

/* Builds the call for one alert: with resend, every definition's text
 * travels along. Returns 0, or -1 with err filled. */
static int record_call_make(record_call *c, store *s, const alert *a, const workflow *const *wfs,
                            size_t nwfs, const alert_origin *o, bool resend, char *err,
                            size_t errlen) {
    memset(c, 0, sizeof(*c));
    snprintf(c->seq, sizeof(c->seq), "0");
    if (o && o->topic) {
        snprintf(c->tp, sizeof(c->tp), "%s/%d", o->topic, (int)o->partition);
        /* One message may hold many alerts: each gets its own sequence
         * number so a redelivery is recognised alert by alert. */
        snprintf(c->seq, sizeof(c->seq), "%lld",
                 (long long)o->offset * ALERT_MAX_PER_MESSAGE + (long long)o->index);
    }
    int64_t now = now_ms();
    snprintf(c->ms, sizeof(c->ms), "%lld", (long long)now);
    format_rfc3339(now, c->rfc, sizeof(c->rfc));
    id_new("evt-", c->evbase, sizeof(c->evbase));
    json_t *aj = alert_to_json(a);
    c->alert_text = aj ? json_dumps(aj, JSON_COMPACT) : NULL;
    json_decref(aj);
    if (!c->alert_text) {
        snprintf(err, errlen, "cannot encode alert");
        return -1;
    }
    /* Only a firing alert that opens an incident needs the steps; the
     * script decides, so every selected workflow's steps travel along,
     * as text made once per workflow, with the definitions' text only
     * until Redis holds them. */
    strbuf rb = {0};
    strbuf_str(&rb, "[");
    unsigned long gen = store_generation(s);
    for (size_t i = 0; i < nwfs && strcmp(a->status, "firing") == 0; i++) {
        char id[64];
        steps_cache *sc = cache_of(wfs[i]);
        if (!sc) {
            snprintf(err, errlen, "cannot encode the steps of %s", wfs[i]->name);
            strbuf_free(&rb);
            record_call_free(c);
            return -1;
        }
        int lean = !resend && gen && sc->written == gen; /* Redis holds the definitions */
        char *group = workflow_group_key(wfs[i], a->labels, a->fingerprint);
        id_new("inc-", id, sizeof(id));
        json_t *head = json_pack("{s:s, s:s, s:s?, s:I}", "workflow", wfs[i]->name, "id", id,
                                 "group", group, "window_ms",
                                 (json_int_t)(wfs[i]->ngroup_by ? wfs[i]->group_window_ms : 0));
        char *head_text = head ? json_dumps(head, JSON_COMPACT) : NULL;
        json_decref(head);
        free(group);
        if (!head_text) {
            snprintf(err, errlen, "cannot encode the run of %s", wfs[i]->name);
            strbuf_free(&rb);
            record_call_free(c);
            return -1;
        }
        if (i > 0) strbuf_str(&rb, ",");
        strbuf_add(&rb, head_text, strlen(head_text) - 1); /* without its } */
        strbuf_printf(&rb, ",\"steps\":%s,\"resolve\":%s}", sc->steps[lean], sc->resolve[lean]);
        free(head_text);
    }
    strbuf_str(&rb, "]");
    if (rb.failed) {
        snprintf(err, errlen, "cannot encode steps");
        strbuf_free(&rb);
        record_call_free(c);
        return -1;
    }
    c->runs_text = rb.s;
    const char *argv[10] = {c->tp, c->seq, a->fingerprint, a->status, c->alert_text,
                            c->runs_text, c->ms, c->rfc, c->evbase, c->before};
    memcpy(c->argv, argv, sizeof(argv));
    return 0;
}

/* Reads expand.lua's reply. Returns how many results, -2 when Redis lacks
 * definitions it was not sent, -3 when the batch's alert before it was not
 * recorded (nothing was written either way), -1 (err filled). */
static int record_parse(const redisReply *r, record_result *out, size_t max, char *err,
                        size_t errlen) {
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1 && r->element[0]->str &&
        strcmp(r->element[0]->str, "nodefs") == 0)
        return -2;
    if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1 && r->element[0]->str &&
        strcmp(r->element[0]->str, "gap") == 0) {
        snprintf(err, errlen, "the alert before it on its partition was not recorded");
        return -3;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2) {
        snprintf(err, errlen, "expand: unexpected reply");
        return -1;
    }
    int n = 0;
    for (size_t i = 0; i + 1 < r->elements && (size_t)n < max; i += 2) {
        out[n].outcome = -1;
        for (int k = 0; k <= RECORD_DUPLICATE; k++)
            if (r->element[i]->str && strcmp(r->element[i]->str, outcome_names[k]) == 0)
                out[n].outcome = k;
        snprintf(out[n].incident, sizeof(out[n].incident), "%s",
                 r->element[i + 1]->str ? r->element[i + 1]->str : "");
        n++;
    }
    return n;
}

/* The definitions are in Redis now, on this connection. */
static void defs_written(store *s, const workflow *const *wfs, size_t nwfs) {
    for (size_t i = 0; i < nwfs; i++) {
        steps_cache *c = wfs[i]->cache_free == steps_cache_free ? wfs[i]->cache : NULL;
        if (c) c->written = store_generation(s);
    }
}

int incident_record_runs(store *s, const alert *a, const workflow *const *wfs, size_t nwfs,
                         const alert_origin *o, record_result *out, size_t max, char *err,
                         size_t errlen) {
    int n = -2;
    for (int resend = 0; resend < 2 && n == -2; resend++) {
        record_call c;
        if (record_call_make(&c, s, a, wfs, nwfs, o, resend, err, errlen) < 0) return -1;
        redisReply *r = store_eval(s, SCRIPT_EXPAND, 9, c.argv, err, errlen);
        n = r ? record_parse(r, out, max, err, errlen) : -1;
        if (r) freeReplyObject(r);
        record_call_free(&c);
    }
    if (n == -2) {
        snprintf(err, errlen, "expand: Redis does not keep the step definitions it was sent");
        n = -1;
    }
    if (n >= 0) defs_written(s, wfs, nwfs);
    return n;
}

int incident_record_batch(store *s, record_req *reqs, size_t n, char *err, size_t errlen) {
    record_call *calls = calloc(n ? n : 1, sizeof(*calls));
    size_t sent = 0, answered = 0;
    int rc = 0;
    if (!calls) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) reqs[i].n = -1;
    for (; sent < n; sent++) {
        record_req *q = &reqs[sent];
        if (record_call_make(&calls[sent], s, q->a, q->wfs, q->nwfs, &q->o, false, err, errlen) < 0)
            break;
        /* The alert before it on its partition, in this batch. */
        for (size_t k = sent; k-- > 0;)
            if (q->o.topic && reqs[k].o.topic && reqs[k].o.partition == q->o.partition &&
                strcmp(reqs[k].o.topic, q->o.topic) == 0) {
                snprintf(calls[sent].before, sizeof(calls[sent].before), "%s", calls[k].seq);
                break;
            }
        if (store_eval_append(s, SCRIPT_EXPAND, 10, calls[sent].argv) < 0) break;
    }
    /* Every reply, in order, even past a failure: the connection stays
     * in step. A call that did not run (the script cache was lost, or the
     * definitions) runs again alone, where that is mended. */
    for (; answered < sent; answered++) {
        record_req *q = &reqs[answered];
        redisReply *r = NULL;
        int e = store_eval_reply(s, &r, err, errlen);
        if (e == -1) break;
        q->n = e == 0 ? record_parse(r, q->out, q->max, err, errlen) : e == -2 ? -2 : -1;
        if (q->n == -3) q->n = -1; /* "gap": the alert before it failed; retried after it */
        if (r) freeReplyObject(r);
    }
    for (size_t i = 0; i < n; i++) record_call_free(&calls[i]);
    free(calls);
    if (answered < n) rc = -1;
    for (size_t i = 0; i < answered; i++) {
        record_req *q = &reqs[i];
        if (q->n == -2)
            q->n = incident_record_runs(s, q->a, q->wfs, q->nwfs, &q->o, q->out, q->max, err,
                                        errlen);
        if (q->n >= 0) defs_written(s, q->wfs, q->nwfs);
    }
    /* Replicas hold the batch before the offsets move (expand's rule). */
    if (rc == 0 && answered && store_wait_replicas(s) < 0) {
        snprintf(err, errlen, "redis: connection lost before replicas confirmed");
        for (size_t i = 0; i < n; i++) reqs[i].n = -1;
        rc = -1;
    }
    return rc;
}

int incident_record(store *s, const alert *a, const workflow *wf, const alert_origin *o,
                    char *id, size_t idlen, char *err, size_t errlen) {
    record_result res[8];
    int n = incident_record_runs(s, a, wf ? &wf : NULL, wf ? 1 : 0, o, res, 8, err, errlen);
    if (n <= 0) return -1;
    snprintf(id, idlen, "%s", res[0].incident);
    return res[0].outcome;
}

static const char *json_string_or(const json_t *v, const char *def) {
    return json_is_string(v) ? json_string_value(v) : def;
}

static json_t *hash_to_object(const redisReply *r) {
    json_t *o = json_object();
    if (r && r->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i + 1 < r->elements; i += 2)
            json_object_set_new(o, r->element[i]->str, json_string(r->element[i + 1]->str));
    return o;
}

json_t *incident_list(store *s, size_t limit) {
    char key[256];
    snprintf(key, sizeof(key), "%s:incidents", store_prefix(s));
    redisReply *r = store_command(s, "ZREVRANGE %s 0 %d", key, (int)limit - 1);
    if (!r) return NULL;
    json_t *out = json_array();
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const char *id = r->element[i]->str;
        redisReply *h = store_command(s, "HMGET %s:{%s}:inc workflow status run opened_at alert",
                                      store_prefix(s), id);
        if (!h) break;
        if (h->type == REDIS_REPLY_ARRAY && h->elements == 5) {
            json_t *aj = h->element[4]->str ? json_loads(h->element[4]->str, 0, NULL) : NULL;
            json_array_append_new(
                out, json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?}", "id", id, "workflow",
                               h->element[0]->str, "status", h->element[1]->str, "run",
                               h->element[2]->str, "opened_at", h->element[3]->str, "summary",
                               json_string_value(json_object_get(aj, "summary")), "severity",
                               json_string_value(json_object_get(aj, "severity"))));
            json_decref(aj);
        }
        freeReplyObject(h);
    }
    freeReplyObject(r);
    return out;
}

/* Whether the stored timeline has an event of this type, step and attempt
 * already (incidents recorded before those events were derived). */
static bool has_event(const json_t *timeline, const char *type, const char *step, long attempt) {
    size_t i;
    const json_t *ev;
    json_array_foreach(timeline, i, ev) {
        const json_t *d = json_object_get(ev, "data");
        if (strcmp(json_string_or(json_object_get(ev, "type"), ""), type) == 0 &&
            strcmp(json_string_or(json_object_get(d, "step"), ""), step) == 0 &&
            json_integer_value(json_object_get(d, "attempt")) == attempt)
            return true;
    }
    return false;
}

/* A derived entry has an id of its own, "derived-STEP-ATTEMPT-TYPE": the
 * event on the topic has another (the timeline does not keep it). */
static json_t *derived_event(const char *id, const char *type, long long ms, json_t *data) {
    char rfc[40], evid[320];
    format_rfc3339(ms, rfc, sizeof(rfc));
    snprintf(evid, sizeof(evid), "derived-%s-%lld-%s",
             json_string_value(json_object_get(data, "step")),
             (long long)json_integer_value(json_object_get(data, "attempt")), type);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:o}", "specversion", "1.0", "id",
                     evid, "source", "muster", "type", type, "time", rfc, "subject", id,
                     "datacontenttype", "application/json", "derived", 1, "data", data);
}

static int by_time(const void *a, const void *b) {
    const json_t *const *x = a, *const *y = b;
    int c = strcmp(json_string_or(json_object_get(*x, "time"), ""),
                   json_string_or(json_object_get(*y, "time"), ""));
    /* equal times keep their order: the index was put in "_at" */
    return c ? c
             : (int)(json_integer_value(json_object_get(*x, "_at")) -
                     json_integer_value(json_object_get(*y, "_at")));
}

/* The timeline keeps a task's start and its success only on the events
 * topic: the task hash says when they happened. They are put back here,
 * marked "derived", in time order with the stored events. */
static void derive_task_events(const char *id, const char *wf, const json_t *tasks,
                               json_t *timeline) {
    const char *step;
    json_t *t;
    json_object_foreach((json_t *)tasks, step, t) {
        long attempt = atol(json_string_or(json_object_get(t, "attempts"), "0"));
        long long started = atoll(json_string_or(json_object_get(t, "started_at"), "0"));
        long long finished = atoll(json_string_or(json_object_get(t, "finished_at"), "0"));
        const char *state = json_string_or(json_object_get(t, "state"), "");
        const char *action = json_string_or(json_object_get(t, "action"), "");
        if (started > 0 && attempt > 0 && !has_event(timeline, "task.started", step, attempt))
            json_array_append_new(
                timeline, derived_event(id, "task.started", started,
                                        json_pack("{s:s, s:s?, s:s, s:s, s:i}", "incident", id,
                                                  "workflow", wf, "step", step, "action",
                                                  action, "attempt", (int)attempt)));
        if (strcmp(state, "succeeded") == 0 && finished > 0 &&
            !has_event(timeline, "task.succeeded", step, attempt))
            json_array_append_new(
                timeline,
                derived_event(id, "task.succeeded", finished,
                              json_pack("{s:s, s:s?, s:s, s:s, s:i, s:I}", "incident", id,
                                        "workflow", wf, "step", step, "action", action,
                                        "attempt", (int)attempt, "duration_ms",
                                        (json_int_t)atoll(json_string_or(
                                            json_object_get(t, "duration_ms"), "0")))));
    }
    size_t n = json_array_size(timeline);
    json_t **v = calloc(n ? n : 1, sizeof(*v));
    if (!v) return;
    for (size_t i = 0; i < n; i++) {
        v[i] = json_incref(json_array_get(timeline, i));
        json_object_set_new(v[i], "_at", json_integer((json_int_t)i));
    }
    qsort(v, n, sizeof(*v), by_time);
    json_array_clear(timeline);
    for (size_t i = 0; i < n; i++) {
        json_object_del(v[i], "_at");
        json_array_append_new(timeline, v[i]);
    }
    free(v);
}

json_t *incident_show(store *s, const char *id, char *err, size_t errlen) {
    const char *p = store_prefix(s);
    json_t *out = NULL;
    redisReply *r = store_command(s, "HGETALL %s:{%s}:inc", p, id);
    if (!r) {
        snprintf(err, errlen, "redis not reachable");
        return NULL;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
        snprintf(err, errlen, "no incident \"%s\"", id);
        freeReplyObject(r);
        return NULL;
    }
    json_t *inc = hash_to_object(r);
    freeReplyObject(r);
    json_t *aj = json_loads(json_string_or(json_object_get(inc, "alert"), "null"), 0, NULL);
    if (aj) json_object_set_new(inc, "alert", aj);
    json_t *tasks = json_object();
    json_t *names = json_loads(json_string_or(json_object_get(inc, "steps"), "[]"), 0, NULL);
    size_t i;
    json_t *name;
    json_array_foreach(names, i, name) {
        redisReply *t = store_command(s, "HGETALL %s:{%s}:task:%s", p, id, json_string_value(name));
        if (!t) break;
        json_t *task = hash_to_object(t);
        freeReplyObject(t);
        const char *out_text = json_string_value(json_object_get(task, "output"));
        json_t *output = out_text ? json_loads(out_text, JSON_DECODE_ANY, NULL) : NULL;
        if (output) json_object_set_new(task, "output", output);
        json_object_del(task, "def");
        json_object_del(task, "defsha");
        json_object_del(task, "ctx");
        json_object_del(task, "lease");
        json_object_set_new(tasks, json_string_value(name), task);
    }
    json_object_set_new(inc, "steps", names ? names : json_array());
    json_t *timeline = json_array();
    r = store_command(s, "LRANGE %s:{%s}:timeline 0 -1", p, id);
    for (i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        json_t *ev = json_loads(r->element[i]->str, 0, NULL);
        if (ev) json_array_append_new(timeline, ev);
    }
    if (r) freeReplyObject(r);
    derive_task_events(id, json_string_value(json_object_get(inc, "workflow")), tasks, timeline);
    /* The on_resolve steps' too (they are not listed under tasks). */
    json_t *rnames = json_loads(json_string_or(json_object_get(inc, "resolve_steps"), "[]"), 0, NULL);
    json_t *rtasks = json_object();
    json_array_foreach(rnames, i, name) {
        redisReply *t = store_command(s, "HMGET %s:{%s}:task:%s attempts started_at finished_at state action duration_ms",
                                      p, id, json_string_value(name));
        if (t && t->type == REDIS_REPLY_ARRAY && t->elements == 6) {
            static const char *const f[] = {"attempts", "started_at", "finished_at", "state", "action", "duration_ms"};
            json_t *o = json_object();
            for (size_t k = 0; k < 6; k++)
                if (t->element[k]->type == REDIS_REPLY_STRING)
                    json_object_set_new(o, f[k], json_string(t->element[k]->str));
            json_object_set_new(rtasks, json_string_value(name), o);
        }
        if (t) freeReplyObject(t);
    }
    derive_task_events(id, json_string_value(json_object_get(inc, "workflow")), rtasks, timeline);
    json_decref(rtasks);
    json_decref(rnames);
    out = json_pack("{s:o, s:o, s:o}", "incident", inc, "tasks", tasks, "timeline", timeline);
    return out;
}

static long long int_reply(redisReply *r) {
    long long v = (r && r->type == REDIS_REPLY_INTEGER) ? r->integer : -1;
    if (r) freeReplyObject(r);
    return v;
}

json_t *store_status(store *s, char *err, size_t errlen) {
    const char *p = store_prefix(s);
    json_t *queues = json_object(), *workers = json_object();

    /* The set of pools, not KEYS: a scan of the whole keyspace blocks Redis
     * for every other client while it runs. */
    redisReply *r = store_command(s, "SMEMBERS %s:pools", p);
    if (!r) {
        snprintf(err, errlen, "redis not reachable");
        json_decref(queues);
        json_decref(workers);
        return NULL;
    }
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const char *pool = r->element[i]->str;
        long long len = int_reply(store_command(s, "XLEN %s:q:%s", p, pool));
        long long pending = 0;
        redisReply *x = store_command(s, "XPENDING %s:q:%s %s", p, pool, QUEUE_GROUP);
        if (x && x->type == REDIS_REPLY_ARRAY && x->elements >= 1 &&
            x->element[0]->type == REDIS_REPLY_INTEGER)
            pending = x->element[0]->integer;
        if (x) freeReplyObject(x);
        if (len < 0) len = 0; /* registered, not created yet */
        json_object_set_new(queues, pool,
                            json_pack("{s:I, s:I, s:I}", "length", (json_int_t)len, "in_flight",
                                      (json_int_t)pending, "waiting",
                                      (json_int_t)(len - pending)));
    }
    freeReplyObject(r);
    r = store_command(s, "HGETALL %s:workers", p);
    int64_t now = now_ms();
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2)
        json_object_set_new(workers, r->element[i]->str,
                            json_pack("{s:I}", "last_seen_ms_ago",
                                      (json_int_t)(now - atoll(r->element[i + 1]->str))));
    if (r) freeReplyObject(r);
    long long incidents = int_reply(store_command(s, "ZCARD %s:incidents", p));
    long long open = int_reply(store_command(s, "HLEN %s:group", p));
    long long outbox = int_reply(store_command(s, "XLEN %s:outbox", p));
    long long delayed = int_reply(store_command(s, "ZCARD %s:delayed", p));
    long long dead = int_reply(store_command(s, "ZCARD %s:dead", p));
    long long manual = int_reply(store_command(s, "SCARD %s:manual", p));
    long long finished = int_reply(store_command(s, "ZCARD %s:finished", p));
    long long timers = int_reply(store_command(s, "ZCARD %s:timers", p));
    redisReply *x = store_command(s, "HGET %s:gc:stats expired", p);
    long long expired = x && x->type == REDIS_REPLY_STRING ? atoll(x->str) : 0;
    if (x) freeReplyObject(x);
    return json_pack("{s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "queues", queues,
                     "workers", workers, "incidents", (json_int_t)incidents, "open_incidents",
                     (json_int_t)open, "outbox", (json_int_t)outbox, "delayed",
                     (json_int_t)delayed, "dead", (json_int_t)dead, "manual_waiting",
                     (json_int_t)manual, "finished_incidents", (json_int_t)finished,
                     "expired_incidents", (json_int_t)expired, "paging_timers", (json_int_t)timers);
}

/* Runs a script whose reply is {outcome, detail}. */
static int two_strings(store *s, store_script script, int argc, const char **argv, char *a,
                       size_t alen, char *b, size_t blen, char *err, size_t errlen) {
    redisReply *r = store_eval(s, script, argc, argv, err, errlen);
    if (!r) return -1;
    int rc = -1;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
        snprintf(a, alen, "%s", r->element[0]->str ? r->element[0]->str : "");
        snprintf(b, blen, "%s", r->element[1]->str ? r->element[1]->str : "");
        rc = 0;
    } else {
        snprintf(err, errlen, "unexpected reply");
    }
    freeReplyObject(r);
    return rc;
}

/* ack.lua and resolve.lua: a person acts on an incident, now. */
static int person_acts(store *s, store_script script, const char *id, const char *by,
                       const char *via, char *outcome, size_t olen, char *who, size_t blen,
                       char *err, size_t errlen) {
    char ms[24], rfc[40], evbase[48];
    queue_now_args(ms, sizeof(ms), rfc, sizeof(rfc), evbase, sizeof(evbase));
    const char *argv[] = {id, by, via, ms, rfc, evbase};
    return two_strings(s, script, 6, argv, outcome, olen, who, blen, err, errlen);
}

int incident_ack(store *s, const char *id, const char *by, const char *via, char *outcome,
                 size_t olen, char *first_by, size_t blen, char *err, size_t errlen) {
    return person_acts(s, SCRIPT_ACK, id, by, via, outcome, olen, first_by, blen, err, errlen);
}

int incident_resolve(store *s, const char *id, const char *by, const char *via, char *outcome,
                     size_t olen, char *resolved_by, size_t blen, char *err, size_t errlen) {
    return person_acts(s, SCRIPT_RESOLVE, id, by, via, outcome, olen, resolved_by, blen, err,
                       errlen);
}

void incident_code(const char *id, char out[INCIDENT_CODE_LEN + 1]) {
    static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    unsigned char d[SIG_SHA256_LEN];
    if (sig_sha256(id, strlen(id), d) < 0) memset(d, 0, sizeof(d));
    uint32_t bits = (uint32_t)d[0] << 16 | (uint32_t)d[1] << 8 | d[2];
    for (int i = 0; i < INCIDENT_CODE_LEN; i++) out[i] = crockford[(bits >> (19 - 5 * i)) & 31];
    out[INCIDENT_CODE_LEN] = '\0';
}

int incident_step_done(store *s, const char *id, const char *step, const char *by,
                       const char *note, char *outcome, size_t olen, char *state, size_t slen,
                       char *err, size_t errlen) {
    char ms[24], rfc[40], evbase[48];
    queue_now_args(ms, sizeof(ms), rfc, sizeof(rfc), evbase, sizeof(evbase));
    const char *argv[] = {id, step, by, note ? note : "", ms, rfc, evbase};
    return two_strings(s, SCRIPT_DONE, 7, argv, outcome, olen, state, slen, err, errlen);
}
