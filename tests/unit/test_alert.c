/* test_alert.c - unit tests for decoding alerts into the one alert model */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alert.h"

static char err[512];

static alert_batch decode_ok(const char *text) {
    alert_batch b;
    err[0] = '\0';
    if (alert_decode(text, strlen(text), &b, err, sizeof(err)) != 0)
        fail_msg("decode of %s failed: %s", text, err);
    assert_int_equal(b.n, 1);
    assert_non_null(b.items);
    return b;
}

static void expect_error(const char *text, const char *needle) {
    alert_batch b;
    err[0] = '\0';
    if (alert_decode(text, strlen(text), &b, err, sizeof(err)) == 0)
        fail_msg("%s decoded, wanted an error", text);
    assert_int_equal(b.n, 0);
    assert_null(b.items);
    if (!strstr(err, needle)) fail_msg("error for %s is \"%s\", wanted \"%s\"", text, err, needle);
}

static const char *label(const alert *a, const char *name) {
    return json_string_value(json_object_get(a->labels, name));
}

static void test_all_fields(void **state) {
    (void)state;
    alert_batch b = decode_ok(
        "{\"source\":\"prometheus\",\"summary\":\"db down\",\"status\":\"resolved\","
        "\"severity\":\"critical\",\"fingerprint\":\"fp-1\",\"labels\":{\"service\":\"db\","
        "\"env\":\"prod\"},\"annotations\":{\"runbook\":\"https://r/db\"},"
        "\"starts_at\":\"2026-01-02T03:04:05Z\",\"ends_at\":\"2026-01-02T04:00:00Z\"}");
    const alert *a = &b.items[0];
    assert_string_equal(a->format, "generic");
    assert_string_equal(a->source, "prometheus");
    assert_string_equal(a->summary, "db down");
    assert_string_equal(a->status, "resolved");
    assert_string_equal(a->severity, "critical");
    assert_string_equal(a->fingerprint, "fp-1");
    assert_int_equal(json_object_size(a->labels), 2);
    assert_string_equal(label(a, "service"), "db");
    assert_string_equal(label(a, "env"), "prod");
    assert_string_equal(json_string_value(json_object_get(a->annotations, "runbook")), "https://r/db");
    assert_string_equal(a->starts_at, "2026-01-02T03:04:05Z");
    assert_string_equal(a->ends_at, "2026-01-02T04:00:00Z");
    alert_batch_free(&b);
    assert_int_equal(b.n, 0);
    assert_null(b.items);
    alert_batch_free(&b); /* twice is harmless */
    alert_batch_free(NULL);
}

static void test_defaults(void **state) {
    (void)state;
    alert_batch b = decode_ok("{\"source\":\"cron\",\"summary\":\"backup failed\"}");
    const alert *a = &b.items[0];
    assert_string_equal(a->status, "firing");
    assert_string_equal(a->severity, "warning");
    assert_string_equal(a->starts_at, "");
    assert_string_equal(a->ends_at, "");
    assert_true(json_is_object(a->labels));
    assert_int_equal(json_object_size(a->labels), 0);
    assert_true(json_is_object(a->annotations));
    assert_int_equal(strlen(a->fingerprint), 16);
    alert_batch_free(&b);

    /* null is the same as absent (regression: null labels, as Go encodes a
     * nil map, were refused while every other field allowed null) */
    b = decode_ok("{\"source\":\"cron\",\"summary\":\"s\",\"status\":null,\"severity\":null,"
                  "\"labels\":null,\"annotations\":null}");
    assert_string_equal(b.items[0].status, "firing");
    assert_string_equal(b.items[0].severity, "warning");
    assert_int_equal(json_object_size(b.items[0].labels), 0);
    alert_batch_free(&b);
}

static void test_missing_fields(void **state) {
    (void)state;
    expect_error("{\"summary\":\"x\"}", "missing required field \"source\"");
    expect_error("{\"source\":\"x\"}", "missing required field \"summary\"");
    expect_error("{\"source\":\"\",\"summary\":\"x\"}", "missing required field \"source\"");
    expect_error("{\"source\":\"x\",\"summary\":null}", "missing required field \"summary\"");
    expect_error("{\"alerts\":[]}", "no alert format recognises this message");
    expect_error("{}", "generic needs \"source\" and \"summary\"");
}

static void test_bad_values(void **state) {
    (void)state;
    expect_error("{\"source\":\"x\",\"summary\":\"y\",\"status\":\"open\"}",
                 "field \"status\" is \"open\"; expected firing or resolved");
    expect_error("{\"source\":\"x\",\"summary\":\"y\",\"status\":\"\"}", "field \"status\" is \"\"");
    expect_error("{\"source\":7,\"summary\":\"y\"}", "field \"source\" must be a string");
    expect_error("{\"source\":\"x\",\"summary\":\"y\",\"severity\":[\"a\"]}",
                 "field \"severity\" must be a string");
    expect_error("{\"source\":\"x\",\"summary\":\"y\",\"starts_at\":1700000000}",
                 "field \"starts_at\" must be a string");
}

static void test_labels_not_strings(void **state) {
    (void)state;
    expect_error("{\"source\":\"x\",\"summary\":\"y\",\"labels\":{\"ok\":\"v\",\"code\":500}}",
                 "field \"labels.code\" must be a string");
    expect_error("{\"source\":\"x\",\"summary\":\"y\",\"labels\":{\"n\":null}}",
                 "field \"labels.n\" must be a string");
    expect_error("{\"source\":\"x\",\"summary\":\"y\",\"labels\":[\"a\"]}",
                 "field \"labels\" must be an object of strings");
    expect_error("{\"source\":\"x\",\"summary\":\"y\",\"labels\":\"a=b\"}",
                 "field \"labels\" must be an object of strings");
    expect_error("{\"source\":\"x\",\"summary\":\"y\",\"annotations\":{\"deep\":{\"a\":\"b\"}}}",
                 "field \"annotations.deep\" must be a string");
}

static void test_invalid_json(void **state) {
    (void)state;
    expect_error("{\"source\":\"x\",", "not valid JSON: ");
    expect_error("{\"source\":\"x\",\n\"summary\" \"y\"}", "at line 2 column");
    expect_error("", "not valid JSON");
    expect_error("{\"source\":\"x\",\"summary\":\"y\",\"source\":\"z\"}", "duplicate object key");
    expect_error("{\"source\":\"x\\u0000y\",\"summary\":\"y\"}", "not valid JSON");

    /* invalid UTF-8 */
    expect_error("{\"source\":\"\xff\xfe\",\"summary\":\"y\"}", "not valid JSON");

    /* the length is honoured: what follows it is not read */
    alert_batch b;
    const char *text = "{\"source\":\"x\",\"summary\":\"y\"}garbage";
    assert_int_equal(alert_decode(text, strlen(text) - 7, &b, err, sizeof(err)), 0);
    alert_batch_free(&b);
}

static void test_not_object(void **state) {
    (void)state;
    expect_error("[{\"source\":\"x\",\"summary\":\"y\"}]", "expected a JSON object");
    expect_error("[]", "expected a JSON object");
    expect_error("\"alert\"", "not valid JSON");
    expect_error("42", "not valid JSON");
}

