/* test_metrics.c - unit tests for the metrics registry and the text format parser */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/metrics.h"
#include "tests/harness/promparse.h"

static const char *const no_labels[] = {NULL};

/* The registry's own counter, at the end of every rendering. */
#define OVERFLOW_TAIL(families, series)                                                          \
    "# HELP muster_metrics_overflow_total Metric updates and registrations dropped because "    \
    "the registry was full\n"                                                                    \
    "# TYPE muster_metrics_overflow_total counter\n"                                             \
    "muster_metrics_overflow_total{kind=\"family\"} " #families "\n"                            \
    "muster_metrics_overflow_total{kind=\"series\"} " #series "\n"

static int quiet(void **state) {
    (void)state;
    /* Rejected registrations log at error level; the tests expect them. */
    log_min_level = LOG_ERROR + 1;
    return 0;
}

/* Renders m, checks it parses, and returns the text (caller frees). */
static char *render_valid(metrics *m, prom_sample **samples, size_t *n) {
    char err[512];
    char *text = metrics_render(m);
    assert_non_null(text);
    if (prom_parse(text, samples, n, err, sizeof(err)) != 0)
        fail_msg("rendered text does not parse: %s\n%s", err, text);
    return text;
}

static void expect_render(metrics *m, const char *want) {
    prom_sample *s;
    size_t n;
    char *text = render_valid(m, &s, &n);
    if (strcmp(text, want) != 0) fail_msg("rendered:\n%s\nwanted:\n%s", text, want);
    prom_samples_free(s, n);
    free(text);
}

static void test_render_exact(void **state) {
    (void)state;
    metrics *m = metrics_new(0, 0);
    assert_non_null(m);
    const char *const codes[] = {"action", "code", NULL};
    const char *const by_action[] = {"action", NULL};
    const double bounds[] = {0.1, 0.5, 1};

    metric_family *resp = metrics_counter(m, "muster_http_responses_total",
                                          "HTTP responses by action and status code.", codes);
    metric_family *depth = metrics_gauge(m, "muster_queue_depth", "Tasks waiting.", NULL);
    metric_family *idle = metrics_counter(m, "muster_idle_total", NULL, no_labels);
    metric_family *unused = metrics_gauge(m, "muster_unused", "Never updated.", by_action);
    metric_family *dur = metrics_histogram(m, "muster_step_duration_seconds", "Step run time.",
                                           by_action, bounds, 3);
    assert_non_null(resp);
    assert_non_null(depth);
    assert_non_null(idle);
    assert_non_null(unused);
    assert_non_null(dur);

    metrics_inc(resp, (const char *const[]){"slack", "200"}, 1);
    metrics_inc(resp, (const char *const[]){"jira", "500"}, 1.5);
    metrics_inc(resp, (const char *const[]){"slack", "200"}, 2);
    metrics_set(depth, NULL, 7);
    metrics_inc(depth, NULL, -9.25);
    const char *const exec[] = {"exec"};
    metrics_observe(dur, exec, 0.0625);
    metrics_observe(dur, exec, 0.25);
    metrics_observe(dur, exec, 0.5); /* on a bound: counted in it (le) */
    metrics_observe(dur, exec, 3);

    expect_render(m, "# HELP muster_http_responses_total HTTP responses by action and status "
                     "code.\n"
                     "# TYPE muster_http_responses_total counter\n"
                     "muster_http_responses_total{action=\"slack\",code=\"200\"} 3\n"
                     "muster_http_responses_total{action=\"jira\",code=\"500\"} 1.5\n"
                     "# HELP muster_queue_depth Tasks waiting.\n"
                     "# TYPE muster_queue_depth gauge\n"
                     "muster_queue_depth -2.25\n"
                     "# TYPE muster_idle_total counter\n"
                     "muster_idle_total 0\n"
                     "# HELP muster_step_duration_seconds Step run time.\n"
                     "# TYPE muster_step_duration_seconds histogram\n"
                     "muster_step_duration_seconds_bucket{action=\"exec\",le=\"0.1\"} 1\n"
                     "muster_step_duration_seconds_bucket{action=\"exec\",le=\"0.5\"} 3\n"
                     "muster_step_duration_seconds_bucket{action=\"exec\",le=\"1\"} 3\n"
                     "muster_step_duration_seconds_bucket{action=\"exec\",le=\"+Inf\"} 4\n"
                     "muster_step_duration_seconds_sum{action=\"exec\"} 3.8125\n"
                     "muster_step_duration_seconds_count{action=\"exec\"} 4\n" OVERFLOW_TAIL(0, 0));
    metrics_free(m);
}

