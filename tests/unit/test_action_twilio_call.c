/* test_action_twilio_call.c - the twilio_call action against a mock of
 * Twilio's Calls API, with the incident memo in Redis */
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
#define AUTH_TOKEN "planted-auth-token-7d1e"
#define PATH "/2010-04-01/Accounts/" SID "/Calls.json"
#define PUBLIC "https://muster.example.com/"

static redis_fixture fx;

static const char *form_str(const mock_request *rq, const char *name) {
    return json_string_value(json_object_get(rq->form, name));
}

/* Whether s is one well-formed XML document as TwiML is: an optional
 * declaration, then elements whose tags balance, attributes quoted, and
 * text with no bare '<' or '&' outside the five predefined entities. Fills
 * why when it is not. */
static bool xml_well_formed(const char *s, char *why, size_t len) {
    char stack[16][32];
    int depth = 0, roots = 0;
    if (strncmp(s, "<?xml ", 6) == 0) {
        const char *e = strstr(s, "?>");
        if (!e) return snprintf(why, len, "unterminated declaration"), false;
        s = e + 2;
    }
    while (*s) {
        if (*s == '&') {
            static const char *const ents[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;", NULL};
            bool ok = false;
            for (const char *const *p = ents; *p && !ok; p++)
                if (strncmp(s, *p, strlen(*p)) == 0) ok = true;
            if (!ok) return snprintf(why, len, "bare & at \"%.20s\"", s), false;
            s++;
            continue;
        }
        if (*s != '<') {
            if (*s == '>') return snprintf(why, len, "bare > at \"%.20s\"", s), false;
            if (depth == 0) return snprintf(why, len, "text outside the root"), false;
            s++;
            continue;
        }
        bool closing = s[1] == '/';
        const char *p = s + (closing ? 2 : 1);
        size_t n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
        if (n == 0 || n >= 32) return snprintf(why, len, "bad tag at \"%.20s\"", s), false;
        char name[32];
        memcpy(name, p, n);
        name[n] = '\0';
        p += n;
        while (!closing && *p && *p != '>' && *p != '/') {
            p += strspn(p, " ");
            if (*p == '>' || *p == '/') break;
            size_t an = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
            if (an == 0 || p[an] != '=' || p[an + 1] != '"')
                return snprintf(why, len, "bad attribute at \"%.20s\"", p), false;
            const char *q = strchr(p + an + 2, '"');
            if (!q) return snprintf(why, len, "unterminated attribute"), false;
            for (const char *c = p + an + 2; c < q; c++)
                if (*c == '<' || (*c == '&' && strncmp(c, "&amp;", 5) && strncmp(c, "&quot;", 6) &&
                                  strncmp(c, "&lt;", 4) && strncmp(c, "&gt;", 4) && strncmp(c, "&apos;", 6)))
                    return snprintf(why, len, "unescaped %c in an attribute", *c), false;
            p = q + 1;
        }
        bool empty = *p == '/';
        if (empty) p++;
        if (*p != '>') return snprintf(why, len, "unterminated tag %s", name), false;
        if (closing) {
            if (depth == 0 || strcmp(stack[depth - 1], name) != 0)
                return snprintf(why, len, "</%s> closes nothing open", name), false;
            depth--;
        } else if (!empty) {
            if (depth == 0) roots++;
            if (depth == 16) return snprintf(why, len, "too deep"), false;
            snprintf(stack[depth++], 32, "%s", name);
        }
        s = p + 1;
    }
    if (depth) return snprintf(why, len, "<%s> not closed", stack[depth - 1]), false;
    if (roots != 1) return snprintf(why, len, "%d root elements", roots), false;
    return true;
}

/* Calls.json as documented: basic auth with the account SID and auth
 * token, a form with To, From and Twiml (inline TwiML of at most 4000
 * characters) that is well-formed; 201 with the Call resource. */
static void calls_handler(vendor_mock *m, void *arg, int n, const mock_request *rq,
                          mock_reply *rp) {
    const int *fail = arg;
    char sid[40], why[200];
    mock_expect(m, rq, "POST", PATH);
    mock_expect_type(m, rq, "application/x-www-form-urlencoded");
    mock_expect_basic(m, rq, SID, AUTH_TOKEN);
    json_t *decoded = mock_form_decode(rq->body, rq->len);
    if (!rq->form || !json_equal(decoded, rq->form)) mock_problem(m, "the body is not a form");
    json_decref(decoded);
    const char *twiml = form_str(rq, "Twiml");
    if (!form_str(rq, "To")) mock_problem(m, "no To");
    if (!form_str(rq, "From")) mock_problem(m, "no From");
    if (!twiml == !form_str(rq, "Url")) mock_problem(m, "needs exactly one of Twiml and Url");
    if (json_object_size(rq->form) != 3) mock_problem(m, "unexpected form fields");
    if (twiml && strlen(twiml) > 4000) mock_problem(m, "Twiml over 4000 characters");
    if (twiml && !xml_well_formed(twiml, why, sizeof(why)))
        mock_problem(m, "Twiml is not well-formed: %s", why);
    if (twiml && (!strstr(twiml, "<Response>") || !strstr(twiml, "<Gather ")))
        mock_problem(m, "Twiml has no Response and Gather");
    if (fail && *fail) {
        mock_reply_json(rp, *fail,
                        json_pack("{s:i, s:s, s:s, s:i}", "code", 21215, "message",
                                  "Geographic Permission not enabled", "more_info",
                                  "https://www.twilio.com/docs/errors/21215", "status", *fail));
        return;
    }
    snprintf(sid, sizeof(sid), "CA%032d", n + 1);
    mock_reply_json(rp, 201,
                    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:n}", "sid", sid, "account_sid",
                              SID, "to", form_str(rq, "To"), "from", form_str(rq, "From"), "status",
                              "queued", "direction", "outbound-api", "api_version", "2010-04-01",
                              "duration"));
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

