/* worker.c - the worker's loop: lease tasks, run actions, complete, relay */
#include "worker/worker.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/random.h>

#include "common/action_spec.h"
#include "common/backoff.h"
#include "common/context.h"
#include "common/condition.h"
#include "common/kafka.h"
#include "common/log.h"
#include "state/paging.h"
#include "state/retention.h"
#include "common/secret.h"
#include "common/template.h"
#include "common/util.h"

#define HEARTBEAT_MS 2000
#define MAX_WAITFDS 1024
#define LEASE_BATCH 256

static const action_impl *const actions[] = {
    &action_webhook, &action_exec,      &action_noop,   &action_http_check, &action_tcp_check,
    &action_jira,    &action_servicenow, &action_github, &action_slack,      &action_teams,
    &action_twilio,  &action_twilio_call, &action_email,  &action_pagerduty,
    &action_page,
};

static void def_cache_free(struct def_cache *c);

/* The turn Redis is running: the finished tasks it completes. */
struct pending_turn {
    turn_call *call;
    task *dt[LEASE_BATCH];
    turn_done done[LEASE_BATCH];
    size_t nd;
};


static const action_impl *find_action(const char *name) {
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
        if (name && strcmp(actions[i]->name, name) == 0) return actions[i];
    return NULL;
}

void task_finish(task *t, int succeeded, json_t *output, const char *error) {
    t->done = true;
    t->res.succeeded = succeeded;
    json_decref(t->res.output);
    t->res.output = output;
    snprintf(t->error, sizeof(t->error), "%s", error ? error : "");
    t->res.error = t->error;
    /* What the action reports goes to Redis, events and logs: no secret. */
    secret_scrub_json(&t->secrets, t->res.output);
    secret_scrub_str(&t->secrets, t->error, sizeof(t->error));
}

/* The incident's memo hash: what an action remembers for the later steps
 * of the same incident (a ticket key, a chat thread). */
int task_memo_get(worker *w, const task *t, const char *name, char *buf, size_t len) {
    if (!w->store) return -1;
    redisReply *r = store_command(w->store, "HGET %s:{%s}:memo %s", store_prefix(w->store),
                                  t->li.incident, name);
    int rc = !r ? -1 : r->type == REDIS_REPLY_STRING ? 1 : r->type == REDIS_REPLY_NIL ? 0 : -1;
    if (rc == 1) snprintf(buf, len, "%s", r->str);
    if (r) freeReplyObject(r);
    return rc;
}

int task_memo_set(worker *w, const task *t, const char *name, const char *value) {
    if (!w->store) return -1;
    redisReply *r = store_command(w->store, "HSET %s:{%s}:memo %s %s", store_prefix(w->store),
                                  t->li.incident, name, value);
    int rc = r && r->type == REDIS_REPLY_INTEGER ? 0 : -1;
    if (r) freeReplyObject(r);
    return rc;
}

static char **split_pools(const char *text, size_t *n) {
    char *copy = strdup(text), *save = NULL;
    char **out = NULL;
    *n = 0;
    for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        char **o = realloc(out, (*n + 1) * sizeof(*o));
        if (!o) break;
        out = o;
        out[(*n)++] = strdup(tok);
    }
    free(copy);
    return out;
}

