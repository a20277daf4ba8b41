/* inspect.c - muster status, incident list/show and wait: reading Redis */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "cli/cli.h"
#include "cli/remote.h"
#include "cli/table.h"
#include "state/incident.h"
#include "common/kafka.h"
#include "state/retention.h"
#include "common/util.h"

static void print_json(json_t *v) {
    char *text = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text) printf("%s\n", text);
    free(text);
}

/* The dispatchers' consumer lag on the alerts topic: per partition, the
 * high watermark minus the group's committed offset. NULL when Kafka does
 * not answer within a few seconds (status still shows the rest). */
static json_t *consumer_lag(const config *cfg) {
    char err[512];
    rd_kafka_conf_t *conf = kafka_conf_new(cfg, err, sizeof(err));
    if (!conf) return NULL;
    rd_kafka_conf_set(conf, "group.id", cfg->kafka_group, err, sizeof(err));
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    json_t *out = NULL;
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, cfg->kafka_alerts_topic, NULL);
    if (t && rd_kafka_metadata(rk, 0, t, &md, 3000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        md->topic_cnt == 1 && !md->topics[0].err) {
        rd_kafka_topic_partition_list_t *parts =
            rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
        for (int i = 0; i < md->topics[0].partition_cnt; i++)
            rd_kafka_topic_partition_list_add(parts, cfg->kafka_alerts_topic, md->topics[0].partitions[i].id);
        if (rd_kafka_committed(rk, parts, 3000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            out = json_object();
            json_int_t total = 0;
            for (int i = 0; i < parts->cnt; i++) {
                int64_t low = 0, high = 0;
                if (rd_kafka_query_watermark_offsets(rk, cfg->kafka_alerts_topic, parts->elems[i].partition,
                                                     &low, &high, 3000))
                    continue;
                int64_t at = parts->elems[i].offset >= 0 ? parts->elems[i].offset : low;
                char key[16];
                snprintf(key, sizeof(key), "%d", (int)parts->elems[i].partition);
                json_object_set_new(out, key, json_integer(high - at));
                total += high - at;
            }
            json_object_set_new(out, "total", json_integer(total));
        }
        rd_kafka_topic_partition_list_destroy(parts);
    }
    if (md) rd_kafka_metadata_destroy(md);
    if (t) rd_kafka_topic_destroy(t);
    rd_kafka_destroy(rk);
    return out;
}

/* Younger than this, an event or an alert is on its way, not a backlog. */
#define IN_FLIGHT_MS 5000
/* Most outbox entries status reads to tell their age. */
#define AGE_SCAN_MAX 10000

/* The outbox's entries older than IN_FLIGHT_MS (stream ids start with the
 * ms they were added at), at most AGE_SCAN_MAX + 1. */
static long long outbox_backlog(const config *cfg) {
    char cutoff[32];
    long long n = 0;
    store *s = cli_store(cfg);
    if (!s) return 0;
    snprintf(cutoff, sizeof(cutoff), "%lld", (long long)(now_ms() - IN_FLIGHT_MS));
    redisReply *r = store_command(s, "XRANGE %s:outbox - %s COUNT %d", store_prefix(s), cutoff,
                                  AGE_SCAN_MAX + 1);
    if (r && r->type == REDIS_REPLY_ARRAY) n = (long long)r->elements;
    if (r) freeReplyObject(r);
    store_close(s);
    return n;
}

/* The lag's total over partitions. */
static long long lag_total(const json_t *lag) {
    return (long long)json_integer_value(json_object_get(lag, "total"));
}

static void print_queues(const json_t *st) {
    const char *k;
    json_t *v;
    char c[3][24];
    const char *head[] = {"QUEUE", "WAITING", "IN FLIGHT", "TOTAL"};
    table *t = table_new(4, head);
    json_object_foreach(json_object_get(st, "queues"), k, v) {
        snprintf(c[0], sizeof(c[0]), "%lld", (long long)json_integer_value(json_object_get(v, "waiting")));
        snprintf(c[1], sizeof(c[1]), "%lld", (long long)json_integer_value(json_object_get(v, "in_flight")));
        snprintf(c[2], sizeof(c[2]), "%lld", (long long)json_integer_value(json_object_get(v, "length")));
        const char *row[] = {k, c[0], c[1], c[2]};
        if (t) table_add(t, row);
    }
    if (t) table_print(t, stdout);
    table_free(t);
    const char *whead[] = {"WORKER", "LAST SEEN"};
    t = table_new(2, whead);
    json_object_foreach(json_object_get(st, "workers"), k, v) {
        snprintf(c[0], sizeof(c[0]), "%.1fs ago",
                 (double)json_integer_value(json_object_get(v, "last_seen_ms_ago")) / 1000.0);
        const char *row[] = {k, c[0]};
        if (t) table_add(t, row);
    }
    printf("\n");
    if (t) table_print(t, stdout);
    table_free(t);
}

/* The dispatchers' record of alerts the broker deleted before they were
 * read (dispatcher/intake.c): {"topic/partition": {"skipped", "last_ms"}},
 * or NULL when there were none or Redis did not answer. */
static json_t *intake_gaps(store *s) {
    const char *P = store_prefix(s);
    redisReply *r = store_command(s, "HGETALL %s:intake:gaps", P);
    redisReply *t = store_command(s, "HGETALL %s:intake:gap_times", P);
    json_t *gaps = NULL;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements) {
        gaps = json_object();
        for (size_t i = 0; i + 1 < r->elements; i += 2) {
            long long last = 0;
            for (size_t j = 0; t && t->type == REDIS_REPLY_ARRAY && j + 1 < t->elements; j += 2)
                if (strcmp(t->element[j]->str, r->element[i]->str) == 0)
                    last = atoll(t->element[j + 1]->str);
            json_object_set_new(gaps, r->element[i]->str,
                                json_pack("{s:I, s:I}", "skipped",
                                          (json_int_t)atoll(r->element[i + 1]->str), "last_ms",
                                          (json_int_t)last));
        }
    }
    freeReplyObject(r);
    freeReplyObject(t);
    return gaps;
}

