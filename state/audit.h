/* audit.h - the record of what operators did: operator.action events and P:audit */
#ifndef MUSTER_AUDIT_H
#define MUSTER_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "state/store.h"

/* Longest note text in bytes. */
#define AUDIT_NOTE_MAX 4096

/* One operator action: what (ack, resolve, note, replay, done, override),
 * on which incident and task ("INCIDENT/STEP" or NULL) or, for an
 * override, which schedule and override (incident NULL), by whom
 * (a token's holder, the OS user), through what (api, cli), from where (a
 * peer address or NULL), and how it came out (acknowledged, already, ...). */
typedef struct audit_entry {
    const char *action;
    const char *incident;
    const char *task;
    const char *by;
    const char *via;
    const char *remote;
    const char *outcome;
    const char *note; /* action "note" only: the text, at most AUDIT_NOTE_MAX bytes */
    const char *schedule; /* an action on a schedule: its id (incident NULL) */
    const char *override; /* the override's id, or NULL */
} audit_entry;

/* Records e in one atomic call (state/lua/operator.lua): an
 * operator.action event on the outbox and an entry in the stream P:audit,
 * trimmed to about `kept` entries (audit.max_entries). For action "note" it
 * first appends incident.note to the outbox and the incident's timeline,
 * and fills *missing with 1 when the incident does not exist (then nothing
 * is written). The action it records ran before, in its own call: a crash in
 * between leaves the action done and not audited. Fills event_id (at least
 * 64 bytes, may be NULL) with the operator.action event's id.
 * Returns 0, or -1 with err filled. */
int audit_record(store *s, const audit_entry *e, int64_t kept, int *missing, char *event_id,
                 size_t idlen, char *err, size_t errlen);

/* The audit entries from since_ms (wall clock; 0: the oldest kept) on,
 * newest first, at most limit: [{"id","time","action","incident","task"?,
 * "by","via","remote"?,"outcome"}]. Returns a new array, or NULL with err
 * filled. */
json_t *audit_list(store *s, int64_t since_ms, size_t limit, char *err, size_t errlen);
/* (entries of a schedule's action carry "schedule" and "override" instead
 * of "incident") */

#endif
