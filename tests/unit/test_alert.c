/* test_alert.c - unit tests for decoding alerts into the one alert model */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

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

int main(void) {
    const struct CMUnitTest tests[] = {
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
