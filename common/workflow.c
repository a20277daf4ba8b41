/* workflow.c - workflow files: load, validate, match alerts to them */
#include "common/workflow.h"

#include <ctype.h>
#include <dirent.h>
#include <stdarg.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/action_spec.h"
#include "common/condition.h"
#include "common/diag.h"
#include "common/secret.h"
#include "common/page_check.h"
#include "common/template.h"
#include "common/util.h"
#include "common/yaml.h"

typedef diag_file loader;

static bool type_ok(const json_t *v, param_type t) {
    const char *k;
    json_t *e;
    size_t i;
    switch (t) {
    case P_STRING:
    case P_URL: return json_is_string(v) || secret_is_ref(v);
    case P_INT: return json_is_integer(v);
    case P_BOOL: return json_is_boolean(v);
    case P_DURATION: return json_is_string(v) || json_is_integer(v);
    case P_STRINGS:
        if (!json_is_array(v)) return false;
        json_array_foreach(v, i, e) if (!json_is_string(e)) return false;
        return true;
    case P_MAP:
        if (!json_is_object(v)) return false;
        json_object_foreach((json_t *)v, k, e) if (!json_is_string(e) && !secret_is_ref(e)) return false;
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
    diag_problem(l, pointer, "expected a duration such as 10s or 500ms, got %s", diag_type_of(v));
    return -1;
}

/* ---- templates: every {{ path }} must reference something ---- */

typedef struct tmpl_ref {
    loader *l;
    const wf_step *list; /* the steps the referencing step belongs to */
    size_t n;
    size_t step;
    const bool *ancestor; /* ancestor[j]: list[j] finishes before this one */
    const wf_step *done;  /* steps that all finished before (on_resolve: the run's) */
    size_t ndone;
    const char *pointer;
    const char *what;     /* "template" or "condition" */
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
    if (strcmp(root, "oncall") == 0) {
        /* oncall.SCHEDULE.FIELD: the schedule is checked against the on-call
         * files where both are loaded (page_check.c) */
        if (!oncall_template_path_ok(path))
            diag_problem(r->l, r->pointer, "%s references \"%s\": expected oncall.SCHEDULE.name, "
                    ".slack, .phone, .email or .id", r->what, path);
        return 0;
    }
    if (strcmp(root, "steps") != 0) {
        diag_problem(r->l, r->pointer, "%s references \"%s\", which is nothing: expected "
                "alert, incident, workflow, step, steps or oncall", r->what, path);
        return 0;
    }
    const char *id = path + n + (path[n] == '.');
    size_t idlen = strcspn(id, ".");
    for (size_t j = 0; j < r->ndone; j++)
        if (strlen(r->done[j].id) == idlen && strncmp(r->done[j].id, id, idlen) == 0) return 0;
    for (size_t j = 0; j < r->n; j++) {
        if (strlen(r->list[j].id) != idlen || strncmp(r->list[j].id, id, idlen) != 0)
            continue;
        if (!r->ancestor[j])
            diag_problem(r->l, r->pointer, "%s references step \"%s\", which does not run "
                    "before step \"%s\" (add it to needs:)", r->what, r->list[j].id,
                    r->list[r->step].id);
        return 0;
    }
    diag_problem(r->l, r->pointer, "%s references \"%s\": there is no step \"%.*s\"", r->what, path,
            (int)idlen, id);
    return 0;
}

static void check_templates(tmpl_ref *r, const json_t *v, char *pointer, size_t cap, int depth) {
    size_t plen = strlen(pointer), i;
    const char *k;
    json_t *e;
    char err[256];
    if (depth > YAML_MAX_DEPTH) return;
    if (secret_is_ref(v)) {
        /* A literal name: alert data must not choose which secret is sent. */
        const char *name = json_string_value(json_object_get(v, "secret"));
        if (!secret_name_ok(name))
            diag_problem(r->l, pointer, "secret name \"%s\" must be a literal of [A-Za-z0-9_.-]", name);
        return;
    }
    if (json_is_string(v)) {
        r->pointer = pointer;
        if (template_check(json_string_value(v), check_ref, r, err, sizeof(err)) < 0)
            diag_problem(r->l, pointer, "bad template: %s", err);
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, e) {
            snprintf(pointer + plen, cap - plen, "/%zu", i);
            check_templates(r, e, pointer, cap, depth + 1);
        }
    } else if (json_is_object(v)) {
        json_object_foreach((json_t *)v, k, e) {
            diag_pointer_join(pointer + plen, cap - plen, "", k);
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
        diag_problem(l, "/triggers", "\"triggers\" must be a non-empty list");
        return;
    }
    wf->triggers = calloc(json_array_size(triggers), sizeof(*wf->triggers));
    if (!wf->triggers) return;
    json_array_foreach(triggers, i, t) {
        snprintf(p, sizeof(p), "/triggers/%zu", i);
        if (!json_is_object(t)) {
            diag_problem(l, p, "a trigger must be a map with \"matchers\", got %s", diag_type_of(t));
            continue;
        }
        diag_unknown_keys(l, t, p, keys);
        json_t *ms = json_object_get(t, "matchers");
        if (!json_is_array(ms) || json_array_size(ms) == 0) {
            diag_problem(l, p, "\"matchers\" must be a non-empty list of strings such as "
                    "'severity=\"critical\"'");
            continue;
        }
        wf_trigger *tr = &wf->triggers[wf->ntriggers++];
        tr->matchers = calloc(json_array_size(ms), sizeof(*tr->matchers));
        if (!tr->matchers) continue;
        json_array_foreach(ms, j, m) {
            snprintf(p, sizeof(p), "/triggers/%zu/matchers/%zu", i, j);
            if (!json_is_string(m)) {
                diag_problem(l, p, "a matcher must be a string, got %s", diag_type_of(m));
                continue;
            }
            if (matcher_parse(json_string_value(m), &tr->matchers[tr->n], err, sizeof(err)) < 0)
                diag_problem(l, p, "bad matcher '%s': %s", json_string_value(m), err);
            else
                tr->n++;
        }
    }
}

/* Whether v holds a secret reference at any depth. */
static bool has_secret(const json_t *v, int depth) {
    const char *k;
    json_t *e;
    size_t i;
    if (secret_is_ref(v)) return true;
    if (depth > YAML_MAX_DEPTH) return false;
    if (json_is_object(v))
        json_object_foreach((json_t *)v, k, e) if (has_secret(e, depth + 1)) return true;
    if (json_is_array(v))
        json_array_foreach(v, i, e) if (has_secret(e, depth + 1)) return true;
    return false;
}

/* The part of a target parameter that says where the step connects or
 * what it runs, when a template decides it; NULL when nothing does. */
static const char *templated_target(const param_spec *ps, const json_t *v) {
    if (ps->type == P_URL)
        return json_is_string(v) && template_url_origin_templated(json_string_value(v))
                   ? "the scheme, host or port of the URL"
                   : NULL;
    if (ps->type == P_STRINGS) v = json_array_get(v, 0);
    if (!json_is_string(v) || !strstr(json_string_value(v), "{{")) return NULL;
    return ps->type == P_STRINGS ? "the program (the command's first word)" : "the target";
}

/* A string where a request body goes: JSON text is read as JSON, so that
 * what templates put into its strings is escaped by construction; any
 * other text with templates must escape each expression itself. Returns
 * the value to keep (a new reference). */
static json_t *body_value(loader *l, const json_t *v, const json_t *headers, const char *p) {
    const char *text = json_string_value(v), *type = NULL, *k;
    json_t *h;
    char err[256];
    if (!text || !strstr(text, "{{") || template_is_whole(text)) return json_incref((json_t *)v);
    json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    if (json_is_object(doc) || json_is_array(doc)) return doc;
    json_decref(doc);
    json_object_foreach((json_t *)headers, k, h) if (strcasecmp(k, "content-type") == 0) type =
        json_string_value(h);
    bool form = type && strstr(type, "x-www-form-urlencoded");
    bool json = !type || strstr(type, "json");
    const char *want = form ? "urlencode" : "json";
    int n = form || json ? template_unescaped(text, want, err, sizeof(err)) : 0;
    if (n > 0)
        diag_problem(l, p, "this body is text with templates but not JSON, so a value could break "
                "out of it: write the body as a map, or end each expression with | %s", want);
    return json_incref((json_t *)v);
}

/* Checks a step's with: against its action's parameters and returns what
 * the step keeps (a new reference): the same, with JSON text bodies read
 * as JSON. allow_target is the step's allow_templated_target. */
static json_t *parse_with(loader *l, const wf_step *st, const json_t *with, const char *pointer,
                          bool allow_target) {
    const action_spec *spec = action_spec_find(st->action);
    char p[512];
    const char *k;
    json_t *v;

    if (!spec) return json_incref((json_t *)with);
    if (with && !json_is_object(with)) {
        diag_problem(l, pointer, "\"with\" must be a map, got %s", diag_type_of(with));
        return json_incref((json_t *)with);
    }
    json_t *kept = json_object();
    bool secret = has_secret(with, 0);
    json_object_foreach((json_t *)with, k, v) {
        const param_spec *ps = spec->params;
        while (ps->name && strcmp(ps->name, k) != 0) ps++;
        diag_pointer_join(p, sizeof(p), pointer, k);
        const char *what =
            ps->name && (ps->target || ps->type == P_URL) ? templated_target(ps, v) : NULL;
        if (!ps->name)
            diag_problem(l, p, "unknown parameter \"%s\" for action %s", k, st->action);
        else if (!type_ok(v, ps->type))
            diag_problem(l, p, "parameter \"%s\" must be %s, got %s", k, param_type_name(ps->type),
                    diag_type_of(v));
        else if (what && secret)
            diag_problem(l, p, "a template decides %s, and this step carries a secret: alert data "
                    "could send it elsewhere", what);
        else if (what && !allow_target)
            diag_problem(l, p, "a template decides %s, so an alert could choose it; write it out, "
                    "or set allow_templated_target: true on the step", what);
        json_object_set_new(kept, k, ps->name && ps->type == P_ANY && strcmp(k, "body") == 0
                                         ? body_value(l, v, json_object_get(with, "headers"), p)
                                         : json_incref(v));
    }
    for (const param_spec *ps = spec->params; ps->name; ps++)
        if (ps->required && !json_object_get(with, ps->name))
            diag_problem(l, pointer, "action %s needs parameter \"%s\"", st->action, ps->name);
    return kept;
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
        diag_problem(l, pointer, "\"retry\" must be a map of max_attempts, initial_delay, max_delay, "
                "multiplier, jitter");
        return base;
    }
    diag_unknown_keys(l, r, pointer, keys);
    snprintf(p, sizeof(p), "%s/max_attempts", pointer);
    if ((v = json_object_get(r, "max_attempts"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 100)
            diag_problem(l, p, "\"max_attempts\" must be a whole number from 1 to 100");
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
            diag_problem(l, p, "\"multiplier\" must be a number from 1 to 10");
        else
            base.multiplier = json_number_value(v);
    }
    snprintf(p, sizeof(p), "%s/jitter", pointer);
    if ((v = json_object_get(r, "jitter"))) {
        if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1)
            diag_problem(l, p, "\"jitter\" must be a number from 0 to 1");
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
        diag_problem(l, "/defaults", "\"defaults\" must be a map of retry and timeout");
        return;
    }
    diag_unknown_keys(l, d, "/defaults", keys);
    wf->retry = parse_retry(l, json_object_get(d, "retry"), "/defaults/retry", wf->retry);
    json_t *t = json_object_get(d, "timeout");
    if (t) duration_of(l, t, "/defaults/timeout", &wf->default_timeout_ms);
}

