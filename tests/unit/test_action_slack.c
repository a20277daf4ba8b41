/* test_action_slack.c - the slack action against a mock of Slack's Web API
 * and of an incoming webhook, with the incident memo in a real Redis */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness/action_run.h"
#include "tests/harness/redis_fixture.h"
#include "tests/harness/vendor_mock.h"

#define TOKEN "xoxb-planted-7d1e2c"
#define HOOK_PATH "/services/T000/B000/XXXX"

static redis_fixture fx;

/* How the mock answers: a Web API error code, or an HTTP status with a
 * body, or (neither) success. */
typedef struct slack_mock {
    const char *error;       /* {"ok":false,"error":...} with HTTP 200 */
    int status;              /* a non-200 answer */
    const char *text;        /* its body */
    const char *retry_after; /* its Retry-After */
} slack_mock;

static void reply_failure(const slack_mock *sm, mock_reply *rp, const char *type) {
    mock_reply_text(rp, sm->status, type, sm->text ? sm->text : "");
    if (sm->retry_after) mock_reply_header(rp, "Retry-After", sm->retry_after);
}

/* A Block Kit text object: {type: plain_text|mrkdwn, text} within max
 * characters (bytes here, which is stricter). */
static void check_text(vendor_mock *m, const json_t *o, const char *where, bool plain, size_t max) {
    const char *type = json_string_value(json_object_get(o, "type"));
    const char *text = json_string_value(json_object_get(o, "text"));
    if (!type || (strcmp(type, "plain_text") != 0 && (plain || strcmp(type, "mrkdwn") != 0)))
        mock_problem(m, "%s: text object type is not %s", where, plain ? "plain_text" : "plain_text or mrkdwn");
    if (!text || !*text || strlen(text) > max) mock_problem(m, "%s: text missing or over %zu", where, max);
}

/* The blocks Slack documents for what this action sends: section (a text
 * object of at most 3000 characters) and actions (1 to 25 elements; a
 * button has a plain_text label of at most 75 characters, an action_id of
 * at most 255 characters unique in the message, a value of at most 2000,
 * style primary or danger, and a confirm dialog of title, text, confirm
 * and deny); at most 50 blocks. */
static void check_blocks(vendor_mock *m, const json_t *blocks) {
    json_t *ids = json_object();
    if (json_array_size(blocks) > 50) mock_problem(m, "more than 50 blocks");
    for (size_t i = 0; i < json_array_size(blocks); i++) {
        const json_t *b = json_array_get(blocks, i), *el;
        const char *type = json_string_value(json_object_get(b, "type"));
        if (type && strcmp(type, "section") == 0)
            check_text(m, json_object_get(b, "text"), "section", false, 3000);
        if (!type || strcmp(type, "actions") != 0) continue;
        const json_t *els = json_object_get(b, "elements");
        if (!json_is_array(els) || json_array_size(els) < 1 || json_array_size(els) > 25)
            mock_problem(m, "actions block %zu: elements must be 1 to 25", i);
        size_t k;
        json_array_foreach(els, k, el) {
            const char *et = json_string_value(json_object_get(el, "type"));
            const char *id = json_string_value(json_object_get(el, "action_id"));
            const char *value = json_string_value(json_object_get(el, "value"));
            const char *style = json_string_value(json_object_get(el, "style"));
            const json_t *confirm = json_object_get(el, "confirm");
            if (!et || strcmp(et, "button") != 0) continue;
            check_text(m, json_object_get(el, "text"), "button", true, 75);
            if (!id || strlen(id) > 255 || json_object_get(ids, id))
                mock_problem(m, "button action_id missing, too long or not unique");
            else json_object_set_new(ids, id, json_true());
            if (value && strlen(value) > 2000) mock_problem(m, "button value over 2000");
            if (style && strcmp(style, "primary") != 0 && strcmp(style, "danger") != 0)
                mock_problem(m, "button style %s", style);
            if (confirm) {
                check_text(m, json_object_get(confirm, "title"), "confirm title", true, 100);
                check_text(m, json_object_get(confirm, "text"), "confirm text", false, 300);
                check_text(m, json_object_get(confirm, "confirm"), "confirm confirm", true, 30);
                check_text(m, json_object_get(confirm, "deny"), "confirm deny", true, 30);
            }
        }
    }
    json_decref(ids);
}