static void test_oversize(void **state) {
    (void)state;
    size_t len = ALERT_MAX_BYTES + 1;
    char *big = malloc(len);
    alert_batch b;
    assert_non_null(big);
    /* a valid document padded with blanks */
    memset(big, ' ', len);
    const char *doc = "{\"source\":\"x\",\"summary\":\"y\"}";
    memcpy(big, doc, strlen(doc));
    assert_int_equal(alert_decode(big, len, &b, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "message of 1048577 bytes is larger than 1048576"));
    assert_int_equal(b.n, 0);

    /* exactly the limit is accepted */
    assert_int_equal(alert_decode(big, len - 1, &b, err, sizeof(err)), 0);
    alert_batch_free(&b);
    free(big);
}

/* Reference FNV-1a 64, written out from the specification. */
static uint64_t fnv1a64(const char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * 0x100000001b3ULL;
    return h;
}

static void fingerprint_of(const char *labels_json, char *fp) {
    char doc[512];
    snprintf(doc, sizeof(doc), "{\"source\":\"s\",\"summary\":\"t\",\"labels\":%s}", labels_json);
    alert_batch b = decode_ok(doc);
    assert_int_equal(strlen(b.items[0].fingerprint), 16);
    strcpy(fp, b.items[0].fingerprint);
    alert_batch_free(&b);
}

static void test_fingerprint_stable(void **state) {
    (void)state;
    char a[17], b[17], c[17], d[17], e[17];
    fingerprint_of("{\"service\":\"db\",\"env\":\"prod\",\"team\":\"sre\"}", a);
    fingerprint_of("{\"team\":\"sre\",\"service\":\"db\",\"env\":\"prod\"}", b);
    fingerprint_of("{\"env\":\"prod\",\"team\":\"sre\",\"service\":\"db\"}", c);
    assert_string_equal(a, b);
    assert_string_equal(a, c);

    fingerprint_of("{\"a\":\"bc\"}", d);
    fingerprint_of("{\"ab\":\"c\"}", e);
    assert_string_not_equal(d, e);

    /* a value change changes it; source and summary do not take part */
    fingerprint_of("{\"service\":\"db\",\"env\":\"dev\",\"team\":\"sre\"}", d);
    assert_string_not_equal(a, d);

    /* Regression: the offset basis lacked its last digit, so the hash was
     * not FNV-1a 64 as alert.h promises. Of nothing it is the basis itself. */
    fingerprint_of("{}", e);
    assert_string_equal(e, "cbf29ce484222325");
    /* key NUL value NUL, in key order */
    char want[17];
    snprintf(want, sizeof(want), "%016llx",
             (unsigned long long)fnv1a64("a\0" "1\0" "b\0" "2\0", 8));
    fingerprint_of("{\"b\":\"2\",\"a\":\"1\"}", e);
    assert_string_equal(e, want);
    /* the reference itself, checked against a published test vector */
    assert_true(fnv1a64("a", 1) == 0xaf63dc4c8601ec8cULL);

    /* and the direct call agrees with the decoder */
    json_t *labels = json_pack("{s:s, s:s, s:s}", "team", "sre", "env", "prod", "service", "db");
    char direct[17];
    alert_fingerprint_labels(labels, direct, sizeof(direct));
    assert_string_equal(direct, a);
    json_decref(labels);
}

static void test_fingerprint_given(void **state) {
    (void)state;
    alert_batch b = decode_ok("{\"source\":\"s\",\"summary\":\"t\",\"fingerprint\":\"abc-123\","
                              "\"labels\":{\"a\":\"b\"}}");
    assert_string_equal(b.items[0].fingerprint, "abc-123");
    alert_batch_free(&b);

    /* an empty one is computed */
    char computed[17];
    fingerprint_of("{\"a\":\"b\"}", computed);
    b = decode_ok("{\"source\":\"s\",\"summary\":\"t\",\"fingerprint\":\"\",\"labels\":{\"a\":\"b\"}}");
    assert_string_equal(b.items[0].fingerprint, computed);
    alert_batch_free(&b);
}

static void test_to_json(void **state) {
    (void)state;
    alert_batch b = decode_ok("{\"source\":\"grafana\",\"summary\":\"slow\",\"severity\":\"page\","
                              "\"labels\":{\"service\":\"pay\"},\"annotations\":{\"d\":\"x\"},"
                              "\"starts_at\":\"2026-01-01T00:00:00Z\"}");
    json_t *j = alert_to_json(&b.items[0]);
    assert_non_null(j);
    assert_int_equal(json_object_size(j), 10);
    assert_string_equal(json_string_value(json_object_get(j, "format")), "generic");
    assert_string_equal(json_string_value(json_object_get(j, "source")), "grafana");
    assert_string_equal(json_string_value(json_object_get(j, "summary")), "slow");
    assert_string_equal(json_string_value(json_object_get(j, "status")), "firing");
    assert_string_equal(json_string_value(json_object_get(j, "severity")), "page");
    assert_string_equal(json_string_value(json_object_get(j, "fingerprint")), b.items[0].fingerprint);
    assert_string_equal(json_string_value(json_object_get(j, "starts_at")), "2026-01-01T00:00:00Z");
    assert_string_equal(json_string_value(json_object_get(j, "ends_at")), "");
    assert_true(json_equal(json_object_get(j, "labels"), b.items[0].labels));
    assert_true(json_equal(json_object_get(j, "annotations"), b.items[0].annotations));
    /* it holds its own references: the alert can go first */
    alert_batch_free(&b);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "labels"), "service")),
                        "pay");
    json_decref(j);
}

static void test_match_fields(void **state) {
    (void)state;
    alert_batch b = decode_ok("{\"source\":\"prom\",\"summary\":\"s\",\"severity\":\"critical\","
                              "\"labels\":{\"service\":\"db\",\"severity\":\"info\","
                              "\"status\":\"x\",\"source\":\"y\"}}");
    json_t *f = alert_match_fields(&b.items[0]);
    assert_non_null(f);
    assert_int_equal(json_object_size(f), 4);
    assert_string_equal(json_string_value(json_object_get(f, "service")), "db");
    assert_string_equal(json_string_value(json_object_get(f, "severity")), "critical");
    assert_string_equal(json_string_value(json_object_get(f, "status")), "firing");
    assert_string_equal(json_string_value(json_object_get(f, "source")), "prom");
    /* the alert's own labels are untouched */
    assert_string_equal(label(&b.items[0], "severity"), "info");
    json_decref(f);
    alert_batch_free(&b);
}

/* ---- formats other than generic ---- */

static alert_batch decode_n(const char *text, size_t n) {
    alert_batch b;
    err[0] = '\0';
    if (alert_decode(text, strlen(text), &b, err, sizeof(err)) != 0)
        fail_msg("decode of %.200s failed: %s", text, err);
    assert_int_equal(b.n, n);
    return b;
}

static const char *annotation(const alert *a, const char *name) {
    return json_string_value(json_object_get(a->annotations, name));
}

/* Shaped like the webhook_config example in Alertmanager's docs/configuration.md
 * ("The Alertmanager will send HTTP POST requests in the following JSON
 * format"): three alerts of one group, the last without its own labels. */
