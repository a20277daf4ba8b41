/* events.c - GET /api/v1/events: muster's events as Server-Sent Events, from the outbox */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "common/util.h"

/*
 * The stream tails the outbox (P:outbox) with a blocking XREAD of its own,
 * by entry id, never as a member of the relay's consumer group: it takes
 * nothing from the relay, and the API consumes no Kafka. An XREAD blocked
 * on the stream is served as each event is appended, before the relay can
 * publish and delete it; an event appended and already deleted in the
 * moment between two reads of a stream is missed. So the stream is for
 * live updates: a client that reconnects (Last-Event-ID) or cares about
 * completeness reads the state from the other routes. docs/decisions.md.
 */

typedef struct stream {
    api *a;
    store *s;
    char last[48];      /* the last entry id sent */
    char incident[128]; /* only this incident's events; "" for all */
    char *buf;
    size_t len, off, cap;
    int64_t quiet_since;
} stream;

static int append(stream *st, const char *text, size_t n) {
    if (st->len + n > st->cap) {
        size_t cap = (st->len + n) * 2;
        char *nb = realloc(st->buf, cap);
        if (!nb) return -1;
        st->buf = nb;
        st->cap = cap;
    }
    memcpy(st->buf + st->len, text, n);
    st->len += n;
    return 0;
}

/* One SSE message; the event is JSON on one line (a newline in it, which
 * only whitespace can be, becomes a blank). */
static int message(stream *st, const char *id, const char *type, const char *event, size_t n) {
    char head[256];
    int h = snprintf(head, sizeof(head), "id: %s\nevent: %.128s\ndata: ", id, type);
    if (append(st, head, (size_t)h) < 0) return -1;
    size_t at = st->len;
    if (append(st, event, n) < 0 || append(st, "\n\n", 2) < 0) return -1;
    for (size_t i = at; i < at + n; i++)
        if (st->buf[i] == '\n' || st->buf[i] == '\r') st->buf[i] = ' ';
    return 0;
}

static const char *field(const redisReply *f, const char *name, size_t *len) {
    for (size_t j = 0; f->type == REDIS_REPLY_ARRAY && j + 1 < f->elements; j += 2)
        if (f->element[j]->str && !strcmp(f->element[j]->str, name) && f->element[j + 1]->str) {
            *len = f->element[j + 1]->len;
            return f->element[j + 1]->str;
        }
    return NULL;
}

/* Reads what came since st->last (waiting up to a second). 0, or -1 when
 * Redis failed. */
static int read_more(stream *st) {
    redisReply *r = store_command(st->s, "XREAD COUNT %d BLOCK 1000 STREAMS %s:outbox %s",
                                  API_SSE_BATCH, store_prefix(st->s), st->last);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        if (r) freeReplyObject(r);
        return -1;
    }
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        redisReply *sr = r->element[i];
        if (sr->type != REDIS_REPLY_ARRAY || sr->elements != 2) continue;
        redisReply *entries = sr->element[1];
        for (size_t e = 0; entries->type == REDIS_REPLY_ARRAY && e < entries->elements; e++) {
            redisReply *en = entries->element[e];
            if (en->type != REDIS_REPLY_ARRAY || en->elements != 2 || !en->element[0]->str) continue;
            snprintf(st->last, sizeof(st->last), "%s", en->element[0]->str);
            size_t klen = 0, elen = 0;
            const char *key = field(en->element[1], "key", &klen);
            const char *event = field(en->element[1], "event", &elen);
            if (!event) continue;
            if (st->incident[0] && (!key || strlen(st->incident) != klen ||
                                    memcmp(key, st->incident, klen) != 0))
                continue;
            json_t *doc = json_loadb(event, elen, 0, NULL);
            const char *type = json_string_value(json_object_get(doc, "type"));
            /* The event: field is one line of the stream: a type that could
             * break it (or is not one of ours) goes out as "event". */
            if (!type || !*type || strspn(type, "abcdefghijklmnopqrstuvwxyz._") != strlen(type))
                type = "event";
            int rc = message(st, st->last, type, event, elen);
            json_decref(doc);
            if (rc < 0) {
                freeReplyObject(r);
                return -1;
            }
            st->quiet_since = mono_ms();
        }
    }
    freeReplyObject(r);
    return 0;
}

