/* test_action_pagerduty.c - the pagerduty action against a mock of the
 * Events API v2, with the incident memo in Redis */
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

#define ROUTING_KEY "R0123456789abcdef0123456789abcde"

static redis_fixture fx;

/* An error to answer with (400 invalid event, 429, 5xx), or none. */
typedef struct pd_mock {
    int status;
    const char *retry_after;
} pd_mock;

static bool member_of(const char *s, const char *const *set) {
    for (; s && *set; set++)
        if (strcmp(s, *set) == 0) return true;
    return false;
}

/* /v2/enqueue as documented: JSON with routing_key, event_action and
 * dedup_key; a trigger's payload has summary, source and a known severity;
 * acknowledge and resolve carry no payload. 202 {status, message, dedup_key}. */
static void enqueue_handler(vendor_mock *m, void *arg, int n, const mock_request *rq, mock_reply *rp) {
    static const char *const actions[] = {"trigger", "acknowledge", "resolve", NULL};
    static const char *const severities[] = {"critical", "error", "warning", "info", NULL};
    const pd_mock *pm = arg;
    (void)n;
    mock_expect(m, rq, "POST", "/v2/enqueue");
    mock_expect_type(m, rq, "application/json");
    if (json_object_get(rq->headers, "authorization")) mock_problem(m, "Events API takes no token header");
    mock_expect_field(m, rq, "routing_key", JSON_STRING);
    json_t *action = mock_expect_field(m, rq, "event_action", JSON_STRING);
    json_t *dedup = mock_expect_field(m, rq, "dedup_key", JSON_STRING);
    if (!member_of(json_string_value(action), actions)) mock_problem(m, "unknown event_action");
    if (json_string_length(dedup) > 255) mock_problem(m, "dedup_key longer than 255");
    if (action && strcmp(json_string_value(action), "trigger") == 0) {
        mock_expect_field(m, rq, "payload.summary", JSON_STRING);
        mock_expect_field(m, rq, "payload.source", JSON_STRING);
        json_t *sev = mock_expect_field(m, rq, "payload.severity", JSON_STRING);
        if (!member_of(json_string_value(sev), severities)) mock_problem(m, "unknown severity");
        if (json_string_length(json_object_get(json_object_get(rq->json, "payload"), "summary")) > 1024)
            mock_problem(m, "summary longer than 1024");
    } else if (json_object_get(rq->json, "payload")) {
        mock_problem(m, "%s carries a payload", json_string_value(action));
    }
    if (pm && pm->status == 400) {
        mock_reply_json(rp, 400, json_pack("{s:s, s:s, s:[s]}", "status", "invalid event", "message",
                                           "Event object is invalid", "errors",
                                           "'routing_key' is invalid"));
    } else if (pm && pm->status) {
        mock_reply_json(rp, pm->status, json_pack("{s:s, s:s}", "status", "throttle event",
                                                  "message", "Requests for this service are arriving too quickly."));
        if (pm->retry_after) mock_reply_header(rp, "Retry-After", pm->retry_after);
    } else {
        mock_reply_json(rp, 202, json_pack("{s:s, s:s, s:O}", "status", "success", "message",
                                           "Event processed", "dedup_key", dedup));
    }
}

static int setup(void **state) {
    (void)state;
    setenv("MUSTER_SECRET_PD_KEY", ROUTING_KEY, 1);
    return redis_fixture_start(&fx);
}

static int teardown(void **state) {
    (void)state;
    redis_fixture_stop(&fx);
    return 0;
}

static json_t *pd_with(vendor_mock *m, const char *action) {
    char url[160];
    snprintf(url, sizeof(url), "%s/v2/enqueue", vendor_mock_url(m));
    json_t *w = json_pack("{s:{s:s}, s:s}", "routing_key", "secret", "pd_key", "url", url);
    if (action) json_object_set_new(w, "event_action", json_string(action));
    if (!action || strcmp(action, "trigger") == 0) {
        json_object_set_new(w, "summary", json_string("{{ alert.summary }}"));
        json_object_set_new(w, "source", json_string("{{ alert.labels.instance }}"));
        json_object_set_new(w, "severity", json_string("{{ alert.labels.severity }}"));
    }
    return w;
}

static task *run(action_env *e, const char *incident, const char *step, json_t *with) {
    task *t = action_task(incident, step, "pagerduty", with, true);
    assert_int_equal(action_run(e, t), 0);
    return t;
}

static const json_t *sent(vendor_mock *m, int n, const char *key) {
    const mock_request *rq = vendor_mock_request(m, n);
    assert_non_null(rq);
    return json_object_get(rq->json, key);
}

/* Trigger, acknowledge and resolve of one incident address one alert: the
 * dedup_key is the incident id unless given. */