/* Parses a list of steps (steps: or on_resolve:) into *out; `base` is its
 * JSON pointer. */
static void parse_steps(loader *l, const workflow *wf, const json_t *steps, const char *base,
                        wf_step **out, size_t *nout) {
    static const char *const keys[] = {"id", "action", "needs", "pool", "timeout",
                                       "continue_on_error", "retry", "if", "with",
                                       "allow_templated_target", NULL};
    size_t i;
    json_t *s;
    char p[256];

    if (!json_is_array(steps) || json_array_size(steps) == 0) {
        diag_problem(l, base, "\"%s\" must be a non-empty list", base + 1);
        return;
    }
    if (json_array_size(steps) > WORKFLOW_MAX_STEPS) {
        diag_problem(l, base, "%zu steps is more than %d", json_array_size(steps), WORKFLOW_MAX_STEPS);
        return;
    }
    *out = calloc(json_array_size(steps), sizeof(**out));
    if (!*out) return;
    /* First pass: ids, so needs: can point forwards. */
    json_array_foreach(steps, i, s) {
        wf_step *st = &(*out)[(*nout)++];
        snprintf(p, sizeof(p), "%s/%zu", base, i);
        if (!json_is_object(s)) {
            diag_problem(l, p, "a step must be a map, got %s", diag_type_of(s));
            st->id = strdup("");
            continue;
        }
        diag_unknown_keys(l, s, p, keys);
        json_t *id = json_object_get(s, "id");
        snprintf(p, sizeof(p), "%s/%zu/id", base, i);
        if (!json_is_string(id) || !diag_valid_id(json_string_value(id))) {
            diag_problem(l, p, "step needs an \"id\" of letters, digits, _ or - (at most 64)");
            st->id = strdup("");
            continue;
        }
        st->id = strdup(json_string_value(id));
        for (size_t j = 0; j + 1 < *nout; j++)
            if (strcmp((*out)[j].id, st->id) == 0)
                diag_problem(l, p, "step id \"%s\" is used twice", st->id);
    }
    json_array_foreach(steps, i, s) {
        wf_step *st = &(*out)[i];
        if (!json_is_object(s) || !*st->id) continue;
        json_t *action = json_object_get(s, "action"), *needs = json_object_get(s, "needs");
        json_t *pool = json_object_get(s, "pool"), *timeout = json_object_get(s, "timeout");
        json_t *coe = json_object_get(s, "continue_on_error");
        snprintf(p, sizeof(p), "%s/%zu/action", base, i);
        if (!json_is_string(action))
            diag_problem(l, p, "step \"%s\" needs an \"action\"", st->id);
        else if (!action_spec_find(json_string_value(action)))
            diag_problem(l, p, "unknown action \"%s\" in step \"%s\"", json_string_value(action), st->id);
        st->action = strdup(json_is_string(action) ? json_string_value(action) : "");
        snprintf(p, sizeof(p), "%s/%zu/pool", base, i);
        if (pool && (!json_is_string(pool) || !diag_valid_id(json_string_value(pool))))
            diag_problem(l, p, "\"pool\" must be a name of letters, digits, _ or -");
        st->pool = strdup(json_is_string(pool) ? json_string_value(pool) : "default");
        snprintf(p, sizeof(p), "%s/%zu/timeout", base, i);
        st->timeout_ms = wf->default_timeout_ms;
        if (timeout) duration_of(l, timeout, p, &st->timeout_ms);
        snprintf(p, sizeof(p), "%s/%zu/retry", base, i);
        st->retry = parse_retry(l, json_object_get(s, "retry"), p, wf->retry);
        snprintf(p, sizeof(p), "%s/%zu/continue_on_error", base, i);
        if (coe && !json_is_boolean(coe)) diag_problem(l, p, "\"continue_on_error\" must be true or false");
        st->continue_on_error = json_is_true(coe);
        json_t *cond = json_object_get(s, "if");
        if (cond) {
            snprintf(p, sizeof(p), "%s/%zu/if", base, i);
            st->conditions = json_is_string(cond) ? json_pack("[O]", cond) : json_deep_copy(cond);
            size_t k;
            json_t *c;
            char err[300];
            if (!json_is_array(st->conditions) || json_array_size(st->conditions) == 0)
                diag_problem(l, p, "\"if\" must be a condition such as 'alert.labels.env=\"prod\"' or a list of them");
            else
                json_array_foreach(st->conditions, k, c) {
                    condition *parsed = NULL;
                    if (!json_is_string(c))
                        diag_problem(l, p, "a condition must be a string, got %s", diag_type_of(c));
                    else if (condition_parse(json_string_value(c), &parsed, err, sizeof(err)) < 0)
                        diag_problem(l, p, "bad condition '%s': %s", json_string_value(c), err);
                    condition_free(parsed);
                }
        }
        snprintf(p, sizeof(p), "%s/%zu/with", base, i);
        json_t *with = json_object_get(s, "with");
        json_t *allow = json_object_get(s, "allow_templated_target");
        snprintf(p, sizeof(p), "%s/%zu/allow_templated_target", base, i);
        if (allow && !json_is_boolean(allow))
            diag_problem(l, p, "\"allow_templated_target\" must be true or false");
        snprintf(p, sizeof(p), "%s/%zu/with", base, i);
        json_t *kept = parse_with(l, st, with, p, json_is_true(allow));
        st->with = kept ? json_deep_copy(kept) : json_object();
        json_decref(kept);
        if (!needs) continue;
        snprintf(p, sizeof(p), "%s/%zu/needs", base, i);
        if (!json_is_array(needs)) {
            diag_problem(l, p, "\"needs\" must be a list of step ids");
            continue;
        }
        st->needs = calloc(json_array_size(needs) + 1, sizeof(size_t));
        size_t k;
        json_t *n;
        json_array_foreach(needs, k, n) {
            snprintf(p, sizeof(p), "%s/%zu/needs/%zu", base, i, k);
            const char *want = json_is_string(n) ? json_string_value(n) : "";
            size_t j;
            for (j = 0; j < *nout && strcmp((*out)[j].id, want) != 0; j++) {}
            if (!json_is_string(n))
                diag_problem(l, p, "\"needs\" entries must be step ids, got %s", diag_type_of(n));
            else if (j == *nout)
                diag_problem(l, p, "step \"%s\" needs unknown step \"%s\"", st->id, want);
            else if (j == i)
                diag_problem(l, p, "step \"%s\" needs itself", st->id);
            else if (st->needs)
                st->needs[st->nneeds++] = j;
        }
    }
}

