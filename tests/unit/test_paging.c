/* test_paging.c - the page step's scripts against a real redis-server: a
 * level armed as timers, notifications made into tasks once, escalation,
 * exhaustion, and acknowledgement or resolve stopping every page; the
 * on-call set through Redis; page steps checked against on-call files */
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
#include "state/oncall_store.h"
#include "common/page_check.h"
#include "state/paging.h"
#include "state/queue.h"
#include "state/store.h"
#include "common/workflow.h"
#include "tests/harness/action_run.h"
#include "tests/harness/redis_fixture.h"
#include "tests/harness/tmpdir.h"

static redis_fixture fx;
static config cfg;
static char wfdir[96];
static char *pools[] = {"default"};

static const char workflow_yaml[] =
    "name: paged\n"
    "triggers:\n  - matchers: ['env=\"prod\"']\n"
    "steps:\n"
    "  - {id: page, action: page, with: {targets: [{person: alice}], message: \"{{ alert.summary }}\"}}\n"
    "  - {id: announce, action: noop, needs: [page], with: {echo: \"{{ steps.page.output.acknowledged_by }}\"}}\n";

/* Writes text to dir/name. Returns 0 or -1. */
static int write_file(const char *dir, const char *name, const char *text) {
    char path[300];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs(text, f);
    return fclose(f);
}

static int setup(void **state) {
    (void)state;
    char port[16], err[256];
    if (redis_fixture_start(&fx) < 0) return -1;
    config_defaults(&cfg);
    snprintf(port, sizeof(port), "%d", fx.port);
    config_set(&cfg, "redis.port", port, err, sizeof(err));
    if (tmpdir_make(wfdir, sizeof(wfdir), "page") < 0) return -1;
    return write_file(wfdir, "paged.yaml", workflow_yaml);
}

static int teardown(void **state) {
    (void)state;
    redis_fixture_stop(&fx);
    config_free(&cfg);
    return tmpdir_remove(wfdir);
}

typedef struct fixture {
    store *s;
    workflow_set *set;
    char id[96];
    lease_item page;
} fixture;

/* Records the alert of the workflow with `status`; returns the outcome. */
static int record(fixture *x, const char *status) {
    char err[256], json[200];
    alert_batch b;
    snprintf(json, sizeof(json),
             "{\"source\":\"t\",\"summary\":\"db\",\"status\":\"%s\",\"labels\":{\"env\":\"prod\"}}",
             status);
    assert_int_equal(alert_decode(json, strlen(json), &b, err, sizeof(err)), 0);
    int rc = incident_record(x->s, &b.items[0], x->set->items[0], NULL, x->id, sizeof(x->id), err,
                             sizeof(err));
    alert_batch_free(&b);
    return rc;
}

/* A fresh Redis with one incident whose page step is queued. */
static void open_incident(fixture *x) {
    char err[256];
    wf_diag d = {0};
    memset(x, 0, sizeof(*x));
    assert_non_null(x->s = store_open(&cfg, err, sizeof(err)));
    redisReply *r = store_command(x->s, "FLUSHALL");
    assert_non_null(r);
    freeReplyObject(r);
    assert_int_equal(queue_prepare(x->s, pools, 1), 0);
    assert_non_null(x->set = workflow_load(wfdir, &d));
    wf_diag_free(&d);
    assert_int_equal(record(x, "firing"), RECORD_OPENED);
}

static void fixture_free(fixture *x) {
    workflow_set_free(x->set);
    store_close(x->s);
}

static int lease(fixture *x, lease_item *items, size_t max) {
    return queue_lease(x->s, "w1", pools, 1, max, 0, items);
}

/* Starts the leased task li and arms `plan` as its level; returns what
 * queue_task_complete() returned. */
