/* workflow.c - workflow files: load, validate, match alerts to them */
#include "common/workflow.h"

#include <ctype.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/action_spec.h"
#include "common/template.h"
#include "common/util.h"
#include "common/yaml.h"

/* What one file's checks share: where problems go and how to place them. */
typedef struct loader {
    const char *path;
    const json_t *positions;
    wf_diag *diag;
    size_t before; /* problems already in diag when this file started */
} loader;

void wf_diag_free(wf_diag *d) {
    if (!d) return;
    for (size_t i = 0; i < d->n; i++) free(d->msgs[i]);
    free(d->msgs);
    d->msgs = NULL;
    d->n = 0;
}

static void diag_add(wf_diag *d, const char *msg) {
    char **msgs = realloc(d->msgs, (d->n + 1) * sizeof(*msgs));
    if (!msgs) return;
    d->msgs = msgs;
    if ((d->msgs[d->n] = strdup(msg))) d->n++;
}

/* Reports a problem at the node `pointer` names ("/steps/2/needs/0"). */
static void problem(loader *l, const char *pointer, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void problem(loader *l, const char *pointer, const char *fmt, ...) {
    char what[768], msg[1024];
    int line, col;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    yaml_position(l->positions, pointer, &line, &col);
    if (line)
        snprintf(msg, sizeof(msg), "%s:%d:%d: %s", l->path, line, col, what);
    else
        snprintf(msg, sizeof(msg), "%s: %s", l->path, what);
    diag_add(l->diag, msg);
}

static bool failed(const loader *l) { return l->diag->n > l->before; }

static bool valid_id(const char *s) {
    if (!*s || strlen(s) > 64) return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-') return false;
    return true;
}

/* Writes base + "/" + tok to out, escaping ~ and / in tok as RFC 6901 says:
 * yaml.c records positions under escaped pointers. */
static void pointer_join(char *out, size_t cap, const char *base, const char *tok) {
    size_t n = (size_t)snprintf(out, cap, "%s/", base);
    if (n >= cap) return;
    for (; *tok && n + 2 < cap; tok++) {
        if (*tok == '~' || *tok == '/') {
            out[n++] = '~';
            out[n++] = *tok == '~' ? '0' : '1';
        } else {
            out[n++] = *tok;
        }
    }
    out[n] = '\0';
}

/* Reports every key of obj that is not in `allowed` (NULL-terminated). */
static void unknown_keys(loader *l, const json_t *obj, const char *pointer,
                         const char *const *allowed) {
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++) ok = strcmp(*a, k) == 0;
        if (!ok) {
            char p[512];
            pointer_join(p, sizeof(p), pointer, k);
            problem(l, p, "unknown key \"%s\"", k);
        }
    }
}

static const char *type_of(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "a map";
    case JSON_ARRAY: return "a list";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "a number";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

static bool type_ok(const json_t *v, param_type t) {
    const char *k;
    json_t *e;
    size_t i;
    switch (t) {
    case P_STRING: return json_is_string(v);
    case P_INT: return json_is_integer(v);
    case P_BOOL: return json_is_boolean(v);
    case P_DURATION: return json_is_string(v) || json_is_integer(v);
    case P_STRINGS:
        if (!json_is_array(v)) return false;
        json_array_foreach(v, i, e) if (!json_is_string(e)) return false;
        return true;
    case P_MAP:
        if (!json_is_object(v)) return false;
        json_object_foreach((json_t *)v, k, e) if (!json_is_string(e)) return false;
        return true;
    default: return true;
    }
}

/* Duration from a string ("10s") or integer milliseconds. */
static int duration_of(loader *l, const json_t *v, const char *pointer, int64_t *ms) {
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *ms = json_integer_value(v);
        return 0;
    }
    if (json_is_string(v) && duration_parse(json_string_value(v), ms) == 0) return 0;
    problem(l, pointer, "expected a duration such as 10s or 500ms, got %s", type_of(v));
    return -1;
}

