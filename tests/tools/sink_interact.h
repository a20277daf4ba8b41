/* sink_interact.h - muster-sink's then_interact: a signed Slack button click sent after a hit */
#ifndef MUSTER_SINK_INTERACT_H
#define MUSTER_SINK_INTERACT_H

#include <stdatomic.h>
#include <stddef.h>

#include <jansson.h>

#include "sink_log.h"

#define SINK_RESPONSE_PATH "/_sink/slack/response" /* the response_url it hands out */
#define SINK_INTERACT_TIMEOUT_MS 5000              /* one press, bounded */
#define SINK_INTERACT_PRESSES 5                    /* presses while unanswered or 5xx */

/* One rule's "then_interact" object, as loaded from the routes file. */
struct sink_interact;

/* Counters for GET /_sink/stats, shared by every rule of one server. */
struct sink_interact_stats {
    atomic_ulong scheduled; /* clicks queued on the timer */
    atomic_ulong answered;  /* of which got an HTTP status back */
    atomic_ulong failed;    /* of which got none: no secret, refused, timed out, stopping */
    atomic_ulong skipped;   /* hits whose request held no such button */
    atomic_int last_status; /* status of the latest answer, 0 before any */
};

/* What a click needs from the server that sends it; everything borrowed
 * and outliving the server's timer. */
struct sink_interact_ctx {
    struct sink_log *log;              /* NULL: no log */
    struct sink_interact_stats *stats;
    const char *response_url;          /* the sink's own SINK_RESPONSE_PATH */
};

/* A click ready to be sent; owned by whoever holds it until
 * sink_interact_send() runs. */
struct sink_interact_job;

/* Loads spec (the value of "then_interact"; format in docs/sink.md). The
 * URL must be http on a loopback host; the signing secret's variable must
 * be set, though its value is read only when a click is sent. On failure
 * returns -1 with err naming where (the file and rule) and the field.
 * Caller frees with sink_interact_free(). */
int sink_interact_load(const json_t *spec, const char *where, struct sink_interact **out,
                       char *err, size_t errlen);

/* sink_interact_free(NULL) is a no-op. */
void sink_interact_free(struct sink_interact *ia);

/* How long after the hit the click is sent. */
unsigned long sink_interact_delay(const struct sink_interact *ia);

/* Looks at one hit of rule route, answered normally: body is the request
 * body (a chat.postMessage JSON), reply the body the sink answers with (its
 * "ts" becomes the message's). Returns a job in *job when this hit is
 * clicked; NULL when only_channel or after_hits pass it over, or when the
 * request holds no such button (then logged and counted as skipped).
 * Safe from any thread. Returns 0, or -1 when memory runs out. */
int sink_interact_prepare(struct sink_interact *ia, int route, const char *body, size_t len,
                          const char *reply, size_t reply_len, const struct sink_interact_ctx *ctx,
                          struct sink_interact_job **job);

/* A sink_timer_fn: signs the click with the secret as it is now, POSTs it
 * (each press bounded by SINK_INTERACT_TIMEOUT_MS; pressed again, a second
 * later and signed anew, while there is no answer or a 5xx, at most
 * SINK_INTERACT_PRESSES times, as a person presses again), logs and counts the answer, and frees
 * job. With cancelled it only logs, counts and frees. Blocks its thread
 * for up to the timeout. */
void sink_interact_send(void *job, int cancelled);

/* Frees a job that was never handed to the timer; NULL is a no-op. */
void sink_interact_job_free(struct sink_interact_job *job);

/* A new JSON object of the counters; NULL when memory runs out. */
json_t *sink_interact_stats_json(struct sink_interact_stats *stats);

#endif
