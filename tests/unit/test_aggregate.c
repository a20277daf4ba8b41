/* test_aggregate.c - the metrics aggregator against a real redis-server:
 * scripted events with repeats and out of order, hand-computed MTTA, MTTR,
 * actions per incident, success rates, retries and dead tasks; a restart
 * that counts nothing twice; rollup windows */
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
#include "common/log.h"
#include "common/metrics.h"
#include "state/store.h"
#include "common/util.h"
#include "metrics/aggregate.h"
#include "metrics/export.h"
#include "metrics/rollup.h"
#include "tests/harness/promparse.h"
#include "tests/harness/redis_fixture.h"

static redis_fixture fx;
static config cfg;
static int64_t now0;

/* 2026-01-01T00:00:00Z */
#define T0 1767225600000LL

static int setup(void **state) {
    (void)state;
    if (redis_fixture_start(&fx) < 0) return -1;
    config_defaults(&cfg);
    char port[16], err[256];
    snprintf(port, sizeof(port), "%d", fx.port);
    config_set(&cfg, "redis.port", port, err, sizeof(err));
    now0 = now_ms();
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
    return s;
}

static void flush(store *s) {
    redisReply *r = store_command(s, "FLUSHALL");
    assert_non_null(r);
    freeReplyObject(r);
}

/* What the dispatcher writes when it opens an incident: the events'
 * incident hash, with the alert the labels come from. */
static void incident_hash(store *s, const char *id, const char *wf, const char *alert,
                          int64_t opened_at) {
    char key[128], at[24];
    snprintf(key, sizeof(key), "muster:{%s}:inc", id);
    snprintf(at, sizeof(at), "%lld", (long long)opened_at);
    redisReply *r =
        store_command(s, "HSET %s workflow %s alert %s opened_at %s", key, wf, alert, at);
    assert_non_null(r);
    freeReplyObject(r);
}

typedef struct event {
    const char *id, *type, *incident;
    int64_t at; /* ms after T0 */
    const char *data; /* JSON members after "incident" */
} event;

/* Feeds one event; returns its outcome. */
static int feed(store *s, const event *e) {
    char text[2048], when[40], err[512];
    format_rfc3339(T0 + e->at, when, sizeof(when));
    snprintf(text, sizeof(text),
             "{\"specversion\":\"1.0\",\"id\":\"%s\",\"source\":\"muster\",\"type\":\"%s\","
             "\"time\":\"%s\",\"subject\":\"%s\",\"datacontenttype\":\"application/json\","
             "\"data\":{\"incident\":\"%s\"%s%s}}",
             e->id, e->type, when, e->incident, e->incident, *e->data ? "," : "", e->data);
    int rc = aggregate_event(s, text, strlen(text), now0, NULL, err, sizeof(err));
    if (rc < 0) fail_msg("aggregate_event %s: %s", e->id, err);
    return rc;
}

/* Incident A: service-down, critical, service "checkout" (incident hash).
 * Acknowledged 90 s after it opened, resolved after 600 s; ticket failed
 * once (120 ms), was retried and succeeded (80 ms); page succeeded (30 ms). */
static const event a_open = {"a1", "incident.opened", "inc-a", 0,
                             "\"workflow\":\"service-down\",\"severity\":\"critical\","
                             "\"fingerprint\":\"f\",\"summary\":\"s\",\"source\":\"t\","
                             "\"group\":\"g\""};