static int env_init(action_env *e, const char *public_url) {
    char err[200];
    if (action_env_init(e, fx.port) < 0) return -1;
    return public_url ? config_set(&e->cfg, "intake.public_url", public_url, err, sizeof(err)) : 0;
}

static json_t *call_with(vendor_mock *m, const char *to, const char *message) {
    return json_pack("{s:s, s:{s:s}, s:s, s:s, s:s, s:s}", "account_sid", SID, "auth_token",
                     "secret", "twilio_token", "to", to, "from", "+15005550006", "message",
                     message, "api_url", vendor_mock_url(m));
}

static task *run(action_env *e, const char *incident, const char *step, json_t *with,
                 const char *summary) {
    task *t = action_task(incident, step, "twilio_call", with, true);
    if (summary)
        json_object_set_new(json_object_get(t->run.ctx, "alert"), "summary", json_string(summary));
    assert_int_equal(action_run(e, t), 0);
    return t;
}

/* An alert summary with markup characters reaches the phone as text: the
 * TwiML stays well-formed, and the key press goes to the configured host
 * whatever the alert says. */
static void reads_message_and_gathers(void **state) {
    (void)state;
    static const char *const summary = "p99 <5s> & \"checkout\" down</Say><Hangup/>";
    action_env e;
    vendor_mock *m = vendor_mock_start(calls_handler, NULL);
    assert_int_equal(env_init(&e, PUBLIC), 0);
    task *t = run(&e, "inc-call", "phone", call_with(m, "+15551234567", "{{ alert.summary }}"),
                  summary);
    assert_int_equal(t->res.succeeded, 1);
    assert_string_equal(json_string_value(action_output(t, "sid")), "CA00000000000000000000000000000001");
    assert_string_equal(json_string_value(action_output(t, "status")), "queued");
    assert_true(json_is_false(action_output(t, "deduplicated")));
    char *dump = json_dumps(t->res.output, JSON_COMPACT);
    assert_null(strstr(dump, AUTH_TOKEN));
    free(dump);
    task_free(e.w, t);
    const mock_request *rq = vendor_mock_request(m, 0);
    assert_non_null(rq);
    assert_true(vendor_mock_clean(m));
    const char *twiml = form_str(rq, "Twiml");
    assert_non_null(strstr(twiml, "<Say>p99 &lt;5s&gt; &amp; &quot;checkout&quot; down&lt;/Say&gt;"
                                  "&lt;Hangup/&gt;</Say>"));
    assert_null(strstr(twiml, "<Hangup"));
    assert_non_null(strstr(twiml, "<Gather numDigits=\"1\" action=\"https://muster.example.com"
                                  "/api/v1/twilio/voice?incident=inc-call\" method=\"POST\">"));
    assert_non_null(strstr(twiml, "Press 1 to acknowledge."));
    assert_string_equal(form_str(rq, "To"), "+15551234567");
    vendor_mock_stop(m);
    action_env_free(&e);
}

