/* test_action_tcp_check.c - the tcp_check action against local sockets */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/harness/action_run.h"
#include "worker/http.h"

/* A socket listening on 127.0.0.1, a free port; fills *port. */
static int listen_local(int *port) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* A port nothing listens on: bound once, then closed. */
static int closed_port(void) {
    int port;
    close(listen_local(&port));
    return port;
}

static task *run_check(action_env *e, json_t *with, bool allow_private) {
    task *t = action_task(NULL, "probe", "tcp_check", with, allow_private);
    assert_int_equal(action_run(e, t), 0);
    return t;
}

static void listening_port_connects(void **state) {
    (void)state;
    action_env e;
    int port, fd = listen_local(&port);
    assert_int_equal(action_env_init(&e, 0), 0);
    /* port as a number */
    task *t = run_check(&e, json_pack("{s:s, s:i}", "host", "127.0.0.1", "port", port), true);
    assert_int_equal(t->res.succeeded, 1);
    assert_true(json_is_true(action_output(t, "connected")));
    assert_string_equal(json_string_value(action_output(t, "address")), "127.0.0.1");
    assert_true(json_is_integer(action_output(t, "latency_ms")));
    assert_true(json_integer_value(action_output(t, "latency_ms")) >= 0);
    task_free(e.w, t);
    /* and as a numeric string (what a template renders), by name */
    char text[16];
    snprintf(text, sizeof(text), "%d", port);
    t = run_check(&e, json_pack("{s:s, s:s}", "host", "localhost", "port", text), true);
    assert_int_equal(t->res.succeeded, 1);
    assert_true(json_is_true(action_output(t, "connected")));
    task_free(e.w, t);
    close(fd);
    action_env_free(&e);
}

static void closed_port_is_retried(void **state) {
    (void)state;
    action_env e;
    assert_int_equal(action_env_init(&e, 0), 0);
    task *t = run_check(&e, json_pack("{s:s, s:i}", "host", "127.0.0.1", "port", closed_port()),
                        true);
    assert_int_equal(t->res.succeeded, 0);
    assert_int_equal(t->res.permanent, 0);
    assert_true(json_is_false(action_output(t, "connected")));
    assert_true(json_is_null(action_output(t, "latency_ms")));
    assert_non_null(strstr(t->error, "127.0.0.1:"));
    task_free(e.w, t);
    action_env_free(&e);
}

/* Loopback is refused after DNS unless the workflow allows private
 * targets: nothing reaches the listener. */
static void loopback_refused_without_allow_private(void **state) {
    (void)state;
    action_env e;
    int port, fd = listen_local(&port);
    assert_int_equal(action_env_init(&e, 0), 0);
    const char *hosts[] = {"127.0.0.1", "localhost"};
    for (size_t i = 0; i < 2; i++) {
        task *t = run_check(&e, json_pack("{s:s, s:i}", "host", hosts[i], "port", port), false);
        assert_int_equal(t->res.succeeded, 0);
        assert_int_equal(t->res.permanent, 1);
        assert_non_null(strstr(t->error, "private, loopback or link-local"));
        assert_true(json_is_false(action_output(t, "connected")));
        task_free(e.w, t);
    }
    /* nothing was accepted: the listener has no pending connection */
    struct timeval tv = {0, 0};
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(fd, &rd);
    assert_int_equal(select(fd + 1, &rd, NULL, NULL, &tv), 0);
    close(fd);
    action_env_free(&e);
}

static void host_allowlist_applies(void **state) {
    (void)state;
    action_env e;
    char err[256];
    assert_int_equal(action_env_init(&e, 0), 0);
    config_set(&e.cfg, "http.allow_hosts", "db.example.com", err, sizeof(err));
    task *t = run_check(&e, json_pack("{s:s, s:i}", "host", "127.0.0.1", "port", 5432), true);
    assert_int_equal(t->res.succeeded, 0);
    assert_int_equal(t->res.permanent, 1);
    assert_non_null(strstr(t->error, "not in http.allow_hosts"));
    task_free(e.w, t);
    action_env_free(&e);
}

static void bad_input_is_permanent(void **state) {
    (void)state;
    action_env e;
    assert_int_equal(action_env_init(&e, 0), 0);
    static const struct {
        const char *json;
        const char *names;
    } cases[] = {
        {"{\"host\": \"127.0.0.1\", \"port\": 0}", "\"port\""},
        {"{\"host\": \"127.0.0.1\", \"port\": 65536}", "\"port\""},
        {"{\"host\": \"127.0.0.1\", \"port\": \"80x\"}", "\"port\""},
        {"{\"host\": \"127.0.0.1\", \"port\": \"-1\"}", "\"port\""},
        {"{\"host\": \"127.0.0.1\", \"port\": true}", "\"port\""},
        {"{\"host\": \"127.0.0.1\"}", "\"port\""},
        {"{\"port\": 80}", "\"host\""},
        {"{\"host\": \"evil.example/x@127.0.0.1\", \"port\": 80}", "\"host\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        task *t = run_check(&e, json_loads(cases[i].json, 0, NULL), true);
        assert_int_equal(t->res.succeeded, 0);
        assert_int_equal(t->res.permanent, 1);
        if (!strstr(t->error, cases[i].names)) fail_msg("%s: %s", cases[i].json, t->error);
        task_free(e.w, t);
    }
    action_env_free(&e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(listening_port_connects),
        cmocka_unit_test(closed_port_is_retried),
        cmocka_unit_test(loopback_refused_without_allow_private),
        cmocka_unit_test(host_allowlist_applies),
        cmocka_unit_test(bad_input_is_permanent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