static int arm(fixture *x, const lease_item *li, const char *plan) {
    task_run run;
    char err[256];
    assert_int_equal(queue_task_start(x->s, "w1", li, &run, err, sizeof(err)), 1);
    task_result res = {.succeeded = 1, .page_plan = (char *)plan};
    int rc = queue_task_complete(x->s, "w1", li, &run, &res, err, sizeof(err));
    task_run_clear(&run);
    return rc;
}

static const char *task_field(fixture *x, const char *step, const char *f, char *buf, size_t len) {
    redisReply *r = store_command(x->s, "HGET %s:{%s}:task:%s %s", store_prefix(x->s), x->id, step, f);
    snprintf(buf, len, "%s", r && r->type == REDIS_REPLY_STRING ? r->str : "");
    if (r) freeReplyObject(r);
    return buf;
}

static long long count(fixture *x, const char *cmd_fmt, const char *key_tail) {
    redisReply *r = store_command(x->s, cmd_fmt, store_prefix(x->s), key_tail);
    long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (r) freeReplyObject(r);
    return n;
}

static bool timeline_has(fixture *x, const char *needle) {
    redisReply *r = store_command(x->s, "LRANGE %s:{%s}:timeline 0 -1", store_prefix(x->s), x->id);
    bool found = false;
    for (size_t i = 0; r && i < r->elements; i++) found |= strstr(r->element[i]->str, needle) != NULL;
    if (r) freeReplyObject(r);
    return found;
}

/* A level of alice: Slack now, SMS much later; escalation after delay_ms. */
static void plan_text(char *buf, size_t len, int pass, int delay_ms, int last) {
    snprintf(buf, len,
             "{\"pass\":%d,\"level\":%d,\"round\":1,\"last\":%s,\"delay_ms\":%d,"
             "\"targets\":[{\"person\":\"alice\"}],\"notes\":["
             "{\"person\":\"alice\",\"channel\":\"slack\",\"after_ms\":0,\"task\":\"page#%d.alice.slack\","
             "\"def\":\"{\\\"id\\\":\\\"page#%d.alice.slack\\\",\\\"action\\\":\\\"noop\\\",\\\"level\\\":%d,\\\"with\\\":{}}\"},"
             "{\"person\":\"alice\",\"channel\":\"sms\",\"after_ms\":600000,\"task\":\"page#%d.alice.sms\","
             "\"def\":\"{\\\"id\\\":\\\"page#%d.alice.sms\\\",\\\"action\\\":\\\"noop\\\",\\\"level\\\":%d,\\\"with\\\":{}}\"}]}",
             pass, pass, last ? "true" : "false", delay_ms, pass, pass, pass, pass, pass, pass);
}

/* open_incident(), then level 1 armed: its escalation after delay_ms. */
static void open_paging(fixture *x, int delay_ms) {
    lease_item items[4];
    char plan[2048];
    open_incident(x);
    assert_int_equal(lease(x, items, 4), 1);
    assert_string_equal(items[0].step, "page");
    plan_text(plan, sizeof(plan), 1, delay_ms, 0);
    assert_int_equal(arm(x, &items[0], plan), 0);
}

