/* metrics.c - a bounded Prometheus registry rendered as text format 0.0.4 */
#include "common/metrics.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/strbuf.h"

#define OVERFLOW_NAME "muster_metrics_overflow_total"

const double metrics_seconds_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                          1,     2.5,  5,     10,   30,  60};
const size_t metrics_seconds_nbuckets =
    sizeof(metrics_seconds_buckets) / sizeof(metrics_seconds_buckets[0]);

typedef enum { K_COUNTER, K_GAUGE, K_HISTOGRAM } kind;

static const char *const kind_names[] = {"counter", "gauge", "histogram"};

/* One label set of a family. */
typedef struct series {
    char *values[METRICS_MAX_LABELS];
    double value;      /* counter or gauge; a histogram's sum */
    uint64_t count;    /* histogram observations */
    uint64_t bucket[]; /* histogram: nbuckets + 1 counts, per bucket (not
                        * cumulative), the last one above every bound */
} series;

struct metric_family {
    metrics *m;
    kind kind;
    char *name;
    char *help; /* NULL when none was given */
    size_t nlabels;
    char *labels[METRICS_MAX_LABELS];
    size_t nbuckets;
    double bounds[METRICS_MAX_BUCKETS];
    double (*fn)(void *arg); /* set for metrics_gauge_fn() families */
    void *arg;
    series **series;
    size_t nseries, cap;
};

struct metrics {
    pthread_mutex_t lock;
    size_t max_families, max_series;
    /* Allocated once at max_families, so a family pointer read from it stays
     * valid without the lock once nfam covers it (metrics_render relies on
     * this to call gauge functions unlocked). */
    metric_family **fam;
    size_t nfam;
    uint64_t dropped_families, dropped_series;
};

metrics *metrics_new(size_t max_families, size_t max_series) {
    metrics *m = calloc(1, sizeof(*m));
    if (!m) return NULL;
    m->max_families = max_families ? max_families : METRICS_DEFAULT_FAMILIES;
    m->max_series = max_series ? max_series : METRICS_DEFAULT_SERIES;
    m->fam = calloc(m->max_families, sizeof(*m->fam));
    if (!m->fam || pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m->fam);
        free(m);
        return NULL;
    }
    return m;
}

static void series_free(series *s) {
    if (!s) return;
    for (size_t i = 0; i < METRICS_MAX_LABELS; i++) free(s->values[i]);
    free(s);
}

static void family_free(metric_family *f) {
    if (!f) return;
    for (size_t i = 0; i < f->nseries; i++) series_free(f->series[i]);
    for (size_t i = 0; i < f->nlabels; i++) free(f->labels[i]);
    free(f->series);
    free(f->name);
    free(f->help);
    free(f);
}

void metrics_free(metrics *m) {
    if (!m) return;
    for (size_t i = 0; i < m->nfam; i++) family_free(m->fam[i]);
    free(m->fam);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

/* Length of the valid UTF-8 character at p, or 0 when p starts an invalid
 * (overlong, surrogate, out of range, truncated) sequence. */
static size_t utf8_len(const unsigned char *p) {
    unsigned c = p[0];
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        return p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        return p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 && (p[3] & 0xC0) == 0x80 ? 4
                                                                                      : 0;
    }
    return 0;
}

/* Copies in to out (max bytes with the NUL) as valid UTF-8: each invalid
 * byte becomes U+FFFD, and the copy stops before a character that does not
 * fit, so a cut never splits one. */
static void clean_utf8(const char *in, char *out, size_t max) {
    static const unsigned char replacement[] = {0xEF, 0xBF, 0xBD};
    const unsigned char *p = (const unsigned char *)in;
    size_t n = 0;

    while (*p) {
        size_t len = utf8_len(p), copy = len;
        const unsigned char *src = p;
        if (len == 0) {
            src = replacement;
            copy = sizeof(replacement);
            len = 1;
        }
        if (n + copy > max - 1) break;
        memcpy(out + n, src, copy);
        n += copy;
        p += len;
    }
    out[n] = '\0';
}

static int valid_name(const char *s, int colon) {
    if (!s || !*s) return 0;
    for (const char *p = s; *p; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                 (colon && c == ':') || (p > s && c >= '0' && c <= '9');
        if (!ok) return 0;
    }
    return 1;
}

