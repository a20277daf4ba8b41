/* test_action_http_check.c - the http_check action against a local server */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/harness/action_run.h"
#include "tests/harness/vendor_mock.h"
#include "worker/http.h"

/* What the probed service answers. */
typedef struct service {
    int status;
    const char *body;
} service;

static void service_handler(vendor_mock *m, void *arg, int n, const mock_request *rq,
                            mock_reply *rp) {
    const service *s = arg;
    (void)n;
    if (strcmp(rq->path, "/healthz") != 0) mock_problem(m, "path %s, not /healthz", rq->path);
    if (strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "HEAD") != 0)
        mock_problem(m, "method %s", rq->method);
    mock_reply_text(rp, s->status, "text/plain", s->body);
}

/* Runs a check of the mock's /healthz with `with` (taken) plus the URL. */
static task *check(action_env *e, vendor_mock *m, json_t *with) {
    char url[160];
    snprintf(url, sizeof(url), "%s/healthz", vendor_mock_url(m));
    json_object_set_new(with, "url", json_string(url));
    task *t = action_task(NULL, "probe", "http_check", with, true);
    assert_int_equal(action_run(e, t), 0);
    return t;
}

static const char *reason(const task *t) { return json_string_value(action_output(t, "reason")); }

/* A failed expectation fails the step for its retry policy, output set. */
static void assert_check_failed(const task *t, const char *why) {
    assert_int_equal(t->res.succeeded, 0);
    assert_int_equal(t->res.permanent, 0);
    assert_true(json_is_false(action_output(t, "ok")));
    if (!strstr(reason(t), why)) fail_msg("reason \"%s\" lacks \"%s\"", reason(t), why);
    if (!strstr(t->error, why)) fail_msg("error \"%s\" lacks \"%s\"", t->error, why);
}

static void assert_check_passed(const task *t) {
    if (!t->res.succeeded) fail_msg("check failed: %s", t->error);
    assert_true(json_is_true(action_output(t, "ok")));
    assert_string_equal(reason(t), "");
}

static void default_expects_2xx(void **state) {
    (void)state;
    action_env e;
    service s = {200, "status: healthy"};
    vendor_mock *m = vendor_mock_start(service_handler, &s);
    assert_int_equal(action_env_init(&e, 0), 0);
    task *t = check(&e, m, json_object());
    assert_check_passed(t);
    assert_int_equal(json_integer_value(action_output(t, "status")), 200);
    assert_true(json_is_null(action_output(t, "body_matched")));
    assert_true(json_is_integer(action_output(t, "latency_ms")));
    task_free(e.w, t);
    s.status = 503;
    t = check(&e, m, json_object());
    assert_check_failed(t, "status 503 is not 2xx");
    assert_int_equal(json_integer_value(action_output(t, "status")), 503);
    task_free(e.w, t);
    assert_int_equal(vendor_mock_count(m), 2);
    assert_string_equal(vendor_mock_request(m, 0)->method, "GET");
    assert_true(vendor_mock_clean(m));
    vendor_mock_stop(m);
    action_env_free(&e);
}

static void expect_status_number_or_list(void **state) {
    (void)state;
    action_env e;
    service s = {204, ""};
    vendor_mock *m = vendor_mock_start(service_handler, &s);
    assert_int_equal(action_env_init(&e, 0), 0);
    task *t = check(&e, m, json_pack("{s:i}", "expect_status", 204));
    assert_check_passed(t);
    task_free(e.w, t);
    t = check(&e, m, json_pack("{s:[i, s]}", "expect_status", 200, "204"));
    assert_check_passed(t);
    task_free(e.w, t);
    t = check(&e, m, json_pack("{s:i}", "expect_status", 200));
    assert_check_failed(t, "status 204 is not an expected one");
    assert_int_equal(json_integer_value(action_output(t, "status")), 204);
    task_free(e.w, t);
    /* a service expected to be down: 503 passes */
    s.status = 503;
    t = check(&e, m, json_pack("{s:[i]}", "expect_status", 503));
    assert_check_passed(t);
    task_free(e.w, t);
    assert_true(vendor_mock_clean(m));
    vendor_mock_stop(m);
    action_env_free(&e);
}

static void expect_body_substring(void **state) {
    (void)state;
    action_env e;
    service s = {200, "{\"status\": \"healthy\", \"db\": \"up\"}"};
    vendor_mock *m = vendor_mock_start(service_handler, &s);
    assert_int_equal(action_env_init(&e, 0), 0);
    task *t = check(&e, m, json_pack("{s:s}", "expect_body", "\"db\": \"up\""));
    assert_check_passed(t);
    assert_true(json_is_true(action_output(t, "body_matched")));
    task_free(e.w, t);
    t = check(&e, m, json_pack("{s:s}", "expect_body", "degraded"));
    assert_check_failed(t, "the body does not contain \"degraded\"");
    assert_true(json_is_false(action_output(t, "body_matched")));
    assert_int_equal(json_integer_value(action_output(t, "status")), 200);
    task_free(e.w, t);
    /* both failing: both named */
    s.status = 500;
    t = check(&e, m, json_pack("{s:s}", "expect_body", "degraded"));
    assert_check_failed(t, "status 500 is not 2xx; the body does not contain");
    task_free(e.w, t);
    assert_true(vendor_mock_clean(m));
    vendor_mock_stop(m);
    action_env_free(&e);
}

