/* jira.c - the jira action: one Jira Cloud issue per incident, its comments
 * and transitions
 *
 * A create looks in the incident's memo, then searches Jira for the label
 * muster-<incident>, and only then creates: a retry or a replay of the step
 * finds the issue instead of opening a second one. Later steps (comment,
 * transition) take `issue`, else the memo, else the same search. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "worker/http.h"

enum { OP_CREATE, OP_COMMENT, OP_TRANSITION };

/* Which request of the conversation is under way (f->stage). */
enum { ST_SEARCH, ST_CREATE, ST_COMMENT, ST_TRANSITIONS, ST_TRANSITION };

static const char *const op_names[] = {"create", "comment", "transition", NULL};

typedef struct jira {
    int op;
    char key[128]; /* the issue, once known */
    char label[128];
    char memo[160]; /* the memo entry of the project ("jira:OPS"), or "jira" */
    char sent[224]; /* a comment step's entry: posted already */
} jira;

/* Jira's error body {"errorMessages":[...],"errors":{field:msg}} as one
 * line; the status decides permanent or retried (429 and 5xx are retried,
 * with Retry-After). */
static void fail(task *t, const http_resp *r, const char *what) {
    char msg[700] = "", full[800];
    size_t n = 0, i;
    const char *k;
    json_t *v;
    json_array_foreach(json_object_get(r->json, "errorMessages"), i, v) {
        if (json_is_string(v) && n < sizeof(msg))
            n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%s%s", n ? "; " : "", json_string_value(v));
    }
    json_object_foreach(json_object_get(r->json, "errors"), k, v) {
        if (json_is_string(v) && n < sizeof(msg))
            n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%s%s: %s", n ? "; " : "", k,
                                  json_string_value(v));
    }
    if (n) snprintf(full, sizeof(full), "%s (%s)", what, msg);
    else snprintf(full, sizeof(full), "%s", what);
    http_fail(t, r, -1, full);
}

/* Plain text as an Atlassian Document Format document: a paragraph for
 * each block between blank lines, a hardBreak for each single newline. */
static json_t *adf_doc(const char *text) {
    json_t *content = json_array(), *para = NULL;
    const char *p = text;
    while (*p) {
        size_t len = strcspn(p, "\n");
        size_t shown = len && p[len - 1] == '\r' ? len - 1 : len;
        if (shown == 0) {
            para = NULL; /* a blank line ends the paragraph */
        } else {
            if (!para) {
                para = json_array();
                json_array_append_new(content, json_pack("{s:s, s:o}", "type", "paragraph", "content", para));
            } else {
                json_array_append_new(para, json_pack("{s:s}", "type", "hardBreak"));
            }
            json_array_append_new(para, json_pack("{s:s, s:s%}", "type", "text", "text", p, shown));
        }
        p += len;
        if (*p == '\n') p++;
    }
    if (json_array_size(content) == 0)
        json_array_append_new(content, json_pack("{s:s, s:[]}", "type", "paragraph", "content"));
    return json_pack("{s:s, s:i, s:o}", "type", "doc", "version", 1, "content", content);
}

/* `s` quoted as a JQL string. */
static void jql_quote(const char *s, char *buf, size_t len) {
    size_t n = 0;
    if (len < 3) return;
    buf[n++] = '"';
    for (; *s && n + 3 < len; s++) {
        if (*s == '"' || *s == '\\') buf[n++] = '\\';
        buf[n++] = *s;
    }
    buf[n++] = '"';
    buf[n] = '\0';
}

/* Sends one request to the Jira site; body is taken. Returns http_send's. */
static int request(worker *w, task *t, int stage, const char *method, const char *path, json_t *body) {
    char *url = url_join(with_str(t, "base_url"), path);
    http_req rq = {
        .method = method,
        .url = url,
        .user = with_str(t, "email"),
        .password = with_str(t, "api_token"),
    };
    int rc = http_send_json(w, t, stage, &rq, body);
    free(url);
    return rc;
}

/* The issue's page: <base_url>/browse/KEY. */
static json_t *browse_url(const task *t, const char *key) {
    char path[200];
    snprintf(path, sizeof(path), "browse/%s", key);
    char *u = url_join(with_str(t, "base_url"), path);
    json_t *v = json_string(u);
    free(u);
    return v;
}

/* The issue path for `rest`: /rest/api/3/issue/KEY/rest. */
static void issue_path(const jira *j, const char *rest, char *buf, size_t len) {
    char *k = url_escape(j->key);
    snprintf(buf, len, "/rest/api/3/issue/%s/%s", k ? k : "", rest);
    free(k);
}

/* GET /rest/api/3/search/jql for the incident's label (and the project
 * when known), oldest first. */