/* ---- templates: every {{ path }} must reference something ---- */

typedef struct tmpl_ref {
    loader *l;
    const workflow *wf;
    size_t step;
    const bool *ancestor; /* ancestor[j]: step j finishes before this one */
    const char *pointer;
} tmpl_ref;

static int check_ref(const char *path, void *arg) {
    tmpl_ref *r = arg;
    char root[32];
    size_t n = strcspn(path, ".");
    if (n >= sizeof(root)) n = sizeof(root) - 1;
    memcpy(root, path, n);
    root[n] = '\0';
    if (strcmp(root, "alert") == 0 || strcmp(root, "incident") == 0 ||
        strcmp(root, "workflow") == 0 || strcmp(root, "step") == 0)
        return 0;
    if (strcmp(root, "steps") != 0) {
        problem(r->l, r->pointer, "template references \"%s\", which is nothing: expected "
                "alert, incident, workflow, step or steps", path);
        return 0;
    }
    const char *id = path + n + (path[n] == '.');
    size_t idlen = strcspn(id, ".");
    for (size_t j = 0; j < r->wf->nsteps; j++) {
        if (strlen(r->wf->steps[j].id) != idlen || strncmp(r->wf->steps[j].id, id, idlen) != 0)
            continue;
        if (!r->ancestor[j])
            problem(r->l, r->pointer, "template references step \"%s\", which does not run "
                    "before step \"%s\" (add it to needs:)", r->wf->steps[j].id,
                    r->wf->steps[r->step].id);
        return 0;
    }
    problem(r->l, r->pointer, "template references \"%s\": there is no step \"%.*s\"", path,
            (int)idlen, id);
    return 0;
}

static void check_templates(tmpl_ref *r, const json_t *v, char *pointer, size_t cap, int depth) {
    size_t plen = strlen(pointer), i;
    const char *k;
    json_t *e;
    char err[256];
    if (depth > YAML_MAX_DEPTH) return;
    if (json_is_string(v)) {
        r->pointer = pointer;
        if (template_check(json_string_value(v), check_ref, r, err, sizeof(err)) < 0)
            problem(r->l, pointer, "bad template: %s", err);
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, e) {
            snprintf(pointer + plen, cap - plen, "/%zu", i);
            check_templates(r, e, pointer, cap, depth + 1);
        }
    } else if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, e) {
            pointer_join(pointer + plen, cap - plen, "", k);
            check_templates(r, e, pointer, cap, depth + 1);
        }
    }
    pointer[plen] = '\0';
}

/* ---- structure ---- */

static void parse_triggers(loader *l, workflow *wf, const json_t *triggers) {
    static const char *const keys[] = {"matchers", NULL};
    size_t i, j;
    json_t *t, *m;
    char p[256], err[256];

    if (!json_is_array(triggers) || json_array_size(triggers) == 0) {
        problem(l, "/triggers", "\"triggers\" must be a non-empty list");
        return;
    }
    wf->triggers = calloc(json_array_size(triggers), sizeof(*wf->triggers));
    if (!wf->triggers) return;
    json_array_foreach(triggers, i, t) {
        snprintf(p, sizeof(p), "/triggers/%zu", i);
        if (!json_is_object(t)) {
            problem(l, p, "a trigger must be a map with \"matchers\", got %s", type_of(t));
            continue;
        }
        unknown_keys(l, t, p, keys);
        json_t *ms = json_object_get(t, "matchers");
        if (!json_is_array(ms) || json_array_size(ms) == 0) {
            problem(l, p, "\"matchers\" must be a non-empty list of strings such as "
                    "'severity=\"critical\"'");
            continue;
        }
        wf_trigger *tr = &wf->triggers[wf->ntriggers++];
        tr->matchers = calloc(json_array_size(ms), sizeof(*tr->matchers));
        if (!tr->matchers) continue;
        json_array_foreach(ms, j, m) {
            snprintf(p, sizeof(p), "/triggers/%zu/matchers/%zu", i, j);
            if (!json_is_string(m)) {
                problem(l, p, "a matcher must be a string, got %s", type_of(m));
                continue;
            }
            if (matcher_parse(json_string_value(m), &tr->matchers[tr->n], err, sizeof(err)) < 0)
                problem(l, p, "bad matcher '%s': %s", json_string_value(m), err);
            else
                tr->n++;
        }
    }
}