static void print_gaps(const json_t *gaps) {
    const char *tp;
    json_t *g;
    if (!gaps || !json_object_size(gaps)) return;
    printf("\nERROR: alerts deleted unread by the broker (lost; see docs/guarantees.md):\n");
    json_object_foreach((json_t *)gaps, tp, g) {
        char when[40];
        format_rfc3339((int64_t)json_integer_value(json_object_get(g, "last_ms")), when,
                       sizeof(when));
        printf("  %s: %lld offset(s), last at %s\n", tp,
               (long long)json_integer_value(json_object_get(g, "skipped")), when);
    }
}

/* The counts every status shows, after the queues. */
static void print_counts(const json_t *st) {
    printf("\nincidents: %lld (%lld open)   retries waiting: %lld   dead tasks: %lld   "
           "manual steps waiting: %lld\n",
           (long long)json_integer_value(json_object_get(st, "incidents")),
           (long long)json_integer_value(json_object_get(st, "open_incidents")),
           (long long)json_integer_value(json_object_get(st, "delayed")),
           (long long)json_integer_value(json_object_get(st, "dead")),
           (long long)json_integer_value(json_object_get(st, "manual_waiting")));
    printf("finished incidents kept for retention: %lld   expired so far: %lld\n",
           (long long)json_integer_value(json_object_get(st, "finished_incidents")),
           (long long)json_integer_value(json_object_get(st, "expired_incidents")));
    printf("paging timers pending (notifications and escalations): %lld\n",
           (long long)json_integer_value(json_object_get(st, "paging_timers")));
}

/* muster status through muster-api: what Redis says (the API reads no
 * Kafka, so no consumer lag). */
static int status_remote(const config *cfg, int as_json) {
    long status;
    json_t *st = remote_call(cfg, "status", "GET", "/api/v1/status", NULL, &status);
    if (!st) return EXIT_FAIL;
    if (as_json) {
        print_json(st);
    } else {
        print_queues(st);
        print_counts(st);
        printf("events not yet relayed to kafka: %lld\n(through muster-api at %s: the "
               "dispatchers' consumer lag is not shown)\n",
               (long long)json_integer_value(json_object_get(st, "outbox")), cfg->api_url);
    }
    json_decref(st);
    return EXIT_OK;
}