static const event a_events[] = {
    {"a9", "incident.acknowledged", "inc-a", 90000,
     "\"workflow\":\"service-down\",\"by\":\"alice\",\"via\":\"cli\",\"ack_ms\":90000"},
    {"a1", "incident.opened", "inc-a", 0,
     "\"workflow\":\"service-down\",\"severity\":\"critical\",\"fingerprint\":\"f\","
     "\"summary\":\"s\",\"source\":\"t\",\"group\":\"g\""},
    {"a2", "task.started", "inc-a", 100,
     "\"workflow\":\"service-down\",\"step\":\"ticket\",\"action\":\"webhook\",\"attempt\":1"},
    {"a3", "task.failed", "inc-a", 220,
     "\"workflow\":\"service-down\",\"step\":\"ticket\",\"action\":\"webhook\",\"attempt\":1,"
     "\"duration_ms\":120,\"error\":\"HTTP 503\""},
    {"a6", "task.succeeded", "inc-a", 1400,
     "\"workflow\":\"service-down\",\"step\":\"ticket\",\"action\":\"webhook\",\"attempt\":2,"
     "\"duration_ms\":80,\"output\":{\"status\":201}"},
    {"a6", "task.succeeded", "inc-a", 1400, /* the relay sent it twice */
     "\"workflow\":\"service-down\",\"step\":\"ticket\",\"action\":\"webhook\",\"attempt\":2,"
     "\"duration_ms\":80,\"output\":{\"status\":201}"},
    {"a4", "task.retrying", "inc-a", 221, /* after the success: out of order */
     "\"workflow\":\"service-down\",\"step\":\"ticket\",\"attempt\":1,\"next_attempt\":2,"
     "\"delay_ms\":1000,\"error\":\"HTTP 503\""},
    {"a5", "task.started", "inc-a", 1320,
     "\"workflow\":\"service-down\",\"step\":\"ticket\",\"action\":\"webhook\",\"attempt\":2"},
    {"a7", "task.started", "inc-a", 100,
     "\"workflow\":\"service-down\",\"step\":\"page\",\"action\":\"slack\",\"attempt\":1"},
    {"a8", "task.succeeded", "inc-a", 130,
     "\"workflow\":\"service-down\",\"step\":\"page\",\"action\":\"slack\",\"attempt\":1,"
     "\"duration_ms\":30,\"output\":{}"},
    {"a10", "incident.resolved", "inc-a", 600000,
     "\"workflow\":\"service-down\",\"fingerprint\":\"f\",\"summary\":\"s\""},
    {"a1", "incident.opened", "inc-a", 0, /* again, last */
     "\"workflow\":\"service-down\",\"severity\":\"critical\",\"fingerprint\":\"f\","
     "\"summary\":\"s\",\"source\":\"t\",\"group\":\"g\""},
};

/* Incident B: db-down, warning, service "orders" (from the alert's app
 * label). Opened at 10 s, acknowledged 30 s later, resolved 1200 s after
 * opening, both before its opened event arrives. A manual step (20 s), an
 * exec step that died of a permanent error (5 ms), and a webhook step that
 * succeeded (40 ms) and, after a forced replay, succeeded again (60 ms). */
static const event b_events[] = {
    {"b8", "incident.resolved", "inc-b", 1210000,
     "\"workflow\":\"db-down\",\"fingerprint\":\"fb\",\"summary\":\"s\""},
    {"b2", "incident.acknowledged", "inc-b", 40000,
     "\"workflow\":\"db-down\",\"by\":\"bob\",\"via\":\"cli\",\"ack_ms\":30000"},
    {"b3", "task.succeeded", "inc-b", 35000,
     "\"workflow\":\"db-down\",\"step\":\"confirm\",\"action\":\"manual\",\"attempt\":1,"
     "\"duration_ms\":20000,\"by\":\"carol\",\"output\":{\"done_by\":\"carol\"}"},
    {"b1", "incident.opened", "inc-b", 10000,
     "\"workflow\":\"db-down\",\"severity\":\"warning\",\"fingerprint\":\"fb\","
     "\"summary\":\"s\",\"source\":\"t\",\"group\":\"gb\""},
    {"b4", "task.started", "inc-b", 10100,
     "\"workflow\":\"db-down\",\"step\":\"diag\",\"action\":\"exec\",\"attempt\":1"},
    {"b5", "task.failed", "inc-b", 10105,
     "\"workflow\":\"db-down\",\"step\":\"diag\",\"action\":\"exec\",\"attempt\":1,"
     "\"duration_ms\":5,\"error\":\"no such program\""},
    {"b6", "task.dead", "inc-b", 10105,
     "\"workflow\":\"db-down\",\"step\":\"diag\",\"attempt\":1,\"reason\":\"permanent error\","
     "\"error\":\"no such program\""},
    {"b7", "task.succeeded", "inc-b", 36000,
     "\"workflow\":\"db-down\",\"step\":\"notify\",\"action\":\"webhook\",\"attempt\":1,"
     "\"duration_ms\":40,\"output\":{}"},
    {"b9", "task.succeeded", "inc-b", 90000,
     "\"workflow\":\"db-down\",\"step\":\"notify\",\"action\":\"webhook\",\"attempt\":1,"
     "\"duration_ms\":60,\"output\":{}"},
    {"b3", "task.succeeded", "inc-b", 35000,
     "\"workflow\":\"db-down\",\"step\":\"confirm\",\"action\":\"manual\",\"attempt\":1,"
     "\"duration_ms\":20000,\"by\":\"carol\",\"output\":{\"done_by\":\"carol\"}"},
};

