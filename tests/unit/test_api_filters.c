/* test_api_filters.c - the query of GET /api/v1/incidents: filters, paging, times */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "api/filters.h"

#define NOW 1800000000000LL

/* Parameters as "key=value" strings, NULL-terminated. */
static const char *get(void *arg, const char *key) {
    const char *const *kv = arg;
    size_t n = strlen(key);
    for (; *kv; kv++)
        if (!strncmp(*kv, key, n) && (*kv)[n] == '=') return *kv + n + 1;
    return NULL;
}

static int parse(incident_filter *f, char *err, const char *const *kv) {
    return filter_parse(f, get, (void *)kv, NOW, err, 512);
}

static void test_defaults_and_values(void **state) {
    (void)state;
    incident_filter f;
    char err[512];
    const char *none[] = {NULL};
    assert_int_equal(parse(&f, err, none), 0);
    assert_int_equal(f.limit, FILTER_LIMIT_DEFAULT);
    assert_int_equal(f.state, STATE_ANY);
    assert_int_equal(f.since_ms, 0);
    const char *all[] = {"state=acknowledged", "workflow=db", "severity=critical", "service=pay",
                         "q=Disk", "since=30d", "until=2027-01-15T08:00:00Z", "limit=7",
                         "cursor=1799999999999.inc-0abc", NULL};
    assert_int_equal(parse(&f, err, all), 0);
    assert_int_equal(f.state, STATE_ACKNOWLEDGED);
    assert_string_equal(f.workflow, "db");
    assert_string_equal(f.service, "pay");
    assert_int_equal(f.since_ms, NOW - 30LL * 86400000);
    assert_int_equal(f.until_ms, 1800000000000LL); /* 2027-01-15T08:00:00Z */
    assert_int_equal(f.limit, 7);
    assert_true(f.has_cursor);
    assert_int_equal(f.cursor_ms, 1799999999999LL);
    assert_string_equal(f.cursor_id, "inc-0abc");
}

static void refused(const char *kv, const char *want) {
    incident_filter f;
    char err[512] = "";
    const char *list[] = {kv, NULL};
    assert_int_equal(parse(&f, err, list), -1);
    if (!strstr(err, want)) fail_msg("%s: got \"%s\", want \"%s\"", kv, err, want);
}

static void test_refusals_name_the_field(void **state) {
    (void)state;
    refused("state=sleepy", "state: \"sleepy\" is not open, unacknowledged");
    refused("since=yesterday", "since: \"yesterday\" is not a duration");
    refused("until=-5h", "until:");
    refused("since=99999999d", "since:");
    refused("limit=0", "limit: \"0\" is not 1 to 200");
    refused("limit=201", "limit:");
    refused("limit=1e3", "limit:");
    refused("cursor=abc", "cursor: \"abc\" is not a cursor");
    refused("cursor=12.inc/../x", "cursor:");
    refused("q=a\x01", "q: a control character at byte 2");
    char big[300];
    memset(big, 'x', sizeof(big));
    memcpy(big, "workflow=", 9);
    big[sizeof(big) - 1] = '\0';
    refused(big, "workflow: longer than 127 bytes");
    const char *both[] = {"since=1h", "until=2h", NULL};
    incident_filter f;
    char err[512];
    assert_int_equal(parse(&f, err, both), -1);
    assert_non_null(strstr(err, "not before until"));
}

static void test_times(void **state) {
    (void)state;
    int64_t ms;
    assert_int_equal(filter_time("15m", NOW, &ms), 0);
    assert_int_equal(ms, NOW - 900000);
    assert_int_equal(filter_time("2w", NOW, &ms), 0);
    assert_int_equal(ms, NOW - 14LL * 86400000);
    assert_int_equal(filter_time("1700000000000", NOW, &ms), 0);
    assert_int_equal(ms, 1700000000000LL);
    assert_int_equal(filter_time("2026-11-24T20:20:59.448Z", NOW, &ms), 0);
    assert_int_equal(filter_time("", NOW, &ms), -1);
    assert_int_equal(filter_time("d", NOW, &ms), -1);
    assert_int_equal(filter_time("5x", NOW, &ms), -1);
}

static void test_match(void **state) {
    (void)state;
    incident_filter f;
    char err[512];
    json_t *open = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:n}", "id", "inc-1", "status", "open",
                             "workflow", "db", "severity", "critical", "service", "pay", "summary",
                             "Disk full on db-1", "acknowledged_by");
    json_t *acked = json_pack("{s:s, s:s, s:s, s:s}", "id", "inc-2", "status", "open", "workflow",
                              "web", "acknowledged_by", "dana");
    json_t *done = json_pack("{s:s, s:s}", "id", "inc-3", "status", "resolved");
    const char *q1[] = {"state=unacknowledged", NULL};
    assert_int_equal(parse(&f, err, q1), 0);
    assert_true(filter_match(&f, open));
    assert_false(filter_match(&f, acked));
    assert_false(filter_match(&f, done));
    const char *q2[] = {"state=open", NULL};
    assert_int_equal(parse(&f, err, q2), 0);
    assert_true(filter_match(&f, acked));
    assert_false(filter_match(&f, done));
    const char *q3[] = {"q=DISK", "service=pay", NULL};
    assert_int_equal(parse(&f, err, q3), 0);
    assert_true(filter_match(&f, open));
    assert_false(filter_match(&f, acked));
    const char *q4[] = {"state=resolved", NULL};
    assert_int_equal(parse(&f, err, q4), 0);
    assert_true(filter_match(&f, done));
    char cur[128];
    filter_cursor(1799999999999LL, "inc-9", cur, sizeof(cur));
    const char *q5[] = {"cursor=", NULL};
    char kv[160];
    snprintf(kv, sizeof(kv), "cursor=%s", cur);
    q5[0] = kv;
    assert_int_equal(parse(&f, err, q5), 0);
    assert_int_equal(f.cursor_ms, 1799999999999LL);
    assert_string_equal(f.cursor_id, "inc-9");
    json_decref(open);
    json_decref(acked);
    json_decref(done);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_values),
        cmocka_unit_test(test_refusals_name_the_field),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
