/* loadgen.c - bench-loadgen: alerts onto Kafka at a fixed open-loop rate, stamped with their due time */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

static volatile sig_atomic_t stop = 0;
static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

static int64_t clock_us(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sleep_until_mono_us(int64_t us) {
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !stop) {
    }
}

typedef struct counts {
    uint64_t delivered, failed;
} counts;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    counts *c = opaque;
    if (m->err) c->failed++;
    else c->delivered++;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void usage(FILE *out) {
    fprintf(out,
            "Usage: bench-loadgen --brokers B --topic T --count N [--rate R] [--max-ms MS]\n"
            "                     [--workflow NAME] [--run ID] [--linger-ms L] [--distinct K]\n\n"
            "Produces N muster generic alerts to T. With --rate R (alerts/s) alert i is due\n"
            "at start + i/R and is sent then, whatever happened to earlier ones (open loop);\n"
            "without it, as fast as librdkafka takes them. Each alert carries its due time\n"
            "(wall clock, microseconds) in its summary, \"bench RUN SEQ DUE_US\", and labels\n"
            "bench=NAME (default noop5), run=ID, n=SEQ (mod K with --distinct K: repeats of\n"
            "a fingerprint join its open incident). Stops after N alerts or MS milliseconds\n"
            "(default 600000), waits up to 10 s for delivery, and prints one JSON object.\n");
}

int main(int argc, char **argv) {
    const char *brokers = NULL, *topic = NULL, *wf = "noop5", *run = "r";
    double rate = 0;
    long long count = 0, max_ms = 600000, linger = 1, distinct = 0;
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
        else if (strcmp(a, "--rate") == 0) rate = atof(v);
        else if (strcmp(a, "--count") == 0) count = atoll(v);
        else if (strcmp(a, "--max-ms") == 0) max_ms = atoll(v);
        else if (strcmp(a, "--workflow") == 0) wf = v;
        else if (strcmp(a, "--run") == 0) run = v;
        else if (strcmp(a, "--linger-ms") == 0) linger = atoll(v);
        else if (strcmp(a, "--distinct") == 0) distinct = atoll(v);
        else {
            usage(stderr);
            return 2;
        }
    }
    if (!brokers || !topic || count <= 0 || count > 10000000 || rate < 0 || max_ms <= 0) {
        usage(stderr);
        return 2;
    }
    counts c = {0, 0};
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char lg[32];
    snprintf(lg, sizeof(lg), "%lld", linger);
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "linger.ms", lg, err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "queue.buffering.max.messages", "2000000", err, sizeof(err)) ||
        rd_kafka_conf_set(conf, "client.id", "bench-loadgen", err, sizeof(err))) {
        fprintf(stderr, "bench-loadgen: %s\n", err);
        return 2;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, &c);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "bench-loadgen: %s\n", err);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    int64_t *late = calloc((size_t)count, sizeof(*late));
    if (!late) return 1;
    int64_t mono0 = clock_us(CLOCK_MONOTONIC), wall0 = clock_us(CLOCK_REALTIME);
    int64_t deadline = mono0 + max_ms * 1000;
    long long sent = 0;
    char payload[512];
    for (long long i = 0; i < count && !stop; i++) {
        int64_t due = rate > 0 ? mono0 + (int64_t)((double)i * 1e6 / rate) : clock_us(CLOCK_MONOTONIC);
        if (due > deadline) break;
        if (rate > 0 && clock_us(CLOCK_MONOTONIC) < due) sleep_until_mono_us(due);
        /* The stamp is when the alert was due, not when it left: a stalled
         * sender must not hide the delay it causes (coordinated omission). */
        int64_t due_wall = wall0 + (due - mono0);
        long long n = distinct > 0 ? i % distinct : i;
        int len = snprintf(payload, sizeof(payload),
                           "{\"source\":\"bench\",\"severity\":\"critical\","
                           "\"summary\":\"bench %s %lld %" PRId64 "\","
                           "\"labels\":{\"bench\":\"%s\",\"run\":\"%s\",\"n\":\"%lld\"}}",
                           run, i, due_wall, wf, run, n);
        for (;;) {
            rd_kafka_resp_err_t rc = rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_VALUE(payload, (size_t)len),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
            if (rc == RD_KAFKA_RESP_ERR_NO_ERROR) break;
            if (rc != RD_KAFKA_RESP_ERR__QUEUE_FULL || stop ||
                clock_us(CLOCK_MONOTONIC) > deadline) {
                fprintf(stderr, "bench-loadgen: produce: %s\n", rd_kafka_err2str(rc));
                goto done;
            }
            rd_kafka_poll(rk, 1);
        }
        late[sent++] = clock_us(CLOCK_MONOTONIC) - due;
        rd_kafka_poll(rk, 0);
    }
done:;
    int64_t sent_us = clock_us(CLOCK_MONOTONIC) - mono0;
    rd_kafka_flush(rk, 10000);
    int64_t acked_us = clock_us(CLOCK_MONOTONIC) - mono0;
    qsort(late, (size_t)sent, sizeof(*late), cmp_i64);
    double p99 = sent ? (double)late[(size_t)((double)(sent - 1) * 0.99)] / 1000.0 : 0;
    double mx = sent ? (double)late[sent - 1] / 1000.0 : 0;
    printf("{\"produced\":%lld,\"delivered\":%" PRIu64 ",\"failed\":%" PRIu64
           ",\"rate_target\":%.0f,\"rate_sent\":%.1f,\"send_ms\":%.1f,\"acked_ms\":%.1f,"
           "\"start_wall_us\":%" PRId64 ",\"late_ms_p99\":%.3f,\"late_ms_max\":%.3f}\n",
           sent, c.delivered, c.failed, rate, sent_us ? (double)sent * 1e6 / (double)sent_us : 0,
           (double)sent_us / 1000.0, (double)acked_us / 1000.0, wall0, p99, mx);
    free(late);
    rd_kafka_destroy(rk);
    return c.failed || (uint64_t)sent != c.delivered ? 1 : 0;
}
