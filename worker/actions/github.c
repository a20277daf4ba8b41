/* github.c - the github action: one GitHub issue per incident, its
 * comments and its closing, through the REST API
 *
 * A create looks in the incident's memo, then lists the repository's
 * issues labelled muster-<incident>, and only then opens one: a retry or a
 * replay of the step finds the issue instead of opening a second. comment
 * and close take `issue`, else the memo, else the same listing. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "worker/http.h"

enum { OP_CREATE, OP_COMMENT, OP_CLOSE };

/* Which request of the conversation is under way (f->stage). */
enum { ST_LIST, ST_CREATE, ST_COMMENT, ST_CLOSE };

static const char *const op_names[] = {"create", "comment", "close", NULL};

#define API_DEFAULT "https://api.github.com"
#define API_VERSION "2022-11-28"
/* GitHub asks for a minute's pause after a secondary rate limit that names
 * no Retry-After. */
#define SECONDARY_LIMIT_WAIT_MS 60000

typedef struct gh {
    int op;
    json_int_t number; /* the issue, once known */
    char label[128];
    char memo[200]; /* "github:owner/name" */
    char sent[224]; /* a comment step's entry: posted already */
} gh;

/* GitHub's error body {"message", "errors":[...]} in the message, and the
 * rate limits: a 403 or 429 with x-ratelimit-remaining 0 waits until
 * x-ratelimit-reset, one with Retry-After (a secondary limit) that long;
 * any other 403 is permanent, like 401, 404, 410 and 422; 5xx is retried. */
static void fail(task *t, const http_resp *r, const char *what) {
    const char *message = json_string_value(json_object_get(r->json, "message"));
    const char *remaining = http_header(r, "x-ratelimit-remaining");
    const char *reset = http_header(r, "x-ratelimit-reset");
    const char *retry_after = http_header(r, "retry-after");
    char detail[500] = "", full[800];
    size_t n = 0, i;
    json_t *e;
    json_array_foreach(json_object_get(r->json, "errors"), i, e) {
        const char *m = json_string_value(json_object_get(e, "message"));
        const char *field = json_string_value(json_object_get(e, "field"));
        const char *code = json_string_value(json_object_get(e, "code"));
        if (n >= sizeof(detail)) break;
        if (m) n += (size_t)snprintf(detail + n, sizeof(detail) - n, "; %s", m);
        else if (field || code)
            n += (size_t)snprintf(detail + n, sizeof(detail) - n, "; %s %s", field ? field : "",
                                  code ? code : "");
    }
    if (message) snprintf(full, sizeof(full), "%s (%s%s)", what, message, detail);
    else snprintf(full, sizeof(full), "%s", what);

    int permanent = -1;
    int64_t wait = -1;
    if (r->status == 403 || r->status == 429) {
        bool exhausted = remaining && strcmp(remaining, "0") == 0 && reset;
        if (retry_after) {
            permanent = 0; /* http_fail takes the wait from the header */
        } else if (exhausted) {
            permanent = 0;
            wait = strtoll(reset, NULL, 10) * 1000 - now_ms();
            if (wait < 0) wait = 0;
        } else if (message && strstr(message, "secondary rate limit")) {
            permanent = 0;
            wait = SECONDARY_LIMIT_WAIT_MS;
        } else {
            permanent = r->status == 403;
        }
    }
    http_fail(t, r, permanent, full);
    if (wait > 0) t->res.retry_after_ms = wait;
}

/* Sends one request under /repos/OWNER/NAME (path_rest follows it); body
 * is taken. Returns http_send's. */
static int request(worker *w, task *t, int stage, const char *method, const char *path_rest, json_t *body) {
    const char *api = with_str(t, "api_url") ? with_str(t, "api_url") : API_DEFAULT;
    char path[1200];
    snprintf(path, sizeof(path), "repos/%s%s", with_str(t, "repo"), path_rest);
    char *url = url_join(api, path);
    json_t *headers = json_pack("{s:s}", "X-GitHub-Api-Version", API_VERSION);
    http_req rq = {
        .method = method,
        .url = url,
        .accept = "application/vnd.github+json",
        .bearer = with_str(t, "token"),
        .headers = headers,
    };
    int rc = http_send_json(w, t, stage, &rq, body);
    free(url);
    json_decref(headers);
    return rc;
}