/* Incident C: no incident hash (as if purged). Resolved, acknowledged,
 * then opened: MTTA 45 s and MTTR 300 s once the opening arrives, under
 * the labels it brings (service unknown). */
static const event c_events[] = {
    {"c3", "incident.resolved", "inc-c", 320000,
     "\"workflow\":\"db-down\",\"fingerprint\":\"fc\",\"summary\":\"s\""},
    {"c2", "incident.acknowledged", "inc-c", 65000,
     "\"workflow\":\"db-down\",\"by\":\"dan\",\"via\":\"cli\",\"ack_ms\":45000"},
    {"c1", "incident.opened", "inc-c", 20000,
     "\"workflow\":\"db-down\",\"severity\":\"warning\",\"fingerprint\":\"fc\","
     "\"summary\":\"s\",\"source\":\"t\",\"group\":\"gc\""},
    {"c2", "incident.acknowledged", "inc-c", 65000,
     "\"workflow\":\"db-down\",\"by\":\"dan\",\"via\":\"cli\",\"ack_ms\":45000"},
};

#define N(a) (sizeof(a) / sizeof(a[0]))

/* Feeds every scripted event; returns how many were duplicates. */
static int feed_all(store *s) {
    int dups = 0;
    const event *lists[] = {a_events, b_events, c_events};
    size_t sizes[] = {N(a_events), N(b_events), N(c_events)};
    for (size_t l = 0; l < 3; l++)
        for (size_t i = 0; i < sizes[l]; i++)
            if (feed(s, &lists[l][i]) == AGG_DUPLICATE) dups++;
    return dups;
}

/* A scrape of a fresh process: a registry filled from Redis. */
typedef struct scrape {
    prom_sample *s;
    size_t n;
    char *text;
} scrape;

static void scrape_from(store *s, metrics *m, exporter *e, scrape *out) {
    char err[512];
    if (exporter_sync(e, s, err, sizeof(err)) < 0) fail_msg("exporter_sync: %s", err);
    out->text = metrics_render(m);
    assert_non_null(out->text);
    if (prom_parse(out->text, &out->s, &out->n, err, sizeof(err)) < 0)
        fail_msg("/metrics does not parse: %s\n%s", err, out->text);
}

static void scrape_free(scrape *sc) {
    prom_samples_free(sc->s, sc->n);
    free(sc->text);
}

/* The value of name{labels}, labels as "a=x,b=y" in the family's order;
 * NAN when there is no such sample. */
static double val(const scrape *sc, const char *name, const char *labels) {
    for (size_t i = 0; i < sc->n; i++) {
        const prom_sample *p = &sc->s[i];
        if (strcmp(p->name, name) != 0) continue;
        char got[512] = "";
        size_t used = 0;
        for (size_t j = 0; j < p->nlabels; j++)
            used += (size_t)snprintf(got + used, sizeof(got) - used, "%s%s=%s", j ? "," : "",
                                     p->labels[j].name, p->labels[j].value);
        if (strcmp(got, labels) == 0) return p->value;
    }
    return NAN;
}

#define EXPECT(sc, name, labels, want)                                                          \
    do {                                                                                        \
        double got_ = val((sc), (name), (labels));                                              \
        if (!(fabs(got_ - (want)) < 1e-9))                                                      \
            fail_msg("%s{%s} = %g, want %g\n%s", (name), (labels), got_, (double)(want),        \
                     (sc)->text);                                                               \
    } while (0)

#define GA "workflow=service-down,severity=critical,service=checkout"
#define GB "workflow=db-down,severity=warning,service=orders"
#define GC "workflow=db-down,severity=warning,service=unknown"

/* Every figure, computed by hand from the events above, after they were
 * all fed `rounds` times. */
