/* test_yaml.c - unit tests for YAML/JSON text into positioned jansson trees */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "common/yaml.h"

static char err[512];

/* Parses text and compares the result with the JSON `want`. */
static json_t *parse_ok(const char *text, json_t **positions) {
    err[0] = '\0';
    json_t *v = yaml_parse("t.yaml", text, strlen(text), positions, err, sizeof(err));
    if (!v) fail_msg("parse of \"%s\" failed: %s", text, err);
    return v;
}

static void expect_json(const char *text, const char *want) {
    json_error_t jerr;
    json_t *v = parse_ok(text, NULL);
    json_t *w = json_loads(want, JSON_DECODE_ANY, &jerr);
    assert_non_null(w);
    if (!json_equal(v, w)) {
        char *got = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        fail_msg("\"%s\" gave %s, wanted %s", text, got, want);
    }
    json_decref(v);
    json_decref(w);
}

static void expect_error(const char *text, const char *needle) {
    json_t *positions = json_object(); /* must be reset to NULL */
    json_t *keep = positions;
    err[0] = '\0';
    json_t *v = yaml_parse("t.yaml", text, strlen(text), &positions, err, sizeof(err));
    if (v) fail_msg("\"%s\" parsed, wanted an error", text);
    assert_null(positions);
    json_decref(keep);
    if (!strstr(err, needle)) fail_msg("error for \"%s\" is \"%s\", wanted \"%s\"", text, err, needle);
}

static void expect_position(const json_t *positions, const char *pointer, int line, int col) {
    int l = -1, c = -1;
    yaml_position(positions, pointer, &l, &c);
    if (l != line || c != col)
        fail_msg("%s is at %d:%d, wanted %d:%d", pointer, l, c, line, col);
}

static void test_scalar_types(void **state) {
    (void)state;
    expect_json("[null, ~, Null, NULL, '', x]", "[null, null, null, null, \"\", \"x\"]");
    expect_json("[true, True, TRUE, false, False, FALSE]", "[true, true, true, false, false, false]");
    expect_json("[0, 42, -7, +3, 012, 9223372036854775807]", "[0, 42, -7, 3, 12, 9223372036854775807]");
    expect_json("[1.5, -0.25, 1e3, 2.5E-1, 1.]", "[1.5, -0.25, 1000.0, 0.25, 1.0]");
    /* core schema only: YAML 1.1 words and odd numbers stay text */
    expect_json("[yes, no, on, off, y, 0x1A, 1_000, .inf, .nan, 1.2.3, 10s]",
                "[\"yes\", \"no\", \"on\", \"off\", \"y\", \"0x1A\", \"1_000\", \".inf\", "
                "\".nan\", \"1.2.3\", \"10s\"]");
    expect_json("- -x\n- +\n- -1x\n", "[\"-x\", \"+\", \"-1x\"]");
    /* quoted and block scalars are always strings */
    expect_json("[\"true\", 'null', \"42\", '1.5', \"~\", '']",
                "[\"true\", \"null\", \"42\", \"1.5\", \"~\", \"\"]");
    expect_json("a: |\n  line 1\n  line 2\nb: >\n  folded\n  text\n",
                "{\"a\": \"line 1\\nline 2\\n\", \"b\": \"folded text\\n\"}");
    expect_json("a:\n", "{\"a\": null}");
    /* a single scalar is a document too */
    expect_json("hello", "\"hello\"");
    expect_json("7", "7");
}

static void test_nested(void **state) {
    (void)state;
    expect_json("name: wf\n"
                "steps:\n"
                "  - id: a\n"
                "    with:\n"
                "      command: [echo, \"{{ alert.summary }}\"]\n"
                "      env: {A: '1', B: 2}\n"
                "  - id: b\n"
                "    needs: [a]\n"
                "    list:\n"
                "      - - x\n"
                "        - y\n"
                "      - []\n"
                "      - {}\n",
                "{\"name\": \"wf\", \"steps\": [{\"id\": \"a\", \"with\": {\"command\": [\"echo\", "
                "\"{{ alert.summary }}\"], \"env\": {\"A\": \"1\", \"B\": 2}}}, {\"id\": \"b\", "
                "\"needs\": [\"a\"], \"list\": [[\"x\", \"y\"], [], {}]}]}");
}

static void test_json_input(void **state) {
    (void)state;
    expect_json("{\"source\": \"x\", \"n\": [1, 2.5, true, null, \"s\"], \"o\": {\"k\": \"v\"}}",
                "{\"source\": \"x\", \"n\": [1, 2.5, true, null, \"s\"], \"o\": {\"k\": \"v\"}}");
    expect_json("{\"a\":\"\\u00e9\\n\\\"q\\\"\"}", "{\"a\": \"\\u00e9\\n\\\"q\\\"\"}");
    expect_json("[]", "[]");
}

