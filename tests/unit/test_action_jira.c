/* test_action_jira.c - the jira action against a mock Jira Cloud REST v3 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state/store.h"
#include "tests/harness/action_run.h"
#include "tests/harness/redis_fixture.h"
#include "tests/harness/vendor_mock.h"
#include "worker/http.h"

#define EMAIL "bot@example.com"
#define TOKEN "jira-tok-7c1d2e"
#define MAX_ISSUES 8

static redis_fixture fx;

/* What the mock Jira site holds, and how it misbehaves when asked to. */
typedef struct jira_site {
    int issues;
    char label[MAX_ISSUES][128];
    char status[MAX_ISSUES][32];
    int comments;
    int fail_status;      /* answer with this status, when set, */
    const char *fail_path; /* the requests to this path (NULL: all) */
    const char *fail_body; /* JSON */
    const char *fail_header, *fail_value;
} jira_site;

static const char *const transitions[][2] = {{"11", "To Do"}, {"21", "In Progress"}, {"31", "Done"}};

static void not_found(mock_reply *rp) {
    mock_reply_json(rp, 404, json_pack("{s:[s], s:{}}", "errorMessages",
                                       "Issue does not exist or you do not have permission to see it.",
                                       "errors"));
}

/* An Atlassian Document Format document, as Jira requires for rich text. */
static void expect_adf(vendor_mock *m, const mock_request *rq, const char *path) {
    char p[128];
    snprintf(p, sizeof(p), "%s.type", path);
    json_t *type = mock_expect_field(m, rq, p, JSON_STRING);
    if (type && strcmp(json_string_value(type), "doc") != 0) mock_problem(m, "%s is not a doc", path);
    snprintf(p, sizeof(p), "%s.version", path);
    json_t *version = mock_expect_field(m, rq, p, JSON_INTEGER);
    if (version && json_integer_value(version) != 1) mock_problem(m, "%s.version is not 1", path);
    snprintf(p, sizeof(p), "%s.content", path);
    mock_expect_field(m, rq, p, JSON_ARRAY);
}

static void search(vendor_mock *m, jira_site *s, const mock_request *rq, mock_reply *rp) {
    const char *jql = json_string_value(json_object_get(rq->query, "jql"));
    const char *lab = jql ? strstr(jql, "labels = \"") : NULL;
    char want[128] = "";
    if (!lab) {
        mock_problem(m, "search: jql \"%s\" does not ask for a label", jql ? jql : "(none)");
    } else {
        lab += strlen("labels = \"");
        snprintf(want, sizeof(want), "%.*s", (int)strcspn(lab, "\""), lab);
    }
    if (!json_object_get(rq->query, "maxResults")) mock_problem(m, "search: no maxResults");
    json_t *issues = json_array();
    for (int i = 0; i < s->issues; i++) {
        if (strcmp(s->label[i], want) != 0) continue;
        char key[16], id[16];
        snprintf(key, sizeof(key), "OPS-%d", i + 1);
        snprintf(id, sizeof(id), "%d", 10001 + i);
        json_array_append_new(issues, json_pack("{s:s, s:s, s:{s:s}}", "id", id, "key", key, "fields",
                                                "summary", "checkout down"));
    }
    mock_reply_json(rp, 200, json_pack("{s:o, s:b}", "issues", issues, "isLast", 1));
}

