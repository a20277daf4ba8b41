/* operator.h - what a person does to an incident or a task, each done and audited */
#ifndef MUSTER_OPERATOR_H
#define MUSTER_OPERATOR_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "state/store.h"

/* Who acts, through what, from where, and how many audit entries are kept
 * (audit.max_entries). The API and the muster command fill one each. */
typedef struct operator_ctx {
    const char *by;     /* a token's holder, the OS user */
    const char *via;    /* "api", "cli" */
    const char *remote; /* the client's address, or NULL */
    int64_t audit_max;
} operator_ctx;

/*
 * Each of these runs the state change through the function every caller
 * uses (incident_ack(), incident_resolve(), queue_replay()), then records
 * it (audit_record(): an operator.action event and an entry in P:audit)
 * when it found its incident or task. outcome is the state change's
 * ("acknowledged", "already", "missing"; "resolved", ...; "replayed",
 * "would replay", "refused", "missing"). A failure to audit after the change
 * is logged, not returned: the change is done and must not be repeated.
 * Each returns 0, or -1 with err filled when Redis failed.
 */
int operator_ack(store *s, const operator_ctx *o, const char *incident, char *outcome,
                 size_t olen, char *first_by, size_t blen, char *err, size_t errlen);

int operator_resolve(store *s, const operator_ctx *o, const char *incident, char *outcome,
                     size_t olen, char *resolved_by, size_t blen, char *err, size_t errlen);

/* Marks the manual step `step` done (incident_step_done(), note kept in
 * the timeline); outcome "done", "not manual" (state says what it is) or
 * "missing". Audited as "done" when it was done. */
int operator_step_done(store *s, const operator_ctx *o, const char *incident, const char *step,
                       const char *note, char *outcome, size_t olen, char *state, size_t slen,
                       char *err, size_t errlen);

/* A note: an incident.note event in the timeline and on the outbox, and
 * the audit entry, in one call. outcome "noted" or "missing". Text must be
 * 1 to AUDIT_NOTE_MAX bytes (else -1, err says so). */
int operator_note(store *s, const operator_ctx *o, const char *incident, const char *text,
                  char *outcome, size_t olen, char *err, size_t errlen);

/* Replays task "INCIDENT/STEP" (dry_run: only says what it would do; not
 * audited). A task that is not INCIDENT/STEP is -1 with *bad_ref set. state
 * is the task's state before. */
int operator_replay(store *s, const operator_ctx *o, const char *task, int force, int dry_run,
                    char *outcome, size_t olen, char *state, size_t slen, int *bad_ref,
                    char *err, size_t errlen);

/* The dead tasks a bulk replay takes: those of `incident`, of workflow `wf_name`'s
 * incidents, or (both NULL) all; newest first, at most max (*more set when
 * there were more). Returns the list of queue_dead_list() entries, or NULL
 * when Redis cannot be reached. */
json_t *operator_replay_select(store *s, const char *incident, const char *wf_name, size_t max,
                               int *more);

#endif
