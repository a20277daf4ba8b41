/* test_store.c - the Redis scripts against a real redis-server: record,
 * lease, start, complete, fencing, redelivery, outbox */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alert.h"
#include "common/config.h"
#include "state/incident.h"
#include "state/queue.h"
#include "state/store.h"
#include "common/workflow.h"
#include "tests/harness/redis_fixture.h"

static redis_fixture fx;
static config cfg;
static char wfdir[] = "/tmp/muster-test-wf-XXXXXX";

/* a and b run first; c needs both; d needs c. */
static const char workflow_yaml[] =
    "name: dag\n"
    "triggers:\n  - matchers: ['env=\"prod\"']\n"
    "steps:\n"
    "  - {id: a, action: exec, with: {command: [\"true\"]}}\n"
    "  - {id: b, action: exec, with: {command: [\"true\"]}}\n"
    "  - {id: c, action: exec, needs: [a, b], with: {command: [\"echo\", \"{{ steps.a.status }}\"]}}\n"
    "  - {id: d, action: exec, needs: [c], with: {command: [\"true\"]}}\n";

static int setup(void **state) {
    (void)state;
    if (redis_fixture_start(&fx) < 0) return -1;
    config_defaults(&cfg);
    char port[16], err[256];
    snprintf(port, sizeof(port), "%d", fx.port);
    config_set(&cfg, "redis.port", port, err, sizeof(err));
    if (!mkdtemp(wfdir)) return -1;
    char path[256];
    snprintf(path, sizeof(path), "%s/dag.yaml", wfdir);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs(workflow_yaml, f);
    fclose(f);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    char cmd[300];
    redis_fixture_stop(&fx);
    config_free(&cfg);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", wfdir);
    return system(cmd) == 0 ? 0 : -1;
}

static int flush(store *s) {
    redisReply *r = store_command(s, "FLUSHALL");
    if (!r) return -1;
    freeReplyObject(r);
    return 0;
}

static workflow_set *load(void) {
    wf_diag d = {0};
    workflow_set *set = workflow_load(wfdir, &d);
    for (size_t i = 0; i < d.n; i++) fprintf(stderr, "%s\n", d.msgs[i]);
    wf_diag_free(&d);
    return set;
}

static void decode(const char *json, alert_batch *b) {
    char err[256];
    assert_int_equal(alert_decode(json, strlen(json), b, err, sizeof(err)), 0);
}

static const char alert_json[] =
    "{\"source\":\"t\",\"summary\":\"db down\",\"severity\":\"critical\",\"labels\":{\"env\":\"prod\"}}";

static char *pools[] = {"default"};

static int lease_all(store *s, const char *consumer, lease_item *items, size_t max) {
    return queue_lease(s, consumer, pools, 1, max, 0, items);
}

static void complete_ok(store *s, const char *consumer, const lease_item *li) {
    task_run run;
    char err[256];
    assert_int_equal(queue_task_start(s, consumer, li, &run, err, sizeof(err)), 1);
    json_t *out = json_pack("{s:s}", "stdout", li->step);
    task_result res = {.succeeded = 1, .output = out, .duration_ms = 5};
    assert_int_equal(queue_task_complete(s, consumer, li, &run, &res, err, sizeof(err)), 0);
    json_decref(out);
    task_run_clear(&run);
}

static const char *field(store *s, const char *key, const char *f, char *buf, size_t len) {
    redisReply *r = store_command(s, "HGET %s %s", key, f);
    snprintf(buf, len, "%s", r && r->type == REDIS_REPLY_STRING ? r->str : "");
    if (r) freeReplyObject(r);
    return buf;
}

