/* test_workflow.c - unit tests for loading, validating and matching workflows */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/harness/docfile.h"
#include "tests/harness/tmpdir.h"
#include "common/alert.h"
#include "common/workflow.h"

/* The lines every single-step test file starts with (4 lines). */
#define HEAD                                                                                      \
    "name: wf\n"                                                                                  \
    "triggers:\n"                                                                                 \
    "  - matchers: ['severity=\"critical\"']\n"                                                   \
    "steps:\n"

static char dir[64];
static int nfiles;

static int setup(void **state) {
    (void)state;
    return tmpdir_make(dir, sizeof(dir), "workflow");
}

static int teardown(void **state) {
    (void)state;
    return tmpdir_remove(dir);
}

/* Writes text to sub/name under the temp dir; returns the path (caller frees). */
static char *write_file(const char *sub, const char *name, const char *text) {
    return docfile_write(dir, sub, name, text);
}

/* A fresh file per test document, so messages name distinct paths. */
static char *write_doc(const char *text) {
    char name[32];
    snprintf(name, sizeof(name), "wf%d.yaml", ++nfiles);
    return write_file("files", name, text);
}

static workflow *load_ok(const char *text) {
    wf_diag d = {0};
    char *path = write_doc(text);
    workflow *wf = workflow_load_file(path, &d);
    if (!wf) fail_msg("load failed: %s", d.n ? d.msgs[0] : "(no message)");
    assert_int_equal(d.n, 0);
    assert_string_equal(wf->path, path);
    free(path);
    return wf;
}

/* Loads text expecting problems; one of them must start "path:L:C: ", where
 * L:C is where `marker` first occurs in text, and contain `needle`. */
static void expect_problem(const char *text, const char *marker, const char *needle) {
    wf_diag d = {0};
    char *path = write_doc(text);
    assert_null(workflow_load_file(path, &d));
    docfile_expect(&d, path, text, marker, needle);
    wf_diag_free(&d);
    free(path);
}

static const char *valid_text =
    "# db-down.yaml\n"
    "name: db-down\n"
    "description: the database stopped answering\n"
    "triggers:\n"
    "  - matchers: ['severity=\"critical\"', 'service=~\"db|cache\"']\n"
    "  - matchers: ['severity!=\"info\"', 'env=\"staging\"', 'team!~\"infra.*\"']\n"
    "steps:\n"
    "  - id: ticket\n"
    "    action: webhook\n"
    "    with:\n"
    "      url: \"http://127.0.0.1/{{ alert.labels.service | urlencode }}\"\n"
    "      method: POST\n"
    "      headers: {Authorization: Bearer x}\n"
    "      body: {summary: \"{{ alert.summary }}\", n: 1, tags: [\"{{ incident.id }}\"]}\n"
    "  - id: diag\n"
    "    action: exec\n"
    "    pool: linux-hosts\n"
    "    timeout: 1m\n"
    "    continue_on_error: true\n"
    "    with:\n"
    "      command: [sh, -c, \"uptime {{ workflow.name }}\"]\n"
    "      env: {HOST: \"{{ alert.labels.instance }}\"}\n"
    "  - id: post\n"
    "    needs: [diag, ticket]\n"
    "    action: webhook\n"
    "    timeout: 1500\n"
    "    continue_on_error: false\n"
    "    with:\n"
    "      url: http://127.0.0.1/chat\n"
    "      body: '{\"text\": \"{{ steps.diag.output.stdout }} {{ steps.ticket.output.status }}\"}'\n"
    "  - id: close\n"
    "    needs: [post]\n"
    "    action: exec\n"
    "    with:\n"
    "      command: [\"close\", \"{{ steps.ticket.output.body.key }}\", \"{{ step.id }}\"]\n";