static void trigger_ack_resolve(void **state) {
    (void)state;
    action_env e;
    vendor_mock *m = vendor_mock_start(enqueue_handler, NULL);
    assert_int_equal(action_env_init(&e, fx.port), 0);
    json_t *with = pd_with(m, NULL);
    json_object_set_new(with, "component", json_string("checkout"));
    json_object_set_new(with, "group", json_string("web"));
    json_object_set_new(with, "class", json_string("http 5xx"));
    json_object_set_new(with, "custom_details", json_pack("{s:s}", "runbook", "{{ alert.annotations.runbook }}"));
    json_object_set_new(with, "client", json_string("muster"));
    json_object_set_new(with, "client_url", json_string("https://muster.example.com/incidents/inc-pd"));
    json_object_set_new(with, "links", json_pack("[{s:s, s:s}]", "href", "https://runbooks.example.com/checkout", "text", "Runbook"));
    task *t = run(&e, "inc-pd", "page", with);
    assert_int_equal(t->res.succeeded, 1);
    assert_string_equal(json_string_value(action_output(t, "status")), "success");
    assert_string_equal(json_string_value(action_output(t, "message")), "Event processed");
    assert_string_equal(json_string_value(action_output(t, "dedup_key")), "inc-pd");
    assert_true(json_is_false(action_output(t, "deduplicated")));
    task_free(e.w, t);

    t = run(&e, "inc-pd", "ack", pd_with(m, "acknowledge"));
    assert_int_equal(t->res.succeeded, 1);
    task_free(e.w, t);
    t = run(&e, "inc-pd", "resolve", pd_with(m, "resolve"));
    assert_int_equal(t->res.succeeded, 1);
    assert_string_equal(json_string_value(action_output(t, "dedup_key")), "inc-pd");
    task_free(e.w, t);

    assert_int_equal(vendor_mock_count(m), 3);
    assert_string_equal(json_string_value(sent(m, 0, "routing_key")), ROUTING_KEY);
    assert_string_equal(json_string_value(sent(m, 0, "event_action")), "trigger");
    const json_t *pl = sent(m, 0, "payload");
    assert_string_equal(json_string_value(json_object_get(pl, "summary")), "checkout 5xx above 5%");
    assert_string_equal(json_string_value(json_object_get(pl, "source")), "web-1:8080");
    assert_string_equal(json_string_value(json_object_get(pl, "severity")), "critical");
    assert_string_equal(json_string_value(json_object_get(pl, "component")), "checkout");
    assert_string_equal(json_string_value(json_object_get(pl, "group")), "web");
    assert_string_equal(json_string_value(json_object_get(pl, "class")), "http 5xx");
    assert_string_equal(json_string_value(json_object_get(json_object_get(pl, "custom_details"), "runbook")),
                        "https://runbooks.example.com/checkout");
    assert_string_equal(json_string_value(sent(m, 0, "client")), "muster");
    assert_string_equal(json_string_value(json_object_get(json_array_get(sent(m, 0, "links"), 0), "text")),
                        "Runbook");
    assert_string_equal(json_string_value(sent(m, 1, "event_action")), "acknowledge");
    assert_string_equal(json_string_value(sent(m, 2, "event_action")), "resolve");
    for (int i = 0; i < 3; i++) assert_string_equal(json_string_value(sent(m, i, "dedup_key")), "inc-pd");
    assert_true(vendor_mock_clean(m));
    vendor_mock_stop(m);
    action_env_free(&e);
}

/* A given dedup_key is used; a summary over 1024 characters is cut there. */
static void dedup_key_given_and_long_summary(void **state) {
    (void)state;
    action_env e;
    char summary[1500];
    memset(summary, 'x', sizeof(summary) - 1);
    summary[sizeof(summary) - 1] = '\0';
    vendor_mock *m = vendor_mock_start(enqueue_handler, NULL);
    assert_int_equal(action_env_init(&e, fx.port), 0);
    json_t *with = pd_with(m, "trigger");
    json_object_set_new(with, "dedup_key", json_string("checkout/{{ alert.name }}"));
    json_object_set_new(with, "summary", json_string(summary));
    task *t = run(&e, "inc-key", "page", with);
    assert_int_equal(t->res.succeeded, 1);
    assert_string_equal(json_string_value(action_output(t, "dedup_key")), "checkout/HighErrorRate");
    task_free(e.w, t);
    assert_string_equal(json_string_value(sent(m, 0, "dedup_key")), "checkout/HighErrorRate");
    assert_int_equal(json_string_length(json_object_get(sent(m, 0, "payload"), "summary")), 1024);
    assert_true(vendor_mock_clean(m));
    vendor_mock_stop(m);
    action_env_free(&e);
}