static void test_unlabelled_histogram_starts_at_zero(void **state) {
    (void)state;
    metrics *m = metrics_new(0, 0);
    const double bounds[] = {1, 2, INFINITY}; /* a trailing +Inf is the implicit one */
    assert_non_null(metrics_histogram(m, "h", "", NULL, bounds, 3));
    expect_render(m, "# TYPE h histogram\n"
                     "h_bucket{le=\"1\"} 0\n"
                     "h_bucket{le=\"2\"} 0\n"
                     "h_bucket{le=\"+Inf\"} 0\n"
                     "h_sum 0\n"
                     "h_count 0\n" OVERFLOW_TAIL(0, 0));
    metrics_free(m);
}

static void test_escaping(void **state) {
    (void)state;
    metrics *m = metrics_new(0, 0);
    const char *const names[] = {"path", NULL};
    metric_family *f =
        metrics_gauge(m, "x", "Path C:\\dir\nsecond \"line\"", names);
    assert_non_null(f);
    metrics_set(f, (const char *const[]){"C:\\DIR\\FILE.TXT\n\"quoted\""}, 1);
    metrics_set(f, (const char *const[]){NULL}, 2); /* NULL is "" */
    expect_render(m, "# HELP x Path C:\\\\dir\\nsecond \"line\"\n"
                     "# TYPE x gauge\n"
                     "x{path=\"C:\\\\DIR\\\\FILE.TXT\\n\\\"quoted\\\"\"} 1\n"
                     "x{path=\"\"} 2\n" OVERFLOW_TAIL(0, 0));

    /* and the parser gives the original text back */
    prom_sample *s;
    size_t n;
    char *text = render_valid(m, &s, &n);
    const prom_sample *one = prom_find(s, n, "x", "path", "C:\\DIR\\FILE.TXT\n\"quoted\"", NULL);
    assert_non_null(one);
    assert_true(one->value == 1);
    assert_string_equal(one->help, "Path C:\\dir\nsecond \"line\"");
    assert_int_equal(one->type, PROM_GAUGE);
    prom_samples_free(s, n);
    free(text);
    metrics_free(m);
}

