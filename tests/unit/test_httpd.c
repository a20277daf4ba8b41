/* test_httpd.c - unit tests for the health and metrics endpoints, over loopback */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>
#include <sys/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "common/httpd.h"
#include "common/log.h"
#include "common/metrics.h"
#include "tests/harness/promparse.h"

/* What one request got back. */
typedef struct answer {
    long status;
    char type[128];
    char allow[64];
    char body[65536];
    size_t len;
} answer;

static size_t on_body(char *data, size_t size, size_t n, void *arg) {
    answer *a = arg;
    size_t len = size * n;
    if (a->len + len >= sizeof(a->body)) return 0; /* too big: fail the transfer */
    memcpy(a->body + a->len, data, len);
    a->len += len;
    a->body[a->len] = '\0';
    return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg) {
    answer *a = arg;
    size_t len = size * n;
    if (len > 7 && strncasecmp(data, "Allow: ", 7) == 0) {
        size_t v = len - 7;
        while (v > 0 && (data[7 + v - 1] == '\r' || data[7 + v - 1] == '\n')) v--;
        if (v >= sizeof(a->allow)) v = sizeof(a->allow) - 1;
        memcpy(a->allow, data + 7, v);
        a->allow[v] = '\0';
    }
    return len;
}

/* Timeouts stretch under valgrind, which is many times slower. */
static long timeout_ms(void) {
    const char *preload = getenv("LD_PRELOAD");
    return preload && strstr(preload, "valgrind") ? 60000 : 5000;
}

/* Sends method (GET, HEAD, POST, ...) to http://127.0.0.1:port/path. */
static answer *request(int port, const char *method, const char *path) {
    static answer a;
    char url[256];
    CURL *c = curl_easy_init();
    char *type = NULL;

    memset(&a, 0, sizeof(a));
    assert_non_null(c);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms());
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &a);
    if (strcmp(method, "HEAD") == 0) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "POST") == 0) curl_easy_setopt(c, CURLOPT_POSTFIELDS, "x=1");
    else if (strcmp(method, "GET") != 0) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);

    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) fail_msg("%s %s: %s", method, url, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a.status);
    if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK && type)
        snprintf(a.type, sizeof(a.type), "%s", type);
    curl_easy_cleanup(c);
    return &a;
}

static void expect(int port, const char *method, const char *path, long status, const char *type,
                   const char *body) {
    answer *a = request(port, method, path);
    if (a->status != status)
        fail_msg("%s %s: status %ld, wanted %ld (%s)", method, path, a->status, status, a->body);
    if (type) assert_string_equal(a->type, type);
    if (body) assert_string_equal(a->body, body);
}

/* ready() for the tests: the flag and reason another thread sets. */
typedef struct readiness {
    atomic_int ready;
    atomic_int calls;
    const char *reason; /* set before the server starts, read-only after */
} readiness;

static int is_ready(void *arg, char *why, size_t len) {
    readiness *r = arg;
    atomic_fetch_add(&r->calls, 1);
    if (atomic_load(&r->ready)) return 1;
    if (r->reason) snprintf(why, len, "%s", r->reason);
    return 0;
}

static pthread_t main_thread;
static atomic_int fn_on_main_thread;

static double where_am_i(void *arg) {
    (void)arg;
    if (pthread_equal(pthread_self(), main_thread)) atomic_store(&fn_on_main_thread, 1);
    return 1;
}

static int setup(void **state) {
    (void)state;
    log_min_level = LOG_ERROR + 1; /* the failures below log by design */
    main_thread = pthread_self();
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    curl_global_cleanup();
    return 0;
}

#define TEXT "text/plain; charset=utf-8"
#define PROM "text/plain; version=0.0.4; charset=utf-8"