/* Whether a is b followed by a histogram's sample suffix. */
static int histogram_suffix_of(const char *a, const char *b) {
    static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
    size_t n = strlen(b);
    if (strncmp(a, b, n) != 0) return 0;
    for (size_t i = 0; i < 3; i++)
        if (strcmp(a + n, suffixes[i]) == 0) return 1;
    return 0;
}

/* Finds the label set (values already cleaned), creating it when there is
 * room. Call with the lock held. Returns NULL when the family is full (the
 * drop counted) or out of memory. */
static series *find_series(metric_family *f, char vals[][METRICS_LABEL_VALUE_MAX + 1]) {
    metrics *m = f->m;
    for (size_t i = 0; i < f->nseries; i++) {
        series *s = f->series[i];
        size_t j = 0;
        while (j < f->nlabels && strcmp(s->values[j], vals[j]) == 0) j++;
        if (j == f->nlabels) return s;
    }
    if (f->nseries >= m->max_series) {
        m->dropped_series++;
        return NULL;
    }
    if (f->nseries == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 4;
        if (cap > m->max_series) cap = m->max_series;
        series **grown = realloc(f->series, cap * sizeof(*grown));
        if (!grown) return NULL;
        f->series = grown;
        f->cap = cap;
    }
    size_t nb = f->kind == K_HISTOGRAM ? f->nbuckets + 1 : 0;
    series *s = calloc(1, sizeof(*s) + nb * sizeof(uint64_t));
    if (!s) return NULL;
    for (size_t j = 0; j < f->nlabels; j++) {
        if (!(s->values[j] = strdup(vals[j]))) {
            series_free(s);
            return NULL;
        }
    }
    f->series[f->nseries++] = s;
    return s;
}

/* find_series() for the caller's label values. Call with the lock held. */
static series *lookup(metric_family *f, const char *const *label_values) {
    char vals[METRICS_MAX_LABELS][METRICS_LABEL_VALUE_MAX + 1];
    for (size_t i = 0; i < f->nlabels; i++) {
        const char *v = label_values && label_values[i] ? label_values[i] : "";
        clean_utf8(v, vals[i], sizeof(vals[i]));
    }
    return find_series(f, vals);
}

/* Checks what can be checked without the registry; logs and returns -1 on
 * the first problem. Fills *nlabels and the bounds to use. */
static int check_family(kind k, const char *name, const char *const *label_names,
                        const double *buckets, size_t nbuckets, size_t *nlabels,
                        double *bounds, size_t *nbounds) {
    size_t n = 0;

    if (!valid_name(name, 1)) {
        mlog(LOG_ERROR, NULL, "metrics: \"%s\" is not a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)",
             name ? name : "(null)");
        return -1;
    }
    if (strcmp(name, OVERFLOW_NAME) == 0 || histogram_suffix_of(name, OVERFLOW_NAME)) {
        mlog(LOG_ERROR, NULL, "metrics: %s: the name is reserved for the registry", name);
        return -1;
    }
    for (; label_names && label_names[n]; n++) {
        const char *l = label_names[n];
        if (n == METRICS_MAX_LABELS) {
            mlog(LOG_ERROR, NULL, "metrics: %s: more than %d labels", name, METRICS_MAX_LABELS);
            return -1;
        }
        if (!valid_name(l, 0) || strncmp(l, "__", 2) == 0) {
            mlog(LOG_ERROR, NULL,
                 "metrics: %s: \"%s\" is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, no __ prefix)",
                 name, l);
            return -1;
        }
        if (k == K_HISTOGRAM && strcmp(l, "le") == 0) {
            mlog(LOG_ERROR, NULL, "metrics: %s: a histogram cannot have a label \"le\"", name);
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            if (strcmp(label_names[i], l) == 0) {
                mlog(LOG_ERROR, NULL, "metrics: %s: label \"%s\" appears twice", name, l);
                return -1;
            }
        }
    }
    *nlabels = n;
    *nbounds = 0;
    if (k != K_HISTOGRAM) return 0;

    if (!buckets) {
        buckets = metrics_seconds_buckets;
        nbuckets = metrics_seconds_nbuckets;
    }
    if (nbuckets > 0 && isinf(buckets[nbuckets - 1]) && buckets[nbuckets - 1] > 0) nbuckets--;
    if (nbuckets > METRICS_MAX_BUCKETS) {
        mlog(LOG_ERROR, NULL, "metrics: %s: %zu buckets, at most %d", name, nbuckets,
             METRICS_MAX_BUCKETS);
        return -1;
    }
    for (size_t i = 0; i < nbuckets; i++) {
        if (!isfinite(buckets[i]) || (i > 0 && !(buckets[i] > buckets[i - 1]))) {
            mlog(LOG_ERROR, NULL,
                 "metrics: %s: bucket %zu (%g) is not finite and above the one before", name, i,
                 buckets[i]);
            return -1;
        }
        bounds[i] = buckets[i];
    }
    *nbounds = nbuckets;
    return 0;
}