static void test_label_values_bounded_utf8(void **state) {
    (void)state;
    metrics *m = metrics_new(0, 0);
    const char *const names[] = {"v", NULL};
    metric_family *f = metrics_counter(m, "c_total", NULL, names);
    char longv[512] = "x";
    for (int i = 0; i < 100; i++) strcat(longv, "\xc3\xa9"); /* é */

    metrics_inc(f, (const char *const[]){"bad\xff\xc3(end"}, 1);
    metrics_inc(f, (const char *const[]){longv}, 1);
    metrics_inc(f, (const char *const[]){"\xed\xa0\x80"}, 1); /* a UTF-16 surrogate */

    prom_sample *s;
    size_t n;
    char *text = render_valid(m, &s, &n);
    assert_non_null(prom_find(s, n, "c_total", "v", "bad\xef\xbf\xbd\xef\xbf\xbd(end", NULL));
    assert_non_null(prom_find(s, n, "c_total", "v", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", NULL));
    /* cut to 128 bytes, before the é that would not fit */
    char want[512] = "x";
    for (int i = 0; i < 63; i++) strcat(want, "\xc3\xa9");
    const prom_sample *cut = prom_find(s, n, "c_total", "v", want, NULL);
    assert_non_null(cut);
    assert_int_equal(strlen(prom_label_get(cut, "v")), 127);
    prom_samples_free(s, n);
    free(text);
    metrics_free(m);
}

static void expect_format(metrics *m, metric_family *g, double v, const char *want) {
    char line[128];
    metrics_set(g, NULL, v);
    char *text = metrics_render(m);
    assert_non_null(text);
    snprintf(line, sizeof(line), "\ng %s\n", want);
    if (!strstr(text, line)) fail_msg("%.17g: wanted \"g %s\" in\n%s", v, want, text);
    free(text);
}

static void test_value_format(void **state) {
    (void)state;
    metrics *m = metrics_new(0, 0);
    metric_family *g = metrics_gauge(m, "g", NULL, NULL);
    expect_format(m, g, 0, "0");
    expect_format(m, g, 0.1, "0.1");
    expect_format(m, g, 123456789, "123456789");
    expect_format(m, g, 30, "30");
    expect_format(m, g, -1000000, "-1000000");
    expect_format(m, g, 1e21, "1e+21");
    expect_format(m, g, 1234.5, "1234.5");
    expect_format(m, g, 1.5e-7, "1.5e-07");
    expect_format(m, g, 1.0 / 3, "0.3333333333333333");
    expect_format(m, g, 0.1 + 0.2, "0.30000000000000004");
    expect_format(m, g, NAN, "NaN");
    expect_format(m, g, INFINITY, "+Inf");
    expect_format(m, g, -INFINITY, "-Inf");
    expect_format(m, g, 9007199254740993.0, "9007199254740992");
    metrics_free(m);
}

static void test_histogram_default_buckets(void **state) {
    (void)state;
    metrics *m = metrics_new(0, 0);
    metric_family *h = metrics_histogram(m, "d_seconds", "d", NULL, NULL, 0);
    assert_non_null(h);
    const double obs[] = {0.001, 0.005, 0.0051, 0.2, 0.2, 7, 60, 61, INFINITY, NAN};
    for (size_t i = 0; i < sizeof(obs) / sizeof(obs[0]); i++) metrics_observe(h, NULL, obs[i]);

    prom_sample *s;
    size_t n;
    char *text = render_valid(m, &s, &n);
    struct {
        const char *le;
        double want;
    } b[] = {{"0.005", 2}, {"0.01", 3}, {"0.025", 3}, {"0.05", 3}, {"0.1", 3},
             {"0.25", 5},  {"0.5", 5},  {"1", 5},     {"2.5", 5},  {"5", 5},
             {"10", 6},    {"30", 6},   {"60", 7},    {"+Inf", 9}};
    assert_int_equal(metrics_seconds_nbuckets + 1, sizeof(b) / sizeof(b[0]));
    for (size_t i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
        const prom_sample *x = prom_find(s, n, "d_seconds_bucket", "le", b[i].le, NULL);
        if (!x) fail_msg("no bucket le=%s in\n%s", b[i].le, text);
        if (x->value != b[i].want) fail_msg("le=%s: %g, wanted %g", b[i].le, x->value, b[i].want);
        assert_string_equal(x->family, "d_seconds");
        assert_int_equal(x->type, PROM_HISTOGRAM);
    }
    /* the NaN was dropped; the +Inf observation makes the sum +Inf */
    assert_true(prom_find(s, n, "d_seconds_count", NULL)->value == 9);
    assert_true(isinf(prom_find(s, n, "d_seconds_sum", NULL)->value));
    prom_samples_free(s, n);
    free(text);
    metrics_free(m);
}

static void test_bounds(void **state) {
    (void)state;
    metrics *m = metrics_new(2, 3);
    const char *const names[] = {"k", NULL};
    metric_family *a = metrics_counter(m, "a_total", NULL, names);
    metric_family *b = metrics_gauge(m, "b", NULL, NULL);
    assert_non_null(a);
    assert_non_null(b);
    assert_null(metrics_counter(m, "c_total", NULL, NULL));
    assert_int_equal(metrics_gauge_fn(m, "d", NULL, NULL, NULL), -1);
    assert_int_equal(metrics_overflow(m), 1);
    /* the same registration again is not a new family */
    assert_ptr_equal(metrics_counter(m, "a_total", "other help", names), a);

    const char *vals[] = {"1", "2", "3", "4", "5", "1"};
    for (size_t i = 0; i < 6; i++) metrics_inc(a, (const char *const[]){vals[i]}, 1);
    assert_int_equal(metrics_overflow(m), 3);
    expect_render(m, "# TYPE a_total counter\n"
                     "a_total{k=\"1\"} 2\n"
                     "a_total{k=\"2\"} 1\n"
                     "a_total{k=\"3\"} 1\n"
                     "# TYPE b gauge\n"
                     "b 0\n" OVERFLOW_TAIL(1, 2));
    metrics_free(m);
}

static void test_registration_rules(void **state) {
    (void)state;
    metrics *m = metrics_new(0, 0);
    const char *const le[] = {"le", NULL};
    const char *const twice[] = {"a", "a", NULL};
    const char *const five[] = {"a", "b", "c", "d", "e", NULL};
    const char *const reserved[] = {"__a", NULL};
    const char *const bad_label[] = {"a:b", NULL};
    const char *const ab[] = {"a", "b", NULL};
    const char *const ba[] = {"b", "a", NULL};

    assert_null(metrics_counter(m, "", NULL, NULL));
    assert_null(metrics_counter(m, NULL, NULL, NULL));
    assert_null(metrics_counter(m, "9lives", NULL, NULL));
    assert_null(metrics_counter(m, "a-b", NULL, NULL));
    assert_non_null(metrics_counter(m, "ns:sub_total", NULL, NULL));
    assert_null(metrics_counter(m, "muster_metrics_overflow_total", NULL, NULL));
    assert_null(metrics_counter(m, "x1", NULL, twice));
    assert_null(metrics_counter(m, "x2", NULL, five));
    assert_null(metrics_counter(m, "x3", NULL, reserved));
    assert_null(metrics_counter(m, "x4", NULL, bad_label));
    assert_non_null(metrics_gauge(m, "x5", NULL, le)); /* le is only reserved in histograms */
    assert_null(metrics_histogram(m, "x6", NULL, le, NULL, 0));

    const double decreasing[] = {1, 0.5}, nan[] = {NAN}, neg_inf[] = {-INFINITY, 1};
    double many[METRICS_MAX_BUCKETS + 1];
    for (int i = 0; i <= METRICS_MAX_BUCKETS; i++) many[i] = i;
    assert_null(metrics_histogram(m, "h1", NULL, NULL, decreasing, 2));
    assert_null(metrics_histogram(m, "h2", NULL, NULL, nan, 1));
    assert_null(metrics_histogram(m, "h3", NULL, NULL, neg_inf, 2));
    assert_null(metrics_histogram(m, "h4", NULL, NULL, many, METRICS_MAX_BUCKETS + 1));
    assert_non_null(metrics_histogram(m, "h5", NULL, NULL, many, METRICS_MAX_BUCKETS));

    /* same name: the same family back, or NULL when it differs */
    metric_family *f = metrics_counter(m, "same_total", NULL, ab);
    assert_ptr_equal(metrics_counter(m, "same_total", NULL, ab), f);
    assert_null(metrics_counter(m, "same_total", NULL, ba));
    assert_null(metrics_gauge(m, "same_total", NULL, ab));
    metric_family *h = metrics_histogram(m, "lat", NULL, NULL, NULL, 0);
    assert_ptr_equal(metrics_histogram(m, "lat", NULL, NULL, NULL, 0), h);
    assert_null(metrics_histogram(m, "lat", NULL, NULL, many, 3));
    /* a histogram's samples cannot collide with another family */
    assert_null(metrics_counter(m, "lat_count", NULL, NULL));
    assert_null(metrics_gauge(m, "lat_bucket", NULL, NULL));
    assert_non_null(metrics_gauge(m, "q_sum", NULL, NULL));
    assert_null(metrics_histogram(m, "q", NULL, NULL, NULL, 0));
    assert_int_equal(metrics_overflow(m), 0);

    /* updates on the wrong kind, NaN, negative counter steps, NULL: ignored */
    metric_family *c = metrics_counter(m, "c_total", NULL, NULL);
    metric_family *g = metrics_gauge(m, "g", NULL, NULL);
    metrics_inc(c, NULL, -1);
    metrics_inc(c, NULL, NAN);
    metrics_set(c, NULL, 5);
    metrics_observe(c, NULL, 1);
    metrics_inc(h, NULL, 1);
    metrics_set(h, NULL, 1);
    metrics_inc(g, NULL, NAN);
    metrics_inc(NULL, NULL, 1);
    metrics_set(NULL, NULL, 1);
    metrics_observe(NULL, NULL, 1);
    metrics_inc(c, NULL, 0.5);

    prom_sample *s;
    size_t n;
    char *text = render_valid(m, &s, &n);
    assert_true(prom_find(s, n, "c_total", NULL)->value == 0.5);
    assert_true(prom_find(s, n, "g", NULL)->value == 0);
    assert_true(prom_find(s, n, "lat_count", NULL)->value == 0);
    prom_samples_free(s, n);
    free(text);

    assert_null(metrics_counter(NULL, "a", NULL, NULL));
    assert_null(metrics_render(NULL));
    metrics_free(m);
    metrics_free(NULL);
}

static double read_atomic(void *arg) { return (double)atomic_load((atomic_int *)arg); }

static metric_family *reentrant_target;

/* A gauge function may update metrics: it runs without the registry lock. */
static double reentrant(void *arg) {
    (void)arg;
    metrics_inc(reentrant_target, NULL, 1);
    return 42;
}

static void test_gauge_fn(void **state) {
    (void)state;
    metrics *m = metrics_new(0, 0);
    atomic_int depth;
    atomic_init(&depth, 5);
    assert_int_equal(metrics_gauge_fn(m, "queue_depth", "Tasks queued.", read_atomic, &depth), 0);
    assert_int_equal(metrics_gauge_fn(m, "queue_depth", NULL, read_atomic, &depth), -1);
    assert_int_equal(metrics_gauge_fn(m, "nofn", NULL, NULL, NULL), -1);
    reentrant_target = metrics_counter(m, "renders_total", NULL, NULL);
    assert_int_equal(metrics_gauge_fn(m, "answer", NULL, reentrant, NULL), 0);
    /* a function gauge takes no updates */
    metrics_set(metrics_gauge(m, "queue_depth", NULL, NULL), NULL, 1);

    expect_render(m, "# HELP queue_depth Tasks queued.\n"
                     "# TYPE queue_depth gauge\n"
                     "queue_depth 5\n"
                     "# TYPE renders_total counter\n"
                     "renders_total 1\n"
                     "# TYPE answer gauge\n"
                     "answer 42\n" OVERFLOW_TAIL(0, 0));
    atomic_store(&depth, 9);
    char *text = metrics_render(m);
    assert_non_null(strstr(text, "\nqueue_depth 9\n"));
    assert_non_null(strstr(text, "\nrenders_total 2\n"));
    free(text);
    metrics_free(m);
}

/* ---- updates from other threads while rendering ---- */

#define RENDERS 100

typedef struct worker_arg {
    metrics *m;
    metric_family *f;
    int kind; /* 0 counter, 1 histogram, 2 gauge, 3 registrations */
    atomic_long done; /* updates made */
} worker_arg;

static atomic_int stop_updates;

/* Updates until told to stop: the renders below always overlap them. */
static void *update(void *p) {
    worker_arg *w = p;
    static const char *const actions[] = {"slack", "jira", "exec", "http", "noop"};
    for (long i = 0; !atomic_load(&stop_updates); i++) {
        const char *const lv[] = {actions[i % 5]};
        switch (w->kind) {
        case 0: metrics_inc(w->f, lv, 1); break;
        case 1: metrics_observe(w->f, lv, (double)(i % 100) / 10); break;
        case 2: metrics_set(w->f, NULL, (double)i); break;
        default:
            if (i < 40) {
                char name[32];
                snprintf(name, sizeof(name), "late_%ld_total", i);
                metrics_inc(metrics_counter(w->m, name, "registered while rendering", NULL),
                            NULL, 1);
            }
        }
        atomic_store(&w->done, i + 1);
    }
    return NULL;
}

static void test_concurrent_render(void **state) {
    (void)state;
    metrics *m = metrics_new(0, 0);
    const char *const by_action[] = {"action", NULL};
    worker_arg w[4] = {
        {m, metrics_counter(m, "c_total", "c", by_action), 0, 0},
        {m, metrics_histogram(m, "h_seconds", "h", by_action, NULL, 0), 1, 0},
        {m, metrics_gauge(m, "g", "g", NULL), 2, 0},
        {m, NULL, 3, 0},
    };
    pthread_t t[4];

    atomic_store(&stop_updates, 0);
    for (int i = 0; i < 4; i++) assert_int_equal(pthread_create(&t[i], NULL, update, &w[i]), 0);
    /* every thread under way before the first render */
    for (int i = 0; i < 4; i++)
        while (atomic_load(&w[i].done) == 0) sched_yield();
    for (int r = 0; r < RENDERS; r++) {
        prom_sample *s;
        size_t n;
        char *text = render_valid(m, &s, &n);
        prom_samples_free(s, n);
        free(text);
    }
    atomic_store(&stop_updates, 1);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);

    /* nothing lost: the totals are what the threads did */
    prom_sample *s;
    size_t n;
    char *text = render_valid(m, &s, &n);
    double counted = 0, observed = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(s[i].name, "c_total") == 0) counted += s[i].value;
        if (strcmp(s[i].name, "h_seconds_count") == 0) observed += s[i].value;
    }
    assert_true(counted == (double)atomic_load(&w[0].done));
    assert_true(observed == (double)atomic_load(&w[1].done));
    assert_true(prom_find(s, n, "g", NULL)->value == (double)(atomic_load(&w[2].done) - 1));
    if (atomic_load(&w[3].done) >= 40) assert_non_null(prom_find(s, n, "late_39_total", NULL));
    prom_samples_free(s, n);
    free(text);
    metrics_free(m);
}