static void check_figures(const scrape *sc, int rounds) {
    const double duplicates = 4 + (rounds - 1) * (double)(N(a_events) + N(b_events) + N(c_events));
    EXPECT(sc, "muster_incidents_opened_total", GA, 1);
    EXPECT(sc, "muster_incidents_opened_total", GB, 1);
    EXPECT(sc, "muster_incidents_opened_total", GC, 1);
    /* MTTA: 90 s, 30 s, 45 s; once each. */
    EXPECT(sc, "muster_incident_time_to_acknowledge_seconds_count", GA, 1);
    EXPECT(sc, "muster_incident_time_to_acknowledge_seconds_sum", GA, 90);
    EXPECT(sc, "muster_incident_time_to_acknowledge_seconds_sum", GB, 30);
    EXPECT(sc, "muster_incident_time_to_acknowledge_seconds_count", GB, 1);
    EXPECT(sc, "muster_incident_time_to_acknowledge_seconds_sum", GC, 45);
    EXPECT(sc, "muster_incident_time_to_acknowledge_seconds_count", GC, 1);
    EXPECT(sc, "muster_incident_time_to_acknowledge_seconds_bucket", GA ",le=60", 0);
    EXPECT(sc, "muster_incident_time_to_acknowledge_seconds_bucket", GA ",le=120", 1);
    EXPECT(sc, "muster_incident_time_to_acknowledge_seconds_bucket", GB ",le=30", 1);
    EXPECT(sc, "muster_incident_time_to_acknowledge_seconds_bucket", GC ",le=30", 0);
    EXPECT(sc, "muster_incident_time_to_acknowledge_seconds_bucket", GC ",le=60", 1);
    /* MTTR: 600 s, 1200 s, 300 s. */
    EXPECT(sc, "muster_incident_time_to_resolve_seconds_sum", GA, 600);
    EXPECT(sc, "muster_incident_time_to_resolve_seconds_sum", GB, 1200);
    EXPECT(sc, "muster_incident_time_to_resolve_seconds_sum", GC, 300);
    EXPECT(sc, "muster_incident_time_to_resolve_seconds_count", GB, 1);
    EXPECT(sc, "muster_incident_time_to_resolve_seconds_bucket", GB ",le=900", 0);
    EXPECT(sc, "muster_incident_time_to_resolve_seconds_bucket", GB ",le=1800", 1);
    /* Automated actions per incident: A ticket and page; B notify once
     * although it succeeded twice. Manual tasks: B's confirm. */
    EXPECT(sc, "muster_automated_actions_total", GA, 2);
    EXPECT(sc, "muster_automated_actions_total", GB, 1);
    EXPECT(sc, "muster_manual_tasks_total", GB, 1);
    assert_true(isnan(val(sc, "muster_manual_tasks_total", GA)));
    /* Success rate per action: webhook 3 of 4 attempts. */
    EXPECT(sc, "muster_action_attempts_total", "action=webhook,outcome=succeeded", 3);
    EXPECT(sc, "muster_action_attempts_total", "action=webhook,outcome=failed", 1);
    EXPECT(sc, "muster_action_attempts_total", "action=slack,outcome=succeeded", 1);
    EXPECT(sc, "muster_action_attempts_total", "action=manual,outcome=succeeded", 1);
    EXPECT(sc, "muster_action_attempts_total", "action=exec,outcome=failed", 1);
    /* Latency: webhook successes 80 + 40 + 60 ms. */
    EXPECT(sc, "muster_action_duration_seconds_sum", "action=webhook,outcome=succeeded", 0.18);
    EXPECT(sc, "muster_action_duration_seconds_count", "action=webhook,outcome=succeeded", 3);
#define WEBHOOK_OK "action=webhook,outcome=succeeded"
    EXPECT(sc, "muster_action_duration_seconds_bucket", WEBHOOK_OK ",le=0.05", 1);
    EXPECT(sc, "muster_action_duration_seconds_bucket", WEBHOOK_OK ",le=0.1", 3);
    EXPECT(sc, "muster_action_duration_seconds_sum", "action=webhook,outcome=failed", 0.12);
    EXPECT(sc, "muster_action_duration_seconds_sum", "action=manual,outcome=succeeded", 20);
    EXPECT(sc, "muster_action_duration_seconds_bucket", "action=manual,outcome=succeeded,le=30", 1);
    EXPECT(sc, "muster_action_duration_seconds_bucket", "action=manual,outcome=succeeded,le=10", 0);
    /* Retries and dead tasks, by the action their step runs. */
    EXPECT(sc, "muster_task_retries_total", "action=webhook", 1);
    EXPECT(sc, "muster_task_deaths_total", "action=exec,reason=permanent error", 1);
    EXPECT(sc, "muster_aggregator_events_total", "type=task.succeeded,result=duplicate",
           2 + (rounds - 1) * 7);
    EXPECT(sc, "muster_aggregator_events_total", "type=task.succeeded,result=counted", 5);
    EXPECT(sc, "muster_aggregator_events_total", "type=incident.opened,result=counted", 3);
    double dups = 0;
    for (size_t i = 0; i < sc->n; i++)
        if (strcmp(sc->s[i].name, "muster_aggregator_events_total") == 0 &&
            strcmp(prom_label_get(&sc->s[i], "result"), "duplicate") == 0)
            dups += sc->s[i].value;
    assert_true(fabs(dups - duplicates) < 1e-9);
}