/* Kahn's algorithm; on a cycle names the steps left in it. Fills order. */
static int check_cycles(loader *l, const wf_step *steps, size_t n, const char *base, size_t *order) {
    size_t done = 0;
    size_t *unmet = calloc(n ? n : 1, sizeof(size_t));
    int rc = -1;
    if (!unmet) return -1;
    for (size_t i = 0; i < n; i++) unmet[i] = steps[i].nneeds;
    for (size_t i = 0; i < n; i++)
        if (unmet[i] == 0) order[done++] = i;
    for (size_t h = 0; h < done; h++)
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < steps[i].nneeds; k++)
                if (steps[i].needs[k] == order[h] && --unmet[i] == 0) order[done++] = i;
    if (done < n) {
        char names[512] = "";
        size_t off = 0, top = 0;
        /* Steps left are on a cycle or downstream of one: peel off those no
         * other step left needs, so only the cycle is named. */
        size_t *users = calloc(n, sizeof(size_t)), *stack = calloc(n, sizeof(size_t));
        if (users && stack) {
            for (size_t j = 0; j < n; j++)
                for (size_t k = 0; unmet[j] && k < steps[j].nneeds; k++)
                    if (unmet[steps[j].needs[k]]) users[steps[j].needs[k]]++;
            for (size_t i = 0; i < n; i++)
                if (unmet[i] && users[i] == 0) stack[top++] = i;
            while (top > 0) {
                size_t i = stack[--top];
                unmet[i] = 0;
                for (size_t k = 0; k < steps[i].nneeds; k++) {
                    size_t m = steps[i].needs[k];
                    if (unmet[m] && --users[m] == 0) stack[top++] = m;
                }
            }
        }
        free(users);
        free(stack);
        for (size_t i = 0; i < n && off < sizeof(names) - 70; i++)
            if (unmet[i]) off += (size_t)snprintf(names + off, sizeof(names) - off, "%s\"%s\"",
                                                  off ? ", " : "", steps[i].id);
        diag_problem(l, base, "the needs: of steps %s form a cycle", names);
        goto out;
    }
    rc = 0;
