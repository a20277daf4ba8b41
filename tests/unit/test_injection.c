/* test_injection.c - alert and vendor data can never name a secret, break
 * out of a JSON body or add to a URL: the attacks a security review made,
 * run through the workflow loader and the worker's own path */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/secret.h"
#include "common/template.h"
#include "common/workflow.h"
#include "tests/harness/tmpdir.h"
#include "tests/harness/action_run.h"
#include "tests/harness/vendor_mock.h"

#define STOLEN "hooktok-value-7c1d9e55"
#define OWN "own-token-3b8a40c2"

/* The receiver: answers every request with a reply that tries to plant a
 * reference for the next step, and keeps what it was sent. */
static void receiver(vendor_mock *m, void *arg, int n, const mock_request *rq, mock_reply *rp) {
    (void)arg, (void)n;
    mock_expect(m, rq, "POST", "/hook");
    mock_reply_json(rp, 200, json_pack("{s:{s:s}}", "note", "secret", "hooktok"));
}

typedef struct fixture {
    action_env e;
    vendor_mock *m;
    char url[128];
} fixture;

static int setup(void **state) {
    static fixture f;
    setenv("MUSTER_SECRET_HOOKTOK", STOLEN, 1);
    setenv("MUSTER_SECRET_OWN", OWN, 1);
    if (!(f.m = vendor_mock_start(receiver, NULL))) return -1;
    if (action_env_init(&f.e, 0) < 0) return -1;
    snprintf(f.url, sizeof(f.url), "%s/hook", vendor_mock_url(f.m));
    *state = &f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    vendor_mock_stop(f->m);
    action_env_free(&f->e);
    return 0;
}

/* Runs one webhook step with body `body` (taken) and ctx tweaked by the
 * caller through labels and steps (taken, may be NULL); returns what the
 * receiver got as text (caller frees). */
static char *send_step(fixture *f, json_t *body, json_t *labels, json_t *steps) {
    int before = vendor_mock_count(f->m);
    task *t = action_task(NULL, "notify", "webhook",
                          json_pack("{s:s, s:o, s:{s:{s:s}}}", "url", f->url, "body", body,
                                    "headers", "X-Own", "secret", "own"),
                          true);
    if (labels) json_object_set_new(json_object_get(t->run.ctx, "alert"), "labels", labels);
    if (steps) json_object_set_new(t->run.ctx, "steps", steps);
    assert_int_equal(action_run(&f->e, t), 0);
    assert_int_equal(t->res.succeeded, 1);
    assert_int_equal(vendor_mock_count(f->m), before + 1);
    const mock_request *rq = vendor_mock_request(f->m, before);
    /* The reference the workflow itself wrote still works. */
    assert_string_equal(json_string_value(json_object_get(rq->headers, "x-own")), OWN);
    task_free(f->e.w, t);
    return strdup(rq->body);
}

/* An alert with the label `secret: hooktok`, into a workflow that passes
 * {{ alert.labels }} into a body: the label goes out as the label. */
static void label_cannot_name_a_secret(void **state) {
    fixture *f = *state;
    char *got = send_step(f, json_pack("{s:s}", "labels", "{{ alert.labels }}"),
                          json_pack("{s:s, s:s}", "secret", "hooktok", "service", "checkout"),
                          NULL);
    assert_null(strstr(got, STOLEN));
    json_t *sent = json_loads(got, 0, NULL);
    assert_string_equal(json_string_value(json_dotted(sent, "labels.secret")), "hooktok");
    json_decref(sent);
    free(got);
    /* The whole body as one expression: the same. */
    got = send_step(f, json_string("{{ alert.labels }}"),
                    json_pack("{s:s}", "secret", "hooktok"), NULL);
    assert_null(strstr(got, STOLEN));
    assert_non_null(strstr(got, "hooktok"));
    free(got);
}

/* A vendor's reply {"note":{"secret":"hooktok"}}, passed on to the next
 * step through {{ steps.s1.output.body.note }}, is data too. */
static void vendor_reply_cannot_name_a_secret(void **state) {
    fixture *f = *state;
    /* Step s1 runs for real, so its output is what the vendor answered. */
    task *s1 = action_task(NULL, "s1", "webhook",
                           json_pack("{s:s, s:{s:s}}", "url", f->url, "body", "x", "y"), true);
    assert_int_equal(action_run(&f->e, s1), 0);
    assert_int_equal(s1->res.succeeded, 1);
    json_t *steps = json_pack("{s:{s:O}}", "s1", "output", s1->res.output);
    task_free(f->e.w, s1);
    char *got = send_step(f, json_pack("{s:s}", "text", "{{ steps.s1.output.body.note }}"),
                          NULL, steps);
    assert_null(strstr(got, STOLEN));
    json_t *sent = json_loads(got, 0, NULL);
    assert_string_equal(json_string_value(json_dotted(sent, "text.secret")), "hooktok");
    json_decref(sent);
    free(got);
}

/* A label whose value is JSON text that looks like a reference stays text,
 * in a map body and in a whole-string body alike. */
