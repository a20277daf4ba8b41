/* test_matcher.c - unit tests for Alertmanager-style label matchers */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/matcher.h"

static json_t *labels;
static char err[256];

static int setup(void **state) {
    (void)state;
    json_error_t jerr;
    labels = json_loads("{\"severity\":\"critical\",\"service\":\"db\","
                        "\"env\":\"prod\",\"path\":\"a.b\",\"paren\":\")\","
                        "\"quote\":\"say \\\"hi\\\"\",\"slash\":\"a\\\\b\","
                        "\"multi\":\"line1\\nline2\",\"count\":3,\"ratio\":0.1,"
                        "\"code\":500,\"up\":true,\"gone\":null,\"empty\":\"\","
                        "\"nul\":\"a\\u0000b\",\"obj\":{\"k\":1}}",
                        JSON_ALLOW_NUL, &jerr);
    return labels ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    json_decref(labels);
    return 0;
}

static matcher *parse_ok(const char *text) {
    matcher *m = NULL;
    err[0] = '\0';
    if (matcher_parse(text, &m, err, sizeof(err)) != 0)
        fail_msg("parse of %s failed: %s", text, err);
    assert_non_null(m);
    return m;
}

/* Parses text and checks whether it matches the shared label set. */
static void expect_match(const char *text, bool want) {
    matcher *m = parse_ok(text);
    if (matcher_match(m, labels) != want)
        fail_msg("%s should %smatch", text, want ? "" : "not ");
    matcher_free(m);
}

static void expect_error(const char *text, const char *needle) {
    matcher *m = (matcher *)&err; /* must be reset to NULL on failure */
    err[0] = '\0';
    if (matcher_parse(text, &m, err, sizeof(err)) == 0)
        fail_msg("%s parsed, wanted an error", text);
    assert_null(m);
    if (!strstr(err, needle))
        fail_msg("error for %s is \"%s\", wanted \"%s\"", text, err, needle);
}

static void test_parse_ops(void **state) {
    (void)state;
    static const struct {
        const char *text, *name, *value;
        match_op op;
    } cases[] = {
        {"severity=\"critical\"", "severity", "critical", MATCH_EQ},
        {"severity!=critical", "severity", "critical", MATCH_NE},
        {"service=~\"db|cache\"", "service", "db|cache", MATCH_RE},
        {"env!~dev.*", "env", "dev.*", MATCH_NRE},
        {"  _x9  =   \"v\"  ", "_x9", "v", MATCH_EQ},
        {"\tenv\t!=\t\"\"\t", "env", "", MATCH_NE},
        {"team=", "team", "", MATCH_EQ},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        matcher *m = parse_ok(cases[k].text);
        assert_string_equal(matcher_name(m), cases[k].name);
        assert_string_equal(matcher_value(m), cases[k].value);
        assert_int_equal(matcher_op(m), cases[k].op);
        matcher_free(m);
    }
}

static void test_match_each_op(void **state) {
    (void)state;
    expect_match("severity=\"critical\"", true);
    expect_match("severity=\"warning\"", false);
    expect_match("severity!=\"warning\"", true);
    expect_match("severity!=\"critical\"", false);
    expect_match("service=~\"db|cache\"", true);
    expect_match("service=~\"cache|queue\"", false);
    expect_match("env!~\"dev|staging\"", true);
    expect_match("env!~\"pr.*\"", false);
}

static void test_regex_anchored(void **state) {
    (void)state;
    expect_match("severity=~\"crit\"", false);
    expect_match("severity=~\"ritical\"", false);
    expect_match("severity=~\"crit.*\"", true);
    expect_match("severity!~\"crit\"", true);
    /* alternation stays inside the anchors */
    expect_match("severity=~\"crit|warn\"", false);
    expect_match("severity=~\"warn|critical\"", true);
    /* a stray ')' would otherwise close our group early and unanchor */
    expect_error("severity=~\"x)|(.*\"", "column 11: unbalanced ')' in regex");
    expect_error("severity=~\"x)|.*\"", "unbalanced ')'");
    expect_match("paren=~\"[)]\"", true); /* ')' in brackets is literal */
    expect_match("paren=~\"\\)\"", true); /* and so is an escaped one */
}