static int send_search(worker *w, task *t, const jira *j) {
    char q[700], lab[300], proj[300] = "";
    const char *project = with_str(t, "project");
    jql_quote(j->label, lab, sizeof(lab));
    if (project) jql_quote(project, proj, sizeof(proj));
    snprintf(q, sizeof(q), "labels = %s%s%s ORDER BY created ASC", lab, project ? " AND project = " : "",
             proj);
    char *jql = url_escape(q);
    size_t len = (jql ? strlen(jql) : 0) + 80;
    char *path = malloc(len);
    if (!jql || !path) {
        free(jql);
        free(path);
        task_finish(t, 0, NULL, "out of memory");
        return -1;
    }
    snprintf(path, len, "/rest/api/3/search/jql?jql=%s&maxResults=1&fields=summary", jql);
    free(jql);
    int rc = request(w, t, ST_SEARCH, "GET", path, NULL);
    free(path);
    return rc;
}

/* POST /rest/api/3/issue. `fields` goes in first, the named parameters
 * over it, and the incident's label always stays among the labels. */
static int send_create(worker *w, task *t, const jira *j) {
    json_t *fields = json_deep_copy(json_object_get(t->with, "fields"));
    json_t *labels = json_array(), *v;
    size_t i;
    const char *s, *type = with_str(t, "issue_type");
    if (!fields) fields = json_object();
    if (!json_object_get(fields, "issuetype") || type)
        json_object_set_new(fields, "issuetype", json_pack("{s:s}", "name", type ? type : "Task"));
    json_object_set_new(fields, "project", json_pack("{s:s}", "key", with_str(t, "project")));
    json_object_set_new(fields, "summary", json_string(with_str(t, "summary")));
    if ((s = with_str(t, "description"))) json_object_set_new(fields, "description", adf_doc(s));
    if ((s = with_str(t, "priority"))) json_object_set_new(fields, "priority", json_pack("{s:s}", "name", s));
    json_array_foreach(json_object_get(fields, "labels"), i, v) {
        if (json_is_string(v)) json_array_append(labels, v);
    }
    json_array_foreach(json_object_get(t->with, "labels"), i, v) {
        if (json_is_string(v)) json_array_append(labels, v);
    }
    json_array_append_new(labels, json_string(j->label));
    json_object_set_new(fields, "labels", labels);
    return request(w, t, ST_CREATE, "POST", "/rest/api/3/issue", json_pack("{s:o}", "fields", fields));
}

static int send_comment(worker *w, task *t, const jira *j) {
    char path[300];
    issue_path(j, "comment", path, sizeof(path));
    return request(w, t, ST_COMMENT, "POST", path,
                json_pack("{s:o}", "body", adf_doc(with_str(t, "comment"))));
}

/* The step's work once the issue is known. */
static int proceed(worker *w, task *t, const jira *j) {
    char path[300];
    if (j->op == OP_COMMENT) return send_comment(w, t, j);
    issue_path(j, "transitions", path, sizeof(path));
    return request(w, t, ST_TRANSITIONS, "GET", path, NULL);
}

/* Succeeds with the create step's output (issue {key, id, url}, taken),
 * remembered for the incident's later steps under the project's entry and
 * as the incident's latest Jira issue. */
static void finish_create(worker *w, task *t, const jira *j, json_t *issue, bool created) {
    task_memo_put(w, t, j->memo, issue);
    if (strcmp(j->memo, "jira") != 0) task_memo_put(w, t, "jira", issue);
    json_object_set_new(issue, "created", json_boolean(created));
    http_succeed(t, issue);
}

static void on_transitions(worker *w, task *t, http_flow *f, const http_resp *r) {
    jira *j = f->data;
    const char *want = with_str(t, "transition");
    json_t *list = json_object_get(r->json, "transitions"), *tr, *names = json_array();
    size_t i;
    json_array_foreach(list, i, tr) {
        const char *id = json_string_value(json_object_get(tr, "id"));
        const char *name = json_string_value(json_object_get(tr, "name"));
        if (name) json_array_append_new(names, json_string(name));
        if (!id || !((name && strcasecmp(name, want) == 0) || strcmp(id, want) == 0)) continue;
        json_decref(names);
        json_decref(f->out);
        f->out = json_pack("{s:s, s:{s:s, s:s}}", "key", j->key, "transition", "id", id, "name",
                           name ? name : "");
        char path[300];
        issue_path(j, "transitions", path, sizeof(path));
        request(w, t, ST_TRANSITION, "POST", path, json_pack("{s:{s:s}}", "transition", "id", id));
        return;
    }
    char avail[600] = "";
    size_t n = 0;
    json_array_foreach(names, i, tr) {
        if (n < sizeof(avail))
            n += (size_t)snprintf(avail + n, sizeof(avail) - n, "%s%s", n ? ", " : "", json_string_value(tr));
    }
    task_refuse(t, "jira transition: the issue has no transition \"%s\"; available: %s", want,
                n ? avail : "none");
    json_decref(t->res.output);
    t->res.output = json_pack("{s:s, s:o}", "key", j->key, "available", names);
}

