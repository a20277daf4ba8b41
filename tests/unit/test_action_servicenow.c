/* test_action_servicenow.c - the servicenow action against a mock Table API */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state/store.h"
#include "tests/harness/action_run.h"
#include "tests/harness/redis_fixture.h"
#include "tests/harness/vendor_mock.h"
#include "worker/http.h"

#define USER "muster.integration"
#define PASSWORD "snow-pw-41d9"
#define MAX_RECORDS 8

static redis_fixture fx;

typedef struct record {
    char sys_id[48];
    char number[16];
    char correlation_id[80];
    json_t *last; /* the last body written to it */
} record;

/* What the mock instance holds, and how it misbehaves when asked to. */
typedef struct instance {
    const char *table;
    record recs[MAX_RECORDS];
    int n;
    int fail_status;       /* answer with this status, when set, */
    const char *fail_method; /* the requests of this method (NULL: all) */
    const char *fail_body;
    const char *fail_header, *fail_value;
} instance;

static void instance_clear(instance *s) {
    for (int i = 0; i < s->n; i++) json_decref(s->recs[i].last);
}

static json_t *error_body(const char *message, const char *detail) {
    return json_pack("{s:{s:s, s:s}, s:s}", "error", "message", message, "detail", detail, "status", "failure");
}

/* The columns sysparm_fields asks for, of record r. */
static json_t *columns(const mock_request *rq, const record *r) {
    const char *want = json_string_value(json_object_get(rq->query, "sysparm_fields"));
    const char *state = json_string_value(json_object_get(r->last, "state"));
    json_t *all = json_pack("{s:s, s:s, s:s}", "sys_id", r->sys_id, "number", r->number, "state", state ? state : "1");
    if (!want) return all;
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(all, k, v) {
        if (strstr(want, k)) json_object_set(out, k, v);
    }
    json_decref(all);
    return out;
}

static void lookup(vendor_mock *m, instance *s, const mock_request *rq, mock_reply *rp) {
    const char *q = json_string_value(json_object_get(rq->query, "sysparm_query"));
    const char *limit = json_string_value(json_object_get(rq->query, "sysparm_limit"));
    if (!q || strncmp(q, "correlation_id=", 15) != 0) {
        mock_problem(m, "lookup: sysparm_query is \"%s\"", q ? q : "(none)");
        q = "correlation_id=";
    }
    if (!limit || strcmp(limit, "1") != 0) mock_problem(m, "lookup: sysparm_limit is not 1");
    json_t *result = json_array();
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->recs[i].correlation_id, q + 15) == 0) json_array_append_new(result, columns(rq, &s->recs[i]));
    mock_reply_json(rp, 200, json_pack("{s:o}", "result", result));
}

static void insert(vendor_mock *m, instance *s, const mock_request *rq, mock_reply *rp) {
    static const char *const strings[] = {"description", "urgency", "impact", "correlation_display"};
    mock_expect_type(m, rq, "application/json");
    mock_expect_field(m, rq, "short_description", JSON_STRING);
    json_t *corr = mock_expect_field(m, rq, "correlation_id", JSON_STRING);
    for (size_t i = 0; i < sizeof(strings) / sizeof(*strings); i++)
        if (json_object_get(rq->json, strings[i])) mock_expect_field(m, rq, strings[i], JSON_STRING);
    if (!corr || s->n == MAX_RECORDS) {
        mock_reply_json(rp, 400, error_body("Invalid request", "correlation_id missing"));
        return;
    }
    record *r = &s->recs[s->n++];
    snprintf(r->sys_id, sizeof(r->sys_id), "9d385017c611228701d22104cc95c3%02d", s->n);
    snprintf(r->number, sizeof(r->number), "INC00100%02d", s->n);
    snprintf(r->correlation_id, sizeof(r->correlation_id), "%s", json_string_value(corr));
    r->last = json_incref(rq->json);
    mock_reply_json(rp, 201, json_pack("{s:o}", "result", columns(rq, r)));
}

