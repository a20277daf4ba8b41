/* worker.h - the worker's loop: lease tasks, run actions, complete, relay */
#ifndef MUSTER_WORKER_H
#define MUSTER_WORKER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "common/config.h"
#include "common/observe.h"
#include "common/queue.h"
#include "common/store.h"

typedef struct worker worker;
typedef struct task task;

/* One action kind. start() begins the work: it returns 0 when the task is
 * under way (the action finishes it later through task_finish()), or 1 when
 * it finished at once (result set). The optional hooks let an action that
 * waits on file descriptors (exec) take part in the loop. */
typedef struct action_impl {
    const char *name;
    int (*start)(worker *w, task *t);
    /* Adds the fds this task waits on; returns how many were added. */
    int (*waitfds)(task *t, struct curl_waitfd *fds, int max);
    /* Called every turn of the loop for a task under way. */
    void (*service)(worker *w, task *t);
    /* A curl transfer the action added to the worker's multi handle ended. */
    void (*curl_done)(worker *w, task *t, CURLcode rc);
    /* Stops the work at once (shutdown); must not call task_finish(). */
    void (*abort)(worker *w, task *t);
} action_impl;

struct task {
    lease_item li;
    task_run run;
    json_t *with; /* the step's parameters, templates rendered */
    const action_impl *impl;
    void *state; /* the action's own */
    int64_t started_ms;  /* monotonic */
    int64_t timeout_ms;  /* the step's, or the action's default */
    bool done;
    task_result res;
    char error[1024];
    task *next;
};

struct worker {
    config *cfg;
    store *store;
    char consumer[160];
    char **pools;
    size_t npools;
    CURLM *multi;
    rd_kafka_t *producer;
    task *tasks;
    size_t inflight;
    volatile sig_atomic_t *stop;
    /* relay */
    char **acked;
    size_t nacked, capacked;
    size_t relay_outstanding;
    int64_t last_heartbeat;
    int64_t leader_checked; /* when the relay lease was last taken or renewed */
    int64_t last_reclaim, last_extend, last_promote; /* monotonic ms */
    bool leader;            /* this worker holds the relay lease */
    bool reclaim_all;       /* just became leader: take over every pending event */
    /* counters, for logs and /metrics later */
    uint64_t completed, failed, fenced, events_published, reclaimed, handed_back;
    /* health and /metrics */
    observe obs;
    metric_family *m_tasks, *m_http, *m_duration, *m_inflight, *m_reclaimed, *m_handed_back,
        *m_fenced, *m_events;
};

/* Sets the task's result: succeeded or not, output (ownership taken) and an
 * error message (copied; NULL for none). */
void task_finish(task *t, int succeeded, json_t *output, const char *error);

/* Builds the worker from cfg (not owned). Returns NULL with err filled. */
worker *worker_new(config *cfg, volatile sig_atomic_t *stop, char *err, size_t errlen);

/* Runs until *stop is set and in-flight tasks are done. Returns 0. */
int worker_run(worker *w);

void worker_free(worker *w);

/* The actions this worker can run, one file each under worker/actions/. */
extern const action_impl action_webhook;
extern const action_impl action_exec;
extern const action_impl action_noop;

#endif
