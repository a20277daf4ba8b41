/* action_run.h - runs one action outside the queue, the way a worker does */
#ifndef MUSTER_ACTION_RUN_H
#define MUSTER_ACTION_RUN_H

#include <stdbool.h>
#include <jansson.h>

#include "common/config.h"
#include "worker/worker.h"

#define ACTION_TEST_INCIDENT "inc-0001"

typedef struct action_env {
    config cfg;
    worker *w;
} action_env;

/* A worker with default settings, no Kafka, and the store at redis_port
 * (0: none, so the memo is off). http.allow_private stays 0: tests pass
 * allow_private per task, as a workflow would. */
int action_env_init(action_env *e, int redis_port);
void action_env_free(action_env *e);

/* Builds a task of step `step` running `action` with `with` (taken; its
 * templates are rendered against a small alert, as a worker would). The
 * incident is ACTION_TEST_INCIDENT unless incident is given. */
task *action_task(const char *incident, const char *step, const char *action, json_t *with,
                  bool allow_private);

/* Runs it to the end (at most 15 s). Returns 0 when it finished. */
int action_run(action_env *e, task *t);

/* Forgets what actions kept for the incident (its memo hash), as if the
 * worker had died before writing it. Returns 0, or -1 without Redis. */
int action_memo_wipe(action_env *e, const char *incident);

/* The task's output member at a dotted path, or NULL. */
json_t *action_output(const task *t, const char *path);

#endif
