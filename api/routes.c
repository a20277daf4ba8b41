/* routes.c - muster-api's routes: incidents, tasks, status, on-call, KPIs, audit */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "api/filters.h"
#include "state/audit.h"
#include "state/incident.h"
#include "state/oncall_store.h"
#include "state/operator.h"
#include "state/queue.h"
#include "common/util.h"
#include "metrics/kpi.h"
#include "metrics/kpi_day.h"

#define LIST_SCAN_MAX 5000 /* incidents looked at for one page of a filtered list */
#define LIST_BATCH 200
#define DEAD_LIMIT_MAX 1000
#define BULK_MAX 1000
#define AUDIT_LIMIT_MAX 1000

static const char *reply_str(const redisReply *r) {
    return r && r->type == REDIS_REPLY_STRING ? r->str : NULL;
}

static json_t *int_or_null(const char *v) {
    return v && *v ? json_integer(atoll(v)) : json_null();
}

/* Redis went away during the call: 503 (the client may try again). */
static void unavailable(api_call *k, const char *err) {
    api_fail(k, 503, NULL, "%s", err && *err ? err : "redis not reachable");
}

/* The first service-like label of an alert, as muster-metrics takes it. */
static const char *alert_service(const json_t *a) {
    static const char *const names[] = {"service", "app", "job"};
    const json_t *labels = json_object_get(a, "labels");
    for (size_t i = 0; i < 3; i++) {
        const char *v = json_string_value(json_object_get(labels, names[i]));
        if (v && *v) return v;
    }
    return NULL;
}

/* One incident as the list shows it, or NULL when it is gone (expired
 * between the index and its record) or Redis failed (*down set). */
static json_t *incident_summary(store *s, const char *id, int *down) {
    redisReply *h = store_command(s, "HMGET %s:{%s}:inc workflow status run opened_at alert "
                                     "acknowledged_by acknowledged_at resolved_at fingerprint alerts",
                                  store_prefix(s), id);
    *down = !h;
    if (!h || h->type != REDIS_REPLY_ARRAY || h->elements != 10 || !reply_str(h->element[1])) {
        if (h) freeReplyObject(h);
        return NULL;
    }
    redisReply **e = h->element;
    json_t *al = reply_str(e[4]) ? json_loads(e[4]->str, 0, NULL) : NULL;
    json_t *o = json_pack("{s:s, s:s?, s:s?, s:s?, s:o, s:s?, s:s?, s:s?, s:s?, s:o, s:o, s:o, s:s?, s:o}",
                          "id", id, "workflow", reply_str(e[0]), "status", reply_str(e[1]), "run",
                          reply_str(e[2]), "opened_at", int_or_null(reply_str(e[3])), "summary",
                          json_string_value(json_object_get(al, "summary")), "severity",
                          json_string_value(json_object_get(al, "severity")), "service",
                          alert_service(al), "acknowledged_by", reply_str(e[5]),
                          "acknowledged_at", int_or_null(reply_str(e[6])), "resolved_at",
                          int_or_null(reply_str(e[7])), "alerts", int_or_null(reply_str(e[9])),
                          "fingerprint", reply_str(e[8]), "ticket", json_null());
    json_decref(al);
    freeReplyObject(h);
    /* The ticket a ticketing step opened, from the incident's memo. */
    redisReply *m = store_command(s, "HGET %s:{%s}:memo jira", store_prefix(s), id);
    if (o && reply_str(m)) {
        json_t *t = json_loads(m->str, 0, NULL);
        json_object_set_new(o, "ticket", t ? t : json_string(m->str));
    }
    if (m) freeReplyObject(m);
    return o;
}

static const char *lookup(void *arg, const char *key) { return api_query(arg, key); }

