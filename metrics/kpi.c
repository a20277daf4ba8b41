/* kpi.c - the KPI report: MTTA, MTTR and work per incident for a period */
#include "metrics/kpi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics/kpi_day.h"

/* Days read in one round trip. */
#define PIPELINE_DAYS 64
/* Times one day's label set keeps (metrics.kpi_sample's bound). */
#define SAMPLE_MAX 10000

int kpi_by_parse(const char *text, kpi_by *by) {
    static const struct {
        const char *name;
        kpi_by by;
    } names[] = {{"", KPI_BY_NONE},
                 {"none", KPI_BY_NONE},
                 {"week", KPI_BY_WEEK},
                 {"workflow", KPI_BY_WORKFLOW},
                 {"service", KPI_BY_SERVICE},
                 {"severity", KPI_BY_SEVERITY}};
    for (size_t i = 0; text && i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(text, names[i].name) == 0) {
            *by = names[i].by;
            return 0;
        }
    return -1;
}

const char *kpi_by_name(kpi_by by) {
    switch (by) {
    case KPI_BY_WEEK: return "week";
    case KPI_BY_WORKFLOW: return "workflow";
    case KPI_BY_SERVICE: return "service";
    case KPI_BY_SEVERITY: return "severity";
    default: return NULL;
    }
}

int kpi_field_parse(char *field, char *labels[3], char **figure) {
    char *p = field;
    for (int i = 0; i < 3; i++) {
        char *tab = strchr(p, '\t');
        if (!tab) return -1;
        *tab = '\0';
        labels[i] = p;
        p = tab + 1;
    }
    if (strchr(p, '\t') || !*p) return -1;
    *figure = p;
    return 0;
}

size_t kpi_sample_parse(const char *text, size_t len, int64_t *out, size_t max) {
    size_t n = 0, i = 0;
    while (i < len && n < max) {
        int64_t v = 0;
        int digits = 0, ok = 1;
        for (; i < len && text[i] != ','; i++) {
            if (text[i] < '0' || text[i] > '9' || digits >= 15) ok = 0;
            else v = v * 10 + (text[i] - '0'), digits++;
        }
        if (ok && digits) out[n++] = v;
        i++; /* the comma */
    }
    return n;
}

/* Weighted times: a day's sample stands for all the times it was drawn from. */
typedef struct wtime {
    int64_t ms;
    double w;
} wtime;

typedef struct times {
    wtime *v;
    size_t n, cap;
    int64_t count, sum_ms;
} times;

/* What one row (or the total) adds up. */
typedef struct acc {
    char key[160];
    int64_t incidents, automated, manual, ops;
    times ta, tr;
} acc;

/* One day's figures of one label set, as read. */
typedef struct bucket {
    int64_t n, ta_n, ta_sum, tr_n, tr_sum, automated, manual, ops;
    int64_t *ta_s, *tr_s;
    size_t ta_len, tr_len;
} bucket;

static int times_add(times *t, const int64_t *s, size_t len, int64_t count, int64_t sum) {
    t->count += count;
    t->sum_ms += sum;
    if (!len) return 0;
    if (t->n + len > t->cap) {
        size_t cap = t->cap ? t->cap : 64;
        while (cap < t->n + len) cap *= 2;
        wtime *v = realloc(t->v, cap * sizeof(*v));
        if (!v) return -1;
        t->v = v;
        t->cap = cap;
    }
    /* Exact while the day kept every time: each weighs one. */
    double w = count > (int64_t)len ? (double)count / (double)len : 1.0;
    for (size_t i = 0; i < len; i++) t->v[t->n++] = (wtime){s[i], w};
    return 0;
}

static int acc_add(acc *a, const bucket *b) {
    a->incidents += b->n;
    a->automated += b->automated;
    a->manual += b->manual;
    a->ops += b->ops;
    if (times_add(&a->ta, b->ta_s, b->ta_len, b->ta_n, b->ta_sum) < 0 ||
        times_add(&a->tr, b->tr_s, b->tr_len, b->tr_n, b->tr_sum) < 0)
        return -1;
    return 0;
}

static void acc_clear(acc *a) {
    free(a->ta.v);
    free(a->tr.v);
    memset(a, 0, sizeof(*a));
}

static int by_ms(const void *x, const void *y) {
    const wtime *a = x, *b = y;
    return a->ms < b->ms ? -1 : a->ms > b->ms;
}

/* The p50 in seconds, nearest rank: the smallest time at or below which
 * lies half the weight (of 10, 20, 30, 40 that is 20). */
