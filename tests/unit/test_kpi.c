/* test_kpi.c - muster report's figures by period against a real
 * redis-server: events with chosen times go through the aggregator, and
 * kpi_report() at a chosen end must give hand-computed p50s, means, work
 * per incident, rows by week, workflow and service, and the change against
 * the period before; repeats, events before the opening, the sample bound,
 * the label-set bound and the retention */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "state/store.h"
#include "common/util.h"
#include "metrics/aggregate.h"
#include "metrics/kpi.h"
#include "metrics/kpi_day.h"
#include "tests/harness/redis_fixture.h"

static redis_fixture fx;
static config cfg;

#define DAY 86400000LL
#define H 3600000LL
/* 2026-01-01T00:00:00Z, a Thursday: Monday 2026-01-05 starts ISO week 2. */
#define JAN(d) (1767225600000LL + ((d) - 1) * DAY)

/* Days are kept long enough that the test's dates never expire. */
static kpi_limits limits = {36500 * DAY, 200, 500};

static int setup(void **state) {
    (void)state;
    if (redis_fixture_start_config(&fx, &cfg) < 0) return -1;
    return 0;
}

static int teardown(void **state) {
    (void)state;
    redis_fixture_stop(&fx);
    config_free(&cfg);
    return 0;
}

static store *open_store(void) {
    char err[256];
    store *s = store_open(&cfg, err, sizeof(err));
    if (!s) fail_msg("store_open: %s", err);
    redisReply *r = store_command(s, "FLUSHALL");
    assert_non_null(r);
    freeReplyObject(r);
    return s;
}

/* The dispatcher's incident hash: workflow, the alert (severity, service). */
static void incident_hash(store *s, const char *id, const char *wf, const char *sev,
                          const char *svc, int64_t opened_at) {
    char key[128], at[24], alert[256];
    snprintf(key, sizeof(key), "muster:{%s}:inc", id);
    snprintf(at, sizeof(at), "%lld", (long long)opened_at);
    snprintf(alert, sizeof(alert), "{\"severity\":\"%s\",\"labels\":{\"service\":\"%s\"}}", sev, svc);
    redisReply *r = store_command(s, "HSET %s workflow %s alert %s opened_at %s", key, wf, alert, at);
    assert_non_null(r);
    freeReplyObject(r);
}

static int seq;
static char last_id[64]; /* of the last event sent */

/* One event at time `at` (ms since the epoch); data: JSON members after
 * "incident". */
static void event(store *s, const char *type, const char *incident, int64_t at, const char *data) {
    char text[2048], when[40], err[512], id[64];
    snprintf(id, sizeof(id), "ev-%d", ++seq);
    snprintf(last_id, sizeof(last_id), "%s", id);
    format_rfc3339(at, when, sizeof(when));
    snprintf(text, sizeof(text),
             "{\"specversion\":\"1.0\",\"id\":\"%s\",\"source\":\"muster\",\"type\":\"%s\","
             "\"time\":\"%s\",\"subject\":\"%s\",\"data\":{\"incident\":\"%s\"%s%s}}",
             id, type, when, incident, incident, *data ? "," : "", data);
    if (aggregate_event(s, text, strlen(text), now_ms(), &limits, err, sizeof(err)) < 0)
        fail_msg("aggregate_event %s: %s", id, err);
}

static void opened(store *s, const char *inc, const char *wf, const char *sev, int64_t at) {
    char data[256];
    snprintf(data, sizeof(data), "\"workflow\":\"%s\",\"severity\":\"%s\"", wf, sev);
    event(s, "incident.opened", inc, at, data);
}

static void acked(store *s, const char *inc, int64_t at, const char *via) {
    char data[128];
    snprintf(data, sizeof(data), "\"by\":\"alice\",\"via\":\"%s\"", via);
    event(s, "incident.acknowledged", inc, at, data);
}

static void resolved(store *s, const char *inc, int64_t at) {
    event(s, "incident.resolved", inc, at, "");
}

static void succeeded(store *s, const char *inc, int64_t at, const char *step, const char *action) {
    char data[256];
    snprintf(data, sizeof(data), "\"step\":\"%s\",\"action\":\"%s\",\"duration_ms\":10", step, action);
    event(s, "task.succeeded", inc, at, data);
}