static void test_positions(void **state) {
    (void)state;
    json_t *pos = NULL;
    json_t *v = parse_ok("name: wf\n"
                         "steps:\n"
                         "  - id: first\n"
                         "    action: exec\n"
                         "    with:\n"
                         "      command: [a, b]\n"
                         "  - id: second\n"
                         "    needs:\n"
                         "    \"quoted/key\": 1\n",
                         &pos);
    assert_non_null(pos);
    expect_position(pos, "", 1, 1);
    expect_position(pos, "/name", 1, 7);
    expect_position(pos, "/steps/0", 3, 5);
    expect_position(pos, "/steps/0/id", 3, 9);
    expect_position(pos, "/steps/0/action", 4, 13);
    expect_position(pos, "/steps/0/with/command/1", 6, 20);
    expect_position(pos, "/steps/1/id", 7, 9);
    /* an empty value is placed at its key */
    expect_position(pos, "/steps/1/needs", 8, 5);
    /* pointers escape / as ~1 (RFC 6901) */
    expect_position(pos, "/steps/1/quoted~1key", 9, 19);
    json_decref(v);
    json_decref(pos);

    /* JSON input is placed the same way */
    v = parse_ok("{\n  \"a\": [10,\n        20]\n}", &pos);
    expect_position(pos, "/a/1", 3, 9);
    json_decref(v);
    json_decref(pos);
}

static void test_position_fallback(void **state) {
    (void)state;
    json_t *pos = NULL;
    json_t *v = parse_ok("a:\n  b:\n    c: 1\n", &pos);
    /* unknown nodes fall back to their nearest known parent */
    expect_position(pos, "/a/b/c/nothing/deeper", 3, 8);
    expect_position(pos, "/a/b/missing", 3, 5);
    expect_position(pos, "/zzz", 1, 1);
    json_decref(v);
    json_decref(pos);

    int line = -1, col = -1;
    yaml_position(NULL, "/a", &line, &col);
    assert_int_equal(line, 0);
    assert_int_equal(col, 0);
    pos = json_object();
    yaml_position(pos, "/a", &line, &col);
    assert_int_equal(line, 0);
    assert_int_equal(col, 0);
    json_decref(pos);
}

/* Regression: libfyaml's error positions are 1-based already; adding one
 * moved every syntax error a line down and a column right. */
static void test_syntax_error_position(void **state) {
    (void)state;
    expect_error("a: 1\nb: c: d\n", "t.yaml:2:5: ");
    expect_error("key: \"open\n", "t.yaml:1:7: double-quoted scalar without closing quote");
    expect_error("a: 1\n  bb: 2\n", "t.yaml:1:4: ");
    expect_error("k: @x\n", "t.yaml:1:4: plain scalar cannot start with '@'");
    expect_error("- a\nb: 1\n", "t.yaml:2:1: ");
    expect_error("{\"a\": [1, 2}\n", "t.yaml:1:");
}

static void test_duplicate_keys(void **state) {
    (void)state;
    expect_error("a: 1\nb: 2\na: 3\n", "t.yaml:3:1: duplicate key");
    expect_error("x:\n  y: 1\n  y: 2\n", "t.yaml:3:3: duplicate key");
    expect_error("{\"a\": 1, \"a\": 2}", "duplicate key");
    /* the same key in different maps is fine */
    expect_json("a: {k: 1}\nb: {k: 2}\n", "{\"a\": {\"k\": 1}, \"b\": {\"k\": 2}}");
}

static void test_aliases_refused(void **state) {
    (void)state;
    expect_error("base: &b {x: 1}\nother: *b\n", "t.yaml:2:9: YAML aliases (*name) are not supported");
    expect_error("list: &l [1]\nmore: [*l, *l]\n", "aliases");
    expect_error("base: &b {x: 1}\nother:\n  <<: *b\n", "aliases");
    /* an anchor nobody refers to is harmless */
    expect_json("a: &x 1\n", "{\"a\": 1}");
}

static char *nested(int depth, const char *open, const char *close) {
    size_t lo = strlen(open), lc = strlen(close);
    char *s = malloc((size_t)depth * (lo + lc) + 2);
    size_t n = 0;
    assert_non_null(s);
    for (int i = 0; i < depth; i++, n += lo) memcpy(s + n, open, lo);
    s[n++] = '1';
    for (int i = 0; i < depth; i++, n += lc) memcpy(s + n, close, lc);
    s[n] = '\0';
    return s;
}

static void test_depth_limit(void **state) {
    (void)state;
    char *ok = nested(YAML_MAX_DEPTH - 2, "[", "]");
    json_t *v = parse_ok(ok, NULL);
    json_decref(v);
    free(ok);

    char *deep = nested(YAML_MAX_DEPTH + 2, "[", "]");
    expect_error(deep, "t.yaml:1:");
    free(deep);
    deep = nested(1000, "{a: ", "}");
    expect_error(deep, "t.yaml:1:");
    free(deep);
    deep = nested(YAML_MAX_DEPTH + 2, "- ", "");
    expect_error(deep, "t.yaml:1:");
    free(deep);
}

/* Regression: an empty file was reported as "not valid YAML or JSON". */
static void test_empty(void **state) {
    (void)state;
    expect_error("", "t.yaml: the file is empty");
    expect_error("\n\n   \n", "the file is empty");
    expect_error("# only a comment\n  # and another\n", "the file is empty");
    expect_error("---\n", "the file is empty");
}