static void parse_with(loader *l, const wf_step *st, const json_t *with, const char *pointer) {
    const action_spec *spec = action_spec_find(st->action);
    char p[512];
    const char *k;
    json_t *v;

    if (!spec) return;
    if (with && !json_is_object(with)) {
        problem(l, pointer, "\"with\" must be a map, got %s", type_of(with));
        return;
    }
    json_object_foreach((json_t *)with, k, v) {
        const param_spec *ps = spec->params;
        while (ps->name && strcmp(ps->name, k) != 0) ps++;
        pointer_join(p, sizeof(p), pointer, k);
        if (!ps->name)
            problem(l, p, "unknown parameter \"%s\" for action %s", k, st->action);
        else if (!type_ok(v, ps->type))
            problem(l, p, "parameter \"%s\" must be %s, got %s", k, param_type_name(ps->type),
                    type_of(v));
    }
    for (const param_spec *ps = spec->params; ps->name; ps++)
        if (ps->required && !json_object_get(with, ps->name))
            problem(l, pointer, "action %s needs parameter \"%s\"", st->action, ps->name);
}

/* retry: {max_attempts, initial_delay, max_delay, multiplier, jitter} over
 * `base`. */
static retry_policy parse_retry(loader *l, const json_t *r, const char *pointer, retry_policy base) {
    static const char *const keys[] = {"max_attempts", "initial_delay", "max_delay", "multiplier",
                                       "jitter", NULL};
    char p[512];
    json_t *v;
    if (!r) return base;
    if (!json_is_object(r)) {
        problem(l, pointer, "\"retry\" must be a map of max_attempts, initial_delay, max_delay, "
                "multiplier, jitter");
        return base;
    }
    unknown_keys(l, r, pointer, keys);
    snprintf(p, sizeof(p), "%s/max_attempts", pointer);
    if ((v = json_object_get(r, "max_attempts"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 100)
            problem(l, p, "\"max_attempts\" must be a whole number from 1 to 100");
        else
            base.max_attempts = (int)json_integer_value(v);
    }
    snprintf(p, sizeof(p), "%s/initial_delay", pointer);
    if ((v = json_object_get(r, "initial_delay"))) duration_of(l, v, p, &base.initial_ms);
    snprintf(p, sizeof(p), "%s/max_delay", pointer);
    if ((v = json_object_get(r, "max_delay"))) duration_of(l, v, p, &base.max_ms);
    snprintf(p, sizeof(p), "%s/multiplier", pointer);
    if ((v = json_object_get(r, "multiplier"))) {
        if (!json_is_number(v) || json_number_value(v) < 1 || json_number_value(v) > 10)
            problem(l, p, "\"multiplier\" must be a number from 1 to 10");
        else
            base.multiplier = json_number_value(v);
    }
    snprintf(p, sizeof(p), "%s/jitter", pointer);
    if ((v = json_object_get(r, "jitter"))) {
        if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1)
            problem(l, p, "\"jitter\" must be a number from 0 to 1");
        else
            base.jitter = json_number_value(v);
    }
    if (base.max_ms < base.initial_ms) base.max_ms = base.initial_ms;
    return base;
}

static void parse_defaults(loader *l, workflow *wf, const json_t *d) {
    static const char *const keys[] = {"retry", "timeout", NULL};
    wf->retry = retry_policy_default();
    if (!d) return;
    if (!json_is_object(d)) {
        problem(l, "/defaults", "\"defaults\" must be a map of retry and timeout");
        return;
    }
    unknown_keys(l, d, "/defaults", keys);
    wf->retry = parse_retry(l, json_object_get(d, "retry"), "/defaults/retry", wf->retry);
    json_t *t = json_object_get(d, "timeout");
    if (t) duration_of(l, t, "/defaults/timeout", &wf->default_timeout_ms);
}

