/* test_action_teams.c - the teams action against a mock of a Teams incoming
 * webhook and of a Workflows webhook, with the incident memo in Redis */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/signature.h"
#include "tests/harness/action_run.h"
#include "tests/harness/redis_fixture.h"
#include "tests/harness/vendor_mock.h"

#define HOOK_PATH "/workflows/abc/triggers/manual/paths/invoke"

static redis_fixture fx;

/* The answer: status and body (Workflows: 202 and nothing; a legacy
 * connector: 200 and "1"), and a Retry-After. */
typedef struct teams_mock {
    int status;
    const char *text;
    const char *retry_after;
} teams_mock;

/* A message with exactly one Adaptive Card attachment, as Teams takes it. */
static void hook_handler(vendor_mock *m, void *arg, int n, const mock_request *rq, mock_reply *rp) {
    const teams_mock *tm = arg;
    (void)n;
    mock_expect(m, rq, "POST", HOOK_PATH);
    mock_expect_type(m, rq, "application/json");
    json_t *type = mock_expect_field(m, rq, "type", JSON_STRING);
    if (type && strcmp(json_string_value(type), "message") != 0)
        mock_problem(m, "type is %s, not message", json_string_value(type));
    json_t *atts = mock_expect_field(m, rq, "attachments", JSON_ARRAY);
    json_t *a = json_array_get(atts, 0);
    if (json_array_size(atts) != 1) mock_problem(m, "expected one attachment");
    const char *ct = json_string_value(json_object_get(a, "contentType"));
    if (!ct || strcmp(ct, "application/vnd.microsoft.card.adaptive") != 0)
        mock_problem(m, "attachment contentType is %s", ct ? ct : "missing");
    if (!json_is_null(json_object_get(a, "contentUrl"))) mock_problem(m, "contentUrl is not null");
    json_t *card = json_object_get(a, "content");
    const char *ctype = json_string_value(json_object_get(card, "type"));
    if (!ctype || strcmp(ctype, "AdaptiveCard") != 0) mock_problem(m, "content is not an AdaptiveCard");
    if (!json_is_string(json_object_get(card, "version"))) mock_problem(m, "card has no version");
    if (!json_is_array(json_object_get(card, "body"))) mock_problem(m, "card has no body list");
    mock_reply_text(rp, tm ? tm->status : 202, "text/plain", tm && tm->text ? tm->text : "");
    if (tm && tm->retry_after) mock_reply_header(rp, "Retry-After", tm->retry_after);
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

static json_t *hook_with(vendor_mock *m) {
    char url[200];
    snprintf(url, sizeof(url), "%s" HOOK_PATH "?api-version=1&sig=planted", vendor_mock_url(m));
    return json_pack("{s:s, s:s, s:s, s:{s:s, s:s}}", "webhook_url", url, "title",
                     "{{ alert.name }}", "text", "{{ alert.summary }}", "facts", "Service",
                     "{{ alert.labels.service }}", "Severity", "{{ alert.labels.severity }}");
}

static task *run(action_env *e, const char *incident, const char *step, json_t *with) {
    task *t = action_task(incident, step, "teams", with, true);
    assert_int_equal(action_run(e, t), 0);
    return t;
}

static const char *str_at(const json_t *o, const char *key) {
    return json_string_value(json_object_get(o, key));
}

/* title, text and facts become a bold TextBlock, a wrapping TextBlock and
 * a FactSet; a Workflows webhook's 202 is success. */
static void card_built_and_sent(void **state) {
    (void)state;
    action_env e;
    vendor_mock *m = vendor_mock_start(hook_handler, NULL);
    assert_int_equal(action_env_init(&e, fx.port), 0);
    task *t = run(&e, "inc-card", "notify", hook_with(m));
    assert_int_equal(t->res.succeeded, 1);
    assert_int_equal(json_integer_value(action_output(t, "status")), 202);
    assert_true(json_is_false(action_output(t, "deduplicated")));
    task_free(e.w, t);

    assert_int_equal(vendor_mock_count(m), 1);
    const mock_request *rq = vendor_mock_request(m, 0);
    json_t *card = json_object_get(json_array_get(json_object_get(rq->json, "attachments"), 0), "content");
    assert_string_equal(str_at(card, "version"), "1.4");
    assert_string_equal(str_at(card, "$schema"), "http://adaptivecards.io/schemas/adaptive-card.json");
    json_t *body = json_object_get(card, "body");
    assert_int_equal(json_array_size(body), 3);
    json_t *title = json_array_get(body, 0), *text = json_array_get(body, 1);
    json_t *facts = json_array_get(body, 2);
    assert_string_equal(str_at(title, "type"), "TextBlock");
    assert_string_equal(str_at(title, "text"), "HighErrorRate");
    assert_string_equal(str_at(title, "weight"), "Bolder");
    assert_string_equal(str_at(text, "type"), "TextBlock");
    assert_string_equal(str_at(text, "text"), "checkout 5xx above 5%");
    assert_true(json_is_true(json_object_get(text, "wrap")));
    assert_string_equal(str_at(facts, "type"), "FactSet");
    json_t *list = json_object_get(facts, "facts");
    assert_int_equal(json_array_size(list), 2);
    for (size_t i = 0; i < 2; i++) {
        const char *name = str_at(json_array_get(list, i), "title");
        const char *value = str_at(json_array_get(list, i), "value");
        assert_non_null(name);
        assert_string_equal(value, strcmp(name, "Service") == 0 ? "checkout" : "critical");
    }
    assert_true(vendor_mock_clean(m));
    vendor_mock_stop(m);
    action_env_free(&e);
}

/* `card` replaces the whole card; a legacy connector's 200 "1" is success. */
static void card_given_legacy_connector(void **state) {
    (void)state;
    action_env e;
    teams_mock tm = {.status = 200, .text = "1"};
    vendor_mock *m = vendor_mock_start(hook_handler, &tm);
    assert_int_equal(action_env_init(&e, fx.port), 0);
    json_t *with = hook_with(m);
    json_object_set_new(with, "card",
                        json_pack("{s:s, s:s, s:[{s:s, s:s}], s:[{s:s, s:s, s:s}]}", "type",
                                  "AdaptiveCard", "version", "1.5", "body", "type", "TextBlock",
                                  "text", "custom {{ alert.labels.instance }}", "actions", "type",
                                  "Action.OpenUrl", "title", "Runbook", "url",
                                  "{{ alert.annotations.runbook }}"));
    task *t = run(&e, "inc-given", "notify", with);
    assert_int_equal(t->res.succeeded, 1);
    assert_int_equal(json_integer_value(action_output(t, "status")), 200);
    task_free(e.w, t);
    const mock_request *rq = vendor_mock_request(m, 0);
    assert_non_null(rq);
    json_t *card = json_object_get(json_array_get(json_object_get(rq->json, "attachments"), 0), "content");
    assert_string_equal(str_at(card, "version"), "1.5");
    assert_int_equal(json_array_size(json_object_get(card, "body")), 1);
    assert_string_equal(str_at(json_array_get(json_object_get(card, "body"), 0), "text"),
                        "custom web-1:8080");
    assert_string_equal(str_at(json_array_get(json_object_get(card, "actions"), 0), "url"),
                        "https://runbooks.example.com/checkout");
    assert_true(vendor_mock_clean(m));
    vendor_mock_stop(m);
    action_env_free(&e);
}

/* The same step again answers from the memo and posts nothing. */
static void second_run_does_not_post(void **state) {
    (void)state;
    action_env e;
    vendor_mock *m = vendor_mock_start(hook_handler, NULL);
    assert_int_equal(action_env_init(&e, fx.port), 0);
    for (int i = 0; i < 3; i++) {
        task *t = run(&e, "inc-twice", "notify", hook_with(m));
        assert_int_equal(t->res.succeeded, 1);
        assert_int_equal(json_integer_value(action_output(t, "status")), 202);
        assert_int_equal(json_is_true(action_output(t, "deduplicated")), i > 0);
        task_free(e.w, t);
    }
    assert_int_equal(vendor_mock_count(m), 1);
    /* Another step of the incident is its own message. */
    task *t = run(&e, "inc-twice", "update", hook_with(m));
    assert_true(json_is_false(action_output(t, "deduplicated")));
    task_free(e.w, t);
    assert_int_equal(vendor_mock_count(m), 2);
    assert_true(vendor_mock_clean(m));
    vendor_mock_stop(m);
    action_env_free(&e);
}

/* 400 and 413 are permanent; 429 waits Retry-After; 5xx is retried; a
 * connector's 200 that wraps Teams' error is classified by that error. */
static void errors_classified(void **state) {
    (void)state;
    static const struct {
        teams_mock tm;
        int permanent;
        int64_t retry_after_ms;
        const char *in_error;
    } cases[] = {
        {{400, "Bad payload received by generic incoming webhook.", NULL}, 1, 0, "HTTP 400"},
        {{413, "too large", NULL}, 1, 0, "HTTP 413"},
        {{429, "Too many requests", "5"}, 0, 5000, "HTTP 429"},
        {{500, "", NULL}, 0, 0, "HTTP 500"},
        {{502, "", NULL}, 0, 0, "HTTP 502"},
        {{200,
          "Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP "
          "error 429 with ContextId tcid=0,server=msgapi,cv=x.0..",
          NULL},
         0, 0, "HTTP 429"},
        {{200,
          "Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP "
          "error 400 with ContextId tcid=0,server=msgapi,cv=x.0..",
          NULL},
         1, 0, "HTTP 400"},
    };
    action_env e;
    assert_int_equal(action_env_init(&e, fx.port), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vendor_mock *m = vendor_mock_start(hook_handler, (void *)&cases[i].tm);
        task *t = run(&e, "inc-errors", "notify", hook_with(m));
        assert_int_equal(t->res.succeeded, 0);
        if (t->res.permanent != cases[i].permanent)
            fail_msg("case %zu (%s): permanent %d", i, t->error, t->res.permanent);
        assert_int_equal(t->res.retry_after_ms, cases[i].retry_after_ms);
        if (!strstr(t->error, cases[i].in_error))
            fail_msg("case %zu: \"%s\" does not say %s", i, t->error, cases[i].in_error);
        /* The webhook URL carries its signature: it is not in the error. */
        assert_null(strstr(t->error, "sig=planted"));
        task_free(e.w, t);
        assert_true(vendor_mock_clean(m));
        vendor_mock_stop(m);
    }
    /* A failed step is not remembered as sent. */
    vendor_mock *m = vendor_mock_start(hook_handler, NULL);
    task *t = run(&e, "inc-errors", "notify", hook_with(m));
    assert_int_equal(t->res.succeeded, 1);
    assert_int_equal(vendor_mock_count(m), 1);
    task_free(e.w, t);
    vendor_mock_stop(m);
    action_env_free(&e);
}

static void bad_parameters(void **state) {
    (void)state;
    static const struct {
        const char *with;
        const char *in_error;
    } cases[] = {
        {"{\"title\": \"x\"}", "needs webhook_url"},
        {"{\"webhook_url\": \"URL\"}", "needs title, text, facts or card"},
        {"{\"webhook_url\": \"URL\", \"title\": \"\", \"text\": \"\"}", "needs title, text, facts or card"},
        {"{\"webhook_url\": \"URL\", \"card\": {\"type\": \"MessageCard\"}}", "Adaptive Card"},
        {"{\"webhook_url\": \"URL\", \"card\": [1]}", "Adaptive Card"},
        {"{\"webhook_url\": \"URL\", \"card\": \"not json\"}", "Adaptive Card"},
        {"{\"webhook_url\": \"URL\", \"facts\": \"a=b\"}", "facts must be a map"},
    };
    action_env e;
    vendor_mock *m = vendor_mock_start(hook_handler, NULL);
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

/* ack_link: PERSON adds an Action.OpenUrl to the card, built or given,
 * whose link's token verifies for this incident and person. */
static void ack_link_button(void **state) {
    (void)state;
    static const char *const secret = "link-secret-planted-3a7c";
    const char *const secrets[] = {secret};
    action_env e;
    char err[200];
    setenv("MUSTER_SECRET_ACK_LINKS", secret, 1);
    vendor_mock *m = vendor_mock_start(hook_handler, NULL);
    assert_int_equal(action_env_init(&e, fx.port), 0);
    assert_int_equal(config_set(&e.cfg, "intake.public_url", "https://muster.example.com/base", err, sizeof(err)), 0);
    assert_int_equal(config_set(&e.cfg, "ack.link_secret", "ack_links", err, sizeof(err)), 0);
    for (int i = 0; i < 2; i++) {
        json_t *with = hook_with(m);
        if (i == 1)
            json_object_set_new(with, "card",
                                json_pack("{s:s, s:s, s:[{s:s, s:s}], s:[{s:s, s:s, s:s}]}", "type",
                                          "AdaptiveCard", "version", "1.4", "body", "type", "TextBlock",
                                          "text", "x", "actions", "type", "Action.OpenUrl", "title",
                                          "Runbook", "url", "https://runbooks.example.com/"));
        json_object_set_new(with, "ack_link", json_string("alice"));
        task *t = run(&e, i ? "inc-teams-link2" : "inc-teams-link", "notify", with);
        if (!t->res.succeeded) fail_msg("%s", t->error);
        task_free(e.w, t);
        json_t *card = json_dotted(vendor_mock_request(m, i)->json, "attachments");
        card = json_object_get(json_array_get(card, 0), "content");
        json_t *actions = json_object_get(card, "actions");
        assert_int_equal(json_array_size(actions), (size_t)(i + 1));
        json_t *ack = json_array_get(actions, (size_t)i);
        assert_string_equal(str_at(ack, "type"), "Action.OpenUrl");
        assert_string_equal(str_at(ack, "title"), "Acknowledge");
        const char *url = str_at(ack, "url"), *prefix = "https://muster.example.com/base/ack/";
        assert_non_null(url);
        assert_int_equal(strncmp(url, prefix, strlen(prefix)), 0);
        int64_t now = (int64_t)time(NULL);
        const char *incident = i ? "inc-teams-link2" : "inc-teams-link";
        assert_int_equal(sig_link_check(secrets, 1, url + strlen(prefix), "ack", incident, "alice", now), SIG_OK);
        assert_int_equal(sig_link_check(secrets, 1, url + strlen(prefix), "ack", incident, "bob", now),
                         SIG_MISMATCH);
        /* The default ack.link_ttl: 24 hours. */
        assert_int_equal(sig_link_check(secrets, 1, url + strlen(prefix), "ack", incident, "alice",
                                        now + 86400 + 5), SIG_EXPIRED);
    }
    assert_true(vendor_mock_clean(m));
    vendor_mock_stop(m);
    action_env_free(&e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(card_built_and_sent),
        cmocka_unit_test(card_given_legacy_connector),
        cmocka_unit_test(second_run_does_not_post),
        cmocka_unit_test(errors_classified),
        cmocka_unit_test(bad_parameters),
        cmocka_unit_test(ack_link_button),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