/* GET /issues?labels=muster-<incident>&state=all, oldest first. The list
 * holds pull requests too; on_response skips them. */
static int send_list(worker *w, task *t, const gh *g) {
    char rest[400];
    char *lab = url_escape(g->label);
    snprintf(rest, sizeof(rest), "/issues?labels=%s&state=all&sort=created&direction=asc&per_page=100",
             lab ? lab : "");
    free(lab);
    return request(w, t, ST_LIST, "GET", rest, NULL);
}

static int send_create(worker *w, task *t, const gh *g) {
    json_t *labels = json_array(), *v;
    size_t i;
    json_array_foreach(json_object_get(t->with, "labels"), i, v) {
        if (json_is_string(v)) json_array_append(labels, v);
    }
    json_array_append_new(labels, json_string(g->label));
    json_t *body = json_pack("{s:s, s:o}", "title", with_str(t, "title"), "labels", labels);
    if (with_str(t, "body")) json_object_set_new(body, "body", json_string(with_str(t, "body")));
    return request(w, t, ST_CREATE, "POST", "/issues", body);
}

static int send_comment(worker *w, task *t, const gh *g) {
    char rest[64];
    snprintf(rest, sizeof(rest), "/issues/%" JSON_INTEGER_FORMAT "/comments", g->number);
    return request(w, t, ST_COMMENT, "POST", rest, json_pack("{s:s}", "body", with_str(t, "body")));
}

static int send_close(worker *w, task *t, const gh *g) {
    char rest[64];
    snprintf(rest, sizeof(rest), "/issues/%" JSON_INTEGER_FORMAT, g->number);
    return request(w, t, ST_CLOSE, "PATCH", rest,
                   json_pack("{s:s, s:s}", "state", "closed", "state_reason", "completed"));
}

/* The step's work once the issue is known: a close with a body comments
 * first. */
static int proceed(worker *w, task *t, const gh *g) {
    if (g->op == OP_COMMENT || (g->op == OP_CLOSE && with_str(t, "body"))) return send_comment(w, t, g);
    return send_close(w, t, g);
}

/* {number, id, url} of an issue as GitHub returns it. */
static json_t *issue_output(const json_t *issue) {
    return json_pack("{s:O, s:O?, s:O?}", "number", json_object_get(issue, "number"), "id",
                     json_object_get(issue, "id"), "url", json_object_get(issue, "html_url"));
}

/* Succeeds with the create step's output (out {number, id, url}, taken),
 * remembered for the incident's later steps. */
static void finish_create(worker *w, task *t, const gh *g, json_t *out, bool created) {
    task_memo_put(w, t, g->memo, out);
    json_object_set_new(out, "created", json_boolean(created));
    http_succeed(t, out);
}

/* The listing's first issue (not a pull request), or NULL. */
static const json_t *first_issue(const json_t *list) {
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        if (json_is_integer(json_object_get(v, "number")) && !json_object_get(v, "pull_request")) return v;
    }
    return NULL;
}

static void on_response(worker *w, task *t, http_flow *f, const http_resp *r) {
    static const char *const what[] = {"github list issues", "github create", "github comment",
                                       "github close"};
    gh *g = f->data;
    if (!http_ok(r)) {
        fail(t, r, what[f->stage]);
        return;
    }
    if (f->stage == ST_LIST) {
        const json_t *issue = first_issue(r->json);
        if (issue && g->op == OP_CREATE) {
            finish_create(w, t, g, issue_output(issue), false);
        } else if (issue) {
            g->number = json_integer_value(json_object_get(issue, "number"));
            proceed(w, t, g);
        } else if (g->op == OP_CREATE) {
            send_create(w, t, g);
        } else {
            task_refuse(t, "github %s: no issue in %s carries the label %s; create one first or give \"issue\"",
                   op_names[g->op], with_str(t, "repo"), g->label);
        }
        return;
    }
    if (!json_is_integer(json_object_get(r->json, f->stage == ST_COMMENT ? "id" : "number"))) {
        http_fail(t, r, 0, "github: the response is not the issue or comment asked for");
    } else if (f->stage == ST_CREATE) {
        finish_create(w, t, g, issue_output(r->json), true);
    } else if (f->stage == ST_COMMENT && g->op == OP_COMMENT) {
        task_sent_now(w, t, g->sent,
                      json_pack("{s:I, s:O, s:O?}", "number", g->number, "comment_id",
                                json_object_get(r->json, "id"), "url",
                                json_object_get(r->json, "html_url")));
    } else if (f->stage == ST_COMMENT) {
        f->out = json_pack("{s:O}", "comment_id", json_object_get(r->json, "id"));
        send_close(w, t, g);
    } else {
        json_t *out = issue_output(r->json);
        json_object_set(out, "state", json_object_get(r->json, "state"));
        if (f->out) json_object_update(out, f->out);
        http_succeed(t, out);
    }
}