static void operator_action(store *s, const char *inc, int64_t at, const char *what) {
    char data[128];
    snprintf(data, sizeof(data), "\"by\":\"alice\",\"via\":\"api\",\"action\":\"%s\",\"outcome\":\"%s\"",
             what, strcmp(what, "ack") == 0 ? "already" : "noted");
    event(s, "operator.action", inc, at, data);
}

/*
 * Previous period (1 to 7 January):
 *   p1 web/critical/checkout, Jan 2: person ack 120 s, resolved 1800 s; 2 automated
 *   p2 web/critical/checkout, Jan 3: PagerDuty ack at 30 s (no person), CLI
 *      ack at 300 s, resolved 3600 s; 1 automated
 * This period (8 to 14 January):
 *   c1 web/critical/checkout, Jan 8: ack 60 s, resolved 600 s; 3 automated, a
 *      manual step, an operator's note (and an acknowledgement through the
 *      API that found it acknowledged already: no work)
 *   c2 web/critical/checkout, Jan 9: ack 90 s, resolved 1200 s; 2 automated
 *      (one delivered twice)
 *   c3 db/warning (no incident hash, so service unknown), Jan 12: its
 *      events before its opening: ack 30 s, resolved 2400 s, 1 automated
 *   c4 db/warning/orders, Jan 13: open, unacknowledged; an operator note
 * Outside both: x1 on 20 December, x2 on 15 January.
 */
static void story(store *s) {
    incident_hash(s, "p1", "web", "critical", "checkout", JAN(2) + 10 * H);
    opened(s, "p1", "web", "critical", JAN(2) + 10 * H);
    succeeded(s, "p1", JAN(2) + 10 * H + 1000, "ticket", "jira");
    succeeded(s, "p1", JAN(2) + 10 * H + 2000, "page", "slack");
    acked(s, "p1", JAN(2) + 10 * H + 120000, "slack");
    resolved(s, "p1", JAN(2) + 10 * H + 1800000);

    incident_hash(s, "p2", "web", "critical", "checkout", JAN(3));
    opened(s, "p2", "web", "critical", JAN(3));
    succeeded(s, "p2", JAN(3) + 1000, "ticket", "jira");
    acked(s, "p2", JAN(3) + 30000, "pagerduty");
    acked(s, "p2", JAN(3) + 300000, "cli");
    resolved(s, "p2", JAN(3) + 3600000);

    incident_hash(s, "c1", "web", "critical", "checkout", JAN(8) + 1800000);
    opened(s, "c1", "web", "critical", JAN(8) + 1800000);
    succeeded(s, "c1", JAN(8) + 1801000, "ticket", "jira");
    succeeded(s, "c1", JAN(8) + 1802000, "page", "slack");
    succeeded(s, "c1", JAN(8) + 1803000, "diag", "exec");
    succeeded(s, "c1", JAN(8) + 1900000, "confirm", "manual");
    acked(s, "c1", JAN(8) + 1800000 + 60000, "cli");
    operator_action(s, "c1", JAN(8) + 1800000 + 70000, "note");
    operator_action(s, "c1", JAN(8) + 1800000 + 80000, "ack"); /* "already": changed nothing */
    resolved(s, "c1", JAN(8) + 1800000 + 600000);

    incident_hash(s, "c2", "web", "critical", "checkout", JAN(9) + 5 * H);
    opened(s, "c2", "web", "critical", JAN(9) + 5 * H);
    succeeded(s, "c2", JAN(9) + 5 * H + 1000, "ticket", "jira");
    succeeded(s, "c2", JAN(9) + 5 * H + 2000, "page", "slack");
    succeeded(s, "c2", JAN(9) + 5 * H + 3000, "page", "slack"); /* a forced replay */
    acked(s, "c2", JAN(9) + 5 * H + 90000, "link");
    resolved(s, "c2", JAN(9) + 5 * H + 1200000);

    /* c3: everything before its opening, and no incident hash. */
    succeeded(s, "c3", JAN(12) + 1000, "ticket", "jira");
    acked(s, "c3", JAN(12) + 30000, "sms");
    resolved(s, "c3", JAN(12) + 2400000);
    opened(s, "c3", "db", "warning", JAN(12));

    incident_hash(s, "c4", "db", "warning", "orders", JAN(13));
    opened(s, "c4", "db", "warning", JAN(13));
    operator_action(s, "c4", JAN(13) + 60000, "note");

    incident_hash(s, "x1", "web", "critical", "checkout", JAN(1) - 12 * DAY);
    opened(s, "x1", "web", "critical", JAN(1) - 12 * DAY);
    acked(s, "x1", JAN(1) - 12 * DAY + 5000, "cli");
    incident_hash(s, "x2", "web", "critical", "checkout", JAN(15));
    opened(s, "x2", "web", "critical", JAN(15));
    acked(s, "x2", JAN(15) + 5000, "cli");
}