static void test_valid(void **state) {
    (void)state;
    workflow *wf = load_ok(valid_text);
    assert_string_equal(wf->name, "db-down");
    assert_int_equal(wf->ntriggers, 2);
    assert_int_equal(wf->triggers[0].n, 2);
    assert_int_equal(wf->triggers[1].n, 3);
    assert_int_equal(wf->nsteps, 4);

    const wf_step *s = wf->steps;
    assert_string_equal(s[0].id, "ticket");
    assert_string_equal(s[0].action, "webhook");
    assert_string_equal(s[0].pool, "default");
    assert_int_equal(s[0].timeout_ms, 0);
    assert_false(s[0].continue_on_error);
    assert_int_equal(s[0].nneeds, 0);
    assert_string_equal(json_string_value(json_object_get(s[0].with, "method")), "POST");

    assert_string_equal(s[1].pool, "linux-hosts");
    assert_int_equal(s[1].timeout_ms, 60000);
    assert_true(s[1].continue_on_error);

    assert_int_equal(s[2].timeout_ms, 1500);
    assert_false(s[2].continue_on_error);
    assert_int_equal(s[2].nneeds, 2);
    assert_int_equal(s[2].needs[0], 1);
    assert_int_equal(s[2].needs[1], 0);
    /* templates are kept unrendered; a body of JSON text is kept as JSON */
    assert_string_equal(json_string_value(json_object_get(json_object_get(s[2].with, "body"), "text")),
                        "{{ steps.diag.output.stdout }} {{ steps.ticket.output.status }}");

    assert_int_equal(s[3].nneeds, 1);
    assert_int_equal(s[3].needs[0], 2);
    assert_true(json_is_object(s[3].with));

    json_t *j = workflow_step_json(wf, 1);
    assert_string_equal(json_string_value(json_object_get(j, "id")), "diag");
    assert_string_equal(json_string_value(json_object_get(j, "action")), "exec");
    assert_string_equal(json_string_value(json_object_get(j, "pool")), "linux-hosts");
    assert_int_equal(json_integer_value(json_object_get(j, "timeout_ms")), 60000);
    assert_true(json_is_true(json_object_get(j, "continue_on_error")));
    assert_true(json_equal(json_object_get(j, "with"), s[1].with));
    json_decref(j);
    workflow_free(wf);
    workflow_free(NULL);
}

static void test_json_workflow(void **state) {
    (void)state;
    workflow *wf = load_ok("{\"name\": \"j\", \"triggers\": [{\"matchers\": [\"a=b\"]}],\n"
                           " \"steps\": [{\"id\": \"s\", \"action\": \"exec\", \"timeout\": \"250ms\","
                           " \"with\": {\"command\": [\"true\"], \"stdin\": {\"x\": 1}}}]}");
    assert_string_equal(wf->name, "j");
    assert_int_equal(wf->steps[0].timeout_ms, 250);
    workflow_free(wf);
}

static bool matches(const workflow *wf, const char *fields_json) {
    json_t *fields = json_loads(fields_json, 0, NULL);
    assert_non_null(fields);
    bool m = workflow_matches(wf, fields);
    json_decref(fields);
    return m;
}