/* chat.postMessage as documented: bearer token, JSON with channel and text
 * strings, blocks a list, thread_ts a string when present; the answer
 * {"ok":true,"channel","ts","message"} with a new ts for every message. */
static void api_handler(vendor_mock *m, void *arg, int n, const mock_request *rq, mock_reply *rp) {
    const slack_mock *sm = arg;
    char ts[32];
    mock_expect(m, rq, "POST", "/api/chat.postMessage");
    mock_expect_bearer(m, rq, TOKEN);
    mock_expect_type(m, rq, "application/json");
    mock_expect_field(m, rq, "channel", JSON_STRING);
    mock_expect_field(m, rq, "text", JSON_STRING);
    json_t *blocks = json_object_get(rq->json, "blocks");
    if (blocks) mock_expect_field(m, rq, "blocks", JSON_ARRAY);
    for (size_t i = 0; i < json_array_size(blocks); i++)
        if (!json_is_string(json_object_get(json_array_get(blocks, i), "type")))
            mock_problem(m, "block %zu has no type", i);
    check_blocks(m, blocks);
    if (json_object_get(rq->json, "thread_ts")) mock_expect_field(m, rq, "thread_ts", JSON_STRING);
    if (sm && sm->status) {
        reply_failure(sm, rp, "application/json");
    } else if (sm && sm->error) {
        mock_reply_json(rp, 200, json_pack("{s:b, s:s}", "ok", 0, "error", sm->error));
    } else {
        snprintf(ts, sizeof(ts), "1700000000.%06d", n + 1);
        mock_reply_json(rp, 200,
                        json_pack("{s:b, s:s, s:s, s:{s:s, s:s, s:s}}", "ok", 1, "channel", "C0OPS",
                                  "ts", ts, "message", "type", "message", "text",
                                  json_string_value(json_object_get(rq->json, "text")), "ts", ts));
    }
}

/* An incoming webhook: JSON with text, no channel or token; "ok" as text. */
static void hook_handler(vendor_mock *m, void *arg, int n, const mock_request *rq, mock_reply *rp) {
    const slack_mock *sm = arg;
    (void)n;
    mock_expect(m, rq, "POST", HOOK_PATH);
    mock_expect_type(m, rq, "application/json");
    mock_expect_field(m, rq, "text", JSON_STRING);
    if (json_object_get(rq->headers, "authorization")) mock_problem(m, "a webhook gets no token");
    if (json_object_get(rq->json, "channel") || json_object_get(rq->json, "thread_ts"))
        mock_problem(m, "a webhook takes neither channel nor thread_ts");
    if (sm && sm->status)
        reply_failure(sm, rp, "text/html");
    else
        mock_reply_text(rp, 200, "text/html", "ok");
}

static int setup(void **state) {
    (void)state;
    setenv("MUSTER_SECRET_SLACK_BOT", TOKEN, 1);
    return redis_fixture_start(&fx);
}

static int teardown(void **state) {
    (void)state;
    redis_fixture_stop(&fx);
    return 0;
}

static json_t *api_with(vendor_mock *m, const char *channel) {
    char api[128];
    snprintf(api, sizeof(api), "%s/api", vendor_mock_url(m));
    return json_pack("{s:{s:s}, s:s, s:s, s:s}", "token", "secret", "slack_bot", "channel", channel,
                     "text", "{{ alert.summary }}", "api_url", api);
}

/* Runs one step; the task is left for the caller to look at and free. */
static task *run(action_env *e, const char *incident, const char *step, json_t *with) {
    task *t = action_task(incident, step, "slack", with, true);
    assert_int_equal(action_run(e, t), 0);
    return t;
}

static const char *out_str(const task *t, const char *path) {
    return json_string_value(action_output(t, path));
}

/* The first message of an incident starts a thread in its channel; later
 * steps reply in it; thread: false and another channel do not. */
