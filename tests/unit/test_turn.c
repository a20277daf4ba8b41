/* test_turn.c - the batched task path against a real redis-server: a turn
 * starts, leases and completes many tasks in one call; definitions are
 * stored once and sent again when Redis lost them; a pipelined batch of
 * alerts keeps a partition's order; a task reads only the context it names;
 * the timeline derives task starts and successes */
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
#include "common/workflow.h"
#include "state/incident.h"
#include "state/queue.h"
#include "state/store.h"
#include "tests/harness/redis_fixture.h"
#include "tests/harness/tmpdir.h"

static redis_fixture fx;
static config cfg;
static char wfdir[128];

/* a has no template; b needs a and names nothing; c names steps.a only
 * and needs b; d's text has the word "steps" other than as steps.ID, so it
 * reads every step (the analysis errs towards reading more). */
static const char workflow_yaml[] =
    "name: chain\n"
    "triggers:\n  - matchers: ['env=\"prod\"']\n"
    "steps:\n"
    "  - {id: a, action: noop}\n"
    "  - {id: b, action: exec, needs: [a], with: {command: [\"true\"]}}\n"
    "  - {id: c, action: exec, needs: [b], with: {command: [\"echo\", \"{{ steps.a.status }}\"]}}\n"
    "  - {id: d, action: exec, needs: [c], with: {command: [\"echo\", \"two steps: {{ alert.summary }}\"]}}\n";

static char *pools[] = {"default"};

static int setup(void **state) {
    (void)state;
    char path[300];
    if (redis_fixture_start_config(&fx, &cfg) < 0 || tmpdir_make(wfdir, sizeof(wfdir), "turn") < 0)
        return -1;
    snprintf(path, sizeof(path), "%s/chain.yaml", wfdir);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs(workflow_yaml, f);
    return fclose(f) == 0 ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    redis_fixture_stop(&fx);
    config_free(&cfg);
    return tmpdir_remove(wfdir);
}

static long long integer(store *s, const char *fmt, const char *arg) {
    redisReply *r = store_command(s, fmt, arg);
    long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (r) freeReplyObject(r);
    return v;
}

static store *fresh(void) {
    char err[256];
    store *s = store_open(&cfg, err, sizeof(err));
    assert_non_null(s);
    redisReply *r = store_command(s, "FLUSHALL");
    assert_non_null(r);
    freeReplyObject(r);
    assert_int_equal(queue_prepare(s, pools, 1), 0);
    return s;
}

static workflow_set *load(void) {
    wf_diag d = {0};
    workflow_set *set = workflow_load(wfdir, &d);
    for (size_t i = 0; i < d.n; i++) fprintf(stderr, "%s\n", d.msgs[i]);
    wf_diag_free(&d);
    assert_non_null(set);
    return set;
}

/* Opens an incident of the chain workflow for the alert with label n. */
static void open_incident(store *s, workflow_set *set, int n, int64_t offset, char *id,
                          size_t len) {
    char json[200], err[256];
    alert_batch b;
    snprintf(json, sizeof(json),
             "{\"source\":\"t\",\"summary\":\"s%d\",\"labels\":{\"env\":\"prod\",\"n\":\"%d\"}}", n,
             n);
    assert_int_equal(alert_decode(json, strlen(json), &b, err, sizeof(err)), 0);
    alert_origin o = {"muster.alerts", 0, offset, 0};
    assert_int_equal(
        incident_record(s, &b.items[0], set->items[0], &o, id, len, err, sizeof(err)),
        RECORD_OPENED);
    alert_batch_free(&b);
}

/* One turn for w1: completes done[0..nd) as succeeded and leases up to
 * lease_max; returns how many it started (facts in started). */
static size_t turn(store *s, const task_facts *prev, size_t nd, size_t lease_max,
                   task_facts *started, size_t cap, turn_done *done) {
    char err[256];
    task_result res = {.succeeded = 1, .duration_ms = 1};
    for (size_t i = 0; i < nd; i++)
        done[i] = (turn_done){.li = &prev[i].li, .workflow = "chain", .action = "noop",
                              .attempt = prev[i].attempt, .res = &res};
    size_t n = 0;
    assert_int_equal(queue_turn(s, "w1", pools, 1, lease_max, done, nd, NULL, 0, started, cap,
                                &n, err, sizeof(err)),
                     0);
    return n;
}

static void clear_all(task_facts *f, size_t n) {
    for (size_t i = 0; i < n; i++) task_facts_clear(&f[i]);
}

/* Three incidents: one turn starts the three a's; the next completes them
 * in the same call and leases nothing it released (those are left for any
 * worker); the one after starts the three b's. Queue entries are
 * acknowledged and deleted in bulk. */