static void test_matches(void **state) {
    (void)state;
    workflow *wf = load_ok(valid_text);
    /* first trigger: = and =~ (anchored) */
    assert_true(matches(wf, "{\"severity\":\"critical\",\"service\":\"db\"}"));
    assert_true(matches(wf, "{\"severity\":\"critical\",\"service\":\"cache\"}"));
    assert_false(matches(wf, "{\"severity\":\"critical\",\"service\":\"dbx\"}"));
    assert_false(matches(wf, "{\"severity\":\"warning\",\"service\":\"db\"}"));
    /* second trigger: != and !~, absent labels read as "" */
    assert_true(matches(wf, "{\"severity\":\"warning\",\"env\":\"staging\",\"team\":\"app\"}"));
    assert_true(matches(wf, "{\"severity\":\"warning\",\"env\":\"staging\"}"));
    assert_false(matches(wf, "{\"severity\":\"info\",\"env\":\"staging\"}"));
    assert_false(matches(wf, "{\"severity\":\"warning\",\"env\":\"staging\",\"team\":\"infra-db\"}"));
    assert_false(matches(wf, "{\"severity\":\"warning\",\"env\":\"prod\"}"));
    assert_false(matches(wf, "{}"));

    /* as the dispatcher does it: severity comes from the alert, not a label */
    alert_batch b;
    char err[256];
    const char *msg = "{\"source\":\"p\",\"summary\":\"s\",\"severity\":\"critical\","
                      "\"labels\":{\"service\":\"db\",\"severity\":\"info\"}}";
    assert_int_equal(alert_decode(msg, strlen(msg), &b, err, sizeof(err)), 0);
    json_t *fields = alert_match_fields(&b.items[0]);
    assert_true(workflow_matches(wf, fields));
    json_decref(fields);
    alert_batch_free(&b);
    workflow_free(wf);
}

static void test_unknown_key(void **state) {
    (void)state;
    expect_problem(HEAD "  - id: a\n    action: exec\n    with: {command: [x]}\ncolour: red\n", "red",
                   "unknown key \"colour\"");
    expect_problem(HEAD "  - id: a\n    action: exec\n    retries: 3\n    with: {command: [x]}\n", "3",
                   "unknown key \"retries\"");
    expect_problem("name: wf\ntriggers:\n  - matchers: [a=b]\n    when: now\nsteps:\n"
                   "  - id: a\n    action: exec\n    with: {command: [x]}\n",
                   "now", "unknown key \"when\"");
}

static void test_wrong_type(void **state) {
    (void)state;
    expect_problem(HEAD "  - id: a\n    action: exec\n    continue_on_error: maybe\n"
                   "    with: {command: [x]}\n",
                   "maybe", "\"continue_on_error\" must be true or false");
    expect_problem(HEAD "  - id: a\n    action: exec\n    with:\n      command: echo hi\n",
                   "echo hi", "parameter \"command\" must be a list of strings, got a string");
    expect_problem(HEAD "  - id: a\n    action: webhook\n    with:\n      url: x\n"
                   "      headers: {A: 1}\n",
                   "A: 1", "parameter \"headers\" must be a map of strings, got a map");
    expect_problem(HEAD "  - id: a\n    action: exec\n    timeout: soon\n    with: {command: [x]}\n",
                   "soon", "expected a duration such as 10s or 500ms, got a string");
    expect_problem(HEAD "  - id: a\n    action: exec\n    timeout: -5\n    with: {command: [x]}\n",
                   "-5", "expected a duration such as 10s or 500ms, got a number");
    expect_problem(HEAD "  - id: a\n    action: exec\n    with: [command]\n", "command]",
                   "\"with\" must be a map, got a list");
    expect_problem(HEAD "  - id: a\n    action: exec\n    pool: has space\n    with: {command: [x]}\n",
                   "has space", "\"pool\" must be a name");
    expect_problem(HEAD "  - id: a b\n    action: exec\n    with: {command: [x]}\n", "a b",
                   "step needs an \"id\"");
    expect_problem(HEAD "  - id: a\n    needs: a\n    action: exec\n    with: {command: [x]}\n",
                   "a\n    action", "\"needs\" must be a list of step ids");
    expect_problem("name: [wf]\ntriggers:\n  - matchers: [a=b]\nsteps:\n"
                   "  - id: a\n    action: exec\n    with: {command: [x]}\n",
                   "wf]", "\"name\" must be letters, digits, _ or -");
    expect_problem("name: wf\ntriggers: {matchers: [a=b]}\nsteps:\n"
                   "  - id: a\n    action: exec\n    with: {command: [x]}\n",
                   "matchers", "\"triggers\" must be a non-empty list");
    expect_problem("name: wf\ntriggers:\n  - matchers: ['severity=~\"(\"']\nsteps:\n"
                   "  - id: a\n    action: exec\n    with: {command: [x]}\n",
                   "severity=~", "bad matcher");
    expect_problem("name: wf\ntriggers:\n  - matchers: [a=b]\nsteps: []\n", "steps",
                   "\"steps\" must be a non-empty list");
    expect_problem("- just\n- a list\n", "just", "a workflow must be a map");
}