/* Whether existing family f is what this registration asks for. */
static int same_family(const metric_family *f, kind k, const char *const *label_names,
                       size_t nlabels, const double *bounds, size_t nbounds) {
    if (f->kind != k || f->fn || f->nlabels != nlabels || f->nbuckets != nbounds) return 0;
    for (size_t i = 0; i < nlabels; i++)
        if (strcmp(f->labels[i], label_names[i]) != 0) return 0;
    for (size_t i = 0; i < nbounds; i++)
        if (f->bounds[i] != bounds[i]) return 0;
    return 1;
}

static metric_family *add_family(metrics *m, kind k, const char *name, const char *help,
                                 const char *const *label_names, const double *buckets,
                                 size_t nbuckets, double (*fn)(void *), void *arg) {
    double bounds[METRICS_MAX_BUCKETS];
    char clean[METRICS_HELP_MAX + 1];
    size_t nlabels, nbounds;
    metric_family *f = NULL;

    if (!m) return NULL;
    if (check_family(k, name, label_names, buckets, nbuckets, &nlabels, bounds, &nbounds) < 0)
        return NULL;

    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->nfam; i++) {
        metric_family *e = m->fam[i];
        if (strcmp(e->name, name) == 0) {
            if (!fn && same_family(e, k, label_names, nlabels, bounds, nbounds)) {
                f = e;
            } else {
                mlog(LOG_ERROR, NULL,
                     "metrics: %s: already registered as another %s or with other labels", name,
                     kind_names[e->kind]);
            }
            goto out;
        }
        if ((e->kind == K_HISTOGRAM && histogram_suffix_of(name, e->name)) ||
            (k == K_HISTOGRAM && histogram_suffix_of(e->name, name))) {
            mlog(LOG_ERROR, NULL, "metrics: %s: clashes with the samples of histogram %s", name,
                 k == K_HISTOGRAM ? name : e->name);
            goto out;
        }
    }
    if (m->nfam >= m->max_families) {
        m->dropped_families++;
        mlog(LOG_ERROR, NULL, "metrics: %s: the registry is full (%zu families)", name,
             m->max_families);
        goto out;
    }

    if (!(f = calloc(1, sizeof(*f)))) goto out;
    f->m = m;
    f->kind = k;
    f->fn = fn;
    f->arg = arg;
    f->nbuckets = nbounds;
    memcpy(f->bounds, bounds, nbounds * sizeof(bounds[0]));
    if (help && *help) {
        clean_utf8(help, clean, sizeof(clean));
        if (!(f->help = strdup(clean))) goto fail;
    }
    if (!(f->name = strdup(name))) goto fail;
    for (; f->nlabels < nlabels; f->nlabels++)
        if (!(f->labels[f->nlabels] = strdup(label_names[f->nlabels]))) goto fail;
    /* A family without labels has its one series from the start, so it is
     * rendered as 0 before the first update. */
    if (nlabels == 0 && !fn && !lookup(f, NULL)) goto fail;
    m->fam[m->nfam++] = f;
    goto out;

fail:
    family_free(f);
    f = NULL;
out:
    pthread_mutex_unlock(&m->lock);
    return f;
}

metric_family *metrics_counter(metrics *m, const char *name, const char *help,
                               const char *const *label_names) {
    return add_family(m, K_COUNTER, name, help, label_names, NULL, 0, NULL, NULL);
}

metric_family *metrics_gauge(metrics *m, const char *name, const char *help,
                             const char *const *label_names) {
    return add_family(m, K_GAUGE, name, help, label_names, NULL, 0, NULL, NULL);
}