void route_incidents(api_call *k) {
    incident_filter f;
    char err[512], max[32], min[32], cursor[160] = "";
    if (filter_parse(&f, lookup, k, now_ms(), err, sizeof(err)) < 0) {
        char field[16] = "";
        sscanf(err, "%15[a-z]", field);
        api_fail(k, 400, field, "%s", err);
        return;
    }
    if (f.has_cursor) snprintf(max, sizeof(max), "%lld", (long long)f.cursor_ms);
    else if (f.until_ms) snprintf(max, sizeof(max), "(%lld", (long long)f.until_ms);
    else snprintf(max, sizeof(max), "+inf");
    if (f.since_ms) snprintf(min, sizeof(min), "%lld", (long long)f.since_ms);
    else snprintf(min, sizeof(min), "-inf");

    json_t *list = json_array();
    size_t scanned = 0, offset = 0;
    int more = 0, exhausted = 0;
    int64_t last_ms = 0;
    char last_id[96] = "";
    while (!more && !exhausted && scanned < LIST_SCAN_MAX) {
        redisReply *r = store_command(k->s, "ZREVRANGEBYSCORE %s:incidents %s %s WITHSCORES LIMIT %lld %d",
                                      store_prefix(k->s), max, min, (long long)offset, LIST_BATCH);
        if (!r || r->type != REDIS_REPLY_ARRAY) {
            if (r) freeReplyObject(r);
            json_decref(list);
            unavailable(k, NULL);
            return;
        }
        exhausted = r->elements < 2 * LIST_BATCH;
        offset += r->elements / 2;
        for (size_t i = 0; i + 1 < r->elements && scanned < LIST_SCAN_MAX; i += 2) {
            const char *id = r->element[i]->str;
            int64_t ms = atoll(r->element[i + 1]->str);
            if (!id) continue;
            /* Same open time as the cursor: members come in reverse order. */
            if (f.has_cursor && ms == f.cursor_ms && strcmp(id, f.cursor_id) >= 0) continue;
            scanned++;
            int down = 0;
            json_t *o = incident_summary(k->s, id, &down);
            if (down) {
                freeReplyObject(r);
                json_decref(list);
                unavailable(k, NULL);
                return;
            }
            if (o && filter_match(&f, o)) {
                if (json_array_size(list) == f.limit) {
                    more = 1;
                    json_decref(o);
                    break;
                }
                json_array_append_new(list, o);
                last_ms = ms;
                snprintf(last_id, sizeof(last_id), "%s", id);
            } else {
                json_decref(o);
            }
            if (!more && scanned == LIST_SCAN_MAX) {
                /* Looked at enough for one page: say where to go on. */
                more = 1;
                last_ms = ms;
                snprintf(last_id, sizeof(last_id), "%s", id);
            }
        }
        freeReplyObject(r);
    }
    if (more && last_id[0]) filter_cursor(last_ms, last_id, cursor, sizeof(cursor));
    k->answer = json_pack("{s:o, s:o, s:I}", "incidents", list, "next_cursor",
                          cursor[0] ? json_string(cursor) : json_null(), "scanned",
                          (json_int_t)scanned);
}

static int numeric_field(const char *key) {
    static const char *const keys[] = {"attempts", "started_at", "finished_at", "unmet",
                                       "queued_at", "opened_at", "acknowledged_at",
                                       "resolved_at", "run_started_at", "run_finished_at",
                                       "alerts", "alerts_joined", "alerts_resolved",
                                       "steps_total", "duration_ms", "max_attempts"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (!strcmp(key, keys[i])) return 1;
    return 0;
}

/* The record's numbers as numbers (Redis keeps them as text). */
static void numbers(json_t *o) {
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        const char *t = json_string_value(v);
        if (t && *t && numeric_field(key) && strspn(t, "0123456789-") == strlen(t))
            json_object_set_new(o, key, json_integer(atoll(t)));
    }
}

void route_incident(api_call *k) {
    char err[512];
    json_t *doc = incident_show(k->s, k->id, err, sizeof(err));
    if (!doc) {
        if (!store_connected(k->s)) unavailable(k, err);
        else api_fail(k, 404, NULL, "no incident \"%s\"", k->id);
        return;
    }
    json_t *inc = json_object_get(doc, "incident"), *tasks = json_object_get(doc, "tasks");
    json_t *timeline = json_object_get(doc, "timeline");
    json_t *alerts = json_array(), *steps = json_array(), *ev, *name;
    size_t i;
    if (json_object_get(inc, "alert")) json_array_append(alerts, json_object_get(inc, "alert"));
    json_array_foreach(timeline, i, ev) {
        const char *type = json_string_value(json_object_get(ev, "type"));
        if (type && !strcmp(type, "incident.alert_joined"))
            json_array_append(alerts, json_object_get(ev, "data"));
    }
    json_array_foreach(json_object_get(inc, "steps"), i, name) {
        const char *id = json_string_value(name);
        json_t *t = json_object_get(tasks, id ? id : "");
        json_t *step = t ? json_deep_copy(t) : json_object();
        json_object_set_new(step, "id", json_string(id ? id : ""));
        numbers(step);
        json_t *a = json_object_get(step, "started_at"), *b = json_object_get(step, "finished_at");
        if (json_is_integer(a) && json_is_integer(b))
            json_object_set_new(step, "duration_ms",
                                json_integer(json_integer_value(b) - json_integer_value(a)));
        json_array_append_new(steps, step);
    }
    json_t *record = json_deep_copy(inc);
    json_object_del(record, "alert");
    json_object_del(record, "steps");
    numbers(record);
    json_t *acked = json_null();
    if (json_object_get(record, "acknowledged_by"))
        acked = json_pack("{s:O, s:O, s:O}", "by", json_object_get(record, "acknowledged_by"),
                          "via", json_object_get(record, "acknowledged_via")
                                     ? json_object_get(record, "acknowledged_via") : json_null(),
                          "at", json_object_get(record, "acknowledged_at")
                                    ? json_object_get(record, "acknowledged_at") : json_null());
    k->answer = json_pack("{s:o, s:o, s:o, s:O, s:o}", "incident", record, "alerts", alerts,
                          "steps", steps, "timeline", timeline, "acknowledged", acked);
    json_decref(doc);
}

