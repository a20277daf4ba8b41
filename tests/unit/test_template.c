/* test_template.c - unit tests for {{ expression | filter }} rendering */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/template.h"

static const char *ctx_text =
    "{\"alert\":{\"labels\":{\"service\":\"db\",\"severity\":\"critical\","
    "\"empty\":\"\",\"nothing\":null,\"count\":3,\"ratio\":0.1,"
    "\"whole\":2.0,\"up\":true,\"down\":false,\"text\":\"a b&c/d~e.f_g-h\","
    "\"accent\":\"h\\u00e9llo\",\"mixed\":\"MiXeD\",\"nested\":\"{{ alert.labels.service }}\"},"
    "\"items\":[\"zero\",\"one\",{\"name\":\"two\"}],"
    "\"obj\":{\"0\":\"key zero\",\"k\":[1,2]}},"
    "\"steps\":{\"diag\":{\"output\":{\"stdout\":\"ok\\n\"}}}}";

static json_t *ctx;
static char err[512];

static int setup(void **state) {
    (void)state;
    json_error_t jerr;
    ctx = json_loads(ctx_text, 0, &jerr);
    return ctx ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    json_decref(ctx);
    return 0;
}

/* Renders and checks the result in one step. */
static void expect(const char *tmpl, const char *want) {
    err[0] = '\0';
    char *got = template_render(tmpl, ctx, 4096, err, sizeof(err));
    if (!got) fail_msg("render of %s failed: %s", tmpl, err);
    assert_string_equal(got, want);
    free(got);
}

/* Renders, expects a failure, and checks err mentions `needle`. */
static void expect_error(const char *tmpl, const char *needle) {
    err[0] = '\0';
    char *got = template_render(tmpl, ctx, 4096, err, sizeof(err));
    if (got) fail_msg("render of %s gave \"%s\", wanted an error", tmpl, got);
    if (!strstr(err, needle))
        fail_msg("error for %s is \"%s\", wanted \"%s\"", tmpl, err, needle);
}

static void test_literal_text(void **state) {
    (void)state;
    expect("", "");
    expect("no expressions here", "no expressions here");
    expect("single { and } braces, and }} alone", "single { and } braces, and }} alone");
}

static void test_paths(void **state) {
    (void)state;
    expect("svc={{alert.labels.service}}", "svc=db");
    expect("{{   alert.labels.severity   }}!", "critical!");
    expect("{{ steps.diag.output.stdout }}", "ok\n");
    expect("{{ alert.items.0 }}/{{ alert.items.1 }}", "zero/one");
    expect("{{ alert.items.2.name }}", "two");
    expect("{{ alert.obj.0 }}", "key zero"); /* numeric key on an object */
    expect("{{ alert.obj.k.1 }}", "2");
}

static void test_missing_paths(void **state) {
    (void)state;
    expect("[{{ alert.labels.nope }}]", "[]");
    expect("[{{ nope.at.all }}]", "[]");
    expect("[{{ alert.items.3 }}]", "[]");                  /* past the end */
    expect("[{{ alert.items.x }}]", "[]");                  /* not an index */
    expect("[{{ alert.items.99999999999999999999999 }}]", "[]"); /* overflow */
    expect("[{{ alert.labels.service.deeper }}]", "[]");    /* into a string */
    char *got = template_render("[{{ a }}]", NULL, 100, err, sizeof(err));
    assert_non_null(got);
    assert_string_equal(got, "[]");
    free(got);
}

static void test_value_forms(void **state) {
    (void)state;
    expect("{{ alert.labels.count }}", "3");
    expect("{{ alert.labels.ratio }}", "0.1");
    expect("{{ alert.labels.whole }}", "2.0");
    expect("{{ alert.labels.up }}/{{ alert.labels.down }}", "true/false");
    expect("[{{ alert.labels.nothing }}]", "[]");
    expect("{{ alert.obj.k }}", "[1,2]");
    expect("{{ alert.items.2 }}", "{\"name\":\"two\"}");
}

static void test_no_recursive_expansion(void **state) {
    (void)state;
    /* a value that looks like a template is data, never evaluated */
    expect("{{ alert.labels.nested }}", "{{ alert.labels.service }}");
}

