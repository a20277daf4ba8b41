/* lag.c - bench-lag: samples a consumer group's lag on a topic (log end minus committed offset) */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#define MAX_SAMPLES 100000
#define MAX_PARTITIONS 256

static volatile sig_atomic_t stop = 0;
static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

static int64_t mono_ms_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int partitions_of(rd_kafka_t *rk, const char *topic) {
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    int n = 0;
    if (t && rd_kafka_metadata(rk, 0, t, &md, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (md->topic_cnt == 1 && !md->topics[0].err) n = md->topics[0].partition_cnt;
        rd_kafka_metadata_destroy(md);
    }
    if (t) rd_kafka_topic_destroy(t);
    return n > MAX_PARTITIONS ? MAX_PARTITIONS : n;
}

/* Log end minus committed offset, summed over partitions; a partition with
 * nothing committed counts from its log start. -1 when Kafka did not answer. */
static int64_t group_lag(rd_kafka_t *rk, const char *topic, int np) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(np);
    int64_t lag = 0;
    for (int p = 0; p < np; p++) rd_kafka_topic_partition_list_add(l, topic, p);
    if (rd_kafka_committed(rk, l, 2000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_topic_partition_list_destroy(l);
        return -1;
    }
    for (int p = 0; p < np; p++) {
        int64_t lo = 0, hi = 0;
        if (rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 2000)) {
            lag = -1;
            break;
        }
        int64_t c = l->elems[p].offset;
        lag += hi - (c >= 0 ? c : lo);
    }
    rd_kafka_topic_partition_list_destroy(l);
    return lag;
}

static void usage(FILE *out) {
    fprintf(out,
            "Usage: bench-lag --brokers B --topic T --group G [--interval-ms I] [--max-ms MS]\n\n"
            "Every I ms (default 250) asks Kafka for the log end of each partition of T\n"
            "and the offsets group G committed, and records the difference (the lag\n"
            "`kafka-consumer-groups --describe` shows). Stops on SIGTERM or after MS\n"
            "(default 600000) and prints one JSON object: max, mean and last lag and the\n"
            "series [seconds, lag] (at most 120 points).\n");
}

int main(int argc, char **argv) {
    const char *brokers = NULL, *topic = NULL, *group = NULL;
    long long interval = 250, max_ms = 600000;
    char err[512];
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
        else if (strcmp(a, "--group") == 0) group = v;
        else if (strcmp(a, "--interval-ms") == 0) interval = atoll(v);
        else if (strcmp(a, "--max-ms") == 0) max_ms = atoll(v);
        else {
            usage(stderr);
            return 2;
        }
    }
    if (!brokers || !topic || !group || interval < 10 || max_ms <= 0) {
        usage(stderr);
        return 2;
    }
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* A group.id lets us read the group's committed offsets; we never
     * subscribe, so we never join the group or take its partitions. */
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "group.id", group, err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "client.id", "bench-lag", err, sizeof(err))) {
        fprintf(stderr, "bench-lag: %s\n", err);
        return 2;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "bench-lag: %s\n", err);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    static int64_t t[MAX_SAMPLES], v[MAX_SAMPLES];
    size_t n = 0;
    int64_t start = mono_ms_now(), next = start;
    int np = 0;
    while (!stop && mono_ms_now() - start < max_ms && n < MAX_SAMPLES) {
        if (np == 0) np = partitions_of(rk, topic);
        int64_t lag = np > 0 ? group_lag(rk, topic, np) : -1;
        if (lag >= 0) {
            t[n] = mono_ms_now() - start;
            v[n++] = lag;
        }
        next += interval;
        while (!stop && mono_ms_now() < next) {
            struct timespec ts = {0, 10 * 1000000};
            nanosleep(&ts, NULL);
        }
    }
    int64_t mx = 0, sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] > mx) mx = v[i];
        sum += v[i];
    }
    printf("{\"samples\":%zu,\"interval_ms\":%lld,\"max\":%" PRId64 ",\"mean\":%.1f,\"last\":%" PRId64
           ",\"series\":[",
           n, interval, mx, n ? (double)sum / (double)n : 0.0, n ? v[n - 1] : 0);
    size_t step = n > 120 ? (n + 119) / 120 : 1;
    for (size_t i = 0, k = 0; i < n; i += step, k++)
        printf("%s[%.2f,%" PRId64 "]", k ? "," : "", (double)t[i] / 1000.0, v[i]);
    printf("]}\n");
    rd_kafka_destroy(rk);
    return 0;
}