/* A person acts on the incident as the token's holder: acknowledges
 * (the answer names who was first) or resolves. A "by" in the body is not
 * believed. */
static void person_acts(api_call *k, int resolve) {
    char outcome[32], by[128] = "", err[512];
    operator_ctx o;
    json_t *body = api_body_object(k);
    if (!body) return;
    json_decref(body);
    api_operator(k, &o);
    int rc = resolve ? operator_resolve(k->s, &o, k->id, outcome, sizeof(outcome), by, sizeof(by),
                                        err, sizeof(err))
                     : operator_ack(k->s, &o, k->id, outcome, sizeof(outcome), by, sizeof(by),
                                    err, sizeof(err));
    if (rc < 0) {
        unavailable(k, err);
        return;
    }
    if (!strcmp(outcome, "missing")) {
        api_fail(k, 404, NULL, "no incident \"%s\"", k->id);
        return;
    }
    k->answer = json_pack("{s:s, s:s, s:o}", "incident", k->id, "outcome", outcome,
                          resolve ? "resolved_by" : "acknowledged_by",
                          *by || !resolve ? json_string(by) : json_null());
}

void route_ack(api_call *k) { person_acts(k, 0); }

void route_resolve(api_call *k) { person_acts(k, 1); }

void route_note(api_call *k) {
    char outcome[32], err[512];
    operator_ctx o;
    json_t *body = api_body_object(k);
    if (!body) return;
    const char *text = json_string_value(json_object_get(body, "text"));
    if (!text || !*text || strlen(text) > AUDIT_NOTE_MAX) {
        api_fail(k, 400, "text", "text: a note needs 1 to %d bytes of text", AUDIT_NOTE_MAX);
        json_decref(body);
        return;
    }
    api_operator(k, &o);
    int rc = operator_note(k->s, &o, k->id, text, outcome, sizeof(outcome), err, sizeof(err));
    json_decref(body);
    if (rc < 0) {
        unavailable(k, err);
        return;
    }
    if (!strcmp(outcome, "missing")) {
        api_fail(k, 404, NULL, "no incident \"%s\"", k->id);
        return;
    }
    k->status = 201;
    k->answer = json_pack("{s:s, s:s, s:s}", "incident", k->id, "outcome", outcome, "by",
                          k->who->name);
}

/* A non-negative integer parameter, at most max; def when absent. */
static int int_param(api_call *k, const char *name, long def, long max, long *out) {
    const char *v = api_query(k, name);
    *out = def;
    if (!v || !*v) return 0;
    size_t d = strspn(v, "0123456789");
    long n = d && d == strlen(v) && d <= 9 ? strtol(v, NULL, 10) : -1;
    if (n < 1 || n > max) {
        api_fail(k, 400, name, "%s: \"%.16s\" is not 1 to %ld", name, v, max);
        return -1;
    }
    *out = n;
    return 0;
}

void route_dead(api_call *k) {
    long limit;
    if (int_param(k, "limit", 100, DEAD_LIMIT_MAX, &limit) < 0) return;
    json_t *dead = queue_dead_list(k->s, (size_t)limit + 1);
    if (!dead) {
        unavailable(k, NULL);
        return;
    }
    int more = json_array_size(dead) > (size_t)limit;
    if (more) json_array_remove(dead, (size_t)limit);
    k->answer = json_pack("{s:o, s:b}", "tasks", dead, "more", more);
}

