/* test_kafka.c - the producer muster relays events with, against librdkafka's
 * mock cluster with injected broker errors: every message arrives, once, in
 * order. (Faults a real broker cannot stage on demand.) */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "common/config.h"
#include "common/kafka.h"

#define N 200
#define PRODUCE_API_KEY 0 /* Kafka protocol: Produce */

static int delivered, failed;

static void dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    (void)opaque;
    if (m->err) failed++;
    else delivered++;
}

static void test_produce_survives_broker_errors(void **state) {
    (void)state;
    char err[512];
    rd_kafka_conf_t *mconf = rd_kafka_conf_new();
    rd_kafka_conf_set(mconf, "log_level", "0", err, sizeof(err));
    rd_kafka_t *mrk = rd_kafka_new(RD_KAFKA_PRODUCER, mconf, err, sizeof(err));
    assert_non_null(mrk);
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(mrk, 1);
    assert_non_null(mc);
    assert_int_equal(rd_kafka_mock_topic_create(mc, "events", 1, 1), 0);

    config cfg;
    config_defaults(&cfg);
    assert_int_equal(config_set(&cfg, "kafka.brokers", rd_kafka_mock_cluster_bootstraps(mc), err, sizeof(err)), 0);
    assert_int_equal(config_set(&cfg, "kafka.group", "test-kafka", err, sizeof(err)), 0);
    assert_int_equal(config_set(&cfg, "log.level", "error", err, sizeof(err)), 0);

    /* Retriable errors on the first produce requests: leader moved, timed
     * out, too few replicas. */
    rd_kafka_mock_push_request_errors(mc, PRODUCE_API_KEY, 4, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                      RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                      RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND);
    rd_kafka_t *p = kafka_producer_new(&cfg, dr, NULL, err, sizeof(err));
    assert_non_null(p);
    for (int i = 0; i < N; i++) {
        char v[32];
        int len = snprintf(v, sizeof(v), "%d", i);
        assert_int_equal(rd_kafka_producev(p, RD_KAFKA_V_TOPIC("events"), RD_KAFKA_V_KEY("inc-1", 5),
                                           RD_KAFKA_V_VALUE(v, (size_t)len),
                                           RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
                         0);
        if (i == N / 2)
            rd_kafka_mock_push_request_errors(mc, PRODUCE_API_KEY, 2,
                                              RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                              RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
        rd_kafka_poll(p, 0);
    }
    assert_int_equal(rd_kafka_flush(p, 30000), 0);
    assert_int_equal(delivered, N);
    assert_int_equal(failed, 0);
    rd_kafka_destroy(p);

    /* Read it all back: each message once, in the order produced. */
    rd_kafka_t *c = kafka_consumer_new(&cfg, "events", err, sizeof(err));
    assert_non_null(c);
    int next = 0;
    for (int polls = 0; polls < 300 && next < N; polls++) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
        if (!m) continue;
        if (!m->err) {
            char v[32];
            snprintf(v, sizeof(v), "%.*s", (int)m->len, (const char *)m->payload);
            assert_int_equal(atoi(v), next);
            next++;
        }
        rd_kafka_message_destroy(m);
    }
    assert_int_equal(next, N);
    rd_kafka_message_t *extra = rd_kafka_consumer_poll(c, 500);
    if (extra) {
        assert_true(extra->err != 0); /* nothing but events like partition EOF */
        rd_kafka_message_destroy(extra);
    }
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    config_free(&cfg);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(mrk);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_produce_survives_broker_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
