/* test_sentinel.c - finding the primary through real redis-sentinel
 * processes: the list syntax, a dead sentinel skipped, an unknown name, and
 * a store that follows a failover when its old primary answers READONLY */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "common/config.h"
#include "state/sentinel.h"
#include "state/store.h"
#include "tests/harness/redis_fixture.h"
#include "tests/harness/tmpdir.h"

extern char **environ;

#define NSENTINELS 3

static redis_fixture primary;
static pid_t replica_pid, sentinel_pid[NSENTINELS];
static int replica_port, sentinel_port[NSENTINELS], dead_port;
static char dir[256];
static int have_sentinel;

static redisReply *ask(int port, const char *fmt, ...) {
    struct timeval tv = {0, 500000};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    redisReply *r = NULL;
    if (c && !c->err) {
        va_list ap;
        redisSetTimeout(c, tv);
        va_start(ap, fmt);
        r = redisvCommand(c, fmt, ap);
        va_end(ap);
    }
    if (c) redisFree(c);
    return r;
}

static int role_is(int port, const char *role) {
    redisReply *r = ask(port, "ROLE");
    int ok = r && r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
             strcmp(r->element[0]->str, role) == 0;
    if (r) freeReplyObject(r);
    return ok;
}

/* The port sentinel i names as the primary, or -1. */
static int named_primary(int i) {
    redisReply *r = ask(sentinel_port[i], "SENTINEL get-master-addr-by-name mymaster");
    int port = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 ? atoi(r->element[1]->str) : -1;
    if (r) freeReplyObject(r);
    return port;
}

/* Whether sentinel i knows the replica and sees it up. */
static int knows_replica(int i) {
    redisReply *r = ask(sentinel_port[i], "SENTINEL replicas mymaster");
    int ok = 0;
    for (size_t k = 0; r && r->type == REDIS_REPLY_ARRAY && k < r->elements; k++) {
        const redisReply *e = r->element[k];
        int port = 0, up = 0;
        for (size_t f = 0; f + 1 < e->elements; f += 2) {
            if (strcmp(e->element[f]->str, "port") == 0) port = atoi(e->element[f + 1]->str);
            if (strcmp(e->element[f]->str, "flags") == 0) up = strcmp(e->element[f + 1]->str, "slave") == 0;
            if (strcmp(e->element[f]->str, "master-link-status") == 0 &&
                strcmp(e->element[f + 1]->str, "ok") != 0)
                up = 0;
        }
        if (port == replica_port && up) ok = 1;
    }
    if (r) freeReplyObject(r);
    return ok;
}

/* Polls cond every 50 ms for up to seconds. */
static int wait_until(int (*cond)(void), int seconds) {
    for (int i = 0; i < seconds * 20; i++) {
        if (cond()) return 1;
        usleep(50000);
    }
    return 0;
}

static int replica_synced(void) { return role_is(replica_port, "slave") && knows_replica(0); }

static int spawn(pid_t *pid, const char *const argv[]) {
    return posix_spawnp(pid, argv[0], NULL, NULL, (char *const *)argv, environ) == 0 ? 0 : -1;
}

static int up(int port) {
    redisReply *r = ask(port, "PING");
    int ok = r != NULL;
    if (r) freeReplyObject(r);
    return ok;
}