static void test_filter_default(void **state) {
    (void)state;
    expect("{{ alert.labels.nope | default(\"none\") }}", "none");
    expect("{{ alert.labels.nope | default('single') }}", "single");
    expect("{{ alert.labels.nope | default(42) }}", "42");
    expect("{{ alert.labels.nope | default(-1.5) }}", "-1.5");
    expect("{{ alert.labels.nothing | default(\"was null\") }}", "was null");
    expect("{{ alert.labels.empty | default(\"was empty\") }}", "was empty");
    expect("{{ alert.labels.service | default(\"unused\") }}", "db");
    expect("{{ x | default(\"a\\\"b\\\\c\\nd\") }}", "a\"b\\c\nd");
    expect("{{ x | default(\"}} and {{\") }}", "}} and {{");
    expect("{{ x | default(\"\") }}", "");
}

static void test_filter_json(void **state) {
    (void)state;
    expect("{{ alert.labels.service | json }}", "\"db\"");
    expect("{{ alert.labels.count | json }}", "3");
    expect("{{ alert.obj | json }}", "{\"0\":\"key zero\",\"k\":[1,2]}");
    expect("{{ alert.labels.nope | json }}", "null");
    expect("{{ steps.diag.output.stdout | json }}", "\"ok\\n\"");
}

static void test_filter_urlencode(void **state) {
    (void)state;
    expect("{{ alert.labels.text | urlencode }}", "a%20b%26c%2Fd~e.f_g-h");
    expect("{{ alert.labels.accent | urlencode }}", "h%C3%A9llo");
    expect("{{ x | default(\"?=#%+\") | urlencode }}", "%3F%3D%23%25%2B");
}

static void test_filter_case(void **state) {
    (void)state;
    expect("{{ alert.labels.mixed | upper }}", "MIXED");
    expect("{{ alert.labels.mixed | lower }}", "mixed");
    expect("{{ alert.labels.accent | upper }}", "H\xc3\xa9LLO"); /* ASCII only */
    expect("[{{ alert.labels.nope | upper }}]", "[]");
}

static void test_filter_truncate(void **state) {
    (void)state;
    expect("{{ alert.labels.severity | truncate(4) }}", "crit");
    expect("{{ alert.labels.severity | truncate(100) }}", "critical");
    expect("[{{ alert.labels.severity | truncate(0) }}]", "[]");
    /* counts characters, never splitting a UTF-8 sequence */
    expect("{{ alert.labels.accent | truncate(2) }}", "h\xc3\xa9");
    expect("{{ alert.labels.accent | truncate( 1 ) }}", "h");
}

static void test_filter_chain(void **state) {
    (void)state;
    expect("{{ alert.labels.nope | default(\"n/a\") | upper | urlencode }}",
           "N%2FA");
    expect("{{ alert.labels.severity|upper|truncate(3)|lower }}", "cri");
}

static void test_syntax_errors(void **state) {
    (void)state;
    expect_error("abc {{ alert.labels.service", "column 5: '{{' has no closing");
    expect_error("abc {{ x }", "column 5: '{{' has no closing");
    expect_error("a\nbc {{ x", "line 2, column 4:");
    expect_error("{{ x | nosuch }}", "column 8: unknown filter 'nosuch'");
    expect_error("{{ }}", "column 4: expected a path");
    expect_error("{{ a..b }}", "expected a path");
    expect_error("{{ a b }}", "column 6: expected '|' or '}}'");
    expect_error("{{ a | }}", "expected a filter name");
    expect_error("{{ a | truncate }}", "filter 'truncate' needs an argument");
    expect_error("{{ a | truncate(-1) }}", "expected a count");
    expect_error("{{ a | truncate(1.5) }}", "whole number");
    expect_error("{{ a | truncate(99999999999) }}", "whole number");
    expect_error("{{ a | upper(1) }}", "filter 'upper' takes no argument");
    expect_error("{{ a | default(bare) }}", "expected a quoted string or a number");
    expect_error("{{ a | default(\"open) }}", "column 16: unterminated string");
    expect_error("{{ a | default(\"\\q\") }}", "unknown escape");
    expect_error("{{ a | default(1 }}", "expected ')'");
    expect_error("{{ a | default(99999999999999999999) }}", "out of range");
    expect_error("{{ 1+1 }}", "expected '|' or '}}'");
    expect_error("{{ system('id') }}", "expected '|' or '}}'");
    expect_error("ok {{ a }} then {{ b | upper", "column 17: '{{' has no closing");
}

