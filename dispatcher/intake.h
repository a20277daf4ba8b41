/* intake.h - alerts from Kafka into incidents and queued steps in Redis */
#ifndef MUSTER_INTAKE_H
#define MUSTER_INTAKE_H

#include <signal.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>

#include "common/config.h"
#include "common/observe.h"
#include "state/store.h"
#include "common/workflow.h"

typedef struct intake {
    config *cfg;
    workflow_set *workflows;
    json_t *oncall; /* the on-call set's document for Redis, or NULL (none) */
    store *store;
    rd_kafka_t *consumer;
    rd_kafka_t *producer; /* dead letters */
    volatile sig_atomic_t *stop;
    uint64_t alerts, opened, joined, resolved, duplicates, unmatched, dead_letters, skipped;
    observe *obs;                      /* may be NULL (tests) */
    metric_family *m_alerts, *m_dead_letters, *m_dlq_fallback, *m_lag, *m_skipped, *m_blocked;
    int64_t lag_checked; /* monotonic ms */
} intake;

/* Handles one message: decodes it, records each alert, or writes it to the
 * dead-letter topic with the reason (truncated when the whole is too large
 * for it; to the Redis stream P:intake:dlq when Kafka takes neither). Returns 0 when the message is fully
 * handled (its offset may be stored) or -1 when a server failed and the
 * message must be handled again (nothing is lost or doubled: a repeat is
 * recognised). */
int intake_handle(intake *in, const char *topic, int32_t partition, int64_t offset,
                  const char *payload, size_t len);

/* Consumes until *stop is set, then commits and leaves the group. */
int intake_run(intake *in);

#endif