static void posts_and_threads(void **state) {
    (void)state;
    action_env e;
    vendor_mock *m = vendor_mock_start(api_handler, NULL);
    assert_int_equal(action_env_init(&e, fx.port), 0);

    json_t *with = api_with(m, "#ops");
    json_object_set_new(with, "blocks",
                        json_pack("[{s:s, s:{s:s, s:s}}]", "type", "section", "text", "type",
                                  "mrkdwn", "text", "*{{ alert.name }}*"));
    task *t = run(&e, "inc-thread", "open", with);
    assert_int_equal(t->res.succeeded, 1);
    assert_true(json_is_true(action_output(t, "ok")));
    assert_string_equal(out_str(t, "channel"), "C0OPS");
    assert_string_equal(out_str(t, "ts"), "1700000000.000001");
    assert_true(json_is_null(action_output(t, "thread_ts")));
    assert_true(json_is_false(action_output(t, "deduplicated")));
    /* The token came from a secret: it is nowhere in what the worker keeps. */
    char *dump = json_dumps(t->res.output, JSON_COMPACT);
    assert_null(strstr(dump, TOKEN));
    free(dump);
    task_free(e.w, t);

    t = run(&e, "inc-thread", "update", api_with(m, "#ops"));
    assert_int_equal(t->res.succeeded, 1);
    assert_string_equal(out_str(t, "ts"), "1700000000.000002");
    assert_string_equal(out_str(t, "thread_ts"), "1700000000.000001");
    task_free(e.w, t);

    with = api_with(m, "#ops");
    json_object_set_new(with, "thread", json_false());
    t = run(&e, "inc-thread", "broadcast", with);
    assert_int_equal(t->res.succeeded, 1);
    assert_true(json_is_null(action_output(t, "thread_ts")));
    task_free(e.w, t);

    t = run(&e, "inc-thread", "other_channel", api_with(m, "#dba"));
    assert_true(json_is_null(action_output(t, "thread_ts")));
    task_free(e.w, t);

    /* A new incident in the same channel starts its own thread. */
    t = run(&e, "inc-thread-2", "open", api_with(m, "#ops"));
    assert_true(json_is_null(action_output(t, "thread_ts")));
    task_free(e.w, t);

    assert_int_equal(vendor_mock_count(m), 5);
    const mock_request *rq = vendor_mock_request(m, 0);
    assert_string_equal(json_string_value(json_object_get(rq->json, "channel")), "#ops");
    assert_string_equal(json_string_value(json_object_get(rq->json, "text")), "checkout 5xx above 5%");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(json_object_get(rq->json, "blocks"), 0), "text"),
                            "text")),
                        "*HighErrorRate*");
    assert_null(json_object_get(rq->json, "thread_ts"));
    assert_string_equal(json_string_value(json_object_get(vendor_mock_request(m, 1)->json, "thread_ts")),
                        "1700000000.000001");
    for (int i = 2; i < 5; i++) assert_null(json_object_get(vendor_mock_request(m, i)->json, "thread_ts"));
    assert_true(vendor_mock_clean(m));
    vendor_mock_stop(m);
    action_env_free(&e);
}

/* A step that runs again (a retry after a lost answer, a replay) does not
 * post again: it answers what it posted the first time. */
static void second_run_does_not_post(void **state) {
    (void)state;
    action_env e;
    vendor_mock *m = vendor_mock_start(api_handler, NULL);
    assert_int_equal(action_env_init(&e, fx.port), 0);
    task *t = run(&e, "inc-twice", "notify", api_with(m, "#ops"));
    assert_int_equal(t->res.succeeded, 1);
    task_free(e.w, t);
    t = run(&e, "inc-twice", "notify", api_with(m, "#ops"));
    assert_int_equal(t->res.succeeded, 1);
    assert_true(json_is_true(action_output(t, "deduplicated")));
    assert_string_equal(out_str(t, "ts"), "1700000000.000001");
    assert_string_equal(out_str(t, "channel"), "C0OPS");
    task_free(e.w, t);
    assert_int_equal(vendor_mock_count(m), 1);

    /* The webhook mode keeps its step the same way. */
    vendor_mock *h = vendor_mock_start(hook_handler, NULL);
    char url[160];
    snprintf(url, sizeof(url), "%s" HOOK_PATH, vendor_mock_url(h));
    for (int i = 0; i < 2; i++) {
        t = run(&e, "inc-twice", "hook", json_pack("{s:s, s:s}", "webhook_url", url, "text", "down"));
        assert_int_equal(t->res.succeeded, 1);
        assert_int_equal(json_integer_value(action_output(t, "status")), 200);
        assert_int_equal(json_is_true(action_output(t, "deduplicated")), i == 1);
        task_free(e.w, t);
    }
    assert_int_equal(vendor_mock_count(h), 1);
    assert_true(vendor_mock_clean(m));
    assert_true(vendor_mock_clean(h));
    vendor_mock_stop(h);
    vendor_mock_stop(m);
    action_env_free(&e);
}

