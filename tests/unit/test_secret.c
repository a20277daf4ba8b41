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

/* Resolves a definition's references in place, as if no template changed it. */
static int resolve_plain(json_t *with, secret_set *set, char *err, size_t errlen) {
    json_t *def = json_deep_copy(with);
    int rc = secret_resolve(def, with, "", set, err, errlen);
    json_decref(def);
    return rc;
}

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
    assert_int_equal(resolve_plain(with, &set, err, sizeof(err)), 0);
    assert_string_equal(json_string_value(json_object_get(with, "token")), "tok-abcdef");
    assert_string_equal(json_string_value(json_array_get(json_object_get(with, "list"), 0)), "123");
    assert_string_equal(json_string_value(json_object_get(json_object_get(with, "deep"), "x")),
                        "tok-abcdef");
    /* A map with more than the one key is not a reference. */
    assert_string_equal(json_string_value(json_object_get(json_object_get(with, "notref"), "secret")),
                        "tok");
    /* The same value twice is kept once: resolving again adds nothing. */
    size_t kept = set.n;
    json_decref(with);
    with = json_pack("{s:{s:s}}", "again", "secret", "tok");
    assert_int_equal(resolve_plain(with, &set, err, sizeof(err)), 0);
    assert_int_equal(set.n, kept);
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
    assert_int_equal(resolve_plain(with, &set, err, sizeof(err)), -1);
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
    assert_int_equal(resolve_plain(with, &set, err, sizeof(err)), 0);
    json_t *out = json_pack("{s:s, s:s}", "error", "no route for /services/T0/B0/xyz123",
                            "full", "posting to https://hooks.example.com/services/T0/B0/xyz123");
    secret_scrub_json(&set, out);
    assert_string_equal(json_string_value(json_object_get(out, "error")), "no route for [secret]");
    assert_null(strstr(json_string_value(json_object_get(out, "full")), "xyz123"));
    json_decref(out);
    json_decref(with);
    secret_set_clear(&set);
}

/* A vendor that echoes a secret percent-encoded or base64-encoded (an
 * Authorization: Basic header, a query string) is masked as well. */
static void test_encoded_echoes_scrubbed(void **state) {
    (void)state;
    char err[512];
    secret_set set = {0};
    setenv("MUSTER_SECRET_PASS", "p@ss w/rd+9Zq", 1);
    json_t *with = json_pack("{s:{s:s}}", "password", "secret", "pass");
    assert_int_equal(resolve_plain(with, &set, err, sizeof(err)), 0);
    json_decref(with);
    /* base64("ACxxxx:p@ss w/rd+9Zq"), base64("u:p@ss w/rd+9Zq") and
     * base64("p@ss w/rd+9Zq"): the three alignments. */
    const char *const echoes[] = {
        "Basic QUN4eHh4OnBAc3Mgdy9yZCs5WnE=",
        "Basic dTpwQHNzIHcvcmQrOVpx",
        "cEBzcyB3L3JkKzlacQ==",
        "pw=p%40ss%20w%2Frd%2B9Zq&x=1",
        "pw=p%40ss+w%2Frd%2B9Zq",
    };
    const char *const masked[] = {"Basic QUN4eHh4On[secret]E=", "Basic dTp[secret]", "[secret]Q==",
                                  "pw=[secret]&x=1", "pw=[secret]"};
    for (size_t i = 0; i < sizeof(echoes) / sizeof(echoes[0]); i++) {
        char msg[128];
        snprintf(msg, sizeof(msg), "%s", echoes[i]);
        secret_scrub_str(&set, msg, sizeof(msg));
        assert_string_equal(msg, masked[i]);
    }
    secret_set_clear(&set);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read),
        cmocka_unit_test(test_resolve_and_scrub),
        cmocka_unit_test(test_url_path_scrubbed),
        cmocka_unit_test(test_encoded_echoes_scrubbed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