metric_family *metrics_histogram(metrics *m, const char *name, const char *help,
                                 const char *const *label_names, const double *buckets,
                                 size_t nbuckets) {
    return add_family(m, K_HISTOGRAM, name, help, label_names, buckets, nbuckets, NULL, NULL);
}

int metrics_gauge_fn(metrics *m, const char *name, const char *help, double (*fn)(void *arg),
                     void *arg) {
    if (!fn) return -1;
    return add_family(m, K_GAUGE, name, help, NULL, NULL, 0, fn, arg) ? 0 : -1;
}

void metrics_inc(metric_family *f, const char *const *label_values, double v) {
    if (!f || f->fn || f->kind == K_HISTOGRAM || isnan(v)) return;
    if (f->kind == K_COUNTER && v < 0) return;
    pthread_mutex_lock(&f->m->lock);
    series *s = lookup(f, label_values);
    if (s) s->value += v;
    pthread_mutex_unlock(&f->m->lock);
}

void metrics_set(metric_family *f, const char *const *label_values, double v) {
    if (!f || f->fn || f->kind != K_GAUGE) return;
    pthread_mutex_lock(&f->m->lock);
    series *s = lookup(f, label_values);
    if (s) s->value = v;
    pthread_mutex_unlock(&f->m->lock);
}

void metrics_observe(metric_family *f, const char *const *label_values, double v) {
    if (!f || f->kind != K_HISTOGRAM || isnan(v)) return;
    size_t b = 0;
    while (b < f->nbuckets && v > f->bounds[b]) b++;
    pthread_mutex_lock(&f->m->lock);
    series *s = lookup(f, label_values);
    if (s) {
        s->bucket[b]++;
        s->count++;
        s->value += v;
    }
    pthread_mutex_unlock(&f->m->lock);
}

uint64_t metrics_overflow(metrics *m) {
    if (!m) return 0;
    pthread_mutex_lock(&m->lock);
    uint64_t n = m->dropped_families + m->dropped_series;
    pthread_mutex_unlock(&m->lock);
    return n;
}

/* ---- rendering ---- */

/* Escapes \ and line feed (HELP text), and " too inside label values. */
static void put_escaped(strbuf *b, const char *s, int quoted) {
    const char *run = s;
    for (; *s; s++) {
        const char *esc = NULL;
        if (*s == '\\') esc = "\\\\";
        else if (*s == '\n') esc = "\\n";
        else if (*s == '"' && quoted) esc = "\\\"";
        if (!esc) continue;
        strbuf_add(b, run, (size_t)(s - run));
        strbuf_str(b, esc);
        run = s + 1;
    }
    strbuf_add(b, run, (size_t)(s - run));
}

/* A float as Go's strconv.ParseFloat reads it: NaN, +Inf, -Inf, whole
 * numbers below 1e15 in full ("30", not "3e+01"), else the shortest %g that
 * reads back as the same double ("0.1", not "0.10000000000000001"). Needs
 * the C locale's decimal point. */
static void format_double(char *out, size_t len, double v) {
    if (isnan(v)) {
        snprintf(out, len, "NaN");
    } else if (isinf(v)) {
        snprintf(out, len, "%s", v > 0 ? "+Inf" : "-Inf");
    } else if (fabs(v) < 1e15 && v == trunc(v)) {
        snprintf(out, len, "%.0f", v);
    } else {
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(out, len, "%.*g", prec, v);
            if (strtod(out, NULL) == v) break;
        }
    }
}

static void put_double(strbuf *b, double v) {
    char tmp[40];
    format_double(tmp, sizeof(tmp), v);
    strbuf_str(b, tmp);
}

static void put_u64(strbuf *b, uint64_t v) {
    char tmp[24];
    snprintf(tmp, sizeof(tmp), "%" PRIu64, v);
    strbuf_str(b, tmp);
}