static void test_dag_runs_in_order(void **state) {
    (void)state;
    char err[256], id[96], key[256], buf[256];
    lease_item items[8];
    alert_batch b;
    store *s = store_open(&cfg, err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(flush(s), 0);
    assert_int_equal(queue_prepare(s, pools, 1), 0);
    workflow_set *set = load();
    assert_non_null(set);
    decode(alert_json, &b);
    alert_origin o = {"muster.alerts", 0, 7, 0};
    assert_int_equal(incident_record(s, &b.items[0], set->items[0], &o, id, sizeof(id), err, sizeof(err)),
                     RECORD_OPENED);

    /* Only a and b are queued at first. */
    int n = lease_all(s, "w1", items, 8);
    assert_int_equal(n, 2);
    assert_string_equal(items[0].incident, id);
    complete_ok(s, "w1", &items[0]);
    assert_int_equal(lease_all(s, "w1", items + 2, 8), 0); /* c still needs one */
    complete_ok(s, "w1", &items[1]);
    n = lease_all(s, "w1", items, 8);
    assert_int_equal(n, 1);
    assert_string_equal(items[0].step, "c");

    /* c's context carries a's output. */
    task_run run;
    assert_int_equal(queue_task_start(s, "w1", &items[0], &run, err, sizeof(err)), 1);
    json_t *steps = json_object_get(run.ctx, "steps");
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(steps, "a"), "output"), "stdout")), "a");
    assert_string_equal(json_string_value(json_object_get(json_object_get(steps, "b"), "status")), "succeeded");
    assert_int_equal(run.attempt, 1);
    task_result res = {.succeeded = 1, .duration_ms = 1};
    assert_int_equal(queue_task_complete(s, "w1", &items[0], &run, &res, err, sizeof(err)), 0);
    task_run_clear(&run);

    n = lease_all(s, "w1", items, 8);
    assert_int_equal(n, 1);
    assert_string_equal(items[0].step, "d");
    complete_ok(s, "w1", &items[0]);

    snprintf(key, sizeof(key), "muster:{%s}:inc", id);
    assert_string_equal(field(s, key, "run", buf, sizeof(buf)), "succeeded");
    assert_string_equal(field(s, key, "steps_left", buf, sizeof(buf)), "0");

    /* Outbox: opened, started, 4 x (started, succeeded), completed = 11. */
    outbox_item ob[32];
    n = outbox_read(s, "relay1", 32, 0, ob);
    assert_int_equal(n, 11);
    json_t *first = json_loads(ob[0].event, 0, NULL), *last = json_loads(ob[10].event, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(first, "type")), "incident.opened");
    assert_string_equal(json_string_value(json_object_get(last, "type")), "workflow.completed");
    assert_string_equal(ob[0].key, id);
    json_decref(first);
    json_decref(last);
    char *ids[32];
    for (int i = 0; i < n; i++) ids[i] = ob[i].id;
    assert_int_equal(outbox_ack(s, ids, (size_t)n), 0);
    outbox_items_free(ob, (size_t)n);
    redisReply *r = store_command(s, "XLEN muster:outbox");
    assert_int_equal(r->integer, 0);
    freeReplyObject(r);

    alert_batch_free(&b);
    workflow_set_free(set);
    store_close(s);
}

