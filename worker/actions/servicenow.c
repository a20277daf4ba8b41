/* servicenow.c - the servicenow action: one record per incident through the
 * Table API, updated and resolved by the incident's later steps
 *
 * A create looks in the incident's memo, then asks the table for the record
 * whose correlation_id is the incident, and only then inserts one: a retry
 * or a replay finds the record instead of opening a second. update and
 * resolve take `sys_id`, else the memo, else the same query. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/http.h"

enum { OP_CREATE, OP_UPDATE, OP_RESOLVE };

/* Which request of the conversation is under way (f->stage). */
enum { ST_LOOKUP, ST_INSERT, ST_PATCH };

static const char *const op_names[] = {"create", "update", "resolve", NULL};

/* The incident state model's Resolved, and a resolution code of the base
 * system's choice list. */
#define STATE_RESOLVED "6"
#define CLOSE_CODE_DEFAULT "Solution provided"
#define RETURNED_FIELDS "sys_id,number,state"

typedef struct snow {
    int op;
    const char *table;
    char sys_id[64]; /* the record, once known */
    char memo[160];  /* "servicenow:incident" */
} snow;

/* ServiceNow's error body {"error":{"message","detail"},"status":"failure"}
 * in the message; the status decides permanent or retried (429 and 5xx are
 * retried, with Retry-After). */
static void fail(task *t, const http_resp *r, const char *what) {
    json_t *e = json_object_get(r->json, "error");
    const char *message = json_string_value(json_object_get(e, "message"));
    const char *detail = json_string_value(json_object_get(e, "detail"));
    char full[800];
    if (message && detail && *detail) snprintf(full, sizeof(full), "%s (%s: %s)", what, message, detail);
    else if (message) snprintf(full, sizeof(full), "%s (%s)", what, message);
    else snprintf(full, sizeof(full), "%s", what);
    http_fail(t, r, -1, full);
}

/* Sends one request to the instance's Table API: path_rest after
 * /api/now/table/<table>; body is taken. Returns http_send's. */
static int request(worker *w, task *t, int stage, const char *method, const char *path_rest, json_t *body) {
    http_flow *f = t->state;
    snow *s = f->data;
    char path[1200];
    char *table = url_escape(s->table);
    snprintf(path, sizeof(path), "/api/now/table/%s%s", table ? table : "", path_rest);
    free(table);
    char *url = url_join(with_str(t, "instance_url"), path);
    http_req rq = {
        .method = method,
        .url = url,
        .user = with_str(t, "username"),
        .password = with_str(t, "password"),
    };
    int rc = http_send_json(w, t, stage, &rq, body);
    free(url);
    return rc;
}

/* GET ?sysparm_query=correlation_id=<incident>: the record of this
 * incident, if one was made. */
static int send_lookup(worker *w, task *t) {
    char q[300], rest[1000];
    size_t n = 0;
    n += (size_t)snprintf(q, sizeof(q), "correlation_id=");
    for (const char *c = t->li.incident; *c && n + 3 < sizeof(q); c++) {
        if (*c == '^') q[n++] = '^'; /* "^" separates terms in an encoded query */
        q[n++] = *c;
    }
    q[n] = '\0';
    char *enc = url_escape(q);
    snprintf(rest, sizeof(rest), "?sysparm_query=%s&sysparm_limit=1&sysparm_fields=sys_id,number",
             enc ? enc : "");
    free(enc);
    return request(w, t, ST_LOOKUP, "GET", rest, NULL);
}

/* The body of a write: the op's defaults, `fields` over them, then the
 * named parameters. Returns a new object. */
static json_t *record_body(const task *t, const snow *s) {
    static const char *const named[][4] = {
        {"short_description", "description", "urgency", "impact"},
        {"work_notes", NULL, NULL, NULL},
        {"close_code", "close_notes", "work_notes", NULL},
    };
    json_t *body = json_object();
    char notes[200];
    if (s->op == OP_RESOLVE) {
        snprintf(notes, sizeof(notes), "Resolved by muster (incident %s)", t->li.incident);
        json_object_set_new(body, "state", json_string(STATE_RESOLVED));
        json_object_set_new(body, "close_code", json_string(CLOSE_CODE_DEFAULT));
        json_object_set_new(body, "close_notes", json_string(notes));
    }
    json_object_update(body, json_object_get(t->with, "fields"));
    for (int i = 0; i < 4 && named[s->op][i]; i++) {
        const char *v = with_str(t, named[s->op][i]);
        if (v) json_object_set_new(body, named[s->op][i], json_string(v));
    }
    if (s->op == OP_CREATE) {
        /* What the lookup finds on a retry or replay. */
        json_object_set_new(body, "correlation_id", json_string(t->li.incident));
        json_object_set_new(body, "correlation_display", json_string("muster"));
    }
    return body;
}

static int send_write(worker *w, task *t, const snow *s) {
    char rest[200];
    if (s->op == OP_CREATE)
        return request(w, t, ST_INSERT, "POST", "?sysparm_fields=" RETURNED_FIELDS, record_body(t, s));
    char *id = url_escape(s->sys_id);
    snprintf(rest, sizeof(rest), "/%s?sysparm_fields=" RETURNED_FIELDS, id ? id : "");
    free(id);
    return request(w, t, ST_PATCH, "PATCH", rest, record_body(t, s));
}

