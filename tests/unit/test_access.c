/* test_access.c - the API's tokens: hashed, each naming its holder and its scopes */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/access.h"
#include "common/sha256.h"

/* sha256 of "tok-a" and "tok-b" (echo -n tok-a | sha256sum) */
static char line_a[128], line_b[128];

static int setup(void **state) {
    (void)state;
    char hex[SHA256_HEX_LEN];
    sha256_hex("tok-a", 5, hex);
    snprintf(line_a, sizeof(line_a), "dana sha256:%s incidents:read,incidents:ack", hex);
    sha256_hex("tok-b", 5, hex);
    snprintf(line_b, sizeof(line_b), "ops-bot@x sha256:%s admin", hex);
    return 0;
}

static void test_parse_and_match(void **state) {
    (void)state;
    access_tokens t = {0};
    char text[512], err[256];
    snprintf(text, sizeof(text), "# tokens\n\n  %s\r\n\t%s\n   # indented comment\n", line_a, line_b);
    assert_int_equal(access_parse(&t, text, strlen(text), "f", err, sizeof(err)), 0);
    assert_int_equal(t.n, 2);
    assert_string_equal(t.v[0].name, "dana");
    assert_int_equal(t.v[0].scopes, SCOPE_INCIDENTS_READ | SCOPE_INCIDENTS_ACK);
    const access_token *k = access_match(&t, "tok-a", 5);
    assert_non_null(k);
    assert_string_equal(k->name, "dana");
    assert_true(access_allows(k, SCOPE_INCIDENTS_READ));
    assert_true(access_allows(k, SCOPE_INCIDENTS_ACK));
    assert_false(access_allows(k, SCOPE_INCIDENTS_WRITE));
    assert_false(access_allows(k, SCOPE_TASKS_REPLAY));
    assert_false(access_allows(k, SCOPE_ADMIN));
    k = access_match(&t, "tok-b", 5);
    assert_non_null(k);
    for (unsigned s = 1; s <= SCOPE_ADMIN; s <<= 1) assert_true(access_allows(k, s)); /* admin: all */
    assert_null(access_match(&t, "tok-", 4));
    assert_null(access_match(&t, "tok-a ", 6));
    assert_null(access_match(&t, "", 0));
    assert_false(access_allows(NULL, SCOPE_INCIDENTS_READ));
    access_free(&t);
    assert_int_equal(t.n, 0);
}

/* Each refusal names the source, the line and what is wrong. */
static void refused(const char *text, const char *want) {
    access_tokens t = {0};
    char err[512] = "";
    assert_int_equal(access_parse(&t, text, strlen(text), "tokens", err, sizeof(err)), -1);
    if (!strstr(err, want)) fail_msg("\"%s\": got \"%s\", want \"%s\"", text, err, want);
    access_free(&t);
}

static void test_refusals(void **state) {
    (void)state;
    char text[600], upper[128];
    refused("dana", "tokens: line 1: \"dana\" has no sha256:HEX");
    refused("# c\nda na sha256:00 admin", "line 2:");
    refused("d@n!a sha256:00 admin", "the name \"d@n!a\" is not");
    refused("dana sha256:abc admin", "has no sha256:HEX of 64 hex digits");
    refused("dana sha256:zz00000000000000000000000000000000000000000000000000000000000000 admin",
            "not a hex digit (at 8)");
    snprintf(text, sizeof(text), "%.*s", (int)(strstr(line_a, " incidents") - line_a), line_a);
    refused(text, "has no scopes");
    snprintf(text, sizeof(text), "%.*s incident:read", (int)(strstr(line_a, " incidents") - line_a), line_a);
    refused(text, "unknown scope \"incident:read\" (incidents:read, incidents:ack");
    snprintf(text, sizeof(text), "%.*s admin,", (int)(strstr(line_a, " incidents") - line_a), line_a);
    refused(text, "an empty scope");
    snprintf(text, sizeof(text), "%s extra", line_a);
    refused(text, "more than three fields");
    snprintf(text, sizeof(text), "%s\n%s", line_a, line_a);
    refused(text, "line 2: the name \"dana\" is there twice");
    /* The same hash in upper case is the same token. */
    snprintf(upper, sizeof(upper), "%s", strchr(line_a, ':') + 1);
    for (char *p = upper; *p && *p != ' '; p++) *p = (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p);
    snprintf(text, sizeof(text), "%s\nrob sha256:%s", line_a, upper);
    refused(text, "line 2: \"rob\" has the token of \"dana\"");
    refused("a sha256:\0", "has no sha256:HEX");
    char nul[] = "dana sha256:00\0 admin";
    access_tokens t = {0};
    char err[256];
    assert_int_equal(access_parse(&t, nul, sizeof(nul) - 1, "f", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "a NUL byte"));
}