static void parse_steps(loader *l, workflow *wf, const json_t *steps) {
    static const char *const keys[] = {"id", "action", "needs", "pool", "timeout",
                                       "continue_on_error", "retry", "with", NULL};
    size_t i;
    json_t *s;
    char p[256];

    if (!json_is_array(steps) || json_array_size(steps) == 0) {
        problem(l, "/steps", "\"steps\" must be a non-empty list");
        return;
    }
    if (json_array_size(steps) > WORKFLOW_MAX_STEPS) {
        problem(l, "/steps", "%zu steps is more than %d", json_array_size(steps), WORKFLOW_MAX_STEPS);
        return;
    }
    wf->steps = calloc(json_array_size(steps), sizeof(*wf->steps));
    if (!wf->steps) return;
    /* First pass: ids, so needs: can point forwards. */
    json_array_foreach(steps, i, s) {
        wf_step *st = &wf->steps[wf->nsteps++];
        snprintf(p, sizeof(p), "/steps/%zu", i);
        if (!json_is_object(s)) {
            problem(l, p, "a step must be a map, got %s", type_of(s));
            st->id = strdup("");
            continue;
        }
        unknown_keys(l, s, p, keys);
        json_t *id = json_object_get(s, "id");
        snprintf(p, sizeof(p), "/steps/%zu/id", i);
        if (!json_is_string(id) || !valid_id(json_string_value(id))) {
            problem(l, p, "step needs an \"id\" of letters, digits, _ or - (at most 64)");
            st->id = strdup("");
            continue;
        }
        st->id = strdup(json_string_value(id));
        for (size_t j = 0; j + 1 < wf->nsteps; j++)
            if (strcmp(wf->steps[j].id, st->id) == 0)
                problem(l, p, "step id \"%s\" is used twice", st->id);
    }
    json_array_foreach(steps, i, s) {
        wf_step *st = &wf->steps[i];
        if (!json_is_object(s) || !*st->id) continue;
        json_t *action = json_object_get(s, "action"), *needs = json_object_get(s, "needs");
        json_t *pool = json_object_get(s, "pool"), *timeout = json_object_get(s, "timeout");
        json_t *coe = json_object_get(s, "continue_on_error");
        snprintf(p, sizeof(p), "/steps/%zu/action", i);
        if (!json_is_string(action))
            problem(l, p, "step \"%s\" needs an \"action\"", st->id);
        else if (!action_spec_find(json_string_value(action)))
            problem(l, p, "unknown action \"%s\" in step \"%s\"", json_string_value(action), st->id);
        st->action = strdup(json_is_string(action) ? json_string_value(action) : "");
        snprintf(p, sizeof(p), "/steps/%zu/pool", i);
        if (pool && (!json_is_string(pool) || !valid_id(json_string_value(pool))))
            problem(l, p, "\"pool\" must be a name of letters, digits, _ or -");
        st->pool = strdup(json_is_string(pool) ? json_string_value(pool) : "default");
        snprintf(p, sizeof(p), "/steps/%zu/timeout", i);
        st->timeout_ms = wf->default_timeout_ms;
        if (timeout) duration_of(l, timeout, p, &st->timeout_ms);
        snprintf(p, sizeof(p), "/steps/%zu/retry", i);
        st->retry = parse_retry(l, json_object_get(s, "retry"), p, wf->retry);
        snprintf(p, sizeof(p), "/steps/%zu/continue_on_error", i);
        if (coe && !json_is_boolean(coe)) problem(l, p, "\"continue_on_error\" must be true or false");
        st->continue_on_error = json_is_true(coe);
        snprintf(p, sizeof(p), "/steps/%zu/with", i);
        json_t *with = json_object_get(s, "with");
        parse_with(l, st, with, p);
        st->with = with ? json_deep_copy(with) : json_object();
        if (!needs) continue;
        snprintf(p, sizeof(p), "/steps/%zu/needs", i);
        if (!json_is_array(needs)) {
            problem(l, p, "\"needs\" must be a list of step ids");
            continue;
        }
        st->needs = calloc(json_array_size(needs) + 1, sizeof(size_t));
        size_t k;
        json_t *n;
        json_array_foreach(needs, k, n) {
            snprintf(p, sizeof(p), "/steps/%zu/needs/%zu", i, k);
            const char *want = json_is_string(n) ? json_string_value(n) : "";
            size_t j;
            for (j = 0; j < wf->nsteps && strcmp(wf->steps[j].id, want) != 0; j++) {}
            if (!json_is_string(n))
                problem(l, p, "\"needs\" entries must be step ids, got %s", type_of(n));
            else if (j == wf->nsteps)
                problem(l, p, "step \"%s\" needs unknown step \"%s\"", st->id, want);
            else if (j == i)
                problem(l, p, "step \"%s\" needs itself", st->id);
            else if (st->needs)
                st->needs[st->nneeds++] = j;
        }
    }
}