static const char *am_group =
    "{\"version\":\"4\",\"groupKey\":\"{}/"
    "{severity=\\\"critical\\\"}:{alertname=\\\"ProbeFailure\\\"}\","
    "\"truncatedAlerts\":0,\"status\":\"firing\",\"receiver\":\"sms\","
    "\"groupLabels\":{\"alertname\":\"ProbeFailure\"},"
    "\"commonLabels\":{\"alertname\":\"ProbeFailure\",\"job\":\"http_checks\",\"monitor\":"
    "\"master\","
    "\"severity\":\"critical\"},"
    "\"commonAnnotations\":{\"runbook_url\":\"https://r/probe\",\"summary\":\"Probe failures\"},"
    "\"externalURL\":\"http://prometheus.example.org:9093\","
    "\"alerts\":["
    "{\"status\":\"firing\",\"labels\":{\"alertname\":\"ProbeFailure\",\"instance\":\"https://"
    "a.example.org\","
    "\"job\":\"http_checks\",\"monitor\":\"master\",\"severity\":\"critical\"},"
    "\"annotations\":{\"description\":\"a down for 5m\",\"summary\":\"BlackBox Probe Failure: a\"},"
    "\"startsAt\":\"2023-02-06T13:08:45.828Z\",\"endsAt\":\"0001-01-01T00:00:00Z\","
    "\"generatorURL\":\"http://prometheus.example.org:9090/graph?g0.expr=probe_success+%3D%3D+0\","
    "\"fingerprint\":\"1a30ba71cca2921f\"},"
    "{\"status\":\"resolved\",\"labels\":{\"instance\":\"https://"
    "b.example.org\",\"severity\":\"page\"},"
    "\"annotations\":{\"summary\":\"\",\"description\":\"b is back\"},"
    "\"startsAt\":\"2023-02-06T13:00:00Z\",\"endsAt\":\"2023-02-06T13:20:00Z\","
    "\"fingerprint\":\"2b41cb82ddb3a32f\"},"
    "{\"status\":\"firing\",\"labels\":null,\"annotations\":null,\"startsAt\":\"2023-02-06T13:09:"
    "00Z\","
    "\"endsAt\":\"0001-01-01T00:00:00Z\",\"generatorURL\":\"\"}"
    "]}";

static void test_am_group(void **state) {
    (void)state;
    alert_batch b = decode_n(am_group, 3);
    const alert *a = &b.items[0], *r = &b.items[1], *z = &b.items[2];

    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(b.items[i].format, "alertmanager");
        assert_string_equal(b.items[i].source, "alertmanager");
        /* the group travels with every alert */
        assert_string_equal(annotation(&b.items[i], "muster_receiver"), "sms");
        assert_string_equal(annotation(&b.items[i], "muster_group_key"),
                            "{}/{severity=\"critical\"}:{alertname=\"ProbeFailure\"}");
        assert_string_equal(annotation(&b.items[i], "muster_external_url"),
                            "http://prometheus.example.org:9093");
        assert_null(annotation(&b.items[i], "muster_truncated_alerts"));
        assert_string_equal(annotation(&b.items[i], "runbook_url"), "https://r/probe");
    }

    assert_string_equal(a->status, "firing");
    assert_string_equal(a->severity, "critical");
    assert_string_equal(a->summary, "BlackBox Probe Failure: a");
    assert_string_equal(a->fingerprint, "1a30ba71cca2921f");
    assert_string_equal(a->starts_at, "2023-02-06T13:08:45.828Z");
    assert_string_equal(a->ends_at, ""); /* Go's zero time means "not ended" */
    assert_int_equal(json_object_size(a->labels), 5);
    assert_string_equal(annotation(a, "muster_generator_url"),
                        "http://prometheus.example.org:9090/graph?g0.expr=probe_success+%3D%3D+0");

    /* common labels merged under the alert's own: its own severity wins */
    assert_string_equal(r->status, "resolved");
    assert_string_equal(r->severity, "page");
    assert_string_equal(label(r, "alertname"), "ProbeFailure");
    assert_string_equal(label(r, "job"), "http_checks");
    assert_string_equal(label(r, "instance"), "https://b.example.org");
    assert_int_equal(json_object_size(r->labels), 5);
    /* an empty summary falls back to the description */
    assert_string_equal(r->summary, "b is back");
    assert_string_equal(r->ends_at, "2023-02-06T13:20:00Z");
    assert_string_equal(r->fingerprint, "2b41cb82ddb3a32f");

    /* an alert with nothing of its own gets the group's labels, the common
     * summary, and a fingerprint of the merged labels */
    assert_string_equal(z->summary, "Probe failures");
    assert_string_equal(z->severity, "critical");
    assert_int_equal(json_object_size(z->labels), 4);
    char fp[17];
    alert_fingerprint_labels(z->labels, fp, sizeof(fp));
    assert_string_equal(z->fingerprint, fp);
    assert_null(annotation(z, "muster_generator_url")); /* "" is left out */
    alert_batch_free(&b);
}

static void test_am_summary_fallbacks(void **state) {
    (void)state;
    alert_batch b = decode_n(
        "{\"groupKey\":\"g\",\"alerts\":["
        "{\"status\":\"firing\",\"labels\":{\"alertname\":\"DiskFull\",\"severity\":\"\"}},"
        "{\"status\":\"firing\",\"labels\":{\"job\":\"x\"}}]}",
        2);
    /* no version: still Alertmanager's shape (claimed by groupKey) */
    assert_string_equal(b.items[0].format, "alertmanager");
    assert_string_equal(b.items[0].summary, "DiskFull");
    assert_string_equal(b.items[0].severity,
                        "warning"); /* an empty severity label is no severity */
    assert_string_equal(b.items[1].summary, "alert without summary, description or alertname");
    assert_string_equal(b.items[1].starts_at, "");
    alert_batch_free(&b);
}

static void test_am_resolved_group(void **state) {
    (void)state;
    /* alerts without a status take the group's */
    alert_batch b =
        decode_n("{\"version\":\"4\",\"status\":\"resolved\",\"alerts\":["
                 "{\"labels\":{\"alertname\":\"A\"},\"endsAt\":\"2026-01-01T00:05:00Z\"},"
                 "{\"status\":\"firing\",\"labels\":{\"alertname\":\"B\"}}]}",
                 2);
    assert_string_equal(b.items[0].status, "resolved");
    assert_string_equal(b.items[0].ends_at, "2026-01-01T00:05:00Z");
    assert_string_equal(b.items[1].status, "firing");
    alert_batch_free(&b);

    expect_error("{\"version\":\"4\",\"alerts\":[{\"labels\":{\"alertname\":\"A\"}}]}",
                 "alertmanager: missing required field \"alerts[0].status\"");
}

static void test_am_truncated(void **state) {
    (void)state;
    alert_batch b =
        decode_n("{\"version\":\"4\",\"truncatedAlerts\":17,\"status\":\"firing\","
                 "\"alerts\":[{\"status\":\"firing\",\"labels\":{\"alertname\":\"A\"}}]}",
                 1);
    /* what max_alerts dropped is not lost from sight */
    assert_string_equal(annotation(&b.items[0], "muster_truncated_alerts"), "17");
    alert_batch_free(&b);

    expect_error(
        "{\"version\":\"4\",\"truncatedAlerts\":\"2\",\"alerts\":[{\"status\":\"firing\"}]}",
        "alertmanager: field \"truncatedAlerts\" must be a non-negative integer");
    expect_error("{\"version\":\"4\",\"truncatedAlerts\":-1,\"alerts\":[{\"status\":\"firing\"}]}",
                 "field \"truncatedAlerts\" must be a non-negative integer");
}

