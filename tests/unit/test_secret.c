/* test_secret.c - reading, resolving and scrubbing named secrets */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/secret.h"
#include "tests/harness/tmpdir.h"

static char dir[64];

static int setup(void **state) {
    (void)state;
    return tmpdir_make(dir, sizeof(dir), "secret");
}

static int teardown(void **state) {
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void put(const char *sub, const char *name, const char *text) {
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, sub);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* The environment wins; then the directories in order; a trailing newline
 * (as `kubectl create secret --from-file` keeps it) is dropped. */
static void test_read(void **state) {
    (void)state;
    char err[512], dirs[256];
    put("a", "jira.token", "from-a\n");
    put("b", "jira.token", "from-b");
    put("b", "slack-webhook", "https://hooks.example/T/B/x\r\n");
    snprintf(dirs, sizeof(dirs), "%s/none:%s/a:%s/b", dir, dir, dir);
    char *v = secret_read(dirs, "jira.token", err, sizeof(err));
    assert_string_equal(v, "from-a");
    free(v);
    v = secret_read(dirs, "slack-webhook", err, sizeof(err));
    assert_string_equal(v, "https://hooks.example/T/B/x");
    free(v);
    setenv("MUSTER_SECRET_JIRA_TOKEN", "from-env", 1);
    v = secret_read(dirs, "jira.token", err, sizeof(err));
    assert_string_equal(v, "from-env");
    free(v);
    unsetenv("MUSTER_SECRET_JIRA_TOKEN");
    assert_null(secret_read(dirs, "missing", err, sizeof(err)));
    assert_non_null(strstr(err, "MUSTER_SECRET_MISSING"));
    assert_null(secret_read(dirs, "../a/jira.token", err, sizeof(err)));
    assert_non_null(strstr(err, "not a secret name"));
    assert_false(secret_name_ok(".hidden"));
    assert_false(secret_name_ok(""));
    assert_false(secret_name_ok("a/b"));
    assert_true(secret_name_ok("slack_token"));
}

static void test_resolve_and_scrub(void **state) {
    (void)state;
    char err[512];
    secret_set set = {0};
    setenv("MUSTER_SECRET_TOK", "tok-abcdef", 1);
    setenv("MUSTER_SECRET_PIN", "123", 1);
    json_t *with = json_pack("{s:{s:s}, s:[{s:s}, s], s:{s:{s:s}}, s:{s:s, s:s}}", "token",
                             "secret", "tok", "list", "secret", "pin", "plain", "deep", "x",
                             "secret", "tok", "notref", "secret", "tok", "other", "y");
    assert_int_equal(secret_resolve(with, "", &set, err, sizeof(err)), 0);
    assert_string_equal(json_string_value(json_object_get(with, "token")), "tok-abcdef");
    assert_string_equal(json_string_value(json_array_get(json_object_get(with, "list"), 0)), "123");
    assert_string_equal(json_string_value(json_object_get(json_object_get(with, "deep"), "x")),
                        "tok-abcdef");
    /* A map with more than the one key is not a reference. */
    assert_string_equal(json_string_value(json_object_get(json_object_get(with, "notref"), "secret")),
                        "tok");
    assert_int_equal(set.n, 2); /* the same value twice is kept once */
    json_decref(with);

    json_t *out = json_pack("{s:s, s:[s], s:s}", "echo", "Bearer tok-abcdef and tok-abcdef",
                            "list", "xtok-abcdefx", "short", "pin 123 stays");
    secret_scrub_json(&set, out);
    assert_string_equal(json_string_value(json_object_get(out, "echo")), "Bearer [secret] and [secret]");
    assert_string_equal(json_string_value(json_array_get(json_object_get(out, "list"), 0)), "x[secret]x");
    /* Values under 4 bytes are not scrubbed: they would mangle everything. */
    assert_string_equal(json_string_value(json_object_get(out, "short")), "pin 123 stays");
    json_decref(out);
    char msg[24] = "e tok-abcdef e";
    secret_scrub_str(&set, msg, sizeof(msg));
    assert_string_equal(msg, "e [secret] e");
    secret_set_clear(&set);
    assert_int_equal(set.n, 0);

    with = json_pack("{s:{s:s}}", "token", "secret", "absent");
    assert_int_equal(secret_resolve(with, "", &set, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "secret \"absent\" is not set"));
    json_decref(with);
    secret_set_clear(&set);
}

/* A webhook URL is secret for its path: an echo of the path alone is
 * masked too (the bug the end-to-end search found). */
static void test_url_path_scrubbed(void **state) {
    (void)state;
    char err[512];
    secret_set set = {0};
    setenv("MUSTER_SECRET_HOOK", "https://hooks.example.com/services/T0/B0/xyz123", 1);
    json_t *with = json_pack("{s:{s:s}}", "url", "secret", "hook");
    assert_int_equal(secret_resolve(with, "", &set, err, sizeof(err)), 0);
    json_t *out = json_pack("{s:s, s:s}", "error", "no route for /services/T0/B0/xyz123",
                            "full", "posting to https://hooks.example.com/services/T0/B0/xyz123");
    secret_scrub_json(&set, out);
    assert_string_equal(json_string_value(json_object_get(out, "error")), "no route for [secret]");
    assert_null(strstr(json_string_value(json_object_get(out, "full")), "xyz123"));
    json_decref(out);
    json_decref(with);
    secret_set_clear(&set);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read),
        cmocka_unit_test(test_resolve_and_scrub),
        cmocka_unit_test(test_url_path_scrubbed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