static void create(vendor_mock *m, jira_site *s, const mock_request *rq, mock_reply *rp) {
    char base[64], key[16], id[16], self[128];
    size_t i;
    json_t *v;
    mock_expect_type(m, rq, "application/json");
    mock_expect_field(m, rq, "fields.project.key", JSON_STRING);
    mock_expect_field(m, rq, "fields.issuetype.name", JSON_STRING);
    mock_expect_field(m, rq, "fields.summary", JSON_STRING);
    expect_adf(m, rq, "fields.description");
    json_t *labels = mock_expect_field(m, rq, "fields.labels", JSON_ARRAY);
    const char *muster = NULL;
    json_array_foreach(labels, i, v) {
        if (!json_is_string(v)) mock_problem(m, "create: a label is not a string");
        else if (strncmp(json_string_value(v), "muster-", 7) == 0) muster = json_string_value(v);
        else if (strchr(json_string_value(v), ' ')) mock_problem(m, "create: label with a space");
    }
    if (!muster || s->issues == MAX_ISSUES) {
        mock_reply_json(rp, 400, json_pack("{s:[], s:{s:s}}", "errorMessages", "errors", "labels",
                                           "no muster label"));
        return;
    }
    snprintf(s->label[s->issues], sizeof(s->label[0]), "%s", muster);
    snprintf(s->status[s->issues], sizeof(s->status[0]), "To Do");
    s->issues++;
    snprintf(base, sizeof(base), "%s", vendor_mock_url(m));
    snprintf(key, sizeof(key), "OPS-%d", s->issues);
    snprintf(id, sizeof(id), "%d", 10000 + s->issues);
    snprintf(self, sizeof(self), "%s/rest/api/3/issue/%s", base, id);
    mock_reply_json(rp, 201, json_pack("{s:s, s:s, s:s}", "id", id, "key", key, "self", self));
}

/* Requests on one issue: /rest/api/3/issue/OPS-N/{comment,transitions}. */
static void on_issue(vendor_mock *m, jira_site *s, const mock_request *rq, mock_reply *rp) {
    int n = 0;
    char rest[32] = "";
    if (sscanf(rq->path, "/rest/api/3/issue/OPS-%d/%31s", &n, rest) != 2 || n < 1 || n > s->issues) {
        not_found(rp);
        return;
    }
    if (strcmp(rest, "comment") == 0) {
        mock_expect(m, rq, "POST", rq->path);
        mock_expect_type(m, rq, "application/json");
        expect_adf(m, rq, "body");
        s->comments++;
        char id[16];
        snprintf(id, sizeof(id), "%d", 20000 + s->comments);
        mock_reply_json(rp, 201, json_pack("{s:s, s:O, s:s}", "id", id, "body", json_object_get(rq->json, "body"),
                                           "created", "2024-05-01T10:00:00.000+0000"));
    } else if (strcmp(rest, "transitions") == 0 && strcmp(rq->method, "GET") == 0) {
        json_t *list = json_array();
        for (size_t i = 0; i < 3; i++)
            json_array_append_new(list, json_pack("{s:s, s:s, s:{s:s}}", "id", transitions[i][0], "name",
                                                  transitions[i][1], "to", "name", transitions[i][1]));
        mock_reply_json(rp, 200, json_pack("{s:s, s:o}", "expand", "transitions", "transitions", list));
    } else if (strcmp(rest, "transitions") == 0 && strcmp(rq->method, "POST") == 0) {
        mock_expect_type(m, rq, "application/json");
        json_t *id = mock_expect_field(m, rq, "transition.id", JSON_STRING);
        for (size_t i = 0; id && i < 3; i++)
            if (strcmp(json_string_value(id), transitions[i][0]) == 0) {
                snprintf(s->status[n - 1], sizeof(s->status[0]), "%s", transitions[i][1]);
                mock_reply_text(rp, 204, "application/json", "");
                return;
            }
        mock_reply_json(rp, 400, json_pack("{s:[s], s:{}}", "errorMessages", "Transition id is not valid.",
                                           "errors"));
    } else {
        mock_problem(m, "unexpected %s %s", rq->method, rq->path);
        not_found(rp);
    }
}