worker *worker_new(config *cfg, volatile sig_atomic_t *stop, char *err, size_t errlen) {
    worker *w = calloc(1, sizeof(*w));
    char host[64] = "worker";
    if (!w) return NULL;
    w->cfg = cfg;
    w->stop = stop;
    gethostname(host, sizeof(host) - 1);
    if (*cfg->worker_id)
        snprintf(w->consumer, sizeof(w->consumer), "%s", cfg->worker_id);
    else
        snprintf(w->consumer, sizeof(w->consumer), "%s-%d", host, (int)getpid());
    w->pools = split_pools(cfg->worker_pools, &w->npools);
    if (w->npools == 0) {
        snprintf(err, errlen, "worker.pools names no pool");
        goto fail;
    }
    if (!(w->multi = curl_multi_init())) {
        snprintf(err, errlen, "curl_multi_init failed");
        goto fail;
    }
    if (!(w->producer = kafka_producer_new(cfg, relay_dr, w, err, errlen))) goto fail;
    if (observe_start(&w->obs, cfg, err, errlen) < 0) goto fail;
    static const char *const action_outcome[] = {"action", "outcome", NULL};
    static const char *const action_code[] = {"action", "code", NULL};
    static const char *const action_only[] = {"action", NULL};
    metrics *m = w->obs.m;
    w->m_tasks = metrics_counter(m, "muster_worker_tasks_total",
                                 "Task attempts finished, by action and outcome", action_outcome);
    w->m_http = metrics_counter(m, "muster_worker_http_responses_total",
                                "HTTP responses to steps, by action and status code", action_code);
    w->m_duration = metrics_histogram(m, "muster_worker_task_duration_seconds",
                                      "Time one attempt took, by action", action_only, NULL, 0);
    w->m_inflight = metrics_gauge(m, "muster_worker_tasks_in_flight", "Tasks running now", NULL);
    w->m_reclaimed = metrics_counter(m, "muster_worker_lease_reclaims_total",
                                     "Tasks taken over from a worker whose lease lapsed", NULL);
    w->m_handed_back = metrics_counter(m, "muster_worker_handed_back_total",
                                       "Tasks given back unfinished at shutdown", NULL);
    w->m_fenced = metrics_counter(m, "muster_worker_results_fenced_total",
                                  "Results refused because the lease had been taken over", NULL);
    w->m_events = metrics_counter(m, "muster_worker_events_published_total",
                                  "Events the relay delivered to Kafka", NULL);
    w->m_gc_expired = metrics_counter(m, "muster_worker_incidents_expired_total",
                                      "Finished incidents this worker deleted after retention",
                                      NULL);
    w->m_gc_bytes = metrics_counter(m, "muster_worker_expired_bytes_total",
                                    "Redis memory the expired incidents took (MEMORY USAGE)", NULL);
    w->m_gc_slices = metrics_counter(m, "muster_worker_retention_slices_total",
                                     "Expiry calls this worker made as the retention leader", NULL);
    return w;
fail:
    worker_free(w);
    return NULL;
}

void worker_free(worker *w) {
    if (!w) return;
    if (w->producer) {
        rd_kafka_flush(w->producer, 5000);
        rd_kafka_destroy(w->producer);
    }
    if (w->multi) curl_multi_cleanup(w->multi);
    for (size_t i = 0; i < w->npools; i++) free(w->pools[i]);
    free(w->pools);
    for (size_t i = 0; i < w->nacked; i++) free(w->acked[i]);
    free(w->acked);
    def_cache_free(w->defs);
    /* A turn never read (the loop did not run to its end) goes with the
     * connection; what it leased is taken over once its lease lapses. */
    if (w->pt) queue_turn_drop(w->pt->call);
    free(w->pt);
    store_close(w->store);
    store_close(w->tstore);
    observe_stop(&w->obs);
    free(w);
}

void task_free(worker *w, task *t) {
    if (t->state && t->impl && t->impl->abort) t->impl->abort(w, t);
    task_run_clear(&t->run);
    secret_set_clear(&t->secrets);
    json_decref(t->with);
    json_decref(t->res.output);
    free(t->res.page_plan);
    free(t);
}

/* URL parameters again, with what templates put into a path or a query
 * percent-encoded (template_render_url), so alert data stays one component
 * of the URL. Returns 0, or -1 with err filled. */
static int render_urls(task *t, char *err, size_t errlen) {
    const action_spec *spec =
        action_spec_find(json_string_value(json_object_get(t->run.def, "action")));
    const json_t *with = json_object_get(t->run.def, "with");
    for (const param_spec *ps = spec ? spec->params : NULL; ps && ps->name; ps++) {
        const char *tmpl = json_string_value(json_object_get(with, ps->name));
        if (ps->type != P_URL || !tmpl || !strstr(tmpl, "{{")) continue;
        char *url = template_render_url(tmpl, t->run.ctx, TEMPLATE_MAX_OUTPUT, err, errlen);
        if (!url || json_object_set_new(t->with, ps->name, json_string(url)) < 0) {
            free(url);
            return -1;
        }
        free(url);
    }
    return 0;
}

/* Whether a template of the step's with: names oncall.* (the on-call
 * context costs a Redis round trip per schedule; only those steps pay). */
static bool with_names_oncall(const json_t *with) {
    char *text = json_dumps(with, JSON_COMPACT | JSON_ENCODE_ANY);
    bool yes = text && strstr(text, "oncall.") && strstr(text, "{{");
    free(text);
    return yes;
}