out:
    free(unmet);
    return rc;
}

/* Checks that every template and condition of a step list references only
 * the alert, the incident, and steps that finished before: its ancestors in
 * the list, and all of `done` (for on_resolve, the run's steps). */
static void check_step_templates(loader *l, const wf_step *steps, size_t n, const char *base,
                                 const wf_step *done, size_t ndone, const size_t *order) {
    bool *anc = calloc(n ? n * n : 1, sizeof(bool));
    char pointer[1024], err[300];
    if (!anc) return;
    /* In topological order, a step's ancestors are its needs and theirs. */
    for (size_t h = 0; h < n; h++) {
        size_t i = order[h];
        for (size_t k = 0; k < steps[i].nneeds; k++) {
            size_t j = steps[i].needs[k];
            anc[i * n + j] = true;
            for (size_t m = 0; m < n; m++)
                if (anc[j * n + m]) anc[i * n + m] = true;
        }
    }
    for (size_t i = 0; i < n; i++) {
        tmpl_ref r = {l, steps, n, i, &anc[i * n], done, ndone, NULL, "template"};
        snprintf(pointer, sizeof(pointer), "%s/%zu/with", base, i);
        check_templates(&r, steps[i].with, pointer, sizeof(pointer), 0);
        size_t k;
        json_t *c;
        snprintf(pointer, sizeof(pointer), "%s/%zu/if", base, i);
        r.pointer = pointer;
        r.what = "condition";
        json_array_foreach(steps[i].conditions, k, c) {
            condition *parsed = NULL;
            if (json_is_string(c) && condition_parse(json_string_value(c), &parsed, err, sizeof(err)) == 0)
                check_ref(condition_path(parsed), &r);
            condition_free(parsed);
        }
    }
    free(anc);
}

