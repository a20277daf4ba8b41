/* action_spec.c - which actions exist and which `with:` parameters they take */
#include "common/action_spec.h"

#include <string.h>

static const param_spec webhook_params[] = {
    {"url", P_STRING, true},
    {"method", P_STRING, false},
    {"headers", P_MAP, false},
    {"body", P_ANY, false},
    {NULL, P_ANY, false},
};

static const param_spec exec_params[] = {
    {"command", P_STRINGS, true},
    {"env", P_MAP, false},
    {"stdin", P_ANY, false},
    {NULL, P_ANY, false},
};

static const param_spec noop_params[] = {
    {"echo", P_ANY, false},
    {NULL, P_ANY, false},
};

static const param_spec manual_params[] = {
    {"instructions", P_STRING, false},
    {"assignee", P_STRING, false},
    {NULL, P_ANY, false},
};

static const action_spec specs[] = {
    {"webhook", webhook_params, "HTTP request with a templated JSON body"},
    {"exec", exec_params, "run a program with an argv array, alert data in the environment"},
    {"noop", noop_params, "succeed at once; output is the step's with (for tests and benchmarks)"},
    {"manual", manual_params, "a task for a person; done with `muster done INCIDENT STEP`"},
    {NULL, NULL, NULL},
};

const action_spec *action_spec_find(const char *name) {
    for (const action_spec *s = specs; s->name; s++)
        if (strcmp(s->name, name) == 0) return s;
    return NULL;
}

const action_spec *action_specs(void) { return specs; }

const char *param_type_name(param_type t) {
    switch (t) {
    case P_STRING: return "a string";
    case P_STRINGS: return "a list of strings";
    case P_MAP: return "a map of strings";
    case P_INT: return "a whole number";
    case P_BOOL: return "true or false";
    case P_DURATION: return "a duration";
    default: return "any value";
    }
}
