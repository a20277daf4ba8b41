/* report.c - muster report: the four yardsticks for a period, against the one before */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/remote.h"
#include "state/incident.h"
#include "common/util.h"
#include "metrics/aggregate.h"
#include "metrics/kpi.h"
#include "metrics/kpi_day.h"

#define SETTLE_MS 5000

static long long outbox_and_version(store *s, long long *version) {
    char err[256];
    redisReply *r = store_command(s, "GET %s:agg:version", store_prefix(s));
    *version = r && r->type == REDIS_REPLY_STRING ? atoll(r->str) : 0;
    if (r) freeReplyObject(r);
    json_t *st = store_status(s, err, sizeof(err));
    long long outbox = st ? (long long)json_integer_value(json_object_get(st, "outbox")) : 0;
    json_decref(st);
    return outbox;
}

/* Right after a run its last events are still in the outbox or on Kafka:
 * waits (at most SETTLE_MS) until the outbox is empty and the aggregates
 * stopped changing for a moment. Returns 1 when settled, 0 when not. */
static int settle(store *s) {
    long long before, after;
    for (int64_t end = mono_ms() + SETTLE_MS; mono_ms() < end;) {
        long long outbox = outbox_and_version(s, &before);
        usleep(400 * 1000);
        outbox += outbox_and_version(s, &after);
        if (outbox == 0 && before == after) return 1;
    }
    return 0;
}

/* Seconds as a person reads them: "45.0s", "23m20s", "2h05m", "-". */
static const char *human_s(const json_t *v, char *buf, size_t len) {
    if (!json_is_number(v)) return "-";
    double x = json_number_value(v);
    if (x < 60) snprintf(buf, len, "%.1fs", x);
    else if (x < 3600) snprintf(buf, len, "%dm%02ds", (int)(x / 60), (int)x % 60);
    else snprintf(buf, len, "%dh%02dm", (int)(x / 3600), (int)x % 3600 / 60);
    return buf;
}

static const char *human_n(const json_t *v, char *buf, size_t len) {
    if (!json_is_number(v)) return "-";
    snprintf(buf, len, "%.2f", json_number_value(v));
    return buf;
}

static const char *human_change(const json_t *v, char *buf, size_t len) {
    if (!json_is_number(v)) return "-";
    snprintf(buf, len, "%+.0f%%", json_number_value(v) * 100);
    return buf;
}

static void print_row(const char *key, const json_t *o, int change) {
    char b[7][32];
    const char *n;
    if (change) n = human_change(json_object_get(o, "incidents"), b[0], sizeof(b[0]));
    else snprintf(b[0], sizeof(b[0]), "%lld", (long long)json_integer_value(json_object_get(o, "incidents"))), n = b[0];
    const char *(*t)(const json_t *, char *, size_t) = change ? human_change : human_s;
    const char *(*x)(const json_t *, char *, size_t) = change ? human_change : human_n;
    printf("%-22.22s %9s %9s %9s %9s %9s %10s %10s\n", key, n,
           t(json_object_get(o, "mtta_p50_s"), b[1], sizeof(b[1])),
           t(json_object_get(o, "mtta_mean_s"), b[2], sizeof(b[2])),
           t(json_object_get(o, "mttr_p50_s"), b[3], sizeof(b[3])),
           t(json_object_get(o, "mttr_mean_s"), b[4], sizeof(b[4])),
           x(json_object_get(o, "automated_per_incident"), b[5], sizeof(b[5])),
           x(json_object_get(o, "manual_per_incident"), b[6], sizeof(b[6])));
}

static void print_text(const json_t *rep) {
    const json_t *prev = json_object_get(rep, "previous");
    const char *by = json_string_value(json_object_get(rep, "by"));
    long long days = (long long)json_integer_value(json_object_get(rep, "days"));
    /* The last day the period holds (until is where it ends, exclusive). */
    char last[40] = "?";
    int64_t since_ms;
    if (aggregate_parse_time(json_string_value(json_object_get(rep, "since")), &since_ms) == 0)
        format_rfc3339(since_ms + days * KPI_DAY_MS - 1, last, sizeof(last));
    printf("muster report: %.10s to %.10s, %lld day(s) (incidents by the UTC day they opened),\n"
           "against the %lld day(s) before, from %.10s\n\n",
           json_string_value(json_object_get(rep, "since")), last, days, days,
           json_string_value(json_object_get(prev, "since")));
    printf("%-22s %9s %9s %9s %9s %9s %10s %10s\n", by ? by : "", "incidents", "MTTA p50", "MTTA mean",
           "MTTR p50", "MTTR mean", "automated", "manual");
    size_t i;
    const json_t *row;
    json_array_foreach(json_object_get(rep, "rows"), i, row)
        print_row(json_string_value(json_object_get(row, "key")), row, 0);
    if (by) printf("\n");
    print_row("total", json_object_get(rep, "total"), 0);
    print_row("previous period", prev, 0);
    print_row("change", json_object_get(rep, "change"), 1);
    printf("\nMTTA: opening to the first acknowledgement by a person. automated, manual: per incident\n"
           "(manual: manual steps and operator actions).\n");
}

static const char *const csv_columns[] = {
    "incidents",   "acknowledged", "resolved",  "mtta_p50_s",          "mtta_mean_s",
    "mttr_p50_s",  "mttr_mean_s",  "automated", "manual",              "automated_per_incident",
    "manual_per_incident"};

