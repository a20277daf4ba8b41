/* test_action_twilio.c - the twilio action against a mock of Twilio's
 * Messages API, with the incident memo in Redis */
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

#define SID "AC0123456789abcdef0123456789abcdef"
#define AUTH_TOKEN "planted-auth-token-5c4b"
#define PATH "/2010-04-01/Accounts/" SID "/Messages.json"

static redis_fixture fx;

/* A Twilio error to answer with, or none (201 and the Message resource). */
typedef struct twilio_mock {
    int status;
    int code;
    const char *message;
    const char *retry_after;
} twilio_mock;

static const char *form_str(const mock_request *rq, const char *name) {
    return json_string_value(json_object_get(rq->form, name));
}

/* Messages.json as documented: basic auth with the account SID and auth
 * token, a form with To, Body and exactly one of From and
 * MessagingServiceSid; 201 with the Message resource. */
static void messages_handler(vendor_mock *m, void *arg, int n, const mock_request *rq,
                             mock_reply *rp) {
    const twilio_mock *tm = arg;
    char sid[40], url[200];
    mock_expect(m, rq, "POST", PATH);
    mock_expect_type(m, rq, "application/x-www-form-urlencoded");
    mock_expect_basic(m, rq, SID, AUTH_TOKEN);
    /* The harness decodes the body the way Twilio does; check it agrees. */
    json_t *decoded = mock_form_decode(rq->body, rq->len);
    if (!rq->form || !json_equal(decoded, rq->form)) mock_problem(m, "the body is not a form");
    json_decref(decoded);
    if (!form_str(rq, "To")) mock_problem(m, "no To");
    if (!form_str(rq, "Body")) mock_problem(m, "no Body");
    if (!form_str(rq, "From") == !form_str(rq, "MessagingServiceSid"))
        mock_problem(m, "needs exactly one of From and MessagingServiceSid");
    if (json_object_size(rq->form) != 3) mock_problem(m, "unexpected form fields");
    if (tm && tm->status) {
        snprintf(url, sizeof(url), "https://www.twilio.com/docs/errors/%d", tm->code);
        mock_reply_json(rp, tm->status,
                        json_pack("{s:i, s:s, s:s, s:i}", "code", tm->code, "message", tm->message,
                                  "more_info", url, "status", tm->status));
        if (tm->retry_after) mock_reply_header(rp, "Retry-After", tm->retry_after);
        return;
    }
    snprintf(sid, sizeof(sid), "SM%032d", n + 1);
    snprintf(url, sizeof(url), "/2010-04-01/Accounts/%s/Messages/%s.json", SID, sid);
    mock_reply_json(rp, 201,
                    json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s, s:s, s:s, s:s, s:n, s:n, s:s}", "sid",
                              sid, "account_sid", SID, "to", form_str(rq, "To"), "from",
                              form_str(rq, "From"), "messaging_service_sid",
                              form_str(rq, "MessagingServiceSid"), "body", form_str(rq, "Body"),
                              "status", form_str(rq, "From") ? "queued" : "accepted", "direction",
                              "outbound-api", "api_version", "2010-04-01", "error_code",
                              "error_message", "uri", url));
}

static int setup(void **state) {
    (void)state;
    setenv("MUSTER_SECRET_TWILIO_TOKEN", AUTH_TOKEN, 1);
    return redis_fixture_start(&fx);
}

static int teardown(void **state) {
    (void)state;
    redis_fixture_stop(&fx);
    return 0;
}

static json_t *sms_with(vendor_mock *m, const char *to, const char *body) {
    return json_pack("{s:s, s:{s:s}, s:s, s:s, s:s, s:s}", "account_sid", SID, "auth_token",
                     "secret", "twilio_token", "to", to, "from", "+15005550006", "body", body,
                     "api_url", vendor_mock_url(m));
}

static task *run(action_env *e, const char *incident, const char *step, json_t *with) {
    task *t = action_task(incident, step, "twilio", with, true);
    assert_int_equal(action_run(e, t), 0);
    return t;
}

/* The form survives what an SMS text holds: '+', '&', '=', '%', spaces,
 * new lines and UTF-8. */
static void sends_form_and_parses_message(void **state) {
    (void)state;
    static const char *const text = "C++ & co: 50% = down\nsee https://x.example/?a=1&b=2 \xe2\x9c\x93";
    action_env e;
    vendor_mock *m = vendor_mock_start(messages_handler, NULL);
    assert_int_equal(action_env_init(&e, fx.port), 0);
    task *t = run(&e, "inc-sms", "page", sms_with(m, "+15551234567", text));
    assert_int_equal(t->res.succeeded, 1);
    assert_string_equal(json_string_value(action_output(t, "sid")), "SM00000000000000000000000000000001");
    assert_string_equal(json_string_value(action_output(t, "status")), "queued");
    assert_string_equal(json_string_value(action_output(t, "to")), "+15551234567");
    assert_true(json_is_false(action_output(t, "deduplicated")));
    char *dump = json_dumps(t->res.output, JSON_COMPACT);
    assert_null(strstr(dump, AUTH_TOKEN));
    free(dump);
    task_free(e.w, t);
    const mock_request *rq = vendor_mock_request(m, 0);
    assert_non_null(rq);
    assert_string_equal(form_str(rq, "Body"), text);
    assert_string_equal(form_str(rq, "To"), "+15551234567");
    assert_string_equal(form_str(rq, "From"), "+15005550006");
    /* '+' travels encoded: a raw '+' would arrive as a space. */
    assert_null(strstr(rq->body, "+1555"));
    assert_true(vendor_mock_clean(m));
    vendor_mock_stop(m);
    action_env_free(&e);
}

