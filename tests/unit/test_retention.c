/* test_retention.c - retention against a real redis-server: finished
 * incidents expire with every key and index entry they own, open ones and
 * those with a dead task stay, nothing else is touched, slices are bounded,
 * one leader at a time; and the timeline is bounded per incident */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/alert.h"
#include "common/config.h"
#include "state/incident.h"
#include "state/queue.h"
#include "state/retention.h"
#include "state/store.h"
#include "common/workflow.h"
#include "tests/harness/redis_fixture.h"

static redis_fixture fx;
static config cfg;
static char wfdir[] = "/tmp/muster-test-retention-XXXXXX";
static char *pools[] = {"default"};
static workflow_set *wfs;

/* Two steps, the second needing the first, and one on_resolve step. */
static const char workflow_yaml[] =
    "name: two\n"
    "triggers:\n  - matchers: ['env=\"prod\"']\n"
    "steps:\n"
    "  - {id: a, action: noop}\n"
    "  - {id: b, action: noop, needs: [a]}\n"
    "on_resolve:\n"
    "  - {id: r, action: noop}\n";

static int setup(void **state) {
    (void)state;
    char port[16], err[256], path[300];
    if (redis_fixture_start(&fx) < 0) return -1;
    config_defaults(&cfg);
    snprintf(port, sizeof(port), "%d", fx.port);
    config_set(&cfg, "redis.port", port, err, sizeof(err));
    if (!mkdtemp(wfdir)) return -1;
    snprintf(path, sizeof(path), "%s/two.yaml", wfdir);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs(workflow_yaml, f);
    fclose(f);
    wf_diag d = {0};
    wfs = workflow_load(wfdir, &d);
    for (size_t i = 0; i < d.n; i++) fprintf(stderr, "%s\n", d.msgs[i]);
    wf_diag_free(&d);
    return wfs && wfs->n == 1 ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    char cmd[300];
    workflow_set_free(wfs);
    redis_fixture_stop(&fx);
    config_free(&cfg);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", wfdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void cmd(store *s, const char *fmt, const char *arg) {
    redisReply *r = store_command(s, fmt, arg);
    assert_non_null(r);
    assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
    freeReplyObject(r);
}

static long long integer(store *s, const char *fmt, const char *arg) {
    redisReply *r = store_command(s, fmt, arg);
    assert_non_null(r);
    long long v = r->type == REDIS_REPLY_INTEGER ? r->integer
                  : r->type == REDIS_REPLY_STRING ? atoll(r->str)
                                                  : -1;
    freeReplyObject(r);
    return v;
}

static store *fresh(void) {
    char err[256];
    store *s = store_open(&cfg, err, sizeof(err));
    assert_non_null(s);
    cmd(s, "FLUSHALL", NULL);
    assert_int_equal(queue_prepare(s, pools, 1), 0);
    return s;
}

/* Records the alert of service `svc`, firing or resolved; returns the outcome. */
static int record(store *s, const char *svc, const char *status, char *id, size_t idlen) {
    char json[256], err[256];
    alert_batch b;
    snprintf(json, sizeof(json),
             "{\"source\":\"t\",\"summary\":\"%s down\",\"status\":\"%s\",\"severity\":\"critical\","
             "\"labels\":{\"env\":\"prod\",\"service\":\"%s\"}}",
             svc, status, svc);
    assert_int_equal(alert_decode(json, strlen(json), &b, err, sizeof(err)), 0);
    int rc = incident_record(s, &b.items[0], wfs->items[0], NULL, id, idlen, err, sizeof(err));
    alert_batch_free(&b);
    return rc;
}

/* Runs every queued task: those of incident `fail` fail for good. */
static void run_tasks(store *s, const char *fail) {
    lease_item items[32];
    char err[256];
    int n;
    while ((n = queue_lease(s, "w1", pools, 1, 32, 0, items)) > 0) {
        for (int i = 0; i < n; i++) {
            task_run run;
            assert_int_equal(queue_task_start(s, "w1", &items[i], &run, err, sizeof(err)), 1);
            int ok = !fail || strcmp(items[i].incident, fail) != 0;
            task_result res = {.succeeded = ok, .error = ok ? NULL : "no", .permanent = !ok,
                               .duration_ms = 1};
            assert_int_equal(queue_task_complete(s, "w1", &items[i], &run, &res, err, sizeof(err)), 0);
            task_run_clear(&run);
        }
    }
}

/* Every key, by SCAN (never KEYS), as a set; with each key's type and value
 * size so that a change to what stays is seen too. */