/* ok:false codes: the token's, channel's and message's faults are
 * permanent; Slack's own trouble is retried; HTTP 429 waits Retry-After. */
static void api_errors_classified(void **state) {
    (void)state;
    static const struct {
        slack_mock sm;
        int permanent;
        int64_t retry_after_ms;
        const char *in_error;
    } cases[] = {
        {{.error = "invalid_auth"}, 1, 0, "invalid_auth"},
        {{.error = "not_authed"}, 1, 0, "not_authed"},
        {{.error = "account_inactive"}, 1, 0, "account_inactive"},
        {{.error = "channel_not_found"}, 1, 0, "channel_not_found"},
        {{.error = "not_in_channel"}, 1, 0, "not_in_channel"},
        {{.error = "is_archived"}, 1, 0, "is_archived"},
        {{.error = "msg_too_long"}, 1, 0, "msg_too_long"},
        {{.error = "no_text"}, 1, 0, "no_text"},
        {{.error = "invalid_blocks"}, 1, 0, "invalid_blocks"},
        {{.error = "internal_error"}, 0, 0, "internal_error"},
        {{.error = "fatal_error"}, 0, 0, "fatal_error"},
        {{.error = "service_unavailable"}, 0, 0, "service_unavailable"},
        {{.error = "request_timeout"}, 0, 0, "request_timeout"},
        {{.status = 429, .text = "{\"ok\":false,\"error\":\"ratelimited\"}", .retry_after = "30"},
         0, 30000, "HTTP 429"},
        {{.status = 503, .text = "unavailable"}, 0, 0, "HTTP 503"},
    };
    action_env e;
    assert_int_equal(action_env_init(&e, fx.port), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vendor_mock *m = vendor_mock_start(api_handler, (void *)&cases[i].sm);
        task *t = run(&e, "inc-errors", "notify", api_with(m, "#ops"));
        assert_int_equal(t->res.succeeded, 0);
        if (t->res.permanent != cases[i].permanent)
            fail_msg("case %zu (%s): permanent %d", i, t->error, t->res.permanent);
        assert_int_equal(t->res.retry_after_ms, cases[i].retry_after_ms);
        assert_non_null(strstr(t->error, cases[i].in_error));
        task_free(e.w, t);
        assert_true(vendor_mock_clean(m));
        vendor_mock_stop(m);
    }
    /* None of the failures counted as sent: the next attempt posts. */
    vendor_mock *m = vendor_mock_start(api_handler, NULL);
    task *t = run(&e, "inc-errors", "notify", api_with(m, "#ops"));
    assert_int_equal(t->res.succeeded, 1);
    assert_true(json_is_false(action_output(t, "deduplicated")));
    assert_int_equal(vendor_mock_count(m), 1);
    task_free(e.w, t);
    vendor_mock_stop(m);
    action_env_free(&e);
}