static void test_new_token_matches_its_line(void **state) {
    (void)state;
    char tok[128], line[256], err[256];
    access_tokens t = {0};
    assert_int_equal(access_token_new("carol", SCOPE_TASKS_REPLAY | SCOPE_INCIDENTS_READ, tok,
                                      sizeof(tok), line, sizeof(line), err, sizeof(err)), 0);
    assert_int_equal(strlen(tok), 4 + 64);
    assert_memory_equal(tok, "mst_", 4);
    assert_null(strstr(line, tok + 4)); /* the line holds the hash, not the token */
    assert_non_null(strstr(line, " incidents:read,tasks:replay\n"));
    assert_int_equal(access_parse(&t, line, strlen(line), "f", err, sizeof(err)), 0);
    const access_token *k = access_match(&t, tok, strlen(tok));
    assert_non_null(k);
    assert_string_equal(k->name, "carol");
    assert_true(access_allows(k, SCOPE_TASKS_REPLAY));
    assert_false(access_allows(k, SCOPE_INCIDENTS_ACK));
    access_free(&t);
    char tok2[128];
    assert_int_equal(access_token_new("carol", SCOPE_ADMIN, tok2, sizeof(tok2), line, sizeof(line), err, sizeof(err)), 0);
    assert_string_not_equal(tok, tok2);
    assert_int_equal(access_token_new("ca rol", SCOPE_ADMIN, tok, sizeof(tok), line, sizeof(line), err, sizeof(err)), -1);
    assert_int_equal(access_token_new("carol", 0, tok, sizeof(tok), line, sizeof(line), err, sizeof(err)), -1);
    assert_non_null(strstr(err, "at least one scope"));
}

static void test_scopes_round_trip(void **state) {
    (void)state;
    unsigned s;
    char err[256], buf[128];
    assert_int_equal(access_scopes_parse("tasks:replay,incidents:write", 28, &s, err, sizeof(err)), 0);
    assert_int_equal(s, SCOPE_TASKS_REPLAY | SCOPE_INCIDENTS_WRITE);
    access_scopes_format(s, buf, sizeof(buf));
    assert_string_equal(buf, "incidents:write,tasks:replay");
    assert_int_equal(access_scopes_parse("", 0, &s, err, sizeof(err)), -1);
    assert_int_equal(access_scopes_parse("admin,admin", 11, &s, err, sizeof(err)), 0);
    assert_int_equal(s, SCOPE_ADMIN);
    assert_string_equal(access_scope_name(SCOPE_INCIDENTS_ACK), "incidents:ack");
}

static void test_load_file(void **state) {
    (void)state;
    char path[] = "/tmp/muster-access-XXXXXX", err[512];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "%s\n%s\n", line_a, line_b);
    fclose(f);
    access_tokens t = {0};
    assert_int_equal(access_load(&t, path, err, sizeof(err)), 0);
    assert_int_equal(t.n, 2);
    access_free(&t);
    assert_int_equal(access_load(&t, "", err, sizeof(err)), 0); /* no file: no tokens */
    assert_int_equal(t.n, 0);
    unlink(path);
    assert_int_equal(access_load(&t, path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "api.tokens_file"));
}

/* A Secret mounted as a folder: a file per key, Kubernetes' own entries
 * (..data, dot-folders) left out. */
static void test_load_folder(void **state) {
    (void)state;
    char dir[] = "/tmp/muster-access-dir-XXXXXX", path[128], err[512];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/b-ops", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "%s\n", line_b);
    fclose(f);
    snprintf(path, sizeof(path), "%s/a-people", dir);
    f = fopen(path, "w");
    fprintf(f, "%s\n", line_a);
    fclose(f);
    snprintf(path, sizeof(path), "%s/..data", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/..data/junk", dir);
    f = fopen(path, "w");
    fprintf(f, "not a token line\n");
    fclose(f);
    access_tokens t = {0};
    assert_int_equal(access_load(&t, dir, err, sizeof(err)), 0);
    assert_int_equal(t.n, 2);
    assert_string_equal(t.v[0].name, "dana"); /* a-people first */
    assert_string_equal(t.v[1].name, "ops-bot@x");
    access_free(&t);
    /* the same token in two files is refused, naming the file */
    snprintf(path, sizeof(path), "%s/c-again", dir);
    f = fopen(path, "w");
    fprintf(f, "%s\n", line_a);
    fclose(f);
    assert_int_equal(access_load(&t, dir, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "c-again: line 1: the name \"dana\" is there twice"));
    access_free(&t);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_match),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_new_token_matches_its_line),
        cmocka_unit_test(test_scopes_round_trip),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_load_folder),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