static void test_limits(void **state) {
    (void)state;
    char path[400], tmpl[512];
    memset(path, 'a', sizeof(path) - 1);
    path[sizeof(path) - 1] = '\0';
    snprintf(tmpl, sizeof(tmpl), "{{ %s }}", path);
    expect_error(tmpl, "path longer than 256 bytes");
    expect_error("{{ a |upper|upper|upper|upper|upper|upper|upper|upper|upper"
                 "|upper|upper|upper|upper|upper|upper|upper|upper }}",
                 "more than 16 filters");
}

static void test_size_cap(void **state) {
    (void)state;
    char *got = template_render("0123456789", ctx, 10, err, sizeof(err));
    assert_non_null(got);
    free(got);
    assert_null(template_render("0123456789x", ctx, 10, err, sizeof(err)));
    assert_non_null(strstr(err, "exceeds 10 bytes"));
    assert_null(template_render("abc{{ alert.labels.severity }}", ctx, 8, err,
                                sizeof(err)));
    assert_non_null(strstr(err, "column 4: output exceeds 8 bytes"));

    /* whatever the caller asks, TEMPLATE_MAX_OUTPUT is the ceiling */
    size_t big = TEMPLATE_MAX_OUTPUT + 1;
    char *s = malloc(big + 1);
    assert_non_null(s);
    memset(s, 'x', big);
    s[big] = '\0';
    json_t *c = json_pack("{s:s}", "big", s);
    assert_non_null(c);
    assert_null(template_render("{{ big }}", c, SIZE_MAX, err, sizeof(err)));
    assert_non_null(strstr(err, "exceeds"));
    /* a filter cannot blow past the ceiling either: urlencode triples */
    memset(s, ' ', TEMPLATE_MAX_OUTPUT / 2);
    json_object_set_new(c, "big", json_stringn(s, TEMPLATE_MAX_OUTPUT / 2));
    assert_null(template_render("{{ big | upper | urlencode }}", c, SIZE_MAX,
                                err, sizeof(err)));
    assert_non_null(strstr(err, "exceeds"));
    got = template_render("[{{ big | truncate(3) }}]", c, 16, err, sizeof(err));
    assert_non_null(got);
    assert_string_equal(got, "[   ]");
    free(got);
    json_decref(c);
    free(s);
}

static void test_nul_in_value_refused(void **state) {
    (void)state;
    json_t *c = json_pack("{s:s#}", "v", "rm -rf /tmp/x\0 --no", (int)20);
    assert_non_null(c);
    assert_null(template_render("cmd {{ v }}", c, 100, err, sizeof(err)));
    assert_non_null(strstr(err, "NUL"));
    json_decref(c);
}

/* ---- template_render_json ---- */

static json_t *render_tree(const char *tree_text, size_t maxlen) {
    json_error_t jerr;
    json_t *tree = json_loads(tree_text, JSON_DECODE_ANY, &jerr);
    if (!tree) fail_msg("bad test tree: %s", jerr.text);
    err[0] = '\0';
    json_t *out = template_render_json(tree, ctx, maxlen, err, sizeof(err));
    json_decref(tree);
    return out;
}