static void test_figures_and_restart(void **state) {
    (void)state;
    store *s = open_store();
    flush(s);
    incident_hash(s, "inc-a", "service-down",
                  "{\"severity\":\"critical\",\"labels\":{\"service\":\"checkout\"}}", T0);
    incident_hash(s, "inc-b", "db-down",
                  "{\"severity\":\"warning\",\"labels\":{\"app\":\"orders\",\"job\":\"x\"}}",
                  T0 + 10000);
    assert_int_equal(feed_all(s), 4);

    metrics *m = metrics_new(32, 4096);
    exporter *e = exporter_new(m);
    assert_non_null(e);
    scrape sc;
    scrape_from(s, m, e, &sc);
    check_figures(&sc, 1);
    scrape_free(&sc);
    /* A second sync with nothing new adds nothing. */
    scrape_from(s, m, e, &sc);
    assert_int_equal(exporter_applied(e), 0);
    check_figures(&sc, 1);
    scrape_free(&sc);
    exporter_free(e);
    metrics_free(m);
    store_close(s);

    /* A restart: new process state, the same Redis. Kafka delivers the
     * uncommitted events again: all of them, in the worst case. */
    s = open_store();
    m = metrics_new(32, 4096);
    e = exporter_new(m);
    scrape_from(s, m, e, &sc);
    check_figures(&sc, 1);
    scrape_free(&sc);
    assert_int_equal(feed_all(s), (int)(N(a_events) + N(b_events) + N(c_events)));
    scrape_from(s, m, e, &sc);
    check_figures(&sc, 2);
    EXPECT(&sc, "muster_incidents_opened_total", GA, 1);
    scrape_free(&sc);

    /* New events after the restart add to the restored figures. */
    event more = a_open;
    more.id = "d1";
    more.incident = "inc-d";
    assert_int_equal(feed(s, &more), AGG_COUNTED);
    scrape_from(s, m, e, &sc);
    EXPECT(&sc, "muster_incidents_opened_total",
           "workflow=service-down,severity=critical,service=unknown", 1);
    EXPECT(&sc, "muster_incidents_opened_total", GA, 1);
    assert_int_equal(exporter_applied(e), 2); /* opened, and the events counter */
    scrape_free(&sc);

    /* A second replica (another registry) shows the same totals. */
    metrics *m2 = metrics_new(32, 4096);
    exporter *e2 = exporter_new(m2);
    scrape sc2;
    scrape_from(s, m2, e2, &sc2);
    scrape_from(s, m, e, &sc);
    assert_int_equal(sc.n, sc2.n);
    for (size_t i = 0; i < sc2.n; i++) {
        char labels[512] = "";
        size_t used = 0;
        for (size_t j = 0; j < sc2.s[i].nlabels; j++)
            used += (size_t)snprintf(labels + used, sizeof(labels) - used, "%s%s=%s",
                                     j ? "," : "", sc2.s[i].labels[j].name,
                                     sc2.s[i].labels[j].value);
        EXPECT(&sc, sc2.s[i].name, labels, sc2.s[i].value);
    }
    scrape_free(&sc);
    scrape_free(&sc2);
    exporter_free(e2);
    metrics_free(m2);
    exporter_free(e);
    metrics_free(m);
    store_close(s);
}