static void test_am_grafana(void **state) {
    (void)state;
    /* Grafana's webhook has Alertmanager's shape with version "1" */
    alert_batch b = decode_n(
        "{\"receiver\":\"My Super Webhook\",\"status\":\"firing\",\"orgId\":1,\"alerts\":[{"
        "\"status\":\"firing\",\"labels\":{\"alertname\":\"High memory usage\",\"team\":\"blue\"},"
        "\"annotations\":{\"summary\":\"zone "
        "us-1\"},\"startsAt\":\"2021-10-12T09:51:03.157076+02:00\","
        "\"endsAt\":\"0001-01-01T00:00:00Z\",\"generatorURL\":\"https://g/alerting/1/edit\","
        "\"fingerprint\":\"c6eadffa33fcdf37\",\"silenceURL\":\"https://g/"
        "silence\",\"dashboardURL\":\"\","
        "\"panelURL\":\"\",\"values\":{\"B\":44.2,\"C\":1}}],\"groupLabels\":{},\"commonLabels\":"
        "{\"team\":\"blue\"},\"commonAnnotations\":{},\"externalURL\":\"https://g/"
        "\",\"version\":\"1\","
        "\"groupKey\":\"{}:{}\",\"truncatedAlerts\":0,\"title\":\"[FIRING:1]\",\"state\":"
        "\"alerting\"}",
        1);
    const alert *a = &b.items[0];
    assert_string_equal(a->format, "alertmanager");
    assert_string_equal(a->source, "grafana");
    assert_string_equal(annotation(a, "muster_silence_url"), "https://g/silence");
    assert_null(annotation(a, "muster_dashboard_url"));
    assert_string_equal(a->starts_at, "2021-10-12T09:51:03.157076+02:00");
    alert_batch_free(&b);
}

static void test_am_errors(void **state) {
    (void)state;
    expect_error("{\"version\":\"4\",\"alerts\":[{\"status\":\"firing\"},{\"status\":\"firing\","
                 "\"labels\":{\"env\":\"prod\"}},{\"status\":\"firing\"},{\"status\":\"firing\","
                 "\"labels\":{\"env\":7}}]}",
                 "alertmanager: field \"alerts[3].labels.env\" must be a string");
    expect_error("{\"version\":\"4\",\"alerts\":[{\"status\":\"firing\",\"annotations\":[]}]}",
                 "alertmanager: field \"alerts[0].annotations\" must be an object of strings");
    expect_error(
        "{\"version\":\"4\",\"commonLabels\":{\"env\":true},\"alerts\":[{\"status\":\"firing\"}]}",
        "alertmanager: field \"commonLabels.env\" must be a string");
    expect_error("{\"version\":\"4\",\"alerts\":[]}", "alertmanager: field \"alerts\" is empty");
    expect_error("{\"version\":\"4\",\"alerts\":[\"firing\"]}",
                 "alertmanager: field \"alerts[0]\" must be an object");
    expect_error("{\"version\":\"3\",\"alerts\":[{\"status\":\"firing\"}]}",
                 "alertmanager: field \"version\" is \"3\"; expected \"4\"");
    expect_error("{\"version\":4,\"alerts\":[{\"status\":\"firing\"}]}",
                 "alertmanager: field \"version\" must be a string");
    expect_error(
        "{\"version\":\"4\",\"alerts\":[{\"status\":\"pending\"}]}",
        "alertmanager: field \"alerts[0].status\" is \"pending\"; expected firing or resolved");
    expect_error("{\"version\":\"4\",\"status\":\"bad\",\"alerts\":[{\"status\":\"firing\"}]}",
                 "alertmanager: field \"status\" is \"bad\"");
    expect_error("{\"version\":\"4\",\"alerts\":[{\"status\":\"firing\",\"startsAt\":1}]}",
                 "alertmanager: field \"alerts[0].startsAt\" must be a string");
    expect_error("{\"version\":\"4\",\"alerts\":[{\"status\":\"firing\",\"fingerprint\":[]}]}",
                 "alertmanager: field \"alerts[0].fingerprint\" must be a string");
    /* a bad alert refuses the whole group: nothing half-decoded reaches intake */
    expect_error("{\"version\":\"4\",\"alerts\":[{\"status\":\"firing\"},{\"status\":\"x\"}]}",
                 "alerts[1].status");
}

/* Appends to a growing buffer; fails the test when it would overflow. */
static void put(char *buf, size_t cap, size_t *len, const char *s) {
    size_t n = strlen(s);
    if (*len + n + 1 > cap) fail_msg("test buffer too small");
    memcpy(buf + *len, s, n + 1);
    *len += n;
}

static void test_am_limits(void **state) {
    (void)state;
    size_t cap = ALERT_MAX_BYTES, len = 0;
    char *doc = malloc(cap), item[96];
    assert_non_null(doc);

    /* the most alerts a message may hold, and one more */
    put(doc, cap, &len, "{\"version\":\"4\",\"alerts\":[");
    for (int i = 0; i < ALERT_MAX_PER_MESSAGE; i++) {
        snprintf(item, sizeof(item), "%s{\"status\":\"firing\",\"labels\":{\"n\":\"%d\"}}",
                 i ? "," : "", i);
        put(doc, cap, &len, item);
    }
    put(doc, cap, &len, "]}");
    alert_batch b = decode_n(doc, ALERT_MAX_PER_MESSAGE);
    assert_string_not_equal(b.items[0].fingerprint, b.items[1].fingerprint);
    alert_batch_free(&b);
    len -= 2;
    put(doc, cap, &len, ",{\"status\":\"firing\"}]}");
    expect_error(doc, "alertmanager: field \"alerts\" holds 1001 alerts; at most 1000 per message");

    /* Regression guard: common labels are repeated into every alert, so a
     * small message could grow a thousandfold. ~10 KB of common annotations
     * times 1000 alerts passes the 8 MiB text budget: refused. */
    len = 0;
    put(doc, cap, &len, "{\"version\":\"4\",\"commonAnnotations\":{\"big\":\"");
    for (int i = 0; i < 10000; i++) put(doc, cap, &len, "x");
    put(doc, cap, &len, "\"},\"alerts\":[");
    for (int i = 0; i < ALERT_MAX_PER_MESSAGE; i++)
        put(doc, cap, &len, i ? ",{\"status\":\"firing\"}" : "{\"status\":\"firing\"}");
    put(doc, cap, &len, "]}");
    assert_true(len < 100000);
    expect_error(doc, "alertmanager: the alerts decode to more than 8388608 bytes of text");

    /* a label value that is too long is refused (labels identify an alert) */
    len = 0;
    put(doc, cap, &len,
        "{\"version\":\"4\",\"alerts\":[{\"status\":\"firing\",\"labels\":{\"q\":\"");
    for (int i = 0; i < ALERT_MAX_ID + 1; i++) put(doc, cap, &len, "q");
    put(doc, cap, &len, "\"}}]}");
    expect_error(doc, "alertmanager: field \"alerts[0].labels.q\" is 1025 bytes; at most 1024");

    /* too many labels once the group's are merged in */
    len = 0;
    put(doc, cap, &len, "{\"version\":\"4\",\"commonLabels\":{");
    for (int i = 0; i < 200; i++) {
        snprintf(item, sizeof(item), "%s\"c%d\":\"v\"", i ? "," : "", i);
        put(doc, cap, &len, item);
    }
    put(doc, cap, &len, "},\"alerts\":[{\"status\":\"firing\",\"labels\":{");
    for (int i = 0; i < 100; i++) {
        snprintf(item, sizeof(item), "%s\"a%d\":\"v\"", i ? "," : "", i);
        put(doc, cap, &len, item);
    }
    put(doc, cap, &len, "}}]}");
    expect_error(
        doc,
        "alertmanager: field \"alerts[0].labels\" has 300 entries with the group's; at most 256");
    free(doc);
}

/* The trigger example of PagerDuty's "Send an Alert Event" page
 * (developer-docs, docs/events-API-v2/02-Trigger-Events.md). */