/* name{l1="v1",...,le="x"} with a space after; le may be NULL. */
static void put_sample_name(strbuf *b, const metric_family *f, const char *suffix, const series *s,
                            const char *le) {
    strbuf_str(b, f->name);
    if (suffix) strbuf_str(b, suffix);
    if (f->nlabels > 0 || le) {
        strbuf_add(b, "{", 1);
        for (size_t i = 0; i < f->nlabels; i++) {
            if (i > 0) strbuf_add(b, ",", 1);
            strbuf_str(b, f->labels[i]);
            strbuf_add(b, "=\"", 2);
            put_escaped(b, s->values[i], 1);
            strbuf_add(b, "\"", 1);
        }
        if (le) {
            if (f->nlabels > 0) strbuf_add(b, ",", 1);
            strbuf_add(b, "le=\"", 4);
            strbuf_str(b, le);
            strbuf_add(b, "\"", 1);
        }
        strbuf_add(b, "}", 1);
    }
    strbuf_add(b, " ", 1);
}

static void put_header(strbuf *b, const char *name, const char *help, const char *type) {
    if (help) {
        strbuf_str(b, "# HELP ");
        strbuf_str(b, name);
        strbuf_add(b, " ", 1);
        put_escaped(b, help, 0);
        strbuf_add(b, "\n", 1);
    }
    strbuf_str(b, "# TYPE ");
    strbuf_str(b, name);
    strbuf_add(b, " ", 1);
    strbuf_str(b, type);
    strbuf_add(b, "\n", 1);
}

static void render_histogram_series(strbuf *b, const metric_family *f, const series *s) {
    uint64_t cum = 0;
    for (size_t i = 0; i <= f->nbuckets; i++) {
        char le[40];
        cum += s->bucket[i];
        if (i < f->nbuckets) format_double(le, sizeof(le), f->bounds[i]);
        else snprintf(le, sizeof(le), "+Inf");
        put_sample_name(b, f, "_bucket", s, le);
        put_u64(b, cum);
        strbuf_add(b, "\n", 1);
    }
    put_sample_name(b, f, "_sum", s, NULL);
    put_double(b, s->value);
    strbuf_add(b, "\n", 1);
    put_sample_name(b, f, "_count", s, NULL);
    put_u64(b, s->count);
    strbuf_add(b, "\n", 1);
}

/* Call with the lock held; fnval is fn(arg) for a gauge-function family. */
static void render_family(strbuf *b, const metric_family *f, double fnval) {
    if (f->fn) {
        put_header(b, f->name, f->help, kind_names[f->kind]);
        strbuf_str(b, f->name);
        strbuf_add(b, " ", 1);
        put_double(b, fnval);
        strbuf_add(b, "\n", 1);
        return;
    }
    /* A labelled family nobody has updated yet has no samples to show. */
    if (f->nseries == 0) return;
    put_header(b, f->name, f->help, kind_names[f->kind]);
    for (size_t i = 0; i < f->nseries; i++) {
        const series *s = f->series[i];
        if (f->kind == K_HISTOGRAM) {
            render_histogram_series(b, f, s);
        } else {
            put_sample_name(b, f, NULL, s, NULL);
            put_double(b, s->value);
            strbuf_add(b, "\n", 1);
        }
    }
}

char *metrics_render(metrics *m) {
    strbuf b = {0};
    double *fnval = NULL;
    size_t n;

    if (!m) return NULL;
    pthread_mutex_lock(&m->lock);
    n = m->nfam;
    pthread_mutex_unlock(&m->lock);

    /* Gauge functions run unlocked so that a slow or re-entrant one cannot
     * stall or deadlock the threads that update metrics. Families below n
     * are complete and never change their fn/arg. */
    if (!(fnval = calloc(n ? n : 1, sizeof(*fnval)))) return NULL;
    for (size_t i = 0; i < n; i++) {
        metric_family *f = m->fam[i];
        if (f->fn) fnval[i] = f->fn(f->arg);
    }

    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < n; i++) render_family(&b, m->fam[i], fnval[i]);
    put_header(&b, OVERFLOW_NAME,
               "Metric updates and registrations dropped because the registry was full",
               "counter");
    strbuf_str(&b, OVERFLOW_NAME "{kind=\"family\"} ");
    put_u64(&b, m->dropped_families);
    strbuf_str(&b, "\n" OVERFLOW_NAME "{kind=\"series\"} ");
    put_u64(&b, m->dropped_series);
    strbuf_add(&b, "\n", 1);
    pthread_mutex_unlock(&m->lock);

    free(fnval);
    if (b.failed) {
        strbuf_free(&b);
        return NULL;
    }
    return b.s;
}