int cmd_status(config *cfg, int argc, char **argv) {
    char err[256];
    if (cli_flag(argc, argv, "--help")) {
        printf("Usage: muster status [--json]\n\n"
               "Queue depths, tasks in flight, workers and their heartbeats, incidents, the\n"
               "dispatchers' consumer lag and the events waiting in the outbox. Alerts and\n"
               "events younger than %ds are in flight (on their way, gone in a moment); older\n"
               "ones are a backlog, something to look at.\n\n"
               "Options:\n  --json  everything as one JSON object\n", IN_FLIGHT_MS / 1000);
        return EXIT_OK;
    }
    if (remote_on(cfg)) return status_remote(cfg, cli_flag(argc, argv, "--json"));
    store *s = cli_store(cfg);
    if (!s) return EXIT_FAIL;
    json_t *st = store_status(s, err, sizeof(err));
    json_t *gaps = st ? intake_gaps(s) : NULL;
    store_close(s);
    if (!st) {
        fprintf(stderr, "muster status: %s\n", err);
        return EXIT_FAIL;
    }
    json_t *lag = consumer_lag(cfg);
    long long lag_backlog = 0, outbox = (long long)json_integer_value(json_object_get(st, "outbox"));
    if (lag && lag_total(lag) > 0) {
        /* Alerts being read now are gone in a moment: look again; lag that has
         * not shrunk a second later is a backlog. */
        usleep(IN_FLIGHT_MS * 1000 / 5);
        json_t *again = consumer_lag(cfg);
        if (again && lag_total(again) >= lag_total(lag)) lag_backlog = lag_total(again);
        json_decref(again);
    }
    long long outbox_old = outbox ? outbox_backlog(cfg) : 0;
    if (outbox_old > outbox) outbox_old = outbox;
    json_object_set_new(st, "consumer_lag", lag ? lag : json_null());
    json_object_set_new(st, "consumer_lag_backlog", json_integer(lag_backlog));
    json_object_set_new(st, "outbox_in_flight", json_integer(outbox - outbox_old));
    json_object_set_new(st, "outbox_backlog", json_integer(outbox_old));
    json_object_set_new(st, "intake_gaps", gaps ? gaps : json_object());
    if (cli_flag(argc, argv, "--json")) {
        print_json(st);
    } else {
        print_queues(st);
        print_counts(st);
        char lag_row[160], n1[24], n2[24], n3[24], n4[24];
        snprintf(lag_row, sizeof(lag_row), "alerts not yet read by %s", cfg->kafka_group);
        snprintf(n1, sizeof(n1), "%lld", lag ? lag_total(lag) - lag_backlog : 0);
        snprintf(n2, sizeof(n2), "%lld", lag_backlog);
        snprintf(n3, sizeof(n3), "%lld", outbox - outbox_old);
        snprintf(n4, sizeof(n4), "%lld%s", outbox_old, outbox_old > AGE_SCAN_MAX ? "+" : "");
        const char *head[] = {"", "IN FLIGHT", "BACKLOG"};
        const char *lag_cells[] = {lag_row, lag ? n1 : "kafka did not answer", lag ? n2 : ""};
        const char *outbox_cells[] = {"events not yet relayed to kafka", n3, n4};
        table *t = table_new(3, head);
        if (t && table_add(t, lag_cells) == 0 && table_add(t, outbox_cells) == 0) {
            printf("\n");
            table_print(t, stdout);
        }
        table_free(t);
        printf("(in flight: on the way, gone in a moment; backlog: waiting %ds or more; alerts are read\n"
               " from %s)\n", IN_FLIGHT_MS / 1000, cfg->kafka_alerts_topic);
        print_gaps(json_object_get(st, "intake_gaps"));
    }
    json_decref(st);
    return EXIT_OK;
}