static void test_escapes(void **state) {
    (void)state;
    matcher *m = parse_ok("quote=\"say \\\"hi\\\"\"");
    assert_string_equal(matcher_value(m), "say \"hi\"");
    assert_true(matcher_match(m, labels));
    matcher_free(m);

    m = parse_ok("slash=\"a\\\\b\"");
    assert_string_equal(matcher_value(m), "a\\b");
    assert_true(matcher_match(m, labels));
    matcher_free(m);

    m = parse_ok("multi=\"line1\\nline2\"");
    assert_string_equal(matcher_value(m), "line1\nline2");
    assert_true(matcher_match(m, labels));
    matcher_free(m);

    /* other backslashes are kept, so regex escapes work as written */
    m = parse_ok("path=~\"a\\.b\"");
    assert_string_equal(matcher_value(m), "a\\.b");
    assert_true(matcher_match(m, labels));
    matcher_free(m);
    json_t *other = json_pack("{s:s}", "path", "axb");
    m = parse_ok("path=~\"a\\.b\"");
    assert_false(matcher_match(m, other));
    matcher_free(m);
    json_decref(other);

    /* a bare value is taken literally, backslashes included */
    m = parse_ok("x=a\\b");
    assert_string_equal(matcher_value(m), "a\\b");
    matcher_free(m);
}

static void test_absent_label(void **state) {
    (void)state;
    expect_match("team=\"\"", true);
    expect_match("team=", true);
    expect_match("team!=\"\"", false);
    expect_match("team=~\".*\"", true);
    expect_match("team=~\".+\"", false);
    expect_match("team=~\"\"", true);
    expect_match("team!~\".+\"", true);
    expect_match("team=\"x\"", false);
    expect_match("team!=\"x\"", true);
    expect_match("gone=\"\"", true); /* null counts as absent */
    expect_match("empty=\"\"", true);

    /* fields that are not an object hold no labels */
    matcher *m = parse_ok("team=\"\"");
    assert_true(matcher_match(m, NULL));
    json_t *arr = json_array();
    assert_true(matcher_match(m, arr));
    json_decref(arr);
    matcher_free(m);
}

static void test_non_string_values(void **state) {
    (void)state;
    expect_match("count=\"3\"", true);
    expect_match("count=3", true);
    expect_match("count=~\"[0-9]+\"", true);
    expect_match("ratio=\"0.1\"", true);
    expect_match("code=~\"5..\"", true);
    expect_match("code=~\"4..\"", false);
    expect_match("up=\"true\"", true);
    expect_match("up!=\"false\"", true);
    expect_match("obj=\"{\\\"k\\\":1}\"", true);
}

static void test_nul_in_value(void **state) {
    (void)state;
    /* "a\0b" is three bytes; neither = nor a regex may stop at the NUL */
    expect_match("nul=\"a\"", false);
    expect_match("nul=~\"a\"", false);
    expect_match("nul!~\"a\"", true);
}

static void test_invalid_regex(void **state) {
    (void)state;
    expect_error("x=~\"[[:nope:]]\"", "column 4: invalid regex \"[[:nope:]]\"");
    expect_error("x=~\"*a\"", "column 4: repetition operator with nothing");
    expect_error("x=~\"a{2,1}\"", "invalid regex");
    expect_error("x!~\"[a\"", "invalid regex");
    expect_error("x=~\"(a)\\1\"", "back-references are not supported");
    expect_error("x=~\"((a{100}){100}){100}\"", "regex too complex");
    expect_error("x=~\"((a{,100}){,100}){,100}\"", "can match \"\"");
    expect_error("x=~\"((a{1,100}){1,100}){1,100}\"", "regex too complex");
    expect_error("x=~\"a(b\"", "unbalanced '(' in regex");
    /* found by fuzz_matcher: each stacked + doubled regcomp's tree */
    expect_error("env=~#ro|i++++++++++++++++++++++++n((",
                 "nested repetition operator");
    expect_match("severity=~\"c+r+i+t+i+c+a+l+\"", true);
    /* found by fuzz_matcher: p***...* made regcomp's closure pass hang */
    expect_error("v=~p*****t", "nested repetition operator");
    expect_error("v=~\"a{2}{3}\"", "nested repetition operator");
    /* Go's lazy forms are accepted where they match the same strings */
    expect_match("severity=~\"c.*?\"", true);
    expect_match("severity=~\"c.{0,20}?\"", true);
    expect_error("v=~\"a+?\"", "nested repetition operator");
    /* found by fuzz_matcher: a lazy ? reset the check, letting +++... by */
    expect_error("v=~\"8???++++++++++++++++++++++++++++++\"",
                 "nested repetition operator");
    expect_error("v=~\"(*a)\"", "repetition operator with nothing to repeat");
    expect_error("v=~\"a|+\"", "repetition operator with nothing to repeat");
    /* regcomp is exponential in loops over things that can match "" */
    char re[256] = "v=~\"";
    for (int k = 0; k < 24; k++) strcat(re, "(a*)*");
    strcat(re, "\"");
    expect_error(re, "column 4: regex repeats something that can match \"\"");
    expect_error("v=~\"(a|)*\"", "can match \"\"");
    expect_error("v=~\"(^)+\"", "can match \"\"");
    expect_error("v=~\"(a?b*){2,}\"", "can match \"\"");
    /* \b and friends match "" too: (\b)* 16 times hangs regcomp */
    expect_error("v=~\"(\\b)*\"", "can match \"\"");
    expect_error("v=~\"(x|\\<)*\"", "can match \"\"");
    /* found by a grammar-driven stress run: 12 s in regcomp alone */
    expect_error("v=~\"($|\\b(\\<|){0,3}|x{0,9}())*?\"", "can match \"\"");
    /* bounded repeats nest optional in optional: (a?){0,400} took 3 s */
    expect_error("v=~\"(a?){0,400}\"", "can match \"\"");
    expect_error("v=~\"((\\b){0,9}){0,9}\"", "can match \"\"");
    /* an optional repeat of it is fine */
    expect_match("severity=~\"(a*)?(b|)?\\bcritical\\b\"", true);
    /* each optional part widens regexec's state set: a? 2000 times took
     * seconds per label */
    char *many = malloc(4096);
    assert_non_null(many);
    strcpy(many, "v=~\"");
    for (int k = 0; k < 300; k++) strcat(many, "a?");
    strcat(many, "\"");
    expect_error(many, "regex too complex");
    expect_error("v=~\"(ab?c?){200}\"", "regex too complex");
    expect_error("v=~\".{1,1000}\"", "regex too complex");
    expect_error("v=~\"(a.{0,60}){60}\"", "regex too complex");
    expect_match("severity=~\".{1,255}\"", true);
    free(many);
    expect_match("severity=~\"c?r?i?t?i?c?a?l?\"", true);
    expect_error("v=~\"ab\\\\\"", "regex ends with a lone backslash");
    /* while loops over things that cannot are fine */
    expect_match("severity=~\"(c|r)+(i|t)*(ic|x)*(al)+\"", true);
    expect_match("severity=~\"(a*b)*(c|d)*(c?r)+.*\"", true);
    expect_error("x=~\".{5000}\"", "regex too complex");
    /* a plain = never compiles its value */
    matcher *m = parse_ok("x=\"(\"");
    matcher_free(m);
    /* moderate intervals are fine */
    expect_match("severity=~\"c[a-z]{2,10}\"", true);
    expect_match("severity=~\"[[:alpha:]]+\"", true);
}