static void test_invalid(void **state) {
    (void)state;
    char err[256];
    store *s = open_store();
    flush(s);
    const char *bad[] = {
        "not json",
        "[]",
        "{\"specversion\":\"0.3\",\"id\":\"x\",\"type\":\"t\",\"time\":\"2026-01-01T00:00:00Z\","
        "\"data\":{\"incident\":\"i\"}}",
        "{\"specversion\":\"1.0\",\"type\":\"t\",\"time\":\"2026-01-01T00:00:00Z\","
        "\"data\":{\"incident\":\"i\"}}",
        "{\"specversion\":\"1.0\",\"id\":\"x\",\"type\":\"t\",\"time\":\"yesterday\","
        "\"data\":{\"incident\":\"i\"}}",
        "{\"specversion\":\"1.0\",\"id\":\"x\",\"type\":\"t\",\"time\":\"2026-01-01T00:00:00Z\"}",
    };
    for (size_t i = 0; i < N(bad); i++) {
        err[0] = '\0';
        assert_int_equal(aggregate_event(s, bad[i], strlen(bad[i]), now0, NULL, err, sizeof(err)),
                         AGG_INVALID);
        assert_true(err[0] != '\0');
    }
    /* Nothing was counted. */
    redisReply *r = store_command(s, "EXISTS muster:agg");
    assert_int_equal(r->integer, 0);
    freeReplyObject(r);
    /* An unknown type counts as an event and nothing else; control
     * characters in a label become "_". */
    event odd = {"o1", "incident.\\tnew", "inc-o", 0, "\"workflow\":\"w\\nx\""};
    assert_int_equal(feed(s, &odd), AGG_COUNTED);
    /* An absurd duration is counted as an attempt but kept out of the
     * latency sums, where it could overflow them. */
    event huge = {"o2", "task.failed", "inc-o", 0,
                  "\"workflow\":\"w\",\"step\":\"s\",\"action\":\"exec\",\"attempt\":1,"
                  "\"duration_ms\":9000000000000000000,\"error\":\"e\""};
    assert_int_equal(feed(s, &huge), AGG_COUNTED);
    metrics *m = metrics_new(32, 4096);
    exporter *e = exporter_new(m);
    scrape sc;
    scrape_from(s, m, e, &sc);
    EXPECT(&sc, "muster_aggregator_events_total", "type=incident._new,result=counted", 1);
    EXPECT(&sc, "muster_action_attempts_total", "action=exec,outcome=failed", 1);
    assert_true(
        isnan(val(&sc, "muster_action_duration_seconds_count", "action=exec,outcome=failed")));
    scrape_free(&sc);
    exporter_free(e);
    metrics_free(m);
    store_close(s);
}

static void test_parse_time(void **state) {
    (void)state;
    int64_t ms;
    assert_int_equal(aggregate_parse_time("2026-01-01T00:00:00Z", &ms), 0);
    assert_int_equal(ms, T0);
    assert_int_equal(aggregate_parse_time("2026-01-01T00:00:01.5Z", &ms), 0);
    assert_int_equal(ms, T0 + 1500);
    assert_int_equal(aggregate_parse_time("2026-01-01T00:00:00.123456Z", &ms), 0);
    assert_int_equal(ms, T0 + 123);
    assert_int_equal(aggregate_parse_time("2026-01-01T01:00:00+01:00", &ms), 0);
    assert_int_equal(ms, T0);
    assert_int_equal(aggregate_parse_time("2025-12-31T23:30:00.000-00:30", &ms), 0);
    assert_int_equal(ms, T0);
    const char *bad[] = {"", "2026-01-01", "2026-01-01T00:00:00", "2026-13-01T00:00:00Z",
                         "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00Zx", "26-01-01T00:00:00Z"};
    for (size_t i = 0; i < N(bad); i++) assert_int_equal(aggregate_parse_time(bad[i], &ms), -1);
    assert_int_equal(aggregate_parse_time(NULL, &ms), -1);
}

static const json_t *rollup_for(const rollup_batch *b, const char *wf, const char *svc) {
    for (size_t i = 0; i < json_array_size(b->messages); i++) {
        const json_t *m = json_array_get(b->messages, i);
        if (strcmp(json_string_value(json_object_get(m, "workflow")), wf) == 0 &&
            strcmp(json_string_value(json_object_get(m, "service")), svc) == 0)
            return m;
    }
    return NULL;
}

static double num(const json_t *m, const char *obj, const char *key) {
    const json_t *v = json_object_get(obj ? json_object_get(m, obj) : m, key);
    assert_non_null(v);
    return json_number_value(v);
}