static const char *str(const json_t *o, const char *k) {
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

static void print_time(const char *ms_text) {
    char buf[40];
    format_rfc3339(atoll(ms_text), buf, sizeof(buf));
    printf("%s", buf);
}

/* One timeline line: time, event type, step and what matters about it. */
static void print_event(const json_t *ev) {
    const json_t *d = json_object_get(ev, "data");
    const char *type = str(ev, "type");
    char detail[512] = "";
    if (!strncmp(type, "task.", 5)) {
        json_t *out = json_object_get(d, "output");
        json_t *status = json_object_get(out, "status"), *code = json_object_get(out, "exit_code");
        int n = snprintf(detail, sizeof(detail), "%s %s", str(d, "step"), str(d, "action"));
        if (json_object_get(d, "attempt"))
            n += snprintf(detail + n, sizeof(detail) - (size_t)n, " attempt %lld",
                          (long long)json_integer_value(json_object_get(d, "attempt")));
        if (json_object_get(d, "duration_ms"))
            n += snprintf(detail + n, sizeof(detail) - (size_t)n, " %lldms",
                          (long long)json_integer_value(json_object_get(d, "duration_ms")));
        if (json_is_integer(status))
            n += snprintf(detail + n, sizeof(detail) - (size_t)n, " http %lld",
                          (long long)json_integer_value(status));
        /* What a vendor action made: a ticket, a message, an SMS. */
        static const char *const ids[] = {"key", "sys_id", "ts", "sid", "dedup_key", "message_id"};
        for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
            if (json_is_string(json_object_get(out, ids[i])) && n < (int)sizeof(detail) - 64)
                n += snprintf(detail + n, sizeof(detail) - (size_t)n, " %s %.60s", ids[i],
                              json_string_value(json_object_get(out, ids[i])));
        if (json_is_true(json_object_get(out, "deduplicated")))
            n += snprintf(detail + n, sizeof(detail) - (size_t)n, " (sent before: not again)");
        if (code)
            n += snprintf(detail + n, sizeof(detail) - (size_t)n, " exit %lld",
                          (long long)json_integer_value(code));
        if (*str(d, "error"))
            n += snprintf(detail + n, sizeof(detail) - (size_t)n, " error: %s", str(d, "error"));
        if (*str(d, "by")) n += snprintf(detail + n, sizeof(detail) - (size_t)n, " by %s", str(d, "by"));
        /* What the step produced, cut to a line: stdout, or the body. */
        json_t *shown = json_object_get(out, "stdout") ? json_object_get(out, "stdout")
                                                      : json_object_get(out, "body");
        if (shown && !json_is_null(shown) && n < (int)sizeof(detail) - 16) {
            char *text = json_is_string(shown) ? strdup(json_string_value(shown))
                                               : json_dumps(shown, JSON_COMPACT | JSON_ENCODE_ANY);
            if (text) {
                for (char *c = text; *c; c++)
                    if (*c == '\n' || *c == '\r' || *c == '\t') *c = ' ';
                n += snprintf(detail + n, sizeof(detail) - (size_t)n, " -> %.60s%s", text,
                              strlen(text) > 60 ? "..." : "");
                free(text);
            }
        }
        if (*str(d, "reason")) snprintf(detail + n, sizeof(detail) - (size_t)n, " (%s)", str(d, "reason"));
    } else if (!strcmp(type, "incident.acknowledged")) {
        int n = snprintf(detail, sizeof(detail), "by %s via %s after %.1fs", str(d, "by"), str(d, "via"),
                         (double)json_integer_value(json_object_get(d, "ack_ms")) / 1000.0);
        json_t *lvl = json_object_get(d, "level");
        if (json_is_integer(lvl) && n > 0 && (size_t)n < sizeof(detail))
            snprintf(detail + n, sizeof(detail) - (size_t)n, ", at level %lld",
                     (long long)json_integer_value(lvl));
    } else if (!strcmp(type, "workflow.completed")) {
        snprintf(detail, sizeof(detail), "%s %s in %lldms", str(d, "workflow"), str(d, "status"),
                 (long long)json_integer_value(json_object_get(d, "duration_ms")));
    } else {
        snprintf(detail, sizeof(detail), "%s%s%s", str(d, "workflow"), *str(d, "summary") ? " " : "",
                 str(d, "summary"));
    }
    printf("  %s  %-22s %s\n", str(ev, "time"), type, detail);
}

/* The timeline keeps the first few joined (resolved) alerts of an incident
 * (lib.lua) and the incident counts them all in `field`: says how many more
 * there were than the `shown` ones. */
static void print_omitted(const json_t *inc, const char *field, size_t shown, const char *what,
                          const char *topic) {
    long long all = atoll(str(inc, field));
    if (all <= (long long)shown) return;
    char n[32];
    table_thousands(all - (long long)shown, n, sizeof(n));
    printf("  %*s  ... and %s more %s (counted; every one is on %s)\n", 24, "", n, what, topic);
}

static int incident_show_cmd(config *cfg, const char *ref, int as_json) {
    char err[256], idbuf[128];
    json_t *inc;
    const char *id = ref;
    int64_t expired = 0;
    if (remote_on(cfg)) {
        long status;
        if (!strcmp(ref, "latest") && remote_latest(cfg, "incident show", idbuf, sizeof(idbuf)) < 0)
            return EXIT_FAIL;
        if (!strcmp(ref, "latest")) id = idbuf;
        if (!(inc = remote_incident_show(cfg, "incident show", id, &status))) return EXIT_FAIL;
    } else {
        store *s = cli_store(cfg);
        if (!s) return EXIT_FAIL;
        id = cli_incident(s, ref, idbuf, sizeof(idbuf));
        inc = id ? incident_show(s, id, err, sizeof(err)) : NULL;
        expired = id && !inc ? retention_expired_at(s, id) : 0;
        store_close(s);
    }
    if (!id) return EXIT_FAIL;
    if (!inc && expired > 0) {
        char when[40];
        format_rfc3339(expired, when, sizeof(when));
        fprintf(stderr,
                "muster incident show: incident \"%s\" expired at %s, after retention.incidents "
                "(%lldh); its events remain on %s\n",
                id, when, (long long)(cfg->retention_incidents_ms / 3600000), cfg->kafka_events_topic);
        return EXIT_FAIL;
    }
    if (!inc) {
        fprintf(stderr, "muster incident show: %s%s%s\n", err,
                strstr(err, "no incident") ? "; it may have expired after retention.incidents, "
                                             "and its events remain on "
                                           : "",
                strstr(err, "no incident") ? cfg->kafka_events_topic : "");
        return EXIT_FAIL;
    }
    if (as_json) {
        print_json(inc);
        json_decref(inc);
        return EXIT_OK;
    }
    json_t *i = json_object_get(inc, "incident"), *al = json_object_get(i, "alert");
    printf("incident %s  workflow %s  status %s  run %s\n", str(i, "id"), str(i, "workflow"),
           str(i, "status"), str(i, "run"));
    printf("  alert: [%s] %s (source %s, fingerprint %s)\n  opened: ", str(al, "severity"),
           str(al, "summary"), str(al, "source"), str(i, "fingerprint"));
    print_time(str(i, "opened_at"));
    if (*str(i, "acknowledged_at")) {
        printf("\n  acknowledged by %s (%s) at ", str(i, "acknowledged_by"), str(i, "acknowledged_via"));
        print_time(str(i, "acknowledged_at"));
    }
    printf("\ntimeline:\n");
    size_t n, last_joined = (size_t)-1, last_resolved = (size_t)-1, joined = 0, resolved = 0;
    json_t *ev, *tl = json_object_get(inc, "timeline");
    json_array_foreach(tl, n, ev) {
        if (!strcmp(str(ev, "type"), "incident.alert_joined")) {
            last_joined = n;
            joined++;
        } else if (!strcmp(str(ev, "type"), "incident.alert_resolved")) {
            last_resolved = n;
            resolved++;
        }
    }
    json_array_foreach(tl, n, ev) {
        print_event(ev);
        if (n == last_joined)
            print_omitted(i, "alerts_joined", joined, "joined", cfg->kafka_events_topic);
        if (n == last_resolved)
            print_omitted(i, "alerts_resolved", resolved, "resolved", cfg->kafka_events_topic);
    }
    json_decref(inc);
    return EXIT_OK;
}

int cmd_incident(config *cfg, int argc, char **argv) {
    int as_json = cli_flag(argc, argv, "--json");
    if (argc < 2 || cli_flag(argc, argv, "--help")) {
        printf("Usage: muster incident list [--limit N] [--json]\n"
               "       muster incident show ID|latest [--json]\n\n"
               "Lists the newest incidents with their workflow, status, run and alert, or\n"
               "shows one incident and its timeline: every event of its runs, in order\n"
               "(of its joined and resolved alerts the first 10 each, and how many more).\n"
               "'latest' is the newest incident. A finished incident expires after\n"
               "retention.incidents (muster gc); its events remain on the events topic.\n\n"
               "Options:\n  --limit N  list at most N incidents (default 50)\n"
               "  --json     print JSON instead of text\n");
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    if (!strcmp(argv[1], "show")) {
        if (argc < 3) {
            fprintf(stderr, "muster incident show: which incident?\n");
            return EXIT_USAGE;
        }
        return incident_show_cmd(cfg, argv[2], as_json);
    }
    if (strcmp(argv[1], "list") != 0) {
        fprintf(stderr, "muster incident: unknown subcommand '%s'\n", argv[1]);
        return EXIT_USAGE;
    }
    const char *limit = cli_option(argc, argv, "--limit");
    json_t *list;
    if (remote_on(cfg)) {
        char path[64];
        long status, n = limit ? atol(limit) : 50;
        snprintf(path, sizeof(path), "/api/v1/incidents?limit=%ld", n < 1 ? 1 : n > 200 ? 200 : n);
        json_t *doc = remote_call(cfg, "incident list", "GET", path, NULL, &status);
        if (!doc) return EXIT_FAIL;
        list = json_incref(json_object_get(doc, "incidents"));
        json_decref(doc);
        if (!list) list = json_array();
    } else {
        store *s = cli_store(cfg);
        if (!s) return EXIT_FAIL;
        list = incident_list(s, limit ? (size_t)atoi(limit) : 50);
        store_close(s);
        if (!list) {
            fprintf(stderr, "muster incident list: redis not reachable\n");
            return EXIT_FAIL;
        }
    }
    if (as_json) {
        print_json(list);
    } else {
        size_t n;
        json_t *i;
        const char *head[] = {"ID", "WORKFLOW", "STATUS", "RUN", "SEVERITY", "SUMMARY"};
        table *t = table_new(6, head);
        json_array_foreach(list, n, i) {
            const char *row[] = {str(i, "id"),  str(i, "workflow"), str(i, "status"),
                                 str(i, "run"), str(i, "severity"), str(i, "summary")};
            if (t) table_add(t, row);
        }
        if (t) table_print(t, stdout);
        table_free(t);
    }
    json_decref(list);
    return EXIT_OK;
}

/* More incidents than this are not read: wait refuses to wait for them. */
#define WAIT_MAX_INCIDENTS 100000

int cmd_wait(config *cfg, int argc, char **argv) {
    const char *count = cli_option(argc, argv, "--incidents");
    const char *timeout = cli_option(argc, argv, "--timeout");
    const char *resolved_opt = cli_option(argc, argv, "--resolved");
    int64_t limit = 60000;
    int help = cli_flag(argc, argv, "--help");
    if (help || !count) {
        fprintf(help ? stdout : stderr,
                "Usage: muster wait --incidents N [--resolved M] [--timeout 60s]\n\n"
                "Waits until at least N incidents exist (and at least M of them resolved)\n"
                "and every workflow run, on_resolve steps included, has finished. On a\n"
                "terminal it shows its progress on stderr. Exit 0 when all runs succeeded,\n"
                "1 when one failed, 3 on timeout.\n\n"
                "Options:\n  --incidents N   incidents to wait for (needed)\n"
                "  --resolved M    of them resolved, their on_resolve steps done (default 0)\n"
                "  --timeout D     give up after D (250ms, 10s, 5m; default 60s)\n");
        return help ? EXIT_OK : EXIT_USAGE;
    }
    if (timeout && duration_parse(timeout, &limit) < 0) {
        fprintf(stderr, "muster wait: bad --timeout '%s'\n", timeout);
        return EXIT_USAGE;
    }
    size_t want = (size_t)atoi(count), want_resolved = resolved_opt ? (size_t)atoi(resolved_opt) : 0;
    if (want > WAIT_MAX_INCIDENTS || want_resolved > want) {
        fprintf(stderr, "muster wait: --incidents takes at most %d, --resolved at most --incidents\n",
                WAIT_MAX_INCIDENTS);
        return EXIT_USAGE;
    }
    int64_t end = mono_ms() + limit;
    store *s = cli_store(cfg);
    if (!s) return EXIT_FAIL;
    int rc = EXIT_TIMEOUT, tty = isatty(STDERR_FILENO);
    while (mono_ms() < end) {
        json_t *list = incident_list(s, WAIT_MAX_INCIDENTS);
        size_t n, running = 0, failed = 0, resolved = 0;
        json_t *i;
        json_array_foreach(list, n, i) {
            if (!strcmp(str(i, "run"), "running")) running++;
            if (!strcmp(str(i, "run"), "failed")) failed++;
            if (!strcmp(str(i, "status"), "resolved")) resolved++;
        }
        size_t total = json_array_size(list);
        json_decref(list);
        if (tty) {
            size_t finished = total - running;
            fprintf(stderr, "\r%zu/%zu incident(s) finished", finished < want ? finished : want, want);
            if (want_resolved) fprintf(stderr, ", %zu/%zu resolved", resolved < want_resolved ? resolved : want_resolved,
                                       want_resolved);
            fprintf(stderr, "%s", failed ? " (a run failed)" : "");
        }
        if (total >= want && resolved >= want_resolved && running == 0) {
            if (tty) fprintf(stderr, "\n");
            rc = failed ? EXIT_FAIL : EXIT_OK;
            printf("%zu incident(s): %zu succeeded, %zu failed\n", total, total - failed, failed);
            break;
        }
        usleep(200 * 1000);
    }
    if (rc == EXIT_TIMEOUT) fprintf(stderr, "%smuster wait: timed out\n", tty ? "\n" : "");
    store_close(s);
    return rc;
}
