/* test_tokens.c - bearer tokens and the names they stand for */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/tokens.h"
#include "tests/harness/tmpdir.h"

static void test_parse_names_and_secrets(void **state) {
    (void)state;
    tokens t = {0};
    char err[256];
    assert_int_equal(tokens_parse(&t, " dana:ack-1 ,\n# a comment, with a comma\n"
                                      "slack-bot@ops:a:b/c=\r\n\n", "x", err, sizeof(err)), 0);
    assert_int_equal(t.n, 2);
    assert_string_equal(t.v[0].name, "dana");
    assert_string_equal(t.v[0].secret, "ack-1");
    assert_string_equal(t.v[1].name, "slack-bot@ops");
    assert_string_equal(t.v[1].secret, "a:b/c=");
    assert_int_equal(t.v[1].len, 6);
    tokens_free(&t);
    assert_int_equal(t.n, 0);
    assert_int_equal(tokens_parse(&t, "", "x", err, sizeof(err)), 0);
    assert_int_equal(t.n, 0);
}

/* Each refusal names the source and the entry, never the secret. */
static void refused(const char *text, const char *want) {
    tokens t = {0};
    char err[256] = "";
    assert_int_equal(tokens_parse(&t, text, "intake.ack_tokens", err, sizeof(err)), -1);
    if (!strstr(err, want)) fail_msg("\"%s\": got \"%s\", want \"%s\"", text, err, want);
    assert_null(strstr(err, "s3cr"));
    tokens_free(&t);
}

static void test_parse_refusals(void **state) {
    (void)state;
    refused("dana", "intake.ack_tokens: entry 1: \"dana\" has no token");
    refused("dana:", "entry 1: \"dana\" has no token");
    refused("a:1,:s3cret", "entry 2: the name \"\" is not");
    refused("da na:s3cret", "the name \"da na\" is not");
    refused("dana:s3cr\x01t", "holds a space, control or non-ASCII character (at byte 5)");
    refused("dana:s3cr\xc3\xa9", "(at byte 5)");
    refused("dana:s3cret1,dana:s3cret2", "entry 2: the name \"dana\" is there twice");
    refused("dana:s3cret,eve:s3cret", "entry 2: \"eve\" has the token of \"dana\"");
    char many[TOKENS_MAX * 16 + 64];
    size_t n = 0;
    for (int i = 0; i <= TOKENS_MAX; i++)
        n += (size_t)snprintf(many + n, sizeof(many) - n, "n%d:t%d,", i, i);
    refused(many, "more than 256 tokens");
}

static void test_match_gives_the_name(void **state) {
    (void)state;
    tokens t = {0};
    char err[256];
    assert_int_equal(tokens_parse(&t, "dana:ack-dana,eve:ack-eve,bot:ack-bot", "x", err,
                                  sizeof(err)), 0);
    const token *k = tokens_match(&t, "ack-eve", 7);
    assert_non_null(k);
    assert_string_equal(k->name, "eve");
    assert_string_equal(tokens_match(&t, "ack-bot", 7)->name, "bot");
    assert_string_equal(tokens_match(&t, "ack-dana", 8)->name, "dana");
    assert_null(tokens_match(&t, "ack-dan", 7));       /* a prefix */
    assert_null(tokens_match(&t, "ack-danaa", 9));     /* longer */
    assert_null(tokens_match(&t, "ack-dana\0", 9));    /* a NUL past the end */
    assert_null(tokens_match(&t, "", 0));
    tokens_free(&t);
    tokens none = {0};
    assert_null(tokens_match(&none, "ack-dana", 8));
}

static void test_load_value_or_file(void **state) {
    (void)state;
    char dir[128], path[192], err[512];
    tokens t = {0};
    assert_int_equal(tmpdir_make(dir, sizeof(dir), "tokens"), 0);
    snprintf(path, sizeof(path), "%s/acks", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("# name:token, one a line\nsam:ack-from-file\n", f);
    fclose(f);
    assert_int_equal(tokens_load(&t, "k", "", "k_file", path, err, sizeof(err)), 0);
    assert_int_equal(t.n, 1);
    assert_string_equal(t.v[0].name, "sam");
    tokens_free(&t);
    assert_int_equal(tokens_load(&t, "k", "a:b", "k_file", path, err, sizeof(err)), -1);
    assert_string_equal(err, "set k or k_file, not both");
    assert_int_equal(tokens_load(&t, "k", "", "k_file", "", err, sizeof(err)), 0);
    assert_int_equal(t.n, 0);
    snprintf(path, sizeof(path), "%s/missing", dir);
    assert_int_equal(tokens_load(&t, "k", "", "k_file", path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "k_file: "));
    assert_int_equal(tmpdir_remove(dir), 0);
}

static int64_t best_ns(const char *got, const char *want, size_t len) {
    int64_t best = INT64_MAX;
    for (int round = 0; round < 15; round++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        int eq = tokens_equal(got, len, want, len);
        clock_gettime(CLOCK_MONOTONIC, &b);
        assert_false(eq);
        int64_t ns = (int64_t)(b.tv_sec - a.tv_sec) * 1000000000 + (b.tv_nsec - a.tv_nsec);
        if (ns < best) best = ns;
    }
    return best;
}

/* A comparison that stops at the first difference answers a token wrong in
 * its first byte a thousand times sooner than one wrong in its last, on a
 * secret this long; this one takes as long for both. The best of 15 runs
 * each keeps a busy machine from deciding. */
static void test_equal_takes_as_long_wherever_the_difference(void **state) {
    (void)state;
    size_t len = 1 << 20;
    char *want = malloc(len), *first = malloc(len), *last = malloc(len);
    assert_non_null(want);
    assert_non_null(first);
    assert_non_null(last);
    memset(want, 'a', len);
    memcpy(first, want, len);
    memcpy(last, want, len);
    first[0] = 'b';
    last[len - 1] = 'b';
    assert_true(tokens_equal(want, len, want, len));
    int64_t tf = best_ns(first, want, len), tl = best_ns(last, want, len);
    print_message("wrong first byte: %lld ns, wrong last byte: %lld ns\n", (long long)tf,
                  (long long)tl);
    assert_true(tf * 3 >= tl);
    assert_true(tl * 3 >= tf);
    /* A shorter token is not answered sooner either. */
    assert_false(tokens_equal(want, 1, want, len));
    free(want);
    free(first);
    free(last);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_names_and_secrets),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_match_gives_the_name),
        cmocka_unit_test(test_load_value_or_file),
        cmocka_unit_test(test_equal_takes_as_long_wherever_the_difference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
