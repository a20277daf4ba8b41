/* aggregate.c - counts one event of muster.events, once, into Redis aggregates */
#include "metrics/aggregate.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

/* Action latency: 5 ms to 60 s, the bounds of metrics_seconds_buckets. */
static const int64_t action_bounds[] = {5,    10,   25,   50,    100,   250,  500,
                                        1000, 2500, 5000, 10000, 30000, 60000};
/* Time to acknowledge and to resolve: 10 s to a day. */
static const int64_t incident_bounds[] = {10000,   30000,   60000,    120000,   300000,
                                          600000,  900000,  1800000,  3600000,  7200000,
                                          14400000, 28800000, 86400000};
#define NB(a) (sizeof(a) / sizeof(a[0]))

#define INCIDENT_LABELS {"workflow", "severity", "service", NULL}

const agg_family aggregate_families[] = {
    {"opened", 3, INCIDENT_LABELS, 0, NULL, 0, "muster_incidents_opened_total",
     "Incidents opened"},
    {"mtta", 3, INCIDENT_LABELS, 1, incident_bounds, NB(incident_bounds),
     "muster_incident_time_to_acknowledge_seconds",
     "Time from an incident's opening to its first acknowledgement (MTTA)"},
    {"pmtta", 3, INCIDENT_LABELS, 1, incident_bounds, NB(incident_bounds),
     "muster_incident_time_to_person_acknowledge_seconds",
     "Time from an incident's opening to its first acknowledgement by a person (Slack, SMS, "
     "phone, link, CLI or HTTP; not PagerDuty or another system)"},
    {"acks", 2, {"level", "channel", NULL}, 0, NULL, 0, "muster_acknowledgements_total",
     "Incidents acknowledged, by the escalation level and the channel of the first "
     "acknowledgement"},
    {"escalations", 3, INCIDENT_LABELS, 0, NULL, 0, "muster_escalations_total",
     "Escalations of a page to its next level"},
    {"pages", 3, INCIDENT_LABELS, 0, NULL, 0, "muster_pages_total",
     "Pages sent to a person, each person, level and channel once"},
    {"pages_by_channel", 1, {"channel", NULL}, 0, NULL, 0, "muster_pages_by_channel_total",
     "Pages sent to a person, by channel (slack, sms, phone, email, teams)"},
    {"mttr", 3, INCIDENT_LABELS, 1, incident_bounds, NB(incident_bounds),
     "muster_incident_time_to_resolve_seconds",
     "Time from an incident's opening to its resolution (MTTR)"},
    {"automated", 3, INCIDENT_LABELS, 0, NULL, 0, "muster_automated_actions_total",
     "Automated steps that succeeded, once per task"},
    {"manual", 3, INCIDENT_LABELS, 0, NULL, 0, "muster_manual_tasks_total",
     "Manual steps a person marked done, once per task"},
    {"g_attempts", 3, INCIDENT_LABELS, 0, NULL, 0, NULL, NULL},
    {"g_failed", 3, INCIDENT_LABELS, 0, NULL, 0, NULL, NULL},
    {"g_retries", 3, INCIDENT_LABELS, 0, NULL, 0, NULL, NULL},
    {"g_dead", 3, INCIDENT_LABELS, 0, NULL, 0, NULL, NULL},
    {"attempts", 2, {"action", "outcome", NULL}, 0, NULL, 0, "muster_action_attempts_total",
     "Attempts of steps, by action type and outcome (succeeded or failed)"},
    {"duration", 2, {"action", "outcome", NULL}, 1, action_bounds, NB(action_bounds),
     "muster_action_duration_seconds", "How long one attempt of a step took"},
    {"retries", 1, {"action", NULL}, 0, NULL, 0, "muster_task_retries_total",
     "Failed attempts that were scheduled to be tried again"},
    {"deaths", 2, {"action", "reason", NULL}, 0, NULL, 0, "muster_task_deaths_total",
     "Tasks that became dead (out of attempts, permanent error, poison)"},
    {"events", 2, {"type", "result", NULL}, 0, NULL, 0, "muster_aggregator_events_total",
     "Events read from muster.events, counted or recognised as duplicates"},
};
const size_t aggregate_nfamilies = NB(aggregate_families);

const agg_family *aggregate_family(const char *code) {
    for (size_t i = 0; i < aggregate_nfamilies; i++)
        if (strcmp(aggregate_families[i].code, code) == 0) return &aggregate_families[i];
    return NULL;
}

size_t aggregate_split(char *field, char **parts, size_t max) {
    size_t n = 0;
    char *p = field;
    for (;;) {
        if (n == max) return max + 1;
        parts[n++] = p;
        char *tab = strchr(p, '\t');
        if (!tab) return n;
        *tab = '\0';
        p = tab + 1;
    }
}