static const char *pd_trigger =
    "{\"payload\":{\"summary\":\"Example alert on host1.example.com\","
    "\"timestamp\":\"2015-07-17T08:42:58.315+0000\","
    "\"source\":\"monitoringtool:cloudvendor:central-region-dc-01:852559987:cluster/"
    "api-stats-prod-003\","
    "\"severity\":\"info\",\"component\":\"postgres\",\"group\":\"prod-datapipe\",\"class\":"
    "\"deploy\","
    "\"custom_details\":{\"ping time\":\"1500ms\",\"load avg\":0.75}},"
    "\"routing_key\":\"samplekeyhere\",\"dedup_key\":\"samplekeyhere\","
    "\"images\":[{\"src\":\"https://www.pagerduty.com/logo.png\",\"href\":\"https://example.com/\","
    "\"alt\":\"Example text\"}],"
    "\"links\":[{\"href\":\"https://example.com/\",\"text\":\"Link text\"}],"
    "\"event_action\":\"trigger\",\"client\":\"Sample Monitoring Service\","
    "\"client_url\":\"https://monitoring.example.com\"}";

static void test_pd_trigger(void **state) {
    (void)state;
    alert_batch b = decode_n(pd_trigger, 1);
    const alert *a = &b.items[0];
    assert_string_equal(a->format, "pagerduty");
    assert_string_equal(a->status, "firing");
    assert_string_equal(a->severity, "info");
    assert_string_equal(a->summary, "Example alert on host1.example.com");
    assert_string_equal(
        a->source,
        "monitoringtool:cloudvendor:central-region-dc-01:852559987:cluster/api-stats-prod-003");
    assert_string_equal(a->fingerprint, "samplekeyhere");
    assert_string_equal(a->starts_at, "2015-07-17T08:42:58.315+0000");
    assert_string_equal(a->ends_at, "");
    assert_int_equal(json_object_size(a->labels), 4);
    assert_string_equal(label(a, "component"), "postgres");
    assert_string_equal(label(a, "group"), "prod-datapipe");
    assert_string_equal(label(a, "class"), "deploy");
    assert_string_equal(label(a, "source"), a->source);
    /* custom details: strings as they are, the rest as JSON text */
    assert_string_equal(annotation(a, "ping time"), "1500ms");
    assert_string_equal(annotation(a, "load avg"), "0.75");
    assert_string_equal(annotation(a, "muster_link_0"), "https://example.com/");
    assert_string_equal(annotation(a, "muster_link_0_text"), "Link text");
    assert_string_equal(annotation(a, "muster_client"), "Sample Monitoring Service");
    assert_string_equal(annotation(a, "muster_client_url"), "https://monitoring.example.com");
    /* the routing key is a credential: it is kept nowhere. (PagerDuty's
     * example uses the same text for the dedup_key, so it appears once, as
     * the fingerprint.) */
    json_t *j = alert_to_json(a);
    char *text = json_dumps(j, JSON_COMPACT);
    const char *first = strstr(text, "samplekeyhere");
    assert_non_null(first);
    assert_null(strstr(first + 1, "samplekeyhere"));
    assert_null(strstr(text, "routing"));
    free(text);
    json_decref(j);
    alert_batch_free(&b);
}

static void test_pd_ack_resolve(void **state) {
    (void)state;
    /* PagerDuty's acknowledge and resolve examples: no payload at all */
    alert_batch b = decode_n("{\"routing_key\":\"routingkeyhere\",\"dedup_key\":\"dedupkeyhere\","
                             "\"event_action\":\"acknowledge\"}",
                             1);
    const alert *a = &b.items[0];
    assert_string_equal(a->format, "pagerduty");
    assert_string_equal(a->status, "acknowledged");
    assert_string_equal(a->fingerprint, "dedupkeyhere");
    assert_string_equal(a->summary, "acknowledge dedupkeyhere");
    assert_string_equal(a->source, "pagerduty");
    assert_string_equal(a->severity, "warning");
    assert_int_equal(json_object_size(a->labels), 0);
    alert_batch_free(&b);

    b = decode_n("{\"routing_key\":\"routingkeyhere\",\"dedup_key\":\"dedupkeyhere\","
                 "\"event_action\":\"resolve\"}",
                 1);
    assert_string_equal(b.items[0].status, "resolved");
    assert_string_equal(b.items[0].fingerprint, "dedupkeyhere");
    assert_string_equal(b.items[0].summary, "resolve dedupkeyhere");
    alert_batch_free(&b);

    /* a resolve with a payload: its timestamp ends the alert */
    b = decode_n("{\"routing_key\":\"k\",\"dedup_key\":\"d\",\"event_action\":\"resolve\","
                 "\"payload\":{\"summary\":\"disk freed\",\"source\":\"db1\",\"severity\":\"info\","
                 "\"timestamp\":\"2026-01-01T00:00:00Z\"}}",
                 1);
    assert_string_equal(b.items[0].summary, "disk freed");
    assert_string_equal(b.items[0].source, "db1");
    assert_string_equal(b.items[0].ends_at, "2026-01-01T00:00:00Z");
    assert_string_equal(b.items[0].starts_at, "");
    alert_batch_free(&b);

    b = decode_n("{\"routing_key\":\"k\",\"dedup_key\":\"d\",\"event_action\":\"acknowledge\","
                 "\"payload\":{\"timestamp\":\"2026-01-01T00:01:00Z\"}}",
                 1);
    assert_string_equal(annotation(&b.items[0], "muster_acknowledged_at"), "2026-01-01T00:01:00Z");
    alert_batch_free(&b);

    /* the trigger and the resolve of one dedup_key are one alert */
    alert_batch t = decode_n(pd_trigger, 1);
    b = decode_n("{\"routing_key\":\"samplekeyhere\",\"dedup_key\":\"samplekeyhere\","
                 "\"event_action\":\"resolve\"}",
                 1);
    assert_string_equal(t.items[0].fingerprint, b.items[0].fingerprint);
    alert_batch_free(&t);
    alert_batch_free(&b);
}

