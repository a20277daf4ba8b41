/* export.c - the Prometheus view of the aggregates: a registry mirroring Redis */
#include "metrics/export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "metrics/aggregate.h"

/* Field -> value: what the registry holds of each aggregate, and what Redis
 * holds now. Chained, doubling when the chains average two entries. */
typedef struct entry {
    struct entry *next;
    int64_t v;
    char key[];
} entry;

typedef struct table {
    entry **b;
    size_t nb, n;
} table;

struct exporter {
    metrics *m;
    metric_family *fam[32]; /* by index in aggregate_families */
    metric_family *queue, *delayed, *dead, *manual, *outbox;
    /* retention: totals in P:gc:stats, mirrored as counters (the last
     * totals seen, to add what they grew by) */
    metric_family *expired, *freed, *finished;
    double last_expired, last_freed;
    table seen; /* the registry's part of each aggregate */
    long long version;
    int synced;
    uint64_t applied;
};

static uint64_t hash(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void table_free(table *t) {
    for (size_t i = 0; i < t->nb; i++) {
        for (entry *e = t->b[i], *next; e; e = next) {
            next = e->next;
            free(e);
        }
    }
    free(t->b);
    t->b = NULL;
    t->nb = t->n = 0;
}

static entry *table_find(const table *t, const char *key) {
    if (!t->nb) return NULL;
    for (entry *e = t->b[hash(key) % t->nb]; e; e = e->next)
        if (strcmp(e->key, key) == 0) return e;
    return NULL;
}

static int table_grow(table *t) {
    size_t nb = t->nb ? t->nb * 2 : 256;
    entry **b = calloc(nb, sizeof(*b));
    if (!b) return -1;
    for (size_t i = 0; i < t->nb; i++) {
        for (entry *e = t->b[i], *next; e; e = next) {
            next = e->next;
            size_t k = hash(e->key) % nb;
            e->next = b[k];
            b[k] = e;
        }
    }
    free(t->b);
    t->b = b;
    t->nb = nb;
    return 0;
}

/* The entry for key, created with v = 0. NULL when out of memory. */
static entry *table_get(table *t, const char *key) {
    entry *e = table_find(t, key);
    if (e) return e;
    if ((t->n >= t->nb * 2 || !t->nb) && table_grow(t) < 0) return NULL;
    size_t len = strlen(key);
    if (!(e = calloc(1, sizeof(*e) + len + 1))) return NULL;
    memcpy(e->key, key, len + 1);
    size_t k = hash(key) % t->nb;
    e->next = t->b[k];
    t->b[k] = e;
    t->n++;
    return e;
}

static int64_t table_value(const table *t, const char *key) {
    entry *e = table_find(t, key);
    return e ? e->v : 0;
}

exporter *exporter_new(metrics *m) {
    exporter *e = calloc(1, sizeof(*e));
    if (!e) return NULL;
    e->m = m;
    if (aggregate_nfamilies > sizeof(e->fam) / sizeof(e->fam[0])) goto fail;
    for (size_t i = 0; i < aggregate_nfamilies; i++) {
        const agg_family *f = &aggregate_families[i];
        if (!f->metric) continue;
        if (f->histogram) {
            double b[METRICS_MAX_BUCKETS];
            for (size_t k = 0; k < f->nbounds && k < METRICS_MAX_BUCKETS; k++)
                b[k] = (double)f->bounds_ms[k] / 1000.0;
            e->fam[i] = metrics_histogram(m, f->metric, f->help, f->label_names, b, f->nbounds);
        } else {
            e->fam[i] = metrics_counter(m, f->metric, f->help, f->label_names);
        }
        if (!e->fam[i]) goto fail;
    }
    static const char *const pool_state[] = {"pool", "state", NULL};
    e->queue = metrics_gauge(m, "muster_queue_tasks",
                             "Tasks in a pool's queue: waiting for a worker, or in flight",
                             pool_state);
    e->delayed = metrics_gauge(m, "muster_delayed_tasks", "Failed tasks waiting to be retried",
                               NULL);
    e->dead = metrics_gauge(m, "muster_dead_tasks", "Dead tasks waiting for a person (replay)",
                            NULL);
    e->manual = metrics_gauge(m, "muster_manual_tasks_waiting",
                              "Manual steps waiting for a person", NULL);
    e->outbox = metrics_gauge(m, "muster_outbox_events", "Events not yet relayed to Kafka", NULL);
    e->expired = metrics_counter(m, "muster_incidents_expired_total",
                                 "Finished incidents deleted after retention.incidents", NULL);
    e->freed = metrics_counter(m, "muster_expired_bytes_total",
                               "Redis memory the expired incidents took (MEMORY USAGE estimate)",
                               NULL);
    e->finished = metrics_gauge(m, "muster_finished_incidents",
                                "Finished incidents kept until their retention ends", NULL);
    if (!e->queue || !e->delayed || !e->dead || !e->manual || !e->outbox || !e->expired ||
        !e->freed || !e->finished)
        goto fail;
    return e;
fail:
    free(e);
    return NULL;
}

void exporter_free(exporter *e) {
    if (!e) return;
    table_free(&e->seen);
    free(e);
}

uint64_t exporter_applied(const exporter *e) { return e->applied; }

/* An integer reply (or a number as text) into *v; frees r. Returns 0, or
 * -1 when Redis did not answer with one, so a gauge keeps its last value
 * instead of dropping to 0 while Redis is away. */
static int int_reply(redisReply *r, double *v) {
    int rc = -1;
    if (r && r->type == REDIS_REPLY_INTEGER) {
        *v = (double)r->integer;
        rc = 0;
    } else if (r && r->type == REDIS_REPLY_STRING) {
        *v = atof(r->str);
        rc = 0;
    }
    if (r) freeReplyObject(r);
    return rc;
}

static void set_gauge(metric_family *f, redisReply *r) {
    double v;
    if (int_reply(r, &v) == 0) metrics_set(f, NULL, v);
}

/* The queue of each pool a task started from (and "default"): entries
 * waiting for a worker and entries a worker holds. */
static void set_queue(exporter *e, store *s, const char *pool) {
    const char *p = store_prefix(s);
    double len, pending = 0;
    if (int_reply(store_command(s, "XLEN %s:q:%s", p, pool), &len) < 0) return;
    redisReply *x = store_command(s, "XPENDING %s:q:%s workers", p, pool);
    if (!x) return;
    if (x->type == REDIS_REPLY_ARRAY && x->elements >= 1 &&
        x->element[0]->type == REDIS_REPLY_INTEGER)
        pending = (double)x->element[0]->integer;
    freeReplyObject(x);
    const char *waiting[] = {pool, "waiting", NULL}, *flight[] = {pool, "in_flight", NULL};
    metrics_set(e->queue, waiting, len - pending);
    metrics_set(e->queue, flight, pending);
}

/* A total of P:gc:stats into a counter: what it grew by since last time
 * (all of it the first time, so every replica shows the same). */
static void mirror_total(metric_family *f, double *last, const redisReply *v) {
    if (!v || v->type != REDIS_REPLY_STRING) return;
    double now = atof(v->str);
    if (now > *last) metrics_inc(f, NULL, now - *last);
    *last = now;
}

static void set_retention(exporter *e, store *s) {
    redisReply *r = store_command(s, "HMGET %s:gc:stats expired bytes", store_prefix(s));
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
        mirror_total(e->expired, &e->last_expired, r->element[0]);
        mirror_total(e->freed, &e->last_freed, r->element[1]);
    }
    if (r) freeReplyObject(r);
}