static void patch(vendor_mock *m, instance *s, const mock_request *rq, mock_reply *rp, const char *sys_id) {
    mock_expect_type(m, rq, "application/json");
    if (!json_is_object(rq->json)) mock_problem(m, "PATCH: the body is not a JSON object");
    for (int i = 0; i < s->n; i++) {
        if (strcmp(s->recs[i].sys_id, sys_id) != 0) continue;
        const char *k;
        json_t *v;
        json_object_foreach(rq->json, k, v) {
            if (!json_is_string(v)) mock_problem(m, "PATCH: %s is not a string", k);
        }
        json_object_update(s->recs[i].last, rq->json);
        mock_reply_json(rp, 200, json_pack("{s:o}", "result", columns(rq, &s->recs[i])));
        return;
    }
    mock_reply_json(rp, 404, error_body("No Record found", "Record doesn't exist or ACL restricts the record retrieval"));
}

static void snow_handler(vendor_mock *m, void *arg, int n, const mock_request *rq, mock_reply *rp) {
    instance *s = arg;
    char base[64];
    (void)n;
    mock_expect_basic(m, rq, USER, PASSWORD);
    mock_expect_header(m, rq, "accept", "application/json");
    if (s->fail_status && (!s->fail_method || strcmp(rq->method, s->fail_method) == 0)) {
        mock_reply_text(rp, s->fail_status, "application/json", s->fail_body ? s->fail_body : "");
        if (s->fail_header) mock_reply_header(rp, s->fail_header, s->fail_value);
        return;
    }
    snprintf(base, sizeof(base), "/api/now/table/%s", s->table ? s->table : "incident");
    size_t bl = strlen(base);
    if (strcmp(rq->path, base) == 0 && strcmp(rq->method, "GET") == 0) {
        lookup(m, s, rq, rp);
    } else if (strcmp(rq->path, base) == 0 && mock_expect(m, rq, "POST", rq->path)) {
        insert(m, s, rq, rp);
    } else if (strncmp(rq->path, base, bl) == 0 && rq->path[bl] == '/' && mock_expect(m, rq, "PATCH", rq->path)) {
        patch(m, s, rq, rp, rq->path + bl + 1);
    } else {
        mock_problem(m, "unexpected %s %s", rq->method, rq->path);
        mock_reply_json(rp, 400, error_body("Requested URI does not represent any resource", ""));
    }
}

/* The parameters every op takes, plus `more` (taken). */
static json_t *with(vendor_mock *m, json_t *more) {
    json_t *w = json_pack("{s:s, s:s, s:s}", "instance_url", vendor_mock_url(m), "username", USER, "password", PASSWORD);
    json_object_update(w, more);
    json_decref(more);
    return w;
}

static json_t *create_with(vendor_mock *m) {
    return with(m, json_pack("{s:s, s:s, s:s, s:s}", "short_description", "checkout 5xx above 5%",
                             "description", "Alert HighErrorRate on web-1", "urgency", "1", "impact", "2"));
}

static task *run(action_env *e, const char *incident, const char *step, json_t *w) {
    task *t = action_task(incident, step, "servicenow", w, true);
    assert_int_equal(action_run(e, t), 0);
    return t;
}

static void create_once_per_incident(void **state) {
    (void)state;
    action_env e;
    instance s = {0};
    vendor_mock *m = vendor_mock_start(snow_handler, &s);
    char url[160];
    assert_int_equal(action_env_init(&e, fx.port), 0);

    task *t = run(&e, "inc-create", "ticket", create_with(m));
    assert_int_equal(t->res.succeeded, 1);
    assert_string_equal(json_string_value(action_output(t, "sys_id")), "9d385017c611228701d22104cc95c301");
    assert_string_equal(json_string_value(action_output(t, "number")), "INC0010001");
    snprintf(url, sizeof(url), "%s/incident.do?sys_id=9d385017c611228701d22104cc95c301", vendor_mock_url(m));
    assert_string_equal(json_string_value(action_output(t, "url")), url);
    assert_true(json_is_true(action_output(t, "created")));
    task_free(e.w, t);
    assert_int_equal(vendor_mock_count(m), 2);
    const mock_request *rq = vendor_mock_request(m, 0);
    assert_string_equal(rq->method, "GET");
    assert_string_equal(json_string_value(json_object_get(rq->query, "sysparm_query")), "correlation_id=inc-create");
    assert_string_equal(json_string_value(json_object_get(rq->query, "sysparm_fields")), "sys_id,number");
    json_t *body = vendor_mock_request(m, 1)->json;
    assert_string_equal(json_string_value(json_object_get(body, "short_description")), "checkout 5xx above 5%");
    assert_string_equal(json_string_value(json_object_get(body, "description")), "Alert HighErrorRate on web-1");
    assert_string_equal(json_string_value(json_object_get(body, "urgency")), "1");
    assert_string_equal(json_string_value(json_object_get(body, "impact")), "2");
    assert_string_equal(json_string_value(json_object_get(body, "correlation_id")), "inc-create");
    assert_string_equal(json_string_value(json_object_get(body, "correlation_display")), "muster");

    /* A retry of the step: the memo has the record, nothing is asked. */
    t = run(&e, "inc-create", "ticket", create_with(m));
    assert_int_equal(t->res.succeeded, 1);
    assert_string_equal(json_string_value(action_output(t, "number")), "INC0010001");
    assert_string_equal(json_string_value(action_output(t, "url")), url);
    assert_false(json_is_true(action_output(t, "created")));
    task_free(e.w, t);
    assert_int_equal(vendor_mock_count(m), 2);

    /* A replay without the memo: the correlation_id query finds it. */
    assert_int_equal(action_memo_wipe(&e, "inc-create"), 0);
    t = run(&e, "inc-create", "ticket", create_with(m));
    assert_int_equal(t->res.succeeded, 1);
    assert_string_equal(json_string_value(action_output(t, "sys_id")), "9d385017c611228701d22104cc95c301");
    assert_string_equal(json_string_value(action_output(t, "number")), "INC0010001");
    assert_false(json_is_true(action_output(t, "created")));
    task_free(e.w, t);
    assert_int_equal(vendor_mock_count(m), 3);
    assert_int_equal(s.n, 1);
    assert_true(vendor_mock_clean(m));
    instance_clear(&s);
    vendor_mock_stop(m);
    action_env_free(&e);
}