static void jira_handler(vendor_mock *m, void *arg, int n, const mock_request *rq, mock_reply *rp) {
    jira_site *s = arg;
    (void)n;
    mock_expect_basic(m, rq, EMAIL, TOKEN);
    mock_expect_header(m, rq, "accept", "application/json");
    if (s->fail_status && (!s->fail_path || strcmp(rq->path, s->fail_path) == 0)) {
        mock_reply_text(rp, s->fail_status, "application/json", s->fail_body ? s->fail_body : "");
        if (s->fail_header) mock_reply_header(rp, s->fail_header, s->fail_value);
        return;
    }
    if (strcmp(rq->path, "/rest/api/3/search/jql") == 0 && mock_expect(m, rq, "GET", rq->path))
        search(m, s, rq, rp);
    else if (strcmp(rq->path, "/rest/api/3/issue") == 0 && mock_expect(m, rq, "POST", rq->path))
        create(m, s, rq, rp);
    else if (strncmp(rq->path, "/rest/api/3/issue/", 18) == 0)
        on_issue(m, s, rq, rp);
    else {
        mock_problem(m, "unexpected %s %s", rq->method, rq->path);
        not_found(rp);
    }
}

/* The parameters every op takes, plus `more` (taken). */
static json_t *with(vendor_mock *m, json_t *more) {
    json_t *w = json_pack("{s:s, s:s, s:s}", "base_url", vendor_mock_url(m), "email", EMAIL, "api_token", TOKEN);
    json_object_update(w, more);
    json_decref(more);
    return w;
}

static json_t *create_with(vendor_mock *m) {
    return with(m, json_pack("{s:s, s:s, s:s, s:[s], s:s}", "project", "OPS", "summary",
                             "checkout 5xx above 5%", "description",
                             "First paragraph\nsecond line\n\nSecond paragraph", "labels", "sev1",
                             "priority", "High"));
}

static task *run(action_env *e, const char *incident, const char *step, json_t *w) {
    task *t = action_task(incident, step, "jira", w, true);
    assert_int_equal(action_run(e, t), 0);
    return t;
}

static void create_once_per_incident(void **state) {
    (void)state;
    action_env e;
    jira_site s = {0};
    vendor_mock *m = vendor_mock_start(jira_handler, &s);
    char url[128];
    assert_int_equal(action_env_init(&e, fx.port), 0);

    task *t = run(&e, "inc-create", "ticket", create_with(m));
    assert_int_equal(t->res.succeeded, 1);
    assert_string_equal(json_string_value(action_output(t, "key")), "OPS-1");
    assert_string_equal(json_string_value(action_output(t, "id")), "10001");
    snprintf(url, sizeof(url), "%s/browse/OPS-1", vendor_mock_url(m));
    assert_string_equal(json_string_value(action_output(t, "url")), url);
    assert_true(json_is_true(action_output(t, "created")));
    task_free(e.w, t);
    assert_int_equal(vendor_mock_count(m), 2); /* the search, then the create */
    const mock_request *rq = vendor_mock_request(m, 0);
    assert_string_equal(json_string_value(json_object_get(rq->query, "jql")),
                        "labels = \"muster-inc-create\" AND project = \"OPS\" ORDER BY created ASC");
    rq = vendor_mock_request(m, 1);
    json_t *fields = json_object_get(rq->json, "fields");
    assert_string_equal(json_string_value(json_object_get(json_object_get(fields, "project"), "key")), "OPS");
    assert_string_equal(json_string_value(json_object_get(json_object_get(fields, "issuetype"), "name")), "Task");
    assert_string_equal(json_string_value(json_object_get(json_object_get(fields, "priority"), "name")), "High");
    json_t *labels = json_object_get(fields, "labels");
    assert_int_equal(json_array_size(labels), 2);
    assert_string_equal(json_string_value(json_array_get(labels, 0)), "sev1");
    assert_string_equal(json_string_value(json_array_get(labels, 1)), "muster-inc-create");
    /* Two paragraphs; the single newline is a hard break. */
    json_t *paras = json_object_get(json_object_get(fields, "description"), "content");
    assert_int_equal(json_array_size(paras), 2);
    json_t *first = json_object_get(json_array_get(paras, 0), "content");
    assert_int_equal(json_array_size(first), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(first, 1), "type")), "hardBreak");
    assert_string_equal(json_string_value(json_object_get(json_array_get(first, 2), "text")), "second line");

    /* A retry of the step: the memo has the issue, Jira is not asked. */
    t = run(&e, "inc-create", "ticket", create_with(m));
    assert_int_equal(t->res.succeeded, 1);
    assert_string_equal(json_string_value(action_output(t, "key")), "OPS-1");
    assert_string_equal(json_string_value(action_output(t, "id")), "10001");
    assert_false(json_is_true(action_output(t, "created")));
    task_free(e.w, t);
    assert_int_equal(vendor_mock_count(m), 2);

    /* A replay without the memo: the label search finds it. */
    assert_int_equal(action_memo_wipe(&e, "inc-create"), 0);
    t = run(&e, "inc-create", "ticket", create_with(m));
    assert_int_equal(t->res.succeeded, 1);
    assert_string_equal(json_string_value(action_output(t, "key")), "OPS-1");
    assert_false(json_is_true(action_output(t, "created")));
    task_free(e.w, t);
    assert_int_equal(vendor_mock_count(m), 3);
    assert_string_equal(vendor_mock_request(m, 2)->path, "/rest/api/3/search/jql");
    assert_int_equal(s.issues, 1);

    /* Another incident gets its own issue. */
    t = run(&e, "inc-other", "ticket", create_with(m));
    assert_string_equal(json_string_value(action_output(t, "key")), "OPS-2");
    assert_true(json_is_true(action_output(t, "created")));
    task_free(e.w, t);
    assert_int_equal(s.issues, 2);
    assert_true(vendor_mock_clean(m));
    vendor_mock_stop(m);
    action_env_free(&e);
}