/* Kahn's algorithm; on a cycle names the steps left in it. Fills order. */
static int check_cycles(loader *l, const workflow *wf, size_t *order) {
    size_t n = wf->nsteps, done = 0;
    size_t *unmet = calloc(n ? n : 1, sizeof(size_t));
    int rc = -1;
    if (!unmet) return -1;
    for (size_t i = 0; i < n; i++) unmet[i] = wf->steps[i].nneeds;
    for (size_t i = 0; i < n; i++)
        if (unmet[i] == 0) order[done++] = i;
    for (size_t h = 0; h < done; h++)
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < wf->steps[i].nneeds; k++)
                if (wf->steps[i].needs[k] == order[h] && --unmet[i] == 0) order[done++] = i;
    if (done < n) {
        char names[512] = "";
        size_t off = 0, top = 0;
        /* Steps left are on a cycle or downstream of one: peel off those no
         * other step left needs, so only the cycle is named. */
        size_t *users = calloc(n, sizeof(size_t)), *stack = calloc(n, sizeof(size_t));
        if (users && stack) {
            for (size_t j = 0; j < n; j++)
                for (size_t k = 0; unmet[j] && k < wf->steps[j].nneeds; k++)
                    if (unmet[wf->steps[j].needs[k]]) users[wf->steps[j].needs[k]]++;
            for (size_t i = 0; i < n; i++)
                if (unmet[i] && users[i] == 0) stack[top++] = i;
            while (top > 0) {
                size_t i = stack[--top];
                unmet[i] = 0;
                for (size_t k = 0; k < wf->steps[i].nneeds; k++) {
                    size_t m = wf->steps[i].needs[k];
                    if (unmet[m] && --users[m] == 0) stack[top++] = m;
                }
            }
        }
        free(users);
        free(stack);
        for (size_t i = 0; i < n && off < sizeof(names) - 70; i++)
            if (unmet[i]) off += (size_t)snprintf(names + off, sizeof(names) - off, "%s\"%s\"",
                                                  off ? ", " : "", wf->steps[i].id);
        problem(l, "/steps", "the needs: of steps %s form a cycle", names);
        goto out;
    }
    rc = 0;
out:
    free(unmet);
    return rc;
}

