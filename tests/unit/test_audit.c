/* test_audit.c - operator actions on the record: operator.action, P:audit, notes */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state/audit.h"
#include "common/config.h"
#include "state/operator.h"
#include "state/store.h"
#include "tests/harness/redis_fixture.h"

static redis_fixture fx;
static config cfg;
static store *s;

static int setup(void **state) {
    (void)state;
    char err[256];
    if (redis_fixture_start_config(&fx, &cfg) < 0) return -1;
    if (!(s = store_open(&cfg, err, sizeof(err)))) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state) {
    (void)state;
    store_close(s);
    redis_fixture_stop(&fx);
    config_free(&cfg);
    return 0;
}

static long long integer(const char *fmt, const char *arg) {
    redisReply *r = store_command(s, fmt, arg);
    assert_non_null(r);
    long long v = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    return v;
}

/* The outbox's events, oldest first, as JSON objects. */
static json_t *outbox(void) {
    redisReply *r = store_command(s, "XRANGE muster:outbox - +");
    assert_non_null(r);
    json_t *out = json_array();
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *f = r->element[i]->element[1];
        for (size_t j = 0; j + 1 < f->elements; j += 2)
            if (!strcmp(f->element[j]->str, "event"))
                json_array_append_new(out, json_loads(f->element[j + 1]->str, 0, NULL));
    }
    freeReplyObject(r);
    return out;
}

static void fresh_incident(const char *id) {
    redisReply *r = store_command(s, "FLUSHALL");
    freeReplyObject(r);
    r = store_command(s, "HSET muster:{%s}:inc id %s workflow db status open fingerprint fp1 run running",
                      id, id);
    assert_non_null(r);
    freeReplyObject(r);
}

static void test_an_action_is_an_event_and_an_entry(void **state) {
    (void)state;
    char err[256], id[64];
    int missing = -1;
    fresh_incident("inc-a");
    audit_entry e = {.action = "replay", .incident = "inc-a", .task = "inc-a/call", .by = "dana",
                     .via = "api", .remote = "10.0.0.5:4242", .outcome = "replayed"};
    assert_int_equal(audit_record(s, &e, 1000, &missing, id, sizeof(id), err, sizeof(err)), 0);
    assert_int_equal(missing, 0);
    json_t *ev = outbox();
    assert_int_equal(json_array_size(ev), 1);
    json_t *o = json_array_get(ev, 0), *d = json_object_get(o, "data");
    assert_string_equal(json_string_value(json_object_get(o, "type")), "operator.action");
    assert_string_equal(json_string_value(json_object_get(o, "id")), id);
    assert_string_equal(json_string_value(json_object_get(o, "subject")), "inc-a");
    assert_string_equal(json_string_value(json_object_get(d, "task")), "inc-a/call");
    assert_string_equal(json_string_value(json_object_get(d, "by")), "dana");
    assert_string_equal(json_string_value(json_object_get(d, "remote")), "10.0.0.5:4242");
    json_decref(ev);
    /* not in the timeline: the action's own event is */
    assert_int_equal(integer("LLEN muster:{%s}:timeline", "inc-a"), 0);
    json_t *list = audit_list(s, 0, 10, err, sizeof(err));
    assert_int_equal(json_array_size(list), 1);
    json_t *a = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(a, "action")), "replay");
    assert_string_equal(json_string_value(json_object_get(a, "id")), id);
    assert_non_null(json_string_value(json_object_get(a, "time")));
    json_decref(list);
    /* since: later than now lists nothing */
    list = audit_list(s, 4102444800000LL, 10, err, sizeof(err));
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);
    e.by = NULL;
    assert_int_equal(audit_record(s, &e, 1000, NULL, NULL, 0, err, sizeof(err)), -1);
}

static void test_note_goes_to_the_timeline(void **state) {
    (void)state;
    char err[256], outcome[32];
    fresh_incident("inc-n");
    operator_ctx o = {.by = "erin", .via = "cli", .audit_max = 1000};
    assert_int_equal(operator_note(s, &o, "inc-n", "rolled back \"v2\"", outcome, sizeof(outcome), err, sizeof(err)), 0);
    assert_string_equal(outcome, "noted");
    assert_int_equal(integer("LLEN muster:{%s}:timeline", "inc-n"), 1);
    json_t *ev = outbox();
    assert_int_equal(json_array_size(ev), 2);
    json_t *note = json_array_get(ev, 0);
    assert_string_equal(json_string_value(json_object_get(note, "type")), "incident.note");
    assert_string_equal(json_string_value(json_object_get(json_object_get(note, "data"), "text")), "rolled back \"v2\"");
    assert_string_equal(json_string_value(json_object_get(json_array_get(ev, 1), "type")), "operator.action");
    json_decref(ev);
    /* an unknown incident: nothing written */
    assert_int_equal(operator_note(s, &o, "inc-none", "x", outcome, sizeof(outcome), err, sizeof(err)), 0);
    assert_string_equal(outcome, "missing");
    assert_int_equal(integer("XLEN %s", "muster:outbox"), 2);
    assert_int_equal(integer("XLEN %s", "muster:audit"), 1);
    char big[AUDIT_NOTE_MAX + 2];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(operator_note(s, &o, "inc-n", big, outcome, sizeof(outcome), err, sizeof(err)), -1);
    assert_non_null(strstr(err, "longer than 4096"));
    assert_int_equal(operator_note(s, &o, "inc-n", "", outcome, sizeof(outcome), err, sizeof(err)), -1);
}

static void test_ack_is_audited_once_done(void **state) {
    (void)state;
    char err[256], outcome[32], first[64];
    fresh_incident("inc-k");
    operator_ctx o = {.by = "fay", .via = "cli", .audit_max = 1000};
    assert_int_equal(operator_ack(s, &o, "inc-k", outcome, sizeof(outcome), first, sizeof(first), err, sizeof(err)), 0);
    assert_string_equal(outcome, "acknowledged");
    o.by = "gus";
    assert_int_equal(operator_ack(s, &o, "inc-k", outcome, sizeof(outcome), first, sizeof(first), err, sizeof(err)), 0);
    assert_string_equal(outcome, "already");
    assert_string_equal(first, "fay");
    assert_int_equal(operator_ack(s, &o, "inc-gone", outcome, sizeof(outcome), first, sizeof(first), err, sizeof(err)), 0);
    assert_string_equal(outcome, "missing");
    json_t *list = audit_list(s, 0, 10, err, sizeof(err));
    assert_int_equal(json_array_size(list), 2); /* not the missing one */
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "outcome")), "already");
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "by")), "fay");
    json_decref(list);
}

static void test_the_stream_is_bounded(void **state) {
    (void)state;
    char err[256];
    fresh_incident("inc-b");
    audit_entry e = {.action = "ack", .incident = "inc-b", .by = "h", .via = "api", .outcome = "already"};
    for (int i = 0; i < 600; i++)
        assert_int_equal(audit_record(s, &e, 100, NULL, NULL, 0, err, sizeof(err)), 0);
    /* MAXLEN ~ trims whole nodes: about 100, never the 600 */
    long long n = integer("XLEN %s", "muster:audit");
    if (n < 100 || n > 300) fail_msg("audit stream holds %lld entries, kept 100", n);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_action_is_an_event_and_an_entry),
        cmocka_unit_test(test_note_goes_to_the_timeline),
        cmocka_unit_test(test_ack_is_audited_once_done),
        cmocka_unit_test(test_the_stream_is_bounded),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
