/* events.c - bench-events: reads muster.events and measures latencies and completion rates */
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#define MAX_PARTITIONS 256
#define MAX_WINDOWS 8

/* SIGTERM: read what is already on the topic, then report (finish);
 * SIGINT: report at once (stop). */
static volatile sig_atomic_t stop = 0, finish = 0;
static void on_signal(int sig) {
    if (sig == SIGTERM) finish = 1;
    else stop = 1;
}

static int64_t mono_ms_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "2026-11-24T20:20:59.448Z" -> ms since the epoch; -1 when malformed. */
static int64_t parse_time(const char *s) {
    struct tm tm;
    int ms = 0, n = 0;
    memset(&tm, 0, sizeof(tm));
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
        return -1;
    if (s[n] == '.') sscanf(s + n + 1, "%3d", &ms);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

/* One incident of the run, found by id in an open-addressing table. */
typedef struct incident {
    char *id;
    double due_ms;     /* when its alert was due to be produced (-1: not a bench alert) */
    int64_t opened;    /* incident.opened (the dispatcher recorded it), ms */
    int64_t started;   /* first task.started, ms (0: none yet) */
    int64_t completed; /* workflow.completed, ms (0: none yet) */
} incident;

typedef struct table {
    incident *slots;
    size_t cap, n;
} table;

static uint64_t hash(const char *s) {
    uint64_t h = 14695981039346656037ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static incident *lookup(table *t, const char *id) {
    if ((t->n + 1) * 2 > t->cap) {
        table g = {calloc(t->cap ? t->cap * 2 : 4096, sizeof(incident)), t->cap ? t->cap * 2 : 4096, 0};
        if (!g.slots) return NULL;
        for (size_t i = 0; i < t->cap; i++) {
            if (!t->slots[i].id) continue;
            size_t j = hash(t->slots[i].id) & (g.cap - 1);
            while (g.slots[j].id) j = (j + 1) & (g.cap - 1);
            g.slots[j] = t->slots[i];
            g.n++;
        }
        free(t->slots);
        *t = g;
    }
    size_t j = hash(id) & (t->cap - 1);
    while (t->slots[j].id && strcmp(t->slots[j].id, id) != 0) j = (j + 1) & (t->cap - 1);
    if (!t->slots[j].id) {
        t->slots[j].id = strdup(id);
        t->slots[j].due_ms = -1;
        t->n++;
    }
    return &t->slots[j];
}

typedef struct series {
    int64_t *v;
    size_t n, cap;
} series;

static void push(series *s, int64_t v) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 65536;
        int64_t *nv = realloc(s->v, cap * sizeof(*nv));
        if (!nv) return;
        s->v = nv;
        s->cap = cap;
    }
    s->v[s->n++] = v;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* A latency, or for an alert not finished when the run ended, the least it
 * can be (the time from its due time to the end of the run). */
typedef struct sample {
    double ms;
    int bound;
} sample;

static int cmp_sample(const void *a, const void *b) {
    double x = ((const sample *)a)->ms, y = ((const sample *)b)->ms;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of the sorted samples. When a lower bound ranks
 * at or below it, the true percentile is only known to be at least this:
 * "NAME_at_least": true. */
static void print_pct(const char *name, const sample *v, size_t n, double q) {
    if (n == 0) {
        printf("\"%s\":null,\"%s_at_least\":false", name, name);
        return;
    }
    size_t rank = (size_t)ceil(q * (double)n);
    if (rank < 1) rank = 1;
    int bound = 0;
    for (size_t i = 0; i < rank; i++) bound |= v[i].bound;
    printf("\"%s\":%.2f,\"%s_at_least\":%s", name, v[rank - 1].ms, name, bound ? "true" : "false");
}

static void print_latency(const char *name, sample *v, size_t n, size_t done) {
    qsort(v, n, sizeof(*v), cmp_sample);
    printf("\"%s\":{\"done\":%zu,\"of\":%zu,", name, done, n);
    print_pct("p50", v, n, 0.50);
    printf(",");
    print_pct("p99", v, n, 0.99);
    printf(",");
    print_pct("p999", v, n, 0.999);
    printf(",\"max\":");
    if (n) printf("%.2f}", v[n - 1].ms);
    else printf("null}");
}

static void usage(FILE *out) {
    fprintf(out,
            "Usage: bench-events --brokers B --topic T [--expect N] [--idle-ms I] [--max-ms MS]\n"
            "                    [--window A:B]... [--run ID] [--end-ms E]\n"
            "                    [--finish-file F]\n\n"
            "Reads every event on T (muster.events) from the beginning, as it comes: start\n"
            "it before the load (librdkafka's mock broker keeps only the newest few MB of\n"
            "a partition). Stops once N workflow.completed events were seen, or nothing\n"
            "new came for I ms (default 3000) after reaching the end, or after MS ms\n"
            "(default 120000); on SIGTERM it reads up to the end of every partition first.\n"
            "Prints one JSON object: events by type; task.succeeded per second between\n"
            "its 10th and 90th percentile time (steady state) and within each window\n"
            "[A, B) (wall-clock ms); for the incidents opened by bench-loadgen alerts (of\n"
            "run ID only, with --run), the latency from the alert's due time to\n"
            "incident.opened (recorded by the dispatcher), to the first task.started and\n"
            "to workflow.completed (ms; p50, p99, p99.9 over N). N counts only those\n"
            "incidents. An alert not finished by E (wall-clock ms, when the run was\n"
            "stopped; default: when SIGTERM came, or the end of reading) counts with the\n"
            "least latency it can have: E minus its due time, or E minus S (the last\n"
            "due time) when its incident was never opened; a percentile that rests on\n"
            "one of those is flagged \"_at_least\". F, read at the end, may add lines\n"
            "\"window A B\" and \"sent_until S\" (known only once the load ran).\n");
}

static int64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv) {
    const char *brokers = NULL, *topic = NULL, *only_run = NULL, *finish_file = NULL;
    long long expect = 0, idle_ms = 3000, max_ms = 120000, end_ms = 0, sent_until_ms = 0;
    long long win[MAX_WINDOWS][2];
    size_t nwin = 0;
    char err[512], group[64];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (!v) {
            usage(stderr);
            return 2;
        }
        i++;
        if (strcmp(a, "--brokers") == 0) brokers = v;
        else if (strcmp(a, "--topic") == 0) topic = v;
        else if (strcmp(a, "--expect") == 0) expect = atoll(v);
        else if (strcmp(a, "--idle-ms") == 0) idle_ms = atoll(v);
        else if (strcmp(a, "--max-ms") == 0) max_ms = atoll(v);
        else if (strcmp(a, "--window") == 0 && nwin < MAX_WINDOWS &&
                 sscanf(v, "%lld:%lld", &win[nwin][0], &win[nwin][1]) == 2)
            nwin++;
        else if (strcmp(a, "--run") == 0) only_run = v;
        else if (strcmp(a, "--end-ms") == 0) end_ms = atoll(v);
        else if (strcmp(a, "--finish-file") == 0) finish_file = v;
        else {
            usage(stderr);
            return 2;
        }
    }
    if (!brokers || !topic || expect < 0 || idle_ms <= 0 || max_ms <= 0) {
        usage(stderr);
        return 2;
    }
    snprintf(group, sizeof(group), "bench-events-%ld", (long)time(NULL));
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "group.id", group, err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "client.id", "bench-events", err, sizeof(err))) {
        fprintf(stderr, "bench-events: %s\n", err);
        return 2;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "bench-events: %s\n", err);
        return 1;
    }
    rd_kafka_poll_set_consumer(rk);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    int64_t start = mono_ms_now();
    int np = 0;
    while (np == 0 && !stop && !finish && mono_ms_now() - start < max_ms) {
        const rd_kafka_metadata_t *md = NULL;
        rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
        if (rd_kafka_metadata(rk, 0, t, &md, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (md->topic_cnt == 1 && !md->topics[0].err) np = md->topics[0].partition_cnt;
            rd_kafka_metadata_destroy(md);
        }
        rd_kafka_topic_destroy(t);
        if (np == 0) {
            /* Not created yet: the relay's first event creates it. */
            struct timespec ts = {0, 100 * 1000000};
            nanosleep(&ts, NULL);
        }
    }
    if (np <= 0 || np > MAX_PARTITIONS) {
        fprintf(stderr, "bench-events: topic %s not found\n", topic);
        rd_kafka_destroy(rk);
        return 1;
    }
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(np);
    for (int p = 0; p < np; p++)
        rd_kafka_topic_partition_list_add(l, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);

    table inc = {NULL, 0, 0};
    series succeeded = {NULL, 0, 0};
    json_t *by_type = json_object();
    uint64_t total = 0, unparsed = 0, completed = 0;
    int at_eof[MAX_PARTITIONS] = {0};
    int64_t last_msg = mono_ms_now(), finish_at = 0;
    while (!stop && mono_ms_now() - start < max_ms && (expect == 0 || (long long)completed < expect)) {
        if (finish && !finish_at) {
            finish_at = mono_ms_now();
            if (end_ms <= 0) end_ms = wall_ms();
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) {
            int all = 1;
            for (int p = 0; p < np; p++) all &= at_eof[p];
            if (all && mono_ms_now() - last_msg > (finish_at ? 1000 : idle_ms)) break;
            /* Asked to finish: at most 60 s more. */
            if (finish_at && mono_ms_now() - finish_at > 60000) break;
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (m->partition >= 0 && m->partition < np) at_eof[m->partition] = 1;
            rd_kafka_message_destroy(m);
            continue;
        }
        if (m->err) {
            fprintf(stderr, "bench-events: %s\n", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        if (m->partition >= 0 && m->partition < np) at_eof[m->partition] = 0;
        last_msg = mono_ms_now();
        total++;
        json_t *ev = json_loadb(m->payload, m->len, 0, NULL);
        rd_kafka_message_destroy(m);
        const char *type = json_string_value(json_object_get(ev, "type"));
        const char *subject = json_string_value(json_object_get(ev, "subject"));
        int64_t t = parse_time(json_string_value(json_object_get(ev, "time")));
        if (!type || !subject || t < 0) {
            unparsed++;
            json_decref(ev);
            continue;
        }
        json_t *cnt = json_object_get(by_type, type);
        json_object_set_new(by_type, type, json_integer(cnt ? json_integer_value(cnt) + 1 : 1));
        incident *r = lookup(&inc, subject);
        if (!r) break;
        if (strcmp(type, "incident.opened") == 0) {
            const char *summary =
                json_string_value(json_object_get(json_object_get(ev, "data"), "summary"));
            char run[64];
            long long seq;
            int64_t due_us;
            if (summary && sscanf(summary, "bench %63s %lld %" SCNd64, run, &seq, &due_us) == 3 &&
                (!only_run || strcmp(run, only_run) == 0))
                r->due_ms = (double)due_us / 1000.0;
            r->opened = t;
        } else if (strcmp(type, "task.started") == 0) {
            if (!r->started || t < r->started) r->started = t;
        } else if (strcmp(type, "task.succeeded") == 0) {
            push(&succeeded, t);
        } else if (strcmp(type, "workflow.completed") == 0) {
            if (!r->completed && r->due_ms >= 0) completed++;
            r->completed = t;
        }
        json_decref(ev);
    }
    int64_t read_ms = mono_ms_now() - start;

    /* Completion rate: task.succeeded times, steady state and in a window. */
    qsort(succeeded.v, succeeded.n, sizeof(int64_t), cmp_i64);
    double steady = 0;
    if (succeeded.n >= 100) {
        size_t a = succeeded.n / 10, b = succeeded.n * 9 / 10;
        int64_t span = succeeded.v[b] - succeeded.v[a];
        if (span > 0) steady = (double)(b - a) * 1000.0 / (double)span;
    }
    /* Latencies of the bench's alerts. */
    if (end_ms <= 0) end_ms = wall_ms();
    FILE *ff = finish_file ? fopen(finish_file, "r") : NULL;
    if (ff) {
        char linebuf[256];
        long long a, b;
        while (fgets(linebuf, sizeof(linebuf), ff)) {
            if (sscanf(linebuf, "window %lld %lld", &a, &b) == 2 && nwin < MAX_WINDOWS) {
                win[nwin][0] = a;
                win[nwin++][1] = b;
            } else if (sscanf(linebuf, "sent_until %lld", &a) == 1) {
                sent_until_ms = a;
            }
        }
        fclose(ff);
    }
    size_t in_window[MAX_WINDOWS] = {0};
    for (size_t w = 0; w < nwin; w++)
        for (size_t i = 0; i < succeeded.n; i++)
            if (succeeded.v[i] >= win[w][0] && succeeded.v[i] < win[w][1]) in_window[w]++;

    size_t nb = 0, ns = 0, nd = 0;
    for (size_t i = 0; i < inc.cap; i++)
        if (inc.slots[i].id && inc.slots[i].due_ms >= 0) nb++;
    size_t population = expect > 0 && (size_t)expect > nb ? (size_t)expect : nb;
    sample *first = calloc(population + 1, sizeof(sample)), *last = calloc(population + 1, sizeof(sample));
    sample *rec = calloc(population + 1, sizeof(sample));
    size_t no = 0;
    size_t k = 0;
    for (size_t i = 0; i < inc.cap; i++) {
        incident *r = &inc.slots[i];
        if (!r->id || r->due_ms < 0) continue;
        double open_for = (double)end_ms - r->due_ms;
        rec[k] = (sample){(double)r->opened - r->due_ms, 0};
        no++;
        first[k] = r->started ? (sample){(double)r->started - r->due_ms, 0} : (sample){open_for, 1};
        last[k] = r->completed ? (sample){(double)r->completed - r->due_ms, 0} : (sample){open_for, 1};
        ns += r->started != 0;
        nd += r->completed != 0;
        k++;
    }
    /* Alerts whose incident never showed up: due at the latest at S. */
    double unseen = sent_until_ms > 0 ? (double)(end_ms - sent_until_ms) : 0;
    for (; k < population; k++) rec[k] = first[k] = last[k] = (sample){unseen > 0 ? unseen : 0, 1};

    char *types = json_dumps(by_type, JSON_COMPACT | JSON_SORT_KEYS);
    printf("{\"events\":%" PRIu64 ",\"unparsed\":%" PRIu64 ",\"read_ms\":%" PRId64
           ",\"by_type\":%s,\"incidents\":%zu,\"completed\":%" PRIu64 ",",
           total, unparsed, read_ms, types ? types : "{}", inc.n, completed);
    printf("\"succeeded\":{\"n\":%zu,\"steady_per_s\":%.1f,\"first_ms\":%" PRId64
           ",\"last_ms\":%" PRId64 ",\"windows\":[",
           succeeded.n, steady, succeeded.n ? succeeded.v[0] : 0,
           succeeded.n ? succeeded.v[succeeded.n - 1] : 0);
    for (size_t w = 0; w < nwin; w++)
        printf("%s{\"from_ms\":%lld,\"to_ms\":%lld,\"n\":%zu,\"per_s\":%.1f}", w ? "," : "",
               win[w][0], win[w][1], in_window[w],
               win[w][1] > win[w][0] ? (double)in_window[w] * 1000.0 / (double)(win[w][1] - win[w][0])
                                     : 0.0);
    printf("]},");
    printf("\"latency_ms\":{\"alerts\":%zu,\"end_ms\":%lld,", population, end_ms);
    print_latency("recorded", rec, population, no);
    printf(",");
    print_latency("first_started", first, population, ns);
    printf(",");
    print_latency("last_done", last, population, nd);
    printf("}}\n");

    free(types);
    free(rec);
    free(first);
    free(last);
    free(succeeded.v);
    for (size_t i = 0; i < inc.cap; i++) free(inc.slots[i].id);
    free(inc.slots);
    json_decref(by_type);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return 0;
}