/* update and resolve (an on_resolve step) find the record in the memo. */
static void update_and_resolve_use_memo(void **state) {
    (void)state;
    action_env e;
    instance s = {0};
    vendor_mock *m = vendor_mock_start(snow_handler, &s);
    assert_int_equal(action_env_init(&e, fx.port), 0);
    task *t = run(&e, "inc-later", "ticket", create_with(m));
    assert_int_equal(t->res.succeeded, 1);
    task_free(e.w, t);

    t = run(&e, "inc-later", "note",
            with(m, json_pack("{s:s, s:s, s:{s:s}}", "op", "update", "work_notes", "Paged the on-call", "fields",
                              "assignment_group", "Checkout SRE")));
    assert_int_equal(t->res.succeeded, 1);
    assert_string_equal(json_string_value(action_output(t, "sys_id")), s.recs[0].sys_id);
    assert_string_equal(json_string_value(action_output(t, "number")), "INC0010001");
    task_free(e.w, t);
    const mock_request *rq = vendor_mock_request(m, 2);
    assert_string_equal(rq->method, "PATCH");
    assert_string_equal(rq->path, "/api/now/table/incident/9d385017c611228701d22104cc95c301");
    assert_string_equal(json_string_value(json_object_get(rq->json, "work_notes")), "Paged the on-call");
    assert_string_equal(json_string_value(json_object_get(rq->json, "assignment_group")), "Checkout SRE");
    assert_int_equal(json_object_size(rq->json), 2);

    t = run(&e, "inc-later", "resolve-ticket", with(m, json_pack("{s:s}", "op", "resolve")));
    assert_int_equal(t->res.succeeded, 1);
    assert_string_equal(json_string_value(action_output(t, "state")), "6");
    task_free(e.w, t);
    rq = vendor_mock_request(m, 3);
    assert_string_equal(rq->method, "PATCH");
    assert_string_equal(json_string_value(json_object_get(rq->json, "state")), "6");
    assert_string_equal(json_string_value(json_object_get(rq->json, "close_code")), "Solution provided");
    assert_non_null(strstr(json_string_value(json_object_get(rq->json, "close_notes")), "inc-later"));
    assert_int_equal(vendor_mock_count(m), 4);

    /* Named parameters win over `fields`, which win over the defaults. */
    t = run(&e, "inc-later", "resolve-ticket",
            with(m, json_pack("{s:s, s:s, s:s, s:{s:s, s:s}}", "op", "resolve", "close_code", "Workaround provided",
                              "close_notes", "Rolled back", "fields", "state", "7", "close_code", "ignored")));
    assert_int_equal(t->res.succeeded, 1);
    assert_string_equal(json_string_value(action_output(t, "state")), "7");
    task_free(e.w, t);
    rq = vendor_mock_request(m, 4);
    assert_string_equal(json_string_value(json_object_get(rq->json, "close_code")), "Workaround provided");
    assert_string_equal(json_string_value(json_object_get(rq->json, "close_notes")), "Rolled back");
    assert_true(vendor_mock_clean(m));
    instance_clear(&s);
    vendor_mock_stop(m);
    action_env_free(&e);
}