static void test_needs_unknown(void **state) {
    (void)state;
    expect_problem(HEAD "  - id: a\n    action: exec\n    with: {command: [x]}\n"
                   "  - id: b\n    needs: [a, nope]\n    action: exec\n    with: {command: [x]}\n",
                   "nope", "step \"b\" needs unknown step \"nope\"");
    expect_problem(HEAD "  - id: a\n    needs: [a]\n    action: exec\n    with: {command: [x]}\n",
                   "a]", "step \"a\" needs itself");
}

static void test_cycle(void **state) {
    (void)state;
    const char *text = HEAD "  - id: start\n    action: exec\n    with: {command: [x]}\n"
                            "  - id: a\n    needs: [start, c]\n    action: exec\n    with: {command: [x]}\n"
                            "  - id: b\n    needs: [a]\n    action: exec\n    with: {command: [x]}\n"
                            "  - id: c\n    needs: [b]\n    action: exec\n    with: {command: [x]}\n";
    expect_problem(text, "id: start", "the needs: of steps \"a\", \"b\", \"c\" form a cycle");
}

/* Regression: steps that only wait on a cycle were named as part of it. */
static void test_cycle_names_only_the_cycle(void **state) {
    (void)state;
    const char *text = HEAD "  - id: after\n    needs: [b, last]\n    action: exec\n    with: {command: [x]}\n"
                            "  - id: a\n    needs: [b]\n    action: exec\n    with: {command: [x]}\n"
                            "  - id: b\n    needs: [a]\n    action: exec\n    with: {command: [x]}\n"
                            "  - id: last\n    needs: [after]\n    action: exec\n    with: {command: [x]}\n"
                            "  - id: tail\n    needs: [a]\n    action: exec\n    with: {command: [x]}\n";
    /* after and last wait on the cycle and also form one of their own */
    expect_problem(text, "id: after", "the needs: of steps \"after\", \"a\", \"b\", \"last\" form a cycle");
    text = HEAD "  - id: a\n    needs: [b]\n    action: exec\n    with: {command: [x]}\n"
                "  - id: b\n    needs: [a]\n    action: exec\n    with: {command: [x]}\n"
                "  - id: c\n    needs: [a, b]\n    action: exec\n    with: {command: [x]}\n";
    expect_problem(text, "id: a", "the needs: of steps \"a\", \"b\" form a cycle");
}

static void test_unknown_action(void **state) {
    (void)state;
    expect_problem(HEAD "  - id: page\n    action: pager\n    with: {to: me}\n", "pager",
                   "unknown action \"pager\" in step \"page\"");
    expect_problem(HEAD "  - id: page\n    with: {to: me}\n", "id: page",
                   "step \"page\" needs an \"action\"");
}

static void test_unknown_param(void **state) {
    (void)state;
    expect_problem(HEAD "  - id: a\n    action: webhook\n    with:\n      url: http://x\n"
                   "      urll: http://y\n",
                   "http://y", "unknown parameter \"urll\" for action webhook");
}

static void test_missing_param(void **state) {
    (void)state;
    expect_problem(HEAD "  - id: a\n    action: webhook\n    with:\n      method: GET\n", "method",
                   "action webhook needs parameter \"url\"");
    /* no with: at all is placed at the step */
    expect_problem(HEAD "  - id: a\n    action: exec\n", "id: a", "action exec needs parameter \"command\"");
}

