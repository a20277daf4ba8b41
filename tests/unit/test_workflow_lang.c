/* test_workflow_lang.c - on_resolve, if:, grouping and exclusive workflows */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/harness/tmpdir.h"
#include "common/workflow.h"

static char dir[64];
static int nfile;

static int setup(void **state) {
    (void)state;
    return tmpdir_make(dir, sizeof(dir), "lang");
}

static int teardown(void **state) {
    (void)state;
    return tmpdir_remove(dir);
}

/* Loads text as a workflow file; returns the workflow or NULL with d set. */
static workflow *load(const char *text, wf_diag *d) {
    char path[128];
    snprintf(path, sizeof(path), "%s/w%d.yaml", dir, nfile++);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return workflow_load_file(path, d);
}

static void expect_problem(const char *text, const char *words) {
    wf_diag d = {0};
    workflow *wf = load(text, &d);
    assert_null(wf);
    int found = 0;
    for (size_t i = 0; i < d.n; i++)
        if (strstr(d.msgs[i], words)) found = 1;
    if (!found) {
        for (size_t i = 0; i < d.n; i++) fprintf(stderr, "  %s\n", d.msgs[i]);
        fail_msg("no problem saying \"%s\"", words);
    }
    wf_diag_free(&d);
}

#define HEAD "name: w\ntriggers:\n  - matchers: ['a=\"b\"']\n"

static void test_on_resolve_and_if(void **state) {
    (void)state;
    wf_diag d = {0};
    workflow *wf = load(HEAD "group_by: [service]\ngroup_window: 2m\n"
                             "steps:\n"
                             "  - {id: t, action: noop}\n"
                             "  - {id: u, action: noop, needs: [t], if: ['steps.t.status=\"succeeded\"', 'alert.labels.env=~\"prod|staging\"']}\n"
                             "on_resolve:\n"
                             "  - {id: c, action: noop, with: {echo: '{{ steps.t.output }}'}}\n"
                             "  - {id: e, action: noop, needs: [c], if: 'steps.c.status=\"succeeded\"'}\n",
                        &d);
    for (size_t i = 0; i < d.n; i++) fprintf(stderr, "%s\n", d.msgs[i]);
    assert_non_null(wf);
    assert_int_equal(wf->nresolve, 2);
    assert_int_equal(wf->ngroup_by, 1);
    assert_int_equal(wf->group_window_ms, 120000);
    json_t *u = workflow_step_json(wf, 1);
    assert_int_equal(json_array_size(json_object_get(u, "if")), 2);
    json_decref(u);
    json_t *labels = json_pack("{s:s, s:s}", "service", "db", "instance", "db-1");
    char *key = workflow_group_key(wf, labels, "fp1");
    assert_string_equal(key, "w|g:service=db");
    free(key);
    json_decref(labels);
    workflow_free(wf);
}

static void test_problems(void **state) {
    (void)state;
    expect_problem(HEAD "steps:\n  - {id: t, action: noop}\non_resolve:\n  - {id: t, action: noop}\n",
                   "also used in steps:");
    expect_problem(HEAD "steps:\n  - {id: t, action: noop, if: 'alert.severity'}\n", "bad condition");
    expect_problem(HEAD "steps:\n  - {id: t, action: noop, if: 'steps.u.status=\"x\"'}\n  - {id: u, action: noop}\n",
                   "condition references step \"u\", which does not run before step \"t\"");
    expect_problem(HEAD "steps:\n  - {id: t, action: noop, if: 'nothing.here=\"x\"'}\n", "which is nothing");
    expect_problem(HEAD "group_window: 5m\nsteps:\n  - {id: t, action: noop}\n", "needs \"group_by\"");
    expect_problem(HEAD "exclusive: yes please\nsteps:\n  - {id: t, action: noop}\n", "\"exclusive\" must be true or false");
    expect_problem(HEAD "steps:\n  - {id: t, action: noop}\non_resolve:\n  - {id: c, action: noop, needs: [c2]}\n",
                   "needs unknown step \"c2\"");
    expect_problem(HEAD "steps:\n  - {id: t, action: noop}\non_resolve:\n  - {id: c, action: noop, with: {echo: '{{ steps.zz.output }}'}}\n",
                   "there is no step \"zz\"");
}

static void test_select_exclusive(void **state) {
    (void)state;
    char sub[96];
    snprintf(sub, sizeof(sub), "%s/sel", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    const char *files[][2] = {
        {"a.yaml", "name: a\ntriggers:\n  - matchers: ['x=\"1\"']\nsteps:\n  - {id: s, action: noop}\n"},
        {"b.yaml", "name: b\ntriggers:\n  - matchers: ['x=~\"1|2\"']\nsteps:\n  - {id: s, action: noop}\n"},
        {"c.yaml", "name: c\nexclusive: true\npriority: 1\ntriggers:\n  - matchers: ['x=\"2\"']\nsteps:\n  - {id: s, action: noop}\n"},
        {"d.yaml", "name: d\nexclusive: true\npriority: 5\ntriggers:\n  - matchers: ['x=\"2\"', 'y=\"z\"']\nsteps:\n  - {id: s, action: noop}\n"},
    };
    for (size_t i = 0; i < 4; i++) {
        char path[160];
        snprintf(path, sizeof(path), "%s/%s", sub, files[i][0]);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(files[i][1], f);
        fclose(f);
    }
    wf_diag d = {0};
    workflow_set *set = workflow_load(sub, &d);
    assert_non_null(set);
    const workflow *out[4];
    json_t *f1 = json_pack("{s:s}", "x", "1"), *f2 = json_pack("{s:s}", "x", "2"),
           *f3 = json_pack("{s:s, s:s}", "x", "2", "y", "z"), *f4 = json_pack("{s:s}", "x", "9");
    assert_int_equal(workflow_select(set, f1, out), 2); /* a and b: no exclusive match */
    assert_int_equal(workflow_select(set, f2, out), 1); /* b and c match; c is exclusive */
    assert_string_equal(out[0]->name, "c");
    assert_int_equal(workflow_select(set, f3, out), 1); /* c and d exclusive: d ranks higher */
    assert_string_equal(out[0]->name, "d");
    assert_int_equal(workflow_select(set, f4, out), 0);
    json_decref(f1);
    json_decref(f2);
    json_decref(f3);
    json_decref(f4);
    workflow_set_free(set);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_on_resolve_and_if),
        cmocka_unit_test(test_problems),
        cmocka_unit_test(test_select_exclusive),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