static void test_pd_errors(void **state) {
    (void)state;
    expect_error(
        "{\"routing_key\":\"k\",\"event_action\":\"trigger\",\"payload\":{\"summary\":\"s\","
        "\"source\":\"h\",\"severity\":\"high\"}}",
        "pagerduty: field \"payload.severity\" is \"high\"; expected critical, error, "
        "warning or info");
    expect_error(
        "{\"routing_key\":\"k\",\"event_action\":\"trigger\",\"payload\":{\"summary\":\"s\","
        "\"source\":\"h\",\"severity\":\"CRITICAL\"}}",
        "field \"payload.severity\" is \"CRITICAL\"");
    expect_error("{\"routing_key\":\"k\",\"dedup_key\":\"d\",\"event_action\":\"snooze\"}",
                 "pagerduty: field \"event_action\" is \"snooze\"; expected trigger, acknowledge "
                 "or resolve");
    expect_error("{\"routing_key\":\"k\",\"dedup_key\":\"d\"}",
                 "pagerduty: missing required field \"event_action\"");
    expect_error("{\"event_action\":\"resolve\",\"dedup_key\":\"d\"}",
                 "pagerduty: missing required field \"routing_key\"");
    expect_error(
        "{\"routing_key\":\"k\",\"event_action\":\"resolve\"}",
        "pagerduty: missing required field \"dedup_key\" (resolve needs the key of the alert)");
    expect_error("{\"routing_key\":\"k\",\"event_action\":\"acknowledge\",\"dedup_key\":\"\"}",
                 "missing required field \"dedup_key\"");
    expect_error("{\"routing_key\":\"k\",\"event_action\":\"trigger\"}",
                 "pagerduty: missing required field \"payload\"");
    expect_error("{\"routing_key\":\"k\",\"event_action\":\"trigger\",\"payload\":\"down\"}",
                 "pagerduty: field \"payload\" must be an object");
    expect_error(
        "{\"routing_key\":\"k\",\"event_action\":\"trigger\",\"payload\":{\"summary\":\"s\","
        "\"severity\":\"info\"}}",
        "pagerduty: missing required field \"payload.source\"");
    expect_error(
        "{\"routing_key\":\"k\",\"event_action\":\"trigger\",\"payload\":{\"source\":\"h\","
        "\"severity\":\"info\"}}",
        "pagerduty: missing required field \"payload.summary\"");
    expect_error(
        "{\"routing_key\":\"k\",\"event_action\":\"trigger\",\"payload\":{\"summary\":\"s\","
        "\"source\":\"h\"}}",
        "pagerduty: missing required field \"payload.severity\"");
    expect_error(
        "{\"routing_key\":\"k\",\"event_action\":\"trigger\",\"payload\":{\"summary\":\"s\","
        "\"source\":\"h\",\"severity\":\"info\",\"component\":5}}",
        "pagerduty: field \"payload.component\" must be a string");
    expect_error(
        "{\"routing_key\":\"k\",\"event_action\":\"trigger\",\"payload\":{\"summary\":\"s\","
        "\"source\":\"h\",\"severity\":\"info\"},\"links\":[{\"text\":\"no href\"}]}",
        "pagerduty: missing required field \"links[0].href\"");
    expect_error(
        "{\"routing_key\":\"k\",\"event_action\":\"trigger\",\"payload\":{\"summary\":\"s\","
        "\"source\":\"h\",\"severity\":\"info\"},\"links\":{}}",
        "pagerduty: field \"links\" must be an array of objects");

    /* dedup_key: PagerDuty permits 255 characters (characters, not bytes) */
    char doc[2048], key[1100];
    memset(key, 'k', 255);
    key[255] = '\0';
    snprintf(doc, sizeof(doc),
             "{\"routing_key\":\"k\",\"event_action\":\"resolve\",\"dedup_key\":\"%s\"}", key);
    alert_batch b = decode_n(doc, 1);
    alert_batch_free(&b);
    for (int i = 0; i < 255; i++) memcpy(key + 3 * i, "\xe2\x82\xac", 3); /* 255 euro signs */
    key[765] = '\0';
    snprintf(doc, sizeof(doc),
             "{\"routing_key\":\"k\",\"event_action\":\"resolve\",\"dedup_key\":\"%s\"}", key);
    b = decode_n(doc, 1);
    alert_batch_free(&b);
    memcpy(key + 765, "k", 2);
    snprintf(doc, sizeof(doc),
             "{\"routing_key\":\"k\",\"event_action\":\"resolve\",\"dedup_key\":\"%s\"}", key);
    expect_error(doc, "pagerduty: field \"dedup_key\" is 256 characters; at most 255");
}

static void test_pd_fingerprint_without_dedup_key(void **state) {
    (void)state;
    const char *fmt =
        "{\"routing_key\":\"%s\",\"event_action\":\"trigger\",\"payload\":{\"summary\":"
        "\"%s\",\"source\":\"db1\",\"severity\":\"%s\",\"component\":\"pg\"}}";
    char doc[512];
    char fp[3][17];
    const char *variants[3][3] = {{"key-a", "disk full", "critical"},
                                  {"key-a", "disk full", "info"},
                                  {"key-b", "disk full", "critical"}};
    for (int i = 0; i < 3; i++) {
        snprintf(doc, sizeof(doc), fmt, variants[i][0], variants[i][1], variants[i][2]);
        alert_batch b = decode_n(doc, 1);
        assert_int_equal(strlen(b.items[0].fingerprint), 16);
        strcpy(fp[i], b.items[0].fingerprint);
        /* the routing key is hashed, never kept */
        json_t *j = alert_to_json(&b.items[0]);
        char *text = json_dumps(j, JSON_COMPACT);
        assert_null(strstr(text, variants[i][0]));
        free(text);
        json_decref(j);
        alert_batch_free(&b);
    }
    /* the same trigger again is the same alert, whatever its severity; the
     * same trigger on another integration is another alert */
    assert_string_equal(fp[0], fp[1]);
    assert_string_not_equal(fp[0], fp[2]);
}

static void test_pd_custom_details(void **state) {
    (void)state;
    alert_batch b = decode_n(
        "{\"routing_key\":\"k\",\"event_action\":\"trigger\",\"payload\":{\"summary\":\"s\","
        "\"source\":\"h\",\"severity\":\"error\",\"custom_details\":{\"nested\":{\"a\":[1,2]},"
        "\"flag\":true,\"none\":null,\"muster_client\":\"spoof\"}},\"client\":\"real\"}",
        1);
    const alert *a = &b.items[0];
    assert_string_equal(annotation(a, "nested"), "{\"a\":[1,2]}");
    assert_string_equal(annotation(a, "flag"), "true");
    assert_string_equal(annotation(a, "none"), "null");
    assert_string_equal(annotation(a, "muster_client"), "real"); /* muster's own win */
    alert_batch_free(&b);

    /* custom_details that is not an object is kept whole */
    b = decode_n(
        "{\"routing_key\":\"k\",\"event_action\":\"trigger\",\"payload\":{\"summary\":\"s\","
        "\"source\":\"h\",\"severity\":\"error\",\"custom_details\":\"free text\"}}",
        1);
    assert_string_equal(annotation(&b.items[0], "custom_details"), "free text");
    alert_batch_free(&b);

    /* a large detail is cut, not refused */
    size_t n = ALERT_MAX_TEXT * 2;
    char *doc = malloc(n + 256);
    assert_non_null(doc);
    int off = sprintf(doc, "{\"routing_key\":\"k\",\"event_action\":\"trigger\",\"payload\":{"
                           "\"summary\":\"s\",\"source\":\"h\",\"severity\":\"error\","
                           "\"custom_details\":{\"log\":\"");
    memset(doc + off, 'l', n);
    strcpy(doc + off + n, "\"}}}");
    b = decode_n(doc, 1);
    assert_int_equal(strlen(annotation(&b.items[0], "log")), ALERT_MAX_TEXT);
    alert_batch_free(&b);
    free(doc);
}

/* Shaped like the JSON-valued example of the CloudEvents JSON format
 * (cloudevents/spec, formats/json-format.md, 3.2), carrying a generic alert. */