static void test_template_nothing(void **state) {
    (void)state;
    expect_problem(HEAD "  - id: a\n    action: exec\n    with:\n      command: [echo, \"{{ foo.bar }}\"]\n",
                   "{{ foo.bar", "template references \"foo.bar\", which is nothing");
    expect_problem(HEAD "  - id: a\n    action: exec\n    with:\n      command: [echo]\n"
                   "      env: {X: \"{{ steps.zzz.output }}\"}\n",
                   "{{ steps.zzz", "template references \"steps.zzz.output\": there is no step \"zzz\"");
    expect_problem(HEAD "  - id: a\n    action: exec\n    with:\n      command: [echo, \"{{ alert.summary \"]\n",
                   "{{ alert.summary", "bad template: ");
}

static void test_template_not_ancestor(void **state) {
    (void)state;
    /* b runs at the same time as a, not before it */
    expect_problem(HEAD "  - id: a\n    action: exec\n    with:\n      command: [echo, \"{{ steps.b.output }}\"]\n"
                   "  - id: b\n    action: exec\n    with: {command: [x]}\n",
                   "{{ steps.b",
                   "template references step \"b\", which does not run before step \"a\" (add it to needs:)");
    /* a later step is not an ancestor either, even when it needs us */
    expect_problem(HEAD "  - id: a\n    action: exec\n    with:\n      command: [echo, \"{{ steps.b.output }}\"]\n"
                   "  - id: b\n    needs: [a]\n    action: exec\n    with: {command: [x]}\n",
                   "{{ steps.b", "which does not run before step \"a\"");
    /* a step cannot read its own output */
    expect_problem(HEAD "  - id: a\n    action: exec\n    with:\n      command: [echo, \"{{ steps.a.output }}\"]\n",
                   "{{ steps.a", "template references step \"a\", which does not run before step \"a\"");
}

/* Regression: pointers to keys holding / or ~ were not escaped, so such a
 * problem was placed at the enclosing map instead of the key. */
static void test_escaped_key_position(void **state) {
    (void)state;
    expect_problem(HEAD "  - id: a\n    action: webhook\n    with:\n      url: http://x\n"
                   "      body:\n        ok: fine\n        \"a/b\": \"{{ nothing.here }}\"\n",
                   "{{ nothing", "template references \"nothing.here\"");
    expect_problem(HEAD "  - id: a\n    action: exec\n    with: {command: [x]}\nx: 1\n\"a~/b\": 2\n",
                   "2\n", "unknown key \"a~/b\"");
}

static void test_duplicate_step(void **state) {
    (void)state;
    expect_problem(HEAD "  - id: a\n    action: exec\n    with: {command: [x]}\n"
                   "  - id: b\n    action: exec\n    with: {command: [x]}\n"
                   "  - id: a\n    action: exec\n    with: {command: [y]}\n",
                   "a\n    action: exec\n    with: {command: [y]}", "step id \"a\" is used twice");
}

static void test_many_problems(void **state) {
    (void)state;
    wf_diag d = {0};
    char *path = write_doc(HEAD "  - id: a\n    action: pager\n    colour: red\n"
                                "  - id: b\n    action: exec\n    with: {command: 1}\n");
    assert_null(workflow_load_file(path, &d));
    assert_int_equal(d.n, 3); /* the loader goes on after the first */
    for (size_t i = 0; i < d.n; i++) assert_memory_equal(d.msgs[i], path, strlen(path));
    wf_diag_free(&d);
    assert_int_equal(d.n, 0);
    wf_diag_free(&d);
    free(path);
}

static void test_yaml_error(void **state) {
    (void)state;
    expect_problem("name: wf\nsteps: x: y\n", ": y", "invalid nested block mapping");
    expect_problem("name: wf\nname: again\n", "name: again", "duplicate key");
}