/* An incoming webhook's text errors: 4xx permanent, 429 and 5xx retried. */
static void webhook_errors_classified(void **state) {
    (void)state;
    static const struct {
        slack_mock sm;
        int permanent;
        int64_t retry_after_ms;
    } cases[] = {
        {{.status = 400, .text = "invalid_payload"}, 1, 0},
        {{.status = 403, .text = "action_prohibited"}, 1, 0},
        {{.status = 404, .text = "channel_not_found"}, 1, 0},
        {{.status = 404, .text = "no_service"}, 1, 0},
        {{.status = 410, .text = "channel_is_archived"}, 1, 0},
        {{.status = 429, .text = "rate_limited", .retry_after = "12"}, 0, 12000},
        {{.status = 500, .text = "rollup_error"}, 0, 0},
    };
    action_env e;
    char url[160];
    assert_int_equal(action_env_init(&e, fx.port), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vendor_mock *m = vendor_mock_start(hook_handler, (void *)&cases[i].sm);
        snprintf(url, sizeof(url), "%s" HOOK_PATH, vendor_mock_url(m));
        task *t = run(&e, "inc-hook-errors", "hook",
                      json_pack("{s:s, s:s}", "webhook_url", url, "text", "down"));
        assert_int_equal(t->res.succeeded, 0);
        assert_int_equal(t->res.permanent, cases[i].permanent);
        assert_int_equal(t->res.retry_after_ms, cases[i].retry_after_ms);
        assert_non_null(strstr(t->error, cases[i].sm.text));
        task_free(e.w, t);
        assert_true(vendor_mock_clean(m));
        vendor_mock_stop(m);
    }
    action_env_free(&e);
}

/* Exactly one of token+channel and webhook_url; blocks a list; some text. */
static void bad_parameters(void **state) {
    (void)state;
    static const struct {
        const char *with;
        const char *in_error;
    } cases[] = {
        {"{\"text\": \"x\"}", "needs token and channel"},
        {"{\"text\": \"x\", \"token\": \"t\"}", "token needs channel"},
        {"{\"text\": \"x\", \"channel\": \"#ops\"}", "channel needs token"},
        {"{\"text\": \"x\", \"token\": \"t\", \"channel\": \"#ops\", \"webhook_url\": \"URL\"}",
         "not both"},
        {"{\"text\": \"x\", \"channel\": \"#ops\", \"webhook_url\": \"URL\"}", "not both"},
        {"{\"text\": \"x\", \"token\": \"t\", \"channel\": \"#ops\", \"blocks\": {\"type\": \"section\"}}",
         "blocks must be a list"},
        {"{\"text\": \"\", \"token\": \"t\", \"channel\": \"#ops\"}", "needs text"},
        {"{\"text\": \"x\", \"token\": \"t\", \"channel\": \"#ops\", \"thread\": \"yes\"}",
         "thread must be true or false"},
    };
    action_env e;
    vendor_mock *m = vendor_mock_start(api_handler, NULL);
    assert_int_equal(action_env_init(&e, fx.port), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *with = json_loads(cases[i].with, 0, NULL);
        assert_non_null(with);
        if (json_object_get(with, "webhook_url"))
            json_object_set_new(with, "webhook_url", json_string(vendor_mock_url(m)));
        task *t = run(&e, "inc-bad", "notify", with);
        assert_int_equal(t->res.succeeded, 0);
        assert_int_equal(t->res.permanent, 1);
        if (!strstr(t->error, cases[i].in_error))
            fail_msg("case %zu: \"%s\" does not say \"%s\"", i, t->error, cases[i].in_error);
        task_free(e.w, t);
    }
    assert_int_equal(vendor_mock_count(m), 0);
    vendor_mock_stop(m);
    action_env_free(&e);
}

/* With the memo unreachable the action cannot know whether it already
 * posted: it fails, to be retried, and posts nothing. */
static void memo_down_posts_nothing(void **state) {
    (void)state;
    redis_fixture gone;
    action_env e;
    vendor_mock *m = vendor_mock_start(api_handler, NULL);
    assert_int_equal(redis_fixture_start(&gone), 0);
    assert_int_equal(action_env_init(&e, gone.port), 0);
    redis_fixture_stop(&gone);
    task *t = run(&e, "inc-memo-down", "notify", api_with(m, "#ops"));
    assert_int_equal(t->res.succeeded, 0);
    assert_int_equal(t->res.permanent, 0);
    assert_non_null(strstr(t->error, "memo"));
    assert_int_equal(vendor_mock_count(m), 0);
    task_free(e.w, t);
    vendor_mock_stop(m);
    action_env_free(&e);
}

