/* test_action_exec.c - the exec action: programs only from exec.dirs, and
 * alert data reaching them as inert data whatever it holds */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/harness/action_run.h"

static char dir[] = "/tmp/muster-exec-XXXXXX";
static char scripts[64], outside[64], marker[64];

static void write_file(const char *path, const char *text, mode_t mode) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

static int setup(void **state) {
    char path[400];
    (void)state;
    if (!mkdtemp(dir)) return -1;
    snprintf(scripts, sizeof(scripts), "%s/scripts", dir);
    snprintf(outside, sizeof(outside), "%s/outside", dir);
    snprintf(marker, sizeof(marker), "%s/pwned", dir);
    mkdir(scripts, 0755);
    mkdir(outside, 0755);
    /* Shows exactly what it was given: each argument, the label from the
     * environment, and stdin. */
    snprintf(path, sizeof(path), "%s/show-args", scripts);
    write_file(path,
               "#!/bin/sh\n"
               "for a in \"$@\"; do printf '<%s>' \"$a\"; done\n"
               "printf '|env<%s>' \"$MUSTER_LABEL_EVIL\"\n"
               "printf '|stdin<'; cat; printf '>'\n",
               0755);
    snprintf(path, sizeof(path), "%s/not-allowed", outside);
    write_file(path, "#!/bin/sh\necho ran\n", 0755);
    /* A link inside the allowed directory to a program outside it. */
    char link[400];
    snprintf(link, sizeof(link), "%s/escape", scripts);
    if (symlink(path, link) < 0) return -1;
    return 0;
}