static void test_ce_generic_data(void **state) {
    (void)state;
    alert_batch b = decode_n(
        "{\"specversion\":\"1.0\",\"type\":\"com.example.someevent\",\"source\":\"/mycontext\","
        "\"subject\":null,\"id\":\"C234-1234-1234\",\"time\":\"2018-04-05T17:31:00Z\","
        "\"comexampleextension1\":\"value\",\"comexampleothervalue\":5,"
        "\"datacontenttype\":\"application/json\",\"data\":{\"summary\":\"checkout 5xx\","
        "\"severity\":\"critical\",\"labels\":{\"service\":\"checkout\"},"
        "\"annotations\":{\"runbook\":\"https://r/c\"}}}",
        1);
    const alert *a = &b.items[0];
    assert_string_equal(a->format, "cloudevents");
    assert_string_equal(a->source, "/mycontext"); /* data has none: the event's */
    assert_string_equal(a->summary, "checkout 5xx");
    assert_string_equal(a->severity, "critical");
    assert_string_equal(a->status, "firing");
    assert_string_equal(a->starts_at, "2018-04-05T17:31:00Z"); /* the event's time */
    assert_string_equal(label(a, "service"), "checkout");
    assert_string_equal(annotation(a, "runbook"), "https://r/c");
    assert_string_equal(annotation(a, "muster_event_id"), "C234-1234-1234");
    assert_string_equal(annotation(a, "muster_event_type"), "com.example.someevent");
    assert_string_equal(annotation(a, "muster_event_source"), "/mycontext");
    assert_null(annotation(a, "muster_event_subject"));
    /* the fingerprint follows the generic rule, not the event id */
    char fp[17];
    alert_fingerprint_labels(a->labels, fp, sizeof(fp));
    assert_string_equal(a->fingerprint, fp);
    alert_batch_free(&b);

    /* data's own fields win; no datacontenttype means JSON; +json types are JSON */
    b = decode_n(
        "{\"specversion\":\"1.0\",\"type\":\"t\",\"source\":\"/ctx\",\"id\":\"1\","
        "\"time\":\"2018-04-05T17:31:00Z\",\"subject\":\"db\",\"data\":{\"source\":\"prom\","
        "\"summary\":\"s\",\"status\":\"resolved\",\"fingerprint\":\"fp-9\","
        "\"starts_at\":\"2018-04-05T17:00:00Z\"}}",
        1);
    assert_string_equal(b.items[0].source, "prom");
    assert_string_equal(b.items[0].status, "resolved");
    assert_string_equal(b.items[0].fingerprint, "fp-9");
    assert_string_equal(b.items[0].starts_at, "2018-04-05T17:00:00Z");
    assert_string_equal(annotation(&b.items[0], "muster_event_subject"), "db");
    alert_batch_free(&b);

    const char *types[] = {"application/cloudevents+json", "Application/JSON; charset=utf-8",
                           "text/json"};
    for (size_t i = 0; i < 3; i++) {
        char doc[256];
        snprintf(doc, sizeof(doc),
                 "{\"specversion\":\"1.0\",\"type\":\"t\",\"source\":\"/c\",\"id\":\"1\","
                 "\"datacontenttype\":\"%s\",\"data\":{\"summary\":\"s\"}}",
                 types[i]);
        b = decode_n(doc, 1);
        alert_batch_free(&b);
    }
}

static void test_ce_errors(void **state) {
    (void)state;
    expect_error(
        "{\"specversion\":\"1.0\",\"source\":\"/c\",\"type\":\"t\",\"data\":{\"summary\":\"s\"}}",
        "cloudevents: missing required attribute \"id\"");
    expect_error(
        "{\"specversion\":\"1.0\",\"id\":\"1\",\"type\":\"t\",\"data\":{\"summary\":\"s\"}}",
        "cloudevents: missing required attribute \"source\"");
    expect_error(
        "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"/c\",\"data\":{\"summary\":\"s\"}}",
        "cloudevents: missing required attribute \"type\"");
    expect_error(
        "{\"specversion\":\"1.0\",\"id\":\"\",\"source\":\"/c\",\"type\":\"t\",\"data\":{}}",
        "cloudevents: missing required attribute \"id\"");
    expect_error(
        "{\"specversion\":\"1.0\",\"id\":null,\"source\":\"/c\",\"type\":\"t\",\"data\":{}}",
        "cloudevents: missing required attribute \"id\"");
    expect_error("{\"specversion\":\"1.0\",\"id\":1,\"source\":\"/c\",\"type\":\"t\",\"data\":{}}",
                 "cloudevents: field \"id\" must be a string");
    expect_error("{\"specversion\":null,\"id\":\"1\",\"source\":\"/c\",\"type\":\"t\"}",
                 "cloudevents: missing required attribute \"specversion\"");
    expect_error(
        "{\"specversion\":\"0.3\",\"id\":\"1\",\"source\":\"/c\",\"type\":\"t\",\"data\":{}}",
        "cloudevents: attribute \"specversion\" is \"0.3\"; expected \"1.0\"");
    /* the binary example of the JSON format spec */
    expect_error(
        "{\"specversion\":\"1.0\",\"type\":\"com.example.someevent\",\"source\":\"/mycontext\","
        "\"id\":\"A234-1234-1234\",\"time\":\"2018-04-05T17:31:00Z\","
        "\"datacontenttype\":\"application/vnd.apache.thrift.binary\","
        "\"data_base64\":\"... base64 encoded string ...\"}",
        "cloudevents: \"data_base64\" (binary data) is not supported");
    /* the XML example */
    expect_error(
        "{\"specversion\":\"1.0\",\"type\":\"t\",\"source\":\"/mycontext\",\"id\":\"B234\","
        "\"datacontenttype\":\"application/xml\",\"data\":\"<much wow=\\\"xml\\\"/>\"}",
        "cloudevents: attribute \"datacontenttype\" is \"application/xml\"; the alert in "
        "\"data\" must be JSON");
    /* the literal-string example: JSON, but not an alert */
    expect_error("{\"specversion\":\"1.0\",\"type\":\"t\",\"source\":\"/c\",\"id\":\"D234\","
                 "\"data\":\"I'm just a string\"}",
                 "cloudevents: field \"data\" must be an object holding a muster alert");
    expect_error("{\"specversion\":\"1.0\",\"type\":\"t\",\"source\":\"/c\",\"id\":\"1\"}",
                 "cloudevents: missing required field \"data\"");
    /* errors inside data name the path from the event */
    expect_error(
        "{\"specversion\":\"1.0\",\"type\":\"t\",\"source\":\"/c\",\"id\":\"1\",\"data\":{}}",
        "cloudevents: missing required field \"data.summary\"");
    expect_error("{\"specversion\":\"1.0\",\"type\":\"t\",\"source\":\"/c\",\"id\":\"1\",\"data\":"
                 "{\"summary\":\"s\",\"labels\":{\"env\":1}}}",
                 "cloudevents: field \"data.labels.env\" must be a string");
    expect_error(
        "{\"specversion\":\"1.0\",\"type\":\"t\",\"source\":\"/c\",\"id\":\"1\",\"data\":"
        "{\"summary\":\"s\",\"status\":\"acknowledged\"}}",
        "cloudevents: field \"data.status\" is \"acknowledged\"; expected firing or resolved");
}

