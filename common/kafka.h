/* kafka.h - librdkafka clients configured from muster's settings */
#ifndef MUSTER_KAFKA_H
#define MUSTER_KAFKA_H

#include <stddef.h>
#include <librdkafka/rdkafka.h>

#include "common/config.h"

/* A configuration with cfg's brokers, security settings and logging, for
 * clients the functions below do not cover. Caller owns it (rd_kafka_new
 * takes it over). NULL with err filled on a bad setting. */
rd_kafka_conf_t *kafka_conf_new(const config *cfg, char *err, size_t errlen);

/* An idempotent producer (acks=all, bounded retries and queue). Delivery
 * reports go to dr_cb when it is not NULL. Returns NULL with err filled. */
rd_kafka_t *kafka_producer_new(const config *cfg,
                               void (*dr_cb)(rd_kafka_t *, const rd_kafka_message_t *, void *),
                               void *opaque, char *err, size_t errlen);

/* A consumer in cfg's group that stores offsets only when told to
 * (enable.auto.offset.store=false) and commits stored offsets in the
 * background. Subscribes to `topic`. Returns NULL with err filled. */
rd_kafka_t *kafka_consumer_new(const config *cfg, const char *topic, char *err,
                               size_t errlen);

/* The delivery report callback a producer needs for kafka_produce_sync(). */
void kafka_sync_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);

/* Produces one message and waits up to timeout_ms for its delivery.
 * Returns 0 when the broker acknowledged it, -1 with err filled. */
int kafka_produce_sync(rd_kafka_t *rk, const char *topic, const char *key, const void *payload,
                       size_t len, rd_kafka_headers_t *headers, int timeout_ms, char *err,
                       size_t errlen);

#endif