static void test_turn_completes_and_leases_in_one_call(void **state) {
    (void)state;
    store *s = fresh();
    workflow_set *set = load();
    char id[3][64];
    for (int i = 0; i < 3; i++) open_incident(s, set, i, i, id[i], sizeof(id[i]));
    task_facts a[8], b[8], none[8];
    turn_done done[8];
    size_t n = turn(s, NULL, 0, 8, a, 8, done);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(a[i].li.step, "a");
        assert_int_equal(a[i].attempt, 1);
        assert_string_equal(a[i].workflow, "chain");
        /* a has no template: it reads no incident context */
        assert_null(a[i].alert_text);
        assert_int_equal(json_object_size(a[i].steps), 0);
        assert_true(strlen(a[i].defsha) == 64);
        assert_null(a[i].def_text);
    }
    assert_int_equal(turn(s, a, 3, 8, none, 8, done), 0);
    for (size_t i = 0; i < 3; i++) assert_int_equal(done[i].outcome, TURN_DONE);
    assert_int_equal(integer(s, "XLEN %s", "muster:q:default"), 3); /* the b's, queued */
    n = turn(s, NULL, 0, 8, b, 8, done);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < n; i++) assert_string_equal(b[i].li.step, "b");
    /* what was completed left the queue: only the b's are pending */
    redisReply *r = store_command(s, "XPENDING muster:q:default workers");
    assert_non_null(r);
    assert_int_equal(r->element[0]->integer, 3);
    freeReplyObject(r);
    /* a completion under someone else's lease is fenced */
    task_result res = {.succeeded = 1};
    turn_done d = {.li = &b[0].li, .workflow = "chain", .action = "exec", .attempt = 1,
                   .res = &res};
    char err[256];
    size_t k = 0;
    assert_int_equal(queue_turn(s, "w2", pools, 1, 0, &d, 1, NULL, 0, NULL, 0, &k, err, sizeof(err)), 0);
    assert_int_equal(d.outcome, TURN_FENCED);
    clear_all(a, 3);
    clear_all(b, 3);
    workflow_set_free(set);
    store_close(s);
}

/* b reads a (it needs it) and not c or d; c names steps.a and needs b;
 * d has the word "steps" in its text: every step. */
static void test_a_task_reads_only_the_context_it_names(void **state) {
    (void)state;
    store *s = fresh();
    workflow_set *set = load();
    char id[64];
    open_incident(s, set, 1, 1, id, sizeof(id));
    task_facts f[4][2];
    turn_done done[2];
    assert_int_equal(turn(s, NULL, 0, 2, f[0], 2, done), 1);
    assert_int_equal(turn(s, f[0], 1, 0, NULL, 0, done), 0);
    assert_int_equal(turn(s, NULL, 0, 2, f[1], 2, done), 1);
    assert_string_equal(f[1][0].li.step, "b");
    assert_non_null(f[1][0].alert_text); /* exec takes the alert */
    assert_int_equal(json_object_size(f[1][0].steps), 1);
    assert_non_null(json_object_get(f[1][0].steps, "a"));
    assert_int_equal(turn(s, f[1], 1, 0, NULL, 0, done), 0);
    assert_int_equal(turn(s, NULL, 0, 2, f[2], 2, done), 1);
    assert_string_equal(f[2][0].li.step, "c");
    assert_int_equal(json_object_size(f[2][0].steps), 2); /* a (named), b (needed) */
    assert_non_null(json_object_get(f[2][0].steps, "a"));
    assert_non_null(json_object_get(f[2][0].steps, "b"));
    assert_int_equal(turn(s, f[2], 1, 0, NULL, 0, done), 0);
    assert_int_equal(turn(s, NULL, 0, 2, f[3], 2, done), 1);
    assert_string_equal(f[3][0].li.step, "d");
    assert_int_equal(json_object_size(f[3][0].steps), 4);
    for (int i = 0; i < 4; i++) task_facts_clear(&f[i][0]);
    workflow_set_free(set);
    store_close(s);
}

/* The definitions are written once; when Redis loses them, the next
 * record is refused before it writes anything and sent again with them. */
static void test_definitions_stored_once_and_sent_again(void **state) {
    (void)state;
    char err[256];
    store *s = fresh();
    workflow_set *set = load();
    char id[3][64];
    open_incident(s, set, 1, 1, id[0], sizeof(id[0]));
    assert_int_equal(integer(s, "HLEN %s", "muster:defs"), 4);
    open_incident(s, set, 2, 2, id[1], sizeof(id[1]));
    assert_int_equal(integer(s, "HLEN %s", "muster:defs"), 4);
    redisReply *r = store_command(s, "DEL muster:defs");
    freeReplyObject(r);
    open_incident(s, set, 3, 3, id[2], sizeof(id[2]));
    assert_int_equal(integer(s, "HLEN %s", "muster:defs"), 4);
    /* a worker finds the definition by its name */
    task_facts f[4];
    turn_done done[1];
    size_t n = turn(s, NULL, 0, 4, f, 4, done);
    assert_int_equal(n, 3);
    json_t *def = queue_def(s, f[0].defsha, err, sizeof(err));
    assert_non_null(def);
    assert_string_equal(json_string_value(json_object_get(def, "action")), "noop");
    json_decref(def);
    assert_null(queue_def(s, "0000", err, sizeof(err)));
    assert_non_null(strstr(err, "missing"));
    clear_all(f, n);
    workflow_set_free(set);
    store_close(s);
}