static void test_level_notifies_once_and_ack_stops_all(void **state) {
    (void)state;
    fixture x;
    lease_item items[4];
    char buf[512], err[256], outcome[32], first[64];
    open_paging(&x, 600000);
    assert_string_equal(task_field(&x, "page", "state", buf, sizeof(buf)), "paging");
    assert_string_equal(task_field(&x, "page", "lease", buf, sizeof(buf)), "");
    assert_int_equal(count(&x, "ZCARD %s:timers%s", ""), 3);

    /* The Slack timer is due: one task, made once even if it fired again. */
    assert_int_equal(paging_fire(x.s, 100), 1);
    assert_int_equal(paging_fire(x.s, 100), 0);
    assert_string_equal(task_field(&x, "page#1.alice.slack", "state", buf, sizeof(buf)), "queued");
    assert_string_equal(task_field(&x, "page#1.alice.slack", "page_of", buf, sizeof(buf)), "page");
    assert_int_equal(lease(&x, items, 4), 1);
    assert_string_equal(items[0].step, "page#1.alice.slack");
    task_run run;
    assert_int_equal(queue_task_start(x.s, "w1", &items[0], &run, err, sizeof(err)), 1);
    task_result ok = {.succeeded = 1, .duration_ms = 1};
    assert_int_equal(queue_task_complete(x.s, "w1", &items[0], &run, &ok, err, sizeof(err)), 0);
    task_run_clear(&run);
    assert_true(timeline_has(&x, "\"type\":\"page.sent\""));
    assert_true(timeline_has(&x, "\"channel\":\"slack\""));

    /* The acknowledgement: the pending SMS and the escalation are gone, the
     * step succeeds with who, the level and ack_ms, and announce runs. */
    assert_int_equal(incident_ack(x.s, x.id, "alice", "cli", outcome, sizeof(outcome), first,
                                  sizeof(first), err, sizeof(err)), 0);
    assert_string_equal(outcome, "acknowledged");
    assert_int_equal(count(&x, "ZCARD %s:timers%s", ""), 0);
    assert_string_equal(task_field(&x, "page", "state", buf, sizeof(buf)), "succeeded");
    json_t *out = json_loads(task_field(&x, "page", "output", buf, sizeof(buf)), 0, NULL);
    assert_string_equal(json_string_value(json_object_get(out, "acknowledged_by")), "alice");
    assert_int_equal(json_integer_value(json_object_get(out, "level")), 1);
    assert_true(json_is_integer(json_object_get(out, "ack_ms")));
    json_decref(out);
    assert_true(timeline_has(&x, "\"channel\":\"cli\""));
    assert_int_equal(lease(&x, items, 4), 1);
    assert_string_equal(items[0].step, "announce");
    fixture_free(&x);
}

static void test_arm_is_fenced(void **state) {
    (void)state;
    fixture x;
    lease_item items[4];
    char plan[2048], err[256];
    open_incident(&x);
    assert_int_equal(lease(&x, items, 4), 1);
    task_run run;
    assert_int_equal(queue_task_start(x.s, "w1", &items[0], &run, err, sizeof(err)), 1);
    plan_text(plan, sizeof(plan), 1, 600000, 0);
    /* Another worker's lease: nothing is armed. */
    assert_int_equal(paging_arm(x.s, "w2", &items[0], plan, err, sizeof(err)), 1);
    assert_int_equal(count(&x, "ZCARD %s:timers%s", ""), 0);
    assert_int_equal(paging_arm(x.s, "w1", &items[0], plan, err, sizeof(err)), 0);
    assert_int_equal(paging_arm(x.s, "w1", &items[0], plan, err, sizeof(err)), 1);
    assert_int_equal(count(&x, "ZCARD %s:timers%s", ""), 3);
    task_run_clear(&run);
    fixture_free(&x);
}

static void test_escalates_then_exhausts(void **state) {
    (void)state;
    fixture x;
    lease_item items[4];
    char plan[2048], buf[256];
    open_paging(&x, 0);
    /* Level 1's Slack note and its escalation are both due now. */
    assert_int_equal(paging_fire(x.s, 100), 2);
    assert_string_equal(task_field(&x, "page", "state", buf, sizeof(buf)), "queued");
    assert_int_equal(lease(&x, items, 4), 2);
    const lease_item *pg = strcmp(items[0].step, "page") == 0 ? &items[0] : &items[1];
    plan_text(plan, sizeof(plan), 2, 0, 1);
    assert_int_equal(arm(&x, pg, plan), 0);
    assert_true(timeline_has(&x, "\"type\":\"incident.escalated\""));
    assert_string_equal(task_field(&x, "page", "page_level", buf, sizeof(buf)), "2");
    /* The last level's delay runs out: dead, and what needs it is skipped;
     * the SMS timers of the dead page go with it. */
    assert_int_equal(paging_fire(x.s, 100), 2);
    assert_string_equal(task_field(&x, "page", "state", buf, sizeof(buf)), "dead");
    assert_string_equal(task_field(&x, "page", "dead_reason", buf, sizeof(buf)), "escalation exhausted");
    assert_string_equal(task_field(&x, "announce", "state", buf, sizeof(buf)), "skipped");
    assert_int_equal(count(&x, "ZCARD %s:timers%s", ""), 0);
    fixture_free(&x);
}