static void test_json_whole_values(void **state) {
    (void)state;
    json_t *out = render_tree(
        "{\"labels\":\"{{ alert.labels }}\",\"n\":\"  {{ alert.labels.count }}\\n\","
        "\"r\":\"{{alert.labels.ratio}}\",\"b\":\"{{ alert.labels.up }}\","
        "\"null\":\"{{ alert.labels.nothing }}\",\"missing\":\"{{ nope }}\","
        "\"def\":\"{{ nope | default(42) }}\",\"up\":\"{{ alert.labels.service | upper }}\","
        "\"list\":\"{{ alert.items }}\"}",
        4096);
    assert_non_null(out);
    json_t *labels = json_object_get(out, "labels");
    assert_true(json_is_object(labels));
    assert_string_equal(json_string_value(json_object_get(labels, "service")), "db");
    assert_int_equal(json_integer_value(json_object_get(out, "n")), 3);
    assert_true(json_is_real(json_object_get(out, "r")));
    assert_true(json_is_true(json_object_get(out, "b")));
    assert_true(json_is_null(json_object_get(out, "null")));
    assert_string_equal(json_string_value(json_object_get(out, "missing")), "");
    assert_int_equal(json_integer_value(json_object_get(out, "def")), 42);
    assert_string_equal(json_string_value(json_object_get(out, "up")), "DB");
    assert_int_equal(json_array_size(json_object_get(out, "list")), 3);

    /* a deep copy: changing the result leaves the context alone */
    json_object_set_new(labels, "service", json_string("changed"));
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(ctx, "alert"), "labels"),
                            "service")),
                        "db");
    json_decref(out);
}

static void test_json_interpolation_and_walk(void **state) {
    (void)state;
    json_t *out = render_tree(
        "{\"{{ key }}\":\"svc {{ alert.labels.service }}\","
        "\"two\":\"{{ alert.labels.service }}{{ alert.labels.count }}\","
        "\"arr\":[1,true,null,\"{{ alert.items.1 }}\",[\"x {{ alert.items.0 }}\"]],"
        "\"num\":7}",
        4096);
    assert_non_null(out);
    /* keys are left alone */
    assert_string_equal(json_string_value(json_object_get(out, "{{ key }}")), "svc db");
    assert_string_equal(json_string_value(json_object_get(out, "two")), "db3");
    json_t *arr = json_object_get(out, "arr");
    assert_int_equal(json_integer_value(json_array_get(arr, 0)), 1);
    assert_true(json_is_true(json_array_get(arr, 1)));
    assert_true(json_is_null(json_array_get(arr, 2)));
    assert_string_equal(json_string_value(json_array_get(arr, 3)), "one");
    assert_string_equal(json_string_value(json_array_get(json_array_get(arr, 4), 0)),
                        "x zero");
    assert_int_equal(json_integer_value(json_object_get(out, "num")), 7);
    json_decref(out);
}

static void test_json_escaping_round_trip(void **state) {
    (void)state;
    const char *hostile = "say \"hi\"\\n\n}\",\"admin\":true,{\"x\":\\";
    json_t *c = json_pack("{s:{s:{s:s}}}", "alert", "labels", "summary", hostile);
    json_t *tree = json_pack("{s:s,s:s}", "text", "Alert: {{ alert.labels.summary }}",
                             "raw", "{{ alert.labels.summary }}");
    assert_non_null(c);
    assert_non_null(tree);
    json_t *out = template_render_json(tree, c, 4096, err, sizeof(err));
    assert_non_null(out);

    char *body = json_dumps(out, JSON_COMPACT);
    assert_non_null(body);
    json_error_t jerr;
    json_t *back = json_loads(body, 0, &jerr);
    assert_non_null(back);
    assert_int_equal(json_object_size(back), 2); /* no injected "admin" key */
    char want[256];
    snprintf(want, sizeof(want), "Alert: %s", hostile);
    assert_string_equal(json_string_value(json_object_get(back, "text")), want);
    assert_string_equal(json_string_value(json_object_get(back, "raw")), hostile);

    json_decref(back);
    free(body);
    json_decref(out);
    json_decref(tree);
    json_decref(c);
}

static void test_json_errors_name_location(void **state) {
    (void)state;
    assert_null(render_tree("{\"a\":[{\"b\":\"ok {{ x | nope }}\"}]}", 4096));
    assert_non_null(strstr(err, "a[0].b: column 11: unknown filter 'nope'"));
    assert_null(render_tree("[\"{{ x\"]", 4096));
    assert_non_null(strstr(err, "[0]: column 1: '{{' has no closing"));
    assert_null(render_tree("\"{{ x | upper(\"", 4096));
    assert_non_null(strstr(err, "(root): column 13"));
    assert_null(template_render_json(NULL, ctx, 10, err, sizeof(err)));
}