static int setup(void **state) {
    (void)state;
    char port[16], master[16], path[320];
    if (system("command -v redis-sentinel >/dev/null 2>&1") != 0) return 0;
    have_sentinel = 1;
    if (redis_fixture_start(&primary) < 0 || tmpdir_make(dir, sizeof(dir), "sentinel") < 0) return -1;
    replica_port = redis_fixture_free_port();
    snprintf(port, sizeof(port), "%d", replica_port);
    snprintf(master, sizeof(master), "%d", primary.port);
    const char *rargv[] = {"redis-server", "--port", port, "--bind", "127.0.0.1", "--dir", dir,
                           "--save", "", "--loglevel", "warning", "--logfile", "replica.log", "--replicaof", "127.0.0.1",
                           master, NULL};
    if (spawn(&replica_pid, rargv) < 0) return -1;
    for (int i = 0; i < NSENTINELS; i++) {
        sentinel_port[i] = redis_fixture_free_port();
        snprintf(path, sizeof(path), "%s/sentinel%d.conf", dir, i);
        FILE *f = fopen(path, "w");
        if (!f) return -1;
        fprintf(f,
                "port %d\nbind 127.0.0.1\ndir %s\nloglevel warning\nlogfile sentinel.log\n"
                "sentinel monitor mymaster 127.0.0.1 %d 2\n"
                "sentinel down-after-milliseconds mymaster 1000\n"
                "sentinel failover-timeout mymaster 3000\n",
                sentinel_port[i], dir, primary.port);
        fclose(f);
        const char *sargv[] = {"redis-sentinel", path, NULL};
        if (spawn(&sentinel_pid[i], sargv) < 0) return -1;
    }
    for (int i = 0; i < 100 && !(up(replica_port) && up(sentinel_port[0]) &&
                                 up(sentinel_port[1]) && up(sentinel_port[2]));
         i++)
        usleep(50000);
    if (!wait_until(replica_synced, 20)) {
        fprintf(stderr, "test_sentinel: the replica did not sync or sentinel 0 did not see it\n");
        return -1;
    }
    dead_port = redis_fixture_free_port();
    return 0;
}

static void stop(pid_t *pid) {
    if (*pid > 0) {
        kill(*pid, SIGKILL);
        waitpid(*pid, NULL, 0);
        *pid = 0;
    }
}

static int teardown(void **state) {
    (void)state;
    if (!have_sentinel) return 0;
    for (int i = 0; i < NSENTINELS; i++) stop(&sentinel_pid[i]);
    stop(&replica_pid);
    redis_fixture_stop(&primary);
    return dir[0] && tmpdir_remove(dir) < 0 ? -1 : 0;
}

static void need_sentinel(void) {
    if (!have_sentinel) {
        fprintf(stderr, "redis-sentinel is not installed (scripts/deps.sh)\n");
        skip();
    }
}

static void test_list_syntax(void **state) {
    (void)state;
    char err[256];
    assert_int_equal(sentinel_list_check("127.0.0.1:26379", err, sizeof(err)), 1);
    assert_int_equal(sentinel_list_check("a:1, b:2 ,[::1]:26379", err, sizeof(err)), 3);
    assert_int_equal(sentinel_list_check("a:1,,b:2", err, sizeof(err)), -1);
    assert_int_equal(sentinel_list_check("host-without-port", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "\"host-without-port\" is not host:port"));
    assert_int_equal(sentinel_list_check("a:0", err, sizeof(err)), -1);
    assert_int_equal(sentinel_list_check("a:70000", err, sizeof(err)), -1);
    assert_int_equal(sentinel_list_check("[::1:5", err, sizeof(err)), -1);
    assert_int_equal(sentinel_list_check("", err, sizeof(err)), -1);
}

static void test_dead_sentinel_is_skipped(void **state) {
    (void)state;
    need_sentinel();
    char list[128], host[256], err[256];
    int port = 0, first = 0;
    snprintf(list, sizeof(list), "127.0.0.1:%d,127.0.0.1:%d", dead_port, sentinel_port[1]);
    assert_int_equal(sentinel_primary(list, "mymaster", "", 500, &first, host, sizeof(host), &port,
                                      err, sizeof(err)),
                     0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, primary.port);
    /* The one that answered is asked first next time. */
    assert_int_equal(first, 1);
}

static void test_unknown_name_and_no_sentinel(void **state) {
    (void)state;
    need_sentinel();
    char list[128], host[256], err[256];
    int port = 0, first = 0;
    snprintf(list, sizeof(list), "127.0.0.1:%d", sentinel_port[0]);
    assert_int_equal(sentinel_primary(list, "nosuch", "", 500, &first, host, sizeof(host), &port,
                                      err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "no primary named \"nosuch\""));
    snprintf(list, sizeof(list), "127.0.0.1:%d", dead_port);
    assert_int_equal(sentinel_primary(list, "mymaster", "", 500, &first, host, sizeof(host), &port,
                                      err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "sentinel 127.0.0.1:"));
}