/* Cycles, then references, for one list of steps. */
static void check_graph(loader *l, const wf_step *steps, size_t n, const char *base,
                        const wf_step *done, size_t ndone) {
    size_t *order = calloc(n ? n : 1, sizeof(size_t));
    if (order && check_cycles(l, steps, n, base, order) == 0)
        check_step_templates(l, steps, n, base, done, ndone, order);
    free(order);
}

static void parse_grouping(loader *l, workflow *wf, const json_t *doc) {
    json_t *g = json_object_get(doc, "group_by"), *w = json_object_get(doc, "group_window");
    json_t *x = json_object_get(doc, "exclusive"), *pr = json_object_get(doc, "priority");
    size_t i;
    json_t *e;
    wf->group_window_ms = 5 * 60 * 1000;
    if (g) {
        if (!json_is_array(g) || json_array_size(g) == 0 || json_array_size(g) > 16) {
            diag_problem(l, "/group_by", "\"group_by\" must be a list of 1 to 16 label names");
        } else {
            wf->group_by = calloc(json_array_size(g), sizeof(char *));
            json_array_foreach(g, i, e) {
                char p[64];
                snprintf(p, sizeof(p), "/group_by/%zu", i);
                if (!json_is_string(e) || !*json_string_value(e))
                    diag_problem(l, p, "a group_by entry must be a label name");
                else if (wf->group_by)
                    wf->group_by[wf->ngroup_by++] = strdup(json_string_value(e));
            }
        }
    }
    if (w) {
        if (!g) diag_problem(l, "/group_window", "\"group_window\" needs \"group_by\"");
        duration_of(l, w, "/group_window", &wf->group_window_ms);
    }
    if (x && !json_is_boolean(x)) diag_problem(l, "/exclusive", "\"exclusive\" must be true or false");
    wf->exclusive = json_is_true(x);
    if (pr && !json_is_integer(pr)) diag_problem(l, "/priority", "\"priority\" must be a whole number");
    wf->priority = json_is_integer(pr) ? json_integer_value(pr) : 0;
    json_t *ap = json_object_get(doc, "allow_private_network");
    if (ap && !json_is_boolean(ap))
        diag_problem(l, "/allow_private_network", "\"allow_private_network\" must be true or false");
    wf->allow_private = json_is_true(ap);
}

