/* test_util.c - unit tests for durations, ids, timestamps and file reading */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/harness/tmpdir.h"
#include "common/strbuf.h"
#include "common/util.h"

static char dir[64];

static int setup(void **state) {
    (void)state;
    return tmpdir_make(dir, sizeof(dir), "util");
}

static int teardown(void **state) {
    (void)state;
    return tmpdir_remove(dir);
}

/* Writes len bytes to dir/name and returns the path (static buffer). */
static const char *write_file(const char *name, const char *data, size_t len) {
    static char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return path;
}

static void expect_duration(const char *text, int64_t want) {
    int64_t ms = -42;
    if (duration_parse(text, &ms) != 0) fail_msg("\"%s\" did not parse", text);
    if (ms != want) fail_msg("\"%s\" gave %lld, wanted %lld", text, (long long)ms, (long long)want);
}

static void expect_bad_duration(const char *text) {
    int64_t ms = -42;
    if (duration_parse(text, &ms) == 0) fail_msg("\"%s\" parsed as %lld", text, (long long)ms);
    assert_int_equal(ms, -42); /* untouched on failure */
}

static void test_duration_units(void **state) {
    (void)state;
    expect_duration("250ms", 250);
    expect_duration("0ms", 0);
    expect_duration("10s", 10000);
    expect_duration("1.5s", 1500);
    expect_duration("5m", 300000);
    expect_duration("1h", 3600000);
    expect_duration("24h", 86400000);
    expect_duration("1d", 86400000);
    expect_duration("30d", 30 * 86400000LL);
    expect_duration("1.5d", 129600000);
    expect_duration("2w", 14 * 86400000LL);
    expect_duration("750", 750);
    expect_duration("0", 0);
}

static void test_duration_garbage(void **state) {
    (void)state;
    expect_bad_duration("");
    expect_bad_duration("s");
    expect_bad_duration("ms");
    expect_bad_duration("10x");
    expect_bad_duration("10 s");
    expect_bad_duration("10sec");
    expect_bad_duration("10S");
    expect_bad_duration("1D");
    expect_bad_duration("1dw");
    expect_bad_duration("1y");
    expect_bad_duration("99999999999w");
    expect_bad_duration("ten seconds");
    expect_bad_duration("10s ");
    expect_bad_duration("1e400");
    expect_bad_duration("99999999999999h");
}

static void test_duration_negative(void **state) {
    (void)state;
    expect_bad_duration("-1");
    expect_bad_duration("-5s");
    expect_bad_duration("-0.5m");
}

/* Regression: strtod() also reads "nan", "inf", hex and blanks; "nan" went on
 * to an undefined double -> int64 conversion. Only decimal digits count. */
static void test_duration_not_decimal(void **state) {
    (void)state;
    expect_bad_duration("nan");
    expect_bad_duration("nanms");
    expect_bad_duration("-nan");
    expect_bad_duration("inf");
    expect_bad_duration("infinity");
    expect_bad_duration("0x10");
    expect_bad_duration("0x1p4s");
    expect_bad_duration(" 5s");
    expect_bad_duration("+5s");
    expect_bad_duration("1e3");
    expect_bad_duration(".");
}

static bool all_hex(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i])) return false;
    return true;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp((const char *)a, (const char *)b);
}

static void test_id_format(void **state) {
    (void)state;
    char id[64];
    id_new("inc-", id, sizeof(id));
    assert_int_equal(strlen(id), strlen("inc-") + 24);
    assert_memory_equal(id, "inc-", 4);
    assert_true(all_hex(id + 4, 24));

    /* The first 12 digits are the wall clock in milliseconds. */
    int64_t before = now_ms();
    id_new("", id, sizeof(id));
    int64_t after = now_ms();
    assert_int_equal(strlen(id), 24);
    char head[13];
    memcpy(head, id, 12);
    head[12] = '\0';
    long long t = strtoll(head, NULL, 16);
    assert_true(t >= (before & 0xffffffffffffLL) && t <= (after & 0xffffffffffffLL));
}

static void test_id_unique_and_ordered(void **state) {
    (void)state;
    enum { N = 2000 };
    static char ids[N][40];
    for (int i = 0; i < N; i++) id_new("evt-", ids[i], sizeof(ids[i]));
    qsort(ids, N, sizeof(ids[0]), cmp_str);
    for (int i = 1; i < N; i++)
        if (strcmp(ids[i - 1], ids[i]) == 0) fail_msg("id %s generated twice", ids[i]);

    /* Ids made in a later millisecond sort after earlier ones. */
    char a[40], b[40];
    id_new("x", a, sizeof(a));
    int64_t t0 = now_ms();
    while (now_ms() <= t0 + 1) {}
    id_new("x", b, sizeof(b));
    assert_true(strcmp(a, b) < 0);
}

static void test_id_truncates_to_buffer(void **state) {
    (void)state;
    char small[8];
    memset(small, 'z', sizeof(small));
    id_new("inc-", small, sizeof(small));
    assert_int_equal(strlen(small), sizeof(small) - 1);
    assert_memory_equal(small, "inc-", 4);
}

static void test_rfc3339(void **state) {
    (void)state;
    char buf[40];
    format_rfc3339(0, buf, sizeof(buf));
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
    format_rfc3339(1700000000123LL, buf, sizeof(buf));
    assert_string_equal(buf, "2023-11-14T22:13:20.123Z");
    format_rfc3339(951782400007LL, buf, sizeof(buf)); /* leap day 2000 */
    assert_string_equal(buf, "2000-02-29T00:00:00.007Z");
}

