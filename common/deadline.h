/* deadline.h - libmicrohttpd connections that must send their request in time */
#ifndef MUSTER_DEADLINE_H
#define MUSTER_DEADLINE_H

#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

/*
 * libmicrohttpd's MHD_OPTION_CONNECTION_TIMEOUT closes a connection that
 * sends nothing for a while; one that sends a byte just before that holds
 * its slot for ever (slowloris). This gives every request two deadlines that
 * no trickle moves: its head must be complete head_ms after the request
 * began, and all of it (head and body) request_ms after. A request begins
 * when its connection is accepted, or, on a kept-alive connection, when the
 * previous one was answered. A connection past its deadline is shut down
 * (shutdown(2), so libmicrohttpd sees the end of the stream and closes it
 * itself, on its own thread) without an answer, and one log line names the
 * peer and the deadline.
 *
 * Once the handler has the whole request (deadline_body_done()) no deadline
 * applies: the answer may wait for Kafka or Redis, which have their own.
 *
 * Wiring, for a daemon started with MHD_ALLOW_SUSPEND_RESUME or not:
 *   MHD_OPTION_NOTIFY_CONNECTION, deadline_notify, d
 * and from the access handler deadline_head_done() on its first call,
 * deadline_body_done() on the call that ends the body, and from
 * MHD_OPTION_NOTIFY_COMPLETED deadline_request_done().
 *
 * Threads: one more thread watches the clocks; every function here may be
 * called from any of libmicrohttpd's threads.
 */

typedef struct deadline_watch deadline_watch;

/* Starts watching. `what` starts the log lines ("webhook intake").
 * Needs 0 < head_ms <= request_ms. Returns the watcher (free with
 * deadline_free() after MHD_stop_daemon()), or NULL with err filled. */
deadline_watch *deadline_new(const char *what, int64_t head_ms, int64_t request_ms, char *err,
                       size_t errlen);

/* Stops the thread and frees d. Every connection must be closed already
 * (MHD_stop_daemon() has returned). deadline_free(NULL) is a no-op. */
void deadline_free(deadline_watch *d);

/* MHD_OPTION_NOTIFY_CONNECTION: cls is the deadline. Tracks the connection
 * from its start to its close. */
void deadline_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                     enum MHD_ConnectionNotificationCode code);

/* The request head is complete: from now on the request deadline applies. */
void deadline_head_done(struct MHD_Connection *c);

/* The whole request is in. Returns 0, or -1 when the connection was already
 * shut down for being late (then answer nothing: return MHD_NO). */
int deadline_body_done(struct MHD_Connection *c);

/* The answer went out (or the request ended): the next request on this
 * connection starts its clocks now. */
void deadline_request_done(struct MHD_Connection *c);

#endif
