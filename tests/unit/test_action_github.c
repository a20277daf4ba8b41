/* test_action_github.c - the github action against a mock GitHub REST API */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "state/store.h"
#include "tests/harness/action_run.h"
#include "tests/harness/redis_fixture.h"
#include "tests/harness/vendor_mock.h"
#include "worker/http.h"

#define TOKEN "ghp_mock0123456789abcdef"
#define REPO "/api/v3/repos/acme/shop"
#define MAX_ISSUES 8

static redis_fixture fx;

typedef struct gh_issue {
    char label[128];
    bool pull;        /* a pull request, which the issues list returns too */
    char state[16];
    char reason[16];
    int comments;
} gh_issue;

/* What the mock repository holds, and how it misbehaves when asked to. */
typedef struct gh_repo {
    gh_issue issues[MAX_ISSUES]; /* number i + 1 */
    int n;
    int comments;
    int fail_status;         /* answer with this status, when set, */
    const char *fail_method; /* the requests of this method (NULL: all) */
    const char *fail_body;
    const char *fail_headers[3][2];
} gh_repo;

static void not_found(mock_reply *rp) {
    mock_reply_json(rp, 404, json_pack("{s:s, s:s, s:s}", "message", "Not Found", "documentation_url",
                                       "https://docs.github.com/rest/issues/issues", "status", "404"));
}

static json_t *issue_json(const gh_repo *s, int i) {
    char url[128];
    const gh_issue *is = &s->issues[i];
    snprintf(url, sizeof(url), "https://github.com/acme/shop/%s/%d", is->pull ? "pull" : "issues", i + 1);
    json_t *o = json_pack("{s:I, s:i, s:s, s:s, s:s?, s:[{s:s}]}", "id", (json_int_t)(2000000000 + i + 1), "number",
                          i + 1, "html_url", url, "state", is->state, "state_reason", is->reason[0] ? is->reason : NULL,
                          "labels", "name", is->label);
    if (is->pull) json_object_set_new(o, "pull_request", json_pack("{s:s}", "url", url));
    return o;
}

static void list(vendor_mock *m, gh_repo *s, const mock_request *rq, mock_reply *rp) {
    const char *labels = json_string_value(json_object_get(rq->query, "labels"));
    const char *state = json_string_value(json_object_get(rq->query, "state"));
    if (!labels) mock_problem(m, "list: no labels filter");
    if (!state || strcmp(state, "all") != 0) mock_problem(m, "list: state is not all (a closed issue would be missed)");
    json_t *out = json_array();
    for (int i = 0; labels && i < s->n; i++)
        if (strcmp(s->issues[i].label, labels) == 0) json_array_append_new(out, issue_json(s, i));
    mock_reply_json(rp, 200, out);
}

static void create(vendor_mock *m, gh_repo *s, const mock_request *rq, mock_reply *rp) {
    size_t i;
    json_t *v;
    const char *muster = NULL;
    mock_expect_type(m, rq, "application/json");
    mock_expect_field(m, rq, "title", JSON_STRING);
    if (json_object_get(rq->json, "body")) mock_expect_field(m, rq, "body", JSON_STRING);
    json_array_foreach(mock_expect_field(m, rq, "labels", JSON_ARRAY), i, v) {
        if (!json_is_string(v)) mock_problem(m, "create: a label is not a string");
        else if (strncmp(json_string_value(v), "muster-", 7) == 0) muster = json_string_value(v);
    }
    if (!muster || s->n == MAX_ISSUES) {
        mock_reply_json(rp, 422, json_pack("{s:s, s:[{s:s, s:s, s:s}]}", "message", "Validation Failed", "errors",
                                           "resource", "Issue", "code", "missing_field", "field", "labels"));
        return;
    }
    gh_issue *is = &s->issues[s->n++];
    snprintf(is->label, sizeof(is->label), "%s", muster);
    snprintf(is->state, sizeof(is->state), "open");
    mock_reply_json(rp, 201, issue_json(s, s->n - 1));
}