static void test_bad_syntax(void **state) {
    (void)state;
    expect_error("", "column 1: expected a label name");
    expect_error("   ", "column 4: expected a label name");
    expect_error("=\"x\"", "column 1: expected a label name, found '='");
    expect_error("9lives=\"x\"", "column 1: expected a label name, found '9'");
    expect_error("na-me=\"x\"", "column 3: expected =, !=, =~ or !~, found '-'");
    expect_error("name", "column 5: expected =, !=, =~ or !~");
    expect_error("name ~ \"x\"", "column 6: expected =");
    expect_error("name=\"x\" junk", "column 10: unexpected 'j' after the value");
    expect_error("name=\"x\"\"", "column 9: unexpected '\"' after the value");
    expect_error("name=\"abc", "column 6: unterminated quoted value");
    expect_error("name=\"abc\\\"", "column 6: unterminated quoted value");
    expect_error("name=\"abc\\", "column 6: unterminated quoted value");
    expect_error("name=a,b", "column 7: ',' in an unquoted value");
    expect_error("name=a\"b", "column 7: '\"' in an unquoted value");
    expect_error("name=a b", "column 8: unexpected 'b' after the value");
    expect_error("name=\"x\"\n", "unexpected 0x0a after the value");
    expect_error("name.sub=\"x\"", "found '.'");

    char *big = malloc(5000);
    assert_non_null(big);
    memset(big, 'a', 4999);
    big[4999] = '\0';
    big[0] = 'x';
    big[1] = '=';
    expect_error(big, "longer than 4096 bytes");
    free(big);

    matcher *m = NULL;
    assert_int_equal(matcher_parse(NULL, &m, err, sizeof(err)), -1);
    assert_int_equal(matcher_parse("a=b", NULL, err, sizeof(err)), -1);
    /* err may be absent */
    assert_int_equal(matcher_parse("=", &m, NULL, 0), -1);
    assert_null(m);
}

static void test_free_null(void **state) {
    (void)state;
    matcher_free(NULL);
    assert_false(matcher_match(NULL, labels));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ops),
        cmocka_unit_test(test_match_each_op),
        cmocka_unit_test(test_regex_anchored),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_absent_label),
        cmocka_unit_test(test_non_string_values),
        cmocka_unit_test(test_nul_in_value),
        cmocka_unit_test(test_invalid_regex),
        cmocka_unit_test(test_bad_syntax),
        cmocka_unit_test(test_free_null),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