static void set_gauges(exporter *e, store *s) {
    const char *p = store_prefix(s);
    int has_default = 0;
    redisReply *pools = store_command(s, "SMEMBERS %s:agg:pools", p);
    if (!pools) return;
    for (size_t i = 0; pools->type == REDIS_REPLY_ARRAY && i < pools->elements; i++) {
        const char *pool = pools->element[i]->str ? pools->element[i]->str : "";
        if (strcmp(pool, "default") == 0) has_default = 1;
        set_queue(e, s, pool);
    }
    freeReplyObject(pools);
    if (!has_default) set_queue(e, s, "default");
    set_gauge(e->delayed, store_command(s, "ZCARD %s:delayed", p));
    set_gauge(e->dead, store_command(s, "ZCARD %s:dead", p));
    set_gauge(e->manual, store_command(s, "SCARD %s:manual", p));
    set_gauge(e->outbox, store_command(s, "XLEN %s:outbox", p));
    set_gauge(e->finished, store_command(s, "ZCARD %s:finished", p));
    set_retention(e, s);
}

/* Observes n values, whole ms in [lo, lo + room], that add up to lo * n +
 * *extra (or as near as the range allows); takes what it used off *extra.
 * room < 0 means no upper end. */
static void observe_spread(exporter *e, metric_family *f, const char *const *labels, int64_t n,
                           int64_t lo, int64_t room, int64_t *extra) {
    if (n <= 0) return;
    int64_t take = *extra;
    if (room >= 0 && take > n * room) take = n * room;
    *extra -= take;
    int64_t q = take / n, r = take % n;
    for (int64_t k = 0; k < n; k++)
        metrics_observe(f, labels, (double)(lo + q + (k < r ? 1 : 0)) / 1000.0);
    e->applied += (uint64_t)n;
}