/* Whether every if: condition of the step holds; if not, says which. */
static bool conditions_hold(const task *t, char *why, size_t len) {
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(t->run.def, "if"), i, c) {
        condition *parsed = NULL;
        char err[300];
        const char *text = json_string_value(c);
        bool ok = text && condition_parse(text, &parsed, err, sizeof(err)) == 0 &&
                  condition_eval(parsed, t->run.ctx);
        condition_free(parsed);
        if (!ok) {
            snprintf(why, len, "condition false: %s", text ? text : "?");
            return false;
        }
    }
    return true;
}

/* ---- step definitions, by SHA-256 (P:defs): read once per worker ---- */

#define DEF_BUCKETS 256

typedef struct def_entry {
    char sha[72];
    json_t *def;
    struct def_entry *next;
} def_entry;

struct def_cache {
    def_entry *b[DEF_BUCKETS];
};

static unsigned def_bucket(const char *sha) {
    unsigned h = 2166136261u;
    for (const char *p = sha; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
    return h % DEF_BUCKETS;
}

static void def_cache_free(struct def_cache *c) {
    if (!c) return;
    for (size_t i = 0; i < DEF_BUCKETS; i++)
        for (def_entry *e = c->b[i], *n; e; e = n) {
            n = e->next;
            json_decref(e->def);
            free(e);
        }
    free(c);
}

/* The task's definition: inline, or shared from the cache (a definition
 * is immutable: its name is its hash; nothing changes a run's def). */
static json_t *def_of(worker *w, const task_facts *f, char *err, size_t errlen) {
    if (f->def_text || !*f->defsha) {
        json_t *d = json_loads(f->def_text ? f->def_text : "", 0, NULL);
        if (!d) snprintf(err, errlen, "the task's definition is not JSON");
        return d;
    }
    if (!w->defs && !(w->defs = calloc(1, sizeof(*w->defs)))) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    unsigned h = def_bucket(f->defsha);
    for (def_entry *e = w->defs->b[h]; e; e = e->next)
        if (strcmp(e->sha, f->defsha) == 0) return json_incref(e->def);
    json_t *d = queue_def(w->store, f->defsha, err, errlen);
    def_entry *e = d ? calloc(1, sizeof(*e)) : NULL;
    if (!e) return d;
    snprintf(e->sha, sizeof(e->sha), "%s", f->defsha);
    e->def = json_incref(d);
    e->next = w->defs->b[h];
    w->defs->b[h] = e;
    return d;
}

/* Begins the tasks a turn started. */
static void start_facts(worker *w, task_facts *facts, size_t n) {
    char err[512];
    for (size_t i = 0; i < n; i++) {
        task_facts *f = &facts[i];
        task *t = calloc(1, sizeof(*t));
        if (!t) {
            /* Leased and running: taken over once its lease lapses. */
            task_facts_clear(f);
            continue;
        }
        t->li = f->li;
        t->run.attempt = f->attempt;
        t->run.ctx = task_context(t->li.incident, f->workflow, f->fingerprint, f->opened_at,
                                  t->li.step, f->attempt, f->alert_text, f->steps);
        f->steps = NULL; /* taken by the context */
        t->run.def = def_of(w, f, err, sizeof(err));
        t->next = w->tasks;
        w->tasks = t;
        w->inflight++;
        if (!t->run.def || !t->run.ctx) {
            log_ctx lc = {t->li.incident, t->li.msgid, t->li.step};
            mlog(LOG_ERROR, &lc, "cannot run task: %s", t->run.ctx ? err : "out of memory");
            if (!t->run.def) t->run.def = json_object();
            if (!t->run.ctx)
                t->run.ctx = task_context(t->li.incident, f->workflow, "", "", t->li.step,
                                          f->attempt, NULL, NULL);
            t->started_ms = mono_ms();
            task_finish(t, 0, NULL, t->run.ctx ? err : "out of memory");
            /* A definition Redis cannot give now may come back: retried. */
        } else {
            task_begin(w, t);
        }
        task_facts_clear(f);
    }
}

void task_begin(worker *w, task *t) {
    char err[1024];
    log_ctx lc = {t->li.incident, t->li.msgid, t->li.step};
    t->started_ms = mono_ms();
    const char *action = json_string_value(json_object_get(t->run.def, "action"));
    t->impl = find_action(action);
    t->timeout_ms = json_integer_value(json_object_get(t->run.def, "timeout_ms"));
    mlog(LOG_DEBUG, &lc, "started %s (attempt %d)", action ? action : "?", t->run.attempt);
    if (!t->impl) {
        task_finish(t, 0, NULL, "this worker has no such action");
        t->res.permanent = 1;
        return;
    }
    char why[600];
    if (!conditions_hold(t, why, sizeof(why))) {
        task_finish(t, 0, NULL, why);
        t->res.skipped = 1;
        return;
    }
    /* oncall.SCHEDULE.* templates: who is on call as the step starts */
    if (with_names_oncall(json_object_get(t->run.def, "with"))) {
        json_t *oc = page_oncall_context(w);
        if (oc) json_object_set_new(t->run.ctx, "oncall", oc);
    }
    t->with = template_render_json(json_object_get(t->run.def, "with"), t->run.ctx,
                                   TEMPLATE_MAX_OUTPUT, err, sizeof(err));
    if (!t->with || render_urls(t, err, sizeof(err)) < 0) {
        char msg[1100];
        snprintf(msg, sizeof(msg), "template: %s", err);
        task_finish(t, 0, NULL, msg);
        t->res.permanent = 1;
        return;
    }
    /* Secrets enter only here, in memory, after the templates: a value can
     * never be rendered into another parameter, and task_finish() scrubs
     * them from whatever the action reports. Only the references written
     * in the workflow file are resolved; a {secret: x} that a template
     * brought in from an alert or a vendor's reply stays plain data. */
    if (secret_resolve(json_object_get(t->run.def, "with"), t->with, w->cfg->secrets_dirs,
                       &t->secrets, err, sizeof(err)) < 0) {
        task_finish(t, 0, NULL, err);
        t->res.permanent = 1;
        return;
    }
    t->impl->start(w, t);
}

static size_t room(const worker *w) {
    size_t r = (size_t)w->cfg->worker_concurrency - w->inflight;
    return r > LEASE_BATCH ? LEASE_BATCH : r;
}

static int64_t retry_delay(const task *t) {
    uint64_t rnd = 0;
    getrandom(&rnd, sizeof(rnd), 0);
    retry_policy p =
        retry_policy_from_json(json_object_get(t->run.def, "retry"), retry_policy_default());
    return backoff_delay(&p, t->run.attempt, t->res.retry_after_ms,
                         (double)(rnd >> 11) / 9007199254740992.0);
}

/* Counts and logs a completion the turn reported; outcome TURN_*. */
static void completed(worker *w, task *t, int outcome, const char *detail) {
    log_ctx lc = {t->li.incident, t->li.msgid, t->li.step};
    bool fenced = outcome == TURN_FENCED;
    const char *action = json_string_value(json_object_get(t->run.def, "action"));
    const char *labels[] = {action ? action : "?",
                            fenced             ? "fenced"
                            : t->res.skipped   ? "skipped"
                            : t->res.succeeded ? "succeeded"
                                               : "failed",
                            NULL};
    metrics_inc(w->m_tasks, labels, 1);
    metrics_observe(w->m_duration, labels, (double)t->res.duration_ms / 1000.0);
    json_t *status = json_object_get(t->res.output, "status");
    if (json_is_integer(status) && json_integer_value(status) > 0) {
        char code[16];
        snprintf(code, sizeof(code), "%lld", (long long)json_integer_value(status));
        const char *hl[] = {labels[0], code, NULL};
        metrics_inc(w->m_http, hl, 1);
    }
    if (fenced) {
        w->fenced++;
        metrics_inc(w->m_fenced, NULL, 1);
        mlog(LOG_WARN, &lc, "result discarded: lease lost: task is %s", detail);
    } else if (t->res.succeeded) {
        w->completed++;
        mlog(LOG_DEBUG, &lc, "step succeeded in %lld ms", (long long)t->res.duration_ms);
    } else {
        w->failed++;
        mlog(LOG_WARN, &lc, "step %s: %s", outcome == TURN_RETRYING ? "failed, retrying" :
                                           outcome == TURN_DEAD ? "failed for good" : "failed",
             t->error);
    }
}

/* Unlinks and frees the task (it is in w->tasks). */
static void drop_task(worker *w, task *t) {
    for (task **pp = &w->tasks; *pp; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    w->inflight--;
    task_free(w, t);
}

/* A page step's level ends in its timers, not in a result (page.lua). */
static int arm_page(worker *w, task *t) {
    char err[512];
    log_ctx lc = {t->li.incident, t->li.msgid, t->li.step};
    int rc = paging_arm(w->store, w->consumer, &t->li, t->res.page_plan, err, sizeof(err));
    if (rc < 0) {
        mlog(LOG_WARN, &lc, "cannot arm the page yet: %s", err);
        return -1;
    }
    completed(w, t, rc == 1 ? TURN_FENCED : TURN_DONE, rc == 1 ? err : "");
    drop_task(w, t);
    return 0;
}

/* Sends the next turn (turn.lua) on the turns' connection: it completes
 * every finished task not in a turn already, starts `entries` (leased or
 * taken over), and leases what still fits once `coming` more tasks (the
 * last turn's, about to begin) run. The reply is read by turn_recv().
 * Returns 1 when sent, 0 when there was nothing to ask, -1 when Redis
 * failed (the results are kept for the next turn). */
static int turn_send(worker *w, const lease_item *entries, size_t nentries, size_t coming) {
    char err[1024];
    struct pending_turn *pt = w->pt ? w->pt : calloc(1, sizeof(*pt));
    if (!pt) return -1;
    w->pt = pt;
    pt->nd = 0;
    for (task *t = w->tasks, *next; t && pt->nd < LEASE_BATCH; t = next) {
        next = t->next;
        if (!t->done || t->sent) continue;
        t->res.duration_ms = mono_ms() - t->started_ms;
        if (t->res.succeeded && t->res.page_plan) {
            if (arm_page(w, t) < 0) return -1;
            continue;
        }
        pt->dt[pt->nd] = t;
        pt->done[pt->nd++] = (turn_done){
            .li = &t->li,
            .workflow = json_string_value(
                json_object_get(json_object_get(t->run.ctx, "incident"), "workflow")),
            .action = json_string_value(json_object_get(t->run.def, "action")),
            .attempt = t->run.attempt,
            .res = &t->res,
            .delay_ms = t->res.succeeded ? 0 : retry_delay(t),
        };
    }
    size_t cap = (size_t)w->cfg->worker_concurrency, busy = w->inflight + coming + nentries;
    size_t lease_max = !*w->stop && cap + pt->nd > busy ? cap + pt->nd - busy : 0;
    if (lease_max + nentries > LEASE_BATCH)
        lease_max = LEASE_BATCH > nentries ? LEASE_BATCH - nentries : 0;
    if (pt->nd == 0 && nentries == 0 && lease_max == 0) return 0;
    pt->call = queue_turn_send(w->tstore, w->consumer, w->pools, w->npools, lease_max, pt->done,
                               pt->nd, entries, nentries, err, sizeof(err));
    if (!pt->call) {
        mlog(LOG_WARN, NULL, "turn with Redis not sent (%zu result(s) kept): %s", pt->nd, err);
        return -1;
    }
    for (size_t i = 0; i < pt->nd; i++) pt->dt[i]->sent = true;
    w->turns++;
    w->turn_completed += pt->nd;
    return 1;
}

/* Reads the reply of the turn sent: counts and frees the tasks it
 * completed, and fills started with the tasks it started (the caller
 * begins them). Returns 0, or -1 when Redis failed: the results are kept
 * and sent again; what the turn leased is taken over once its lease
 * lapses. */
static int turn_recv(worker *w, task_facts *started, size_t *nstarted) {
    char err[1024];
    struct pending_turn *pt = w->pt;
    *nstarted = 0;
    if (!pt || !pt->call) return 0;
    int rc = queue_turn_recv(w->tstore, pt->call, pt->done, started, LEASE_BATCH, nstarted, err,
                             sizeof(err));
    pt->call = NULL;
    for (size_t i = 0; i < pt->nd; i++) {
        pt->dt[i]->sent = false;
        if (rc == 0) {
            completed(w, pt->dt[i], pt->done[i].outcome, pt->done[i].detail);
            drop_task(w, pt->dt[i]);
        }
    }
    if (rc < 0)
        mlog(LOG_WARN, NULL, "turn with Redis failed (%zu result(s) kept): %s", pt->nd, err);
    pt->nd = 0;
    w->turn_started += *nstarted;
    return rc;
}

/* Whether a finished task waits for a turn to complete it. */
static bool has_results(const worker *w) {
    for (const task *t = w->tasks; t; t = t->next)
        if (t->done && !t->sent) return true;
    return false;
}

/* One exchange with Redis, in order, nothing left out: for the stop and
 * for the entries a takeover found while no turn was out. */
static int turn_now(worker *w, const lease_item *entries, size_t nentries) {
    task_facts started[LEASE_BATCH];
    size_t n = 0;
    int rc = turn_send(w, entries, nentries, 0);
    if (rc <= 0) return rc;
    rc = turn_recv(w, started, &n);
    start_facts(w, started, n);
    return rc;
}

/* The loop's exchange with Redis. The reply of the turn that is out is
 * read, and the next turn goes out at once, before the tasks that reply
 * started are begun, so Redis runs the next turn while the worker begins
 * those. Idle (nothing running, nothing finished, no turn out), it first
 * waits on Redis for work. Returns how many tasks it started, -1 when
 * Redis failed. */
static int turn(worker *w, int block_ms) {
    task_facts started[LEASE_BATCH];
    lease_item blocked[LEASE_BATCH];
    size_t n = 0;
    int rc = 0;
    bool out = w->pt && w->pt->call;
    if (out && turn_recv(w, started, &n) < 0) rc = -1;
    const lease_item *entries = w->claimed;
    size_t nentries = w->nclaimed;
    if (rc == 0 && !out && n == 0 && !*w->stop && w->inflight == 0 && nentries == 0 &&
        block_ms > 0) {
        int got = queue_lease(w->tstore, w->consumer, w->pools, w->npools, room(w), block_ms,
                              blocked);
        if (got < 0) rc = -1;
        entries = blocked;
        nentries = got > 0 ? (size_t)got : 0;
    }
    /* A turn that found nothing to start is not followed by another that
     * only leases: with nothing running, the next call waits on Redis
     * instead; with work running, the loop's wait paces the next look. */
    bool dry = out && n == 0;
    if (rc == 0 && !(dry && nentries == 0 && !has_results(w))) {
        int sent = turn_send(w, entries, nentries, n);
        if (sent < 0) rc = -1;
        if (sent > 0 && entries == w->claimed) w->nclaimed = 0;
    }
    start_facts(w, started, n);
    return rc < 0 ? -1 : (int)n;
}

/* Takes over tasks whose holder's lease lapsed (a dead or stalled worker),
 * moves due retries back to their queues, and renews our own leases. */
static void housekeeping(worker *w) {
    int64_t now = mono_ms(), lease = w->cfg->worker_lease_ms;
    if (now - w->last_promote >= 100) {
        w->last_promote = now;
        queue_promote(w->store, 1000);
        paging_fire(w->store, 1000);
    }
    if (now - w->last_extend >= lease / 3) {
        w->last_extend = now;
        for (task *t = w->tasks; t; t = t->next) {
            if (t->done) continue;
            if (queue_extend(w->store, w->consumer, &t->li) == 0) {
                log_ctx lc = {t->li.incident, t->li.msgid, t->li.step};
                mlog(LOG_WARN, &lc, "lease taken over by another worker; result will be discarded");
            }
        }
    }
    size_t want = room(w) > w->nclaimed ? room(w) - w->nclaimed : 0;
    if (!*w->stop && want > 0 && now - w->last_reclaim >= (lease / 4 > 50 ? lease / 4 : 50)) {
        lease_item items[LEASE_BATCH];
        w->last_reclaim = now;
        int n = queue_reclaim(w->store, w->consumer, w->pools, w->npools, want, lease, items);
        if (n > 0) {
            w->reclaimed += (uint64_t)n;
            metrics_inc(w->m_reclaimed, NULL, n);
            mlog(LOG_WARN, NULL, "reclaimed %d task(s) whose lease lapsed", n);
            /* Started by the next turn. */
            for (int i = 0; i < n && w->nclaimed < LEASE_BATCH; i++) w->claimed[w->nclaimed++] = items[i];
        }
    }
}

/* Retention: at retention.interval, and at once again while incidents are
 * due, one bounded slice (gc.lua) under the gc lease, so that one worker
 * expires at a time; the lease is given up when nothing more is due. */
static void retention_tick(worker *w) {
    char err[512];
    int64_t now = mono_ms();
    if (!w->gc_backlog && now - w->last_gc < w->cfg->retention_interval_ms) return;
    w->last_gc = now;
    retention_policy p = retention_policy_of(w->cfg);
    retention_slice sl;
    w->gc_backlog = false;
    if (retention_run(w->store, &p, w->consumer, &sl, err, sizeof(err)) < 0) {
        mlog(LOG_WARN, NULL, "retention: %s", err);
        return;
    }
    if (sl.busy) return;
    metrics_inc(w->m_gc_slices, NULL, 1);
    metrics_inc(w->m_gc_expired, NULL, (double)sl.expired);
    metrics_inc(w->m_gc_bytes, NULL, (double)sl.bytes);
    if (sl.expired)
        mlog(LOG_INFO, NULL, "retention: expired %lld incident(s), %lld bytes", sl.expired,
             sl.bytes);
    w->gc_backlog = sl.more;
    if (!sl.more) retention_release(w->store, w->consumer);
}

/* Stop: what did not finish within the grace period goes back to its queue
 * now, so another worker starts it without waiting for the lease to lapse. */
static void hand_back_all(worker *w) {
    while (w->tasks) {
        task *t = w->tasks;
        w->tasks = t->next;
        log_ctx lc = {t->li.incident, t->li.msgid, t->li.step};
        if (!t->done) {
            if (t->impl && t->impl->abort && t->state) t->impl->abort(w, t);
            if (queue_handback(w->store, w->consumer, &t->li) == 1) {
                w->handed_back++;
                metrics_inc(w->m_handed_back, NULL, 1);
                mlog(LOG_INFO, &lc, "handed back unfinished at shutdown");
            }
        }
        w->inflight--;
        task_free(w, t);
    }
}

/* The stop: the turn that is out is read, what finished is completed,
 * and what is still running goes back to its queue. */
static void give_back(worker *w) {
    task_facts started[LEASE_BATCH];
    size_t n = 0;
    turn_recv(w, started, &n);
    start_facts(w, started, n);
    turn_now(w, NULL, 0);
    hand_back_all(w);
}

static void finish_curl(worker *w) {
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(w->multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        task *t = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        if (t && t->impl && t->impl->curl_done) t->impl->curl_done(w, t, m->data.result);
    }
}

static void heartbeat(worker *w) {
    int64_t now = now_ms();
    if (now - w->last_heartbeat < HEARTBEAT_MS) return;
    w->last_heartbeat = now;
    redisReply *r = store_command(w->store, "HSET %s:workers %s %lld", store_prefix(w->store),
                                  w->consumer, (long long)now);
    if (r) freeReplyObject(r);
}

static int connect_store(worker *w) {
    char err[512];
    int64_t delay = 100;
    while (!*w->stop) {
        if ((w->store = store_open(w->cfg, err, sizeof(err))) &&
            (w->tstore = store_open(w->cfg, err, sizeof(err))) &&
            queue_prepare(w->store, w->pools, w->npools) == 0)
            return 0;
        store_close(w->store);
        store_close(w->tstore);
        w->store = w->tstore = NULL;
        mlog(LOG_WARN, NULL, "%s; retrying in %lld ms", err, (long long)delay);
        usleep((useconds_t)delay * 1000);
        if ((delay *= 2) > 5000) delay = 5000;
    }
    return -1;
}

int task_refuse(task *t, const char *fmt, ...) {
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    task_finish(t, 0, NULL, msg);
    t->res.permanent = 1;
    return 1;
}

json_t *task_memo_json(worker *w, const task *t, const char *key, const char *member) {
    char buf[4096];
    if (task_memo_get(w, t, key, buf, sizeof(buf)) != 1) return NULL;
    json_t *m = json_loads(buf, 0, NULL);
    if (!json_is_object(m) || (member && !json_object_get(m, member))) {
        json_decref(m);
        return NULL;
    }
    return m;
}

void task_memo_put(worker *w, const task *t, const char *key, const json_t *v) {
    char *text = json_dumps(v, JSON_COMPACT);
    if ((!text || task_memo_set(w, t, key, text) < 0) && w->store) {
        log_ctx lc = {t->li.incident, t->li.msgid, t->li.step};
        mlog(LOG_WARN, &lc, "%s could not be kept in the incident memo", key);
    }
    free(text);
}

int task_sent_before(worker *w, task *t, const char *what, const char *key) {
    char buf[4096], msg[256];
    int rc = task_memo_get(w, t, key, buf, sizeof(buf));
    if (rc < 0 && w->store) {
        snprintf(msg, sizeof(msg), "%s: the incident memo cannot be read; not sending blind", what);
        task_finish(t, 0, NULL, msg);
        return 1;
    }
    json_t *out = rc == 1 ? json_loads(buf, 0, NULL) : NULL;
    if (!json_is_object(out)) {
        json_decref(out);
        return 0;
    }
    json_object_set_new(out, "deduplicated", json_true());
    task_finish(t, 1, out, NULL);
    return 1;
}

void task_sent_now(worker *w, task *t, const char *key, json_t *out) {
    task_memo_put(w, t, key, out);
    json_object_set_new(out, "deduplicated", json_false());
    task_finish(t, 1, out, NULL);
}

worker *worker_new_local(config *cfg, store *s) {
    worker *w = calloc(1, sizeof(*w));
    if (!w) return NULL;
    w->cfg = cfg;
    w->store = s;
    snprintf(w->consumer, sizeof(w->consumer), "local");
    if (!(w->multi = curl_multi_init())) {
        free(w);
        return NULL;
    }
    return w;
}

/* One turn for the running tasks: waits up to wait_ms on their transfers,
 * sockets and pipes, drives the transfers, hands finished ones to their
 * actions and lets each action look at its own file descriptors. */
static void drive(worker *w, int wait_ms) {
    struct curl_waitfd fds[MAX_WAITFDS];
    int nfds = 0, running = 0;
    for (task *t = w->tasks; t; t = t->next)
        if (!t->done && t->impl && t->impl->waitfds)
            nfds += t->impl->waitfds(t, fds + nfds, MAX_WAITFDS - nfds);
    /* The reply of the turn that is out wakes the loop too. */
    if (w->pt && w->pt->call && store_fd(w->tstore) >= 0 && nfds < MAX_WAITFDS)
        fds[nfds++] = (struct curl_waitfd){.fd = store_fd(w->tstore), .events = CURL_WAIT_POLLIN};
    if (w->inflight > 0) curl_multi_poll(w->multi, fds, (unsigned)nfds, wait_ms, NULL);
    curl_multi_perform(w->multi, &running);
    finish_curl(w);
    for (task *t = w->tasks; t; t = t->next)
        if (!t->done && t->impl && t->impl->service) t->impl->service(w, t);
}

int worker_run_one(worker *w, task *t, int64_t max_ms) {
    int64_t until = mono_ms() + max_ms;
    t->next = NULL;
    w->tasks = t; /* a local worker runs this task alone */
    w->inflight = 1;
    task_begin(w, t);
    while (!t->done && mono_ms() < until) drive(w, 20);
    w->tasks = NULL;
    w->inflight = 0;
    t->res.duration_ms = mono_ms() - t->started_ms;
    if (t->done) return 0;
    if (t->impl && t->impl->abort && t->state) t->impl->abort(w, t);
    return -1;
}

int worker_run(worker *w) {
    if (connect_store(w) < 0) return 0;
    mlog(LOG_INFO, NULL, "worker %s leasing from %zu pool(s), concurrency %lld", w->consumer,
         w->npools, (long long)w->cfg->worker_concurrency);
    int64_t stop_at = 0;
    while (!*w->stop || w->inflight > 0) {
        int leased = 0;
        if (*w->stop && !stop_at) {
            stop_at = mono_ms();
            mlog(LOG_INFO, NULL, "stopping: %zu task(s) in flight, grace %lld ms", w->inflight,
                 (long long)w->cfg->worker_grace_ms);
        }
        if (stop_at && mono_ms() - stop_at >= w->cfg->worker_grace_ms) {
            give_back(w);
            break;
        }
        /* Completes what finished and leases what fits, one turn in Redis
         * while the last one's tasks begin; idle, it waits on Redis. */
        leased = turn(w, !*w->stop && w->inflight == 0 ? (int)w->cfg->worker_poll_ms : 0);
        if (leased < 0) usleep(200 * 1000);
        relay(w);
        heartbeat(w);
        housekeeping(w);
        if (!*w->stop) retention_tick(w);
        atomic_store(&w->obs.redis, store_connected(w->store));
        metrics_set(w->m_inflight, NULL, (double)w->inflight);
        /* Wait for sockets and pipes only when nothing is ready to
         * complete and the last lease did not fill every free slot: the
         * profile showed a fixed 20 ms per turn otherwise. */
        bool ready = leased > 0 && room(w) == 0;
        for (task *t = w->tasks; t && !ready; t = t->next) ready = t->done;
        drive(w, ready ? 0 : 20);
    }
    /* A turn still out (it started what a takeover brought): what it
     * started goes back at once. */
    if (w->pt && w->pt->call) give_back(w);
    /* Deliver what is still in flight before leaving. */
    relay_flush(w);
    mlog(LOG_INFO, NULL,
         "worker %s stopped: %llu succeeded, %llu failed, %llu reclaimed, %llu handed back, "
         "%llu events published; %llu turns with Redis, starting %.1f and completing %.1f "
         "tasks each",
         w->consumer, (unsigned long long)w->completed, (unsigned long long)w->failed,
         (unsigned long long)w->reclaimed, (unsigned long long)w->handed_back,
         (unsigned long long)w->events_published, (unsigned long long)w->turns,
         w->turns ? (double)w->turn_started / (double)w->turns : 0.0,
         w->turns ? (double)w->turn_completed / (double)w->turns : 0.0);
    return 0;
}