static void sentinel_config(config *cfg) {
    char list[160], err[256];
    config_defaults(cfg);
    snprintf(list, sizeof(list), "127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d", sentinel_port[0],
             sentinel_port[1], sentinel_port[2]);
    assert_int_equal(config_set(cfg, "redis.sentinels", list, err, sizeof(err)), 0);
    /* redis.port points nowhere: only the sentinels may lead to Redis. */
    char dead[16];
    snprintf(dead, sizeof(dead), "%d", dead_port);
    assert_int_equal(config_set(cfg, "redis.port", dead, err, sizeof(err)), 0);
}

static void test_bad_list_is_refused(void **state) {
    (void)state;
    config cfg;
    char err[256];
    config_defaults(&cfg);
    assert_int_equal(config_set(&cfg, "redis.sentinels", "nope", err, sizeof(err)), 0);
    assert_null(store_open(&cfg, err, sizeof(err)));
    assert_non_null(strstr(err, "redis.sentinels: \"nope\""));
    config_free(&cfg);
}

static int new_primary_named(void) {
    return named_primary(0) == replica_port && named_primary(1) == replica_port &&
           named_primary(2) == replica_port && role_is(replica_port, "master");
}

/* A failover while the store stays connected to the old primary, which is
 * then demoted without closing its connections (Sentinel itself closes
 * them, some seconds later; a managed service or an operator's REPLICAOF
 * may not), so the next write is answered READONLY. The store asks the
 * sentinels again and the write lands on the new primary, commands and
 * scripts alike. */
static void test_readonly_follows_the_failover(void **state) {
    (void)state;
    need_sentinel();
    config cfg;
    char err[256];
    sentinel_config(&cfg);
    assert_int_equal(config_set(&cfg, "redis.wait_replicas", "1", err, sizeof(err)), 0);
    store *s = store_open(&cfg, err, sizeof(err));
    if (!s) fail_msg("store_open: %s", err);
    redisReply *r = store_command(s, "SET before-failover 1");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    freeReplyObject(r);
    assert_int_equal(store_wait_replicas(s), 0);
    r = ask(replica_port, "GET before-failover");
    assert_non_null(r);
    assert_string_equal(r->str, "1");
    freeReplyObject(r);

    r = ask(sentinel_port[0], "SENTINEL FAILOVER mymaster");
    assert_non_null(r);
    assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
    freeReplyObject(r);
    if (!wait_until(new_primary_named, 30)) fail_msg("the failover did not complete in 30 s");
    r = ask(primary.port, "REPLICAOF 127.0.0.1 %d", replica_port);
    assert_non_null(r);
    freeReplyObject(r);

    r = store_command(s, "SET after-failover 1");
    assert_non_null(r);
    if (r->type == REDIS_REPLY_ERROR) fail_msg("SET after the failover: %s", r->str);
    freeReplyObject(r);
    assert_true(store_connected(s));
    r = ask(replica_port, "GET after-failover");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    freeReplyObject(r);

    /* A script on the new primary: loaded on the new connection. */
    const char *argv[] = {"0", "100"};
    r = store_eval(s, SCRIPT_PROMOTE, 2, argv, err, sizeof(err));
    if (!r) fail_msg("script after the failover: %s", err);
    freeReplyObject(r);
    store_close(s);

    /* A new store asks the sentinels and lands on the new primary too. */
    s = store_open(&cfg, err, sizeof(err));
    if (!s) fail_msg("store_open after the failover: %s", err);
    r = store_command(s, "GET after-failover");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    freeReplyObject(r);
    store_close(s);
    config_free(&cfg);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_syntax),
        cmocka_unit_test(test_bad_list_is_refused),
        cmocka_unit_test(test_dead_sentinel_is_skipped),
        cmocka_unit_test(test_unknown_name_and_no_sentinel),
        cmocka_unit_test(test_readonly_follows_the_failover),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