/* /issues/N and /issues/N/comments */
static void on_issue(vendor_mock *m, gh_repo *s, const mock_request *rq, mock_reply *rp) {
    int n = 0;
    char rest[32] = "";
    int got = sscanf(rq->path, REPO "/issues/%d/%31s", &n, rest);
    if (got < 1 || n < 1 || n > s->n) {
        not_found(rp);
        return;
    }
    gh_issue *is = &s->issues[n - 1];
    mock_expect_type(m, rq, "application/json");
    if (got == 2 && strcmp(rest, "comments") == 0 && mock_expect(m, rq, "POST", rq->path)) {
        mock_expect_field(m, rq, "body", JSON_STRING);
        is->comments++;
        s->comments++;
        char url[160];
        snprintf(url, sizeof(url), "https://github.com/acme/shop/issues/%d#issuecomment-%d", n, 900 + s->comments);
        mock_reply_json(rp, 201, json_pack("{s:i, s:s, s:O}", "id", 900 + s->comments, "html_url", url, "body",
                                           json_object_get(rq->json, "body")));
    } else if (got == 1 && mock_expect(m, rq, "PATCH", rq->path)) {
        json_t *state = mock_expect_field(m, rq, "state", JSON_STRING);
        json_t *reason = mock_expect_field(m, rq, "state_reason", JSON_STRING);
        if (state) snprintf(is->state, sizeof(is->state), "%s", json_string_value(state));
        if (reason) snprintf(is->reason, sizeof(is->reason), "%s", json_string_value(reason));
        mock_reply_json(rp, 200, issue_json(s, n - 1));
    } else {
        not_found(rp);
    }
}

static void gh_handler(vendor_mock *m, void *arg, int n, const mock_request *rq, mock_reply *rp) {
    gh_repo *s = arg;
    (void)n;
    mock_expect_bearer(m, rq, TOKEN);
    mock_expect_header(m, rq, "accept", "application/vnd.github+json");
    mock_expect_header(m, rq, "x-github-api-version", "2022-11-28");
    if (s->fail_status && (!s->fail_method || strcmp(rq->method, s->fail_method) == 0)) {
        mock_reply_text(rp, s->fail_status, "application/json", s->fail_body ? s->fail_body : "");
        for (int i = 0; i < 3 && s->fail_headers[i][0]; i++)
            mock_reply_header(rp, s->fail_headers[i][0], s->fail_headers[i][1]);
        return;
    }
    if (strcmp(rq->path, REPO "/issues") == 0 && strcmp(rq->method, "GET") == 0) {
        list(m, s, rq, rp);
    } else if (strcmp(rq->path, REPO "/issues") == 0 && mock_expect(m, rq, "POST", rq->path)) {
        create(m, s, rq, rp);
    } else if (strncmp(rq->path, REPO "/issues/", strlen(REPO "/issues/")) == 0) {
        on_issue(m, s, rq, rp);
    } else {
        mock_problem(m, "unexpected %s %s", rq->method, rq->path);
        not_found(rp);
    }
}

/* The parameters every op takes, plus `more` (taken). The API sits under
 * /api/v3, as on GitHub Enterprise Server. */
static json_t *with(vendor_mock *m, json_t *more) {
    char api[128];
    snprintf(api, sizeof(api), "%s/api/v3", vendor_mock_url(m));
    json_t *w = json_pack("{s:s, s:s, s:s}", "api_url", api, "repo", "acme/shop", "token", TOKEN);
    json_object_update(w, more);
    json_decref(more);
    return w;
}

static json_t *create_with(vendor_mock *m) {
    return with(m, json_pack("{s:s, s:s, s:[s, s]}", "title", "checkout 5xx above 5%", "body",
                             "HighErrorRate on web-1", "labels", "incident", "sev1"));
}

static task *run(action_env *e, const char *incident, const char *step, json_t *w) {
    task *t = action_task(incident, step, "github", w, true);
    assert_int_equal(action_run(e, t), 0);
    return t;
}