static void max_latency(void **state) {
    (void)state;
    action_env e;
    service s = {200, "ok"};
    vendor_mock *m = vendor_mock_start(service_handler, &s);
    assert_int_equal(action_env_init(&e, 0), 0);
    /* No exchange takes no time at all: 0 ms is always exceeded. */
    task *t = check(&e, m, json_pack("{s:s}", "max_latency", "0ms"));
    assert_check_failed(t, "is over max_latency 0 ms");
    assert_int_equal(json_integer_value(action_output(t, "status")), 200);
    task_free(e.w, t);
    t = check(&e, m, json_pack("{s:i}", "max_latency", 0));
    assert_check_failed(t, "is over max_latency 0 ms");
    task_free(e.w, t);
    t = check(&e, m, json_pack("{s:s}", "max_latency", "30s"));
    assert_check_passed(t);
    task_free(e.w, t);
    t = check(&e, m, json_pack("{s:i}", "max_latency", 60000));
    assert_check_passed(t);
    task_free(e.w, t);
    assert_true(vendor_mock_clean(m));
    vendor_mock_stop(m);
    action_env_free(&e);
}

/* Refused connection: a failed check with status 0, retried. */
static void refused_port(void **state) {
    (void)state;
    action_env e;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    char url[100];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", ntohs(a.sin_port));
    assert_int_equal(action_env_init(&e, 0), 0);
    task *t = action_task(NULL, "probe", "http_check",
                          json_pack("{s:s, s:s}", "url", url, "expect_body", "ok"), true);
    assert_int_equal(action_run(&e, t), 0);
    assert_int_equal(t->res.succeeded, 0);
    assert_int_equal(t->res.permanent, 0);
    assert_int_equal(json_integer_value(action_output(t, "status")), 0);
    assert_true(json_is_false(action_output(t, "ok")));
    assert_true(json_is_false(action_output(t, "body_matched")));
    assert_true(strlen(reason(t)) > 0);
    task_free(e.w, t);
    action_env_free(&e);
}

static void head_handler(vendor_mock *m, void *arg, int n, const mock_request *rq, mock_reply *rp) {
    (void)arg, (void)n;
    mock_expect(m, rq, "HEAD", "/healthz");
    mock_expect_header(m, rq, "x-probe", "muster");
    if (rq->len || json_object_get(rq->headers, "content-length"))
        mock_problem(m, "a HEAD request with a body");
    /* The length of the body a GET would get, and no body. */
    mock_reply_text(rp, 200, "text/plain", "healthy");
}

/* HEAD ends with the headers (no wait for a body); headers are sent. */
static void method_and_headers(void **state) {
    (void)state;
    action_env e;
    vendor_mock *m = vendor_mock_start(head_handler, NULL);
    assert_int_equal(action_env_init(&e, 0), 0);
    task *t = check(&e, m, json_pack("{s:s, s:{s:s}}", "method", "HEAD", "headers", "X-Probe",
                                     "muster"));
    assert_check_passed(t);
    assert_int_equal(vendor_mock_count(m), 1);
    assert_true(vendor_mock_clean(m));
    task_free(e.w, t);
    vendor_mock_stop(m);
    action_env_free(&e);
}

static void private_target_refused(void **state) {
    (void)state;
    action_env e;
    service s = {200, "ok"};
    vendor_mock *m = vendor_mock_start(service_handler, &s);
    assert_int_equal(action_env_init(&e, 0), 0);
    task *t = action_task(NULL, "probe", "http_check",
                          json_pack("{s:s}", "url", vendor_mock_url(m)), false);
    assert_int_equal(action_run(&e, t), 0);
    assert_int_equal(t->res.succeeded, 0);
    assert_int_equal(t->res.permanent, 1);
    assert_non_null(strstr(t->error, "private, loopback or link-local"));
    assert_int_equal(vendor_mock_count(m), 0);
    task_free(e.w, t);
    vendor_mock_stop(m);
    action_env_free(&e);
}

static void bad_input_is_permanent(void **state) {
    (void)state;
    action_env e;
    static const struct {
        const char *json;
        const char *names;
    } cases[] = {
        {"{\"url\": \"http://127.0.0.1:9/\", \"expect_status\": 99}", "\"expect_status\""},
        {"{\"url\": \"http://127.0.0.1:9/\", \"expect_status\": \"ok\"}", "\"expect_status\""},
        {"{\"url\": \"http://127.0.0.1:9/\", \"expect_status\": [200, \"2xx\"]}", "\"expect_status\""},
        {"{\"url\": \"http://127.0.0.1:9/\", \"expect_status\": []}", "\"expect_status\""},
        {"{\"url\": \"http://127.0.0.1:9/\", \"max_latency\": \"soon\"}", "\"max_latency\""},
        {"{\"url\": \"http://127.0.0.1:9/\", \"max_latency\": -5}", "\"max_latency\""},
        {"{\"method\": \"GET\"}", "\"url\""},
    };
    assert_int_equal(action_env_init(&e, 0), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        task *t = action_task(NULL, "probe", "http_check", json_loads(cases[i].json, 0, NULL), true);
        assert_int_equal(action_run(&e, t), 0);
        assert_int_equal(t->res.succeeded, 0);
        assert_int_equal(t->res.permanent, 1);
        if (!strstr(t->error, cases[i].names)) fail_msg("%s: %s", cases[i].json, t->error);
        task_free(e.w, t);
    }
    action_env_free(&e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_expects_2xx),
        cmocka_unit_test(expect_status_number_or_list),
        cmocka_unit_test(expect_body_substring),
        cmocka_unit_test(max_latency),
        cmocka_unit_test(refused_port),
        cmocka_unit_test(method_and_headers),
        cmocka_unit_test(private_target_refused),
        cmocka_unit_test(bad_input_is_permanent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