static void test_rollups(void **state) {
    (void)state;
    char err[256];
    rollup_batch b, again;
    store *s = open_store();
    flush(s);
    incident_hash(s, "inc-a", "service-down",
                  "{\"severity\":\"critical\",\"labels\":{\"service\":\"checkout\"}}", T0);
    incident_hash(s, "inc-b", "db-down",
                  "{\"severity\":\"warning\",\"labels\":{\"app\":\"orders\"}}", T0 + 10000);
    feed_all(s);
    const int64_t minute = 60000, now = now0 + 2 * minute;
    const int64_t end = now - now % minute;

    assert_int_equal(rollup_prepare(s, minute, now, &b, err, sizeof(err)), 1);
    assert_int_equal(b.start_ms, now0); /* the first window starts with the first event */
    assert_int_equal(b.end_ms, end);
    assert_int_equal(json_array_size(b.messages), 3);
    const json_t *a = rollup_for(&b, "service-down", "checkout");
    assert_non_null(a);
    assert_string_equal(json_string_value(json_object_get(a, "severity")), "critical");
    assert_true(num(a, "incidents", "opened") == 1);
    assert_true(num(a, "incidents", "acknowledged") == 1);
    assert_true(num(a, "mtta_seconds", "avg") == 90);
    assert_true(num(a, "mttr_seconds", "sum") == 600);
    assert_true(num(a, "actions", "automated") == 2);
    assert_true(num(a, "actions", "attempts") == 3);
    assert_true(num(a, "actions", "failed") == 1);
    assert_true(num(a, "actions", "retries") == 1);
    assert_true(num(a, "per_incident", "automated_actions") == 2);
    assert_true(num(a, "per_incident", "manual_tasks") == 0);
    assert_true(num(a, "window", "seconds") == (double)((end - now0) / 1000));
    const json_t *bm = rollup_for(&b, "db-down", "orders");
    assert_true(num(bm, "actions", "manual") == 1);
    assert_true(num(bm, "actions", "dead") == 1);
    assert_true(num(bm, "mttr_seconds", "avg") == 1200);

    /* Not committed (the publish failed or the process died): the same
     * window again, with the same figures and ids. */
    assert_int_equal(rollup_prepare(s, minute, now + 5 * minute, &again, err, sizeof(err)), 1);
    char *t1 = json_dumps(b.messages, JSON_SORT_KEYS);
    char *t2 = json_dumps(again.messages, JSON_SORT_KEYS);
    assert_string_equal(t1, t2);
    free(t1);
    free(t2);
    rollup_batch_free(&again);
    rollup_batch_free(&b);
    assert_int_equal(rollup_commit(s, err, sizeof(err)), 0);

    /* Nothing is due until the next window ends. */
    assert_int_equal(rollup_prepare(s, minute, now, &b, err, sizeof(err)), 0);
    /* The next window has only what changed in it. */
    event more = a_open;
    more.id = "r1";
    more.incident = "inc-r";
    feed(s, &more);
    assert_int_equal(rollup_prepare(s, minute, now + minute, &b, err, sizeof(err)), 1);
    assert_int_equal(b.start_ms, end);
    assert_int_equal(b.end_ms, end + minute);
    assert_int_equal(json_array_size(b.messages), 1);
    const json_t *r = json_array_get(b.messages, 0);
    assert_true(num(r, "incidents", "opened") == 1);
    assert_true(json_is_null(json_object_get(json_object_get(r, "mtta_seconds"), "avg")));
    rollup_batch_free(&b);
    assert_int_equal(rollup_commit(s, err, sizeof(err)), 0);
    store_close(s);
}

/* Incident P (service-down, critical, checkout): paged at level 1 by Slack
 * and SMS, escalated, paged at level 2 by Slack and phone, acknowledged by
 * bob from the Slack button at level 2 after 200 s; PagerDuty's system
 * acknowledgement came first, at 120 s. Incident Q (db-down): paged once,
 * acknowledged only by PagerDuty, with the level as a string. Every event
 * is fed twice. */
static const event p_events[] = {
    {"p1", "incident.opened", "inc-p", 0,
     "\"workflow\":\"service-down\",\"severity\":\"critical\",\"fingerprint\":\"f\","
     "\"summary\":\"s\",\"source\":\"t\",\"group\":\"g\""},
    {"p2", "page.sent", "inc-p", 1000, "\"person\":\"alice\",\"channel\":\"slack\",\"level\":1"},
    {"p3", "page.sent", "inc-p", 1000, "\"person\":\"alice\",\"channel\":\"sms\",\"level\":1"},
    {"p4", "incident.escalated", "inc-p", 60000, "\"level\":2,\"targets\":[\"bob\"]"},
    {"p5", "page.sent", "inc-p", 60000, "\"person\":\"bob\",\"channel\":\"slack\",\"level\":2"},
    {"p6", "page.sent", "inc-p", 60000, "\"person\":\"bob\",\"channel\":\"phone\",\"level\":2"},
    {"p7", "incident.acknowledged", "inc-p", 120000,
     "\"by\":\"pagerduty\",\"via\":\"pagerduty\",\"ack_ms\":120000"},
    {"p8", "incident.acknowledged", "inc-p", 200000,
     "\"by\":\"bob\",\"via\":\"slack\",\"level\":2,\"ack_ms\":200000,\"person\":\"bob\","
     "\"channel\":\"slack\""},
    {"q1", "incident.opened", "inc-q", 0,
     "\"workflow\":\"db-down\",\"severity\":\"warning\",\"fingerprint\":\"f\","
     "\"summary\":\"s\",\"source\":\"t\",\"group\":\"g\""},
    {"q2", "page.sent", "inc-q", 1000, "\"person\":\"carol\",\"channel\":\"email\",\"level\":\"1\""},
    {"q3", "incident.acknowledged", "inc-q", 30000,
     "\"by\":\"pagerduty\",\"via\":\"pagerduty\",\"level\":\"1\",\"ack_ms\":30000"},
};

