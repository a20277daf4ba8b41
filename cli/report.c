/* report.c - muster report: the four yardsticks (MTTA, MTTR, automation) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "common/incident.h"
#include "common/util.h"
#include "metrics/kpi.h"

/* The totals kpi_report() gives over every workflow, severity and service. */
typedef struct totals {
    long long opened, automated, manual;
    long long mtta_count, mtta_sum_ms, mttr_count, mttr_sum_ms;
} totals;

/* Mean seconds as JSON: null without observations. */
static json_t *mean_s(long long sum_ms, long long count) {
    return count ? json_real((double)sum_ms / 1000.0 / (double)count) : json_null();
}

static void print_mean(const char *name, const char *what, long long sum_ms, long long count) {
    if (count)
        printf("%-34s %.3fs (over %lld incident(s) %s)\n", name, (double)sum_ms / 1000.0 / (double)count,
               count, what);
    else
        printf("%-34s - (no incident %s yet)\n", name, what);
}

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

int cmd_report(config *cfg, int argc, char **argv) {
    if (cli_flag(argc, argv, "--help")) {
        printf("Usage: muster report [--json]\n\n"
               "The four yardsticks of incident response, over every incident counted so far:\n"
               "MTTA (opening to first acknowledgement), MTTR (opening to resolution),\n"
               "automated actions per incident and manual tasks done. muster-metrics counts\n"
               "them from muster.events into Redis ('muster up' runs it); this waits up to 5 s\n"
               "for the last events to be counted, then reads them.\n\n"
               "Options:\n  --json  the figures as one JSON object\n");
        return EXIT_OK;
    }
    store *s = cli_store(cfg);
    if (!s) return EXIT_FAIL;
    int settled = settle(s);
    char err[256];
    json_t *kpi = NULL;
    int got = kpi_report(s, 0, NULL, &kpi, err, sizeof(err));
    store_close(s);
    if (got < 0) {
        fprintf(stderr, "muster report: %s\n", err);
        return EXIT_FAIL;
    }
    /* The one row over every workflow, severity and service. */
    const json_t *all = json_array_get(json_object_get(kpi, "rows"), 0);
    totals t = {
        .opened = json_integer_value(json_object_get(all, "incidents")),
        .automated = json_integer_value(json_object_get(all, "automated")),
        .manual = json_integer_value(json_object_get(all, "manual")),
        .mtta_count = json_integer_value(json_object_get(all, "acknowledged")),
        .mttr_count = json_integer_value(json_object_get(all, "resolved")),
    };
    /* The means back as sums, so the text keeps its three decimals. */
    t.mtta_sum_ms = (long long)(json_number_value(json_object_get(all, "mtta_mean_s")) * 1000.0 *
                                (double)t.mtta_count + 0.5);
    t.mttr_sum_ms = (long long)(json_number_value(json_object_get(all, "mttr_mean_s")) * 1000.0 *
                                (double)t.mttr_count + 0.5);
    json_decref(kpi);
    double per = t.opened ? (double)t.automated / (double)t.opened : 0;
    if (cli_flag(argc, argv, "--json")) {
        json_t *o = json_pack("{s:I, s:I, s:I, s:o, s:o, s:I, s:o, s:I}", "incidents", (json_int_t)t.opened,
                              "acknowledged", (json_int_t)t.mtta_count, "resolved", (json_int_t)t.mttr_count,
                              "mtta_seconds", mean_s(t.mtta_sum_ms, t.mtta_count), "mttr_seconds",
                              mean_s(t.mttr_sum_ms, t.mttr_count), "automated_actions",
                              (json_int_t)t.automated, "automated_actions_per_incident",
                              t.opened ? json_real(per) : json_null(), "manual_tasks", (json_int_t)t.manual);
        char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (text) printf("%s\n", text);
        free(text);
        json_decref(o);
        return EXIT_OK;
    }
    printf("%-34s %lld\n", "incidents", t.opened);
    print_mean("MTTA (mean time to acknowledge)", "acknowledged", t.mtta_sum_ms, t.mtta_count);
    print_mean("MTTR (mean time to resolve)", "resolved", t.mttr_sum_ms, t.mttr_count);
    if (t.opened)
        printf("%-34s %.1f (%lld in all)\n", "automated actions per incident", per, t.automated);
    else
        printf("%-34s - (no incident yet)\n", "automated actions per incident");
    printf("%-34s %lld\n", "manual tasks done", t.manual);
    if (!settled) printf("(events were still on their way after %ds: muster-metrics may not have counted them all)\n",
                         SETTLE_MS / 1000);
    return EXIT_OK;
}