/* A step replayed after the resolve must not trigger the alert again. */
static void second_run_does_not_send(void **state) {
    (void)state;
    action_env e;
    vendor_mock *m = vendor_mock_start(enqueue_handler, NULL);
    assert_int_equal(action_env_init(&e, fx.port), 0);
    for (int i = 0; i < 2; i++) {
        task *t = run(&e, "inc-twice", "page", pd_with(m, NULL));
        assert_int_equal(t->res.succeeded, 1);
        assert_string_equal(json_string_value(action_output(t, "dedup_key")), "inc-twice");
        assert_string_equal(json_string_value(action_output(t, "status")), "success");
        assert_int_equal(json_is_true(action_output(t, "deduplicated")), i == 1);
        task_free(e.w, t);
    }
    assert_int_equal(vendor_mock_count(m), 1);
    assert_true(vendor_mock_clean(m));
    vendor_mock_stop(m);
    action_env_free(&e);
}

static void errors_classified(void **state) {
    (void)state;
    static const struct {
        pd_mock pm;
        int permanent;
        int64_t retry_after_ms;
        const char *in_error;
    } cases[] = {
        {{400, NULL}, 1, 0, "'routing_key' is invalid"},
        {{429, NULL}, 0, 0, "HTTP 429"},
        {{429, "20"}, 0, 20000, "HTTP 429"},
        {{500, NULL}, 0, 0, "HTTP 500"},
        {{503, NULL}, 0, 0, "HTTP 503"},
    };
    action_env e;
    assert_int_equal(action_env_init(&e, fx.port), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vendor_mock *m = vendor_mock_start(enqueue_handler, (void *)&cases[i].pm);
        task *t = run(&e, "inc-errors", "page", pd_with(m, NULL));
        assert_int_equal(t->res.succeeded, 0);
        assert_int_equal(t->res.permanent, cases[i].permanent);
        assert_int_equal(t->res.retry_after_ms, cases[i].retry_after_ms);
        if (!strstr(t->error, cases[i].in_error))
            fail_msg("case %zu: \"%s\" does not say %s", i, t->error, cases[i].in_error);
        assert_null(strstr(t->error, ROUTING_KEY));
        task_free(e.w, t);
        assert_true(vendor_mock_clean(m));
        vendor_mock_stop(m);
    }
    action_env_free(&e);
}

static void bad_parameters(void **state) {
    (void)state;
    static const struct {
        const char *action, *set, *value, *drop, *in_error;
    } cases[] = {
        {"escalate", NULL, NULL, NULL, "event_action \"escalate\" is not trigger, acknowledge or resolve"},
        {NULL, "severity", "high", NULL, "severity \"high\" is not critical, error, warning or info"},
        {"resolve", "severity", "sev1", NULL, "severity \"sev1\""},
        {NULL, NULL, NULL, "summary", "a trigger needs summary"},
        {NULL, NULL, NULL, "source", "a trigger needs source"},
        {NULL, NULL, NULL, "severity", "a trigger needs severity"},
        {NULL, NULL, NULL, "routing_key", "needs routing_key"},
        {NULL, "links", "https://x", NULL, "links must be a list"},
    };
    char longkey[300];
    action_env e;
    vendor_mock *m = vendor_mock_start(enqueue_handler, NULL);
    assert_int_equal(action_env_init(&e, fx.port), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *with = pd_with(m, cases[i].action);
        if (cases[i].set) json_object_set_new(with, cases[i].set, json_string(cases[i].value));
        if (cases[i].drop) json_object_del(with, cases[i].drop);
        task *t = run(&e, "inc-bad", "page", with);
        assert_int_equal(t->res.succeeded, 0);
        assert_int_equal(t->res.permanent, 1);
        if (!strstr(t->error, cases[i].in_error))
            fail_msg("case %zu: \"%s\" does not say \"%s\"", i, t->error, cases[i].in_error);
        task_free(e.w, t);
    }
    memset(longkey, 'k', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = '\0';
    json_t *with = pd_with(m, NULL);
    json_object_set_new(with, "dedup_key", json_string(longkey));
    task *t = run(&e, "inc-bad", "page", with);
    assert_int_equal(t->res.permanent, 1);
    assert_non_null(strstr(t->error, "dedup_key is longer than 255"));
    task_free(e.w, t);
    assert_int_equal(vendor_mock_count(m), 0);
    vendor_mock_stop(m);
    action_env_free(&e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(trigger_ack_resolve),
        cmocka_unit_test(dedup_key_given_and_long_summary),
        cmocka_unit_test(second_run_does_not_send),
        cmocka_unit_test(errors_classified),
        cmocka_unit_test(bad_parameters),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