static void test_load_dir(void **state) {
    (void)state;
    wf_diag d = {0};
    char *a = write_file("set", "b-second.yml", "name: second\ntriggers: [{matchers: [a=b]}]\n"
                                                "steps: [{id: s, action: exec, with: {command: [x]}}]\n");
    char *b = write_file("set", "a-first.json", "{\"name\": \"first\", \"triggers\": [{\"matchers\": [\"a=b\"]}],"
                                                "\"steps\": [{\"id\": \"s\", \"action\": \"exec\","
                                                "\"with\": {\"command\": [\"x\"]}}]}");
    char *c = write_file("set", "README.md", "not a workflow: [\n");
    char *e = write_file("set", ".hidden.yaml", "not: [a workflow\n");
    char path[512];
    snprintf(path, sizeof(path), "%s/set", dir);
    workflow_set *set = workflow_load(path, &d);
    assert_non_null(set);
    assert_int_equal(d.n, 0);
    assert_int_equal(set->n, 2);
    assert_string_equal(set->items[0]->name, "first");
    assert_string_equal(set->items[1]->name, "second");
    workflow_set_free(set);
    workflow_set_free(NULL);

    /* one file also works */
    set = workflow_load(a, &d);
    assert_non_null(set);
    assert_int_equal(set->n, 1);
    workflow_set_free(set);
    free(a);
    free(b);
    free(c);
    free(e);
}

/* Regression: the message for a name used twice had no line and column,
 * though wf_diag promises "file:line:column: what is wrong". */
static void test_duplicate_name(void **state) {
    (void)state;
    wf_diag d = {0};
    char *a = write_file("dup", "a.yaml", "# first\nname: same\ntriggers: [{matchers: [a=b]}]\n"
                                          "steps: [{id: s, action: exec, with: {command: [x]}}]\n");
    char *b = write_file("dup", "b.yaml", "name:   same\ntriggers: [{matchers: [a=b]}]\n"
                                          "steps: [{id: s, action: exec, with: {command: [x]}}]\n");
    char path[512], want[1200];
    snprintf(path, sizeof(path), "%s/dup", dir);
    assert_null(workflow_load(path, &d));
    assert_int_equal(d.n, 1);
    snprintf(want, sizeof(want), "%s:1:9: workflow name \"same\" is also used by %s:2:7", b, a);
    assert_string_equal(d.msgs[0], want);
    wf_diag_free(&d);
    free(a);
    free(b);
}

static void test_empty_or_missing_dir(void **state) {
    (void)state;
    wf_diag d = {0};
    char path[512];
    snprintf(path, sizeof(path), "%s/empty", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    char *ignored = write_file("empty", "notes.txt", "name: x\n");
    assert_null(workflow_load(path, &d));
    assert_int_equal(d.n, 1);
    assert_non_null(strstr(d.msgs[0], path));
    assert_non_null(strstr(d.msgs[0], "no workflow files (*.yaml, *.yml, *.json)"));
    wf_diag_free(&d);
    free(ignored);

    snprintf(path, sizeof(path), "%s/absent", dir);
    assert_null(workflow_load(path, &d));
    assert_int_equal(d.n, 1);
    assert_non_null(strstr(d.msgs[0], "no such file or directory"));
    wf_diag_free(&d);

    /* a bad file in a directory fails the whole set */
    char *bad = write_file("badset", "a.yaml", "name: ok\n");
    snprintf(path, sizeof(path), "%s/badset", dir);
    assert_null(workflow_load(path, &d));
    assert_true(d.n >= 1);
    assert_memory_equal(d.msgs[0], bad, strlen(bad));
    wf_diag_free(&d);
    free(bad);
}

static void test_action_known(void **state) {
    (void)state;
    assert_true(workflow_action_known("exec"));
    assert_true(workflow_action_known("webhook"));
    assert_false(workflow_action_known("pager"));
    assert_false(workflow_action_known(""));
}

/* {secret: NAME} is a whole value with a literal name: an alert cannot pick
 * which secret a step sends. */
static void test_secret_refs(void **state) {
    (void)state;
    wf_diag d = {0};
    char *path = write_doc(HEAD "  - id: page\n    action: slack\n    with:\n"
                                "      token: {secret: slack_token}\n      channel: '#ops'\n"
                                "      text: hi\n"
                                "  - id: hook\n    action: webhook\n    with:\n"
                                "      url: {secret: hook-url.v2}\n"
                                "      headers: {X-Api-Key: {secret: api_key}}\n");
    workflow *wf = workflow_load_file(path, &d);
    for (size_t i = 0; i < d.n; i++) fprintf(stderr, "%s\n", d.msgs[i]);
    assert_non_null(wf);
    json_t *step = workflow_step_json(wf, 0);
    /* The record a worker gets holds the name, never a value. */
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(step, "with"), "token"), "secret")),
                        "slack_token");
    assert_null(json_object_get(step, "allow_private"));
    json_decref(step);
    workflow_free(wf);
    free(path);
    expect_problem(HEAD "  - id: a\n    action: webhook\n    with:\n"
                        "      url: {secret: \"{{ alert.labels.team }}\"}\n",
                   "secret: \"{{", "must be a literal");
    expect_problem(HEAD "  - id: a\n    action: webhook\n    with:\n      url: {secret: 'a b'}\n",
                   "secret: 'a b'", "must be a literal");
    expect_problem(HEAD "  - id: a\n    action: webhook\n    with:\n      url: {secret: x, y: z}\n",
                   "secret: x", "parameter \"url\" must be a string");
}

