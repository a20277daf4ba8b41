/* rota.c - who is on call: a pure function of schedule, overrides and time */
#include "common/rota.h"

#include <stdlib.h>
#include <string.h>

#define DAY 86400

static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

/* The instant of the k-th handoff of ro (k = 0: its start). */
static time_t handoff(const char *zone, const rotation *ro, int64_t k) {
    return tz_instant(zone, ro->start + k * ro->turn);
}

/* The number of the turn that covers `at`, or -1 before the first. Turn k
 * begins at handoff k; the estimate from the wall clock is off by one at
 * most near a DST change, so it is corrected against the instants. */
static int64_t turn_at(const char *zone, const rotation *ro, time_t at) {
    civil_t c = tz_civil(zone, at);
    int64_t k = floor_div(c - ro->start, ro->turn);
    if (k < 0) k = 0;
    while (k > 0 && handoff(zone, ro, k) > at) k--;
    while (handoff(zone, ro, k + 1) <= at) k++;
    return handoff(zone, ro, k) <= at ? k : -1;
}

/* The instants a restriction window that opens on the civil day `day`
 * (its midnight) covers. */
static void window(const char *zone, const restriction *re, civil_t day, time_t *from, time_t *to) {
    *from = tz_instant(zone, day + re->from * 60);
    *to = tz_instant(zone, day + re->to * 60 + (re->to <= re->from ? DAY : 0));
}

static int wday(civil_t day) { return (int)((floor_div(day, DAY) + 4) % 7); } /* 1970-01-01: Thu */

static bool within(const char *zone, const rotation *ro, time_t at) {
    if (!ro->nlimits) return true;
    civil_t today = floor_div(tz_civil(zone, at), DAY) * DAY;
    for (int d = -1; d <= 1; d++) {
        civil_t day = today + d * DAY;
        for (size_t i = 0; i < ro->nlimits; i++) {
            time_t a, b;
            if (!(ro->limits[i].days & (1u << wday(day)))) continue;
            window(zone, &ro->limits[i], day, &a, &b);
            if (a <= at && at < b) return true;
        }
    }
    return false;
}

int schedule_oncall(const schedule *s, const rota_override *ov, size_t nov, time_t at,
                    oncall_result *out) {
    tz_scope scope;
    memset(out, 0, sizeof(*out));
    out->layer = -1;
    if (!s->timezone) return -1;
    for (size_t i = nov; i-- > 0;) {
        if (ov[i].from <= at && at < ov[i].to) {
            out->who = ov[i].who;
            out->override_id = ov[i].id;
            return 0;
        }
    }
    tz_enter(&scope, s->timezone);
    for (size_t l = s->nlayers; l-- > 0 && !out->who;) {
        const layer *ly = &s->layers[l];
        for (size_t r = 0; r < ly->nrotations && !out->who; r++) {
            const rotation *ro = &ly->rotations[r];
            if (!ro->nwho || ro->turn <= 0 || !within(s->timezone, ro, at)) continue;
            int64_t k = turn_at(s->timezone, ro, at);
            if (k < 0) continue;
            out->who = ro->who[k % (int64_t)ro->nwho];
            out->layer = (int)l;
            out->rotation = (int)r;
        }
    }
    tz_leave(&scope);
    return 0;
}

typedef struct edges {
    time_t *t;
    size_t n, cap;
    time_t from, to;
} edges;

static int edge(edges *e, time_t t) {
    if (t <= e->from || t >= e->to) return 0;
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 256;
        time_t *p = realloc(e->t, cap * sizeof(*p));
        if (!p) return -1;
        e->t = p;
        e->cap = cap;
    }
    e->t[e->n++] = t;
    return 0;
}

static int by_time(const void *a, const void *b) {
    time_t x = *(const time_t *)a, y = *(const time_t *)b;
    return x < y ? -1 : x > y;
}

/* Every instant in (from, to) where a rotation of s may change hands. */
static int rotation_edges(const char *zone, const rotation *ro, edges *e) {
    if (ro->turn <= 0) return 0;
    int64_t k = floor_div(tz_civil(zone, e->from) - ro->start, ro->turn) - 1;
    int64_t last = floor_div(tz_civil(zone, e->to) - ro->start, ro->turn) + 1;
    for (k = k < 0 ? 0 : k; k <= last; k++)
        if (edge(e, handoff(zone, ro, k)) < 0) return -1;
    civil_t first = floor_div(tz_civil(zone, e->from), DAY) * DAY - DAY;
    civil_t end = floor_div(tz_civil(zone, e->to), DAY) * DAY + DAY;
    for (civil_t day = first; day <= end; day += DAY) {
        for (size_t i = 0; i < ro->nlimits; i++) {
            time_t a, b;
            if (!(ro->limits[i].days & (1u << wday(day)))) continue;
            window(zone, &ro->limits[i], day, &a, &b);
            if (edge(e, a) < 0 || edge(e, b) < 0) return -1;
        }
    }
    return 0;
}

static bool same(const oncall_result *a, const oncall_result *b) {
    if (!a->who || !b->who) return !a->who && !b->who;
    return strcmp(a->who, b->who) == 0 && a->layer == b->layer && a->rotation == b->rotation &&
           a->override_id == b->override_id;
}

long schedule_rota(const schedule *s, const rota_override *ov, size_t nov, time_t from,
                   time_t to, rota_span **out) {
    edges e = {NULL, 0, 0, from, to};
    rota_span *spans = NULL;
    long n = -1, cap = 0;
    tz_scope scope;
    *out = NULL;
    if (!s->timezone || to <= from || to - from > (time_t)ROTA_MAX_DAYS * DAY) return -1;
    tz_enter(&scope, s->timezone);
    for (size_t l = 0; l < s->nlayers; l++)
        for (size_t r = 0; r < s->layers[l].nrotations; r++)
            if (rotation_edges(s->timezone, &s->layers[l].rotations[r], &e) < 0) goto out;
    for (size_t i = 0; i < nov; i++)
        if (edge(&e, ov[i].from) < 0 || edge(&e, ov[i].to) < 0) goto out;
    if (e.n) qsort(e.t, e.n, sizeof(*e.t), by_time);
    n = 0;
    for (size_t i = 0; i <= e.n; i++) {
        time_t a = i == 0 ? from : e.t[i - 1], b = i == e.n ? to : e.t[i];
        oncall_result r;
        if (a == b) continue;
        schedule_oncall(s, ov, nov, a, &r);
        if (n > 0 && same(&spans[n - 1].r, &r)) {
            spans[n - 1].to = b;
            continue;
        }
        if (n == ROTA_MAX_SPANS) break;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            rota_span *p = realloc(spans, (size_t)cap * sizeof(*p));
            if (!p) {
                n = -1;
                goto out;
            }
            spans = p;
        }
        spans[n++] = (rota_span){a, b, r};
    }
out:
    tz_leave(&scope);
    free(e.t);
    if (n < 0) free(spans);
    else *out = spans;
    return n;
}