/* "owner/name", each part of GitHub's letters, digits, '-', '_' and '.'. */
static bool repo_ok(const char *repo) {
    const char *slash = strchr(repo, '/');
    if (!slash || slash == repo || !slash[1] || strchr(slash + 1, '/')) return false;
    for (const char *c = repo; *c; c++)
        if (!isalnum((unsigned char)*c) && !strchr("-_./", *c)) return false;
    return strstr(repo, "..") == NULL;
}

/* The op's required parameters, and the checks every op shares. */
static bool valid(task *t, gh *g) {
    if ((g->op = with_op(t, "github", op_names)) < 0) return false;
    const char *missing = !with_str(t, "repo") ? "repo"
                          : !with_str(t, "token") ? "token"
                          : g->op == OP_CREATE && !with_str(t, "title") ? "title"
                          : g->op == OP_COMMENT && !with_str(t, "body") ? "body"
                                                                         : NULL;
    if (missing) {
        task_refuse(t, "github %s: the parameter \"%s\" is required", op_names[g->op], missing);
        return false;
    }
    if (!repo_ok(with_str(t, "repo"))) {
        task_refuse(t, "github %s: \"repo\" must be owner/name, not \"%s\"", op_names[g->op], with_str(t, "repo"));
        return false;
    }
    return true;
}

/* The issue number `issue` gives: 0 when absent, -1 when not a number. */
static json_int_t given_number(const task *t) {
    const char *s = with_str(t, "issue");
    char *end = NULL;
    if (!s) return 0;
    if (*s == '#') s++;
    long long n = strtoll(s, &end, 10);
    return end && end != s && *end == '\0' && n > 0 ? (json_int_t)n : -1;
}

static int start(worker *w, task *t) {
    http_flow *f = http_flow_new(t, on_response);
    gh *g = calloc(1, sizeof(*g));
    if (!f || !g) {
        free(g);
        task_finish(t, 0, NULL, "out of memory");
        return 1;
    }
    f->data = g;
    f->data_free = free;
    if (!valid(t, g)) return 1;
    /* A comment whose answer was lost is not posted again on the retry. */
    snprintf(g->sent, sizeof(g->sent), "github.sent.%s", t->li.step);
    if (g->op == OP_COMMENT && task_sent_before(w, t, "github", g->sent)) return 1;
    snprintf(g->label, sizeof(g->label), "muster-%s", t->li.incident);
    snprintf(g->memo, sizeof(g->memo), "github:%s", with_str(t, "repo"));

    json_int_t given = g->op == OP_CREATE ? 0 : given_number(t);
    json_t *m = NULL;
    if (given < 0) {
        task_refuse(t, "github %s: \"issue\" must be an issue number, not \"%s\"", op_names[g->op],
               with_str(t, "issue"));
        return 1;
    }
    if (given > 0) {
        g->number = given;
        return proceed(w, t, g) < 0;
    }
    if ((m = task_memo_json(w, t, g->memo, "number"))) {
        if (g->op == OP_CREATE) {
            finish_create(w, t, g, m, false);
            return 1;
        }
        g->number = json_integer_value(json_object_get(m, "number"));
        json_decref(m);
        return proceed(w, t, g) < 0;
    }
    return send_list(w, t, g) < 0;
}

const action_impl action_github = {
    .name = "github",
    .start = start,
    .curl_done = http_curl_done,
    .abort = http_abort,
};