/* The format field says which decoder took the message; the first claim wins. */
static void test_format_detection(void **state) {
    (void)state;
    static const struct {
        const char *doc, *format;
    } cases[] = {
        {"{\"source\":\"s\",\"summary\":\"t\"}", "generic"},
        /* an "alerts" array alone is not Alertmanager's */
        {"{\"source\":\"s\",\"summary\":\"t\",\"alerts\":[]}", "generic"},
        {"{\"version\":\"4\",\"alerts\":[{\"status\":\"firing\"}]}", "alertmanager"},
        {"{\"groupKey\":\"g\",\"alerts\":[{\"status\":\"firing\"}],\"source\":\"x\",\"summary\":"
         "\"y\"}",
         "alertmanager"},
        {"{\"routing_key\":\"k\",\"event_action\":\"resolve\",\"dedup_key\":\"d\"}", "pagerduty"},
        {"{\"routing_key\":\"k\",\"event_action\":\"resolve\",\"dedup_key\":\"d\",\"summary\":"
         "\"x\"}",
         "pagerduty"},
        /* a CloudEvent has "source", which generic would claim */
        {"{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"/c\",\"type\":\"t\","
         "\"data\":{\"summary\":\"s\"}}",
         "cloudevents"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        alert_batch b = decode_n(cases[i].doc, 1);
        if (strcmp(b.items[0].format, cases[i].format) != 0)
            fail_msg("%s decoded as %s, wanted %s", cases[i].doc, b.items[0].format,
                     cases[i].format);
        json_t *j = alert_to_json(&b.items[0]);
        assert_string_equal(json_string_value(json_object_get(j, "format")), cases[i].format);
        json_decref(j);
        alert_batch_free(&b);
    }
    /* claimed means decided: a claimed message that fails is not tried as another format */
    expect_error("{\"specversion\":\"2.0\",\"source\":\"s\",\"summary\":\"t\"}", "cloudevents: ");
    expect_error("{\"event_action\":\"page\",\"source\":\"s\",\"summary\":\"t\"}", "pagerduty: ");
    expect_error("{\"source\":7,\"summary\":\"t\"}", "generic: field \"source\" must be a string");
    expect_error("{\"alerts\":{},\"version\":\"4\"}", "pagerduty needs \"event_action\"");
}

static void test_summary_cut(void **state) {
    (void)state;
    /* 2000 bytes of two-byte characters, offset by one ASCII byte so the
     * limit falls inside a character */
    char doc[2200];
    size_t off = (size_t)sprintf(doc, "{\"source\":\"s\",\"summary\":\"x");
    for (int i = 0; i < 1000; i++) memcpy(doc + off + 2 * (size_t)i, "\xc3\xa9", 2);
    strcpy(doc + off + 2000, "\"}");
    alert_batch b = decode_n(doc, 1);
    const char *s = b.items[0].summary;
    assert_true(strlen(s) <= ALERT_MAX_SUMMARY);
    assert_true(strlen(s) >= ALERT_MAX_SUMMARY - 4);
    assert_string_equal(s + strlen(s) - 3, "\xe2\x80\xa6");
    /* still valid UTF-8: the record can be written */
    json_t *j = alert_to_json(&b.items[0]);
    assert_non_null(j);
    json_decref(j);
    alert_batch_free(&b);

    /* exactly the limit is kept whole */
    memset(doc, 0, sizeof(doc));
    off = (size_t)sprintf(doc, "{\"source\":\"s\",\"summary\":\"");
    memset(doc + off, 'a', ALERT_MAX_SUMMARY);
    strcpy(doc + off + ALERT_MAX_SUMMARY, "\"}");
    b = decode_n(doc, 1);
    assert_int_equal(strlen(b.items[0].summary), ALERT_MAX_SUMMARY);
    assert_int_equal(b.items[0].summary[ALERT_MAX_SUMMARY - 1], 'a');
    alert_batch_free(&b);
}

static void test_error_values_shown_safely(void **state) {
    (void)state;
    /* a hostile value is cut and its control characters hidden */
    char doc[512], big[201];
    memset(big, 'v', 200);
    big[200] = '\0';
    snprintf(doc, sizeof(doc), "{\"source\":\"x\",\"summary\":\"y\",\"status\":\"a\\nb%s\"}", big);
    expect_error(doc, "field \"status\" is \"a?bvvv");
    assert_non_null(strstr(err, "...\"; expected"));
    assert_null(strchr(err, '\n'));
}

/* The files docs/alerts.md shows must decode as it says. */
static void test_doc_examples(void **state) {
    (void)state;
    static const struct {
        const char *file, *format;
        size_t n;
    } files[] = {
        {"docs/examples/alerts-more/alertmanager.json", "alertmanager", 2},
        {"docs/examples/alerts-more/pagerduty-trigger.json", "pagerduty", 1},
        {"docs/examples/alerts-more/cloudevent.json", "cloudevents", 1},
        {"docs/examples/alerts/checkout-down.json", "generic", 1},
    };
    const char *dir = getenv("MUSTER_SOURCE_DIR");
    if (!dir) skip();
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char path[1024], buf[16384];
        snprintf(path, sizeof(path), "%s/%s", dir, files[i].file);
        FILE *fp = fopen(path, "rb");
        if (!fp) fail_msg("cannot open %s", path);
        size_t len = fread(buf, 1, sizeof(buf) - 1, fp);
        fclose(fp);
        buf[len] = '\0';
        alert_batch b = decode_n(buf, files[i].n);
        assert_string_equal(b.items[0].format, files[i].format);
        alert_batch_free(&b);
    }
}

/* The Kafka key keeps an alert's messages on one partition: an Alertmanager
 * group's key for its notifications, else the alert's fingerprint. */
static void test_batch_key(void **state) {
    (void)state;
    const char *am = "{\"version\":\"4\",\"groupKey\":\"{}:{alertname=\\\"X\\\"}\","
                     "\"status\":\"firing\",\"alerts\":[{\"status\":\"firing\","
                     "\"labels\":{\"alertname\":\"X\",\"i\":\"1\"}},{\"status\":\"firing\","
                     "\"labels\":{\"alertname\":\"X\",\"i\":\"2\"}}]}";
    alert_batch b;
    assert_int_equal(alert_decode(am, strlen(am), &b, err, sizeof(err)), 0);
    assert_int_equal(b.n, 2);
    assert_string_equal(alert_batch_key(&b), "{}:{alertname=\"X\"}");
    alert_batch_free(&b);
    b = decode_ok("{\"source\":\"cron\",\"summary\":\"backup failed\",\"labels\":{\"job\":\"b\"}}");
    assert_string_equal(alert_batch_key(&b), b.items[0].fingerprint);
    alert_batch resolved = decode_ok("{\"source\":\"cron\",\"summary\":\"backup failed\","
                                     "\"status\":\"resolved\",\"labels\":{\"job\":\"b\"}}");
    assert_string_equal(alert_batch_key(&resolved), alert_batch_key(&b));
    alert_batch_free(&resolved);
    alert_batch_free(&b);
    alert_batch none = {0};
    assert_null(alert_batch_key(&none));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_key),
        cmocka_unit_test(test_all_fields),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_missing_fields),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_labels_not_strings),
        cmocka_unit_test(test_invalid_json),
        cmocka_unit_test(test_not_object),
        cmocka_unit_test(test_oversize),
        cmocka_unit_test(test_fingerprint_stable),
        cmocka_unit_test(test_fingerprint_given),
        cmocka_unit_test(test_to_json),
        cmocka_unit_test(test_match_fields),
        cmocka_unit_test(test_am_group),
        cmocka_unit_test(test_am_summary_fallbacks),
        cmocka_unit_test(test_am_resolved_group),
        cmocka_unit_test(test_am_truncated),
        cmocka_unit_test(test_am_grafana),
        cmocka_unit_test(test_am_errors),
        cmocka_unit_test(test_am_limits),
        cmocka_unit_test(test_pd_trigger),
        cmocka_unit_test(test_pd_ack_resolve),
        cmocka_unit_test(test_pd_errors),
        cmocka_unit_test(test_pd_fingerprint_without_dedup_key),
        cmocka_unit_test(test_pd_custom_details),
        cmocka_unit_test(test_ce_generic_data),
        cmocka_unit_test(test_ce_errors),
        cmocka_unit_test(test_format_detection),
        cmocka_unit_test(test_summary_cut),
        cmocka_unit_test(test_error_values_shown_safely),
        cmocka_unit_test(test_doc_examples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