static void create_once_per_incident(void **state) {
    (void)state;
    action_env e;
    /* A pull request already carries the incident's label: not an issue. */
    gh_repo s = {.n = 1, .issues = {{"muster-inc-create", true, "open", "", 0}}};
    vendor_mock *m = vendor_mock_start(gh_handler, &s);
    assert_int_equal(action_env_init(&e, fx.port), 0);

    task *t = run(&e, "inc-create", "ticket", create_with(m));
    assert_int_equal(t->res.succeeded, 1);
    assert_int_equal(json_integer_value(action_output(t, "number")), 2);
    assert_int_equal(json_integer_value(action_output(t, "id")), 2000000002);
    assert_string_equal(json_string_value(action_output(t, "url")), "https://github.com/acme/shop/issues/2");
    assert_true(json_is_true(action_output(t, "created")));
    task_free(e.w, t);
    assert_int_equal(vendor_mock_count(m), 2);
    const mock_request *rq = vendor_mock_request(m, 0);
    assert_string_equal(rq->method, "GET");
    assert_string_equal(json_string_value(json_object_get(rq->query, "labels")), "muster-inc-create");
    rq = vendor_mock_request(m, 1);
    assert_string_equal(json_string_value(json_object_get(rq->json, "title")), "checkout 5xx above 5%");
    assert_string_equal(json_string_value(json_object_get(rq->json, "body")), "HighErrorRate on web-1");
    json_t *labels = json_object_get(rq->json, "labels");
    assert_int_equal(json_array_size(labels), 3);
    assert_string_equal(json_string_value(json_array_get(labels, 0)), "incident");
    assert_string_equal(json_string_value(json_array_get(labels, 2)), "muster-inc-create");

    /* A retry of the step: the memo has the issue, GitHub is not asked. */
    t = run(&e, "inc-create", "ticket", create_with(m));
    assert_int_equal(t->res.succeeded, 1);
    assert_int_equal(json_integer_value(action_output(t, "number")), 2);
    assert_string_equal(json_string_value(action_output(t, "url")), "https://github.com/acme/shop/issues/2");
    assert_false(json_is_true(action_output(t, "created")));
    task_free(e.w, t);
    assert_int_equal(vendor_mock_count(m), 2);

    /* A replay without the memo: the labelled listing finds it. */
    assert_int_equal(action_memo_wipe(&e, "inc-create"), 0);
    t = run(&e, "inc-create", "ticket", create_with(m));
    assert_int_equal(t->res.succeeded, 1);
    assert_int_equal(json_integer_value(action_output(t, "number")), 2);
    assert_int_equal(json_integer_value(action_output(t, "id")), 2000000002);
    assert_false(json_is_true(action_output(t, "created")));
    task_free(e.w, t);
    assert_int_equal(vendor_mock_count(m), 3);
    assert_int_equal(s.n, 2);
    assert_true(vendor_mock_clean(m));
    vendor_mock_stop(m);
    action_env_free(&e);
}

/* comment and close (an on_resolve step) find the issue in the memo. */
static void comment_and_close_use_memo(void **state) {
    (void)state;
    action_env e;
    gh_repo s = {0};
    vendor_mock *m = vendor_mock_start(gh_handler, &s);
    assert_int_equal(action_env_init(&e, fx.port), 0);
    task *t = run(&e, "inc-later", "ticket", create_with(m));
    assert_int_equal(t->res.succeeded, 1);
    task_free(e.w, t);

    t = run(&e, "inc-later", "note", with(m, json_pack("{s:s, s:s}", "op", "comment", "body", "Paged the on-call")));
    assert_int_equal(t->res.succeeded, 1);
    assert_int_equal(json_integer_value(action_output(t, "number")), 1);
    assert_int_equal(json_integer_value(action_output(t, "comment_id")), 901);
    assert_string_equal(json_string_value(action_output(t, "url")),
                        "https://github.com/acme/shop/issues/1#issuecomment-901");
    task_free(e.w, t);
    assert_int_equal(vendor_mock_count(m), 3);
    assert_string_equal(vendor_mock_request(m, 2)->path, REPO "/issues/1/comments");

    t = run(&e, "inc-later", "close-ticket", with(m, json_pack("{s:s, s:s}", "op", "close", "body", "Resolved")));
    assert_int_equal(t->res.succeeded, 1);
    assert_int_equal(json_integer_value(action_output(t, "number")), 1);
    assert_string_equal(json_string_value(action_output(t, "state")), "closed");
    assert_int_equal(json_integer_value(action_output(t, "comment_id")), 902);
    task_free(e.w, t);
    assert_int_equal(vendor_mock_count(m), 5);
    assert_string_equal(vendor_mock_request(m, 3)->path, REPO "/issues/1/comments"); /* the comment first */
    assert_string_equal(vendor_mock_request(m, 4)->method, "PATCH");
    assert_string_equal(s.issues[0].state, "closed");
    assert_string_equal(s.issues[0].reason, "completed");
    assert_int_equal(s.issues[0].comments, 2);
    assert_true(vendor_mock_clean(m));
    vendor_mock_stop(m);
    action_env_free(&e);
}

