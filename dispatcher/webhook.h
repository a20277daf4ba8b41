/* webhook.h - POST /api/v1/alerts: alerts over HTTP onto the alerts topic */
#ifndef MUSTER_WEBHOOK_H
#define MUSTER_WEBHOOK_H

#include <stddef.h>

#include "common/config.h"

/*
 * For senders that speak HTTP, not Kafka (Alertmanager, Grafana). One
 * endpoint, POST /api/v1/alerts, on intake.address:intake.port. A request
 * must carry "Authorization: Bearer <intake.token>"; its body must be one
 * message alert_decode() accepts (any supported format). The body is
 * produced to cfg->kafka_alerts_topic unchanged, and the answer waits for
 * Kafka's acknowledgement:
 *
 *   202 {"status":"accepted"}   Kafka acknowledged the body
 *   400 {"error":"<reason>"}    alert_decode() refused it, with its reason
 *   401 + WWW-Authenticate      no bearer token, or not the configured one
 *   403 + WWW-Authenticate      a token of intake.ack_tokens (insufficient_scope)
 *   404 / 405 + Allow: POST     another path / another method on the path
 *   413                         Content-Length or the body itself is over
 *                               intake.body_max (or ALERT_MAX_BYTES, or what
 *                               Kafka accepts as one message)
 *   503 + Retry-After: 5        Kafka did not acknowledge within
 *                               WEBHOOK_ACK_TIMEOUT_MS, or the intake stops
 *
 * POST /api/v1/incidents/ID/ack takes a token of intake.ack_tokens instead
 * (the intake's token gets 403) and records the acknowledgement as that
 * token's name, whatever the body says (200, 404, 503 while Redis is away).
 *
 * Bodies are JSON; one log line per refused request (never the token).
 * Delivery is at least once: a 503 after a lost acknowledgement may follow a
 * write Kafka kept, and the sender's retry then writes the body again.
 *
 * Threads: libmicrohttpd serves connections on WEBHOOK_THREADS threads; one
 * more thread owns the Kafka producer and produces one body at a time,
 * fed through a queue. A connection waiting for Kafka is suspended, so
 * refusals never wait behind a slow broker. Every request must be
 * acknowledged within WEBHOOK_ACK_TIMEOUT_MS of the moment it was queued.
 * All threads start with the asynchronous signals blocked.
 *
 * Bounds: intake.max_connections connections at once (more wait in the
 * listen backlog), at most intake.max_connections_per_ip of them from one
 * address (more are closed at once); per connection WEBHOOK_CONN_MEMORY
 * bytes for the request head plus the body, at most intake.body_max bytes
 * (and never more than ALERT_MAX_BYTES). A request's head must be complete
 * intake.header_timeout after it began and all of it intake.request_timeout
 * after, however slowly it trickles (deadline.h); a connection silent for
 * WEBHOOK_TIMEOUT_S is closed sooner.
 */

#define WEBHOOK_PATH "/api/v1/alerts"
#define WEBHOOK_THREADS 2
#define WEBHOOK_CONN_MEMORY 32768
#define WEBHOOK_TIMEOUT_S 10
#define WEBHOOK_ACK_TIMEOUT_MS 5000
#define WEBHOOK_RETRY_AFTER_S "5"

typedef struct webhook_intake webhook_intake;

/* Starts the intake on cfg->intake_address:cfg->intake_port (0: any free
 * port, see webhook_intake_port()). The token is cfg->intake_token or the
 * trimmed contents of cfg->intake_token_file (not both); without one the
 * intake does not start. cfg must outlive the intake.
 * Returns the intake (stop with webhook_intake_stop()), or NULL with err
 * filled, e.g. "intake: no bearer token (set intake.token or ...)". */
webhook_intake *webhook_intake_start(const config *cfg, char *err, size_t errlen);

/* The port the intake listens on (the chosen one when started on port 0). */
int webhook_intake_port(const webhook_intake *w);

/* Stops taking connections, lets every request queued for Kafka get its
 * answer (each within WEBHOOK_ACK_TIMEOUT_MS), closes the rest, destroys
 * the producer and frees w. webhook_intake_stop(NULL) is a no-op. */
void webhook_intake_stop(webhook_intake *w);

#endif