/* In a pipelined batch, an alert whose partition's alert before it was not
 * recorded is refused ("gap") and records nothing; the dispatcher then
 * takes both again in order. */
static void test_batch_keeps_a_partitions_order(void **state) {
    (void)state;
    char err[256];
    store *s = fresh();
    workflow_set *set = load();
    alert_batch b[2];
    for (int i = 0; i < 2; i++) {
        char json[160];
        snprintf(json, sizeof(json),
                 "{\"source\":\"t\",\"summary\":\"x\",\"labels\":{\"env\":\"prod\",\"n\":\"%d\"}}", i);
        assert_int_equal(alert_decode(json, strlen(json), &b[i], err, sizeof(err)), 0);
    }
    const workflow *wfs[1] = {set->items[0]};
    record_result out[2][4];
    record_req reqs[2];
    for (int i = 0; i < 2; i++)
        reqs[i] = (record_req){.a = &b[i].items[0], .wfs = wfs, .nwfs = 1,
                               .o = {"muster.alerts", 5, 10 + i, 0}, .out = out[i], .max = 4};
    /* The first of the batch was recorded elsewhere already: the second's
     * predecessor is known, both go through. */
    assert_int_equal(incident_record_batch(s, reqs, 2, err, sizeof(err)), 0);
    assert_int_equal(reqs[0].n, 1);
    assert_int_equal(out[0][0].outcome, RECORD_OPENED);
    assert_int_equal(reqs[1].n, 1);
    assert_int_equal(out[1][0].outcome, RECORD_OPENED);
    /* Redelivered: both duplicates. */
    assert_int_equal(incident_record_batch(s, reqs, 2, err, sizeof(err)), 0);
    assert_int_equal(out[0][0].outcome, RECORD_DUPLICATE);
    assert_int_equal(out[1][0].outcome, RECORD_DUPLICATE);
    /* The script itself: a call whose predecessor on the partition is above
     * the recorded mark is refused, and the mark does not move. */
    const char *argv[] = {"muster.alerts/5", "99000", "fp", "firing", "{}", "[]", "1", "t",
                          "evt-x", "98000"};
    redisReply *r = store_eval(s, SCRIPT_EXPAND, 10, argv, err, sizeof(err));
    assert_non_null(r);
    assert_string_equal(r->element[0]->str, "gap");
    freeReplyObject(r);
    r = store_command(s, "HGET muster:offsets muster.alerts/5");
    assert_string_equal(r->str, "11000");
    freeReplyObject(r);
    alert_batch_free(&b[0]);
    alert_batch_free(&b[1]);
    workflow_set_free(set);
    store_close(s);
}

/* A task's start and success are not stored in the timeline; the shown
 * timeline derives them from the task hash, in time order. */
static void test_timeline_derives_task_events(void **state) {
    (void)state;
    char err[256];
    store *s = fresh();
    workflow_set *set = load();
    char id[64], key[128];
    open_incident(s, set, 1, 1, id, sizeof(id));
    task_facts f[2];
    turn_done done[1];
    assert_int_equal(turn(s, NULL, 0, 1, f, 2, done), 1);
    assert_int_equal(turn(s, f, 1, 0, NULL, 0, done), 0);
    snprintf(key, sizeof(key), "muster:{%s}:timeline", id);
    redisReply *r = store_command(s, "LRANGE %s 0 -1", key);
    for (size_t i = 0; i < r->elements; i++) {
        assert_null(strstr(r->element[i]->str, "\"task.started\""));
        assert_null(strstr(r->element[i]->str, "\"task.succeeded\""));
    }
    freeReplyObject(r);
    json_t *show = incident_show(s, id, err, sizeof(err));
    assert_non_null(show);
    json_t *tl = json_object_get(show, "timeline"), *ev;
    size_t i;
    int started = -1, succeeded = -1, opened = -1;
    const char *last = "";
    json_array_foreach(tl, i, ev) {
        const char *type = json_string_value(json_object_get(ev, "type"));
        const char *time = json_string_value(json_object_get(ev, "time"));
        assert_true(strcmp(last, time) <= 0);
        last = time;
        if (!strcmp(type, "incident.opened")) opened = (int)i;
        if (!strcmp(type, "task.started")) {
            started = (int)i;
            assert_true(json_is_true(json_object_get(ev, "derived")));
            assert_non_null(json_object_get(ev, "id"));
        }
        if (!strcmp(type, "task.succeeded")) succeeded = (int)i;
    }
    assert_true(opened >= 0 && opened < started && started < succeeded);
    json_decref(show);
    task_facts_clear(&f[0]);
    workflow_set_free(set);
    store_close(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_turn_completes_and_leases_in_one_call),
        cmocka_unit_test(test_a_task_reads_only_the_context_it_names),
        cmocka_unit_test(test_definitions_stored_once_and_sent_again),
        cmocka_unit_test(test_batch_keeps_a_partitions_order),
        cmocka_unit_test(test_timeline_derives_task_events),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