/* Comment and transition find the issue in the memo (as on_resolve steps
 * of the same incident would). */
static void comment_and_transition_use_memo(void **state) {
    (void)state;
    action_env e;
    jira_site s = {0};
    vendor_mock *m = vendor_mock_start(jira_handler, &s);
    char url[160];
    assert_int_equal(action_env_init(&e, fx.port), 0);
    task *t = run(&e, "inc-later", "ticket", create_with(m));
    assert_int_equal(t->res.succeeded, 1);
    task_free(e.w, t);
    int before = vendor_mock_count(m);

    t = run(&e, "inc-later", "note", with(m, json_pack("{s:s, s:s}", "op", "comment", "comment", "Paged the on-call")));
    assert_int_equal(t->res.succeeded, 1);
    assert_string_equal(json_string_value(action_output(t, "key")), "OPS-1");
    assert_string_equal(json_string_value(action_output(t, "comment_id")), "20001");
    snprintf(url, sizeof(url), "%s/browse/OPS-1?focusedCommentId=20001", vendor_mock_url(m));
    assert_string_equal(json_string_value(action_output(t, "url")), url);
    task_free(e.w, t);
    assert_int_equal(vendor_mock_count(m), before + 1);
    const mock_request *rq = vendor_mock_request(m, before);
    assert_string_equal(rq->path, "/rest/api/3/issue/OPS-1/comment");
    json_t *text = json_array_get(json_object_get(json_array_get(json_object_get(json_object_get(rq->json, "body"), "content"), 0), "content"), 0);
    assert_string_equal(json_string_value(json_object_get(text, "text")), "Paged the on-call");

    /* The same comment step again (its answer lost, or a replay): the memo
     * says it was posted, so Jira gets no second comment. */
    t = run(&e, "inc-later", "note", with(m, json_pack("{s:s, s:s}", "op", "comment", "comment", "Paged the on-call")));
    assert_int_equal(t->res.succeeded, 1);
    assert_true(json_is_true(action_output(t, "deduplicated")));
    assert_string_equal(json_string_value(action_output(t, "comment_id")), "20001");
    task_free(e.w, t);
    assert_int_equal(vendor_mock_count(m), before + 1);

    /* The name matches whatever its case; the comment follows the move. */
    t = run(&e, "inc-later", "close-ticket",
            with(m, json_pack("{s:s, s:s, s:s}", "op", "transition", "transition", "done", "comment", "Resolved")));
    assert_int_equal(t->res.succeeded, 1);
    assert_string_equal(json_string_value(action_output(t, "key")), "OPS-1");
    assert_string_equal(json_string_value(action_output(t, "transition.id")), "31");
    assert_string_equal(json_string_value(action_output(t, "transition.name")), "Done");
    assert_string_equal(json_string_value(action_output(t, "comment_id")), "20002");
    task_free(e.w, t);
    assert_string_equal(s.status[0], "Done");
    assert_int_equal(vendor_mock_count(m), before + 4);
    assert_string_equal(vendor_mock_request(m, before + 1)->method, "GET");
    assert_string_equal(vendor_mock_request(m, before + 2)->path, "/rest/api/3/issue/OPS-1/transitions");
    assert_string_equal(vendor_mock_request(m, before + 3)->path, "/rest/api/3/issue/OPS-1/comment");

    /* By id too. */
    t = run(&e, "inc-later", "reopen", with(m, json_pack("{s:s, s:s}", "op", "transition", "transition", "21")));
    assert_int_equal(t->res.succeeded, 1);
    assert_string_equal(json_string_value(action_output(t, "transition.name")), "In Progress");
    assert_null(action_output(t, "comment_id"));
    task_free(e.w, t);
    assert_string_equal(s.status[0], "In Progress");
    assert_true(vendor_mock_clean(m));
    vendor_mock_stop(m);
    action_env_free(&e);
}