static json_t *p50_s(times *t) {
    if (!t->n) return json_null();
    qsort(t->v, t->n, sizeof(*t->v), by_ms);
    double total = 0, run = 0;
    for (size_t i = 0; i < t->n; i++) total += t->v[i].w;
    for (size_t i = 0; i < t->n; i++) {
        run += t->v[i].w;
        if (run >= total / 2 - 1e-9) return json_real((double)t->v[i].ms / 1000.0);
    }
    return json_real((double)t->v[t->n - 1].ms / 1000.0);
}

static json_t *mean_s(const times *t) {
    return t->count ? json_real((double)t->sum_ms / 1000.0 / (double)t->count) : json_null();
}

static json_t *per_incident(int64_t n, int64_t incidents) {
    return incidents ? json_real((double)n / (double)incidents) : json_null();
}

/* The figures of a row as a JSON object (key set by the caller). */
static json_t *figures(acc *a) {
    json_t *o = json_object();
    json_object_set_new(o, "incidents", json_integer(a->incidents));
    json_object_set_new(o, "acknowledged", json_integer(a->ta.count));
    json_object_set_new(o, "resolved", json_integer(a->tr.count));
    json_object_set_new(o, "mtta_p50_s", p50_s(&a->ta));
    json_object_set_new(o, "mtta_mean_s", mean_s(&a->ta));
    json_object_set_new(o, "mttr_p50_s", p50_s(&a->tr));
    json_object_set_new(o, "mttr_mean_s", mean_s(&a->tr));
    json_object_set_new(o, "automated", json_integer(a->automated));
    json_object_set_new(o, "manual", json_integer(a->manual + a->ops));
    json_object_set_new(o, "operator_actions", json_integer(a->ops));
    json_object_set_new(o, "automated_per_incident", per_incident(a->automated, a->incidents));
    json_object_set_new(o, "manual_per_incident", per_incident(a->manual + a->ops, a->incidents));
    return o;
}

/* The figures a change is given for. */
static const char *const changed[] = {"incidents",   "mtta_p50_s",  "mtta_mean_s",
                                      "mttr_p50_s",  "mttr_mean_s", "automated_per_incident",
                                      "manual_per_incident"};

/* (now - before) / before per figure; null when either is unknown or
 * before is zero. */
static json_t *change(const json_t *now, const json_t *before) {
    json_t *o = json_object();
    for (size_t i = 0; i < sizeof(changed) / sizeof(changed[0]); i++) {
        const json_t *a = json_object_get(now, changed[i]), *b = json_object_get(before, changed[i]);
        if (!json_is_number(a) || !json_is_number(b) || json_number_value(b) == 0) {
            json_object_set_new(o, changed[i], json_null());
            continue;
        }
        double x = json_number_value(a), y = json_number_value(b);
        json_object_set_new(o, changed[i], json_real((x - y) / y));
    }
    return o;
}

static void iso_time(int64_t ms, char *out, size_t len) {
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    int frac = (int)(ms % 1000);
    size_t n = strftime(out, len, "%Y-%m-%dT%H:%M:%S", &tm);
    if (frac) snprintf(out + n, len - n, ".%03dZ", frac);
    else snprintf(out + n, len - n, "Z");
}

/* The ISO 8601 week of a day ("2026-W49"): weeks start on Monday, and
 * belong to the year of their Thursday. */
static void iso_week(int64_t day, char *out, size_t len) {
    int64_t weekday = ((day + 3) % 7 + 7) % 7; /* 1970-01-01 was a Thursday; Monday is 0 */
    time_t thursday = (time_t)((day - weekday + 3) * 86400);
    struct tm tm;
    gmtime_r(&thursday, &tm);
    snprintf(out, len, "%04d-W%02d", tm.tm_year + 1900, tm.tm_yday / 7 + 1);
}

typedef struct rows {
    acc *v;
    size_t n, cap;
} rows;

static acc *row_of(rows *r, const char *key) {
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->v[i].key, key) == 0) return &r->v[i];
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        acc *v = realloc(r->v, cap * sizeof(*v));
        if (!v) return NULL;
        r->v = v;
        r->cap = cap;
    }
    acc *a = &r->v[r->n++];
    memset(a, 0, sizeof(*a));
    snprintf(a->key, sizeof(a->key), "%s", key);
    return a;
}

/* A field and its value, of one HGETALL reply. */
typedef struct pair {
    const redisReply *f, *v;
} pair;

/* A field's label set: everything before its last TAB. */
static size_t set_len(const redisReply *f) {
    for (size_t i = f->len; i > 0; i--)
        if (f->str[i - 1] == '\t') return i - 1;
    return 0;
}

