/* relay.c - the outbox's one reader: publishes events to Kafka, in order */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/kafka.h"
#include "common/log.h"
#include "common/util.h"
#include "worker/worker.h"

#define RELAY_BATCH 500
#define RELAY_MAX_OUTSTANDING 20000
/* Events another relay read and never acknowledged are taken over after
 * this long: when this worker becomes the relay, and then at this
 * interval, never on every turn. */
#define RELAY_RECLAIM_MS 30000
#define RELAY_LEASE_MS 5000

/* Delivery reports arrive on the loop's thread (rd_kafka_poll). */
void relay_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    worker *w = opaque;
    char *id = m->_private;
    w->relay_outstanding--;
    if (m->err) {
        /* Left pending in the outbox: reclaimed and sent again later. */
        mlog(LOG_WARN, NULL, "event %s not delivered: %s", id, rd_kafka_err2str(m->err));
        free(id);
        return;
    }
    w->events_published++;
    atomic_store(&kafka_up, 1);
    metrics_inc(w->m_events, NULL, 1);
    if (w->nacked == w->capacked) {
        size_t cap = w->capacked ? w->capacked * 2 : 256;
        char **a = realloc(w->acked, cap * sizeof(*a));
        if (!a) {
            free(id);
            return;
        }
        w->acked = a;
        w->capacked = cap;
    }
    w->acked[w->nacked++] = id;
}

/* One relay at a time: two would interleave one incident's events on its
 * partition. The lease lives in Redis and is renewed while the holder lives;
 * when it lapses another worker takes over, and the events the old holder
 * left unacknowledged are sent again (consumers drop repeats by event id). */
static void relay_lease(worker *w) {
    int64_t now = mono_ms();
    if (now - w->leader_checked < RELAY_LEASE_MS / 5) return;
    w->leader_checked = now;
    char key[256];
    snprintf(key, sizeof(key), "%s:relay:leader", store_prefix(w->store));
    redisReply *r = store_command(w->store, "SET %s %s NX PX %d", key, w->consumer, RELAY_LEASE_MS);
    bool held = r && r->type == REDIS_REPLY_STATUS;
    if (r) freeReplyObject(r);
    if (!held) {
        r = store_command(w->store, "GET %s", key);
        held = r && r->type == REDIS_REPLY_STRING && strcmp(r->str, w->consumer) == 0;
        if (r) freeReplyObject(r);
        if (held && (r = store_command(w->store, "PEXPIRE %s %d", key, RELAY_LEASE_MS)))
            freeReplyObject(r);
    }
    if (held && !w->leader) {
        mlog(LOG_INFO, NULL, "this worker now relays events to %s", w->cfg->kafka_events_topic);
        w->reclaim_all = true;
    }
    w->leader = held;
}

/* Acknowledges and deletes what Kafka confirmed, in one round trip. */
static void ack_delivered(worker *w) {
    if (!w->nacked || outbox_ack(w->store, w->acked, w->nacked) < 0) return;
    for (size_t i = 0; i < w->nacked; i++) free(w->acked[i]);
    w->nacked = 0;
}

void relay(worker *w) {
    outbox_item items[RELAY_BATCH];
    rd_kafka_poll(w->producer, 0);
    if (w->cfg->worker_relay) relay_lease(w);
    ack_delivered(w);
    if (!w->leader || w->relay_outstanding >= RELAY_MAX_OUTSTANDING) return;
    int64_t now = mono_ms(), reclaim = 0;
    if (w->reclaim_all) {
        reclaim = 1; /* everything the last relay left */
    } else if (now - w->last_outbox_reclaim >= RELAY_RECLAIM_MS) {
        reclaim = RELAY_RECLAIM_MS; /* what our own producer never confirmed */
    }
    int n = outbox_read(w->store, w->consumer, RELAY_BATCH, reclaim, items);
    if (n >= 0 && reclaim) {
        w->reclaim_all = false;
        w->last_outbox_reclaim = now;
    }
    for (int i = 0; i < n; i++) {
        char *id = strdup(items[i].id);
        rd_kafka_resp_err_t rc = rd_kafka_producev(
            w->producer, RD_KAFKA_V_TOPIC(w->cfg->kafka_events_topic),
            RD_KAFKA_V_KEY(items[i].key, strlen(items[i].key)),
            RD_KAFKA_V_VALUE(items[i].event, strlen(items[i].event)),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(id), RD_KAFKA_V_END);
        if (rc) {
            /* Queue full: it stays pending and is reclaimed later. */
            mlog(LOG_WARN, NULL, "event %s not queued: %s", id, rd_kafka_err2str(rc));
            free(id);
        } else {
            w->relay_outstanding++;
        }
    }
    outbox_items_free(items, n > 0 ? (size_t)n : 0);
}

void relay_flush(worker *w) {
    for (int i = 0; i < 50 && w->relay_outstanding > 0; i++) rd_kafka_poll(w->producer, 100);
    relay(w);
    rd_kafka_flush(w->producer, 5000);
    rd_kafka_poll(w->producer, 0);
    ack_delivered(w);
}
