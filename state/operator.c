/* operator.c - what a person does to an incident or a task, each done and audited */
#include "state/operator.h"

#include <stdio.h>
#include <string.h>

#include "state/audit.h"
#include "state/incident.h"
#include "common/log.h"
#include "state/queue.h"

static void audit(store *s, const operator_ctx *o, const char *action, const char *incident,
                  const char *task, const char *outcome) {
    char err[512];
    audit_entry e = {.action = action, .incident = incident, .task = task, .by = o->by,
                     .via = o->via, .remote = o->remote, .outcome = outcome};
    log_ctx lc = {incident, NULL, NULL};
    if (audit_record(s, &e, o->audit_max, NULL, NULL, 0, err, sizeof(err)) < 0)
        mlog(LOG_ERROR, &lc, "%s by %s (%s) was done but not audited: %s", action, o->by,
             outcome, err);
}

int operator_ack(store *s, const operator_ctx *o, const char *incident, char *outcome,
                 size_t olen, char *first_by, size_t blen, char *err, size_t errlen) {
    if (incident_ack(s, incident, o->by, o->via, outcome, olen, first_by, blen, err, errlen) < 0)
        return -1;
    if (strcmp(outcome, "missing") != 0) audit(s, o, "ack", incident, NULL, outcome);
    return 0;
}

int operator_resolve(store *s, const operator_ctx *o, const char *incident, char *outcome,
                     size_t olen, char *resolved_by, size_t blen, char *err, size_t errlen) {
    if (incident_resolve(s, incident, o->by, o->via, outcome, olen, resolved_by, blen, err,
                         errlen) < 0)
        return -1;
    if (strcmp(outcome, "missing") != 0) audit(s, o, "resolve", incident, NULL, outcome);
    return 0;
}

int operator_step_done(store *s, const operator_ctx *o, const char *incident, const char *step,
                       const char *note, char *outcome, size_t olen, char *state, size_t slen,
                       char *err, size_t errlen) {
    char task[320];
    if (incident_step_done(s, incident, step, o->by, note, outcome, olen, state, slen, err,
                           errlen) < 0)
        return -1;
    snprintf(task, sizeof(task), "%s/%s", incident, step);
    if (!strcmp(outcome, "done")) audit(s, o, "done", incident, task, outcome);
    return 0;
}

int operator_note(store *s, const operator_ctx *o, const char *incident, const char *text,
                  char *outcome, size_t olen, char *err, size_t errlen) {
    int missing = 0;
    if (!text || !*text) {
        snprintf(err, errlen, "a note needs text");
        return -1;
    }
    audit_entry e = {.action = "note", .incident = incident, .by = o->by, .via = o->via,
                     .remote = o->remote, .outcome = "noted", .note = text};
    if (audit_record(s, &e, o->audit_max, &missing, NULL, 0, err, errlen) < 0) return -1;
    snprintf(outcome, olen, "%s", missing ? "missing" : "noted");
    return 0;
}

int operator_replay(store *s, const operator_ctx *o, const char *task, int force, int dry_run,
                    char *outcome, size_t olen, char *state, size_t slen, int *bad_ref,
                    char *err, size_t errlen) {
    char incident[128];
    const char *slash = strrchr(task, '/');
    *bad_ref = 0;
    if (!slash || slash == task || !slash[1] || (size_t)(slash - task) >= sizeof(incident)) {
        *bad_ref = 1;
        snprintf(err, errlen, "\"%.128s\" is not INCIDENT/STEP", task);
        return -1;
    }
    snprintf(incident, sizeof(incident), "%.*s", (int)(slash - task), task);
    if (queue_replay(s, incident, slash + 1, force, dry_run, o->by, outcome, olen, state, slen,
                     err, errlen) < 0)
        return -1;
    if (!dry_run && !strcmp(outcome, "replayed"))
        audit(s, o, force ? "replay-force" : "replay", incident, task, outcome);
    return 0;
}

json_t *operator_replay_select(store *s, const char *incident, const char *wf_name, size_t max,
                               int *more) {
    json_t *dead = queue_dead_list(s, max + 1), *out, *d;
    size_t i;
    *more = 0;
    if (!dead) return NULL;
    out = json_array();
    json_array_foreach(dead, i, d) {
        const char *inc = json_string_value(json_object_get(d, "incident"));
        const char *wf = json_string_value(json_object_get(d, "workflow"));
        if (incident && (!inc || strcmp(inc, incident) != 0)) continue;
        if (wf_name && (!wf || strcmp(wf, wf_name) != 0)) continue;
        if (json_array_size(out) == max) {
            *more = 1;
            break;
        }
        json_array_append(out, d);
    }
    if (json_array_size(dead) > max) *more = 1;
    json_decref(dead);
    return out;
}
