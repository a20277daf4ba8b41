/* test_intake.c - the dead-letter chain of intake_handle(), against
 * librdkafka's mock cluster and a throwaway Redis: a message too large for
 * the dead-letter topic is written truncated, with its size and SHA-256;
 * one the topic refuses altogether lands in the Redis stream intake:dlq. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "common/kafka.h"
#include "common/sha256.h"
#include "dispatcher/intake.h"
#include "tests/harness/redis_fixture.h"

#define PRODUCE_API_KEY 0 /* Kafka protocol: Produce */
#define BIG (1100 * 1000) /* above the producer's message.max.bytes (1,000,000) */

static redis_fixture fx;
static rd_kafka_t *mrk;
static rd_kafka_mock_cluster_t *mc;
static config cfg;
static volatile sig_atomic_t stop;
static intake in;

static int setup(void **state) {
    (void)state;
    char err[512], port[16];
    if (redis_fixture_start(&fx) < 0) return -1;
    rd_kafka_conf_t *mconf = rd_kafka_conf_new();
    rd_kafka_conf_set(mconf, "log_level", "0", err, sizeof(err));
    if (!(mrk = rd_kafka_new(RD_KAFKA_PRODUCER, mconf, err, sizeof(err)))) return -1;
    if (!(mc = rd_kafka_mock_cluster_new(mrk, 1))) return -1;
    rd_kafka_mock_topic_create(mc, "dlq", 1, 1);
    config_defaults(&cfg);
    snprintf(port, sizeof(port), "%d", fx.port);
    config_set(&cfg, "redis.port", port, err, sizeof(err));
    config_set(&cfg, "kafka.brokers", rd_kafka_mock_cluster_bootstraps(mc), err, sizeof(err));
    config_set(&cfg, "kafka.dlq_topic", "dlq", err, sizeof(err));
    config_set(&cfg, "kafka.group", "test-intake", err, sizeof(err));
    config_set(&cfg, "log.level", "error", err, sizeof(err));
    in.cfg = &cfg;
    in.stop = &stop;
    if (!(in.store = store_open(&cfg, err, sizeof(err)))) return -1;
    if (!(in.producer = kafka_producer_new(&cfg, kafka_sync_dr, NULL, err, sizeof(err)))) return -1;
    return 0;
}

static int teardown(void **state) {
    (void)state;
    rd_kafka_destroy(in.producer);
    store_close(in.store);
    config_free(&cfg);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(mrk);
    redis_fixture_stop(&fx);
    return 0;
}

static const char *header(const rd_kafka_message_t *m, const char *name, char *buf, size_t len) {
    rd_kafka_headers_t *h = NULL;
    const void *v;
    size_t n;
    if (rd_kafka_message_headers(m, &h) || rd_kafka_header_get_last(h, name, &v, &n)) return NULL;
    snprintf(buf, len, "%.*s", (int)n, (const char *)v);
    return buf;
}

static char *big_invalid(void) {
    char *p = malloc(BIG);
    assert_non_null(p);
    memset(p, 'x', BIG);
    p[0] = '{';
    return p;
}

static void test_too_large_goes_truncated(void **state) {
    (void)state;
    char *payload = big_invalid(), sha[SHA256_HEX_LEN], v[128], err[512];
    sha256_hex(payload, BIG, sha);
    assert_int_equal(intake_handle(&in, "alerts", 2, 41, payload, BIG), 0);
    assert_int_equal(in.dead_letters, 1);

    rd_kafka_conf_t *conf = kafka_conf_new(&cfg, err, sizeof(err));
    rd_kafka_conf_set(conf, "group.id", "test-intake-read", err, sizeof(err));
    rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", err, sizeof(err));
    rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    assert_non_null(c);
    rd_kafka_poll_set_consumer(c);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, "dlq", 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(c, l);
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_message_t *m = NULL;
    for (int i = 0; i < 100 && !m; i++) {
        m = rd_kafka_consumer_poll(c, 100);
        if (m && m->err) {
            rd_kafka_message_destroy(m);
            m = NULL;
        }
    }
    assert_non_null(m);
    assert_int_equal(m->len, cfg.dispatcher_dlq_copy_max);
    assert_memory_equal(m->payload, payload, m->len);
    assert_string_equal(header(m, "muster-truncated", v, sizeof(v)), "true");
    assert_string_equal(header(m, "muster-size", v, sizeof(v)), "1100000");
    assert_string_equal(header(m, "muster-sha256", v, sizeof(v)), sha);
    assert_string_equal(header(m, "muster-topic", v, sizeof(v)), "alerts");
    assert_string_equal(header(m, "muster-partition", v, sizeof(v)), "2");
    assert_string_equal(header(m, "muster-offset", v, sizeof(v)), "41");
    assert_string_equal(header(m, "muster-origin", v, sizeof(v)), "alerts/2/41");
    assert_non_null(header(m, "muster-error", v, sizeof(v)));
    rd_kafka_message_destroy(m);
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    free(payload);
}

static void test_refused_goes_to_redis(void **state) {
    (void)state;
    char *payload = big_invalid(), sha[SHA256_HEX_LEN];
    sha256_hex(payload, BIG, sha);
    /* The whole is refused by the client (too large), the truncated copy
     * by the broker. */
    rd_kafka_mock_push_request_errors(mc, PRODUCE_API_KEY, 1,
                                      RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
    assert_int_equal(intake_handle(&in, "alerts", 0, 7, payload, BIG), 0);
    redisReply *r = store_command(in.store, "XRANGE muster:intake:dlq - +");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 1);
    redisReply *f = r->element[0]->element[1];
    int seen = 0;
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        const char *k = f->element[i]->str, *val = f->element[i + 1]->str;
        if (!strcmp(k, "topic")) seen += !strcmp(val, "alerts");
        if (!strcmp(k, "partition")) seen += !strcmp(val, "0");
        if (!strcmp(k, "offset")) seen += !strcmp(val, "7");
        if (!strcmp(k, "size")) seen += !strcmp(val, "1100000");
        if (!strcmp(k, "sha256")) seen += !strcmp(val, sha);
        if (!strcmp(k, "truncated")) seen += !strcmp(val, "true");
        if (!strcmp(k, "reason")) seen += val[0] != '\0';
        if (!strcmp(k, "payload")) seen += f->element[i + 1]->len == (size_t)cfg.dispatcher_dlq_copy_max;
    }
    assert_int_equal(seen, 8);
    freeReplyObject(r);
    free(payload);
}

static void test_redis_down_too_is_handled_again(void **state) {
    (void)state;
    rd_kafka_mock_push_request_errors(mc, PRODUCE_API_KEY, 1,
                                      RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
    redisReply *r = store_command(in.store, "ACL SETUSER default -xadd");
    freeReplyObject(r);
    /* Nothing holds it: the caller must not store the offset. */
    assert_int_equal(intake_handle(&in, "alerts", 0, 8, "{nope", 5), -1);
    r = store_command(in.store, "ACL SETUSER default +xadd");
    freeReplyObject(r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_too_large_goes_truncated),
        cmocka_unit_test(test_refused_goes_to_redis),
        cmocka_unit_test(test_redis_down_too_is_handled_again),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
