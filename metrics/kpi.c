/* kpi.c - the four yardsticks (MTTA, MTTR, automated and manual work) from the aggregates */
#include "metrics/kpi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "metrics/aggregate.h"

#define KPI_BUCKETS 32 /* more than any incident histogram has */

typedef struct row {
    char key[256];
    long long opened, automated, manual;
    long long mtta_count, mtta_sum_ms, mttr_count, mttr_sum_ms;
    long long mtta_b[KPI_BUCKETS], mttr_b[KPI_BUCKETS];
} row;

typedef struct rows {
    row *v;
    size_t n;
} rows;

static row *row_of(rows *rs, const char *key) {
    for (size_t i = 0; i < rs->n; i++)
        if (!strcmp(rs->v[i].key, key)) return &rs->v[i];
    row *v = realloc(rs->v, (rs->n + 1) * sizeof(*v));
    if (!v) return NULL;
    rs->v = v;
    memset(&v[rs->n], 0, sizeof(*v));
    snprintf(v[rs->n].key, sizeof(v[rs->n].key), "%s", key);
    return &v[rs->n++];
}

/* Adds one field of P:agg (modified in place) to its row; label is the
 * index of the incident label rows are keyed by, or -1 for one row. */
static void add(rows *rs, int label, char *field, long long v) {
    char *parts[AGG_MAX_PARTS + 1];
    size_t n = aggregate_split(field, parts, AGG_MAX_PARTS);
    const agg_family *f = aggregate_family(parts[0]);
    if (!f || n > AGG_MAX_PARTS || f->nlabels != 3) return;
    int hist = f->histogram;
    if (n != (hist ? 2u : 1u) + f->nlabels) return;
    row *r = row_of(rs, label < 0 ? "all" : parts[1 + label]);
    if (!r) return;
    if (!hist) {
        if (!strcmp(f->code, "opened")) r->opened += v;
        if (!strcmp(f->code, "automated")) r->automated += v;
        if (!strcmp(f->code, "manual")) r->manual += v;
        return;
    }
    int mtta = !strcmp(f->code, "mtta"), mttr = !strcmp(f->code, "mttr");
    if (!mtta && !mttr) return;
    const char *last = parts[n - 1];
    long long *count = mtta ? &r->mtta_count : &r->mttr_count;
    long long *sum = mtta ? &r->mtta_sum_ms : &r->mttr_sum_ms;
    long long *b = mtta ? r->mtta_b : r->mttr_b;
    if (!strcmp(last, "sum")) *sum += v;
    else if (!strcmp(last, "count")) *count += v;
    else if (last[0] == 'b') {
        long i = strtol(last + 1, NULL, 10);
        if (i >= 0 && (size_t)i <= f->nbounds && i < KPI_BUCKETS) b[i] += v;
    }
}

/* The median in seconds from non-cumulative buckets b[0..nbounds] (the
 * last above every bound), linear within its bucket; null when empty. A
 * median in the top bucket is reported as the highest bound. */
static json_t *p50(const long long *b, const int64_t *bounds, size_t nbounds) {
    long long total = 0, seen = 0;
    for (size_t i = 0; i <= nbounds; i++) total += b[i];
    if (!total) return json_null();
    double rank = (double)total / 2.0;
    for (size_t i = 0; i <= nbounds; i++) {
        if ((double)(seen + b[i]) >= rank && b[i] > 0) {
            if (i == nbounds) return json_real((double)bounds[nbounds - 1] / 1000.0);
            double lo = i ? (double)bounds[i - 1] : 0, hi = (double)bounds[i];
            return json_real((lo + (hi - lo) * (rank - (double)seen) / (double)b[i]) / 1000.0);
        }
        seen += b[i];
    }
    return json_null();
}

static json_t *mean_s(long long sum_ms, long long count) {
    return count ? json_real((double)sum_ms / 1000.0 / (double)count) : json_null();
}

static json_t *per(long long n, long long incidents) {
    return incidents ? json_real((double)n / (double)incidents) : json_null();
}

static int by_key(const void *a, const void *b) {
    return strcmp(((const row *)a)->key, ((const row *)b)->key);
}

int kpi_report(store *s, int64_t since_ms, const char *by, json_t **out, char *err,
               size_t errlen) {
    static const char *const labels[] = {"workflow", "severity", "service"};
    int label = -1;
    (void)since_ms; /* the aggregates are not kept by period (kpi.h) */

    *out = NULL;
    if (by && *by) {
        for (int i = 0; i < 3; i++)
            if (!strcmp(by, labels[i])) label = i;
        if (label < 0) {
            snprintf(err, errlen, "by: \"%.32s\" is not %s", by,
                     !strcmp(by, "week") ? "available yet: muster-metrics does not keep figures "
                                           "by period (workflow, severity or service)"
                                         : "workflow, severity or service");
            return -1;
        }
    }
    redisReply *r = store_command(s, "HGETALL %s:agg", store_prefix(s));
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        snprintf(err, errlen, "redis did not answer");
        if (r) freeReplyObject(r);
        return -1;
    }
    rows rs = {0};
    if (label < 0) row_of(&rs, "all"); /* one row even before the first incident */
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        char field[1024];
        if (!r->element[i]->str || r->element[i]->len >= sizeof(field) || !r->element[i + 1]->str)
            continue;
        memcpy(field, r->element[i]->str, r->element[i]->len + 1);
        add(&rs, label, field, atoll(r->element[i + 1]->str));
    }
    freeReplyObject(r);
    if (rs.n) qsort(rs.v, rs.n, sizeof(*rs.v), by_key);

    const agg_family *mtta = aggregate_family("mtta"), *mttr = aggregate_family("mttr");
    json_t *list = json_array();
    for (size_t i = 0; i < rs.n; i++) {
        const row *w = &rs.v[i];
        json_array_append_new(
            list, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "key",
                            w->key, "incidents", (json_int_t)w->opened, "acknowledged",
                            (json_int_t)w->mtta_count, "resolved", (json_int_t)w->mttr_count,
                            "automated", (json_int_t)w->automated, "manual",
                            (json_int_t)w->manual, "mtta_p50_s",
                            p50(w->mtta_b, mtta->bounds_ms, mtta->nbounds), "mtta_mean_s",
                            mean_s(w->mtta_sum_ms, w->mtta_count), "mttr_p50_s",
                            p50(w->mttr_b, mttr->bounds_ms, mttr->nbounds), "mttr_mean_s",
                            mean_s(w->mttr_sum_ms, w->mttr_count), "automated_per_incident",
                            per(w->automated, w->opened), "manual_per_incident",
                            per(w->manual, w->opened)));
    }
    free(rs.v);
    char until[40];
    format_rfc3339(now_ms(), until, sizeof(until));
    *out = json_pack("{s:n, s:s, s:o, s:o, s:n, s:n}", "since", "until", until, "by",
                     label < 0 ? json_null() : json_string(labels[label]), "rows", list,
                     "previous", "change");
    if (!*out) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}