static void check_step_templates(loader *l, const workflow *wf, const size_t *order) {
    size_t n = wf->nsteps;
    bool *anc = calloc(n ? n * n : 1, sizeof(bool));
    char pointer[1024];
    if (!anc) return;
    /* In topological order, a step's ancestors are its needs and theirs. */
    for (size_t h = 0; h < n; h++) {
        size_t i = order[h];
        for (size_t k = 0; k < wf->steps[i].nneeds; k++) {
            size_t j = wf->steps[i].needs[k];
            anc[i * n + j] = true;
            for (size_t m = 0; m < n; m++)
                if (anc[j * n + m]) anc[i * n + m] = true;
        }
    }
    for (size_t i = 0; i < n; i++) {
        tmpl_ref r = {l, wf, i, &anc[i * n], NULL};
        snprintf(pointer, sizeof(pointer), "/steps/%zu/with", i);
        check_templates(&r, wf->steps[i].with, pointer, sizeof(pointer), 0);
    }
    free(anc);
}

static workflow *load_doc(loader *l, const json_t *doc) {
    static const char *const keys[] = {"name", "description", "triggers", "defaults", "steps", NULL};
    workflow *wf = calloc(1, sizeof(*wf));
    if (!wf) return NULL;
    wf->path = strdup(l->path);
    if (!json_is_object(doc)) {
        problem(l, "", "a workflow must be a map with name, triggers and steps");
        return wf;
    }
    unknown_keys(l, doc, "", keys);
    json_t *name = json_object_get(doc, "name");
    if (!json_is_string(name) || !valid_id(json_string_value(name)))
        problem(l, "/name", "\"name\" must be letters, digits, _ or - (at most 64)");
    wf->name = strdup(json_is_string(name) ? json_string_value(name) : "");
    json_t *desc = json_object_get(doc, "description");
    if (desc && !json_is_string(desc)) problem(l, "/description", "\"description\" must be a string");
    parse_triggers(l, wf, json_object_get(doc, "triggers"));
    parse_defaults(l, wf, json_object_get(doc, "defaults"));
    parse_steps(l, wf, json_object_get(doc, "steps"));
    if (failed(l) || wf->nsteps == 0) return wf;
    size_t *order = calloc(wf->nsteps, sizeof(size_t));
    if (order && check_cycles(l, wf, order) == 0) check_step_templates(l, wf, order);
    free(order);
    return wf;
}

workflow *workflow_load_file(const char *path, wf_diag *d) {
    char err[1024];
    size_t len;
    json_t *positions = NULL, *doc = NULL;
    workflow *wf = NULL;
    loader l = {path, NULL, d, d->n};

    char *buf = file_read(path, WORKFLOW_MAX_FILE, &len, err, sizeof(err));
    if (!buf) {
        diag_add(d, err);
        return NULL;
    }
    if (!(doc = yaml_parse(path, buf, len, &positions, err, sizeof(err)))) {
        diag_add(d, err);
        goto out;
    }
    l.positions = positions;
    wf = load_doc(&l, doc);
    if (failed(&l)) {
        workflow_free(wf);
        wf = NULL;
    }
out:
    free(buf);
    json_decref(doc);
    json_decref(positions);
    return wf;
}

static bool workflow_file(const char *name) {
    size_t n = strlen(name);
    if (name[0] == '.') return false;
    return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
           (n > 4 && strcmp(name + n - 4, ".yml") == 0) ||
           (n > 5 && strcmp(name + n - 5, ".json") == 0);
}

/* "path:line:column" of a loaded file's name: key. Only for the rare
 * duplicate name, so the file is simply read again. */
static void name_place(const char *path, char *buf, size_t len) {
    char err[256];
    size_t n;
    int line = 0, col = 0;
    json_t *positions = NULL, *doc = NULL;
    char *text = file_read(path, WORKFLOW_MAX_FILE, &n, err, sizeof(err));
    if (text) doc = yaml_parse(path, text, n, &positions, err, sizeof(err));
    yaml_position(positions, "/name", &line, &col);
    if (line) snprintf(buf, len, "%s:%d:%d", path, line, col);
    else snprintf(buf, len, "%s", path);
    json_decref(doc);
    json_decref(positions);
    free(text);
}