static void test_json_filter_cap(void **state) {
    (void)state;
    char *s = malloc(TEMPLATE_MAX_OUTPUT / 2);
    assert_non_null(s);
    memset(s, ' ', TEMPLATE_MAX_OUTPUT / 2);
    json_t *c = json_pack("{s:s%}", "big", s, (size_t)(TEMPLATE_MAX_OUTPUT / 2));
    json_t *tree = json_pack("[s]", "  {{ big | upper | urlencode }}");
    assert_non_null(c);
    assert_non_null(tree);
    assert_null(template_render_json(tree, c, SIZE_MAX, err, sizeof(err)));
    assert_non_null(strstr(err, "[0]: column 3: output exceeds 1048576 bytes"));
    json_decref(tree);
    json_decref(c);
    free(s);
}

static json_t *nest(int levels) {
    json_t *node = json_string("{{ alert.labels.service }}");
    for (int k = 0; k < levels - 1; k++) {
        json_t *arr = json_array();
        json_array_append_new(arr, node);
        node = arr;
    }
    return node;
}

static void test_json_depth_bounded(void **state) {
    (void)state;
    json_t *ok = nest(64), *deep = nest(65);
    json_t *out = template_render_json(ok, ctx, 4096, err, sizeof(err));
    assert_non_null(out);
    json_decref(out);
    assert_null(template_render_json(deep, ctx, 4096, err, sizeof(err)));
    assert_non_null(strstr(err, "nested deeper than 64 levels"));
    json_decref(ok);
    json_decref(deep);
}

static void test_json_budget(void **state) {
    (void)state;
    /* each string fits, the tree as a whole does not */
    json_t *out = render_tree("[\"{{ alert.labels.severity }}\",\"abcdefgh\"]", 16);
    assert_non_null(out);
    json_decref(out);
    assert_null(render_tree("[\"{{ alert.labels.severity }}\",\"abcdefghi\"]", 16));
    assert_non_null(strstr(err, "[1]: rendered tree exceeds 16 bytes"));
    /* deep copies count too */
    assert_null(render_tree("[\"{{ alert }}\"]", 64));
    assert_non_null(strstr(err, "[0]: rendered tree exceeds 64 bytes"));
}

static void test_json_nul_in_tree(void **state) {
    (void)state;
    json_t *tree = json_stringn("a\0{{ x }}", 9);
    assert_null(template_render_json(tree, ctx, 100, err, sizeof(err)));
    assert_non_null(strstr(err, "NUL"));
    json_decref(tree);
    /* a NUL that comes from the context is kept, since JSON can carry it */
    json_t *c = json_pack("{s:s#}", "v", "a\0b", (int)3);
    tree = json_string("x{{ v }}");
    json_t *out = template_render_json(tree, c, 100, err, sizeof(err));
    assert_non_null(out);
    assert_int_equal(json_string_length(out), 4);
    assert_memory_equal(json_string_value(out), "xa\0b", 4);
    json_decref(out);
    json_decref(tree);
    json_decref(c);
}

/* ---- template_check ---- */

typedef struct seen {
    char paths[8][64];
    int n;
    int stop_at; /* 1-based call that returns non-zero, 0 for none */
} seen;

static int collect(const char *path, void *arg) {
    seen *s = arg;
    if (s->n < 8) snprintf(s->paths[s->n], sizeof(s->paths[0]), "%s", path);
    s->n++;
    return s->n == s->stop_at ? 7 : 0;
}

static void test_check_paths(void **state) {
    (void)state;
    seen s = {0};
    assert_int_equal(template_check("a {{ steps.diag.output | json }} b "
                                    "{{alert.labels.x|default(\"}}\")}} {{ items.0 }}",
                                    collect, &s, err, sizeof(err)),
                     0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.paths[0], "steps.diag.output");
    assert_string_equal(s.paths[1], "alert.labels.x");
    assert_string_equal(s.paths[2], "items.0");
}

static void test_check_stops(void **state) {
    (void)state;
    seen s = {.stop_at = 2};
    assert_int_equal(template_check("{{ a }}{{ b }}{{ c }}", collect, &s, err,
                                    sizeof(err)),
                     7);
    assert_int_equal(s.n, 2);
}