static void test_endpoints(void **state) {
    (void)state;
    char err[256] = "";
    const char *const codes[] = {"code", NULL};
    metrics *m = metrics_new(0, 0);
    metric_family *hits = metrics_counter(m, "muster_test_hits_total", "Hits \"quoted\".", codes);
    metrics_inc(hits, (const char *const[]){"200"}, 3);
    assert_int_equal(metrics_gauge_fn(m, "muster_test_fn", NULL, where_am_i, NULL), 0);
    readiness r = {.reason = "redis: connection refused"};
    atomic_init(&r.ready, 0);
    atomic_init(&r.calls, 0);

    httpd *h = httpd_start("127.0.0.1", 0, m, is_ready, &r, err, sizeof(err));
    if (!h) fail_msg("%s", err);
    int port = httpd_port(h);
    assert_true(port > 0 && port < 65536);

    expect(port, "GET", "/healthz", 200, TEXT, "ok\n");
    expect(port, "HEAD", "/healthz", 200, TEXT, "");
    expect(port, "GET", "/readyz", 503, TEXT, "redis: connection refused\n");
    atomic_store(&r.ready, 1);
    expect(port, "GET", "/readyz", 200, TEXT, "ready\n");
    atomic_store(&r.ready, 0);
    expect(port, "GET", "/readyz", 503, TEXT, NULL);
    assert_int_equal(atomic_load(&r.calls), 3);

    answer *a = request(port, "GET", "/metrics");
    assert_int_equal(a->status, 200);
    assert_string_equal(a->type, PROM);
    prom_sample *s;
    size_t n;
    if (prom_parse(a->body, &s, &n, err, sizeof(err)) != 0) fail_msg("%s\n%s", err, a->body);
    const prom_sample *hit = prom_find(s, n, "muster_test_hits_total", "code", "200", NULL);
    assert_non_null(hit);
    assert_true(hit->value == 3);
    assert_string_equal(hit->help, "Hits \"quoted\".");
    prom_samples_free(s, n);
    assert_int_equal(atomic_load(&fn_on_main_thread), 0); /* it ran on the HTTP thread */

    /* updates show in the next scrape; the query string is not part of the path */
    metrics_inc(hits, (const char *const[]){"200"}, 1);
    a = request(port, "GET", "/metrics?debug=1");
    assert_int_equal(a->status, 200);
    assert_non_null(strstr(a->body, "\nmuster_test_hits_total{code=\"200\"} 4\n"));
    expect(port, "HEAD", "/metrics", 200, PROM, "");

    expect(port, "GET", "/", 404, TEXT, "not found\n");
    expect(port, "GET", "/metrics/", 404, NULL, NULL);
    expect(port, "GET", "/healthz/x", 404, NULL, NULL);
    expect(port, "POST", "/nowhere", 404, NULL, NULL);

    a = request(port, "POST", "/metrics");
    assert_int_equal(a->status, 405);
    assert_string_equal(a->allow, "GET, HEAD");
    assert_string_equal(a->body, "method not allowed\n");
    expect(port, "DELETE", "/healthz", 405, TEXT, NULL);
    expect(port, "PUT", "/readyz", 405, NULL, NULL);
    expect(port, "OPTIONS", "/metrics", 405, NULL, NULL);
    /* the server is still fine after all that */
    expect(port, "GET", "/healthz", 200, TEXT, "ok\n");

    httpd_stop(h);
    metrics_free(m);
}

static void test_defaults(void **state) {
    (void)state;
    char err[256] = "";
    /* no metrics: /metrics is 404; no ready(): always ready */
    httpd *h = httpd_start("localhost", 0, NULL, NULL, NULL, err, sizeof(err));
    if (!h) fail_msg("%s", err);
    expect(httpd_port(h), "GET", "/readyz", 200, TEXT, "ready\n");
    expect(httpd_port(h), "GET", "/metrics", 404, TEXT, "not found\n");
    httpd_stop(h);

    /* ready() that says no without a reason */
    readiness r = {.reason = NULL};
    atomic_init(&r.ready, 0);
    atomic_init(&r.calls, 0);
    h = httpd_start("127.0.0.1", 0, NULL, is_ready, &r, err, sizeof(err));
    if (!h) fail_msg("%s", err);
    expect(httpd_port(h), "GET", "/readyz", 503, TEXT, "not ready\n");
    httpd_stop(h);
    httpd_stop(NULL);
    assert_int_equal(httpd_port(NULL), -1);
}

static void test_start_errors(void **state) {
    (void)state;
    char err[256] = "", want[64];

    httpd *first = httpd_start("127.0.0.1", 0, NULL, NULL, NULL, err, sizeof(err));
    if (!first) fail_msg("%s", err);
    int port = httpd_port(first);
    assert_null(httpd_start("127.0.0.1", port, NULL, NULL, NULL, err, sizeof(err)));
    snprintf(want, sizeof(want), "httpd: 127.0.0.1:%d: ", port);
    if (strncmp(err, want, strlen(want)) != 0) fail_msg("\"%s\" does not start \"%s\"", err, want);
    assert_true(strlen(err) > strlen(want));
    /* the first one still answers */
    expect(port, "GET", "/healthz", 200, TEXT, "ok\n");
    httpd_stop(first);

    assert_null(httpd_start("127.0.0.1", 65536, NULL, NULL, NULL, err, sizeof(err)));
    assert_string_equal(err, "httpd: port 65536 is not in 0..65535");
    assert_null(httpd_start("127.0.0.1", -1, NULL, NULL, NULL, err, sizeof(err)));
    assert_null(httpd_start("not an address", 0, NULL, NULL, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "httpd: address \"not an address\": "));
    assert_null(httpd_start("127.0.0.300", 0, NULL, NULL, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "127.0.0.300"));
}