static void test_fencing_refuses_a_stale_lease(void **state) {
    (void)state;
    char err[256], id[96];
    lease_item items[4];
    alert_batch b;
    store *s = store_open(&cfg, err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(flush(s), 0);
    assert_int_equal(queue_prepare(s, pools, 1), 0);
    workflow_set *set = load();
    decode(alert_json, &b);
    assert_int_equal(incident_record(s, &b.items[0], set->items[0], NULL, id, sizeof(id), err, sizeof(err)),
                     RECORD_OPENED);
    assert_int_equal(lease_all(s, "w1", items, 4), 2);
    task_run run;
    assert_int_equal(queue_task_start(s, "w1", &items[0], &run, err, sizeof(err)), 1);
    /* Another consumer presenting the same message is not the lease holder. */
    task_result res = {.succeeded = 1, .duration_ms = 1};
    assert_int_equal(queue_task_complete(s, "w2", &items[0], &run, &res, err, sizeof(err)), 1);
    assert_non_null(strstr(err, "lease lost"));
    /* The holder still completes; a second completion is refused. */
    assert_int_equal(queue_task_complete(s, "w1", &items[0], &run, &res, err, sizeof(err)), 0);
    assert_int_equal(queue_task_complete(s, "w1", &items[0], &run, &res, err, sizeof(err)), 1);
    /* Starting it again (a duplicate queue entry) does not run it. */
    task_run again;
    assert_int_equal(queue_task_start(s, "w1", &items[0], &again, err, sizeof(err)), 0);
    task_run_clear(&run);
    alert_batch_free(&b);
    workflow_set_free(set);
    store_close(s);
}

static void test_redelivery_join_resolve(void **state) {
    (void)state;
    char err[256], id[96], id2[96], buf[64], key[256];
    alert_batch b, r;
    store *s = store_open(&cfg, err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(flush(s), 0);
    workflow_set *set = load();
    decode(alert_json, &b);
    alert_origin o = {"muster.alerts", 2, 100, 0};
    assert_int_equal(incident_record(s, &b.items[0], set->items[0], &o, id, sizeof(id), err, sizeof(err)),
                     RECORD_OPENED);
    /* The same message again (crash before the offset commit): nothing. */
    assert_int_equal(incident_record(s, &b.items[0], set->items[0], &o, id2, sizeof(id2), err, sizeof(err)),
                     RECORD_DUPLICATE);
    /* An older offset of the same partition is a duplicate too. */
    o.offset = 99;
    assert_int_equal(incident_record(s, &b.items[0], set->items[0], &o, id2, sizeof(id2), err, sizeof(err)),
                     RECORD_DUPLICATE);
    /* The same alert in a new message joins the open incident. */
    o.offset = 101;
    assert_int_equal(incident_record(s, &b.items[0], set->items[0], &o, id2, sizeof(id2), err, sizeof(err)),
                     RECORD_JOINED);
    assert_string_equal(id, id2);
    snprintf(key, sizeof(key), "muster:{%s}:inc", id);
    assert_string_equal(field(s, key, "alerts", buf, sizeof(buf)), "2");
    /* Resolved: the incident closes; the next firing opens a new one. */
    decode("{\"source\":\"t\",\"summary\":\"db down\",\"status\":\"resolved\",\"severity\":\"critical\","
           "\"labels\":{\"env\":\"prod\"}}", &r);
    o.offset = 102;
    assert_int_equal(incident_record(s, &r.items[0], set->items[0], &o, id2, sizeof(id2), err, sizeof(err)),
                     RECORD_RESOLVED);
    assert_string_equal(field(s, key, "status", buf, sizeof(buf)), "resolved");
    o.offset = 103;
    assert_int_equal(incident_record(s, &b.items[0], set->items[0], &o, id2, sizeof(id2), err, sizeof(err)),
                     RECORD_OPENED);
    assert_string_not_equal(id, id2);
    /* Another partition keeps its own mark. */
    o.partition = 1;
    o.offset = 5;
    assert_int_equal(incident_record(s, &r.items[0], set->items[0], &o, id2, sizeof(id2), err, sizeof(err)),
                     RECORD_RESOLVED);
    alert_batch_free(&b);
    alert_batch_free(&r);
    workflow_set_free(set);
    store_close(s);
}

static void test_failure_skips_dependents(void **state) {
    (void)state;
    char err[256], id[96], key[256], buf[64];
    lease_item items[4];
    alert_batch b;
    store *s = store_open(&cfg, err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(flush(s), 0);
    assert_int_equal(queue_prepare(s, pools, 1), 0);
    workflow_set *set = load();
    decode(alert_json, &b);
    assert_int_equal(incident_record(s, &b.items[0], set->items[0], NULL, id, sizeof(id), err, sizeof(err)),
                     RECORD_OPENED);
    assert_int_equal(lease_all(s, "w1", items, 4), 2);
    task_run run;
    assert_int_equal(queue_task_start(s, "w1", &items[0], &run, err, sizeof(err)), 1);
    task_result res = {.succeeded = 0, .error = "HTTP status 404", .duration_ms = 1, .permanent = 1};
    assert_int_equal(queue_task_complete(s, "w1", &items[0], &run, &res, err, sizeof(err)), 0);
    task_run_clear(&run);
    complete_ok(s, "w1", &items[1]);
    assert_int_equal(lease_all(s, "w1", items, 4), 0);
    snprintf(key, sizeof(key), "muster:{%s}:task:c", id);
    assert_string_equal(field(s, key, "state", buf, sizeof(buf)), "skipped");
    snprintf(key, sizeof(key), "muster:{%s}:task:d", id);
    assert_string_equal(field(s, key, "state", buf, sizeof(buf)), "skipped");
    snprintf(key, sizeof(key), "muster:{%s}:inc", id);
    assert_string_equal(field(s, key, "run", buf, sizeof(buf)), "failed");
    alert_batch_free(&b);
    workflow_set_free(set);
    store_close(s);
}

static void test_scripts_reload_after_flush(void **state) {
    (void)state;
    char err[256], id[96];
    alert_batch b;
    store *s = store_open(&cfg, err, sizeof(err));
    assert_non_null(s);
    redisReply *r = store_command(s, "SCRIPT FLUSH");
    freeReplyObject(r);
    workflow_set *set = load();
    decode(alert_json, &b);
    assert_int_equal(flush(s), 0);
    assert_int_equal(incident_record(s, &b.items[0], set->items[0], NULL, id, sizeof(id), err, sizeof(err)),
                     RECORD_OPENED);
    alert_batch_free(&b);
    workflow_set_free(set);
    store_close(s);
}


static store *fresh(workflow_set **set, char *id, size_t idlen) {
    char err[256];
    alert_batch b;
    store *s = store_open(&cfg, err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(flush(s), 0);
    assert_int_equal(queue_prepare(s, pools, 1), 0);
    *set = load();
    assert_non_null(*set);
    decode(alert_json, &b);
    assert_int_equal(incident_record(s, &b.items[0], (*set)->items[0], NULL, id, idlen, err, sizeof(err)),
                     RECORD_OPENED);
    alert_batch_free(&b);
    return s;
}

static void fail_attempt(store *s, const char *consumer, const lease_item *li, int permanent,
                         int64_t retry_after, int expect) {
    task_run run;
    char err[256];
    assert_int_equal(queue_task_start(s, consumer, li, &run, err, sizeof(err)), 1);
    task_result res = {.succeeded = 0, .error = "HTTP status 503", .duration_ms = 1,
                       .permanent = permanent, .retry_after_ms = retry_after};
    assert_int_equal(queue_task_complete(s, consumer, li, &run, &res, err, sizeof(err)), expect);
    task_run_clear(&run);
}

static void test_retry_then_dead_then_replay(void **state) {
    (void)state;
    char id[96], key[256], buf[64], err[256], outcome[32], prev[32];
    lease_item items[4];
    workflow_set *set;
    store *s = fresh(&set, id, sizeof(id));
    assert_int_equal(lease_all(s, "w1", items, 4), 2);
    lease_item a = strcmp(items[0].step, "a") == 0 ? items[0] : items[1];
    lease_item b = strcmp(items[0].step, "a") == 0 ? items[1] : items[0];
    complete_ok(s, "w1", &b);

    /* Attempt 1 fails: a retry is scheduled, honouring Retry-After. */
    fail_attempt(s, "w1", &a, 0, 1, 0);
    snprintf(key, sizeof(key), "muster:{%s}:task:a", id);
    assert_string_equal(field(s, key, "state", buf, sizeof(buf)), "delayed");
    redisReply *r = store_command(s, "ZSCORE muster:delayed %s/a", id);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    freeReplyObject(r);
    /* Not due yet (1 s backoff): nothing moves. */
    assert_int_equal(queue_promote(s, 10), 0);
    r = store_command(s, "ZADD muster:delayed 0 %s/a", id); /* make it due now */
    freeReplyObject(r);
    assert_int_equal(queue_promote(s, 10), 1);
    assert_int_equal(lease_all(s, "w1", items, 4), 1);
    fail_attempt(s, "w1", &items[0], 0, 0, 0);
    r = store_command(s, "ZADD muster:delayed 0 %s/a", id);
    freeReplyObject(r);
    assert_int_equal(queue_promote(s, 10), 1);
    assert_int_equal(lease_all(s, "w1", items, 4), 1);
    /* Attempt 3 of 3 fails: dead, and c, d are skipped; the run failed. */
    fail_attempt(s, "w1", &items[0], 0, 0, 0);
    assert_string_equal(field(s, key, "state", buf, sizeof(buf)), "dead");
    assert_string_equal(field(s, key, "attempts", buf, sizeof(buf)), "3");
    assert_string_equal(field(s, key, "error", buf, sizeof(buf)), "HTTP status 503");
    snprintf(key, sizeof(key), "muster:{%s}:inc", id);
    assert_string_equal(field(s, key, "run", buf, sizeof(buf)), "failed");
    json_t *dead = queue_dead_list(s, 10);
    assert_int_equal(json_array_size(dead), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(dead, 0), "step")), "a");
    assert_string_equal(json_string_value(json_object_get(json_array_get(dead, 0), "reason")),
                        "attempts exhausted");
    json_decref(dead);

    /* A succeeded step is not replayed without force; a dry run changes nothing. */
    assert_int_equal(queue_replay(s, id, "b", 0, 0, "t", outcome, sizeof(outcome), prev, sizeof(prev), err, sizeof(err)), 0);
    assert_string_equal(outcome, "refused");
    assert_int_equal(queue_replay(s, id, "a", 0, 1, "t", outcome, sizeof(outcome), prev, sizeof(prev), err, sizeof(err)), 0);
    assert_string_equal(outcome, "would replay");
    assert_int_equal(lease_all(s, "w1", items, 4), 0);
    /* Replay: fresh attempts, the DAG carries on to c and d. */
    assert_int_equal(queue_replay(s, id, "a", 0, 0, "t", outcome, sizeof(outcome), prev, sizeof(prev), err, sizeof(err)), 0);
    assert_string_equal(outcome, "replayed");
    assert_string_equal(prev, "dead");
    dead = queue_dead_list(s, 10);
    assert_int_equal(json_array_size(dead), 0);
    json_decref(dead);
    assert_int_equal(lease_all(s, "w1", items, 4), 1);
    task_run run;
    assert_int_equal(queue_task_start(s, "w1", &items[0], &run, err, sizeof(err)), 1);
    assert_int_equal(run.attempt, 1);
    task_result ok = {.succeeded = 1, .duration_ms = 1};
    assert_int_equal(queue_task_complete(s, "w1", &items[0], &run, &ok, err, sizeof(err)), 0);
    task_run_clear(&run);
    assert_int_equal(lease_all(s, "w1", items, 4), 1);
    assert_string_equal(items[0].step, "c");
    complete_ok(s, "w1", &items[0]);
    assert_int_equal(lease_all(s, "w1", items, 4), 1);
    complete_ok(s, "w1", &items[0]);
    assert_string_equal(field(s, key, "run", buf, sizeof(buf)), "succeeded");
    workflow_set_free(set);
    store_close(s);
}

static void test_reclaim_fences_the_old_holder(void **state) {
    (void)state;
    char id[96], err[256];
    lease_item items[4], again[4];
    workflow_set *set;
    store *s = fresh(&set, id, sizeof(id));
    assert_int_equal(lease_all(s, "w1", items, 4), 2);
    task_run old;
    assert_int_equal(queue_task_start(s, "w1", &items[0], &old, err, sizeof(err)), 1);
    /* w1 stalls; w2 reclaims what has been idle (0 ms here) and runs it. */
    int n = queue_reclaim(s, "w2", pools, 1, 4, 0, again);
    assert_int_equal(n, 2);
    lease_item *mine = strcmp(again[0].msgid, items[0].msgid) == 0 ? &again[0] : &again[1];
    task_run run;
    assert_int_equal(queue_task_start(s, "w2", mine, &run, err, sizeof(err)), 1);
    assert_int_equal(run.attempt, 2);
    /* w1 wakes up: its extension and its result are refused. */
    assert_int_equal(queue_extend(s, "w1", &items[0]), 0);
    task_result res = {.succeeded = 1, .duration_ms = 1};
    assert_int_equal(queue_task_complete(s, "w1", &items[0], &old, &res, err, sizeof(err)), 1);
    assert_int_equal(queue_extend(s, "w2", mine), 1);
    assert_int_equal(queue_task_complete(s, "w2", mine, &run, &res, err, sizeof(err)), 0);
    task_run_clear(&old);
    task_run_clear(&run);
    workflow_set_free(set);
    store_close(s);
}

static void test_handback_requeues_without_counting(void **state) {
    (void)state;
    char id[96], err[256], key[400], buf[32];
    lease_item items[4];
    workflow_set *set;
    store *s = fresh(&set, id, sizeof(id));
    assert_int_equal(lease_all(s, "w1", items, 4), 2);
    task_run run;
    assert_int_equal(queue_task_start(s, "w1", &items[0], &run, err, sizeof(err)), 1);
    task_run_clear(&run);
    assert_int_equal(queue_handback(s, "w1", &items[0]), 1);
    assert_int_equal(queue_handback(s, "w1", &items[0]), 0);
    snprintf(key, sizeof(key), "muster:{%s}:task:%s", id, items[0].step);
    assert_string_equal(field(s, key, "attempts", buf, sizeof(buf)), "0");
    lease_item again[4];
    assert_int_equal(lease_all(s, "w2", again, 4), 1);
    assert_string_equal(again[0].step, items[0].step);
    /* The old entry is gone: presenting it starts nothing. */
    assert_int_equal(queue_task_start(s, "w1", &items[0], &run, err, sizeof(err)), 0);
    complete_ok(s, "w2", &again[0]);
    workflow_set_free(set);
    store_close(s);
}

static void test_poison_is_buried(void **state) {
    (void)state;
    char id[96], err[256], key[400], buf[32];
    lease_item items[4];
    workflow_set *set;
    store *s = fresh(&set, id, sizeof(id));
    assert_int_equal(lease_all(s, "w1", items, 4), 2);
    char consumer[16];
    task_run run;
    /* Three workers in turn die holding it; the fourth delivery buries it. */
    for (int i = 0; i < 3; i++) {
        lease_item cur[4];
        snprintf(consumer, sizeof(consumer), "dies%d", i);
        if (i == 0) {
            cur[0] = items[0];
        } else {
            int n = queue_reclaim(s, consumer, pools, 1, 4, 0, cur);
            assert_true(n >= 1);
            if (strcmp(cur[0].msgid, items[0].msgid) != 0) cur[0] = cur[1];
        }
        assert_int_equal(queue_task_start(s, i == 0 ? "w1" : consumer, &cur[0], &run, err, sizeof(err)), 1);
        task_run_clear(&run);
    }
    lease_item last[4];
    int n = queue_reclaim(s, "w9", pools, 1, 4, 0, last);
    lease_item *poison = NULL;
    for (int i = 0; i < n; i++)
        if (strcmp(last[i].msgid, items[0].msgid) == 0) poison = &last[i];
    assert_non_null(poison);
    assert_int_equal(queue_task_start(s, "w9", poison, &run, err, sizeof(err)), 0);
    snprintf(key, sizeof(key), "muster:{%s}:task:%s", id, items[0].step);
    assert_string_equal(field(s, key, "state", buf, sizeof(buf)), "dead");
    assert_string_equal(field(s, key, "dead_reason", buf, sizeof(buf)), "poison");
    workflow_set_free(set);
    store_close(s);
}

/* How many times Redis ran `command` since its stats were last reset. */
static long long command_calls(store *s, const char *command) {
    char want[64];
    long long n = 0;
    redisReply *r = store_command(s, "INFO commandstats");
    assert_non_null(r);
    snprintf(want, sizeof(want), "cmdstat_%s:calls=", command);
    const char *at = r->type == REDIS_REPLY_STRING ? strstr(r->str, want) : NULL;
    if (at) n = atoll(at + strlen(want));
    freeReplyObject(r);
    return n;
}

/* `muster status` lists the registered pools, with a queue that has no
 * worker yet, and never scans the keyspace with KEYS (which blocks Redis
 * for every other client while it runs). */
static void test_status_without_keys(void **state) {
    (void)state;
    char err[256];
    char *linux_pool[] = {"linux-hosts"};
    store *s = store_open(&cfg, err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(flush(s), 0);
    assert_int_equal(queue_prepare(s, pools, 1), 0);
    assert_int_equal(queue_register(s, linux_pool, 1), 0);
    redisReply *r = store_command(s, "CONFIG RESETSTAT");
    assert_non_null(r);
    freeReplyObject(r);
    json_t *st = store_status(s, err, sizeof(err));
    assert_non_null(st);
    assert_non_null(json_object_get(json_object_get(st, "queues"), "default"));
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(st, "queues"), "linux-hosts"), "length")), 0);
    assert_int_equal(command_calls(s, "keys"), 0);
    json_decref(st);
    store_close(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_without_keys),
        cmocka_unit_test(test_dag_runs_in_order),
        cmocka_unit_test(test_fencing_refuses_a_stale_lease),
        cmocka_unit_test(test_redelivery_join_resolve),
        cmocka_unit_test(test_failure_skips_dependents),
        cmocka_unit_test(test_scripts_reload_after_flush),
        cmocka_unit_test(test_retry_then_dead_then_replay),
        cmocka_unit_test(test_reclaim_fences_the_old_holder),
        cmocka_unit_test(test_handback_requeues_without_counting),
        cmocka_unit_test(test_poison_is_buried),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