/* Without a memo, update finds the record by correlation_id; `sys_id`
 * wins over both; another table works the same. */
static void later_steps_without_memo(void **state) {
    (void)state;
    action_env e;
    instance s = {.table = "sn_si_incident", .n = 2,
                  .recs = {{"aaaa0000aaaa0000aaaa0000aaaa0001", "SIR0000001", "inc-elsewhere", NULL},
                           {"aaaa0000aaaa0000aaaa0000aaaa0002", "SIR0000002", "inc-nomemo", NULL}}};
    vendor_mock *m = vendor_mock_start(snow_handler, &s);
    assert_int_equal(action_env_init(&e, 0), 0);
    task *t = run(&e, "inc-nomemo", "note",
                  with(m, json_pack("{s:s, s:s, s:s}", "op", "update", "table", "sn_si_incident", "work_notes", "x")));
    assert_int_equal(t->res.succeeded, 1);
    assert_string_equal(json_string_value(action_output(t, "number")), "SIR0000002");
    assert_non_null(strstr(json_string_value(action_output(t, "url")), "/sn_si_incident.do?sys_id="));
    task_free(e.w, t);
    assert_int_equal(vendor_mock_count(m), 2);
    assert_string_equal(vendor_mock_request(m, 1)->path, "/api/now/table/sn_si_incident/aaaa0000aaaa0000aaaa0000aaaa0002");

    t = run(&e, "inc-nomemo", "note",
            with(m, json_pack("{s:s, s:s, s:s, s:s}", "op", "resolve", "table", "sn_si_incident", "sys_id",
                              "aaaa0000aaaa0000aaaa0000aaaa0001", "close_notes", "done")));
    assert_int_equal(t->res.succeeded, 1);
    assert_string_equal(json_string_value(action_output(t, "number")), "SIR0000001");
    task_free(e.w, t);
    assert_int_equal(vendor_mock_count(m), 3);

    /* No record anywhere: permanent, and nothing is written. */
    t = run(&e, "inc-none", "note",
            with(m, json_pack("{s:s, s:s, s:s}", "op", "resolve", "table", "sn_si_incident", "close_notes", "x")));
    assert_int_equal(t->res.permanent, 1);
    assert_non_null(strstr(t->error, "correlation_id inc-none"));
    task_free(e.w, t);
    assert_int_equal(vendor_mock_count(m), 4);

    /* A sys_id that is gone: ServiceNow's 404 is permanent. */
    t = run(&e, "inc-none", "note",
            with(m, json_pack("{s:s, s:s, s:s, s:s}", "op", "update", "table", "sn_si_incident", "sys_id",
                              "ffff0000ffff0000ffff0000ffff0000", "work_notes", "x")));
    assert_int_equal(t->res.permanent, 1);
    assert_non_null(strstr(t->error, "servicenow update (No Record found: Record doesn't exist"));
    task_free(e.w, t);
    assert_true(vendor_mock_clean(m));
    vendor_mock_stop(m);
    action_env_free(&e);
}

/* ServiceNow's error shape becomes the message; 4xx is permanent, 429 and
 * 5xx are retried after Retry-After. The password never shows. */
