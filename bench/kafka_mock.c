/* kafka_mock.c - bench-kafka-mock: librdkafka's mock cluster as the bench's embedded Kafka */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static volatile sig_atomic_t stop = 0;
static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

static void usage(FILE *out) {
    fprintf(out,
            "Usage: bench-kafka-mock --bootstrap-file FILE [--partitions N] TOPIC[:P]...\n\n"
            "Runs librdkafka's mock cluster (one broker, loopback) in this process, the\n"
            "way `muster up` embeds it, creates each TOPIC with P partitions (default N,\n"
            "default 3), writes the bootstrap address to FILE (atomically) and serves\n"
            "until SIGTERM. The mock keeps only the newest ~5 MB of each partition.\n");
}

int main(int argc, char **argv) {
    const char *file = NULL;
    int partitions = 3, first = argc;
    char err[512];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--bootstrap-file") == 0 && i + 1 < argc) {
            file = argv[++i];
        } else if (strcmp(argv[i], "--partitions") == 0 && i + 1 < argc) {
            partitions = atoi(argv[++i]);
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-') {
            usage(stderr);
            return 2;
        } else {
            first = i;
            break;
        }
    }
    if (!file || partitions < 1 || partitions > 64) {
        usage(stderr);
        return 2;
    }
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "bench-kafka-mock: %s\n", err);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, 1);
    if (!mc) {
        fprintf(stderr, "bench-kafka-mock: cannot start the mock cluster\n");
        rd_kafka_destroy(rk);
        return 1;
    }
    for (int i = first; i < argc; i++) {
        char name[256];
        int np = partitions;
        const char *colon = strrchr(argv[i], ':');
        size_t len = colon ? (size_t)(colon - argv[i]) : strlen(argv[i]);
        if (colon) np = atoi(colon + 1);
        if (len == 0 || len >= sizeof(name) || np < 1 || np > 64) {
            fprintf(stderr, "bench-kafka-mock: bad topic %s\n", argv[i]);
            goto out;
        }
        memcpy(name, argv[i], len);
        name[len] = '\0';
        if (rd_kafka_mock_topic_create(mc, name, np, 1)) {
            fprintf(stderr, "bench-kafka-mock: cannot create topic %s\n", name);
            goto out;
        }
    }
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", file);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%s\n", rd_kafka_mock_cluster_bootstraps(mc)) < 0 || fclose(f) != 0 ||
        rename(tmp, file) != 0) {
        fprintf(stderr, "bench-kafka-mock: cannot write %s\n", file);
        goto out;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    while (!stop) rd_kafka_poll(rk, 200);
out:
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