static void test_ipv6_loopback(void **state) {
    (void)state;
    char err[256] = "", url[64];
    httpd *h = httpd_start("[::1]", 0, NULL, NULL, NULL, err, sizeof(err));
    if (!h) {
        /* a host without IPv6: nothing to test */
        print_message("skipped: %s\n", err);
        skip();
    }
    CURL *c = curl_easy_init();
    long status = 0;
    snprintf(url, sizeof(url), "http://[::1]:%d/healthz", httpd_port(h));
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms());
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    assert_int_equal(status, 200);
    curl_easy_cleanup(c);
    httpd_stop(h);
}

/* Scrapes while another thread updates: what the daemons will do. */
typedef struct churn {
    metric_family *f;
    atomic_int stop;
} churn;

static void *churn_main(void *p) {
    churn *c = p;
    static const char *const codes[] = {"200", "404", "500", "503"};
    for (unsigned i = 0; !atomic_load(&c->stop); i++)
        metrics_observe(c->f, (const char *const[]){codes[i % 4]}, (i % 1000) / 100.0);
    return NULL;
}

static void test_scrape_while_updating(void **state) {
    (void)state;
    char err[256] = "";
    const char *const codes[] = {"code", NULL};
    metrics *m = metrics_new(0, 0);
    churn c = {.f = metrics_histogram(m, "muster_test_seconds", "t", codes, NULL, 0)};
    atomic_init(&c.stop, 0);
    httpd *h = httpd_start("127.0.0.1", 0, m, NULL, NULL, err, sizeof(err));
    if (!h) fail_msg("%s", err);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, churn_main, &c), 0);
    for (int i = 0; i < 25; i++) {
        answer *a = request(httpd_port(h), "GET", "/metrics");
        prom_sample *s;
        size_t n;
        assert_int_equal(a->status, 200);
        if (prom_parse(a->body, &s, &n, err, sizeof(err)) != 0) fail_msg("%s\n%s", err, a->body);
        prom_samples_free(s, n);
    }
    atomic_store(&c.stop, 1);
    pthread_join(t, NULL);
    httpd_stop(h);
    metrics_free(m);
}

/* Connections from 127.0.0.2 that send the start of a head and nothing
 * more take at most HTTPD_MAX_PER_IP slots: a probe from another address
 * still gets its answer (before, 16 of them held every slot until the idle
 * timeout). After HTTPD_HEAD_MS the server cuts them. */
static void test_slow_clients_do_not_block_probes(void **state) {
    (void)state;
    char err[256];
    int fds[HTTPD_MAX_CONNECTIONS + 4];
    httpd *h = httpd_start("127.0.0.1", 0, NULL, NULL, NULL, err, sizeof(err));
    assert_non_null(h);
    struct sockaddr_in from = {.sin_family = AF_INET}, to = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.2", &from.sin_addr);
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    to.sin_port = htons((uint16_t)httpd_port(h));
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fds[i] >= 0);
        assert_int_equal(bind(fds[i], (struct sockaddr *)&from, sizeof(from)), 0);
        assert_int_equal(connect(fds[i], (struct sockaddr *)&to, sizeof(to)), 0);
        static const char part[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: a";
        assert_int_equal(send(fds[i], part, sizeof(part) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(part) - 1);
    }
    usleep(200 * 1000); /* let the server take them all in */
    answer *a = request(httpd_port(h), "GET", "/healthz");
    assert_int_equal(a->status, 200);
    /* The slow ones are cut once their head deadline passes. */
    char byte;
    struct timeval tv = {.tv_sec = HTTPD_HEAD_MS / 1000 + 5};
    setsockopt(fds[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    assert_int_equal(recv(fds[0], &byte, 1, 0), 0);
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) close(fds[i]);
    httpd_stop(h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow_clients_do_not_block_probes),
        cmocka_unit_test(test_endpoints),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_start_errors),
        cmocka_unit_test(test_ipv6_loopback),
        cmocka_unit_test(test_scrape_while_updating),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