/* One CSV record (RFC 4180): the key quoted when it needs it, null empty. */
static void csv_row(const char *key, const json_t *o) {
    if (strpbrk(key, ",\"\r\n")) {
        putchar('"');
        for (const char *p = key; *p; p++) {
            if (*p == '"') putchar('"');
            putchar(*p);
        }
        putchar('"');
    } else {
        fputs(key, stdout);
    }
    for (size_t i = 0; i < sizeof(csv_columns) / sizeof(csv_columns[0]); i++) {
        const json_t *v = json_object_get(o, csv_columns[i]);
        if (json_is_integer(v)) printf(",%lld", (long long)json_integer_value(v));
        else if (json_is_number(v)) printf(",%.6g", json_number_value(v));
        else printf(",");
    }
    printf("\r\n");
}

static void print_csv(const json_t *rep) {
    printf("key");
    for (size_t i = 0; i < sizeof(csv_columns) / sizeof(csv_columns[0]); i++) printf(",%s", csv_columns[i]);
    printf("\r\n");
    size_t i;
    const json_t *row;
    json_array_foreach(json_object_get(rep, "rows"), i, row)
        csv_row(json_string_value(json_object_get(row, "key")), row);
    csv_row("total", json_object_get(rep, "total"));
    csv_row("previous", json_object_get(rep, "previous"));
    csv_row("change", json_object_get(rep, "change"));
}

/* --until: an RFC 3339 time, or a date (its midnight, UTC). */
static int parse_until(const char *text, int64_t *ms) {
    char buf[40];
    if (strlen(text) == 10) {
        snprintf(buf, sizeof(buf), "%sT00:00:00Z", text);
        text = buf;
    }
    return aggregate_parse_time(text, ms);
}

int cmd_report(config *cfg, int argc, char **argv) {
    if (cli_flag(argc, argv, "--help")) {
        printf("Usage: muster report [--since 30d] [--until TIME] [--by week|workflow|service|severity]\n"
               "                     [--json|--csv]\n\n"
               "The four yardsticks of incident response for the incidents opened in a period,\n"
               "against the period of the same length before it: MTTA (opening to the first\n"
               "acknowledgement by a person) and MTTR (opening to resolution), p50 and mean;\n"
               "automated actions per incident (steps that succeeded and were not manual) and\n"
               "manual tasks per incident (manual steps and operator actions). muster-metrics\n"
               "files them by the UTC day each incident opened ('muster up' runs it); this waits\n"
               "up to 5 s for the last events to be counted, then reads them; with api.url and\n"
               "api.token set it asks muster-api (/api/v1/kpi) instead.\n\n"
               "Options:\n"
               "  --since DURATION  how long the period is, in whole days (30d, 2w, 12h: 1 day);\n"
               "                    default 30d\n"
               "  --until TIME      where it ends (RFC 3339, or a date: its midnight UTC); default now.\n"
               "                    The period is the days up to the one holding it.\n"
               "  --by WHAT         a row per ISO week, workflow, service or severity\n"
               "  --json            the report as one JSON object (the shape /api/v1/kpi serves)\n"
               "  --csv             the rows, total, previous and change as CSV\n");
        return EXIT_OK;
    }
    const char *since = cli_option(argc, argv, "--since"), *until = cli_option(argc, argv, "--until");
    const char *by_s = cli_option(argc, argv, "--by");
    kpi_query q = {now_ms(), 30 * KPI_DAY_MS, KPI_BY_NONE};
    const char *bad = NULL;
    if (since && (duration_parse(since, &q.since_ms) < 0 || q.since_ms <= 0 ||
                  q.since_ms > KPI_MAX_DAYS * KPI_DAY_MS))
        bad = "--since takes a duration of up to 3660 days (30d, 2w, 12h)";
    else if (until && parse_until(until, &q.until_ms) < 0)
        bad = "--until takes an RFC 3339 time or a date (2026-12-01)";
    else if (by_s && kpi_by_parse(by_s, &q.by) < 0)
        bad = "--by takes week, workflow, service or severity";
    if (bad) {
        fprintf(stderr, "muster report: %s\n", bad);
        return EXIT_USAGE;
    }
    int json = cli_flag(argc, argv, "--json"), csv = cli_flag(argc, argv, "--csv");
    if (json && csv) {
        fprintf(stderr, "muster report: --json or --csv, not both\n");
        return EXIT_USAGE;
    }
    json_t *rep = NULL;
    int settled = 1;
    if (remote_on(cfg)) {
        /* The same kpi_report() in muster-api: the period as two times. */
        char path[256], from[40], to[40];
        long status = 0;
        format_rfc3339(q.until_ms - q.since_ms, from, sizeof(from));
        format_rfc3339(q.until_ms, to, sizeof(to));
        snprintf(path, sizeof(path), "/api/v1/kpi?since=%s&until=%s%s%s", from, to, by_s ? "&by=" : "",
                 kpi_by_name(q.by) ? kpi_by_name(q.by) : "");
        if (!(rep = remote_call(cfg, "report", "GET", path, NULL, &status))) return EXIT_FAIL;
        if (status != 200) {
            json_decref(rep);
            return EXIT_FAIL;
        }
    } else {
        store *s = cli_store(cfg);
        if (!s) return EXIT_FAIL;
        settled = settle(s);
        char err[256];
        int got = kpi_report(s, &q, &rep, err, sizeof(err));
        store_close(s);
        if (got < 0) {
            fprintf(stderr, "muster report: %s\n", err);
            return EXIT_FAIL;
        }
    }
    if (json) {
        char *text = json_dumps(rep, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
        if (text) printf("%s\n", text);
        free(text);
    } else if (csv) {
        print_csv(rep);
    } else {
        print_text(rep);
    }
    json_decref(rep);
    if (!settled)
        fprintf(stderr, "(events were still on their way after %ds: muster-metrics may not have counted them all)\n",
                SETTLE_MS / 1000);
    return EXIT_OK;
}