/* ---- the parser itself ---- */

static void test_parse_spec_example(void **state) {
    (void)state;
    /* The example of the exposition format documentation, with comments. */
    const char *text =
        "# HELP http_requests_total The total number of HTTP requests.\n"
        "# TYPE http_requests_total counter\n"
        "http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n"
        "http_requests_total{method=\"post\",code=\"400\"}    3 1395066363000\n"
        "\n"
        "# Escaping in label values:\n"
        "msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\",error=\"Cannot find "
        "file:\\n\\\"FILE.TXT\\\"\"} 1.458255915e9\n"
        "\n"
        "# Minimalistic line:\n"
        "metric_without_timestamp_and_labels 12.47\n"
        "\n"
        "# A weird metric from before the epoch:\n"
        "something_weird{problem=\"division by zero\"} +Inf -3982045\n"
        "\n"
        "# HELP http_request_duration_seconds A histogram of the request duration.\n"
        "# TYPE http_request_duration_seconds histogram\n"
        "http_request_duration_seconds_bucket{le=\"0.05\"} 24054\n"
        "http_request_duration_seconds_bucket{le=\"0.1\"} 33444\n"
        "http_request_duration_seconds_bucket{le=\"0.2\"} 100392\n"
        "http_request_duration_seconds_bucket{le=\"0.5\"} 129389\n"
        "http_request_duration_seconds_bucket{le=\"1\"} 133988\n"
        "http_request_duration_seconds_bucket{le=\"+Inf\"} 144320\n"
        "http_request_duration_seconds_sum 53423\n"
        "http_request_duration_seconds_count 144320\n"
        "\n"
        "# HELP telemetry_requests_metrics_latency_microseconds A summary of the response "
        "latency.\n"
        "# TYPE telemetry_requests_metrics_latency_microseconds summary\n"
        "telemetry_requests_metrics_latency_microseconds{quantile=\"0.01\"} 3102\n"
        "telemetry_requests_metrics_latency_microseconds{quantile=\"0.05\"} 3272\n"
        "telemetry_requests_metrics_latency_microseconds{quantile=\"0.5\"} 4773\n"
        "telemetry_requests_metrics_latency_microseconds{quantile=\"0.9\"} 9001\n"
        "telemetry_requests_metrics_latency_microseconds{quantile=\"0.99\"} 76656\n"
        "telemetry_requests_metrics_latency_microseconds_sum 1.7560473e+07\n"
        "telemetry_requests_metrics_latency_microseconds_count 2693\n"
        "  \t# indented comment\n"
        "\tspaced_out { a = \"1\" , b=\"2\", } \t 5 \t\n";
    prom_sample *s;
    size_t n;
    char err[512];
    if (prom_parse(text, &s, &n, err, sizeof(err)) != 0) fail_msg("%s", err);
    assert_int_equal(n, 21);

    assert_string_equal(s[0].name, "http_requests_total");
    assert_int_equal(s[0].type, PROM_COUNTER);
    assert_string_equal(s[0].help, "The total number of HTTP requests.");
    assert_int_equal(s[0].nlabels, 2);
    assert_true(s[0].has_timestamp && s[0].timestamp == 1395066363000LL);
    assert_true(s[1].value == 3);
    assert_int_equal(s[1].line, 4);

    const prom_sample *dos = &s[2];
    assert_string_equal(prom_label_get(dos, "path"), "C:\\DIR\\FILE.TXT");
    assert_string_equal(prom_label_get(dos, "error"), "Cannot find file:\n\"FILE.TXT\"");
    assert_true(dos->value == 1.458255915e9);
    assert_int_equal(dos->type, PROM_UNTYPED);
    assert_null(dos->help);

    const prom_sample *weird =
        prom_find(s, n, "something_weird", "problem", "division by zero", NULL);
    assert_true(isinf(weird->value) && weird->timestamp == -3982045);

    const prom_sample *sum = prom_find(s, n, "http_request_duration_seconds_sum", NULL);
    assert_string_equal(sum->family, "http_request_duration_seconds");
    assert_int_equal(sum->type, PROM_HISTOGRAM);
    const prom_sample *q = prom_find(s, n, "telemetry_requests_metrics_latency_microseconds",
                                     "quantile", "0.99", NULL);
    assert_true(q->value == 76656);
    assert_int_equal(q->type, PROM_SUMMARY);

    const prom_sample *spaced = prom_find(s, n, "spaced_out", "b", "2", "a", "1", NULL);
    assert_non_null(spaced);
    assert_true(spaced->value == 5 && !spaced->has_timestamp);
    assert_null(prom_find(s, n, "spaced_out", "a", "1", NULL)); /* label sets match exactly */
    prom_samples_free(s, n);

    assert_int_equal(prom_parse("", &s, &n, err, sizeof(err)), 0);
    assert_int_equal(n, 0);
    prom_samples_free(s, n);
    assert_int_equal(prom_parse("a NaN\nb -inf\nc 1e-400\nd .5\n", &s, &n, err, sizeof(err)), 0);
    assert_true(isnan(s[0].value) && isinf(s[1].value) && s[2].value == 0 && s[3].value == 0.5);
    prom_samples_free(s, n);
}

