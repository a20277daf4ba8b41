/* retention.h - expiry of finished incidents, in bounded slices (gc.lua) */
#ifndef MUSTER_RETENTION_H
#define MUSTER_RETENTION_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "common/config.h"
#include "state/store.h"

/* How long the gc lease lasts unless renewed by the next slice. */
#define RETENTION_LEASE_MS 10000

typedef struct retention_policy {
    int64_t incidents_ms; /* retention.incidents */
    int64_t dead_ms;      /* retention.dead */
    int64_t workers_ms;   /* retention.workers */
    size_t batch;         /* retention.batch: incidents per call */
} retention_policy;

retention_policy retention_policy_of(const config *cfg);

typedef struct retention_slice {
    int busy;           /* another holder has the lease: nothing was done */
    char holder[128];   /* when busy, who */
    long long expired;  /* incidents deleted */
    long long bytes;    /* what their keys took (MEMORY USAGE, estimated) */
    long long held;     /* due, but kept by a dead task until retention.dead */
    int more;           /* more incidents are due now */
} retention_slice;

/* One slice: takes (or renews) the gc lease for `holder`, then deletes up
 * to p->batch finished incidents whose time has come, with their keys and
 * index entries, one script call per incident (a script touches one
 * incident and the shared indexes). The slice also trims the tombstones,
 * forgets one page of workers gone for retention.workers and looks at one
 * page of incidents that finished before retention existed. Returns 0 (out
 * filled; out->busy when another holder has the lease) or -1 with err
 * filled. */
int retention_run(store *s, const retention_policy *p, const char *holder, retention_slice *out,
                  char *err, size_t errlen);

/* Gives the lease up, if `holder` has it. */
void retention_release(store *s, const char *holder);

/* One page of the dry run: up to p->batch due incidents of P:finished from
 * rank *from, each {"id", "finished_at", "action": "expire"|"keep", "until",
 * "bytes"} (keep: a dead task holds it until `until`). Changes nothing.
 * Sets *from to the rank to continue from, or -1 when no more are due.
 * Returns a new array, or NULL with err filled. */
json_t *retention_preview(store *s, const retention_policy *p, long long *from, char *err,
                          size_t errlen);

/* When `id` expired (ms), 0 when no tombstone of it is left, -1 when Redis
 * cannot be reached. */
int64_t retention_expired_at(store *s, const char *id);

/* The totals since the beginning: {"expired", "bytes"}; NULL unreachable. */
json_t *retention_totals(store *s);

#endif
