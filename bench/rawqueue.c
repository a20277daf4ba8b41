/* rawqueue.c - bench-rawqueue: the raw Redis Streams queue that muster's task throughput is measured against */
#include <hiredis/hiredis.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STREAM "rawq:tasks"
#define GROUP "workers"
#define CONSUMER "rawq-1"
#define PRODUCE_CHUNK 1000 /* XADDs per pipelined write */
#define MAX_COUNT 10000000LL
#define MAX_BATCH 4096
#define ID_MAX 48 /* a stream id is at most 41 characters */

static int64_t mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void usage(FILE *out) {
    fprintf(out,
            "Usage: bench-rawqueue --port P [--host H] --count N [--batch B] [--max-ms MS]\n"
            "                      [--mode both|produce|consume]\n\n"
            "The upper limit for a Redis Streams task queue: nothing but the queue.\n"
            "produce: XADDs N entries like muster's (one field, task=INCIDENT/STEP),\n"
            "pipelined %d per write, into a fresh stream and consumer group.\n"
            "consume: one consumer loop, XREADGROUP COUNT B (default 64) BLOCK 100,\n"
            "acknowledging the previous batch with one XACK in the same write (one\n"
            "round trip per batch), until N entries are acknowledged, the stream stays\n"
            "empty for 100 ms, or MS (default 30000) have passed. Only the consume side\n"
            "is timed. Prints one JSON object (tasks, seconds, tasks_per_s).\n",
            PRODUCE_CHUNK);
}

/* ok: whether a reply is neither missing nor an error; reports which. */
static int ok(redisContext *c, redisReply *r, const char *what) {
    if (!r) {
        fprintf(stderr, "bench-rawqueue: %s: %s\n", what, c->errstr);
        return 0;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "bench-rawqueue: %s: %s\n", what, r->str);
        return 0;
    }
    return 1;
}

/* produce: a fresh stream and group, then COUNT pipelined XADDs; sets *secs. */
static int produce(redisContext *c, long long count, double *secs) {
    int rc = -1;
    redisReply *r = NULL;
    char task[64];
    r = redisCommand(c, "DEL %s", STREAM);
    if (!ok(c, r, "DEL")) goto out;
    freeReplyObject(r);
    r = redisCommand(c, "XGROUP CREATE %s %s 0 MKSTREAM", STREAM, GROUP);
    if (!ok(c, r, "XGROUP CREATE")) goto out;
    freeReplyObject(r);
    r = NULL;
    int64_t t0 = mono_us();
    for (long long done = 0; done < count;) {
        long long n = count - done < PRODUCE_CHUNK ? count - done : PRODUCE_CHUNK;
        for (long long i = 0; i < n; i++) {
            /* The shape of muster's entry: "{incident-ulid}/step". */
            snprintf(task, sizeof task, "{01JRAWQUEUE%014lld}/step%lld", done + i, (done + i) % 5);
            redisAppendCommand(c, "XADD %s * task %s", STREAM, task);
        }
        for (long long i = 0; i < n; i++) {
            if (redisGetReply(c, (void **)&r) != REDIS_OK) r = NULL;
            if (!ok(c, r, "XADD")) goto out;
            freeReplyObject(r);
            r = NULL;
        }
        done += n;
    }
    *secs = (double)(mono_us() - t0) / 1e6;
    rc = 0;
out:
    freeReplyObject(r);
    return rc;
}

/* batch_ids: the entry ids of one XREADGROUP reply, copied into ids (at
 * most max); returns how many, or -1 if the reply is not shaped as
 * [[stream, [[id, fields], ...]]] or nil. */
static int batch_ids(const redisReply *r, char (*ids)[ID_MAX], int max) {
    if (r->type == REDIS_REPLY_NIL) return 0;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 1) return -1;
    const redisReply *s = r->element[0];
    if (s->type != REDIS_REPLY_ARRAY || s->elements != 2 || s->element[1]->type != REDIS_REPLY_ARRAY) return -1;
    const redisReply *entries = s->element[1];
    int n = 0;
    for (size_t i = 0; i < entries->elements && n < max; i++) {
        const redisReply *e = entries->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 1 || e->element[0]->type != REDIS_REPLY_STRING ||
            e->element[0]->len >= ID_MAX)
            return -1;
        memcpy(ids[n], e->element[0]->str, e->element[0]->len + 1);
        n++;
    }
    return n;
}

/* consume: the consumer loop; sets *acked and *secs (first read to last
 * acknowledgement). */