static int by_set(const void *x, const void *y) {
    const redisReply *a = ((const pair *)x)->f, *b = ((const pair *)y)->f;
    size_t la = set_len(a), lb = set_len(b);
    int c = memcmp(a->str, b->str, la < lb ? la : lb);
    return c ? c : (la > lb) - (la < lb);
}
/* Takes a value into the bucket; a field it does not know is ignored. */
static void bucket_set(bucket *b, const char *figure, const redisReply *v, int64_t *scratch_ta,
                       int64_t *scratch_tr) {
    const char *text = v->str ? v->str : "";
    int64_t n = strtoll(text, NULL, 10);
    if (n < 0) n = 0;
    if (!strcmp(figure, "n")) b->n = n;
    else if (!strcmp(figure, "ta_n")) b->ta_n = n;
    else if (!strcmp(figure, "ta_sum")) b->ta_sum = n;
    else if (!strcmp(figure, "tr_n")) b->tr_n = n;
    else if (!strcmp(figure, "tr_sum")) b->tr_sum = n;
    else if (!strcmp(figure, "auto")) b->automated = n;
    else if (!strcmp(figure, "manual")) b->manual = n;
    else if (!strcmp(figure, "op")) b->ops = n;
    else if (!strcmp(figure, "ta_s")) {
        b->ta_s = scratch_ta;
        b->ta_len = kpi_sample_parse(text, v->len, scratch_ta, SAMPLE_MAX);
    } else if (!strcmp(figure, "tr_s")) {
        b->tr_s = scratch_tr;
        b->tr_len = kpi_sample_parse(text, v->len, scratch_tr, SAMPLE_MAX);
    }
}

typedef struct period {
    int64_t first, last; /* days, inclusive */
} period;

typedef struct report {
    kpi_by by;
    period now, before;
    acc total, previous;
    rows rows;
    int64_t *scratch_ta, *scratch_tr;
} report;

/* Adds one label set's figures of day `day` where they belong. */
static int file_bucket(report *rp, int64_t day, char *labels[3], const bucket *b) {
    if (day >= rp->before.first && day <= rp->before.last) return acc_add(&rp->previous, b);
    if (day < rp->now.first || day > rp->now.last) return 0;
    if (acc_add(&rp->total, b) < 0) return -1;
    char week[32];
    const char *key = NULL;
    switch (rp->by) {
    case KPI_BY_WEEK: iso_week(day, week, sizeof(week)), key = week; break;
    case KPI_BY_WORKFLOW: key = labels[0]; break;
    case KPI_BY_SEVERITY: key = labels[1]; break;
    case KPI_BY_SERVICE: key = labels[2]; break;
    default: return 0;
    }
    acc *a = row_of(&rp->rows, key);
    return a ? acc_add(a, b) : -1;
}

/* One day's HGETALL reply: its fields grouped by label set. */
static int file_day(report *rp, int64_t day, const redisReply *r) {
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2) return 0;
    size_t used = 0;
    pair *pairs = malloc(r->elements / 2 * sizeof(*pairs));
    if (!pairs) return -1;
    for (size_t k = 0; k + 1 < r->elements; k += 2) {
        const redisReply *f = r->element[k], *v = r->element[k + 1];
        if (f->type == REDIS_REPLY_STRING && f->len < 1024 && v->type == REDIS_REPLY_STRING &&
            set_len(f) > 0)
            pairs[used++] = (pair){f, v};
    }
    qsort(pairs, used, sizeof(*pairs), by_set);
    int rc = 0;
    for (size_t i = 0, j; i < used && rc == 0; i = j) {
        bucket b = {0};
        char field[1024], *labels[3] = {NULL, NULL, NULL}, *figure, set[1024] = "";
        for (j = i; j < used && by_set(&pairs[i], &pairs[j]) == 0; j++) {
            memcpy(field, pairs[j].f->str, pairs[j].f->len);
            field[pairs[j].f->len] = '\0';
            if (kpi_field_parse(field, labels, &figure) < 0) continue;
            if (!set[0]) snprintf(set, sizeof(set), "%s\t%s\t%s\t-", labels[0], labels[1], labels[2]);
            bucket_set(&b, figure, pairs[j].v, rp->scratch_ta, rp->scratch_tr);
        }
        if (set[0] && kpi_field_parse(set, labels, &figure) == 0) rc = file_bucket(rp, day, labels, &b);
    }
    free(pairs);
    return rc;
}

static json_t *keyed(const char *key, json_t *o) {
    json_t *row = json_object();
    json_object_set_new(row, "key", json_string(key));
    json_object_update(row, o);
    json_decref(o);
    return row;
}

/* Rows by label: most incidents first, then by key. */
static int by_incidents(const void *x, const void *y) {
    const acc *a = x, *b = y;
    if (a->incidents != b->incidents) return a->incidents > b->incidents ? -1 : 1;
    return strcmp(a->key, b->key);
}