/* One histogram series: prefix is "family\tlabels..."; labels its values. */
static int sync_histogram(exporter *e, const table *now, size_t fi, const char *prefix,
                          const char *const *labels) {
    const agg_family *f = &aggregate_families[fi];
    char key[1024 + 32]; /* prefix is shorter than 1024 bytes */
    int64_t d[METRICS_MAX_BUCKETS + 1], base = 0, count = 0;
    size_t nb = f->nbounds;

    for (size_t i = 0; i <= nb; i++) {
        snprintf(key, sizeof(key), "%s\tb%zu", prefix, i);
        d[i] = table_value(now, key) - table_value(&e->seen, key);
    }
    snprintf(key, sizeof(key), "%s\tsum", prefix);
    int64_t sum = table_value(now, key) - table_value(&e->seen, key);
    int bad = 0;
    for (size_t i = 0; i <= nb; i++) {
        if (d[i] < 0) bad = 1;
        count += d[i];
        base += d[i] * (i == 0 ? 0 : f->bounds_ms[i - 1] + 1);
    }
    if (bad || sum < base) {
        mlog(LOG_WARN, NULL, "metrics: aggregate %s shrank or is inconsistent; taking it as the "
             "new base", prefix);
        count = 0;
    }
    /* Each new observation starts at its bucket's lowest whole ms; what the
     * sum has on top is spread over the buckets, low ones first. */
    int64_t extra = count > 0 ? sum - base : 0;
    for (size_t i = 0; count > 0 && i <= nb; i++) {
        int64_t lo = i == 0 ? 0 : f->bounds_ms[i - 1] + 1;
        int64_t room = i < nb ? f->bounds_ms[i] - lo : -1;
        observe_spread(e, e->fam[fi], labels, d[i], lo, room, &extra);
    }
    if (extra > 0)
        mlog(LOG_WARN, NULL, "metrics: aggregate %s: %lld ms of its sum fit no bucket", prefix,
             (long long)extra);
    for (size_t i = 0; i <= nb + 1; i++) {
        if (i <= nb) snprintf(key, sizeof(key), "%s\tb%zu", prefix, i);
        else snprintf(key, sizeof(key), "%s\tsum", prefix);
        entry *s = table_get(&e->seen, key);
        if (!s) return -1;
        s->v = table_value(now, key);
    }
    return 0;
}

/* Adds what each aggregate in the HGETALL reply r grew by. */
static int apply(exporter *e, const redisReply *r) {
    table now = {0};
    char buf[1024], prefix[1024];
    char *parts[AGG_MAX_PARTS + 1];
    int rc = -1;

    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        entry *x = table_get(&now, r->element[i]->str ? r->element[i]->str : "");
        if (!x) goto out;
        x->v = r->element[i + 1]->str ? atoll(r->element[i + 1]->str) : 0;
    }
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const char *field = r->element[i]->str ? r->element[i]->str : "";
        if (strlen(field) >= sizeof(buf)) continue;
        memcpy(buf, field, strlen(field) + 1);
        size_t n = aggregate_split(buf, parts, AGG_MAX_PARTS);
        const agg_family *f = aggregate_family(parts[0]);
        if (!f || !f->metric) continue;
        size_t fi = (size_t)(f - aggregate_families);
        const char *labels[4] = {NULL, NULL, NULL, NULL};
        for (size_t k = 0; k < f->nlabels && k + 1 < n; k++) labels[k] = parts[k + 1];
        if (!f->histogram) {
            if (n != 1 + f->nlabels) continue;
            entry *s = table_get(&e->seen, field);
            if (!s) goto out;
            int64_t v = table_value(&now, field);
            if (v > s->v) {
                metrics_inc(e->fam[fi], labels, (double)(v - s->v));
                e->applied++;
            } else if (v < s->v) {
                mlog(LOG_WARN, NULL, "metrics: aggregate %s went down from %lld to %lld; taking "
                     "it as the new base", field, (long long)s->v, (long long)v);
            }
            s->v = v;
        } else if (n == 2 + f->nlabels && strcmp(parts[n - 1], "count") == 0) {
            /* One pass per series, triggered by its count. */
            size_t plen = strlen(field) - strlen("\tcount");
            memcpy(prefix, field, plen);
            prefix[plen] = '\0';
            if (sync_histogram(e, &now, fi, prefix, labels) < 0) goto out;
        }
    }
    rc = 0;
out:
    table_free(&now);
    return rc;
}

int exporter_sync(exporter *e, store *s, char *err, size_t errlen) {
    const char *p = store_prefix(s);
    redisReply *r = store_command(s, "GET %s:agg:version", p);
    if (!r) {
        snprintf(err, errlen, "redis not reachable");
        return -1;
    }
    long long version = r->type == REDIS_REPLY_STRING ? atoll(r->str) : 0;
    freeReplyObject(r);
    e->applied = 0;
    if (!e->synced || version != e->version) {
        if (!(r = store_command(s, "HGETALL %s:agg", p))) {
            snprintf(err, errlen, "redis not reachable");
            return -1;
        }
        int rc = r->type == REDIS_REPLY_ARRAY ? apply(e, r) : 0;
        freeReplyObject(r);
        if (rc < 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        e->version = version;
        e->synced = 1;
    }
    set_gauges(e, s);
    return 0;
}