/* The button row of the page's blocks, or NULL. */
static const json_t *button_row(const json_t *blocks) {
    const json_t *last = json_array_get(blocks, json_array_size(blocks) - 1);
    const char *type = json_string_value(json_object_get(last, "type"));
    return type && strcmp(type, "actions") == 0 ? json_object_get(last, "elements") : NULL;
}

/* buttons: true adds Acknowledge and Resolve for the incident; the text
 * moves into sections (Slack shows only blocks when there are some), cut
 * at 3000 bytes on a UTF-8 boundary; given blocks keep theirs, the row
 * after them. */
static void ack_buttons(void **state) {
    (void)state;
    action_env e;
    vendor_mock *m = vendor_mock_start(api_handler, NULL);
    assert_int_equal(action_env_init(&e, fx.port), 0);
    json_t *with = api_with(m, "#ops");
    json_object_set_new(with, "buttons", json_true());
    task *t = run(&e, "inc-buttons", "page", with);
    assert_int_equal(t->res.succeeded, 1);
    task_free(e.w, t);
    const json_t *blocks = json_object_get(vendor_mock_request(m, 0)->json, "blocks");
    assert_int_equal(json_array_size(blocks), 2);
    assert_string_equal(json_string_value(json_dotted((json_t *)json_array_get(blocks, 0), "text.text")),
                        "checkout 5xx above 5%");
    const json_t *row = button_row(blocks);
    assert_int_equal(json_array_size(row), 2);
    static const char *const ids[] = {"muster_ack", "muster_resolve"};
    static const char *const styles[] = {"primary", "danger"};
    for (size_t i = 0; i < 2; i++) {
        const json_t *b = json_array_get(row, i);
        assert_string_equal(json_string_value(json_object_get(b, "action_id")), ids[i]);
        assert_string_equal(json_string_value(json_object_get(b, "value")), "inc-buttons");
        assert_string_equal(json_string_value(json_object_get(b, "style")), styles[i]);
    }
    assert_string_equal(json_string_value(json_dotted((json_t *)json_array_get(row, 0), "text.text")),
                        "Acknowledge");
    assert_non_null(json_object_get(json_array_get(row, 1), "confirm"));

    /* A long text: two sections, no character split. */
    char *text = malloc(3200);
    memset(text, 'a', 2999);
    memcpy(text + 2999, "\xc3\xa9", 2); /* "é" across the 3000th byte */
    memset(text + 3001, 'b', 100);
    text[3101] = '\0';
    with = api_with(m, "#ops");
    json_object_set_new(with, "text", json_string(text));
    json_object_set_new(with, "buttons", json_true());
    t = run(&e, "inc-buttons-long", "page", with);
    assert_int_equal(t->res.succeeded, 1);
    task_free(e.w, t);
    blocks = json_object_get(vendor_mock_request(m, 1)->json, "blocks");
    assert_int_equal(json_array_size(blocks), 3);
    assert_int_equal(strlen(json_string_value(json_dotted((json_t *)json_array_get(blocks, 0), "text.text"))), 2999);
    free(text);

    /* Blocks of the step's own: kept, the row last. */
    with = api_with(m, "#ops");
    json_object_set_new(with, "blocks", json_pack("[{s:s, s:{s:s, s:s}}]", "type", "header", "text",
                                                  "type", "plain_text", "text", "Page"));
    json_object_set_new(with, "buttons", json_true());
    t = run(&e, "inc-buttons-blocks", "page", with);
    assert_int_equal(t->res.succeeded, 1);
    task_free(e.w, t);
    blocks = json_object_get(vendor_mock_request(m, 2)->json, "blocks");
    assert_int_equal(json_array_size(blocks), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(blocks, 0), "type")), "header");
    assert_non_null(button_row(blocks));
    assert_true(vendor_mock_clean(m));
    vendor_mock_stop(m);
    action_env_free(&e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(posts_and_threads),
        cmocka_unit_test(second_run_does_not_post),
        cmocka_unit_test(api_errors_classified),
        cmocka_unit_test(webhook_errors_classified),
        cmocka_unit_test(bad_parameters),
        cmocka_unit_test(memo_down_posts_nothing),
        cmocka_unit_test(ack_buttons),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
