/* supervise.h - muster up's children: restarted with backoff when they crash, stopped in order */
#ifndef MUSTER_SUPERVISE_H
#define MUSTER_SUPERVISE_H

#include <stdint.h>
#include <sys/types.h>

/* A child that exits without being told to is started again after
 * SUPERVISE_FIRST_MS, doubling to SUPERVISE_MAX_MS; a child that stayed up
 * SUPERVISE_STABLE_MS starts over at the first delay. SUPERVISE_CRASHES
 * exits within SUPERVISE_WINDOW_MS make the supervisor give up. */
#define SUPERVISE_FIRST_MS 100
#define SUPERVISE_MAX_MS 5000
#define SUPERVISE_STABLE_MS 30000
#define SUPERVISE_CRASHES 5
#define SUPERVISE_WINDOW_MS 60000

typedef struct supervisor supervisor;

/* Up to `max` children. Caller frees with supervisor_free(), which stops
 * whatever still runs. */
supervisor *supervisor_new(int max);
void supervisor_free(supervisor *s);

/* Starts `argv` (argv[0] looked up in PATH; both copied) as the child
 * `name`, its stdout appended to `log_path` (NULL: this process's), in its
 * own process group so a terminal's Ctrl-C reaches the supervisor only, and
 * sent SIGTERM should the supervisor die. Children stop in `stage` order,
 * lowest first. Returns the child's index, or -1 with `err` filled when it
 * cannot be run at all. */
int supervisor_start(supervisor *s, const char *name, const char *const argv[], const char *log_path,
                     int stage, char *err, size_t errlen);

/* The child's pid now; -1 while it waits to be restarted. */
pid_t supervisor_pid(const supervisor *s, int child);

/* Reaps children that exited and restarts those whose delay is over,
 * logging each on stderr. Returns 0, or -1 when a child keeps crashing
 * (said on stderr); then the caller stops the rest. Call it often (every
 * 100 ms); it does not block. */
int supervisor_tick(supervisor *s);

/* Stops the children stage by stage: SIGTERM to a stage's children, up to
 * grace_ms for them to exit, then SIGKILL. No child is restarted after. */
void supervisor_stop(supervisor *s, int64_t grace_ms);

#endif
