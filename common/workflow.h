/* workflow.h - workflow files: load, validate, match alerts to them */
#ifndef MUSTER_WORKFLOW_H
#define MUSTER_WORKFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "common/backoff.h"
#include "common/diag.h"
#include "common/matcher.h"

#define WORKFLOW_MAX_STEPS 256
#define WORKFLOW_MAX_FILE (1024 * 1024)

typedef struct wf_trigger {
    matcher **matchers;
    size_t n;
} wf_trigger;

typedef struct wf_step {
    char *id;
    char *action;
    char *pool;
    size_t *needs; /* indexes into workflow.steps */
    size_t nneeds;
    int64_t timeout_ms; /* 0: the action's default */
    bool continue_on_error;
    retry_policy retry; /* the step's, over the workflow's defaults */
    json_t *conditions; /* if: an array of condition strings, or NULL */
    json_t *with; /* the action's parameters, templates unrendered */
} wf_step;

typedef struct workflow {
    char *name;
    char *path;
    wf_trigger *triggers;
    size_t ntriggers;
    wf_step *steps;
    size_t nsteps;
    wf_step *resolve_steps; /* on_resolve: run once every alert of the incident resolved */
    size_t nresolve;
    char **group_by;        /* labels whose values make the incident's group key */
    size_t ngroup_by;
    int64_t group_window_ms; /* how long a group's incident takes new alerts */
    bool exclusive;          /* when it matches, no other workflow runs... */
    int64_t priority;        /* ...unless an exclusive one ranks higher */
    retry_policy retry;         /* defaults.retry */
    int64_t default_timeout_ms; /* defaults.timeout, 0 for none */
    bool allow_private;         /* allow_private_network: steps may reach private addresses */
    /* What a storage layer derives from the workflow once and keeps
     * (state/incident.c: its steps as the record script takes them);
     * workflow_free() calls cache_free(cache). */
    void *cache;
    void (*cache_free)(void *cache);
} workflow;

typedef struct workflow_set {
    workflow **items;
    size_t n;
} workflow_set;


/* Loads and validates one file. Every problem found is appended to d (the
 * loader goes on after the first, so `muster validate` can show them all).
 * Returns the workflow (caller frees with workflow_free()) or NULL when d
 * gained at least one problem. */
workflow *workflow_load_file(const char *path, wf_diag *d);

/* Loads every *.yaml, *.yml and *.json file of a directory (or one file), in
 * name order. Two workflows with one name is a problem. Returns the set
 * (caller frees with workflow_set_free()) or NULL when d has problems. */
workflow_set *workflow_load(const char *dir_or_file, wf_diag *d);

/* True when any trigger of wf has all its matchers satisfied by `fields`
 * (see alert_match_fields()). */
bool workflow_matches(const workflow *wf, const json_t *fields);

/* The workflows an alert starts: every match, unless a matching workflow is
 * exclusive; then only the exclusive match of highest priority (the first
 * in file order on a tie). Fills out (room for set->n) and returns how many. */
size_t workflow_select(const workflow_set *set, const json_t *fields, const workflow **out);

/* The incident group key of an alert for wf: "wf|fp:FINGERPRINT", or with
 * group_by "wf|g:label=value|label=value". Returns a malloc'd string. */
char *workflow_group_key(const workflow *wf, const json_t *labels, const char *fingerprint);

/* The step as the record a worker executes:
 * {"id","action","pool","timeout_ms","continue_on_error","retry","with"}. */
json_t *workflow_step_json(const workflow *wf, size_t i);

/* The same for the i-th on_resolve step. */
json_t *workflow_resolve_step_json(const workflow *wf, size_t i);

void workflow_free(workflow *wf);
void workflow_set_free(workflow_set *s);

/* Whether `action` names an action muster can run. */
bool workflow_action_known(const char *action);

#endif