static json_t *report(store *s, kpi_by by) {
    char err[256];
    kpi_query q = {JAN(15), 7 * DAY, by};
    json_t *r = NULL;
    if (kpi_report(s, &q, &r, err, sizeof(err)) < 0) fail_msg("kpi_report: %s", err);
    return r;
}

static void expect_num(const json_t *o, const char *key, double want) {
    const json_t *v = json_object_get(o, key);
    if (!json_is_number(v)) fail_msg("%s: not a number", key);
    if (fabs(json_number_value(v) - want) > 1e-9)
        fail_msg("%s: %.9g, want %.9g", key, json_number_value(v), want);
}

static void expect_null(const json_t *o, const char *key) {
    if (!json_is_null(json_object_get(o, key))) fail_msg("%s: not null", key);
}

/* The figures of one row: incidents, MTTA p50 and mean, MTTR p50 and mean
 * (s), automated and manual per incident (-1: null). */
static void expect_figures(const json_t *o, double n, double ta50, double ta, double tr50,
                           double tr, double aut, double man) {
    const double want[] = {n, ta50, ta, tr50, tr, aut, man};
    const char *keys[] = {"incidents",   "mtta_p50_s", "mtta_mean_s", "mttr_p50_s",
                          "mttr_mean_s", "automated_per_incident", "manual_per_incident"};
    for (size_t i = 0; i < 7; i++)
        if (want[i] < 0) expect_null(o, keys[i]);
        else expect_num(o, keys[i], want[i]);
}

static const json_t *row(const json_t *r, size_t i, const char *key) {
    const json_t *rows = json_object_get(r, "rows"), *x = json_array_get(rows, i);
    if (!x) fail_msg("no row %zu", i);
    const char *k = json_string_value(json_object_get(x, "key"));
    if (!k || strcmp(k, key) != 0) fail_msg("row %zu is \"%s\", want \"%s\"", i, k ? k : "?", key);
    return x;
}

static void test_period_totals_and_change(void **state) {
    (void)state;
    store *s = open_store();
    story(s);
    json_t *r = report(s, KPI_BY_NONE);
    assert_string_equal(json_string_value(json_object_get(r, "since")), "2026-01-08T00:00:00Z");
    assert_string_equal(json_string_value(json_object_get(r, "until")), "2026-01-15T00:00:00Z");
    assert_int_equal(json_integer_value(json_object_get(r, "days")), 7);
    assert_true(json_is_null(json_object_get(r, "by")));
    assert_int_equal(json_array_size(json_object_get(r, "rows")), 0);

    const json_t *t = json_object_get(r, "total");
    /* MTTA 60, 90, 30 s: p50 60, mean 60. MTTR 600, 1200, 2400: p50 1200,
     * mean 1400. 6 automated over 4; 1 manual step + 2 operator actions. */
    expect_figures(t, 4, 60, 60, 1200, 1400, 1.5, 0.75);
    assert_int_equal(json_integer_value(json_object_get(t, "acknowledged")), 3);
    assert_int_equal(json_integer_value(json_object_get(t, "resolved")), 3);
    assert_int_equal(json_integer_value(json_object_get(t, "automated")), 6);
    assert_int_equal(json_integer_value(json_object_get(t, "manual")), 3);
    assert_int_equal(json_integer_value(json_object_get(t, "operator_actions")), 2);

    const json_t *p = json_object_get(r, "previous");
    assert_string_equal(json_string_value(json_object_get(p, "since")), "2026-01-01T00:00:00Z");
    assert_string_equal(json_string_value(json_object_get(p, "until")), "2026-01-08T00:00:00Z");
    /* MTTA by a person 120 and 300 s (PagerDuty's 30 s is no person): p50
     * 120, mean 210. MTTR 1800, 3600. 3 automated over 2, nothing manual. */
    expect_figures(p, 2, 120, 210, 1800, 2700, 1.5, 0);

    const json_t *c = json_object_get(r, "change");
    expect_num(c, "incidents", 1.0);
    expect_num(c, "mtta_p50_s", -0.5);
    expect_num(c, "mtta_mean_s", (60.0 - 210.0) / 210.0);
    expect_num(c, "mttr_p50_s", (1200.0 - 1800.0) / 1800.0);
    expect_num(c, "mttr_mean_s", (1400.0 - 2700.0) / 2700.0);
    expect_num(c, "automated_per_incident", 0.0);
    expect_null(c, "manual_per_incident"); /* nothing manual before */
    json_decref(r);

    /* Every event once more (a relay failover), then the filing alone once
     * more for each (a crash between the two scripts): nothing changes. */
    seq = 0;
    story(s);
    char err[256];
    for (int i = 1; i <= seq; i++) {
        char id[32];
        snprintf(id, sizeof(id), "ev-%d", i);
        assert_int_equal(kpi_day_file(s, id, "task.succeeded", "c1", "ticket", "", &limits, err, sizeof(err)), 0);
    }
    /* c4's note was the last operator action of the story. */
    operator_action(s, "c4", JAN(13) + 60000, "note");
    char note_id[64];
    snprintf(note_id, sizeof(note_id), "%s", last_id);
    assert_int_equal(kpi_day_file(s, note_id, "operator.action", "c4", "", "noted", &limits, err, sizeof(err)), 0);
    r = report(s, KPI_BY_NONE);
    /* That one note is new (another event id): 4 manual tasks now. */
    expect_figures(json_object_get(r, "total"), 4, 60, 60, 1200, 1400, 1.5, 1.0);
    expect_figures(json_object_get(r, "previous"), 2, 120, 210, 1800, 2700, 1.5, 0);
    json_decref(r);
    store_close(s);
}

