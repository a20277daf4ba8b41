/* test_condition.c - if: conditions over the run's context */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "common/condition.h"

static json_t *ctx(void) {
    return json_loads("{\"alert\":{\"severity\":\"critical\",\"labels\":{\"env\":\"prod\"}},"
                      "\"steps\":{\"diag\":{\"status\":\"succeeded\",\"output\":{\"exit_code\":3}}}}",
                      0, NULL);
}

static bool eval(const char *text) {
    condition *c;
    char err[256];
    json_t *x = ctx();
    assert_int_equal(condition_parse(text, &c, err, sizeof(err)), 0);
    bool r = condition_eval(c, x);
    condition_free(c);
    json_decref(x);
    return r;
}

static void test_ops(void **state) {
    (void)state;
    assert_true(eval("alert.labels.env=\"prod\""));
    assert_false(eval("alert.labels.env != \"prod\""));
    assert_true(eval("alert.severity =~ \"crit.*\""));
    assert_false(eval("alert.severity =~ \"crit\"")); /* anchored */
    assert_true(eval("steps.diag.output.exit_code != \"0\""));
    assert_true(eval("steps.diag.output.exit_code = \"3\""));
    assert_true(eval("steps.diag.status = succeeded"));
    assert_true(eval("steps.nothing.status = \"\""));
    assert_true(eval("alert.labels.team !~ \".+\""));
}

static void test_errors(void **state) {
    (void)state;
    condition *c;
    char err[256];
    assert_int_equal(condition_parse("= \"x\"", &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "path"));
    assert_int_equal(condition_parse("a..b=\"x\"", &c, err, sizeof(err)), -1);
    assert_int_equal(condition_parse(".a=\"x\"", &c, err, sizeof(err)), -1);
    assert_int_equal(condition_parse("alert.severity", &c, err, sizeof(err)), -1);
    assert_int_equal(condition_parse("alert.severity =~ \"(\"", &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "alert.severity"));
    assert_int_equal(condition_parse("alert.labels.env=\"prod\"", &c, err, sizeof(err)), 0);
    assert_string_equal(condition_path(c), "alert.labels.env");
    condition_free(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ops),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
