/* incident.h - incidents in Redis: record an alert, read timelines */
#ifndef MUSTER_INCIDENT_H
#define MUSTER_INCIDENT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "common/alert.h"
#include "state/store.h"
#include "common/workflow.h"

typedef enum {
    RECORD_OPENED,    /* a new incident and its workflow run */
    RECORD_JOINED,    /* the fingerprint already had an open incident */
    RECORD_RESOLVED,  /* the alert resolved its open incident */
    RECORD_IGNORED,   /* resolved, but nothing was open */
    RECORD_DUPLICATE, /* this message was recorded before (redelivery) */
} record_outcome;

/* Where the alert came from, for redelivery detection: a message's
 * partition and offset, and the alert's place in the message. topic may be
 * NULL when the alert did not come from Kafka. */
typedef struct alert_origin {
    const char *topic;
    int32_t partition;
    int64_t offset;
    size_t index;
} alert_origin;

typedef struct record_result {
    int outcome; /* record_outcome */
    char incident[64];
} record_result;

/* Records one alert in one atomic Redis call: for each of the nwfs
 * workflows it starts (see workflow_select()), joins the open incident of
 * its fingerprint or group or opens one; or resolves / acknowledges the
 * incidents holding its fingerprint. Fills up to max results and returns
 * how many, or -1 with err filled when Redis failed (nothing was written;
 * the caller retries). */
int incident_record_runs(store *s, const alert *a, const workflow *const *wfs, size_t nwfs,
                         const alert_origin *o, record_result *out, size_t max, char *err,
                         size_t errlen);

/* One alert of a batch for incident_record_batch(): what to record, and
 * where its results go. n is filled: how many results, or -1 when it was
 * not recorded. */
typedef struct record_req {
    const alert *a;
    const workflow *const *wfs;
    size_t nwfs;
    alert_origin o;
    record_result *out;
    size_t max;
    int n;
} record_req;

/* Records a batch of alerts in one round trip: one expand.lua call each,
 * pipelined, in order (so one partition's alerts keep theirs). Returns 0
 * when every call was answered (each req's n says how it went), -1 when
 * the connection failed part way (the reqs answered before it hold their
 * results; the rest have n = -1 and are recorded again by the caller:
 * redelivery detection makes that safe). */
int incident_record_batch(store *s, record_req *reqs, size_t n, char *err, size_t errlen);

/* The same for at most one workflow (NULL: none); returns the first outcome
 * and fills id (at least 64 bytes) with its incident. */
int incident_record(store *s, const alert *a, const workflow *wf, const alert_origin *o,
                    char *id, size_t idlen, char *err, size_t errlen);

const char *record_outcome_name(int outcome);

/* A person acknowledges the incident. Fills outcome ("acknowledged",
 * "already", "missing") and who acknowledged first. Returns 0 or -1 with
 * err filled. */
int incident_ack(store *s, const char *id, const char *by, const char *via, char *outcome,
                 size_t olen, char *first_by, size_t blen, char *err, size_t errlen);

/* A person resolves the open incident now, as if all its alerts resolved:
 * status resolved, incident.resolved with by and via, its on_resolve steps
 * queued. Fills outcome ("resolved", "already" when it was not open,
 * "missing") and who resolved it (for "already", whoever did, if a
 * person). Returns 0 or -1 with err filled. */
int incident_resolve(store *s, const char *id, const char *by, const char *via, char *outcome,
                     size_t olen, char *resolved_by, size_t blen, char *err, size_t errlen);

/* A short code for the incident, for a person to name it in an SMS reply
 * ("ACK 7F3K"): INCIDENT_CODE_LEN characters of Crockford's base32 (no I,
 * L, O, U) of the SHA-256 of id, so it reads aloud and types without
 * doubt. Not unique over all incidents; unique enough among one person's
 * open pages. out holds at least INCIDENT_CODE_LEN + 1 bytes. */
#define INCIDENT_CODE_LEN 4
void incident_code(const char *id, char out[INCIDENT_CODE_LEN + 1]);

/* A person marks the manual step done. Fills outcome ("done", "not manual",
 * "missing") and the step's state. Returns 0 or -1 with err filled. */
int incident_step_done(store *s, const char *id, const char *step, const char *by,
                       const char *note, char *outcome, size_t olen, char *state, size_t slen,
                       char *err, size_t errlen);

/* The newest `limit` incidents, newest first, each as
 * {"id","workflow","status","run","opened_at","summary","severity"}.
 * Returns a new array or NULL when Redis cannot be reached. */
json_t *incident_list(store *s, size_t limit);

/* One incident: its record, its tasks and its timeline of events.
 * Returns a new object, or NULL (err filled) when unknown or unreachable. */
json_t *incident_show(store *s, const char *id, char *err, size_t errlen);

/* Queue depths, tasks in flight, dead tasks, outbox, workers, incidents
 * (finished ones kept for retention, and how many expired so far). */
json_t *store_status(store *s, char *err, size_t errlen);

#endif
