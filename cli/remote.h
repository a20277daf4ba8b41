/* remote.h - the muster command through muster-api, when api.url and api.token are set */
#ifndef MUSTER_CLI_REMOTE_H
#define MUSTER_CLI_REMOTE_H

#include <jansson.h>

#include "common/config.h"

/* Whether the command goes through muster-api: api.url (MUSTER_API_URL)
 * and api.token (MUSTER_API_TOKEN) are both set. */
int remote_on(const config *cfg);

/* Sends method path (under api.url, e.g. "/api/v1/status") with body (a
 * JSON object, or NULL) and the bearer token, and reads the answer (at most
 * 64 MiB, 30 s). Returns the answer's JSON and its status in *status
 * (caller frees), or NULL when there is none: then a line on stderr,
 * "muster CMD: ...", says why (the API's "error" for a 4xx or 5xx, which
 * *status still carries; 0 for no answer at all). */
json_t *remote_call(const config *cfg, const char *cmd, const char *method, const char *path,
                    const json_t *body, long *status);

/* Percent-encodes s for a path segment or query value into out. */
void remote_escape(const char *s, char *out, size_t len);

/* The newest incident's id into buf ("latest"). Returns 0, or -1 (said). */
int remote_latest(const config *cfg, const char *cmd, char *buf, size_t len);

/* GET /api/v1/incidents/ID in the shape of incident_show(): {"incident"
 * (its alert, step names and the record's fields as text), "tasks",
 * "timeline"}, so one printer serves both. NULL when it failed (said). */
json_t *remote_incident_show(const config *cfg, const char *cmd, const char *id, long *status);

#endif