/* Without a memo, a later step finds the issue by its label; `issue` wins
 * over both. */
static void later_steps_without_memo(void **state) {
    (void)state;
    action_env e;
    jira_site s = {.issues = 2, .label = {"muster-inc-elsewhere", "muster-inc-nomemo"}};
    vendor_mock *m = vendor_mock_start(jira_handler, &s);
    assert_int_equal(action_env_init(&e, 0), 0); /* no Redis: no memo */

    task *t = run(&e, "inc-nomemo", "note", with(m, json_pack("{s:s, s:s}", "op", "comment", "comment", "hello")));
    assert_int_equal(t->res.succeeded, 1);
    assert_string_equal(json_string_value(action_output(t, "key")), "OPS-2");
    task_free(e.w, t);
    assert_int_equal(vendor_mock_count(m), 2);
    assert_string_equal(json_string_value(json_object_get(vendor_mock_request(m, 0)->query, "jql")),
                        "labels = \"muster-inc-nomemo\" ORDER BY created ASC");
    assert_string_equal(vendor_mock_request(m, 1)->path, "/rest/api/3/issue/OPS-2/comment");

    t = run(&e, "inc-nomemo", "note",
            with(m, json_pack("{s:s, s:s, s:s}", "op", "comment", "comment", "hello", "issue", "OPS-1")));
    assert_int_equal(t->res.succeeded, 1);
    assert_string_equal(json_string_value(action_output(t, "key")), "OPS-1");
    task_free(e.w, t);
    assert_int_equal(vendor_mock_count(m), 3);
    assert_string_equal(vendor_mock_request(m, 2)->path, "/rest/api/3/issue/OPS-1/comment");

    /* No issue anywhere: nothing to comment on, and no retry will help. */
    t = run(&e, "inc-none", "note", with(m, json_pack("{s:s, s:s}", "op", "comment", "comment", "hello")));
    assert_int_equal(t->res.succeeded, 0);
    assert_int_equal(t->res.permanent, 1);
    assert_non_null(strstr(t->error, "muster-inc-none"));
    task_free(e.w, t);
    assert_int_equal(vendor_mock_count(m), 4);
    assert_true(vendor_mock_clean(m));
    vendor_mock_stop(m);
    action_env_free(&e);
}