static void messaging_service(void **state) {
    (void)state;
    action_env e;
    vendor_mock *m = vendor_mock_start(messages_handler, NULL);
    assert_int_equal(action_env_init(&e, fx.port), 0);
    json_t *with = sms_with(m, "+15551234567", "{{ alert.summary }}");
    json_object_del(with, "from");
    json_object_set_new(with, "messaging_service_sid", json_string("MG0123456789abcdef0123456789abcdef"));
    task *t = run(&e, "inc-mg", "page", with);
    assert_int_equal(t->res.succeeded, 1);
    assert_string_equal(json_string_value(action_output(t, "status")), "accepted");
    task_free(e.w, t);
    const mock_request *rq = vendor_mock_request(m, 0);
    assert_non_null(rq);
    assert_string_equal(form_str(rq, "MessagingServiceSid"), "MG0123456789abcdef0123456789abcdef");
    assert_string_equal(form_str(rq, "Body"), "checkout 5xx above 5%");
    assert_true(vendor_mock_clean(m));
    vendor_mock_stop(m);
    action_env_free(&e);
}

/* A step texts a recipient once however often it runs; another recipient
 * of the same step is another SMS. */
static void second_run_does_not_text(void **state) {
    (void)state;
    action_env e;
    vendor_mock *m = vendor_mock_start(messages_handler, NULL);
    assert_int_equal(action_env_init(&e, fx.port), 0);
    for (int i = 0; i < 2; i++) {
        task *t = run(&e, "inc-twice", "page", sms_with(m, "+15551234567", "down"));
        assert_int_equal(t->res.succeeded, 1);
        assert_string_equal(json_string_value(action_output(t, "sid")), "SM00000000000000000000000000000001");
        assert_string_equal(json_string_value(action_output(t, "to")), "+15551234567");
        assert_int_equal(json_is_true(action_output(t, "deduplicated")), i == 1);
        task_free(e.w, t);
    }
    assert_int_equal(vendor_mock_count(m), 1);
    task *t = run(&e, "inc-twice", "page", sms_with(m, "+15557654321", "down"));
    assert_true(json_is_false(action_output(t, "deduplicated")));
    assert_string_equal(json_string_value(action_output(t, "sid")), "SM00000000000000000000000000000002");
    task_free(e.w, t);
    assert_int_equal(vendor_mock_count(m), 2);
    assert_true(vendor_mock_clean(m));
    vendor_mock_stop(m);
    action_env_free(&e);
}

static void errors_classified(void **state) {
    (void)state;
    static const struct {
        twilio_mock tm;
        int permanent;
        int64_t retry_after_ms;
    } cases[] = {
        {{400, 21211, "The 'To' number +1555 is not a valid phone number.", NULL}, 1, 0},
        {{400, 21610, "Attempt to send to unsubscribed recipient", NULL}, 1, 0},
        {{401, 20003, "Authenticate", NULL}, 1, 0},
        {{404, 20404, "The requested resource was not found", NULL}, 1, 0},
        {{429, 20429, "Too Many Requests", "3"}, 0, 3000},
        {{500, 20500, "Internal Server Error", NULL}, 0, 0},
        {{503, 20503, "Service Unavailable", NULL}, 0, 0},
    };
    action_env e;
    char code[16];
    assert_int_equal(action_env_init(&e, fx.port), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vendor_mock *m = vendor_mock_start(messages_handler, (void *)&cases[i].tm);
        task *t = run(&e, "inc-errors", "page", sms_with(m, "+15551234567", "down"));
        assert_int_equal(t->res.succeeded, 0);
        assert_int_equal(t->res.permanent, cases[i].permanent);
        assert_int_equal(t->res.retry_after_ms, cases[i].retry_after_ms);
        snprintf(code, sizeof(code), "%d", cases[i].tm.code);
        assert_non_null(strstr(t->error, code));
        assert_non_null(strstr(t->error, cases[i].tm.message));
        assert_int_equal(json_integer_value(action_output(t, "body.code")), cases[i].tm.code);
        task_free(e.w, t);
        assert_true(vendor_mock_clean(m));
        vendor_mock_stop(m);
    }
    action_env_free(&e);
}

static void bad_parameters(void **state) {
    (void)state;
    static const struct {
        const char *drop, *add, *value, *in_error;
    } cases[] = {
        {"to", NULL, NULL, "needs to"},
        {"body", NULL, NULL, "needs body"},
        {"account_sid", NULL, NULL, "needs account_sid"},
        {"auth_token", NULL, NULL, "needs auth_token"},
        {"from", NULL, NULL, "needs from (a Twilio number) or messaging_service_sid"},
        {NULL, "messaging_service_sid", "MG1", "not both"},
    };
    action_env e;
    vendor_mock *m = vendor_mock_start(messages_handler, NULL);
    assert_int_equal(action_env_init(&e, fx.port), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *with = sms_with(m, "+15551234567", "down");
        if (cases[i].drop) json_object_del(with, cases[i].drop);
        if (cases[i].add) json_object_set_new(with, cases[i].add, json_string(cases[i].value));
        task *t = run(&e, "inc-bad", "page", with);
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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sends_form_and_parses_message),
        cmocka_unit_test(messaging_service),
        cmocka_unit_test(second_run_does_not_text),
        cmocka_unit_test(errors_classified),
        cmocka_unit_test(bad_parameters),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