/* One call per step and recipient, however often the step runs. */
static void second_run_does_not_call(void **state) {
    (void)state;
    action_env e;
    vendor_mock *m = vendor_mock_start(calls_handler, NULL);
    assert_int_equal(env_init(&e, PUBLIC), 0);
    for (int i = 0; i < 2; i++) {
        task *t = run(&e, "inc-call-twice", "phone", call_with(m, "+15551234567", "down"), NULL);
        assert_int_equal(t->res.succeeded, 1);
        assert_string_equal(json_string_value(action_output(t, "sid")), "CA00000000000000000000000000000001");
        assert_int_equal(json_is_true(action_output(t, "deduplicated")), i == 1);
        task_free(e.w, t);
    }
    assert_int_equal(vendor_mock_count(m), 1);
    assert_true(vendor_mock_clean(m));
    vendor_mock_stop(m);
    action_env_free(&e);
}

static void twilio_error(void **state) {
    (void)state;
    int status = 400;
    action_env e;
    vendor_mock *m = vendor_mock_start(calls_handler, &status);
    assert_int_equal(env_init(&e, PUBLIC), 0);
    task *t = run(&e, "inc-call-err", "phone", call_with(m, "+15551234567", "down"), NULL);
    assert_int_equal(t->res.succeeded, 0);
    assert_int_equal(t->res.permanent, 1);
    assert_non_null(strstr(t->error, "twilio_call error 21215 (Geographic Permission not enabled)"));
    task_free(e.w, t);
    assert_true(vendor_mock_clean(m));
    vendor_mock_stop(m);
    action_env_free(&e);
}

static void bad_parameters(void **state) {
    (void)state;
    static const struct {
        const char *drop, *public_url, *in_error;
    } cases[] = {
        {"to", PUBLIC, "needs to"},
        {"from", PUBLIC, "needs from"},
        {"message", PUBLIC, "needs message"},
        {"auth_token", PUBLIC, "needs auth_token"},
        {NULL, NULL, "intake.public_url is not set"},
        {NULL, "ftp://muster.example.com", "is not an http(s) URL"},
        {NULL, "https://muster.example.com/?x=1", "is not an http(s) URL"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        action_env e;
        vendor_mock *m = vendor_mock_start(calls_handler, NULL);
        assert_int_equal(env_init(&e, cases[i].public_url), 0);
        json_t *with = call_with(m, "+15551234567", "down");
        if (cases[i].drop) json_object_del(with, cases[i].drop);
        task *t = run(&e, "inc-call-bad", "phone", with, NULL);
        assert_int_equal(t->res.succeeded, 0);
        assert_int_equal(t->res.permanent, 1);
        if (!strstr(t->error, cases[i].in_error))
            fail_msg("case %zu: \"%s\" does not say \"%s\"", i, t->error, cases[i].in_error);
        task_free(e.w, t);
        assert_int_equal(vendor_mock_count(m), 0);
        vendor_mock_stop(m);
        action_env_free(&e);
    }
}

/* A message longer than inline TwiML allows is refused, not cut. */
static void message_too_long(void **state) {
    (void)state;
    action_env e;
    char *text = malloc(4100);
    memset(text, 'a', 4099);
    text[4099] = '\0';
    vendor_mock *m = vendor_mock_start(calls_handler, NULL);
    assert_int_equal(env_init(&e, PUBLIC), 0);
    task *t = run(&e, "inc-call-long", "phone", call_with(m, "+15551234567", text), NULL);
    free(text);
    assert_int_equal(t->res.succeeded, 0);
    assert_non_null(strstr(t->error, "over 4000 characters"));
    task_free(e.w, t);
    assert_int_equal(vendor_mock_count(m), 0);
    vendor_mock_stop(m);
    action_env_free(&e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_message_and_gathers),
        cmocka_unit_test(second_run_does_not_call),
        cmocka_unit_test(twilio_error),
        cmocka_unit_test(bad_parameters),
        cmocka_unit_test(message_too_long),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