static void unknown_transition_is_permanent(void **state) {
    (void)state;
    action_env e;
    jira_site s = {.issues = 1, .label = {"muster-inc-0001"}};
    vendor_mock *m = vendor_mock_start(jira_handler, &s);
    assert_int_equal(action_env_init(&e, 0), 0);
    task *t = run(&e, NULL, "close-ticket",
                  with(m, json_pack("{s:s, s:s, s:s}", "op", "transition", "transition", "Closed", "issue", "OPS-1")));
    assert_int_equal(t->res.succeeded, 0);
    assert_int_equal(t->res.permanent, 1);
    assert_non_null(strstr(t->error, "\"Closed\""));
    assert_non_null(strstr(t->error, "To Do, In Progress, Done"));
    assert_int_equal(json_array_size(action_output(t, "available")), 3);
    task_free(e.w, t);
    assert_int_equal(vendor_mock_count(m), 1); /* only the list; nothing moved */
    assert_string_equal(s.status[0], "");
    assert_true(vendor_mock_clean(m));
    vendor_mock_stop(m);
    action_env_free(&e);
}

/* Jira's error shape becomes the message; 4xx is permanent, 429 and 5xx are
 * retried after Retry-After. The token never shows. */
static void errors_are_classified(void **state) {
    (void)state;
    static const struct {
        int status;
        const char *path, *body, *header, *value;
        int permanent;
        int64_t retry_after_ms;
        const char *says;
    } cases[] = {
        {400, "/rest/api/3/issue", "{\"errorMessages\":[],\"errors\":{\"summary\":\"You must specify a summary of the issue.\"}}",
         NULL, NULL, 1, 0, "summary: You must specify a summary of the issue."},
        {401, NULL, "{\"errorMessages\":[\"You are not authenticated. Authentication required to perform this operation.\"],\"errors\":{}}",
         NULL, NULL, 1, 0, "You are not authenticated"},
        {403, NULL, "{\"errorMessages\":[\"You do not have permission to create issues in this project.\"],\"errors\":{}}",
         NULL, NULL, 1, 0, "permission to create issues"},
        {404, NULL, "{\"errorMessages\":[\"No project could be found with key 'OPS'.\"],\"errors\":{}}", NULL, NULL, 1,
         0, "No project could be found"},
        {429, NULL, "{\"errorMessages\":[\"Rate limit exceeded.\"],\"errors\":{}}", "Retry-After", "30", 0, 30000,
         "Rate limit exceeded."},
        {500, NULL, "{\"errorMessages\":[\"Internal server error\"],\"errors\":{}}", NULL, NULL, 0, 0, "HTTP 500"},
        {503, NULL, "", "Retry-After", "5", 0, 5000, "HTTP 503"},
    };
    setenv("MUSTER_SECRET_JIRA_TOKEN", TOKEN, 1);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        action_env e;
        jira_site s = {.fail_status = cases[i].status, .fail_path = cases[i].path, .fail_body = cases[i].body,
                       .fail_header = cases[i].header, .fail_value = cases[i].value};
        vendor_mock *m = vendor_mock_start(jira_handler, &s);
        assert_int_equal(action_env_init(&e, fx.port), 0);
        json_t *w = create_with(m);
        json_object_set_new(w, "api_token", json_pack("{s:s}", "secret", "jira_token"));
        task *t = run(&e, "inc-errors", "ticket", w);
        assert_int_equal(t->res.succeeded, 0);
        assert_int_equal(t->res.permanent, cases[i].permanent);
        assert_int_equal(t->res.retry_after_ms, cases[i].retry_after_ms);
        if (!strstr(t->error, cases[i].says)) fail_msg("HTTP %d: \"%s\" lacks \"%s\"", cases[i].status, t->error, cases[i].says);
        assert_non_null(strstr(t->error, cases[i].path ? "jira create" : "jira search"));
        char *dump = json_dumps(t->res.output, JSON_COMPACT);
        assert_null(strstr(dump, TOKEN));
        assert_null(strstr(t->error, TOKEN));
        free(dump);
        assert_int_equal(json_integer_value(action_output(t, "status")), cases[i].status);
        task_free(e.w, t);
        assert_int_equal(vendor_mock_count(m), cases[i].path ? 2 : 1);
        assert_true(vendor_mock_clean(m));
        vendor_mock_stop(m);
        action_env_free(&e);
    }
    unsetenv("MUSTER_SECRET_JIRA_TOKEN");
}