static json_t *keyspace(store *s) {
    json_t *set = json_object();
    char cursor[32] = "0";
    do {
        redisReply *r = store_command(s, "SCAN %s COUNT 100", cursor);
        assert_non_null(r);
        assert_int_equal(r->type, REDIS_REPLY_ARRAY);
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++)
            json_object_set_new(set, r->element[1]->element[i]->str, json_true());
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    return set;
}

static long long memory_of(store *s, const char *key) {
    redisReply *r = store_command(s, "MEMORY USAGE %s SAMPLES 0", key);
    long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    if (r) freeReplyObject(r);
    return v;
}

static retention_policy policy(int64_t keep, int64_t dead, size_t batch) {
    retention_policy p = {keep, dead, 3600000, batch};
    return p;
}

static void test_finished_incidents_expire_with_everything_they_own(void **state) {
    (void)state;
    char done[96], open[96], dead[96], err[256], key[256];
    store *s = fresh();
    cmd(s, "SET unrelated:key %s", "stays");
    cmd(s, "HSET muster:offsets muster.alerts/0 %s", "41");

    /* done: runs, resolves, runs its on_resolve step. open: runs, never
     * resolves. dead: its step a dies, it resolves. */
    assert_int_equal(record(s, "db", "firing", done, sizeof(done)), RECORD_OPENED);
    assert_int_equal(record(s, "web", "firing", open, sizeof(open)), RECORD_OPENED);
    assert_int_equal(record(s, "mq", "firing", dead, sizeof(dead)), RECORD_OPENED);
    run_tasks(s, dead);
    assert_int_equal(record(s, "db", "resolved", done, sizeof(done)), RECORD_RESOLVED);
    assert_int_equal(record(s, "mq", "resolved", dead, sizeof(dead)), RECORD_RESOLVED);
    run_tasks(s, NULL);
    snprintf(key, sizeof(key), "muster:{%s}:memo", done);
    cmd(s, "HSET %s jira ABC-1", key);
    assert_int_equal(integer(s, "ZCARD %s", "muster:finished"), 2);
    assert_int_equal(integer(s, "ZCARD %s", "muster:dead"), 1);

    /* Not due yet: nothing goes. */
    retention_policy p = policy(3600000, 3600000, 100);
    retention_slice sl;
    assert_int_equal(retention_run(s, &p, "w1", &sl, err, sizeof(err)), 0);
    assert_int_equal(sl.expired, 0);
    assert_int_equal(sl.more, 0);
    retention_release(s, "w1");
    json_t *before = keyspace(s);

    /* A dry run lists what would go and changes nothing. */
    usleep(30 * 1000);
    p = policy(10, 3600000, 100);
    long long from = 0;
    json_t *page = retention_preview(s, &p, &from, err, sizeof(err));
    assert_non_null(page);
    assert_int_equal(from, -1);
    assert_int_equal(json_array_size(page), 2);
    int expire = 0, keep = 0;
    size_t i;
    json_t *it;
    json_array_foreach(page, i, it) {
        const char *what = json_string_value(json_object_get(it, "action"));
        const char *pid = json_string_value(json_object_get(it, "id"));
        if (!strcmp(what, "expire")) {
            expire++;
            assert_string_equal(pid, done);
            assert_true(json_integer_value(json_object_get(it, "bytes")) > 1000);
        } else {
            keep++;
            assert_string_equal(pid, dead);
        }
    }
    assert_int_equal(expire, 1);
    assert_int_equal(keep, 1);
    json_decref(page);
    json_t *same = keyspace(s);
    assert_true(json_equal(same, before));
    json_decref(same);

    /* Due: `done` goes with every key it owns; `dead` is held (a change of
     * retention.dead applies to incidents held after it). */
    p = policy(10, 300, 100);
    long long mem = 0;
    const char *k;
    json_t *v;
    json_object_foreach(before, k, v) {
        char tag[128];
        snprintf(tag, sizeof(tag), "{%s}", done);
        if (strstr(k, tag)) mem += memory_of(s, k);
    }
    assert_int_equal(retention_run(s, &p, "w1", &sl, err, sizeof(err)), 0);
    assert_int_equal(sl.busy, 0);
    assert_int_equal(sl.expired, 1);
    assert_int_equal(sl.held, 1);
    assert_int_equal(sl.more, 0);
    assert_true(sl.bytes > mem / 2 && sl.bytes <= mem * 2);
    json_t *after = keyspace(s);
    char tag[128];
    snprintf(tag, sizeof(tag), "{%s}", done);
    /* Gone: only keys of `done`; new: only retention's own. */
    json_object_foreach(before, k, v) {
        if (!json_object_get(after, k)) {
            if (!strstr(k, tag)) fprintf(stderr, "deleted and not the incident's: %s\n", k);
            assert_non_null(strstr(k, tag));
        }
    }
    json_object_foreach(after, k, v) {
        if (!json_object_get(before, k)) {
            int ours = !strcmp(k, "muster:expired") || !strcmp(k, "muster:gc:stats") ||
                       !strcmp(k, "muster:gc:leader") || !strcmp(k, "muster:gc:backfill");
            if (!ours) fprintf(stderr, "new key: %s\n", k);
            assert_true(ours);
        }
        assert_null(strstr(k, tag));
    }
    assert_true(json_object_size(after) < json_object_size(before));
    json_decref(before);
    json_decref(after);
    /* ... and its entries in the shared indexes. */
    assert_int_equal(integer(s, "ZSCORE muster:incidents %s", done), -1);
    assert_int_equal(integer(s, "ZSCORE muster:finished %s", done), -1);
    redisReply *r = store_command(s, "HVALS %s", "muster:lastgroup");
    for (size_t j = 0; j < r->elements; j++) assert_string_not_equal(r->element[j]->str, done);
    freeReplyObject(r);
    assert_int_equal(integer(s, "HLEN %s", "muster:lastgroup"), 2);
    assert_int_equal(integer(s, "ZCARD %s", "muster:incidents"), 2);
    /* The rest is untouched. */
    r = store_command(s, "GET %s", "unrelated:key");
    assert_string_equal(r->str, "stays");
    freeReplyObject(r);
    assert_int_equal(integer(s, "HGET muster:offsets %s", "muster.alerts/0"), 41);
    snprintf(key, sizeof(key), "muster:{%s}:inc", open);
    assert_int_equal(integer(s, "EXISTS %s", key), 1);
    snprintf(key, sizeof(key), "muster:{%s}:task:a", dead);
    assert_int_equal(integer(s, "EXISTS %s", key), 1);
    /* A tombstone says it expired; the totals count it. */
    assert_true(retention_expired_at(s, done) > 0);
    assert_int_equal(retention_expired_at(s, open), 0);
    assert_null(incident_show(s, done, err, sizeof(err)));
    json_t *tot = retention_totals(s);
    assert_int_equal(json_integer_value(json_object_get(tot, "expired")), 1);
    assert_int_equal(json_integer_value(json_object_get(tot, "bytes")), sl.bytes);
    json_decref(tot);

    /* After retention.dead the dead task's incident goes too, and with it
     * its entry in P:dead. */
    usleep(300 * 1000);
    assert_int_equal(retention_run(s, &p, "w1", &sl, err, sizeof(err)), 0);
    assert_int_equal(sl.expired, 1);
    assert_int_equal(integer(s, "ZCARD %s", "muster:dead"), 0);
    snprintf(key, sizeof(key), "muster:{%s}:task:a", dead);
    assert_int_equal(integer(s, "EXISTS %s", key), 0);
    /* The open one never goes. */
    assert_int_equal(integer(s, "ZCARD %s", "muster:incidents"), 1);
    snprintf(key, sizeof(key), "muster:{%s}:inc", open);
    assert_int_equal(integer(s, "EXISTS %s", key), 1);
    store_close(s);
}