/* The step's output from a record {sys_id, number, state}: the record's
 * form at <instance_url>/<table>.do?sys_id=... */
static json_t *output(const task *t, const snow *s, const json_t *rec) {
    const char *sys_id = json_string_value(json_object_get(rec, "sys_id"));
    char path[300];
    snprintf(path, sizeof(path), "%s.do?sys_id=%s", s->table, sys_id ? sys_id : s->sys_id);
    char *url = url_join(with_str(t, "instance_url"), path);
    json_t *out = json_pack("{s:s, s:O?, s:s}", "sys_id", sys_id ? sys_id : s->sys_id, "number",
                            json_object_get(rec, "number"), "url", url ? url : "");
    if (s->op == OP_RESOLVE) json_object_set(out, "state", json_object_get(rec, "state"));
    free(url);
    return out;
}

/* Succeeds with the create step's output (rec {sys_id, number, url},
 * taken), remembered for the incident's later steps. */
static void finish_create(worker *w, task *t, const snow *s, json_t *rec, bool created) {
    task_memo_put(w, t, s->memo, rec);
    json_object_set_new(rec, "created", json_boolean(created));
    http_succeed(t, rec);
}

static void on_response(worker *w, task *t, http_flow *f, const http_resp *r) {
    static const char *const what[] = {"servicenow lookup", "servicenow create", "servicenow update"};
    snow *s = f->data;
    json_t *result = json_object_get(r->json, "result");
    if (!http_ok(r)) {
        fail(t, r, f->stage == ST_PATCH && s->op == OP_RESOLVE ? "servicenow resolve" : what[f->stage]);
        return;
    }
    if (f->stage == ST_LOOKUP) {
        json_t *rec = json_array_get(result, 0);
        const char *sys_id = json_string_value(json_object_get(rec, "sys_id"));
        if (!sys_id && s->op == OP_CREATE) {
            send_write(w, t, s);
        } else if (!sys_id) {
            task_refuse(t, "servicenow %s: no %s record has correlation_id %s; "
                   "create one first or give \"sys_id\"", op_names[s->op], s->table, t->li.incident);
        } else if (s->op == OP_CREATE) {
            finish_create(w, t, s, output(t, s, rec), false);
        } else {
            snprintf(s->sys_id, sizeof(s->sys_id), "%s", sys_id);
            send_write(w, t, s);
        }
    } else if (!json_is_string(json_object_get(result, "sys_id"))) {
        http_fail(t, r, 0, "servicenow: the response has no result.sys_id");
    } else if (f->stage == ST_INSERT) {
        finish_create(w, t, s, output(t, s, result), true);
    } else {
        http_succeed(t, output(t, s, result));
    }
}

/* The op's required parameters, and the checks every op shares. */
static bool valid(task *t, snow *s) {
    static const char *const required[] = {"instance_url", "username", "password"};
    json_t *fields = json_object_get(t->with, "fields");
    if ((s->op = with_op(t, "servicenow", op_names)) < 0) return false;
    for (int i = 0; i < 3; i++)
        if (!with_need(t, "servicenow", op_names[s->op], required[i])) return false;
    if (fields && !json_is_object(fields)) {
        task_refuse(t, "servicenow %s: \"fields\" must be a map of column names to values", op_names[s->op]);
        return false;
    }
    if (s->op == OP_CREATE && !with_need(t, "servicenow", "create", "short_description"))
        return false;
    if (s->op == OP_UPDATE && !with_str(t, "work_notes") && json_object_size(fields) == 0) {
        task_refuse(t, "servicenow update: the parameter \"work_notes\" or \"fields\" is required");
        return false;
    }
    return true;
}

static int start(worker *w, task *t) {
    http_flow *f = http_flow_new(t, on_response);
    snow *s = calloc(1, sizeof(*s));
    if (!f || !s) {
        free(s);
        task_finish(t, 0, NULL, "out of memory");
        return 1;
    }
    f->data = s;
    f->data_free = free;
    if (!valid(t, s)) return 1;
    s->table = with_str(t, "table") ? with_str(t, "table") : "incident";
    snprintf(s->memo, sizeof(s->memo), "servicenow:%s", s->table);

    const char *given = with_str(t, "sys_id");
    json_t *m = NULL;
    if (s->op != OP_CREATE && given) {
        snprintf(s->sys_id, sizeof(s->sys_id), "%s", given);
        return send_write(w, t, s) < 0;
    }
    if ((m = task_memo_json(w, t, s->memo, "sys_id"))) {
        if (s->op == OP_CREATE) {
            finish_create(w, t, s, m, false);
            return 1;
        }
        snprintf(s->sys_id, sizeof(s->sys_id), "%s", json_string_value(json_object_get(m, "sys_id")));
        json_decref(m);
        return send_write(w, t, s) < 0;
    }
    return send_lookup(w, t) < 0;
}

const action_impl action_servicenow = {
    .name = "servicenow",
    .start = start,
    .curl_done = http_curl_done,
    .abort = http_abort,
};
