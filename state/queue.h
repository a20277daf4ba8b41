/* queue.h - step tasks in Redis Streams: lease, start, complete, outbox */
#ifndef MUSTER_QUEUE_H
#define MUSTER_QUEUE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "state/store.h"

#define QUEUE_GROUP "workers"
#define OUTBOX_GROUP "relay"

typedef struct lease_item {
    char pool[72];
    char msgid[48];
    char incident[80];
    char step[192]; /* a page's notification task: page#2.alice.sms */
} lease_item;

/* Makes sure the consumer groups of `pools` and of the outbox exist. */
int queue_prepare(store *s, char **pools, size_t npools);

/* Adds pools to the set of known pools (P:pools), which `muster status`
 * lists instead of scanning the keyspace. Workers register theirs in
 * queue_prepare(), the dispatcher those of its workflows. Returns 0 or -1. */
int queue_register(store *s, char *const *pools, size_t npools);

/* Leases up to `max` new tasks for `consumer` from the pools' streams,
 * waiting up to block_ms (0: do not wait) when none is there. Fills out and
 * returns how many, or -1 when Redis cannot be reached. */
int queue_lease(store *s, const char *consumer, char **pools, size_t npools,
                size_t max, int block_ms, lease_item *out);

/* What start gives the action: the step definition and the template
 * context (built by task_context(), common/context.h). */
typedef struct task_run {
    json_t *def;     /* {"id","action","pool","timeout_ms","continue_on_error","with"} */
    json_t *ctx;     /* {"alert","incident","workflow","step","steps"} */
    int attempt;
} task_run;

/* What the start transition read for one task, as Redis holds it. The
 * definition is either inline (def_text) or named by defsha (P:defs; see
 * queue_def()). alert_text is NULL and steps empty when the step's
 * templates read no incident context (its ctx field). */
typedef struct task_facts {
    lease_item li;
    int attempt;
    char defsha[72];
    char *def_text;
    char workflow[128];
    char *alert_text;
    char fingerprint[160];
    char opened_at[24];
    json_t *steps; /* {"name": {"status", "output"?, "error"?}}, never NULL once filled */
} task_facts;
void task_facts_clear(task_facts *f);

/* Takes over, for `consumer`, entries of the pools' streams that other
 * consumers leased more than idle_ms ago and never completed (their worker
 * died or stalled). Fills out like queue_lease(); start them the same way. */
int queue_reclaim(store *s, const char *consumer, char **pools, size_t npools, size_t max,
                  int64_t idle_ms, lease_item *out);

/* The single-task forms of the turn, for tools and tests: start one
 * leased task (its definition fetched, its context built), or complete
 * one (its backoff computed here). Marks the leased task running. Returns 1 when the task is to be run (run
 * filled; caller frees with task_run_clear()), 0 when it must not run (a
 * stale or duplicate entry, or a poison task now buried: the entry is
 * acknowledged), -1 on a Redis error. */
int queue_task_start(store *s, const char *consumer, const lease_item *li, task_run *run,
                     char *err, size_t errlen);

void task_run_clear(task_run *run);

typedef struct task_result {
    int succeeded;       /* 1 or 0 */
    json_t *output;      /* may be NULL */
    const char *error;   /* NULL or "" when none */
    int64_t duration_ms;
    int permanent;           /* a failure that no retry can fix (HTTP 4xx...) */
    int skipped;             /* its if: did not hold: nothing ran */
    int64_t retry_after_ms;  /* the server asked us to wait this long; 0: no */
    char *page_plan;         /* a page step's level to arm (paging.h), or NULL; the task's */
} task_result;

/* One finished attempt for queue_turn(). delay_ms is the wait before the
 * next attempt, which the caller computed (backoff) for a failure. outcome
 * and detail are filled by the turn. */
enum { TURN_DONE, TURN_RETRYING, TURN_DEAD, TURN_FENCED };
typedef struct turn_done {
    const lease_item *li;
    const char *workflow;
    const char *action;
    int attempt;
    const task_result *res;
    int64_t delay_ms;
    int outcome;
    char detail[64];
} turn_done;

/* One turn of a worker, in one script call (turn.lua): completes the
 * ndone finished attempts (each fenced by the consumer's lease), starts the
 * nentries entries the caller leased or took over, then leases up to
 * lease_max new entries of the pools and starts them too. Fills started
 * (up to cap; entries beyond stay leased and are taken over later) and
 * *nstarted with the tasks to run (caller clears each with
 * task_facts_clear()). Returns 0, or -1 with err filled when Redis failed:
 * the caller keeps its results and tries again; what it leased is taken
 * over once the lease lapses. */
