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

/* kafka_consumer_new(), and with report_resets set no silent reset: a
 * position the broker no longer has (retention deleted what was not read
 * yet), or a group with no committed offset, stops that partition and comes
 * back from rd_kafka_consumer_poll() as RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET;
 * kafka_reset_partition() counts the loss and reads on. Without it, such a
 * partition is read on from its earliest offset. */
rd_kafka_t *kafka_consumer_open(const config *cfg, const char *topic, int report_resets,
                                char *err, size_t errlen);

/* Restarts a partition of rk's assignment that stopped on
 * RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET: `from` is the offset it could not
 * read (the message's offset; negative when the group had none). Reads on
 * at the broker's log start and sets *skipped to the offsets that were
 * deleted unread (0 when none). Other partitions resume where they were.
 * Blocks up to 10 s on the broker. Returns 0, or -1 with err filled. */
int kafka_reset_partition(rd_kafka_t *rk, const char *topic, int32_t partition, int64_t from,
                          int64_t *skipped, char *err, size_t errlen);

/* The delivery report callback a producer needs for kafka_produce_sync(). */
void kafka_sync_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);

/* Produces one message and waits up to timeout_ms for its delivery. Takes
 * ownership of headers. Returns RD_KAFKA_RESP_ERR_NO_ERROR when the broker
 * acknowledged it, else the error (RD_KAFKA_RESP_ERR__TIMED_OUT when no
 * report came in time) with err filled. */
rd_kafka_resp_err_t kafka_produce_wait(rd_kafka_t *rk, const char *topic, const char *key,
                                       const void *payload, size_t len,
                                       rd_kafka_headers_t *headers, int timeout_ms, char *err,
                                       size_t errlen);

/* Whether code says the message is larger than the client or the topic
 * accepts (a smaller one may go through). */
int kafka_too_large(rd_kafka_resp_err_t code);

/* kafka_produce_wait() for callers that need no code: returns 0 when the
 * broker acknowledged it, -1 with err filled. */
int kafka_produce_sync(rd_kafka_t *rk, const char *topic, const char *key, const void *payload,
                       size_t len, rd_kafka_headers_t *headers, int timeout_ms, char *err,
                       size_t errlen);

#endif