/* libmicrohttpd's content reader, on the connection's own thread: blocks
 * until there is something to send, a keep-alive is due, or the API
 * stops. */
static ssize_t reader(void *cls, uint64_t pos, char *out, size_t max) {
    stream *st = cls;
    (void)pos;
    for (;;) {
        if (st->off < st->len) {
            size_t n = st->len - st->off < max ? st->len - st->off : max;
            memcpy(out, st->buf + st->off, n);
            st->off += n;
            if (st->off == st->len) st->off = st->len = 0;
            return (ssize_t)n;
        }
        if (api_stopping(st->a)) return MHD_CONTENT_READER_END_OF_STREAM;
        if (mono_ms() - st->quiet_since >= API_SSE_KEEPALIVE_MS) {
            st->quiet_since = mono_ms();
            if (append(st, ": keep-alive\n\n", 14) < 0) return MHD_CONTENT_READER_END_WITH_ERROR;
            continue;
        }
        /* Redis gone: the stream ends, and the client's EventSource (or
         * fetch loop) reconnects with Last-Event-ID. */
        if (read_more(st) < 0) return MHD_CONTENT_READER_END_WITH_ERROR;
    }
}

static void stream_free(void *cls) {
    stream *st = cls;
    api_store_put(st->a, st->s);
    free(st->buf);
    free(st);
}

/* An entry id as Redis writes them: MS-SEQ. */
static int entry_id_ok(const char *v) {
    size_t a = strspn(v, "0123456789");
    if (a == 0 || a > 20 || v[a] != '-') return 0;
    size_t b = strspn(v + a + 1, "0123456789");
    return b > 0 && b <= 20 && v[a + 1 + b] == '\0';
}

void route_events(api_call *k) {
    char err[512];
    const char *inc = api_query(k, "incident");
    const char *last = MHD_lookup_connection_value(k->c, MHD_HEADER_KIND, "Last-Event-ID");
    if (inc && (strlen(inc) == 0 || strlen(inc) >= 128 || strspn(inc, "abcdefghijklmnopqrstuvwxyz"
                                                                      "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                                      "0123456789-_") != strlen(inc))) {
        api_fail(k, 400, "incident", "incident: not an incident id");
        return;
    }
    if (last && *last && !entry_id_ok(last)) {
        api_fail(k, 400, "Last-Event-ID", "Last-Event-ID: \"%.48s\" is not an id this stream sent",
                 last);
        return;
    }
    stream *st = calloc(1, sizeof(*st));
    if (!st || !(st->s = api_store_get(k->a, err, sizeof(err)))) {
        free(st);
        api_fail(k, 503, NULL, "%s", st ? err : "out of memory");
        return;
    }
    st->a = k->a;
    st->quiet_since = mono_ms();
    snprintf(st->incident, sizeof(st->incident), "%s", inc ? inc : "");
    if (last && *last) {
        snprintf(st->last, sizeof(st->last), "%s", last);
    } else {
        /* From now on: the newest entry's id (an empty outbox: from the start). */
        redisReply *r = store_command(st->s, "XREVRANGE %s:outbox + - COUNT 1", store_prefix(st->s));
        const char *id = r && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
                                 r->element[0]->type == REDIS_REPLY_ARRAY &&
                                 r->element[0]->elements == 2
                             ? r->element[0]->element[0]->str
                             : NULL;
        snprintf(st->last, sizeof(st->last), "%s", id ? id : "0-0");
        int down = !r;
        if (r) freeReplyObject(r);
        if (down) {
            stream_free(st);
            api_fail(k, 503, NULL, "redis not reachable");
            return;
        }
    }
    static const char hello[] = "retry: 3000\n: muster events\n\n";
    if (append(st, hello, sizeof(hello) - 1) < 0 ||
        !(k->response = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, reader, st,
                                                          stream_free))) {
        stream_free(st);
        api_fail(k, 503, NULL, "out of memory");
        return;
    }
    MHD_add_response_header(k->response, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(k->response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(k->response, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(k->response, "X-Accel-Buffering", "no");
}