/* Reads exactly `digits` digits at *p into *out. */
static int digits_at(const char **p, int digits, int *out) {
    int v = 0;
    for (int i = 0; i < digits; i++) {
        if (!isdigit((unsigned char)(*p)[i])) return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += digits;
    *out = v;
    return 0;
}

int aggregate_parse_time(const char *text, int64_t *ms) {
    struct tm tm;
    int y, mo, d, h, mi, s, frac = 0, sign = 0, oh = 0, om = 0;
    const char *p = text;

    if (!text) return -1;
    if (digits_at(&p, 4, &y) < 0 || *p++ != '-' || digits_at(&p, 2, &mo) < 0 || *p++ != '-' ||
        digits_at(&p, 2, &d) < 0 || (*p != 'T' && *p != 't' && *p != ' '))
        return -1;
    p++;
    if (digits_at(&p, 2, &h) < 0 || *p++ != ':' || digits_at(&p, 2, &mi) < 0 || *p++ != ':' ||
        digits_at(&p, 2, &s) < 0)
        return -1;
    if (*p == '.') {
        int n = 0;
        p++;
        if (!isdigit((unsigned char)*p)) return -1;
        for (; isdigit((unsigned char)*p); p++, n++)
            if (n < 3) frac = frac * 10 + (*p - '0');
        for (; n < 3; n++) frac *= 10;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p++ == '-' ? -1 : 1;
        if (digits_at(&p, 2, &oh) < 0 || *p++ != ':' || digits_at(&p, 2, &om) < 0) return -1;
    } else {
        return -1;
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 || oh > 23 ||
        om > 59)
        return -1;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    time_t secs = timegm(&tm);
    if (secs == (time_t)-1) return -1;
    *ms = ((int64_t)secs - sign * (oh * 3600 + om * 60)) * 1000 + frac;
    return 0;
}

/* A string member of obj, "" when absent or not a string. */
static const char *str(const json_t *obj, const char *key) {
    const char *v = json_string_value(json_object_get(obj, key));
    return v ? v : "";
}

/* Joins the bounds as "5,10,25". */
static void join_bounds(const int64_t *b, size_t n, char *out, size_t len) {
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(out + used, len - used, "%s%lld", i ? "," : "", (long long)b[i]);
}

int aggregate_event(store *s, const char *event, size_t len, int64_t now,
                    const kpi_limits *kl, char *err, size_t errlen) {
    json_error_t jerr;
    json_t *ev = NULL;
    redisReply *r = NULL;
    int rc = AGG_INVALID;
    int64_t at;
    char at_s[24], now_s[24], window_s[24], dur_s[24] = "", level_s[24] = "", action_b[256],
        incident_b[256];

    if (len > AGG_EVENT_MAX) {
        snprintf(err, errlen, "event of %zu bytes is larger than %d", len, AGG_EVENT_MAX);
        return AGG_INVALID;
    }
    if (!(ev = json_loadb(event, len, 0, &jerr))) {
        snprintf(err, errlen, "not JSON: %s at line %d column %d", jerr.text, jerr.line,
                 jerr.column);
        return AGG_INVALID;
    }
    const json_t *data = json_object_get(ev, "data");
    const char *id = str(ev, "id"), *type = str(ev, "type");
    const char *incident = str(data, "incident");
    if (!*incident) incident = str(ev, "subject");
    if (strcmp(str(ev, "specversion"), "1.0") != 0) {
        snprintf(err, errlen, "specversion is not \"1.0\"");
        goto out;
    }
    if (!*id || strlen(id) > 256 || !*type || strlen(type) > 128) {
        snprintf(err, errlen, "id or type missing or longer than 256 and 128 bytes");
        goto out;
    }
    if (!json_is_object(data) || !*incident || strlen(incident) > 128) {
        snprintf(err, errlen, "event %s: no data object with an incident", id);
        goto out;
    }
    if (aggregate_parse_time(str(ev, "time"), &at) < 0) {
        snprintf(err, errlen, "event %s: time \"%.64s\" is not RFC 3339", id, str(ev, "time"));
        goto out;
    }
    /* A duration past a year is nonsense; left out, it cannot overflow the
     * sums in Redis (which would refuse the event, and stop the consumer). */
    const json_t *dur = json_object_get(data, "duration_ms");
    if (json_is_integer(dur) && json_integer_value(dur) >= 0 &&
        json_integer_value(dur) <= AGG_DURATION_MAX_MS)
        snprintf(dur_s, sizeof(dur_s), "%lld", (long long)json_integer_value(dur));
    /* The level as text, whether the event wrote it as a number or a string. */
    const json_t *level = json_object_get(data, "level");
    if (json_is_integer(level))
        snprintf(level_s, sizeof(level_s), "%lld", (long long)json_integer_value(level));
    else
        snprintf(level_s, sizeof(level_s), "%s", str(data, "level"));
    snprintf(at_s, sizeof(at_s), "%lld", (long long)at);
    snprintf(now_s, sizeof(now_s), "%lld", (long long)now);
    snprintf(window_s, sizeof(window_s), "%lld", (long long)AGG_DEDUPE_MS);
    join_bounds(action_bounds, NB(action_bounds), action_b, sizeof(action_b));
    join_bounds(incident_bounds, NB(incident_bounds), incident_b, sizeof(incident_b));

    const char *argv[] = {id,
                          type,
                          incident,
                          at_s,
                          now_s,
                          window_s,
                          str(data, "workflow"),
                          str(data, "step"),
                          str(data, "action"),
                          str(data, "severity"),
                          dur_s,
                          str(data, "reason"),
                          action_b,
                          incident_b,
                          str(data, "via"),
                          level_s,
                          str(data, "channel")};
    if (!(r = store_eval(s, SCRIPT_AGGREGATE, (int)NB(argv), argv, err, errlen))) {
        rc = -1;
        goto out;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 || !r->element[0]->str) {
        snprintf(err, errlen, "aggregate: unexpected reply from Redis");
        rc = -1;
        goto out;
    }
    rc = strcmp(r->element[0]->str, "duplicate") == 0 ? AGG_DUPLICATE : AGG_COUNTED;
    /* Also for a repeat: a crash between the two scripts left its figures
     * unfiled, and filing is once per figure (metrics/lua/kpi.lua). */
    static const kpi_limits defaults = KPI_LIMITS_DEFAULT;
    if (kpi_day_file(s, id, type, incident, str(data, "step"), str(data, "outcome"),
                     kl ? kl : &defaults, err, errlen) < 0)
        rc = -1;
out:
    if (r) freeReplyObject(r);
    json_decref(ev);
    return rc;
}
