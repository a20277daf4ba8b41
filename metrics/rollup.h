/* rollup.h - periodic per-incident-kind rollups on Kafka, for dashboards */
#ifndef MUSTER_ROLLUP_H
#define MUSTER_ROLLUP_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "state/store.h"

/* One window's rollups: one JSON object per (workflow, severity, service)
 * that changed in the window (docs/metrics.md has the fields). */
typedef struct rollup_batch {
    json_t *messages; /* array of objects */
    int64_t start_ms, end_ms;
} rollup_batch;

void rollup_batch_free(rollup_batch *b);

/*
 * The window due at `now`: the window a previous publish left unfinished
 * (the same figures again, so a consumer drops the repeats by id), else the
 * one from the end of the last published window to `now` aligned down to
 * interval_ms. The figures are what the aggregates grew by in the window;
 * they are frozen in Redis (P:agg:rollup:pending) before anything is sent.
 * Returns 1 with *out filled (free with rollup_batch_free()), 0 when no
 * window is due, -1 with err filled.
 */
int rollup_prepare(store *s, int64_t interval_ms, int64_t now, rollup_batch *out, char *err,
                   size_t errlen);

/* Marks the prepared window published (the next one starts at its end).
 * Returns 0 or -1 with err filled. */
int rollup_commit(store *s, char *err, size_t errlen);

/* The delivery report callback the producer given to rollup_publish() needs. */
void rollup_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);

/* Produces the batch to topic (key workflow/severity/service) and waits up
 * to timeout_ms until Kafka acknowledged every message. Returns 0 or -1. */
int rollup_publish(rd_kafka_t *producer, const char *topic, const rollup_batch *b,
                   int timeout_ms, char *err, size_t errlen);

/* What one aggregator does each time a window may be due: under a short
 * lease in Redis (several replicas publish each window once), prepares,
 * publishes and commits the unfinished window and then the current one.
 * Returns how many messages were published, or -1 with err filled. */
int rollup_tick(store *s, rd_kafka_t *producer, const char *topic, int64_t interval_ms,
                int64_t now, const char *owner, char *err, size_t errlen);

#endif
