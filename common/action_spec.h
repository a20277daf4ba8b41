/* action_spec.h - which actions exist and which `with:` parameters they take */
#ifndef MUSTER_ACTION_SPEC_H
#define MUSTER_ACTION_SPEC_H

#include <stdbool.h>

typedef enum {
    P_STRING,   /* a string (templates allowed) */
    P_URL,      /* a URL: templates only after the origin, percent-encoded there */
    P_STRINGS,  /* an array of strings */
    P_MAP,      /* an object of name -> string */
    P_ANY,      /* any JSON value (a request body) */
    P_INT,      /* a whole number */
    P_BOOL,     /* true or false */
    P_DURATION, /* "10s", "250ms" or a number of milliseconds */
} param_type;

typedef struct param_spec {
    const char *name;
    param_type type;
    bool required;
    /* Where the step connects or what it runs (a host, a port, command[0]):
     * a template may decide it only when the step allows it explicitly, and
     * never in a step that carries a secret. P_URL params are targets for
     * their origin. */
    bool target;
} param_spec;

typedef struct action_spec {
    const char *name;
    const param_spec *params; /* ends with a NULL name */
    const char *summary;
} action_spec;

/* The spec of `name`, or NULL when no such action exists. */
const action_spec *action_spec_find(const char *name);

/* All actions, ending with a NULL name. */
const action_spec *action_specs(void);

const char *param_type_name(param_type t);

#endif