/* Regression: times before 1970 printed a negative millisecond field
 * ("00:00:00.-01Z") and a second too late. */
static void test_rfc3339_before_epoch(void **state) {
    (void)state;
    char buf[40];
    format_rfc3339(-1, buf, sizeof(buf));
    assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
    format_rfc3339(-1500, buf, sizeof(buf));
    assert_string_equal(buf, "1969-12-31T23:59:58.500Z");
}

/* Regression: a buffer too small for the date, or a time gmtime() cannot
 * represent, left buf unterminated (cli/inspect.c formats Redis data). */
static void test_rfc3339_bounds(void **state) {
    (void)state;
    char buf[40];
    memset(buf, 'z', sizeof(buf));
    format_rfc3339(0, buf, 10);
    assert_true(strlen(buf) < 10);

    memset(buf, 'z', sizeof(buf));
    format_rfc3339(INT64_MAX, buf, sizeof(buf));
    assert_true(strlen(buf) < sizeof(buf));

    memset(buf, 'z', sizeof(buf));
    format_rfc3339(INT64_MIN, buf, sizeof(buf));
    assert_true(strlen(buf) < sizeof(buf));

    /* Room for the date but not the milliseconds: truncated, terminated. */
    format_rfc3339(0, buf, 22);
    assert_string_equal(buf, "1970-01-01T00:00:00.0");
}

static void test_file_read(void **state) {
    (void)state;
    char err[256] = "";
    size_t len = 0;
    const char *path = write_file("hello.txt", "hello\0world", 11);
    char *buf = file_read(path, 1024, &len, err, sizeof(err));
    assert_non_null(buf);
    assert_int_equal(len, 11);
    assert_memory_equal(buf, "hello\0world", 11);
    assert_int_equal(buf[11], '\0');
    free(buf);

    /* len may be NULL */
    buf = file_read(path, 1024, NULL, err, sizeof(err));
    assert_non_null(buf);
    free(buf);

    path = write_file("empty.txt", "", 0);
    buf = file_read(path, 0, &len, err, sizeof(err));
    assert_non_null(buf);
    assert_int_equal(len, 0);
    assert_string_equal(buf, "");
    free(buf);
}

static void test_file_read_cap(void **state) {
    (void)state;
    enum { BIG = 100000 };
    char err[256] = "", *data = malloc(BIG);
    size_t len = 0;
    assert_non_null(data);
    for (size_t i = 0; i < BIG; i++) data[i] = (char)('a' + i % 26);
    const char *path = write_file("big.txt", data, BIG);

    char *buf = file_read(path, BIG, &len, err, sizeof(err));
    assert_non_null(buf);
    assert_int_equal(len, BIG);
    assert_memory_equal(buf, data, BIG);
    free(buf);

    buf = file_read(path, BIG - 1, &len, err, sizeof(err));
    assert_null(buf);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "larger than 99999 bytes"));

    buf = file_read(path, 10, &len, err, sizeof(err));
    assert_null(buf);
    assert_non_null(strstr(err, "larger than 10 bytes"));
    free(data);
}

static void test_file_read_missing(void **state) {
    (void)state;
    char err[256] = "", path[256];
    snprintf(path, sizeof(path), "%s/absent.txt", dir);
    assert_null(file_read(path, 1024, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "No such file"));

    /* a directory opens but cannot be read */
    assert_null(file_read(dir, 1024, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, dir));
}

static void test_clocks(void **state) {
    (void)state;
    int64_t a = mono_ms(), b = mono_ms();
    assert_true(b >= a);
    /* after 2020-01-01 and before 2100-01-01 */
    assert_true(now_ms() > 1577836800000LL && now_ms() < 4102444800000LL);
}

/* A buffer fed from outside stops at its max and says so. */
static void test_strbuf_cap(void **state) {
    (void)state;
    strbuf b = {.max = 10};
    strbuf_str(&b, "0123456789");
    assert_false(b.failed);
    assert_int_equal(b.len, 10);
    strbuf_add(&b, "x", 1);
    assert_true(b.failed);
    assert_true(b.toobig);
    assert_string_equal(b.s, "0123456789");
    strbuf_printf(&b, "%d", 1); /* a no-op once failed */
    assert_int_equal(b.len, 10);
    strbuf_free(&b);
    assert_int_equal(b.max, 10);
    strbuf_printf(&b, "%s", "01234567890");
    assert_true(b.toobig);
    strbuf_free(&b);
    /* Without a max, the default bounds it. */
    strbuf d = {0};
    d.len = STRBUF_MAX_DEFAULT; /* as if full: nothing is written */
    strbuf_add(&d, "x", 1);
    assert_true(d.toobig);
    assert_null(d.s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strbuf_cap),
        cmocka_unit_test(test_duration_units),
        cmocka_unit_test(test_duration_garbage),
        cmocka_unit_test(test_duration_negative),
        cmocka_unit_test(test_duration_not_decimal),
        cmocka_unit_test(test_id_format),
        cmocka_unit_test(test_id_unique_and_ordered),
        cmocka_unit_test(test_id_truncates_to_buffer),
        cmocka_unit_test(test_rfc3339),
        cmocka_unit_test(test_rfc3339_before_epoch),
        cmocka_unit_test(test_rfc3339_bounds),
        cmocka_unit_test(test_file_read),
        cmocka_unit_test(test_file_read_cap),
        cmocka_unit_test(test_file_read_missing),
        cmocka_unit_test(test_clocks),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
