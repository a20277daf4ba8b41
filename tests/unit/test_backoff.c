/* test_backoff.c - retry delays and Retry-After */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/backoff.h"

static void test_exponential_and_capped(void **state) {
    (void)state;
    retry_policy p = {5, 1000, 5000, 2.0, 0.0};
    assert_int_equal(backoff_delay(&p, 1, 0, 0.5), 1000);
    assert_int_equal(backoff_delay(&p, 2, 0, 0.5), 2000);
    assert_int_equal(backoff_delay(&p, 3, 0, 0.5), 4000);
    assert_int_equal(backoff_delay(&p, 4, 0, 0.5), 5000);
    assert_int_equal(backoff_delay(&p, 40, 0, 0.5), 5000);
}

static void test_jitter_spreads(void **state) {
    (void)state;
    retry_policy p = {3, 1000, 60000, 2.0, 0.5};
    assert_int_equal(backoff_delay(&p, 1, 0, 0.0), 1000);
    assert_int_equal(backoff_delay(&p, 1, 0, 0.5), 1250);
    assert_true(backoff_delay(&p, 1, 0, 0.999) < 1500);
    assert_true(backoff_delay(&p, 1, 0, 0.999) >= 1499);
}

static void test_retry_after_wins_when_longer(void **state) {
    (void)state;
    retry_policy p = {3, 1000, 60000, 2.0, 0.0};
    assert_int_equal(backoff_delay(&p, 1, 2000, 0), 2000);
    assert_int_equal(backoff_delay(&p, 1, 500, 0), 1000);
    assert_int_equal(backoff_delay(&p, 1, 10 * RETRY_AFTER_MAX_MS, 0), RETRY_AFTER_MAX_MS);
}

static void test_retry_after_parse(void **state) {
    (void)state;
    assert_int_equal(retry_after_parse("2", 0), 2000);
    assert_int_equal(retry_after_parse(" 120 ", 0), 120000);
    assert_int_equal(retry_after_parse("-1", 0), -1);
    assert_int_equal(retry_after_parse("soon", 0), -1);
    assert_int_equal(retry_after_parse("", 0), -1);
    /* 1994-11-06 08:49:37 UTC is 784111777 s. */
    assert_int_equal(retry_after_parse("Sun, 06 Nov 1994 08:49:37 GMT", 784111777000LL - 3000), 3000);
    assert_int_equal(retry_after_parse("Sun, 06 Nov 1994 08:49:37 GMT", 784111777000LL + 5000), 0);
}

static void test_policy_json(void **state) {
    (void)state;
    json_t *o = json_pack("{s:i, s:f}", "max_attempts", 7, "jitter", 0.0);
    retry_policy p = retry_policy_from_json(o, retry_policy_default());
    assert_int_equal(p.max_attempts, 7);
    assert_int_equal(p.initial_ms, 1000);
    assert_true(p.jitter == 0.0);
    json_t *back = retry_policy_to_json(&p);
    assert_int_equal(json_integer_value(json_object_get(back, "max_attempts")), 7);
    json_decref(o);
    json_decref(back);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exponential_and_capped),
        cmocka_unit_test(test_jitter_spreads),
        cmocka_unit_test(test_retry_after_wins_when_longer),
        cmocka_unit_test(test_retry_after_parse),
        cmocka_unit_test(test_policy_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