static int teardown(void **state) {
    char cmd[400];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static task *exec_task(action_env *e, json_t *command, const char *label) {
    char err[256];
    config_set(&e->cfg, "exec.dirs", scripts, err, sizeof(err));
    task *t = action_task(NULL, "diag", "exec", json_pack("{s:o}", "command", command), false);
    json_t *labels = json_object_get(json_object_get(t->run.ctx, "alert"), "labels");
    json_object_set_new(labels, "evil", json_string(label));
    return t;
}

/* $(...), backticks, ;, &&, |, newlines, quotes and a leading '-' in a label
 * reach the program as the very bytes they are, in argv, in the environment
 * and on stdin; no shell ever sees them. */
static void labels_are_inert(void **state) {
    (void)state;
    char payloads[8][200];
    snprintf(payloads[0], 200, "$(touch %s)", marker);
    snprintf(payloads[1], 200, "`touch %s`", marker);
    snprintf(payloads[2], 200, "x; touch %s", marker);
    snprintf(payloads[3], 200, "x\ntouch %s", marker);
    snprintf(payloads[4], 200, "-rf");
    snprintf(payloads[5], 200, "x && touch %s || touch %s", marker, marker);
    snprintf(payloads[6], 200, "'\"; touch %s #", marker);
    snprintf(payloads[7], 200, "--output=%s", marker);
    for (size_t i = 0; i < 8; i++) {
        action_env e;
        assert_int_equal(action_env_init(&e, 0), 0);
        task *t = exec_task(&e,
                            json_pack("[s, s, s, s]", "show-args", "{{ alert.labels.evil }}",
                                      "--host", "pre-{{ alert.labels.evil }}"),
                            payloads[i]);
        assert_int_equal(action_run(&e, t), 0);
        if (!t->res.succeeded) fail_msg("payload %zu: %s", i, t->error);
        assert_int_equal(json_integer_value(action_output(t, "exit_code")), 0);
        const char *out = json_string_value(action_output(t, "stdout"));
        char want[5000];
        snprintf(want, sizeof(want), "<%s><--host><pre-%s>|env<%s>|stdin<", payloads[i],
                 payloads[i], payloads[i]);
        if (!out || strncmp(out, want, strlen(want)) != 0)
            fail_msg("payload %zu: stdout %s, wanted it to start %s", i, out ? out : "(none)", want);
        /* stdin carries the alert as JSON: the label is a JSON string there. */
        json_t *doc = json_loads(out + strlen(want), JSON_DISABLE_EOF_CHECK, NULL);
        assert_non_null(doc);
        assert_string_equal(
            json_string_value(json_object_get(
                json_object_get(json_object_get(doc, "alert"), "labels"), "evil")),
            payloads[i]);
        json_decref(doc);
        assert_int_not_equal(access(marker, F_OK), 0);
        task_free(e.w, t);
        action_env_free(&e);
    }
}

/* A label cannot choose the program either: argv[0] from a template must
 * still name a program in exec.dirs. */
static void program_must_be_in_exec_dirs(void **state) {
    (void)state;
    char path[400];
    struct {
        const char *program;
        const char *why;
    } cases[4];
    snprintf(path, sizeof(path), "%s/not-allowed", outside);
    char dotdot[400], link[400];
    snprintf(dotdot, sizeof(dotdot), "%s/../outside/not-allowed", scripts);
    snprintf(link, sizeof(link), "%s/escape", scripts);
    cases[0].program = path;          /* an absolute path outside */
    cases[1].program = dotdot;        /* .. out of the directory */
    cases[2].program = link;          /* a link inside pointing outside */
    cases[3].program = "sh";          /* a bare name not in the directory */
    for (size_t i = 0; i < 4; i++) {
        action_env e;
        assert_int_equal(action_env_init(&e, 0), 0);
        task *t = exec_task(&e, json_pack("[s]", cases[i].program), "x");
        assert_int_equal(action_run(&e, t), 0);
        assert_int_equal(t->res.succeeded, 0);
        assert_int_equal(t->res.permanent, 1);
        if (!strstr(t->error, "is not a program in exec.dirs"))
            fail_msg("case %zu: %s", i, t->error);
        task_free(e.w, t);
        action_env_free(&e);
    }
    /* The same program by its path inside the directory runs. */
    action_env e;
    assert_int_equal(action_env_init(&e, 0), 0);
    snprintf(path, sizeof(path), "%s/show-args", scripts);
    task *t = exec_task(&e, json_pack("[s, s]", path, "ok"), "x");
    assert_int_equal(action_run(&e, t), 0);
    assert_int_equal(t->res.succeeded, 1);
    task_free(e.w, t);
    action_env_free(&e);
}

/* A secret given in env: reaches the program but not the output. */
static void secret_in_env_not_in_output(void **state) {
    (void)state;
    char err[256], path[400];
    action_env e;
    assert_int_equal(action_env_init(&e, 0), 0);
    snprintf(path, sizeof(path), "%s/print-token", scripts);
    write_file(path, "#!/bin/sh\nprintf 'token=%s' \"$DB_TOKEN\"\nprintf 'oops %s' \"$DB_TOKEN\" >&2\nexit 3\n", 0755);
    config_set(&e.cfg, "exec.dirs", scripts, err, sizeof(err));
    /* From a file in secrets.dirs this time. */
    char sdir[200];
    snprintf(sdir, sizeof(sdir), "%s/secrets", dir);
    mkdir(sdir, 0700);
    snprintf(path, sizeof(path), "%s/db_token", sdir);
    write_file(path, "tok-4f1a-planted\n", 0600);
    config_set(&e.cfg, "secrets.dirs", sdir, err, sizeof(err));
    task *t = action_task(NULL, "diag", "exec",
                          json_pack("{s:[s], s:{s:{s:s}}}", "command", "print-token", "env",
                                    "DB_TOKEN", "secret", "db_token"),
                          false);
    assert_int_equal(action_run(&e, t), 0);
    assert_int_equal(t->res.succeeded, 0);
    assert_int_equal(json_integer_value(action_output(t, "exit_code")), 3);
    assert_string_equal(json_string_value(action_output(t, "stdout")), "token=[secret]");
    char *dump = json_dumps(t->res.output, JSON_COMPACT);
    assert_null(strstr(dump, "tok-4f1a-planted"));
    free(dump);
    assert_null(strstr(t->error, "tok-4f1a-planted"));
    task_free(e.w, t);
    action_env_free(&e);
}

/* A program sees stdin, stdout and stderr and nothing else of the worker:
 * not its Redis connection, not curl's sockets, not a pipe (the bug: every
 * descriptor opened without close-on-exec reached the child, so a script
 * could talk to Redis as the worker). The test holds a socketpair opened
 * without close-on-exec, as hiredis and curl open their sockets. */
static void only_stdio_inherited(void **state) {
    (void)state;
    char err[256], path[400];
    const char *want = "0 1 2 ";
    int sv[2];
    action_env e;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(action_env_init(&e, 0), 0);
    /* ls lists the descriptors of its own process; the one it reads the
     * directory with is left out. */
    snprintf(path, sizeof(path), "%s/list-fds", scripts);
    write_file(path,
               "#!/bin/sh\n"
               "ls -l /proc/self/fd | sed -n 's/.* \\([0-9][0-9]*\\) -> \\(.*\\)$/\\1 \\2/p' |\n"
               "  grep -v ' /proc/[0-9]*/fd$' | cut -d' ' -f1 | tr '\\n' ' '\n",
               0755);
    config_set(&e.cfg, "exec.dirs", scripts, err, sizeof(err));
    task *t = action_task(NULL, "diag", "exec", json_pack("{s:[s]}", "command", "list-fds"), false);
    assert_int_equal(action_run(&e, t), 0);
    if (!t->res.succeeded) fail_msg("list-fds: %s", t->error);
    const char *out = json_string_value(action_output(t, "stdout"));
    if (!out || strcmp(out, want) != 0)
        fail_msg("the program had descriptors \"%s\", wanted \"%s\" (the test holds %d and %d)",
                 out ? out : "(none)", want, sv[0], sv[1]);
    task_free(e.w, t);
    action_env_free(&e);
    close(sv[0]);
    close(sv[1]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(labels_are_inert),
        cmocka_unit_test(program_must_be_in_exec_dirs),
        cmocka_unit_test(secret_in_env_not_in_output),
        cmocka_unit_test(only_stdio_inherited),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