static void expect_reject(const char *text, const char *want) {
    prom_sample *s = (prom_sample *)&s;
    size_t n = 42;
    char err[512] = "";
    if (prom_parse(text, &s, &n, err, sizeof(err)) == 0)
        fail_msg("accepted:\n%s", text);
    assert_null(s);
    assert_int_equal(n, 0);
    if (!strstr(err, want)) fail_msg("error \"%s\" does not say \"%s\" for:\n%s", err, want, text);
}

static void test_parse_rejects(void **state) {
    (void)state;
    expect_reject("a 1", "line 1: the last line does not end with a line feed");
    expect_reject("a 1\r\n", "line 1: a: \"1\r\" is not a float");
    expect_reject("a 1\n\xff 2\n", "line 2: byte 1 is not valid UTF-8");
    expect_reject("9a 1\n", "line 1: expected a metric name");
    expect_reject("a-b 1\n", "'-' cannot follow a metric name");
    expect_reject("a\n", "a has no value");
    expect_reject("a 1x\n", "\"1x\" is not a float");
    expect_reject("a 0x10\n", "is not a float");
    expect_reject("a 1e999\n", "is not a float");
    expect_reject("a 1 1.5\n", "is not a timestamp");
    expect_reject("a 1 2 3\n", "unexpected text after the timestamp");
    expect_reject("a{b=\"c} 1\n", "the value of label b has no closing quote");
    expect_reject("a{b=\"\\t\"} 1\n", "\\t is not an escape");
    expect_reject("a{b=c} 1\n", "is not quoted");
    expect_reject("a{b=\"1\" c=\"2\"} 1\n", "expected , or } after label b");
    expect_reject("a{b=\"1\",b=\"2\"} 1\n", "label b appears twice");
    expect_reject("a{9=\"1\"} 1\n", "expected a label name");
    expect_reject("# HELP a x\\ty\n", "\\t is not an escape");
    expect_reject("# HELP\n", "HELP needs a metric name");
    expect_reject("# HELP a x\n# HELP a y\n", "line 2: a second HELP line for a");
    expect_reject("# TYPE a counter\n# TYPE a gauge\n", "a second TYPE line for a");
    expect_reject("# TYPE a counters\n", "\"counters\" is not counter");
    expect_reject("a 1\n# TYPE a counter\n", "the TYPE line for a comes after its samples");
    expect_reject("a 1\nb 1\na{x=\"y\"} 2\n", "line 3: a appears again after other metrics");
    expect_reject("a{x=\"1\",y=\"2\"} 1\na{y=\"2\",x=\"1\"} 2\n",
                  "line 2: a has the same labels as on line 1");

    const char *head = "# TYPE h histogram\n";
    char text[1024];
#define HIST(body) (snprintf(text, sizeof(text), "%s%s", head, body), text)
    expect_reject(HIST("h 1\n"), "a sample without _bucket, _sum or _count");
    expect_reject(HIST("h_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n"), "without a le=\"+Inf\"");
    expect_reject(HIST("h_bucket{le=\"+Inf\"} 1\nh_sum 1\n"), "without h_count");
    expect_reject(HIST("h_bucket{le=\"+Inf\"} 1\nh_count 1\n"), "without h_sum");
    expect_reject(HIST("h_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n"),
                  "le=\"+Inf\" bucket counts 2 but h_count is 1");
    expect_reject(HIST("h_bucket{le=\"1\"} 2\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
                       "h_sum 1\nh_count 2\n"),
                  "line 3: histogram h: bucket le=\"2\" counts 1, less than the 2 before it");
    expect_reject(HIST("h_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\n"
                       "h_sum 1\nh_count 1\n"),
                  "le=\"1\" is not above the le before it");
    expect_reject(HIST("h_bucket 1\n"), "a sample without a le label");
    expect_reject(HIST("h_bucket{le=\"x\"} 1\n"), "le=\"x\" is not a number");
    /* each label set is checked on its own */
    expect_reject(HIST("h_bucket{a=\"1\",le=\"+Inf\"} 1\nh_sum{a=\"1\"} 1\nh_count{a=\"1\"} 1\n"
                       "h_bucket{a=\"2\",le=\"+Inf\"} 1\nh_sum{a=\"2\"} 1\n"),
                  "line 5: histogram h: a label set without h_count");
    expect_reject("# TYPE s summary\ns{quantile=\"0.9\"} 1\ns{quantile=\"0.5\"} 1\n",
                  "quantile=\"0.5\" is not above the quantile before it");
#undef HIST

    char *big = malloc(PROM_LINE_MAX + 16);
    assert_non_null(big);
    memset(big, 'a', PROM_LINE_MAX + 1);
    strcpy(big + PROM_LINE_MAX + 1, " 1\n");
    expect_reject(big, "line 1: longer than 65536 bytes");
    free(big);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_exact),
        cmocka_unit_test(test_unlabelled_histogram_starts_at_zero),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_label_values_bounded_utf8),
        cmocka_unit_test(test_value_format),
        cmocka_unit_test(test_histogram_default_buckets),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_registration_rules),
        cmocka_unit_test(test_gauge_fn),
        cmocka_unit_test(test_concurrent_render),
        cmocka_unit_test(test_parse_spec_example),
        cmocka_unit_test(test_parse_rejects),
    };
    return cmocka_run_group_tests(tests, quiet, NULL);
}