static int by_key(const void *x, const void *y) {
    return strcmp(((const acc *)x)->key, ((const acc *)y)->key);
}

int kpi_report(store *s, const kpi_query *q, json_t **result, char *err, size_t errlen) {
    report rp;
    json_t *out = NULL;
    memset(&rp, 0, sizeof(rp));
    *result = NULL;
    int64_t days = (q->since_ms + KPI_DAY_MS - 1) / KPI_DAY_MS;
    if (days < 1) days = 1;
    if (days > KPI_MAX_DAYS || q->until_ms <= 2 * KPI_MAX_DAYS * KPI_DAY_MS) {
        snprintf(err, errlen, "a period of %lld days ending %lld is out of range (1 to %d days)",
                 (long long)days, (long long)q->until_ms, KPI_MAX_DAYS);
        return -1;
    }
    rp.by = q->by;
    rp.now.last = (q->until_ms - 1) / KPI_DAY_MS;
    rp.now.first = rp.now.last - days + 1;
    rp.before.last = rp.now.first - 1;
    rp.before.first = rp.before.last - days + 1;
    rp.scratch_ta = malloc(SAMPLE_MAX * sizeof(int64_t));
    rp.scratch_tr = malloc(SAMPLE_MAX * sizeof(int64_t));
    if (!rp.scratch_ta || !rp.scratch_tr) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    /* Every week of the period is a row, also one without incidents. */
    if (rp.by == KPI_BY_WEEK)
        for (int64_t d = rp.now.first; d <= rp.now.last; d++) {
            char week[32];
            iso_week(d, week, sizeof(week));
            if (!row_of(&rp.rows, week)) goto oom;
        }
    for (int64_t d = rp.before.first; d <= rp.now.last; d += PIPELINE_DAYS) {
        int64_t end = d + PIPELINE_DAYS - 1 < rp.now.last ? d + PIPELINE_DAYS - 1 : rp.now.last;
        for (int64_t k = d; k <= end; k++)
            if (store_append(s, "HGETALL %s:agg:kpi:%lld", store_prefix(s), (long long)k) < 0) {
                snprintf(err, errlen, "redis did not answer");
                goto out;
            }
        int failed = 0;
        for (int64_t k = d; k <= end; k++) {
            redisReply *r = NULL;
            if (store_reply(s, &r) < 0) {
                snprintf(err, errlen, "redis did not answer");
                goto out; /* the connection is dropped: the rest is not read */
            }
            if (!failed && file_day(&rp, k, r) < 0) failed = 1;
            freeReplyObject(r);
        }
        if (failed) goto oom;
    }

    char since_s[40], until_s[40], psince_s[40], puntil_s[40];
    iso_time(rp.now.first * KPI_DAY_MS, since_s, sizeof(since_s));
    iso_time(q->until_ms, until_s, sizeof(until_s));
    iso_time(rp.before.first * KPI_DAY_MS, psince_s, sizeof(psince_s));
    iso_time(rp.now.first * KPI_DAY_MS, puntil_s, sizeof(puntil_s));
    const char *by = kpi_by_name(rp.by);
    out = json_object();
    json_object_set_new(out, "since", json_string(since_s));
    json_object_set_new(out, "until", json_string(until_s));
    json_object_set_new(out, "days", json_integer(days));
    json_object_set_new(out, "by", by ? json_string(by) : json_null());
    json_t *list = json_array();
    if (rp.rows.n) qsort(rp.rows.v, rp.rows.n, sizeof(*rp.rows.v), rp.by == KPI_BY_WEEK ? by_key : by_incidents);
    for (size_t i = 0; i < rp.rows.n; i++)
        json_array_append_new(list, keyed(rp.rows.v[i].key, figures(&rp.rows.v[i])));
    json_object_set_new(out, "rows", list);
    json_t *total = figures(&rp.total), *previous = figures(&rp.previous);
    json_object_set_new(out, "total", total);
    json_object_set_new(out, "previous", previous);
    json_object_set_new(out, "change", change(total, previous));
    json_object_set_new(previous, "since", json_string(psince_s));
    json_object_set_new(previous, "until", json_string(puntil_s));
    goto out;
oom:
    snprintf(err, errlen, "out of memory");
out:
    for (size_t i = 0; i < rp.rows.n; i++) acc_clear(&rp.rows.v[i]);
    free(rp.rows.v);
    acc_clear(&rp.total);
    acc_clear(&rp.previous);
    free(rp.scratch_ta);
    free(rp.scratch_tr);
    *result = out;
    return out ? 0 : -1;
}