static void test_resolve_stops_paging(void **state) {
    (void)state;
    fixture x;
    char buf[512];
    open_paging(&x, 600000);
    char id[96];
    snprintf(id, sizeof(id), "%s", x.id);
    assert_int_equal(record(&x, "resolved"), RECORD_RESOLVED);
    assert_string_equal(x.id, id);
    assert_int_equal(count(&x, "ZCARD %s:timers%s", ""), 0);
    json_t *out = json_loads(task_field(&x, "page", "output", buf, sizeof(buf)), 0, NULL);
    assert_true(json_is_true(json_object_get(out, "resolved")));
    json_decref(out);
    assert_int_equal(paging_fire(x.s, 100), 0);
    fixture_free(&x);
}

/* A person resolving the incident (resolve.lua) stops paging as an alert's
 * resolution does. */
static void test_manual_resolve_stops_paging(void **state) {
    (void)state;
    fixture x;
    char buf[512], err[256], outcome[32], by[64];
    open_paging(&x, 600000);
    assert_int_equal(incident_resolve(x.s, x.id, "bob", "slack", outcome, sizeof(outcome), by,
                                      sizeof(by), err, sizeof(err)), 0);
    assert_string_equal(outcome, "resolved");
    assert_int_equal(count(&x, "ZCARD %s:timers%s", ""), 0);
    assert_string_equal(task_field(&x, "page", "state", buf, sizeof(buf)), "succeeded");
    json_t *out = json_loads(task_field(&x, "page", "output", buf, sizeof(buf)), 0, NULL);
    assert_true(json_is_true(json_object_get(out, "resolved")));
    json_decref(out);
    fixture_free(&x);
}

static const char oncall_yaml[] =
    "people:\n"
    "  - {id: alice, name: Alice, timezone: UTC, contacts: {slack: U0ALICE01}, notify: [{channel: slack, after: 0s}]}\n"
    "schedules:\n"
    "  - id: primary\n    name: Primary\n    timezone: UTC\n    layers:\n"
    "      - rotations: [{participants: [alice], turn: weekly, start: 2026-01-05}]\n"
    "policies:\n"
    "  - {id: esc, name: Esc, levels: [{targets: [{schedule: primary}], delay: 2s}]}\n";