static void test_rows(void **state) {
    (void)state;
    store *s = open_store();
    story(s);
    /* Weeks: W02 is 5 to 11 January (c1, c2), W03 from the 12th (c3, c4). */
    json_t *r = report(s, KPI_BY_WEEK);
    assert_string_equal(json_string_value(json_object_get(r, "by")), "week");
    assert_int_equal(json_array_size(json_object_get(r, "rows")), 2);
    expect_figures(row(r, 0, "2026-W02"), 2, 60, 75, 600, 900, 2.5, 1.0);
    expect_figures(row(r, 1, "2026-W03"), 2, 30, 30, 2400, 2400, 0.5, 0.5);
    json_decref(r);

    /* Most incidents first, then by name. */
    r = report(s, KPI_BY_WORKFLOW);
    assert_int_equal(json_array_size(json_object_get(r, "rows")), 2);
    expect_figures(row(r, 0, "db"), 2, 30, 30, 2400, 2400, 0.5, 0.5);
    expect_figures(row(r, 1, "web"), 2, 60, 75, 600, 900, 2.5, 1.0);
    json_decref(r);

    r = report(s, KPI_BY_SERVICE);
    assert_int_equal(json_array_size(json_object_get(r, "rows")), 3);
    expect_figures(row(r, 0, "checkout"), 2, 60, 75, 600, 900, 2.5, 1.0);
    expect_figures(row(r, 1, "orders"), 1, -1, -1, -1, -1, 0, 1.0);
    expect_figures(row(r, 2, "unknown"), 1, 30, 30, 2400, 2400, 1.0, 0);
    json_decref(r);

    r = report(s, KPI_BY_SEVERITY);
    expect_figures(row(r, 0, "critical"), 2, 60, 75, 600, 900, 2.5, 1.0);
    expect_figures(row(r, 1, "warning"), 2, 30, 30, 2400, 2400, 0.5, 0.5);
    json_decref(r);

    /* A period of 12 hours is the one day that holds its end. */
    char err[256];
    kpi_query q = {JAN(9) + 1, 12 * H, KPI_BY_NONE};
    assert_int_equal(kpi_report(s, &q, &r, err, sizeof(err)), 0);
    assert_int_equal(json_integer_value(json_object_get(r, "days")), 1);
    expect_figures(json_object_get(r, "total"), 1, 90, 90, 1200, 1200, 2.0, 0);
    expect_figures(json_object_get(r, "previous"), 1, 60, 60, 600, 600, 3.0, 2.0);
    json_decref(r);

    q.since_ms = (KPI_MAX_DAYS + 1) * DAY;
    assert_int_equal(kpi_report(s, &q, &r, err, sizeof(err)), -1);
    assert_null(r);
    store_close(s);
}