int queue_turn(store *s, const char *consumer, char **pools, size_t npools, size_t lease_max,
               turn_done *done, size_t ndone, const lease_item *entries, size_t nentries,
               task_facts *started, size_t cap, size_t *nstarted, char *err, size_t errlen);

/* queue_turn() in two halves, so that the worker begins one turn's tasks
 * while Redis runs the next: queue_turn_send() sends the call and returns
 * it (NULL with err filled when it could not be sent); queue_turn_recv()
 * reads its reply (nothing else may be sent on s in between), fills done's
 * outcomes (done must be the array sent) and started, and frees the call.
 * A reply that says Redis forgot its scripts is retried once, loading
 * them. lease_max must leave room in cap for the entries. */
typedef struct turn_call turn_call;
turn_call *queue_turn_send(store *s, const char *consumer, char **pools, size_t npools,
                           size_t lease_max, const turn_done *done, size_t ndone,
                           const lease_item *entries, size_t nentries, char *err, size_t errlen);
int queue_turn_recv(store *s, turn_call *c, turn_done *done, task_facts *started, size_t cap,
                    size_t *nstarted, char *err, size_t errlen);
/* Frees a call whose reply will never be read (its connection is closed
 * next). NULL is fine. */
void queue_turn_drop(turn_call *c);

/* A step definition stored once per workflow version (P:defs), by its
 * SHA-256. Returns a new reference, or NULL (err filled) when Redis does
 * not have it or cannot be reached. */
json_t *queue_def(store *s, const char *defsha, char *err, size_t errlen);

/* The data of a task.succeeded / task.failed event (docs/events.md), as
 * JSON text (caller frees). */
char *task_event_data(const char *incident, const char *workflow, const char *step,
                      const char *action, int attempt, const task_result *res);

/* Completes the attempt under the lease the consumer holds, in one atomic
 * call that also releases dependent steps, or schedules the next attempt
 * after the step's backoff (a retryable failure with attempts left), or
 * buries the task, and writes the events to the outbox.
 * Returns 0, 1 when the lease was lost (fenced: nothing was written), or -1
 * when Redis could not be reached (the task stays leased and will be
 * reclaimed). */
int queue_task_complete(store *s, const char *consumer, const lease_item *li,
                        const task_run *run, const task_result *res, char *err,
                        size_t errlen);

/* Now as the scripts take it: ms, RFC 3339, and a fresh event id base. */
void queue_now_args(char *ms, size_t mslen, char *rfc, size_t rfclen, char *evbase,
                    size_t evlen);

/* Moves up to `max` retries that are due back to their queues. Returns how
 * many, or -1. */
int queue_promote(store *s, size_t max);

/* Renews the lease on a running task. Returns 1, 0 when the lease is no
 * longer ours, -1 on a Redis error. */
int queue_extend(store *s, const char *consumer, const lease_item *li);

/* Gives a running task back (a stopping worker). Returns 1, 0 when the
 * lease was no longer ours, -1. */
int queue_handback(store *s, const char *consumer, const lease_item *li);

/* Replays the task `incident`/`step`: see replay.lua. Fills outcome
 * ("replayed", "would replay", "refused", "missing") and the task's state
 * before. Returns 0 or -1 with err filled. */
int queue_replay(store *s, const char *incident, const char *step, int force, int dry_run,
                 const char *by, char *outcome, size_t olen, char *state, size_t slen,
                 char *err, size_t errlen);

/* Dead tasks, newest first: [{"task","incident","step","workflow","action",
 * "attempts","error","reason","died_at","def"}]. NULL when unreachable. */
json_t *queue_dead_list(store *s, size_t limit);

typedef struct outbox_item {
    char id[48];
    char *key;   /* incident id */
    char *event; /* CloudEvents JSON */
} outbox_item;

/* Reads up to max events for the relay `consumer`, first any that a dead
 * relay left pending for longer than reclaim_ms, then new ones. Returns the
 * count (items owned by the caller, freed with outbox_items_free()), or -1. */
int outbox_read(store *s, const char *consumer, size_t max, int64_t reclaim_ms,
                outbox_item *out);

void outbox_items_free(outbox_item *items, size_t n);

/* Acknowledges and deletes published events. */
int outbox_ack(store *s, char **ids, size_t n);

#endif
