/* queue.h - step tasks in Redis Streams: lease, start, complete, outbox */
#ifndef MUSTER_QUEUE_H
#define MUSTER_QUEUE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "common/store.h"

#define QUEUE_GROUP "workers"
#define OUTBOX_GROUP "relay"

typedef struct lease_item {
    char pool[72];
    char msgid[48];
    char incident[80];
    char step[72];
} lease_item;

/* Makes sure the consumer groups of `pools` and of the outbox exist. */
int queue_prepare(store *s, char **pools, size_t npools);

/* Leases up to `max` new tasks for `consumer` from the pools' streams,
 * waiting up to block_ms (0: do not wait) when none is there. Fills out and
 * returns how many, or -1 when Redis cannot be reached. */
int queue_lease(store *s, const char *consumer, char **pools, size_t npools,
                size_t max, int block_ms, lease_item *out);

/* What start gives the action: the step definition and the template context. */
typedef struct task_run {
    json_t *def;     /* {"id","action","pool","timeout_ms","continue_on_error","with"} */
    json_t *ctx;     /* {"alert","incident","workflow","step","steps"} */
    int attempt;
} task_run;

/* Marks the leased task running. Returns 1 when the task is to be run (run
 * filled; caller frees with task_run_clear()), 0 when it must not run (it was
 * queued twice: the message is acknowledged here), -1 on a Redis error. */
int queue_task_start(store *s, const char *consumer, const lease_item *li, task_run *run,
                     char *err, size_t errlen);

void task_run_clear(task_run *run);

typedef struct task_result {
    int succeeded;       /* 1 or 0 */
    json_t *output;      /* may be NULL */
    const char *error;   /* NULL or "" when none */
    int64_t duration_ms;
} task_result;

/* Completes the task under the lease the consumer holds, in one atomic call
 * that also releases dependent steps and writes the event to the outbox.
 * Returns 0, 1 when the lease was lost (fenced: nothing was written), or -1
 * when Redis could not be reached (the task stays leased and will be
 * reclaimed). */
int queue_task_complete(store *s, const char *consumer, const lease_item *li,
                        const task_run *run, const task_result *res, char *err,
                        size_t errlen);

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