/* Replays one task into a result object; the status it deserves alone. */
static json_t *replay_one(api_call *k, const char *task, int force, int dry, unsigned *status,
                          char *err, size_t errlen) {
    char outcome[32], state[32] = "";
    operator_ctx o;
    int bad_ref = 0;
    api_operator(k, &o);
    *status = 200;
    if (operator_replay(k->s, &o, task, force, dry, outcome, sizeof(outcome), state,
                        sizeof(state), &bad_ref, err, errlen) < 0) {
        *status = bad_ref ? 400 : 503;
        return NULL;
    }
    if (!strcmp(outcome, "missing")) *status = 404;
    else if (!strcmp(outcome, "refused")) *status = 409;
    return json_pack("{s:s, s:s, s:o, s:b}", "task", task, "outcome", outcome, "state_before",
                     *state ? json_string(state) : json_null(), "dry_run", dry);
}

/* The optional booleans of a replay's body. */
static int flags(api_call *k, json_t *body, int *dry, int *force) {
    static const char *const names[] = {"dry_run", "force"};
    int *out[] = {dry, force};
    for (int i = 0; i < 2; i++) {
        json_t *v = json_object_get(body, names[i]);
        *out[i] = 0;
        if (!v) continue;
        if (!json_is_boolean(v)) {
            api_fail(k, 400, names[i], "%s: not true or false", names[i]);
            return -1;
        }
        *out[i] = json_is_true(v);
    }
    return 0;
}

void route_replay(api_call *k) {
    char err[512];
    int dry, force;
    unsigned status;
    json_t *body = api_body_object(k);
    if (!body) return;
    int ok = flags(k, body, &dry, &force);
    json_decref(body);
    if (ok < 0) return;
    json_t *res = replay_one(k, k->task, force, dry, &status, err, sizeof(err));
    if (!res) {
        if (status == 400) api_fail(k, 400, NULL, "%s", err);
        else unavailable(k, err);
        return;
    }
    if (status == 404) {
        json_decref(res);
        api_fail(k, 404, NULL, "no task \"%s\"", k->task);
        return;
    }
    if (status == 409) {
        const char *state = json_string_value(json_object_get(res, "state_before"));
        api_fail(k, 409, NULL, "%s is %s: only dead tasks (or, with force, finished ones) are "
                 "replayed", k->task, state ? state : "not dead");
        json_decref(res);
        return;
    }
    k->answer = res;
}

void route_replay_bulk(api_call *k) {
    char err[512];
    int dry, force, more = 0;
    json_t *body = api_body_object(k), *sel = NULL;
    if (!body) return;
    if (flags(k, body, &dry, &force) < 0) goto out;
    json_t *tasks = json_object_get(body, "tasks");
    const char *incident = json_string_value(json_object_get(body, "incident"));
    const char *wf = json_string_value(json_object_get(body, "workflow"));
    int all = json_is_true(json_object_get(body, "all"));
    if ((tasks != NULL) + (incident != NULL) + (wf != NULL) + all != 1) {
        api_fail(k, 400, NULL, "name exactly one of tasks (a list of INCIDENT/STEP), incident, "
                 "workflow or all: true");
        goto out;
    }
    if (force && !tasks) {
        api_fail(k, 400, "force", "force: only with a list of tasks");
        goto out;
    }
    if (tasks) {
        size_t i;
        json_t *t;
        if (!json_is_array(tasks) || json_array_size(tasks) == 0 ||
            json_array_size(tasks) > BULK_MAX) {
            api_fail(k, 400, "tasks", "tasks: a list of 1 to %d INCIDENT/STEP", BULK_MAX);
            goto out;
        }
        json_array_foreach(tasks, i, t) if (!json_is_string(t)) {
            api_fail(k, 400, "tasks", "tasks[%zu]: not a string", i);
            goto out;
        }
        sel = json_incref(tasks);
    } else {
        json_t *dead = operator_replay_select(k->s, incident, wf, BULK_MAX, &more), *d;
        size_t i;
        if (!dead) {
            unavailable(k, NULL);
            goto out;
        }
        sel = json_array();
        json_array_foreach(dead, i, d) json_array_append(sel, json_object_get(d, "task"));
        json_decref(dead);
    }
    json_t *results = json_array(), *t;
    size_t i, done = 0, failed = 0;
    json_array_foreach(sel, i, t) {
        unsigned status;
        const char *task = json_string_value(t);
        json_t *res = replay_one(k, task, force, dry, &status, err, sizeof(err));
        if (status == 503) {
            json_decref(results);
            unavailable(k, err);
            goto out;
        }
        if (!res) res = json_pack("{s:s, s:s, s:n, s:b}", "task", task, "outcome", "invalid",
                                  "state_before", "dry_run", dry);
        if (status == 200) done++;
        else failed++;
        json_array_append_new(results, res);
    }
    k->answer = json_pack("{s:b, s:o, s:I, s:I, s:b}", "dry_run", dry, "results", results,
                          dry ? "would_replay" : "replayed", (json_int_t)done, "failed",
                          (json_int_t)failed, "more", more);
out:
    json_decref(sel);
    json_decref(body);
}