/* Regression: only the first of several documents was read, so the rest of
 * a file was ignored without a word. */
static void test_second_document(void **state) {
    (void)state;
    expect_error("a: 1\n---\nb: 2\n", "t.yaml:3:1: a second YAML document");
    expect_error("a: 1\n---\n---\n- x\n", "t.yaml:4:3: a second YAML document");
    /* a syntax error in a later document is still found */
    expect_error("a: 1\n---\nb: [\n", "t.yaml:");
    /* markers around one document are fine */
    expect_json("---\na: 1\n...\n", "{\"a\": 1}");
    expect_json("a: 1\n---\n", "{\"a\": 1}");
}

static void test_bad_text(void **state) {
    (void)state;
    expect_error("? [a, b]\n: 1\n", "t.yaml:1:4: mapping keys must be plain text");
    expect_error("a: \"\\xff\\ud800\"\n", "t.yaml:1:");
    expect_error("\xff: 1\n", "t.yaml:1:1: not valid UTF-8");

    /* only len bytes are read */
    const char *text = "a: 1\nb: [";
    json_t *v = yaml_parse("t.yaml", text, 4, NULL, err, sizeof(err));
    assert_non_null(v);
    assert_int_equal(json_integer_value(json_object_get(v, "a")), 1);
    json_decref(v);
}

/* Regression: libfyaml ended the document at a malformed UTF-8 sequence
 * without an error, so "a: \xc3(\nb: 2" read as {"a": null}. */
static void test_invalid_utf8(void **state) {
    (void)state;
    expect_error("a: \xc3\x28\nb: 2\n", "t.yaml:1:4: not valid UTF-8");
    expect_error("a: 1\nb: x\xff\n", "t.yaml:2:5: not valid UTF-8");
    expect_error("a: \xc0\xaf\n", "not valid UTF-8");         /* overlong "/" */
    expect_error("a: \xed\xa0\x80\n", "not valid UTF-8");     /* surrogate */
    expect_error("a: \xf4\x90\x80\x80\n", "not valid UTF-8"); /* past U+10FFFF */
    expect_error("a: \xe2\x82", "t.yaml:1:4: not valid UTF-8");   /* cut short */
    /* well-formed text of every length passes, columns count characters */
    expect_json("a: \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\xa5\"\n",
                "{\"a\": \"\\u00e9\\u20ac\\ud83d\\udd25\"}");
    expect_error("\xc3\xa9\xc3\xa9: \xff", "t.yaml:1:5: not valid UTF-8");
}

/* Regression: libfyaml 0.7.12 turned 'a''''b' into "a'''" (and leaked the
 * buffer), so single-quoted text is decoded by yaml.c itself. */
static void test_single_quoted(void **state) {
    (void)state;
    expect_json("['a''''b', '''''', 'it''s', '''', 'a''b''c', '']",
                "[\"a''b\", \"''\", \"it's\", \"'\", \"a'b'c\", \"\"]");
    /* folding: one break is a space, more keep all but one; blanks go */
    expect_json("- 'one  \n   two'\n- 'a\n\n  \n  b  '\n- ' lead'\n- 'crlf\r\n  x'\n",
                "[\"one two\", \"a\\n\\nb  \", \" lead\", \"crlf x\"]");
    /* keys too, and their duplicates are still found */
    expect_json("'k''''ey': 1\n", "{\"k''ey\": 1}");
    expect_error("'a''''b': 1\n'a''''b': 2\n", "t.yaml:2:2: duplicate key \"a''b\"");
    expect_error("'a': 1\na: 2\n", "t.yaml:2:1: duplicate key \"a\"");
    /* positions are unchanged */
    json_t *pos = NULL;
    json_t *v = parse_ok("a: 'x''''y'\nb: 1\n", &pos);
    expect_position(pos, "/b", 2, 4);
    json_decref(v);
    json_decref(pos);
}

/* Regression: an empty block scalar at the very end of the input read as
 * "\u0000" (libfyaml 0.7.12). */
static void test_empty_block_scalar(void **state) {
    (void)state;
    expect_json("a: |\n", "{\"a\": \"\"}");
    expect_json("a: >\n", "{\"a\": \"\"}");
    expect_json("a: |+\n", "{\"a\": \"\"}");
    expect_json("a: |2\n", "{\"a\": \"\"}");
    expect_json("a: |\nb: 1\n", "{\"a\": \"\", \"b\": 1}");
    expect_json("- >\n", "[\"\"]");
    expect_json("a: |\n  x\n", "{\"a\": \"x\\n\"}");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalar_types),
        cmocka_unit_test(test_nested),
        cmocka_unit_test(test_json_input),
        cmocka_unit_test(test_positions),
        cmocka_unit_test(test_position_fallback),
        cmocka_unit_test(test_syntax_error_position),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_aliases_refused),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_second_document),
        cmocka_unit_test(test_bad_text),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_single_quoted),
        cmocka_unit_test(test_empty_block_scalar),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