static int add(workflow_set *set, workflow *wf, wf_diag *d) {
    for (size_t i = 0; i < set->n; i++) {
        if (strcmp(set->items[i]->name, wf->name) == 0) {
            char msg[1200], here[300], there[300];
            name_place(wf->path, here, sizeof(here));
            name_place(set->items[i]->path, there, sizeof(there));
            snprintf(msg, sizeof(msg), "%s: workflow name \"%s\" is also used by %s", here,
                     wf->name, there);
            diag_add(d, msg);
            workflow_free(wf);
            return -1;
        }
    }
    workflow **items = realloc(set->items, (set->n + 1) * sizeof(*items));
    if (!items) {
        workflow_free(wf);
        return -1;
    }
    set->items = items;
    set->items[set->n++] = wf;
    return 0;
}

workflow_set *workflow_load(const char *dir_or_file, wf_diag *d) {
    struct stat st;
    struct dirent **names = NULL;
    size_t before = d->n;
    workflow_set *set = calloc(1, sizeof(*set));
    char msg[1024];

    if (!set) return NULL;
    if (stat(dir_or_file, &st) < 0) {
        snprintf(msg, sizeof(msg), "%s: no such file or directory", dir_or_file);
        diag_add(d, msg);
        goto fail;
    }
    if (!S_ISDIR(st.st_mode)) {
        workflow *wf = workflow_load_file(dir_or_file, d);
        if (wf) add(set, wf, d);
    } else {
        int n = scandir(dir_or_file, &names, NULL, alphasort);
        if (n < 0) {
            snprintf(msg, sizeof(msg), "%s: cannot read directory", dir_or_file);
            diag_add(d, msg);
            goto fail;
        }
        for (int i = 0; i < n; i++) {
            if (workflow_file(names[i]->d_name)) {
                char path[4096];
                snprintf(path, sizeof(path), "%s/%s", dir_or_file, names[i]->d_name);
                workflow *wf = workflow_load_file(path, d);
                if (wf) add(set, wf, d);
            }
            free(names[i]);
        }
        free(names);
        if (set->n == 0 && d->n == before) {
            snprintf(msg, sizeof(msg), "%s: no workflow files (*.yaml, *.yml, *.json)", dir_or_file);
            diag_add(d, msg);
        }
    }
    if (d->n == before) return set;
fail:
    workflow_set_free(set);
    return NULL;
}

bool workflow_matches(const workflow *wf, const json_t *fields) {
    for (size_t i = 0; i < wf->ntriggers; i++) {
        const wf_trigger *t = &wf->triggers[i];
        size_t j;
        for (j = 0; j < t->n && matcher_match(t->matchers[j], fields); j++) {}
        if (t->n > 0 && j == t->n) return true;
    }
    return false;
}

json_t *workflow_step_json(const workflow *wf, size_t i) {
    const wf_step *s = &wf->steps[i];
    return json_pack("{s:s, s:s, s:s, s:I, s:b, s:o, s:O}", "id", s->id, "action", s->action,
                     "pool", s->pool, "timeout_ms", (json_int_t)s->timeout_ms, "continue_on_error",
                     s->continue_on_error, "retry", retry_policy_to_json(&s->retry), "with", s->with);
}

bool workflow_action_known(const char *action) { return action_spec_find(action) != NULL; }

void workflow_free(workflow *wf) {
    if (!wf) return;
    for (size_t i = 0; i < wf->ntriggers; i++) {
        for (size_t j = 0; j < wf->triggers[i].n; j++) matcher_free(wf->triggers[i].matchers[j]);
        free(wf->triggers[i].matchers);
    }
    free(wf->triggers);
    for (size_t i = 0; i < wf->nsteps; i++) {
        free(wf->steps[i].id);
        free(wf->steps[i].action);
        free(wf->steps[i].pool);
        free(wf->steps[i].needs);
        json_decref(wf->steps[i].with);
    }
    free(wf->steps);
    free(wf->name);
    free(wf->path);
    free(wf);
}

void workflow_set_free(workflow_set *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) workflow_free(s->items[i]);
    free(s->items);
    free(s);
}