void route_status(api_call *k) {
    char err[512];
    json_t *st = store_status(k->s, err, sizeof(err));
    if (!st) {
        unavailable(k, err);
        return;
    }
    k->answer = st;
}

void route_oncall(api_call *k) {
    char err[512], at[40];
    oncall_cache cache = {0};
    time_t now = time(NULL);
    format_rfc3339((int64_t)now * 1000, at, sizeof(at));
    json_t *list = json_array();
    const oncall_set *set = oncall_fetch(k->s, &cache, err, sizeof(err));
    if (!set && !store_connected(k->s)) {
        json_decref(list);
        unavailable(k, err);
        return;
    }
    for (size_t i = 0; set && i < set->nschedules; i++) {
        const schedule *sc = &set->schedules[i];
        const person *p = NULL;
        char e[256];
        if (oncall_now(k->s, set, sc, now, &p, e, sizeof(e)) < 0) {
            oncall_cache_clear(&cache);
            json_decref(list);
            unavailable(k, e);
            return;
        }
        json_array_append_new(list, json_pack("{s:s, s:s?, s:s?, s:s?}", "schedule", sc->id,
                                              "timezone", sc->timezone, "who", p ? p->id : NULL,
                                              "name", p ? p->name : NULL));
    }
    k->answer = json_pack("{s:s, s:o, s:o}", "at", at, "schedules", list, "note",
                          set ? json_null() : json_string(err));
    oncall_cache_clear(&cache);
}

void route_kpi(api_call *k) {
    char err[512];
    int64_t now = now_ms(), since = 0;
    kpi_query q = {now, 30 * KPI_DAY_MS, KPI_BY_NONE};
    const char *v = api_query(k, "since"), *u = api_query(k, "until"), *by = api_query(k, "by");
    if (u && *u && (filter_time(u, now, &q.until_ms) < 0 || q.until_ms <= 0)) {
        api_fail(k, 400, "until", "until: \"%.40s\" is not a duration back from now (1d) or a "
                 "time", u);
        return;
    }
    if (v && *v && (filter_time(v, now, &since) < 0 || since <= 0 || since >= q.until_ms)) {
        api_fail(k, 400, "since", "since: \"%.40s\" is not a duration back from now (30d) or a "
                 "time before until", v);
        return;
    }
    if (since) q.since_ms = q.until_ms - since;
    if (kpi_by_parse(by ? by : "", &q.by) < 0) {
        api_fail(k, 400, "by", "by: \"%.32s\" is not week, workflow, service or severity", by);
        return;
    }
    json_t *out = NULL;
    if (kpi_report(k->s, &q, &out, err, sizeof(err)) < 0) {
        if (!strncmp(err, "a period", 8)) api_fail(k, 400, "since", "%s", err);
        else unavailable(k, err);
        return;
    }
    k->answer = out;
}

void route_audit(api_call *k) {
    char err[512];
    int64_t since = 0;
    long limit;
    const char *v = api_query(k, "since");
    if (v && *v && (filter_time(v, now_ms(), &since) < 0 || since <= 0)) {
        api_fail(k, 400, "since", "since: \"%.40s\" is not a duration back from now (7d) or a "
                 "time", v);
        return;
    }
    if (int_param(k, "limit", 100, AUDIT_LIMIT_MAX, &limit) < 0) return;
    json_t *list = audit_list(k->s, since, (size_t)limit, err, sizeof(err));
    if (!list) {
        unavailable(k, err);
        return;
    }
    k->answer = json_pack("{s:o}", "entries", list);
}

void route_whoami(api_call *k) {
    json_t *scopes = json_array();
    static const access_scope all[] = {SCOPE_INCIDENTS_READ, SCOPE_INCIDENTS_ACK,
                                       SCOPE_INCIDENTS_WRITE, SCOPE_TASKS_REPLAY, SCOPE_ADMIN};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (access_allows(k->who, all[i])) json_array_append_new(scopes, json_string(access_scope_name(all[i])));
    k->answer = json_pack("{s:s, s:o}", "name", k->who->name, "scopes", scopes);
}
