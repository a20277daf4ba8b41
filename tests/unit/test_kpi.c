/* test_kpi.c - the four yardsticks from the aggregates, summed or by label */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/config.h"
#include "common/store.h"
#include "metrics/kpi.h"
#include "tests/harness/redis_fixture.h"

static redis_fixture fx;
static config cfg;
static store *s;

static int setup(void **state) {
    (void)state;
    char err[256];
    if (redis_fixture_start_config(&fx, &cfg) < 0) return -1;
    return (s = store_open(&cfg, err, sizeof(err))) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    store_close(s);
    redis_fixture_stop(&fx);
    config_free(&cfg);
    return 0;
}

static void hset(const char *field, long long v) {
    redisReply *r = store_command(s, "HSET muster:agg %s %lld", field, v);
    assert_non_null(r);
    freeReplyObject(r);
}

static double num(const json_t *row, const char *k) {
    const json_t *v = json_object_get(row, k);
    if (!json_is_number(v)) fail_msg("%s is not a number", k);
    return json_number_value(v);
}

static void test_totals_and_by_workflow(void **state) {
    (void)state;
    char err[256];
    json_t *out;
    /* db: 3 incidents, 2 acknowledged after 20 s and 40 s (both in the
     * 10-30 s and 30-60 s buckets), one resolved after 5 min; web: 1. */
    hset("opened\tdb\tcritical\tpay", 3);
    hset("opened\tweb\twarning\tshop", 1);
    hset("automated\tdb\tcritical\tpay", 9);
    hset("manual\tdb\tcritical\tpay", 1);
    hset("automated\tweb\twarning\tshop", 2);
    hset("mtta\tdb\tcritical\tpay\tb1", 1);
    hset("mtta\tdb\tcritical\tpay\tb2", 1);
    hset("mtta\tdb\tcritical\tpay\tsum", 60000);
    hset("mtta\tdb\tcritical\tpay\tcount", 2);
    hset("mttr\tdb\tcritical\tpay\tb4", 1);
    hset("mttr\tdb\tcritical\tpay\tsum", 300000);
    hset("mttr\tdb\tcritical\tpay\tcount", 1);
    hset("duration\twebhook\tsucceeded\tb1", 7); /* not an incident family: left out */

    assert_int_equal(kpi_report(s, 0, NULL, &out, err, sizeof(err)), 0);
    json_t *rows = json_object_get(out, "rows");
    assert_int_equal(json_array_size(rows), 1);
    json_t *all = json_array_get(rows, 0);
    assert_string_equal(json_string_value(json_object_get(all, "key")), "all");
    assert_int_equal(json_integer_value(json_object_get(all, "incidents")), 4);
    assert_int_equal(json_integer_value(json_object_get(all, "automated")), 11);
    assert_true(fabs(num(all, "mtta_mean_s") - 30.0) < 1e-9);
    /* median rank 1 of 2: the top of bucket 1 (10 s .. 30 s) */
    assert_true(fabs(num(all, "mtta_p50_s") - 30.0) < 1e-9);
    assert_true(fabs(num(all, "mttr_mean_s") - 300.0) < 1e-9);
    /* one observation in bucket 4 (120 s .. 300 s): the middle of it */
    assert_true(fabs(num(all, "mttr_p50_s") - 210.0) < 1e-9);
    assert_true(fabs(num(all, "automated_per_incident") - 2.75) < 1e-9);
    assert_true(fabs(num(all, "manual_per_incident") - 0.25) < 1e-9);
    assert_true(json_is_null(json_object_get(out, "since")));
    assert_true(json_is_null(json_object_get(out, "previous")));
    json_decref(out);

    assert_int_equal(kpi_report(s, 0, "workflow", &out, err, sizeof(err)), 0);
    rows = json_object_get(out, "rows");
    assert_int_equal(json_array_size(rows), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(rows, 0), "key")), "db");
    json_t *web = json_array_get(rows, 1);
    assert_string_equal(json_string_value(json_object_get(web, "key")), "web");
    assert_true(json_is_null(json_object_get(web, "mtta_p50_s")));
    assert_true(fabs(num(web, "automated_per_incident") - 2.0) < 1e-9);
    assert_string_equal(json_string_value(json_object_get(out, "by")), "workflow");
    json_decref(out);

    assert_int_equal(kpi_report(s, 0, "service", &out, err, sizeof(err)), 0);
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(out, "rows"), 1), "key")), "shop");
    json_decref(out);

    assert_int_equal(kpi_report(s, 0, "week", &out, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "by: \"week\" is not available yet"));
    assert_int_equal(kpi_report(s, 0, "colour", &out, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "workflow, severity or service"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_totals_and_by_workflow),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