static void test_a_replay_takes_it_out_of_retention(void **state) {
    (void)state;
    char id[96], err[256], outcome[32], prev[32];
    store *s = fresh();
    assert_int_equal(record(s, "db", "firing", id, sizeof(id)), RECORD_OPENED);
    run_tasks(s, id);
    assert_int_equal(record(s, "db", "resolved", id, sizeof(id)), RECORD_RESOLVED);
    run_tasks(s, NULL);
    assert_true(integer(s, "ZSCORE muster:finished %s", id) > 0);
    assert_int_equal(queue_replay(s, id, "a", 0, 0, "t", outcome, sizeof(outcome), prev,
                                  sizeof(prev), err, sizeof(err)), 0);
    assert_string_equal(outcome, "replayed");
    assert_int_equal(integer(s, "ZSCORE muster:finished %s", id), -1);
    /* It finishes again: retention's clock starts again. */
    run_tasks(s, NULL);
    assert_true(integer(s, "ZSCORE muster:finished %s", id) > 0);
    store_close(s);
}

static void test_incidents_finished_before_retention_are_found(void **state) {
    (void)state;
    char old[96], id[96], err[256], svc[16];
    store *s = fresh();
    /* Finished as an older version left them: not in P:finished. Ties of
     * one millisecond in P:incidents, and expiry in between, do not make
     * the look through it miss one. */
    for (int i = 0; i < 5; i++) {
        snprintf(svc, sizeof(svc), "old%d", i);
        assert_int_equal(record(s, svc, "firing", old, sizeof(old)), RECORD_OPENED);
        cmd(s, "ZADD muster:incidents 1000 %s", old);
        run_tasks(s, NULL);
        assert_int_equal(record(s, svc, "resolved", old, sizeof(old)), RECORD_RESOLVED);
        run_tasks(s, NULL);
    }
    assert_int_equal(record(s, "open", "firing", id, sizeof(id)), RECORD_OPENED);
    cmd(s, "DEL %s", "muster:finished");
    usleep(20 * 1000);
    retention_policy p = policy(5, 5, 2);
    retention_slice sl;
    long long expired = 0;
    for (int i = 0; i < 10; i++) {
        assert_int_equal(retention_run(s, &p, "w1", &sl, err, sizeof(err)), 0);
        expired += sl.expired;
    }
    assert_int_equal(expired, 5);
    assert_int_equal(integer(s, "ZCARD %s", "muster:incidents"), 1);
    assert_int_equal(integer(s, "HEXISTS muster:gc:backfill %s", "done"), 1);
    store_close(s);
}