static void errors_are_classified(void **state) {
    (void)state;
    static const struct {
        int status;
        const char *method, *body, *header, *value;
        int permanent;
        int64_t retry_after_ms;
        const char *says;
    } cases[] = {
        {400, "POST", "{\"error\":{\"message\":\"Exception while reading request\",\"detail\":\"The payload is not valid JSON.\"},\"status\":\"failure\"}",
         NULL, NULL, 1, 0, "servicenow create (Exception while reading request: The payload is not valid JSON.)"},
        {401, NULL, "{\"error\":{\"message\":\"User Not Authenticated\",\"detail\":\"Required to provide Auth information\"},\"status\":\"failure\"}",
         NULL, NULL, 1, 0, "servicenow lookup (User Not Authenticated: Required to provide Auth information)"},
        {403, "POST", "{\"error\":{\"message\":\"Operation Failed\",\"detail\":\"ACL Exception Insert Failed due to security constraints\"},\"status\":\"failure\"}",
         NULL, NULL, 1, 0, "ACL Exception"},
        {404, NULL, "{\"error\":{\"message\":\"Invalid table incidentx\",\"detail\":null},\"status\":\"failure\"}",
         NULL, NULL, 1, 0, "(Invalid table incidentx)"},
        {429, NULL, "{\"error\":{\"message\":\"Too many requests\",\"detail\":\"Rate limit exceeded\"},\"status\":\"failure\"}",
         "Retry-After", "12", 0, 12000, "Too many requests"},
        {500, "POST", "", NULL, NULL, 0, 0, "servicenow create: HTTP 500"},
        {503, NULL, "<html>down</html>", "Retry-After", "3", 0, 3000, "HTTP 503"},
    };
    setenv("MUSTER_SECRET_SNOW_PASSWORD", PASSWORD, 1);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        action_env e;
        instance s = {.fail_status = cases[i].status, .fail_method = cases[i].method, .fail_body = cases[i].body,
                      .fail_header = cases[i].header, .fail_value = cases[i].value};
        vendor_mock *m = vendor_mock_start(snow_handler, &s);
        assert_int_equal(action_env_init(&e, fx.port), 0);
        json_t *w = create_with(m);
        json_object_set_new(w, "password", json_pack("{s:s}", "secret", "snow_password"));
        task *t = run(&e, "inc-errors", "ticket", w);
        assert_int_equal(t->res.succeeded, 0);
        assert_int_equal(t->res.permanent, cases[i].permanent);
        assert_int_equal(t->res.retry_after_ms, cases[i].retry_after_ms);
        if (!strstr(t->error, cases[i].says)) fail_msg("HTTP %d: \"%s\" lacks \"%s\"", cases[i].status, t->error, cases[i].says);
        char *dump = json_dumps(t->res.output, JSON_COMPACT);
        assert_null(strstr(dump, PASSWORD));
        free(dump);
        assert_int_equal(json_integer_value(action_output(t, "status")), cases[i].status);
        task_free(e.w, t);
        assert_int_equal(vendor_mock_count(m), cases[i].method ? 2 : 1);
        assert_int_equal(s.n, 0);
        assert_true(vendor_mock_clean(m));
        instance_clear(&s);
        vendor_mock_stop(m);
        action_env_free(&e);
    }
    unsetenv("MUSTER_SECRET_SNOW_PASSWORD");
}

/* Bad input fails at once, naming the parameter, without a request. */
static void bad_input_is_permanent(void **state) {
    (void)state;
    static const struct {
        const char *json, *says;
    } cases[] = {
        {"{\"description\":\"x\"}", "servicenow create: the parameter \"short_description\" is required"},
        {"{\"op\":\"update\",\"sys_id\":\"abc\"}", "\"work_notes\" or \"fields\" is required"},
        {"{\"op\":\"close\"}", "unknown op \"close\""},
        {"{\"op\":\"resolve\",\"fields\":\"state=6\"}", "\"fields\" must be a map"},
    };
    action_env e;
    instance s = {0};
    vendor_mock *m = vendor_mock_start(snow_handler, &s);
    assert_int_equal(action_env_init(&e, fx.port), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        task *t = run(&e, "inc-bad", "ticket", with(m, json_loads(cases[i].json, 0, NULL)));
        assert_int_equal(t->res.succeeded, 0);
        assert_int_equal(t->res.permanent, 1);
        if (!strstr(t->error, cases[i].says)) fail_msg("\"%s\" lacks \"%s\"", t->error, cases[i].says);
        task_free(e.w, t);
    }
    json_t *w = create_with(m);
    json_object_del(w, "password");
    task *t = run(&e, "inc-bad", "ticket", w);
    assert_int_equal(t->res.permanent, 1);
    assert_non_null(strstr(t->error, "\"password\" is required"));
    task_free(e.w, t);
    assert_int_equal(vendor_mock_count(m), 0);
    vendor_mock_stop(m);
    action_env_free(&e);
}

static int setup(void **state) {
    (void)state;
    return redis_fixture_start(&fx);
}

static int teardown(void **state) {
    (void)state;
    redis_fixture_stop(&fx);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_once_per_incident),
        cmocka_unit_test(update_and_resolve_use_memo),
        cmocka_unit_test(later_steps_without_memo),
        cmocka_unit_test(errors_are_classified),
        cmocka_unit_test(bad_input_is_permanent),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