/* Past the sample size a day keeps a uniform sample: the mean stays exact
 * and the p50 is one of the times; past the label-set bound new ones count
 * as _other; a day older than the retention is not kept. */
static void test_bounds(void **state) {
    (void)state;
    store *s = open_store();
    kpi_limits saved = limits;
    limits.sample = 2;
    limits.sets = 1;
    const char *ids[] = {"s1", "s2", "s3", "s4"};
    for (int i = 0; i < 4; i++) {
        incident_hash(s, ids[i], "web", "critical", "checkout", JAN(8) + i * H);
        opened(s, ids[i], "web", "critical", JAN(8) + i * H);
        acked(s, ids[i], JAN(8) + i * H + (i + 1) * 10000, "cli");
    }
    incident_hash(s, "o1", "db", "warning", "orders", JAN(8) + 5 * H);
    opened(s, "o1", "db", "warning", JAN(8) + 5 * H);

    redisReply *x = store_command(s, "HGET muster:agg:kpi:%lld web\tcritical\tcheckout\tta_s",
                                  (long long)(JAN(8) / DAY));
    assert_non_null(x);
    assert_int_equal(x->type, REDIS_REPLY_STRING);
    int64_t kept[8];
    assert_int_equal(kpi_sample_parse(x->str, x->len, kept, 8), 2);
    freeReplyObject(x);

    json_t *r = report(s, KPI_BY_WORKFLOW);
    const json_t *t = json_object_get(r, "total");
    expect_num(t, "incidents", 5);
    expect_num(t, "mtta_mean_s", 25); /* 10, 20, 30, 40 */
    double p50 = json_number_value(json_object_get(t, "mtta_p50_s"));
    assert_true(p50 == 10 || p50 == 20 || p50 == 30 || p50 == 40);
    expect_figures(row(r, 0, "web"), 4, p50, 25, -1, -1, 0, 0);
    expect_figures(row(r, 1, "_other"), 1, -1, -1, -1, -1, 0, 0);
    json_decref(r);

    limits = saved;
    limits.retention_ms = DAY;
    opened(s, "old", "web", "critical", now_ms() - 3 * DAY);
    x = store_command(s, "EXISTS muster:agg:kpi:%lld", (long long)((now_ms() - 3 * DAY) / DAY));
    assert_non_null(x);
    assert_int_equal(x->integer, 0);
    freeReplyObject(x);
    opened(s, "new", "web", "critical", now_ms());
    x = store_command(s, "PTTL muster:agg:kpi:%lld", (long long)(now_ms() / DAY));
    assert_non_null(x);
    assert_true(x->integer > 0 && x->integer <= 2 * DAY);
    freeReplyObject(x);
    limits = saved;
    store_close(s);
}

static void test_parsers(void **state) {
    (void)state;
    kpi_by by;
    assert_int_equal(kpi_by_parse("week", &by), 0);
    assert_int_equal(by, KPI_BY_WEEK);
    assert_int_equal(kpi_by_parse("service", &by), 0);
    assert_int_equal(by, KPI_BY_SERVICE);
    assert_int_equal(kpi_by_parse("", &by), 0);
    assert_int_equal(by, KPI_BY_NONE);
    assert_int_equal(kpi_by_parse("month", &by), -1);
    assert_null(kpi_by_name(KPI_BY_NONE));
    assert_string_equal(kpi_by_name(KPI_BY_SEVERITY), "severity");

    int64_t v[4];
    const char *text = "10,x,-5,20,,1000000000000000,30,40";
    assert_int_equal(kpi_sample_parse(text, strlen(text), v, 4), 4);
    assert_true(v[0] == 10 && v[1] == 20 && v[2] == 30 && v[3] == 40);
    assert_int_equal(kpi_sample_parse("7", 1, v, 4), 1);
    assert_int_equal(kpi_sample_parse("", 0, v, 4), 0);

    char f1[] = "web\tcritical\tcheckout\tta_n", f2[] = "web\tcritical\tn", f3[] = "a\tb\tc\td\te";
    char *labels[3], *figure;
    assert_int_equal(kpi_field_parse(f1, labels, &figure), 0);
    assert_string_equal(labels[2], "checkout");
    assert_string_equal(figure, "ta_n");
    assert_int_equal(kpi_field_parse(f2, labels, &figure), -1);
    assert_int_equal(kpi_field_parse(f3, labels, &figure), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parsers),
        cmocka_unit_test(test_period_totals_and_change),
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_bounds),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