static void test_allow_private_network(void **state) {
    (void)state;
    wf_diag d = {0};
    char *path = write_doc("allow_private_network: true\n" HEAD
                           "  - id: a\n    action: webhook\n    with: {url: 'http://10.0.0.1/'}\n");
    workflow *wf = workflow_load_file(path, &d);
    assert_non_null(wf);
    json_t *step = workflow_step_json(wf, 0);
    assert_true(json_is_true(json_object_get(step, "allow_private")));
    json_decref(step);
    workflow_free(wf);
    free(path);
    expect_problem("allow_private_network: yes please\n" HEAD
                   "  - id: a\n    action: webhook\n    with: {url: 'http://x/'}\n",
                   "yes please", "must be true or false");
}

/* What templates may not decide: where a step connects and what it runs. */
static void test_templated_target(void **state) {
    (void)state;
    expect_problem(HEAD "  - id: a\n    action: webhook\n    with:\n      url: \"http://{{ alert.labels.target }}/\"\n",
                   "http://{{", "a template decides the scheme, host or port of the URL");
    expect_problem(HEAD "  - id: a\n    action: http_check\n    with:\n      url: \"{{ alert.labels.url }}\"\n",
                   "{{ alert.labels.url", "set allow_templated_target: true");
    expect_problem(HEAD "  - id: a\n    action: webhook\n    with:\n      url: \"http://h:{{ alert.labels.port }}/\"\n",
                   "http://h:", "the scheme, host or port");
    expect_problem(HEAD "  - id: a\n    action: exec\n    with:\n      command: [\"{{ alert.labels.prog }}\"]\n",
                   "{{ alert.labels.prog", "a template decides the program");
    expect_problem(HEAD "  - id: a\n    action: tcp_check\n    with: {host: \"{{ alert.labels.h }}\", port: 5432}\n",
                   "{{ alert.labels.h }}", "a template decides the target");
    /* Allowed when the step says so... */
    workflow *wf = load_ok(HEAD "  - id: a\n    action: http_check\n    allow_templated_target: true\n"
                           "    with:\n      url: \"http://{{ alert.labels.instance }}/healthz\"\n");
    workflow_free(wf);
    /* ...but never in a step that carries a secret. */
    expect_problem(HEAD "  - id: a\n    action: webhook\n    allow_templated_target: true\n"
                   "    with:\n      url: \"https://{{ alert.labels.host }}/x\"\n"
                   "      headers: {X-Api-Key: {secret: api_key}}\n",
                   "https://{{", "this step carries a secret");
    expect_problem(HEAD "  - id: a\n    action: webhook\n    allow_templated_target: yes\n"
                   "    with: {url: \"http://h/\"}\n", "yes", "must be true or false");
    /* The path, the query and later arguments may be templated. */
    wf = load_ok(HEAD "  - id: a\n    action: webhook\n    with:\n"
                 "      url: \"https://api.example.com/x/{{ alert.labels.id }}?q={{ alert.labels.q }}\"\n"
                 "      headers: {X-Api-Key: {secret: api_key}}\n"
                 "  - id: b\n    action: exec\n    with: {command: [check.sh, \"{{ alert.labels.h }}\"]}\n");
    workflow_free(wf);
}

