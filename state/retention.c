/* retention.c - expiry of finished incidents, in bounded slices (gc.lua) */
#include "state/retention.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

retention_policy retention_policy_of(const config *cfg) {
    retention_policy p = {cfg->retention_incidents_ms, cfg->retention_dead_ms,
                          cfg->retention_workers_ms, (size_t)cfg->retention_batch};
    return p;
}

/* Calls gc.lua in `mode` with the policy, `holder`, `arg` (an incident id or
 * a rank) and whether the id came from the backfill. */
static redisReply *gc_call(store *s, const char *mode, const retention_policy *p,
                           const char *holder, const char *arg, int backfill, char *err,
                           size_t errlen) {
    char now[24], keep[24], dead[24], max[24], lease[24], workers[24];
    snprintf(now, sizeof(now), "%lld", (long long)now_ms());
    snprintf(keep, sizeof(keep), "%lld", (long long)p->incidents_ms);
    snprintf(dead, sizeof(dead), "%lld", (long long)p->dead_ms);
    snprintf(max, sizeof(max), "%zu", p->batch ? p->batch : 1);
    snprintf(lease, sizeof(lease), "%d", RETENTION_LEASE_MS);
    snprintf(workers, sizeof(workers), "%lld", (long long)p->workers_ms);
    const char *argv[] = {mode,    now, keep, dead, max, holder, lease, workers, arg,
                          backfill ? "1" : "0"};
    return store_eval(s, SCRIPT_GC, 10, argv, err, errlen);
}

static long long int_at(const redisReply *r, size_t i) {
    if (i >= r->elements) return 0;
    const redisReply *e = r->element[i];
    if (e->type == REDIS_REPLY_INTEGER) return e->integer;
    return e->type == REDIS_REPLY_STRING ? atoll(e->str) : 0;
}

static const char *str_at(const redisReply *r, size_t i) {
    return (i < r->elements && r->element[i]->type == REDIS_REPLY_STRING) ? r->element[i]->str
                                                                          : "";
}

static int is(const redisReply *r, const char *word) {
    return r->type == REDIS_REPLY_ARRAY && r->elements >= 1 && !strcmp(str_at(r, 0), word);
}

/* Expires one incident if it is due; counts the outcome into out. Returns
 * 0, 1 when the lease went to another holder (out->busy), -1. */
static int expire_one(store *s, const retention_policy *p, const char *holder, const char *id,
                      int backfill, retention_slice *out, char *err, size_t errlen) {
    redisReply *r = gc_call(s, "expire", p, holder, id, backfill, err, errlen);
    if (!r) return -1;
    int rc = 0;
    if (is(r, "busy")) {
        out->busy = 1;
        snprintf(out->holder, sizeof(out->holder), "%s", str_at(r, 1));
        rc = 1;
    } else if (is(r, "expired")) {
        out->expired++;
        out->bytes += int_at(r, 1);
    } else if (is(r, "held")) {
        out->held++;
    }
    freeReplyObject(r);
    return rc;
}

int retention_run(store *s, const retention_policy *p, const char *holder, retention_slice *out,
                  char *err, size_t errlen) {
    memset(out, 0, sizeof(*out));
    redisReply *r = gc_call(s, "slice", p, holder, "", 0, err, errlen);
    if (!r) return -1;
    int rc = -1;
    if (is(r, "busy")) {
        out->busy = 1;
        snprintf(out->holder, sizeof(out->holder), "%s", str_at(r, 1));
        rc = 0;
    } else if (is(r, "slice") && r->elements >= 4 &&
               r->elements == 4 + (size_t)int_at(r, 2) + (size_t)int_at(r, 3)) {
        size_t ndue = (size_t)int_at(r, 2);
        out->more = int_at(r, 1) != 0;
        rc = 0;
        for (size_t i = 4; i < r->elements && rc == 0; i++)
            rc = expire_one(s, p, holder, str_at(r, i), i >= 4 + ndue, out, err, errlen);
        if (rc > 0) rc = 0; /* busy: what was done is counted */
    } else {
        snprintf(err, errlen, "gc: unexpected reply");
    }
    freeReplyObject(r);
    return rc;
}

void retention_release(store *s, const char *holder) {
    char err[256];
    retention_policy p = {0};
    redisReply *r = gc_call(s, "release", &p, holder, "", 0, err, sizeof(err));
    if (r) freeReplyObject(r);
}

json_t *retention_preview(store *s, const retention_policy *p, long long *from, char *err,
                          size_t errlen) {
    char rank[24];
    snprintf(rank, sizeof(rank), "%lld", *from);
    redisReply *r = gc_call(s, "page", p, "", rank, 0, err, errlen);
    if (!r) return NULL;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 || (r->elements - 1) % 2) {
        snprintf(err, errlen, "gc: unexpected reply");
        freeReplyObject(r);
        return NULL;
    }
    json_t *out = json_array();
    *from = int_at(r, 0);
    for (size_t i = 1; i + 1 < r->elements; i += 2) {
        redisReply *v = gc_call(s, "inspect", p, "", str_at(r, i), 0, err, errlen);
        if (!v) {
            json_decref(out);
            out = NULL;
            break;
        }
        /* "skip": reopened or gone, not retention's. */
        if (v->type == REDIS_REPLY_ARRAY && v->elements == 3 && strcmp(str_at(v, 0), "skip"))
            json_array_append_new(
                out, json_pack("{s:s, s:I, s:s, s:I, s:I}", "id", str_at(r, i), "finished_at",
                               (json_int_t)int_at(r, i + 1), "action", str_at(v, 0), "until",
                               (json_int_t)int_at(v, 1), "bytes", (json_int_t)int_at(v, 2)));
        freeReplyObject(v);
    }
    freeReplyObject(r);
    return out;
}

int64_t retention_expired_at(store *s, const char *id) {
    redisReply *r = store_command(s, "ZSCORE %s:expired %s", store_prefix(s), id);
    if (!r) return -1;
    int64_t at = r->type == REDIS_REPLY_STRING ? atoll(r->str) : 0;
    freeReplyObject(r);
    return at;
}

json_t *retention_totals(store *s) {
    redisReply *r = store_command(s, "HMGET %s:gc:stats expired bytes", store_prefix(s));
    if (!r) return NULL;
    json_t *out = NULL;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2)
        out = json_pack("{s:I, s:I}", "expired", (json_int_t)atoll(str_at(r, 0)), "bytes",
                        (json_int_t)atoll(str_at(r, 1)));
    freeReplyObject(r);
    return out;
}