static void test_oncall_set_travels_through_redis(void **state) {
    (void)state;
    char dir[96], err[256], v1[32], v2[32];
    assert_int_equal(tmpdir_make(dir, sizeof(dir), "oncall"), 0);
    assert_int_equal(write_file(dir, "oncall.yaml", oncall_yaml), 0);
    wf_diag d = {0};
    json_t *doc = NULL;
    oncall_set *set = oncall_load_merged(dir, &d, &doc);
    assert_non_null(set);
    assert_non_null(doc);
    store *s = store_open(&cfg, err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(oncall_publish(s, doc, v1, sizeof(v1)), 0);
    assert_int_equal(oncall_publish(s, doc, v2, sizeof(v2)), 0);
    assert_string_equal(v1, v2); /* a hash of the content */
    oncall_cache c = {0};
    const oncall_set *got = oncall_fetch(s, &c, err, sizeof(err));
    assert_non_null(got);
    assert_non_null(oncall_policy(got, "esc"));
    assert_ptr_equal(oncall_fetch(s, &c, err, sizeof(err)), got); /* cached by version */
    const person *p = NULL;
    assert_int_equal(oncall_now(s, got, oncall_schedule(got, "primary"), 1800000000, &p, err, sizeof(err)), 0);
    assert_non_null(p);
    assert_string_equal(p->id, "alice");

    /* page steps and oncall templates are checked against the files */
    wf_diag wd = {0};
    workflow_set *ws = workflow_load(wfdir, &wd);
    assert_non_null(ws);
    page_check(ws, set, &wd);
    assert_int_equal(wd.n, 0);
    page_check(ws, NULL, &wd);
    assert_int_equal(wd.n, 1);
    assert_non_null(strstr(wd.msgs[0], "person \"alice\""));
    assert_true(oncall_template_path_ok("oncall.primary.phone"));
    assert_false(oncall_template_path_ok("oncall.primary.pager"));
    assert_false(oncall_template_path_ok("oncall..name"));
    wf_diag_free(&wd);
    workflow_set_free(ws);

    oncall_cache_clear(&c);
    store_close(s);
    json_decref(doc);
    oncall_set_free(set);
    wf_diag_free(&d);
    assert_int_equal(tmpdir_remove(dir), 0);
}

static const char policy_yaml[] =
    "people:\n"
    "  - {id: alice, name: Alice, timezone: UTC, contacts: {slack: U0ALICE01, phone: \"+4915112345601\"},\n"
    "     notify: [{channel: slack, after: 0s}, {channel: sms, after: 2s}]}\n"
    "  - {id: bob, name: Bob, timezone: UTC, contacts: {slack: U0BOB0002}, notify: [{channel: slack, after: 1s}]}\n"
    "schedules:\n"
    "  - id: primary\n    name: Primary\n    timezone: UTC\n    layers:\n"
    "      - rotations: [{participants: [alice], turn: weekly, start: 2026-01-05}]\n"
    "policies:\n"
    "  - id: twice\n    name: Twice\n    repeat: 1\n    levels:\n"
    "      - {targets: [{schedule: primary}], delay: 2s}\n"
    "      - {targets: [{person: alice}, {channel: \"#ops\"}, {schedule: primary}], delay: 3s}\n";

/* Runs the page action with `with` (taken; NULL: policy twice) for the
 * step whose hash says page_pass = pass - 1 and returns its plan (caller
 * frees). */
static json_t *page_plan(action_env *e, int pass, json_t *with) {
    redisReply *r = store_command(e->w->store, "HSET muster:{%s}:task:page page_pass %d",
                                  ACTION_TEST_INCIDENT, pass - 1);
    assert_non_null(r);
    freeReplyObject(r);
    if (!with)
        with = json_pack("{s:s, s:s, s:{s:{s:s}}}", "policy", "twice", "message", "{{ alert.summary }}",
                         "channels", "slack", "token", "xoxb-t");
    task *t = action_task(NULL, "page", "page", with, false);
    assert_int_equal(action_run(e, t), 0);
    assert_true(t->res.succeeded);
    assert_non_null(t->res.page_plan);
    json_t *plan = json_loads(t->res.page_plan, 0, NULL);
    task_free(e->w, t);
    return plan;
}

static void test_page_action_resolves_levels(void **state) {
    (void)state;
    char dir[96], v[32];
    action_env e;
    assert_int_equal(action_env_init(&e, fx.port), 0);
    redisReply *r = store_command(e.w->store, "FLUSHALL");
    freeReplyObject(r);
    assert_int_equal(tmpdir_make(dir, sizeof(dir), "policy"), 0);
    assert_int_equal(write_file(dir, "oncall.yaml", policy_yaml), 0);
    wf_diag d = {0};
    json_t *doc = NULL;
    oncall_set *set = oncall_load_merged(dir, &d, &doc);
    assert_non_null(set);
    assert_int_equal(oncall_publish(e.w->store, doc, v, sizeof(v)), 0);
    /* bob takes the primary over by an override in Redis */
    r = store_command(e.w->store, "HSET muster:oncall:{primary}:overrides o1 "
                      "{\"id\":\"o1\",\"who\":\"bob\",\"from\":0,\"to\":4000000000,\"created_ms\":1}");
    freeReplyObject(r);

    /* Level 1: the schedule is bob now; his one rule; nothing on the last level. */
    json_t *plan = page_plan(&e, 1, NULL);
    assert_int_equal(json_integer_value(json_object_get(plan, "level")), 1);
    assert_int_equal(json_integer_value(json_object_get(plan, "round")), 1);
    assert_false(json_is_true(json_object_get(plan, "last")));
    assert_int_equal(json_integer_value(json_object_get(plan, "delay_ms")), 2000);
    json_t *notes = json_object_get(plan, "notes");
    assert_int_equal(json_array_size(notes), 1);
    json_t *n0 = json_array_get(notes, 0);
    assert_string_equal(json_string_value(json_object_get(n0, "task")), "page#1.bob.slack");
    assert_int_equal(json_integer_value(json_object_get(n0, "after_ms")), 1000);
    json_t *def = json_loads(json_string_value(json_object_get(n0, "def")), 0, NULL);
    assert_string_equal(json_string_value(json_object_get(def, "action")), "slack");
    assert_string_equal(json_string_value(json_object_get(json_object_get(def, "with"), "channel")), "U0BOB0002");
    assert_string_equal(json_string_value(json_object_get(json_object_get(def, "with"), "text")), "{{ alert.summary }}");
    assert_true(json_is_true(json_object_get(json_object_get(def, "with"), "buttons")));
    json_decref(def);
    json_decref(plan);

    /* Pass 4 is the second round's level 2, the last: alice's Slack (her
     * SMS has no channel settings), the channel, and bob from the schedule. */
    plan = page_plan(&e, 4, NULL);
    assert_int_equal(json_integer_value(json_object_get(plan, "level")), 2);
    assert_int_equal(json_integer_value(json_object_get(plan, "round")), 2);
    assert_true(json_is_true(json_object_get(plan, "last")));
    notes = json_object_get(plan, "notes");
    assert_int_equal(json_array_size(notes), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(notes, 0), "task")), "page#4.alice.slack");
    assert_string_equal(json_string_value(json_object_get(json_array_get(notes, 1), "task")), "page#4.#ops.slack");
    assert_string_equal(json_string_value(json_object_get(json_array_get(notes, 2), "task")), "page#4.bob.slack");
    assert_int_equal(json_array_size(json_object_get(plan, "targets")), 3);
    json_decref(plan);

    /* Inline targets: one level, the last, waiting `delay`. */
    plan = page_plan(&e, 1, json_pack("{s:[{s:s}], s:s, s:s, s:{s:{}}}", "targets", "person", "alice",
                                      "delay", "4s", "message", "m", "channels", "slack"));
    assert_int_equal(json_integer_value(json_object_get(plan, "level")), 1);
    assert_true(json_is_true(json_object_get(plan, "last")));
    assert_int_equal(json_integer_value(json_object_get(plan, "delay_ms")), 4000);
    assert_int_equal(json_array_size(json_object_get(plan, "notes")), 1);
    json_decref(plan);

    json_decref(doc);
    oncall_set_free(set);
    wf_diag_free(&d);
    assert_int_equal(tmpdir_remove(dir), 0);
    action_env_free(&e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_level_notifies_once_and_ack_stops_all),
        cmocka_unit_test(test_arm_is_fenced),
        cmocka_unit_test(test_escalates_then_exhausts),
        cmocka_unit_test(test_resolve_stops_paging),
        cmocka_unit_test(test_manual_resolve_stops_paging),
        cmocka_unit_test(test_oncall_set_travels_through_redis),
        cmocka_unit_test(test_page_action_resolves_levels),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