static workflow *load_doc(loader *l, const json_t *doc) {
    static const char *const keys[] = {"name",     "description", "triggers",  "defaults",
                                       "group_by", "group_window", "exclusive", "priority",
                                       "steps",    "on_resolve",   "allow_private_network",
                                       NULL};
    workflow *wf = calloc(1, sizeof(*wf));
    if (!wf) return NULL;
    wf->path = strdup(l->path);
    if (!json_is_object(doc)) {
        diag_problem(l, "", "a workflow must be a map with name, triggers and steps");
        return wf;
    }
    diag_unknown_keys(l, doc, "", keys);
    json_t *name = json_object_get(doc, "name");
    if (!json_is_string(name) || !diag_valid_id(json_string_value(name)))
        diag_problem(l, "/name", "\"name\" must be letters, digits, _ or - (at most 64)");
    wf->name = strdup(json_is_string(name) ? json_string_value(name) : "");
    json_t *desc = json_object_get(doc, "description");
    if (desc && !json_is_string(desc)) diag_problem(l, "/description", "\"description\" must be a string");
    parse_triggers(l, wf, json_object_get(doc, "triggers"));
    parse_defaults(l, wf, json_object_get(doc, "defaults"));
    parse_grouping(l, wf, doc);
    parse_steps(l, wf, json_object_get(doc, "steps"), "/steps", &wf->steps, &wf->nsteps);
    json_t *on_resolve = json_object_get(doc, "on_resolve");
    if (on_resolve)
        parse_steps(l, wf, on_resolve, "/on_resolve", &wf->resolve_steps, &wf->nresolve);
    for (size_t i = 0; i < wf->nresolve; i++)
        for (size_t j = 0; j < wf->nsteps; j++)
            if (*wf->resolve_steps[i].id && strcmp(wf->resolve_steps[i].id, wf->steps[j].id) == 0) {
                char p[64];
                snprintf(p, sizeof(p), "/on_resolve/%zu/id", i);
                diag_problem(l, p, "step id \"%s\" is also used in steps:", wf->steps[j].id);
            }
    if (diag_failed(l) || wf->nsteps == 0) return wf;
    check_graph(l, wf->steps, wf->nsteps, "/steps", NULL, 0);
    if (wf->nresolve) check_graph(l, wf->resolve_steps, wf->nresolve, "/on_resolve", wf->steps, wf->nsteps);
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
    if (diag_failed(&l)) {
        workflow_free(wf);
        wf = NULL;
    }
out:
    free(buf);
    json_decref(doc);
    json_decref(positions);
    return wf;
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
            if (yaml_file_name(names[i]->d_name)) {
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

static json_t *step_json(const wf_step *s) {
    return json_pack("{s:s, s:s, s:s, s:I, s:b, s:o, s:O}", "id", s->id, "action", s->action,
                     "pool", s->pool, "timeout_ms", (json_int_t)s->timeout_ms, "continue_on_error",
                     s->continue_on_error, "retry", retry_policy_to_json(&s->retry), "with", s->with);
}

json_t *workflow_step_json(const workflow *wf, size_t i) {
    json_t *j = step_json(&wf->steps[i]);
    if (j && wf->steps[i].conditions) json_object_set(j, "if", wf->steps[i].conditions);
    if (j && wf->allow_private) json_object_set_new(j, "allow_private", json_true());
    return j;
}

json_t *workflow_resolve_step_json(const workflow *wf, size_t i) {
    json_t *j = step_json(&wf->resolve_steps[i]);
    if (j && wf->resolve_steps[i].conditions) json_object_set(j, "if", wf->resolve_steps[i].conditions);
    if (j && wf->allow_private) json_object_set_new(j, "allow_private", json_true());
    return j;
}

size_t workflow_select(const workflow_set *set, const json_t *fields, const workflow **out) {
    size_t n = 0;
    const workflow *best = NULL;
    for (size_t i = 0; i < set->n; i++) {
        const workflow *wf = set->items[i];
        if (!workflow_matches(wf, fields)) continue;
        out[n++] = wf;
        if (wf->exclusive && (!best || wf->priority > best->priority)) best = wf;
    }
    if (best) {
        out[0] = best;
        n = 1;
    }
    return n;
}

char *workflow_group_key(const workflow *wf, const json_t *labels, const char *fingerprint) {
    size_t cap = strlen(wf->name) + strlen(fingerprint) + 16, len;
    for (size_t i = 0; i < wf->ngroup_by; i++) {
        const char *v = json_string_value(json_object_get(labels, wf->group_by[i]));
        cap += strlen(wf->group_by[i]) + (v ? strlen(v) : 0) + 2;
    }
    char *key = malloc(cap);
    if (!key) return NULL;
    if (!wf->ngroup_by) {
        snprintf(key, cap, "%s|fp:%s", wf->name, fingerprint);
        return key;
    }
    len = (size_t)snprintf(key, cap, "%s|g", wf->name);
    for (size_t i = 0; i < wf->ngroup_by; i++) {
        const char *v = json_string_value(json_object_get(labels, wf->group_by[i]));
        len += (size_t)snprintf(key + len, cap - len, "%c%s=%s", i ? '|' : ':', wf->group_by[i], v ? v : "");
    }
    return key;
}

bool workflow_action_known(const char *action) { return action_spec_find(action) != NULL; }

static void free_steps(wf_step *steps, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(steps[i].id);
        free(steps[i].action);
        free(steps[i].pool);
        free(steps[i].needs);
        json_decref(steps[i].with);
        json_decref(steps[i].conditions);
    }
    free(steps);
}

void workflow_free(workflow *wf) {
    if (!wf) return;
    if (wf->cache_free) wf->cache_free(wf->cache);
    for (size_t i = 0; i < wf->ntriggers; i++) {
        for (size_t j = 0; j < wf->triggers[i].n; j++) matcher_free(wf->triggers[i].matchers[j]);
        free(wf->triggers[i].matchers);
    }
    free(wf->triggers);
    free_steps(wf->steps, wf->nsteps);
    free_steps(wf->resolve_steps, wf->nresolve);
    for (size_t i = 0; i < wf->ngroup_by; i++) free(wf->group_by[i]);
    free(wf->group_by);
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