static void test_slices_are_bounded(void **state) {
    (void)state;
    char id[96], svc[16], err[256];
    store *s = fresh();
    for (int i = 0; i < 25; i++) {
        snprintf(svc, sizeof(svc), "s%d", i);
        assert_int_equal(record(s, svc, "firing", id, sizeof(id)), RECORD_OPENED);
        run_tasks(s, NULL);
        assert_int_equal(record(s, svc, "resolved", id, sizeof(id)), RECORD_RESOLVED);
        run_tasks(s, NULL);
    }
    usleep(20 * 1000);
    retention_policy p = policy(5, 5, 10);
    retention_slice sl;
    long long want[] = {10, 10, 5};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(retention_run(s, &p, "w1", &sl, err, sizeof(err)), 0);
        assert_int_equal(sl.expired, want[i]);
        assert_int_equal(sl.more, i < 2);
        assert_int_equal(integer(s, "ZCARD %s", "muster:incidents"), 25 - 10 * (i + 1) + (i == 2 ? 5 : 0));
    }
    /* Nothing of the 25 is left but the queue, the offsets-free indexes,
     * retention's own keys and the step definitions (one per workflow
     * version, shared by every incident). */
    json_t *left = keyspace(s);
    const char *k;
    json_t *v;
    json_object_foreach(left, k, v) {
        int ok = !strcmp(k, "muster:q:default") || !strcmp(k, "muster:outbox") ||
                 !strcmp(k, "muster:pools") || !strncmp(k, "muster:gc:", 10) ||
                 !strcmp(k, "muster:expired") || !strcmp(k, "muster:defs");
        if (!ok) fprintf(stderr, "left behind: %s\n", k);
        assert_true(ok);
    }
    json_decref(left);
    store_close(s);
}

static void test_one_leader_at_a_time(void **state) {
    (void)state;
    char id[96], svc[16], err[256];
    store *s = fresh(), *s2 = store_open(&cfg, err, sizeof(err));
    assert_non_null(s2);
    for (int i = 0; i < 3; i++) {
        snprintf(svc, sizeof(svc), "s%d", i);
        record(s, svc, "firing", id, sizeof(id));
        run_tasks(s, NULL);
        record(s, svc, "resolved", id, sizeof(id));
        run_tasks(s, NULL);
    }
    usleep(20 * 1000);
    retention_policy p = policy(5, 5, 1);
    retention_slice sl;
    assert_int_equal(retention_run(s, &p, "w1", &sl, err, sizeof(err)), 0);
    assert_int_equal(sl.expired, 1);
    assert_int_equal(sl.more, 1);
    /* w1 holds the lease while more is due: w2 is refused and does nothing,
     * neither the expiry nor a dry run's view changes. */
    assert_int_equal(retention_run(s2, &p, "w2", &sl, err, sizeof(err)), 0);
    assert_int_equal(sl.busy, 1);
    assert_string_equal(sl.holder, "w1");
    assert_int_equal(sl.expired, 0);
    assert_int_equal(integer(s, "ZCARD %s", "muster:finished"), 2);
    /* Its own holder goes on; once it gives the lease up, w2 may lead. */
    assert_int_equal(retention_run(s, &p, "w1", &sl, err, sizeof(err)), 0);
    assert_int_equal(sl.expired, 1);
    retention_release(s2, "w2"); /* not w2's: changes nothing */
    assert_int_equal(retention_run(s2, &p, "w2", &sl, err, sizeof(err)), 0);
    assert_int_equal(sl.busy, 1);
    retention_release(s, "w1");
    assert_int_equal(retention_run(s2, &p, "w2", &sl, err, sizeof(err)), 0);
    assert_int_equal(sl.busy, 0);
    assert_int_equal(sl.expired, 1);
    /* The lease lapses by itself when its holder dies. */
    assert_true(integer(s, "PTTL %s", "muster:gc:leader") > 0);
    assert_true(integer(s, "PTTL %s", "muster:gc:leader") <= RETENTION_LEASE_MS);
    store_close(s2);
    store_close(s);
}