static int consume(redisContext *c, long long count, int batch, long long max_ms, long long *acked,
                   double *secs) {
    int rc = -1, held = 0;
    redisReply *r = NULL;
    char(*ids)[ID_MAX] = calloc((size_t)batch, ID_MAX);
    const char **argv = calloc((size_t)batch + 3, sizeof *argv);
    char bstr[16];
    if (!ids || !argv) goto out;
    snprintf(bstr, sizeof bstr, "%d", batch);
    const char *rd[] = {"XREADGROUP", "GROUP", GROUP, CONSUMER, "COUNT", bstr, "BLOCK", "100", "STREAMS", STREAM, ">"};
    argv[0] = "XACK";
    argv[1] = STREAM;
    argv[2] = GROUP;
    int64_t t0 = mono_us(), t1 = t0, deadline = t0 + max_ms * 1000;
    *acked = 0;
    for (;;) {
        /* The previous batch's XACK and the next read go out in one write. */
        if (held > 0) {
            for (int i = 0; i < held; i++) argv[3 + i] = ids[i];
            redisAppendCommandArgv(c, held + 3, argv, NULL);
        }
        int reading = *acked + held < count && mono_us() < deadline;
        if (reading) redisAppendCommandArgv(c, (int)(sizeof rd / sizeof rd[0]), rd, NULL);
        if (!held && !reading) break;
        if (held > 0) {
            if (redisGetReply(c, (void **)&r) != REDIS_OK) r = NULL;
            if (!ok(c, r, "XACK")) goto out;
            if (r->type != REDIS_REPLY_INTEGER || r->integer != held) {
                fprintf(stderr, "bench-rawqueue: XACK acknowledged %lld of %d\n", r->integer, held);
                goto out;
            }
            *acked += held;
            t1 = mono_us();
            held = 0;
            freeReplyObject(r);
            r = NULL;
        }
        if (!reading) break;
        if (redisGetReply(c, (void **)&r) != REDIS_OK) r = NULL;
        if (!ok(c, r, "XREADGROUP")) goto out;
        held = batch_ids(r, ids, batch);
        if (held < 0) {
            fprintf(stderr, "bench-rawqueue: XREADGROUP: unexpected reply shape\n");
            goto out;
        }
        freeReplyObject(r);
        r = NULL;
        if (held == 0) break; /* empty for the whole BLOCK */
    }
    *secs = (double)(t1 - t0) / 1e6;
    rc = 0;
out:
    freeReplyObject(r);
    free(ids);
    free(argv);
    return rc;
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1", *mode = "both";
    long long port = 0, count = 0, batch = 64, max_ms = 30000, acked = 0;
    double psecs = 0, csecs = 0;
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
        if (strcmp(a, "--host") == 0) host = v;
        else if (strcmp(a, "--port") == 0) port = atoll(v);
        else if (strcmp(a, "--count") == 0) count = atoll(v);
        else if (strcmp(a, "--batch") == 0) batch = atoll(v);
        else if (strcmp(a, "--max-ms") == 0) max_ms = atoll(v);
        else if (strcmp(a, "--mode") == 0) mode = v;
        else {
            usage(stderr);
            return 2;
        }
    }
    int do_produce = strcmp(mode, "both") == 0 || strcmp(mode, "produce") == 0;
    int do_consume = strcmp(mode, "both") == 0 || strcmp(mode, "consume") == 0;
    if (port <= 0 || port > 65535 || count <= 0 || count > MAX_COUNT || batch <= 0 || batch > MAX_BATCH ||
        max_ms <= 0 || (!do_produce && !do_consume)) {
        usage(stderr);
        return 2;
    }
    struct timeval tv = {.tv_sec = 10};
    redisContext *c = redisConnectWithTimeout(host, (int)port, tv);
    if (!c || c->err) {
        fprintf(stderr, "bench-rawqueue: connect %s:%lld: %s\n", host, port, c ? c->errstr : "out of memory");
        redisFree(c);
        return 1;
    }
    redisSetTimeout(c, tv);
    int rc = 1;
    if (do_produce && produce(c, count, &psecs) < 0) goto out;
    if (do_consume && consume(c, count, (int)batch, max_ms, &acked, &csecs) < 0) goto out;
    printf("{\"mode\":\"%s\",\"batch\":%lld,\"produced\":%lld,\"produce_s\":%.3f,"
           "\"tasks\":%lld,\"seconds\":%.4f,\"tasks_per_s\":%.1f}\n",
           mode, batch, do_produce ? count : 0, psecs, acked, csecs, csecs > 0 ? (double)acked / csecs : 0.0);
    rc = 0;
out:
    redisFree(c);
    return rc;
}