/* Without a memo, close finds the issue by its label (a closed one too);
 * `issue` wins over both. */
static void later_steps_without_memo(void **state) {
    (void)state;
    action_env e;
    gh_repo s = {.n = 3, .issues = {{"muster-inc-nomemo", true, "open", "", 0},
                                    {"muster-inc-elsewhere", false, "open", "", 0},
                                    {"muster-inc-nomemo", false, "open", "", 0}}};
    vendor_mock *m = vendor_mock_start(gh_handler, &s);
    assert_int_equal(action_env_init(&e, 0), 0);
    task *t = run(&e, "inc-nomemo", "close-ticket", with(m, json_pack("{s:s}", "op", "close")));
    assert_int_equal(t->res.succeeded, 1);
    assert_int_equal(json_integer_value(action_output(t, "number")), 3);
    assert_null(action_output(t, "comment_id"));
    task_free(e.w, t);
    assert_int_equal(vendor_mock_count(m), 2);
    assert_string_equal(vendor_mock_request(m, 1)->path, REPO "/issues/3");
    assert_string_equal(s.issues[2].state, "closed");

    t = run(&e, "inc-nomemo", "note", with(m, json_pack("{s:s, s:s, s:s}", "op", "comment", "body", "x", "issue", "#2")));
    assert_int_equal(t->res.succeeded, 1);
    assert_int_equal(json_integer_value(action_output(t, "number")), 2);
    task_free(e.w, t);
    assert_int_equal(vendor_mock_count(m), 3);
    assert_string_equal(vendor_mock_request(m, 2)->path, REPO "/issues/2/comments");

    t = run(&e, "inc-none", "note", with(m, json_pack("{s:s, s:s}", "op", "comment", "body", "x")));
    assert_int_equal(t->res.permanent, 1);
    assert_non_null(strstr(t->error, "muster-inc-none"));
    task_free(e.w, t);
    assert_int_equal(vendor_mock_count(m), 4);
    assert_true(vendor_mock_clean(m));
    vendor_mock_stop(m);
    action_env_free(&e);
}

/* 401, 404, 410, 422 and a plain 403 are permanent; a rate limit waits
 * for its reset or Retry-After; 5xx is retried. The token never shows. */
