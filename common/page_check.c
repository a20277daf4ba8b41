/* page_check.c - page steps and oncall.* templates checked against the on-call files */
#include "common/page_check.h"

#include <stdio.h>
#include <string.h>

#include "common/template.h"

bool oncall_template_path_ok(const char *path) {
    static const char *const fields[] = {"name", "slack", "phone", "email", "id", NULL};
    if (strncmp(path, "oncall.", 7) != 0) return false;
    const char *id = path + 7, *dot = strchr(id, '.');
    if (!dot || dot == id) return false;
    for (const char *const *f = fields; *f; f++)
        if (strcmp(dot + 1, *f) == 0) return true;
    return false;
}

typedef struct checking {
    const workflow *wf;
    const wf_step *st;
    const oncall_set *set;
    wf_diag *d;
} checking;

static void problem(checking *c, const char *fmt, const char *what) {
    char msg[1200], text[800];
    snprintf(text, sizeof(text), fmt, what);
    snprintf(msg, sizeof(msg), "%s: step \"%s\": %s", c->wf->path, c->st->id, text);
    diag_add(c->d, msg);
}

static int template_ref(const char *path, void *arg) {
    checking *c = arg;
    char id[80];
    if (strncmp(path, "oncall.", 7) != 0) return 0;
    snprintf(id, sizeof(id), "%.*s", (int)strcspn(path + 7, "."), path + 7);
    if (!c->set) problem(c, "template names schedule \"%s\", but there are no on-call files", id);
    else if (!oncall_schedule(c->set, id)) problem(c, "template names schedule \"%s\", which the on-call files do not hold", id);
    return 0;
}

static void check_strings(checking *c, const json_t *v, int depth) {
    size_t i;
    const char *k;
    json_t *e;
    char err[256];
    if (depth > 32) return;
    if (json_is_string(v)) template_check(json_string_value(v), template_ref, c, err, sizeof(err));
    else if (json_is_array(v)) json_array_foreach(v, i, e) check_strings(c, e, depth + 1);
    else if (json_is_object(v)) json_object_foreach((json_t *)v, k, e) check_strings(c, e, depth + 1);
}

static void check_targets(checking *c, const json_t *targets) {
    size_t i;
    json_t *t;
    if (!json_is_array(targets) || json_array_size(targets) == 0) {
        problem(c, "%s", "targets: must be a list of {person: ID}, {schedule: ID} or {channel: NAME}");
        return;
    }
    json_array_foreach(targets, i, t) {
        const char *p = json_string_value(json_object_get(t, "person"));
        const char *s = json_string_value(json_object_get(t, "schedule"));
        const char *ch = json_string_value(json_object_get(t, "channel"));
        if (!json_is_object(t) || json_object_size(t) != 1 || (!p && !s && !ch))
            problem(c, "%s", "each target is one of {person: ID}, {schedule: ID} or {channel: NAME}");
        else if (p && (!c->set || !oncall_person(c->set, p)))
            problem(c, "target names person \"%s\", which the on-call files do not hold", p);
        else if (s && (!c->set || !oncall_schedule(c->set, s)))
            problem(c, "target names schedule \"%s\", which the on-call files do not hold", s);
    }
}

static void check_step(checking *c) {
    check_strings(c, c->st->with, 0);
    if (strcmp(c->st->action, "page") != 0) return;
    const json_t *pol = json_object_get(c->st->with, "policy");
    const json_t *targets = json_object_get(c->st->with, "targets");
    if (pol && targets) problem(c, "%s", "a page step takes policy: or targets:, not both");
    else if (!pol && !targets) problem(c, "%s", "a page step needs policy: or targets:");
    else if (targets) check_targets(c, targets);
    else if (!json_is_string(pol)) problem(c, "%s", "policy: must be a policy id");
    else if (!c->set) problem(c, "names policy \"%s\", but there are no on-call files (oncall.dir)", json_string_value(pol));
    else if (!oncall_policy(c->set, json_string_value(pol)))
        problem(c, "there is no policy \"%s\" in the on-call files", json_string_value(pol));
}

void page_check(const workflow_set *wfs, const oncall_set *set, wf_diag *d) {
    for (size_t i = 0; wfs && i < wfs->n; i++) {
        const workflow *wf = wfs->items[i];
        for (size_t j = 0; j < wf->nsteps + wf->nresolve; j++) {
            checking c = {wf, j < wf->nsteps ? &wf->steps[j] : &wf->resolve_steps[j - wf->nsteps],
                          set, d};
            check_step(&c);
        }
    }
}