/* Bad input fails at once, naming the parameter, without a request. */
static void bad_input_is_permanent(void **state) {
    (void)state;
    static const struct {
        const char *json, *says;
    } cases[] = {
        {"{\"project\":\"OPS\"}", "\"summary\" is required"},
        {"{\"summary\":\"x\"}", "\"project\" is required"},
        {"{\"op\":\"comment\"}", "jira comment: the parameter \"comment\" is required"},
        {"{\"op\":\"transition\",\"issue\":\"OPS-1\"}", "\"transition\" is required"},
        {"{\"op\":\"delete\"}", "unknown op \"delete\""},
        {"{\"project\":\"OPS\",\"summary\":\"x\",\"fields\":[1]}", "\"fields\" must be a map"},
    };
    action_env e;
    jira_site s = {0};
    vendor_mock *m = vendor_mock_start(jira_handler, &s);
    assert_int_equal(action_env_init(&e, fx.port), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        task *t = run(&e, "inc-bad", "ticket", with(m, json_loads(cases[i].json, 0, NULL)));
        assert_int_equal(t->res.succeeded, 0);
        assert_int_equal(t->res.permanent, 1);
        if (!strstr(t->error, cases[i].says)) fail_msg("\"%s\" lacks \"%s\"", t->error, cases[i].says);
        task_free(e.w, t);
    }
    json_t *w = create_with(m);
    json_object_del(w, "email");
    task *t = run(&e, "inc-bad", "ticket", w);
    assert_int_equal(t->res.permanent, 1);
    assert_non_null(strstr(t->error, "\"email\" is required"));
    task_free(e.w, t);
    assert_int_equal(vendor_mock_count(m), 0);
    vendor_mock_stop(m);
    action_env_free(&e);
}

/* `fields` reaches Jira; the named parameters and the muster label win. */
static void fields_are_merged(void **state) {
    (void)state;
    action_env e;
    jira_site s = {0};
    vendor_mock *m = vendor_mock_start(jira_handler, &s);
    assert_int_equal(action_env_init(&e, fx.port), 0);
    json_t *w = create_with(m);
    json_object_set_new(w, "issue_type", json_string("Bug"));
    json_object_set_new(w, "fields", json_pack("{s:s, s:{s:s}, s:[s], s:s}", "customfield_10010", "checkout",
                                               "issuetype", "name", "Story", "labels", "from-fields", "summary",
                                               "overridden"));
    task *t = run(&e, "inc-fields", "ticket", w);
    assert_int_equal(t->res.succeeded, 1);
    task_free(e.w, t);
    json_t *fields = json_object_get(vendor_mock_request(m, 1)->json, "fields");
    assert_string_equal(json_string_value(json_object_get(fields, "customfield_10010")), "checkout");
    assert_string_equal(json_string_value(json_object_get(json_object_get(fields, "issuetype"), "name")), "Bug");
    assert_string_equal(json_string_value(json_object_get(fields, "summary")), "checkout 5xx above 5%");
    json_t *labels = json_object_get(fields, "labels");
    assert_int_equal(json_array_size(labels), 3);
    assert_string_equal(json_string_value(json_array_get(labels, 0)), "from-fields");
    assert_string_equal(json_string_value(json_array_get(labels, 2)), "muster-inc-fields");
    assert_true(vendor_mock_clean(m));
    vendor_mock_stop(m);
    action_env_free(&e);
}

static int setup(void **state) {
    (void)state;
    return redis_fixture_start(&fx);
}

static int teardown(void **state) {
    (void)state;
    redis_fixture_stop(&fx);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_once_per_incident),
        cmocka_unit_test(comment_and_transition_use_memo),
        cmocka_unit_test(later_steps_without_memo),
        cmocka_unit_test(unknown_transition_is_permanent),
        cmocka_unit_test(errors_are_classified),
        cmocka_unit_test(bad_input_is_permanent),
        cmocka_unit_test(fields_are_merged),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
