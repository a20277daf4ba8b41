/* api.h - muster-api: the operators' HTTP API, its live updates and the console */
#ifndef MUSTER_API_H
#define MUSTER_API_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include <jansson.h>
#include <microhttpd.h>

#include "common/access.h"
#include "common/config.h"
#include "common/deadline.h"
#include "common/metrics.h"
#include "state/store.h"

#define API_PREFIX "/api/v1/"
#define API_SSE_KEEPALIVE_MS 15000 /* a comment line this often on a quiet stream */
#define API_SSE_BATCH 100          /* outbox entries read at once */
#define API_RETRY_AFTER_S "2"

typedef struct api api;

/* One request once routed: who made it and what it carries. The store is
 * the request's alone (from the pool) until it is answered. */
typedef struct api_call {
    api *a;
    struct MHD_Connection *c;
    const access_token *who;
    const char *peer;
    const char *body; /* NUL-terminated, len bytes; "" for none */
    size_t len;
    store *s;
    /* Path parameters: the incident of /incidents/{id}/..., the task of
     * /tasks/{incident}/{step}/replay. */
    char id[128];
    char task[320];
    /* The answer: status and a JSON body (owned; NULL for an empty one). */
    unsigned status;
    json_t *answer;
    struct MHD_Response *response; /* instead of answer: a stream (events.c) */
} api_call;

/* Starts muster-api on api.address:api.port with the tokens of
 * api.tokens_file. Returns it (stop with api_stop()) or NULL with err. */
api *api_start(const config *cfg, char *err, size_t errlen);

/* The port it listens on (the chosen one for api.port 0). */
int api_port(const api *a);

/* Ends the event streams, closes every connection and frees a. */
void api_stop(api *a);

/* ---- for the route handlers (routes.c, events.c) ---- */

const config *api_config(const api *a);

/* Whether api_stop() has begun: event streams end. */
int api_stopping(const api *a);

/* A store from the pool (connecting one when none is idle), or NULL with
 * err; give it back with api_store_put(). Any thread. */
store *api_store_get(api *a, char *err, size_t errlen);
void api_store_put(api *a, store *s);

/* Sets the call's answer: {"error": message} (and "field" when not NULL). */
void api_fail(api_call *k, unsigned status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The request's body as a JSON object ({} for an empty body), or NULL with
 * the answer set to 400. */
json_t *api_body_object(api_call *k);

/* A query parameter, or NULL. */
const char *api_query(const api_call *k, const char *key);

/* The routes (routes.c): each fills k->status and k->answer. */
void route_incidents(api_call *k);
void route_incident(api_call *k);
void route_ack(api_call *k);
void route_resolve(api_call *k);
void route_note(api_call *k);
void route_dead(api_call *k);
void route_replay(api_call *k);
void route_replay_bulk(api_call *k);
void route_status(api_call *k);
void route_oncall(api_call *k);
void route_kpi(api_call *k);
void route_audit(api_call *k);
void route_whoami(api_call *k);
/* events.c: sets k->response to the Server-Sent Events stream. */
void route_events(api_call *k);

/* The operator context of a call: by the token's holder, via "api", from
 * the peer. */
struct operator_ctx;
void api_operator(const api_call *k, struct operator_ctx *o);

#endif