static void json_looking_label_stays_text(void **state) {
    fixture *f = *state;
    json_t *labels = json_pack("{s:s}", "evil", "{\"secret\":\"hooktok\"}");
    char *got = send_step(f, json_pack("{s:s}", "text", "{{ alert.labels.evil }}"),
                          json_incref(labels), NULL);
    assert_null(strstr(got, STOLEN));
    json_t *sent = json_loads(got, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(sent, "text")), "{\"secret\":\"hooktok\"}");
    json_decref(sent);
    free(got);
    got = send_step(f, json_string("{{ alert.labels.evil }}"), labels, NULL);
    assert_string_equal(got, "{\"secret\":\"hooktok\"}");
    free(got);
}

/* The resolution itself: only the places where the definition holds a
 * reference are resolved, whatever the rendered tree carries elsewhere. */
static void resolve_follows_the_definition(void **state) {
    (void)state;
    char err[512];
    secret_set set = {0};
    json_t *def = json_pack("{s:{s:s}, s:s, s:[{s:s}, s]}", "token", "secret", "own", "data",
                            "{{ alert.labels }}", "list", "secret", "own", "{{ alert.labels }}");
    json_t *ctx = json_pack("{s:{s:{s:s}}}", "alert", "labels", "secret", "hooktok");
    json_t *out = template_render_json(def, ctx, 4096, err, sizeof(err));
    assert_non_null(out);
    assert_int_equal(secret_resolve(def, out, "", &set, err, sizeof(err)), 0);
    char *text = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(text, "{\"data\":{\"secret\":\"hooktok\"},\"list\":[\"" OWN
                              "\",{\"secret\":\"hooktok\"}],\"token\":\"" OWN "\"}");
    free(text);
    json_decref(out);
    /* A rendered tree whose shape no longer matches is refused. */
    out = json_pack("{s:s, s:s, s:[]}", "token", "x", "data", "y", "list");
    assert_int_equal(secret_resolve(def, out, "", &set, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "do not match"));
    json_decref(out);
    json_decref(def);
    json_decref(ctx);
    secret_set_clear(&set);
}

/* Loads a one-step workflow whose step is `step` (YAML, indented as a list
 * item) and returns that step's definition as the dispatcher stores it. */
static json_t *step_from_workflow(const char *step) {
    char dir[64], path[128], cmd[160];
    wf_diag d = {0};
    assert_int_equal(tmpdir_make(dir, sizeof(dir), "inject"), 0);
    snprintf(path, sizeof(path), "%s/wf.yaml", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "name: wf\ntriggers:\n  - matchers: ['severity=\"critical\"']\n"
               "allow_private_network: true\nsteps:\n%s", step);
    fclose(f);
    workflow *wf = workflow_load_file(path, &d);
    if (!wf) fail_msg("%s", d.n ? d.msgs[0] : "load failed");
    json_t *def = workflow_step_json(wf, 0);
    workflow_free(wf);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return def;
}

/* Runs the step of a workflow against the receiver with one label `evil`;
 * returns the request the receiver got. */
static const mock_request *run_workflow_step(fixture *f, const char *step, const char *evil) {
    int before = vendor_mock_count(f->m);
    task *t = action_task(NULL, "notify", "webhook", json_object(), true);
    json_decref(t->run.def);
    t->run.def = step_from_workflow(step);
    json_object_set_new(json_object_get(t->run.ctx, "alert"), "labels",
                        json_pack("{s:s}", "evil", evil));
    assert_int_equal(action_run(&f->e, t), 0);
    if (!t->res.succeeded) fail_msg("step failed: %s", t->error);
    task_free(f->e.w, t);
    assert_int_equal(vendor_mock_count(f->m), before + 1);
    return vendor_mock_request(f->m, before);
}

/* body: '{"text":"{{ alert.labels.evil }}"}' with a label that tries to
 * close the string and add a member: the receiver gets valid JSON whose
 * text is the label, and no other member. */
static void string_body_is_escaped(void **state) {
    fixture *f = *state;
    const char *evil = "x\",\"admin\":true,\"y\":\"";
    char step[512];
    snprintf(step, sizeof(step),
             "  - id: notify\n    action: webhook\n    with:\n      url: %s\n"
             "      body: '{\"text\":\"{{ alert.labels.evil }}\"}'\n", f->url);
    const mock_request *rq = run_workflow_step(f, step, evil);
    assert_non_null(rq->json);
    assert_string_equal(json_string_value(json_object_get(rq->json, "text")), evil);
    assert_null(json_object_get(rq->json, "admin"));
    assert_int_equal(json_object_size(rq->json), 1);
}

/* A query built with a template: the label stays one value of q. */
static void url_query_is_encoded(void **state) {
    fixture *f = *state;
    const char *evil = "a&admin=1#frag";
    char step[512];
    snprintf(step, sizeof(step),
             "  - id: notify\n    action: webhook\n    with:\n"
             "      url: \"%s?q={{ alert.labels.evil }}\"\n      body: {x: 1}\n", f->url);
    const mock_request *rq = run_workflow_step(f, step, evil);
    assert_string_equal(rq->path, "/hook");
    assert_string_equal(json_string_value(json_object_get(rq->query, "q")), evil);
    assert_null(json_object_get(rq->query, "admin"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(label_cannot_name_a_secret),
        cmocka_unit_test(vendor_reply_cannot_name_a_secret),
        cmocka_unit_test(json_looking_label_stays_text),
        cmocka_unit_test(resolve_follows_the_definition),
        cmocka_unit_test(string_body_is_escaped),
        cmocka_unit_test(url_query_is_encoded),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