static void errors_are_classified(void **state) {
    (void)state;
    char reset[32];
    snprintf(reset, sizeof(reset), "%lld", (long long)time(NULL) + 120);
    const struct {
        int status;
        const char *method, *body;
        const char *headers[3][2];
        int permanent;
        int64_t wait_min, wait_max;
        const char *says;
    } cases[] = {
        {401, NULL, "{\"message\":\"Bad credentials\",\"documentation_url\":\"https://docs.github.com/rest\",\"status\":\"401\"}",
         {{0}}, 1, 0, 0, "github list issues (Bad credentials)"},
        {404, NULL, "{\"message\":\"Not Found\",\"documentation_url\":\"https://docs.github.com/rest\",\"status\":\"404\"}",
         {{0}}, 1, 0, 0, "(Not Found)"},
        {410, NULL, "{\"message\":\"Issues are disabled for this repo\",\"documentation_url\":\"https://docs.github.com/rest\",\"status\":\"410\"}",
         {{0}}, 1, 0, 0, "Issues are disabled"},
        {422, "POST", "{\"message\":\"Validation Failed\",\"errors\":[{\"resource\":\"Issue\",\"code\":\"missing_field\",\"field\":\"title\"}],\"documentation_url\":\"https://docs.github.com/rest\",\"status\":\"422\"}",
         {{0}}, 1, 0, 0, "github create (Validation Failed; title missing_field)"},
        {403, NULL, "{\"message\":\"Resource not accessible by personal access token\",\"status\":\"403\"}",
         {{"x-ratelimit-remaining", "4999"}}, 1, 0, 0, "Resource not accessible"},
        {403, NULL, "{\"message\":\"API rate limit exceeded for user ID 1.\",\"status\":\"403\"}",
         {{"x-ratelimit-remaining", "0"}, {"x-ratelimit-reset", reset}}, 0, 100000, 121000, "API rate limit exceeded"},
        {429, NULL, "{\"message\":\"API rate limit exceeded for user ID 1.\",\"status\":\"429\"}",
         {{"x-ratelimit-remaining", "0"}, {"x-ratelimit-reset", reset}}, 0, 100000, 121000, "HTTP 429"},
        {403, NULL, "{\"message\":\"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.\",\"status\":\"403\"}",
         {{"retry-after", "45"}, {"x-ratelimit-remaining", "4000"}}, 0, 45000, 45000, "secondary rate limit"},
        {403, NULL, "{\"message\":\"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.\",\"status\":\"403\"}",
         {{0}}, 0, 60000, 60000, "secondary rate limit"},
        {429, NULL, "{\"message\":\"You have exceeded a secondary rate limit.\"}", {{"retry-after", "30"}}, 0, 30000,
         30000, "HTTP 429"},
        {502, NULL, "", {{0}}, 0, 0, 0, "github list issues: HTTP 502"},
    };
    setenv("MUSTER_SECRET_GH_TOKEN", TOKEN, 1);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        action_env e;
        gh_repo s = {.fail_status = cases[i].status, .fail_method = cases[i].method, .fail_body = cases[i].body};
        memcpy(s.fail_headers, cases[i].headers, sizeof(s.fail_headers));
        vendor_mock *m = vendor_mock_start(gh_handler, &s);
        assert_int_equal(action_env_init(&e, fx.port), 0);
        json_t *w = create_with(m);
        json_object_set_new(w, "token", json_pack("{s:s}", "secret", "gh_token"));
        task *t = run(&e, "inc-errors", "ticket", w);
        assert_int_equal(t->res.succeeded, 0);
        if (t->res.permanent != cases[i].permanent || t->res.retry_after_ms < cases[i].wait_min ||
            t->res.retry_after_ms > cases[i].wait_max || !strstr(t->error, cases[i].says))
            fail_msg("case %zu (HTTP %d): permanent %d, retry after %lld ms, \"%s\"", i, cases[i].status,
                     t->res.permanent, (long long)t->res.retry_after_ms, t->error);
        char *dump = json_dumps(t->res.output, JSON_COMPACT);
        assert_null(strstr(dump, TOKEN));
        free(dump);
        task_free(e.w, t);
        assert_int_equal(vendor_mock_count(m), cases[i].method ? 2 : 1);
        assert_int_equal(s.n, 0);
        assert_true(vendor_mock_clean(m));
        vendor_mock_stop(m);
        action_env_free(&e);
    }
    unsetenv("MUSTER_SECRET_GH_TOKEN");
}

/* Bad input fails at once, naming the parameter, without a request. */
static void bad_input_is_permanent(void **state) {
    (void)state;
    static const struct {
        const char *json, *says;
    } cases[] = {
        {"{\"body\":\"x\"}", "github create: the parameter \"title\" is required"},
        {"{\"op\":\"comment\"}", "github comment: the parameter \"body\" is required"},
        {"{\"op\":\"reopen\"}", "unknown op \"reopen\""},
        {"{\"op\":\"close\",\"issue\":\"twelve\"}", "\"issue\" must be an issue number"},
        {"{\"title\":\"x\",\"repo\":\"acme\"}", "\"repo\" must be owner/name"},
        {"{\"title\":\"x\",\"repo\":\"acme/../../user\"}", "\"repo\" must be owner/name"},
        {"{\"title\":\"x\",\"token\":\"\"}", "the parameter \"token\" is required"},
    };
    action_env e;
    gh_repo s = {0};
    vendor_mock *m = vendor_mock_start(gh_handler, &s);
    assert_int_equal(action_env_init(&e, fx.port), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        task *t = run(&e, "inc-bad", "ticket", with(m, json_loads(cases[i].json, 0, NULL)));
        assert_int_equal(t->res.succeeded, 0);
        assert_int_equal(t->res.permanent, 1);
        if (!strstr(t->error, cases[i].says)) fail_msg("\"%s\" lacks \"%s\"", t->error, cases[i].says);
        task_free(e.w, t);
    }
    assert_int_equal(vendor_mock_count(m), 0);
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
        cmocka_unit_test(comment_and_close_use_memo),
        cmocka_unit_test(later_steps_without_memo),
        cmocka_unit_test(errors_are_classified),
        cmocka_unit_test(bad_input_is_permanent),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
