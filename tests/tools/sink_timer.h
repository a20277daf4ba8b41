/* sink_timer.h - muster-sink's delay queue: runs delayed jobs on one thread when due */
#ifndef MUSTER_SINK_TIMER_H
#define MUSTER_SINK_TIMER_H

#include <microhttpd.h>

struct sink_timer;

/* Starts the timer thread. Returns 0, or -1 with err filled. The daemon
 * whose connections it resumes must outlive sink_timer_stop(). Caller frees
 * with sink_timer_free(). */
int sink_timer_new(struct sink_timer **out, char *err, size_t errlen);

/* Schedules MHD_resume_connection(conn) in delay_ms milliseconds. conn
 * must already be suspended by the caller (an MHD access handler). Safe
 * from any thread. Returns 0, or -1 when the timer is stopping or its queue
 * is full; the caller then resumes conn itself. */
int sink_timer_add(struct sink_timer *timer, struct MHD_Connection *conn,
                   unsigned long delay_ms);

/* A job for sink_timer_call(). Runs on the timer thread; cancelled is 1
 * when the timer is stopping, and the job must then only clean up. The job
 * owns arg and frees it either way. */
typedef void (*sink_timer_fn)(void *arg, int cancelled);

/* Schedules fn(arg, 0) in delay_ms milliseconds. Safe from any thread.
 * Returns 0, or -1 when the timer is stopping or its queue is full (arg is
 * then still the caller's). */
int sink_timer_call(struct sink_timer *timer, sink_timer_fn fn, void *arg,
                    unsigned long delay_ms);

/* Resumes every queued connection at once, cancels the other jobs, ends the thread and waits for
 * it; later sink_timer_add() calls fail. Call before MHD_stop_daemon(),
 * which must not meet a suspended connection. Idempotent. */
void sink_timer_stop(struct sink_timer *timer);

/* Stops the timer if need be and frees it; sink_timer_free(NULL) is a no-op. */
void sink_timer_free(struct sink_timer *timer);

#endif
