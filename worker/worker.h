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
#include "state/queue.h"
#include "common/secret.h"
#include "state/store.h"

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
    secret_set secrets;  /* the values resolved for this run, to scrub */
    bool done;
    bool sent; /* its result is in the turn Redis is running now */
    task_result res;
    char error[1024];
    task *next;
};

struct worker {
    config *cfg;
    store *store;
    /* The turns' own connection (turn.lua): one turn is in Redis while the
     * worker begins the tasks of the one before, so nothing else may use
     * it while a turn is out (struct pending_turn). */
    store *tstore;
    struct pending_turn *pt;
    lease_item claimed[256]; /* taken over (housekeeping), started by the next turn */
    size_t nclaimed;
    char consumer[160];
    char **pools;
    size_t npools;
    CURLM *multi;
    rd_kafka_t *producer;
    task *tasks;
    size_t inflight;
    volatile sig_atomic_t *stop;
    /* relay (worker/relay.c) */
    char **acked;
    size_t nacked, capacked;
    size_t relay_outstanding;
    int64_t last_heartbeat;
    int64_t leader_checked; /* when the relay lease was last taken or renewed */
    int64_t last_reclaim, last_extend, last_promote; /* monotonic ms */
    int64_t last_outbox_reclaim; /* monotonic ms */
    bool leader;            /* this worker holds the relay lease */
    bool reclaim_all;       /* just became leader: take over every pending event */
    /* step definitions by SHA-256, as Redis keeps them once per workflow
     * version (P:defs): read once, shared by every task of the step */
    struct def_cache *defs;
    /* retention (gc.lua): when this worker last looked, and whether more
     * incidents were due then (the next slice does not wait) */
    int64_t last_gc;
    bool gc_backlog;
    /* counters, for logs and /metrics later */
    uint64_t completed, failed, fenced, events_published, reclaimed, handed_back;
    uint64_t turns, turn_started, turn_completed; /* turns with Redis, and what they did */
    /* health and /metrics */
    observe obs;
    metric_family *m_tasks, *m_http, *m_duration, *m_inflight, *m_reclaimed, *m_handed_back,
        *m_fenced, *m_events, *m_gc_expired, *m_gc_bytes, *m_gc_slices;
};

/* Sets the task's result: succeeded or not, output (ownership taken) and an
 * error message (copied; NULL for none). */
void task_finish(task *t, int succeeded, json_t *output, const char *error);

/* Begins a task whose run is filled: finds the action, checks if:, renders
 * the templates, resolves the secrets and starts the action (or finishes the
 * task with the reason it cannot run). */
void task_begin(worker *w, task *t);

/* Frees a task (aborting its action when still under way). */
void task_free(worker *w, task *t);

/* The incident's memo: what an action keeps for the incident's later steps
 * (a ticket key, a chat thread). Get returns 1 and fills buf, 0 when not
 * set, -1 without Redis. Set returns 0 or -1. */
int task_memo_get(worker *w, const task *t, const char *name, char *buf, size_t len);
int task_memo_set(worker *w, const task *t, const char *name, const char *value);

/* Fails the task permanently (a bad parameter, nothing a retry can fix)
 * with a printf-style message. Returns 1, what start() returns for a task
 * finished at once. */
int task_refuse(task *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The memo entry key as a JSON object having `member` (NULL: any object),
 * or NULL. Put stores v there (a failure is logged: the vendor already
 * acted, so the step does not fail for it). */
json_t *task_memo_json(worker *w, const task *t, const char *key, const char *member);
void task_memo_put(worker *w, const task *t, const char *key, const json_t *v);

/* Sends that must happen once per step (a page, a message). Before sending:
 * when the memo holds this step's earlier result under key, finishes the
 * task with it marked "deduplicated": true and returns 1; when Redis is
 * configured but does not answer, fails the task (retried) and returns 1
 * rather than send blind; else returns 0. After the vendor accepted:
 * keeps out under key and succeeds with it (taken), "deduplicated": false.
 * `what` names the action in the message of an unreadable memo. A crash
 * between the vendor's answer and the memo write still sends twice: at
 * least once, not exactly once. */
int task_sent_before(worker *w, task *t, const char *what, const char *key);
void task_sent_now(worker *w, task *t, const char *key, json_t *out);

/* A worker without Kafka, health endpoints or a queue, for running single
 * tasks (tests, trying a step); store may be NULL (no memo), else it is
 * the worker's: worker_free() closes it. */
worker *worker_new_local(config *cfg, store *s);

/* Runs t (its run filled) alone on a local worker through task_begin() and
 * the loop until it is done or max_ms passed. Returns 0 when done, -1 on
 * time out (the action is aborted). The result is in t->res. */
int worker_run_one(worker *w, task *t, int64_t max_ms);

/* The relay (worker/relay.c): one worker at a time, holding the relay
 * lease, publishes the outbox to the events topic. relay() does one turn;
 * relay_flush() delivers what is in flight before the worker stops. The
 * delivery report callback is relay_dr (the producer's opaque is w). */
void relay(worker *w);
void relay_flush(worker *w);
void relay_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);

/* Builds the worker from cfg (not owned). Returns NULL with err filled. */
worker *worker_new(config *cfg, volatile sig_atomic_t *stop, char *err, size_t errlen);

/* Runs until *stop is set and in-flight tasks are done. Returns 0. */
int worker_run(worker *w);

void worker_free(worker *w);

/* Who is on call on every schedule of the on-call set in Redis, for
 * oncall.SCHEDULE.* templates: {SCHEDULE: {id, name, slack, phone, email}}
 * ({} for nobody). NULL when there is no set. Caller frees. */
json_t *page_oncall_context(worker *w);

/* The actions this worker can run, one file each under worker/actions/. */
extern const action_impl action_webhook;
extern const action_impl action_page;
extern const action_impl action_exec;
extern const action_impl action_noop;
extern const action_impl action_http_check;
extern const action_impl action_tcp_check;
extern const action_impl action_jira;
extern const action_impl action_servicenow;
extern const action_impl action_github;
extern const action_impl action_slack;
extern const action_impl action_teams;
extern const action_impl action_twilio;
extern const action_impl action_twilio_call;
extern const action_impl action_email;
extern const action_impl action_pagerduty;

#endif