/* A body written as text: JSON text is read as JSON, so what templates put
 * into its strings is escaped; other text must escape each expression. */
static void test_string_body(void **state) {
    (void)state;
    workflow *wf = load_ok(HEAD "  - id: a\n    action: webhook\n    with:\n      url: http://h/\n"
                           "      body: '{\"text\": \"{{ alert.labels.evil }}\", \"n\": 1}'\n");
    const json_t *body = json_object_get(wf->steps[0].with, "body");
    assert_true(json_is_object(body));
    assert_string_equal(json_string_value(json_object_get(body, "text")), "{{ alert.labels.evil }}");
    workflow_free(wf);
    expect_problem(HEAD "  - id: a\n    action: webhook\n    with:\n      url: http://h/\n"
                   "      body: '{\"n\": {{ alert.labels.n }}}'\n",
                   "{\"n\": {{ alert", "write the body as a map, or end each expression with | json");
    expect_problem(HEAD "  - id: a\n    action: webhook\n    with:\n      url: http://h/\n"
                   "      headers: {Content-Type: application/x-www-form-urlencoded}\n"
                   "      body: 'a={{ alert.labels.a }}'\n",
                   "a={{", "end each expression with | urlencode");
    /* Escaped by hand, a whole expression, or plain text: accepted. */
    wf = load_ok(HEAD "  - id: a\n    action: webhook\n    with:\n      url: http://h/\n"
                 "      body: '{\"n\": {{ alert.labels.n | json }}}'\n"
                 "  - id: b\n    action: webhook\n    with:\n      url: http://h/\n"
                 "      body: '{{ alert.labels }}'\n"
                 "  - id: c\n    action: webhook\n    with:\n      url: http://h/\n"
                 "      headers: {Content-Type: text/plain}\n"
                 "      body: 'alert {{ alert.summary }}'\n");
    workflow_free(wf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_json_workflow),
        cmocka_unit_test(test_matches),
        cmocka_unit_test(test_unknown_key),
        cmocka_unit_test(test_wrong_type),
        cmocka_unit_test(test_needs_unknown),
        cmocka_unit_test(test_cycle),
        cmocka_unit_test(test_cycle_names_only_the_cycle),
        cmocka_unit_test(test_unknown_action),
        cmocka_unit_test(test_unknown_param),
        cmocka_unit_test(test_missing_param),
        cmocka_unit_test(test_template_nothing),
        cmocka_unit_test(test_template_not_ancestor),
        cmocka_unit_test(test_escaped_key_position),
        cmocka_unit_test(test_duplicate_step),
        cmocka_unit_test(test_many_problems),
        cmocka_unit_test(test_yaml_error),
        cmocka_unit_test(test_load_dir),
        cmocka_unit_test(test_duplicate_name),
        cmocka_unit_test(test_empty_or_missing_dir),
        cmocka_unit_test(test_action_known),
        cmocka_unit_test(test_secret_refs),
        cmocka_unit_test(test_allow_private_network),
        cmocka_unit_test(test_templated_target),
        cmocka_unit_test(test_string_body),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