static void on_response(worker *w, task *t, http_flow *f, const http_resp *r) {
    static const char *const what[] = {"jira search", "jira create", "jira comment",
                                       "jira transitions", "jira transition"};
    jira *j = f->data;
    if (!http_ok(r)) {
        fail(t, r, what[f->stage]);
        return;
    }
    if (f->stage == ST_SEARCH) {
        json_t *issue = json_array_get(json_object_get(r->json, "issues"), 0);
        const char *key = json_string_value(json_object_get(issue, "key"));
        if (key) {
            snprintf(j->key, sizeof(j->key), "%s", key);
            if (j->op != OP_CREATE) {
                proceed(w, t, j);
                return;
            }
            finish_create(w, t, j,
                          json_pack("{s:s, s:O?, s:o}", "key", key, "id", json_object_get(issue, "id"),
                                    "url", browse_url(t, key)),
                          false);
        } else if (j->op == OP_CREATE) {
            send_create(w, t, j);
        } else {
            task_refuse(t, "jira %s: no issue carries the label %s; create one first or give \"issue\"",
                   op_names[j->op], j->label);
        }
    } else if (f->stage == ST_CREATE) {
        const char *key = json_string_value(json_object_get(r->json, "key"));
        if (!key) {
            http_fail(t, r, 0, "jira create: the response has no issue key");
            return;
        }
        finish_create(w, t, j,
                      json_pack("{s:s, s:O?, s:o}", "key", key, "id", json_object_get(r->json, "id"), "url",
                                browse_url(t, key)),
                      true);
    } else if (f->stage == ST_COMMENT) {
        json_t *out = f->out ? json_incref(f->out) : json_pack("{s:s}", "key", j->key);
        const char *id = json_string_value(json_object_get(r->json, "id"));
        char path[300];
        json_object_set_new(out, "comment_id", id ? json_string(id) : json_null());
        if (j->op == OP_COMMENT) {
            /* The issue's page scrolled to the comment. */
            snprintf(path, sizeof(path), "browse/%s?focusedCommentId=%s", j->key, id ? id : "");
            char *u = url_join(with_str(t, "base_url"), path);
            json_object_set_new(out, "url", json_string(u));
            free(u);
            task_sent_now(w, t, j->sent, out);
            return;
        }
        http_succeed(t, out);
    } else if (f->stage == ST_TRANSITIONS) {
        on_transitions(w, t, f, r);
    } else if (with_str(t, "comment")) { /* ST_TRANSITION done: the comment follows */
        send_comment(w, t, j);
    } else {
        http_succeed(t, json_incref(f->out));
    }
}

/* The op's required parameters, and the checks every op shares. */
static bool valid(task *t, jira *j) {
    json_t *fields = json_object_get(t->with, "fields");
    if ((j->op = with_op(t, "jira", op_names)) < 0) return false;
    if (!with_need(t, "jira", op_names[j->op], "base_url") || !with_need(t, "jira", op_names[j->op], "email") || !with_need(t, "jira", op_names[j->op], "api_token")) return false;
    if (fields && !json_is_object(fields)) {
        task_refuse(t, "jira %s: \"fields\" must be a map of Jira field names to values",
               op_names[j->op]);
        return false;
    }
    if (j->op == OP_CREATE) return with_need(t, "jira", op_names[j->op], "project") && with_need(t, "jira", op_names[j->op], "summary");
    if (j->op == OP_COMMENT) return with_need(t, "jira", op_names[j->op], "comment");
    return with_need(t, "jira", op_names[j->op], "transition");
}

static int start(worker *w, task *t) {
    http_flow *f = http_flow_new(t, on_response);
    jira *j = calloc(1, sizeof(*j));
    if (!f || !j) {
        free(j);
        task_finish(t, 0, NULL, "out of memory");
        return 1;
    }
    f->data = j;
    f->data_free = free;
    if (!valid(t, j)) return 1;
    /* A comment whose answer was lost is not posted again on the retry. */
    snprintf(j->sent, sizeof(j->sent), "jira.sent.%s", t->li.step);
    if (j->op == OP_COMMENT && task_sent_before(w, t, "jira", j->sent)) return 1;
    const char *project = with_str(t, "project");
    snprintf(j->label, sizeof(j->label), "muster-%s", t->li.incident);
    for (char *c = j->label; *c; c++)
        if (*c == ' ' || *c == '\t') *c = '-'; /* Jira labels hold no spaces */
    if (project) snprintf(j->memo, sizeof(j->memo), "jira:%s", project);
    else snprintf(j->memo, sizeof(j->memo), "jira");

    const char *given = with_str(t, "issue");
    json_t *m = NULL;
    if (j->op != OP_CREATE && given) {
        snprintf(j->key, sizeof(j->key), "%s", given);
        return proceed(w, t, j) < 0;
    }
    if ((m = task_memo_json(w, t, j->memo, "key"))) {
        if (j->op == OP_CREATE) {
            finish_create(w, t, j, m, false);
            return 1;
        }
        snprintf(j->key, sizeof(j->key), "%s", json_string_value(json_object_get(m, "key")));
        json_decref(m);
        return proceed(w, t, j) < 0;
    }
    return send_search(w, t, j) < 0;
}

const action_impl action_jira = {
    .name = "jira",
    .start = start,
    .curl_done = http_curl_done,
    .abort = http_abort,
};