static void test_workers_gone_for_long_are_forgotten(void **state) {
    (void)state;
    char err[256], ms[32];
    store *s = fresh();
    snprintf(ms, sizeof(ms), "%lld", (long long)(time(NULL) * 1000LL - 2 * 3600000LL));
    cmd(s, "HSET muster:workers gone %s", ms);
    snprintf(ms, sizeof(ms), "%lld", (long long)(time(NULL) * 1000LL));
    cmd(s, "HSET muster:workers alive %s", ms);
    retention_policy p = policy(3600000, 3600000, 10);
    retention_slice sl;
    assert_int_equal(retention_run(s, &p, "w1", &sl, err, sizeof(err)), 0);
    assert_int_equal(integer(s, "HEXISTS muster:workers %s", "gone"), 0);
    assert_int_equal(integer(s, "HEXISTS muster:workers %s", "alive"), 1);
    store_close(s);
}

/* MEMORY USAGE of everything incident `id` owns. */
static long long incident_memory(store *s, const char *id) {
    char key[256];
    long long m = 0;
    const char *kinds[] = {"inc", "timeline", "firing", "memo", "task:a", "task:b"};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        snprintf(key, sizeof(key), "muster:{%s}:%s", id, kinds[i]);
        m += memory_of(s, key);
    }
    return m;
}

static void test_timeline_is_bounded_per_incident(void **state) {
    (void)state;
    char few[96], many[96], id[96], key[256], err[256];
    store *s = fresh();
    assert_int_equal(record(s, "few", "firing", few, sizeof(few)), RECORD_OPENED);
    assert_int_equal(record(s, "many", "firing", many, sizeof(many)), RECORD_OPENED);
    for (int i = 0; i < 10; i++)
        assert_int_equal(record(s, "few", "firing", id, sizeof(id)), RECORD_JOINED);
    long long outbox0 = integer(s, "XLEN %s", "muster:outbox");
    for (int i = 0; i < 1000; i++)
        assert_int_equal(record(s, "many", "firing", id, sizeof(id)), RECORD_JOINED);
    /* Every join still goes out as an event. */
    assert_int_equal(integer(s, "XLEN %s", "muster:outbox") - outbox0, 1000);
    long long m10 = incident_memory(s, few), m1000 = incident_memory(s, many);
    fprintf(stderr, "incident memory: %lld bytes after 10 joined alerts, %lld after 1000\n", m10,
            m1000);
    assert_true(m1000 - m10 < 256);
    /* opened, workflow.started, 10 joined (the first ten in full). */
    snprintf(key, sizeof(key), "muster:{%s}:timeline", many);
    assert_int_equal(integer(s, "LLEN %s", key), 12);
    json_t *inc = incident_show(s, many, err, sizeof(err));
    assert_non_null(inc);
    assert_string_equal(json_string_value(json_object_get(json_object_get(inc, "incident"),
                                                          "alerts_joined")),
                        "1000");
    json_decref(inc);
    store_close(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_finished_incidents_expire_with_everything_they_own),
        cmocka_unit_test(test_a_replay_takes_it_out_of_retention),
        cmocka_unit_test(test_incidents_finished_before_retention_are_found),
        cmocka_unit_test(test_slices_are_bounded),
        cmocka_unit_test(test_one_leader_at_a_time),
        cmocka_unit_test(test_workers_gone_for_long_are_forgotten),
        cmocka_unit_test(test_timeline_is_bounded_per_incident),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