static void test_paging_figures(void **state) {
    (void)state;
    store *s = open_store();
    flush(s);
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < N(p_events); i++)
            assert_int_equal(feed(s, &p_events[i]), round ? AGG_DUPLICATE : AGG_COUNTED);
    metrics *m = metrics_new(32, 4096);
    exporter *e = exporter_new(m);
    assert_non_null(e);
    scrape sc;
    scrape_from(s, m, e, &sc);
#define GP "workflow=service-down,severity=critical,service=unknown"
#define GQ "workflow=db-down,severity=warning,service=unknown"
    /* MTTA by a person: bob's 200 s, not PagerDuty's 120 s; none for Q. */
    EXPECT(&sc, "muster_incident_time_to_person_acknowledge_seconds_count", GP, 1);
    EXPECT(&sc, "muster_incident_time_to_person_acknowledge_seconds_sum", GP, 200);
    assert_true(isnan(val(&sc, "muster_incident_time_to_person_acknowledge_seconds_count", GQ)));
    /* The first acknowledgement of any kind still makes the MTTA of before. */
    EXPECT(&sc, "muster_incident_time_to_acknowledge_seconds_sum", GP, 120);
    /* Acknowledgements: each incident once, by its first. */
    EXPECT(&sc, "muster_acknowledgements_total", "level=unknown,channel=pagerduty", 1);
    EXPECT(&sc, "muster_acknowledgements_total", "level=1,channel=pagerduty", 1);
    EXPECT(&sc, "muster_escalations_total", GP, 1);
    EXPECT(&sc, "muster_pages_total", GP, 4);
    EXPECT(&sc, "muster_pages_total", GQ, 1);
    EXPECT(&sc, "muster_pages_by_channel_total", "channel=slack", 2);
    EXPECT(&sc, "muster_pages_by_channel_total", "channel=sms", 1);
    EXPECT(&sc, "muster_pages_by_channel_total", "channel=phone", 1);
    EXPECT(&sc, "muster_pages_by_channel_total", "channel=email", 1);
    scrape_free(&sc);
    exporter_free(e);
    metrics_free(m);

    /* An incident a person acknowledges first: level and channel of theirs. */
    static const event r_events[] = {
        {"r1", "incident.opened", "inc-r", 0,
         "\"workflow\":\"db-down\",\"severity\":\"warning\",\"fingerprint\":\"f\","
         "\"summary\":\"s\",\"source\":\"t\",\"group\":\"g\""},
        {"r2", "incident.acknowledged", "inc-r", 45000,
         "\"by\":\"dave\",\"via\":\"phone\",\"level\":3,\"ack_ms\":45000,\"person\":\"dave\","
         "\"channel\":\"phone\""},
    };
    for (size_t i = 0; i < N(r_events); i++) assert_int_equal(feed(s, &r_events[i]), AGG_COUNTED);
    m = metrics_new(32, 4096);
    e = exporter_new(m);
    scrape_from(s, m, e, &sc);
    EXPECT(&sc, "muster_acknowledgements_total", "level=3,channel=phone", 1);
    EXPECT(&sc, "muster_incident_time_to_person_acknowledge_seconds_sum", GQ, 45);
    scrape_free(&sc);
    exporter_free(e);
    metrics_free(m);
    store_close(s);
}

int main(void) {
    log_min_level = LOG_ERROR;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_time),
        cmocka_unit_test(test_figures_and_restart),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_rollups),
        cmocka_unit_test(test_paging_figures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