static void test_check_errors(void **state) {
    (void)state;
    seen s = {0};
    assert_int_equal(template_check("{{ a }} {{ b | bogus }}", collect, &s, err,
                                    sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "column 16: unknown filter 'bogus'"));
    assert_int_equal(s.n, 1); /* the good one before the error was reported */
    assert_int_equal(template_check("x {{ y", NULL, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "column 3"));
    assert_int_equal(template_check("plain {{ a | lower }}", NULL, NULL, err,
                                    sizeof(err)),
                     0);
    assert_int_equal(template_check(NULL, NULL, NULL, err, sizeof(err)), -1);
    /* err may be absent or tiny */
    assert_int_equal(template_check("{{", NULL, NULL, NULL, 0), -1);
    char small[4];
    assert_int_equal(template_check("{{", NULL, NULL, small, sizeof(small)), -1);
    assert_int_equal(strlen(small), 3);
}

/* URLs: expressions in the path and query are one percent-encoded
 * component each; the origin is rendered as written. */
static void test_render_url(void **state) {
    (void)state;
    char why[256];
    json_t *c = json_pack("{s:{s:s, s:s, s:s}}", "l", "q", "a&admin=1#x", "p", "../etc/passwd",
                          "host", "evil.example");
    char *out = template_render_url("https://api.example.com/v1/{{ l.p }}?q={{ l.q }}&r={{ l.q | urlencode }}",
                                    c, 4096, why, sizeof(why));
    assert_non_null(out);
    assert_string_equal(out, "https://api.example.com/v1/..%2Fetc%2Fpasswd?q=a%26admin%3D1%23x"
                             "&r=a%26admin%3D1%23x");
    free(out);
    /* An origin a step allowed to be templated is rendered as it is. */
    out = template_render_url("http://{{ l.host }}:8080/{{ l.q }}", c, 4096, why, sizeof(why));
    assert_string_equal(out, "http://evil.example:8080/a%26admin%3D1%23x");
    free(out);
    out = template_render_url("{{ l.host }}", c, 4096, why, sizeof(why));
    assert_string_equal(out, "evil.example");
    free(out);
    assert_true(template_url_origin_templated("http://{{ l.host }}/"));
    assert_true(template_url_origin_templated("http://h:{{ l.port }}/"));
    assert_true(template_url_origin_templated("{{ l.scheme }}://h/"));
    assert_true(template_url_origin_templated("{{ l.url }}"));
    assert_false(template_url_origin_templated("http://h/{{ l.p }}"));
    assert_false(template_url_origin_templated("http://h?{{ l.q }}"));
    assert_false(template_url_origin_templated("http://h/plain"));
    /* Which expressions are escaped by their last filter. */
    assert_int_equal(template_unescaped("{\"a\": {{ x | json }}, \"b\": {{ y }}}", "json", why,
                                        sizeof(why)), 1);
    assert_int_equal(template_unescaped("a={{ x | upper | urlencode }}", "urlencode", why,
                                        sizeof(why)), 0);
    assert_int_equal(template_unescaped("{{ x | ", "json", why, sizeof(why)), -1);
    assert_true(template_is_whole("  {{ alert.labels }} "));
    assert_false(template_is_whole("{{ a }} {{ b }}"));
    json_decref(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal_text),
        cmocka_unit_test(test_render_url),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_missing_paths),
        cmocka_unit_test(test_value_forms),
        cmocka_unit_test(test_no_recursive_expansion),
        cmocka_unit_test(test_filter_default),
        cmocka_unit_test(test_filter_json),
        cmocka_unit_test(test_filter_urlencode),
        cmocka_unit_test(test_filter_case),
        cmocka_unit_test(test_filter_truncate),
        cmocka_unit_test(test_filter_chain),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_size_cap),
        cmocka_unit_test(test_nul_in_value_refused),
        cmocka_unit_test(test_json_whole_values),
        cmocka_unit_test(test_json_interpolation_and_walk),
        cmocka_unit_test(test_json_escaping_round_trip),
        cmocka_unit_test(test_json_errors_name_location),
        cmocka_unit_test(test_json_filter_cap),
        cmocka_unit_test(test_json_depth_bounded),
        cmocka_unit_test(test_json_budget),
        cmocka_unit_test(test_json_nul_in_tree),
        cmocka_unit_test(test_check_paths),
        cmocka_unit_test(test_check_stops),
        cmocka_unit_test(test_check_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
