/* webhook.c - POST /api/v1/alerts: alerts over HTTP onto the alerts topic */
#include "dispatcher/webhook.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <microhttpd.h>

#include "common/alert.h"
#include "common/deadline.h"
#include "common/httpd.h"
#include "state/incident.h"
#include "common/kafka.h"
#include "common/log.h"
#include "common/signature.h"
#include "common/util.h"
#include "dispatcher/inbound.h"
#include "common/tokens.h"

#define JSON_TYPE "application/json"
#define TOKEN_FILE_MAX 4096
#define BODY_CHUNK 16384   /* first buffer when the sender gives no Content-Length */
#define DRAIN_MS 1000      /* on stop, how long answers already chosen may take to go out */

/* One request, from its headers to its answer: libmicrohttpd's con_cls,
 * created once the path, method, token and Content-Length passed, freed by
 * completed(). While QUEUED the connection is suspended and only the Kafka
 * thread reads the body; the fields from `state` on change under w->mu. */
typedef struct request {
    struct MHD_Connection *c;
    char peer[64];
    char *body;
    size_t len, cap;
    size_t received; /* every body byte, kept or not */
    int too_big;     /* outgrew the limit: the rest is read and dropped */
    size_t alerts;
    char *key;       /* the Kafka key: alert_batch_key() of the body, malloc'd */
    enum { READING, QUEUED, ANSWERED } state;
    int64_t deadline; /* mono_ms() by which Kafka must have acknowledged */
    unsigned status;  /* the Kafka thread's answer: 202, 413 or 503 (ack: 200, 404, 503) */
    char why[512];
    char ack[80];     /* not empty: POST /api/v1/incidents/ID/ack for this incident */
    char by[TOKEN_NAME_MAX]; /* for an ack: the name of the token it came with */
    inbound_route route;     /* not INBOUND_NONE: a vendor's callback (inbound.h) */
    int get;
    char *path;              /* its path, its headers and ?incident= as received */
    char *hdr[IH_COUNT];
    char *incident;
    inbound_answer answer;   /* the Kafka thread's answer to it */
    struct request *next;
} request;

struct webhook_intake {
    const config *cfg;
    struct MHD_Daemon *d;
    int port;
    size_t body_max; /* intake.body_max, at most ALERT_MAX_BYTES */
    char *token;          /* sends alerts */
    size_t token_len;
    tokens acks;          /* acknowledge, each as its name (intake.ack_tokens) */
    oncall_set *people;   /* oncall.dir, for the vendors' users; NULL: nobody */
    const char *too_large; /* librdkafka's text for "message too large" */
    deadline_watch *deadlines;   /* intake.header_timeout and intake.request_timeout */

    rd_kafka_t *producer; /* the Kafka thread's alone once it runs */
    store *store;         /* likewise: acknowledgements go to Redis from there */
    pthread_t kafka;
    int kafka_running;

    pthread_mutex_t mu;   /* guards the queue, stopping, answered, request states */
    pthread_cond_t cv;    /* queue grew, stopping set, or an answer went out */
    request *head, *tail; /* waiting for Kafka, oldest first */
    int stopping;
    size_t answered;      /* resumed with an answer that has not gone out yet */

    httpd_starting starting; /* why MHD_start_daemon() failed */

    /* Connections closed for the connection caps, logged once a second. */
    _Atomic int64_t limit_logged;
    atomic_ulong limit_closed;
};

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void at_limit(webhook_intake *w) {
    int64_t now = mono_ms(), last = atomic_load(&w->limit_logged);
    unsigned long n = atomic_fetch_add(&w->limit_closed, 1) + 1;
    if (now - last < 1000 || !atomic_compare_exchange_strong(&w->limit_logged, &last, now))
        return;
    atomic_fetch_sub(&w->limit_closed, n);
    mlog(LOG_WARN, NULL, "webhook intake: closed %lu new connection(s) at once: over "
         "intake.max_connections (%lld) or intake.max_connections_per_ip (%lld)", n,
         (long long)w->cfg->intake_max_connections,
         (long long)w->cfg->intake_max_connections_per_ip);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
    webhook_intake *w = cls;
    char msg[512];
    if (httpd_log_text(&w->starting, msg, sizeof(msg), fmt, ap))
        return;
    else if (strncmp(msg, "Server reached connection limit", 31) == 0)
        /* A client over its cap may reconnect as fast as it likes: one line
         * a second, with the count, is what a person can read. */
        at_limit(w);
    else if (strncmp(msg, "Application reported internal error", 36) != 0)
        /* That one follows every MHD_NO of ours, each already logged with
         * its reason: one line per refused request. */
        mlog(LOG_WARN, NULL, "webhook intake: %s", msg);
}

static void deadline_in(struct timespec *ts, int64_t ms) {
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)(ms / 1000);
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* ---- answers ---- */

/* Queues {"key": "text"} with status and, when hname is not NULL, one more
 * header. Text that is not valid UTF-8 (a parser's excerpt of the body)
 * goes out with its non-ASCII bytes as '?'. */
static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *key,
                             const char *text, const char *hname, const char *hvalue) {
    json_t *doc = json_object(), *s = json_string(text);
    char *body;

    if (!s) {
        char safe[1024];
        size_t i = 0;
        for (; text[i] && i + 1 < sizeof(safe); i++)
            safe[i] = (unsigned char)text[i] >= 0x80 ? '?' : text[i];
        safe[i] = '\0';
        s = json_string(safe);
    }
    if (!doc || json_object_set_new(doc, key, s) < 0 || !(body = json_dumps(doc, JSON_COMPACT))) {
        json_decref(doc);
        return MHD_NO;
    }
    json_decref(doc);
    struct MHD_Response *r =
        MHD_create_response_from_buffer_with_free_callback(strlen(body), body, free);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, JSON_TYPE);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (hname) MHD_add_response_header(r, hname, hvalue);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Answers a refused request, and says so in one log line: who, what, why.
 * Never the Authorization header. */
static enum MHD_Result refuse(struct MHD_Connection *c, const char *peer, const char *method,
                              const char *url, unsigned status, const char *reason,
                              const char *hname, const char *hvalue) {
    mlog(LOG_WARN, NULL, "webhook intake: %u for %.16s %.128s from %s: %s", status, method, url,
         peer, reason);
    return reply(c, status, "error", reason, hname, hvalue);
}

/* ---- authentication ---- */

/* Who the request's "Authorization: Bearer TOKEN" (scheme name in any case,
 * RFC 7235) stands for. For an acknowledgement (ack set) a token of
 * intake.ack_tokens, whose entry goes to *who; for alerts the intake's
 * token. Returns 0, or the status to refuse with: 401 for no or an unknown
 * token, 403 for a token of the other kind; why says which. */
static unsigned authenticate(const webhook_intake *w, struct MHD_Connection *c, int ack,
                             const token **who, const char **why) {
    const char *h =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *t;
    size_t n;
    if (tokens_bearer(h, &t, &n, why) < 0) return MHD_HTTP_UNAUTHORIZED;
    /* Both comparisons, whichever the path: the time taken says nothing. */
    int intake = tokens_equal(t, n, w->token, w->token_len);
    const token *k = tokens_match(&w->acks, t, n);
    if (ack ? k != NULL : intake) {
        *who = k;
        return 0;
    }
    if (ack ? intake : k != NULL) {
        *why = ack ? "the intake's token sends alerts; acknowledging takes a token of "
                     "intake.ack_tokens"
                   : "an acknowledgement token cannot send alerts";
        return MHD_HTTP_FORBIDDEN;
    }
    *why = "wrong bearer token";
    return MHD_HTTP_UNAUTHORIZED;
}

/* ---- the Kafka thread ---- */

/* Produces one body and waits for its acknowledgement until deadline.
 * Returns the answer: 202, 413 (Kafka refused the size) or 503, with why. */
static unsigned produce(webhook_intake *w, const char *key, const char *body, size_t len,
                        int64_t deadline, char *why, size_t whylen) {
    char err[512], fatal[256];
    int64_t left = deadline - mono_ms();

    if (left <= 0) {
        snprintf(why, whylen, "kafka: no acknowledgement within %d ms", WEBHOOK_ACK_TIMEOUT_MS);
        return 503;
    }
    if (kafka_produce_sync(w->producer, w->cfg->kafka_alerts_topic, key, body, len, NULL,
                           (int)left, err, sizeof(err)) == 0)
        return 202;
    snprintf(why, whylen, "%s", err);
    if (strstr(err, w->too_large)) return 413;
    /* An idempotent producer that hit a fatal error refuses everything
     * from then on; a new one starts a new idempotence session. */
    if (rd_kafka_fatal_error(w->producer, fatal, sizeof(fatal))) {
        char e[512];
        rd_kafka_t *fresh = kafka_producer_new(w->cfg, kafka_sync_dr, NULL, e, sizeof(e));
        mlog(LOG_ERROR, NULL, "webhook intake: kafka producer failed for good (%s); %s%s", fatal,
             fresh ? "replaced it" : "could not replace it: ", fresh ? "" : e);
        if (fresh) {
            rd_kafka_destroy(w->producer);
            w->producer = fresh;
        }
    }
    return 503;
}

/* POST /api/v1/incidents/ID/ack: a person acknowledges through a tool
 * (a chat button, a pager app), as `by`, the name of the token the request
 * came with. A "by" in the body is not believed: it is logged and ignored.
 * Returns 200 (why: "acknowledged by X" or "already acknowledged by X"),
 * 404 or 503. */
static unsigned acknowledge(webhook_intake *w, const char *incident, const char *by,
                            const char *body, size_t len, char *why, size_t whylen) {
    char err[512], outcome[32], first[128];
    json_t *doc = len ? json_loadb(body, len, 0, NULL) : NULL;
    const char *b = json_string_value(json_object_get(doc, "by"));
    if (b && *b && strcmp(b, by) != 0)
        mlog(LOG_WARN, NULL, "webhook intake: incident %s: the body's \"by\" (\"%.64s\") is "
             "ignored; the acknowledgement is recorded as %s, the token's name", incident, b, by);
    json_decref(doc);
    if (!w->store && !(w->store = store_open(w->cfg, err, sizeof(err)))) {
        snprintf(why, whylen, "%s", err);
        return 503;
    }
    if (incident_ack(w->store, incident, by, "http", outcome, sizeof(outcome), first,
                     sizeof(first), err, sizeof(err)) < 0) {
        snprintf(why, whylen, "%s", err);
        return 503;
    }
    if (!strcmp(outcome, "missing")) {
        snprintf(why, whylen, "no incident \"%s\"", incident);
        return 404;
    }
    if (!strcmp(outcome, "already"))
        snprintf(why, whylen, "already acknowledged by %s", first);
    else
        snprintf(why, whylen, "acknowledged by %s", by);
    return 200;
}

/* Takes queued requests one at a time, produces each and resumes its
 * connection with the answer. Runs until stopping is set and the queue is
 * empty, so no connection stays suspended. Between requests it serves the
 * producer's callbacks. */
static void *kafka_loop(void *arg) {
    webhook_intake *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        request *r = w->head;
        if (!r) {
            if (w->stopping) break;
            struct timespec ts;
            deadline_in(&ts, 1000);
            pthread_cond_timedwait(&w->cv, &w->mu, &ts);
            if (!w->head) {
                pthread_mutex_unlock(&w->mu);
                rd_kafka_poll(w->producer, 0);
                pthread_mutex_lock(&w->mu);
            }
            continue;
        }
        if (!(w->head = r->next)) w->tail = NULL;
        struct MHD_Connection *c = r->c;
        const char *body = r->body ? r->body : "";
        size_t len = r->len;
        const char *key = r->key;
        int64_t deadline = r->deadline;
        pthread_mutex_unlock(&w->mu);

        char why[512] = "";
        unsigned status = 0;
        inbound_answer followup = {0};
        if (r->route) {
            inbound_request rq = {.route = r->route, .get = r->get, .path = r->path,
                                  .incident = r->incident, .body = body, .len = len};
            for (int i = 0; i < IH_COUNT; i++) rq.headers[i] = r->hdr[i];
            char err[512];
            if (!w->store && !(w->store = store_open(w->cfg, err, sizeof(err))))
                mlog(LOG_WARN, NULL, "webhook intake: %s", err);
            inbound_handle(w->cfg, w->people, w->store, &rq, &r->answer);
            status = r->answer.status;
            /* Sent after the answer, when r is no longer ours. */
            memcpy(followup.followup_url, r->answer.followup_url, sizeof(followup.followup_url));
            followup.followup = r->answer.followup;
            r->answer.followup = NULL;
        } else {
            status = r->ack[0] ? acknowledge(w, r->ack, r->by, body, len, why, sizeof(why))
                               : produce(w, key, body, len, deadline, why, sizeof(why));
        }

        pthread_mutex_lock(&w->mu);
        r->status = status;
        snprintf(r->why, sizeof(r->why), "%s", why);
        r->state = ANSWERED;
        w->answered++;
        pthread_mutex_unlock(&w->mu);
        /* From here on r belongs to the connection's thread again. */
        MHD_resume_connection(c);
        inbound_followup(&followup, 3000);
        inbound_answer_clear(&followup);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* ---- requests ---- */

/* Whether url is /api/v1/incidents/ID/ack with a plausible ID; copies ID. */
static int ack_path(const char *url, char *id, size_t len) {
    static const char prefix[] = "/api/v1/incidents/", suffix[] = "/ack";
    size_t n = strlen(url), p = sizeof(prefix) - 1, q = sizeof(suffix) - 1;
    if (n <= p + q || strncmp(url, prefix, p) || strcmp(url + n - q, suffix)) return 0;
    size_t idlen = n - p - q;
    if (idlen >= len) return 0;
    for (size_t i = 0; i < idlen; i++) {
        char ch = url[p + i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-')) return 0;
    }
    memcpy(id, url + p, idlen);
    id[idlen] = '\0';
    return 1;
}

/* First call: everything the head decides, before any body byte is read. */
static enum MHD_Result begin(webhook_intake *w, struct MHD_Connection *c, const char *url,
                             const char *method, void **con_cls) {
    char peer[64], reason[160];
    const char *why;
    const token *who = NULL;
    unsigned refused;

    deadline_head_done(c);
    httpd_peer(c, peer, sizeof(peer));
    char incident[80] = "";
    inbound_route route = inbound_route_of(url);
    int get = route == INBOUND_LINK && !strcmp(method, MHD_HTTP_METHOD_GET);
    if (!route && strcmp(url, WEBHOOK_PATH) != 0 && !ack_path(url, incident, sizeof(incident)))
        return refuse(c, peer, method, url, MHD_HTTP_NOT_FOUND, "not found", NULL, NULL);
    if (strcmp(method, MHD_HTTP_METHOD_POST) != 0 && !get)
        return refuse(c, peer, method, url, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed",
                      MHD_HTTP_HEADER_ALLOW, route == INBOUND_LINK ? "GET, POST" : "POST");
    /* A vendor's callback proves itself by its signature, not a token. */
    if (!route && (refused = authenticate(w, c, incident[0] != '\0', &who, &why)))
        return refuse(c, peer, method, url, refused, why, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                      refused == MHD_HTTP_FORBIDDEN ? "Bearer error=\"insufficient_scope\""
                                                    : "Bearer");
    const char *cl =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    unsigned long long declared = 0;
    if (cl) {
        char *end;
        errno = 0;
        declared = strtoull(cl, &end, 10);
        if (errno || end == cl || declared > w->body_max) {
            if (errno)
                snprintf(reason, sizeof(reason), "body is larger than %zu bytes", w->body_max);
            else
                snprintf(reason, sizeof(reason), "body of %llu bytes is larger than %zu",
                         declared, w->body_max);
            return refuse(c, peer, method, url, MHD_HTTP_CONTENT_TOO_LARGE, reason, NULL, NULL);
        }
    }
    request *r = calloc(1, sizeof(*r));
    if (!r || (declared && !(r->body = malloc((size_t)declared)))) {
        mlog(LOG_ERROR, NULL, "webhook intake: closed %.16s %.128s from %s unanswered: "
             "out of memory", method, url, peer);
        free(r);
        return MHD_NO;
    }
    r->cap = (size_t)declared;
    r->c = c;
    if (route) {
        const char *inc = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "incident");
        int bad = !(r->path = strdup(url)) || (inc && !(r->incident = strndup(inc, 79)));
        for (int i = 0; i < IH_COUNT && !bad; i++) {
            const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, inbound_header_names[i]);
            bad = h && !(r->hdr[i] = strndup(h, SIG_HEADER_MAX + 1));
        }
        r->route = route;
        r->get = get;
        if (bad) {
            *con_cls = r;
            mlog(LOG_ERROR, NULL, "webhook intake: closed %.16s %.128s from %s unanswered: "
                 "out of memory", method, url, peer);
            return MHD_NO;
        }
    }
    snprintf(r->ack, sizeof(r->ack), "%s", incident);
    snprintf(r->by, sizeof(r->by), "%s", who ? who->name : "");
    snprintf(r->peer, sizeof(r->peer), "%s", peer);
    *con_cls = r;
    return MHD_YES;
}

/* Keeps body bytes up to the limit. Past it, drops what comes until the
 * body ends (so the 413 can be read), or closes the connection when the
 * sender goes on for another body_max bytes. */
static enum MHD_Result take(webhook_intake *w, request *r, const char *data, size_t n) {
    r->received += n;
    if (r->too_big) {
        if (r->received - w->body_max > w->body_max) {
            mlog(LOG_WARN, NULL,
                 "webhook intake: closed POST %s from %s unanswered: body goes on past %zu "
                 "bytes", WEBHOOK_PATH, r->peer, 2 * w->body_max);
            return MHD_NO;
        }
        return MHD_YES;
    }
    if (n > w->body_max - r->len) {
        r->too_big = 1;
        free(r->body);
        r->body = NULL;
        r->len = r->cap = 0;
        return MHD_YES;
    }
    if (r->len + n > r->cap) {
        size_t cap = r->cap ? r->cap * 2 : BODY_CHUNK;
        if (cap < r->len + n) cap = r->len + n;
        if (cap > w->body_max) cap = w->body_max;
        char *nb = realloc(r->body, cap);
        if (!nb) {
            mlog(LOG_ERROR, NULL, "webhook intake: closed POST %s from %s unanswered: "
                 "out of memory", WEBHOOK_PATH, r->peer);
            return MHD_NO;
        }
        r->body = nb;
        r->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    return MHD_YES;
}

/* The body is complete: refuse it, queue it for Kafka (suspending the
 * connection), or, once resumed, give the Kafka thread's answer. */
static enum MHD_Result finish(webhook_intake *w, request *r, const char *url,
                              const char *method) {
    char reason[1024];
    alert_batch batch;

    pthread_mutex_lock(&w->mu);
    int state = r->state;
    pthread_mutex_unlock(&w->mu);

    /* Late is late, even by a hair: the connection is already shut down. */
    if (state == READING && deadline_body_done(r->c) < 0) return MHD_NO;

    if (state == ANSWERED && r->route) {
        inbound_answer *a = &r->answer;
        mlog(a->status < 300 ? LOG_INFO : LOG_WARN, NULL,
             "webhook intake: %u for %.16s %.128s from %s: %s", a->status, method, r->path,
             r->peer, a->why);
        struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback(
            strlen(a->body), a->body, free);
        if (!resp) return MHD_NO;
        a->body = NULL; /* the response's now */
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, a->type);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        enum MHD_Result ret = MHD_queue_response(r->c, a->status, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    if (state == ANSWERED && r->ack[0]) {
        if (r->status == MHD_HTTP_OK) {
            mlog(LOG_INFO, NULL, "webhook intake: incident %s %s (from %s)", r->ack, r->why, r->peer);
            return reply(r->c, MHD_HTTP_OK, "status", r->why, NULL, NULL);
        }
        return refuse(r->c, r->peer, method, url, r->status, r->why,
                      r->status == MHD_HTTP_SERVICE_UNAVAILABLE ? MHD_HTTP_HEADER_RETRY_AFTER : NULL,
                      r->status == MHD_HTTP_SERVICE_UNAVAILABLE ? WEBHOOK_RETRY_AFTER_S : NULL);
    }
    if (state == ANSWERED) {
        if (r->status == MHD_HTTP_ACCEPTED) {
            mlog(LOG_INFO, NULL, "webhook intake: 202 for POST %s from %s: %zu alert(s), %zu bytes "
                 "to %s", WEBHOOK_PATH, r->peer, r->alerts, r->len, w->cfg->kafka_alerts_topic);
            return reply(r->c, MHD_HTTP_ACCEPTED, "status", "accepted", NULL, NULL);
        }
        if (r->status == MHD_HTTP_CONTENT_TOO_LARGE)
            return refuse(r->c, r->peer, method, url, r->status, r->why, NULL, NULL);
        return refuse(r->c, r->peer, method, url, MHD_HTTP_SERVICE_UNAVAILABLE, r->why,
                      MHD_HTTP_HEADER_RETRY_AFTER, WEBHOOK_RETRY_AFTER_S);
    }
    if (r->too_big) {
        snprintf(reason, sizeof(reason), "body is larger than %zu bytes", w->body_max);
        return refuse(r->c, r->peer, method, url, MHD_HTTP_CONTENT_TOO_LARGE, reason, NULL, NULL);
    }
    /* Decoded only to refuse what the dispatcher could not use; Kafka gets
     * the bytes as they came. An acknowledgement has no alert to decode. */
    if (!r->ack[0] && !r->route && alert_decode(r->body ? r->body : "", r->len, &batch, reason, sizeof(reason)) < 0)
        return refuse(r->c, r->peer, method, url, MHD_HTTP_BAD_REQUEST, reason, NULL, NULL);
    if (!r->ack[0] && !r->route) {
        r->alerts = batch.n;
        const char *key = alert_batch_key(&batch);
        free(r->key);
        r->key = key ? strdup(key) : NULL;
        alert_batch_free(&batch);
    }

    pthread_mutex_lock(&w->mu);
    if (w->stopping) {
        pthread_mutex_unlock(&w->mu);
        return refuse(r->c, r->peer, method, url, MHD_HTTP_SERVICE_UNAVAILABLE,
                      "the intake is stopping", MHD_HTTP_HEADER_RETRY_AFTER,
                      WEBHOOK_RETRY_AFTER_S);
    }
    r->state = QUEUED;
    r->deadline = mono_ms() + WEBHOOK_ACK_TIMEOUT_MS;
    if (w->tail) w->tail->next = r;
    else w->head = r;
    w->tail = r;
    /* Suspended before the Kafka thread can see r (it needs mu), so its
     * resume always follows. */
    MHD_suspend_connection(r->c);
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return MHD_YES;
}

/* libmicrohttpd's access handler, on the connection's pool thread. */
static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls) {
    webhook_intake *w = cls;
    request *r = *con_cls;

    if (!r) return begin(w, c, url, method, con_cls);
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        return take(w, r, upload_data, n);
    }
    return finish(w, r, url, method);
}

/* Called when a request ends, answered or not: frees what begin() made. */
static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe) {
    webhook_intake *w = cls;
    request *r = *con_cls;
    deadline_request_done(c);
    if (!r) return;
    pthread_mutex_lock(&w->mu);
    if (r->state == ANSWERED && w->answered > 0 && --w->answered == 0)
        pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    free(r->body);
    free(r->key);
    free(r->path);
    free(r->incident);
    for (int i = 0; i < IH_COUNT; i++) free(r->hdr[i]);
    inbound_answer_clear(&r->answer);
    free(r);
    *con_cls = NULL;
}

/* ---- start and stop ---- */

/* The token from intake.token or intake.token_file (trimmed), checked to
 * be something a header can carry; and the acknowledgement tokens, none of
 * which may be that one. */
static int load_token(webhook_intake *w, const config *cfg, char *err, size_t errlen) {
    char *file = NULL;
    const char *t = cfg->intake_token;
    size_t n;

    if (*cfg->intake_token && *cfg->intake_token_file) {
        snprintf(err, errlen, "intake: set intake.token or intake.token_file, not both");
        return -1;
    }
    if (*cfg->intake_token_file) {
        char e[512];
        if (!(file = file_read(cfg->intake_token_file, TOKEN_FILE_MAX, &n, e, sizeof(e)))) {
            snprintf(err, errlen, "intake.token_file: %s", e);
            return -1;
        }
        t = file;
    }
    while (*t == ' ' || *t == '\t' || *t == '\r' || *t == '\n') t++;
    n = strlen(t);
    while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t' || t[n - 1] == '\r' || t[n - 1] == '\n'))
        n--;
    int rc = -1;
    if (n == 0) {
        if (file)
            snprintf(err, errlen, "intake.token_file: %s holds no token", cfg->intake_token_file);
        else
            snprintf(err, errlen,
                     "intake: no bearer token; set intake.token (MUSTER_INTAKE_TOKEN) or "
                     "intake.token_file, or turn the intake off with intake.port=-1");
        goto out;
    }
    size_t at;
    if (tokens_secret_ok(t, n, &at) < 0) {
        snprintf(err, errlen,
                 "intake: the bearer token holds a space, control or non-ASCII character "
                 "(at byte %zu)", at);
        goto out;
    }
    if (!(w->token = malloc(n + 1))) {
        snprintf(err, errlen, "intake: out of memory");
        goto out;
    }
    memcpy(w->token, t, n);
    w->token[n] = '\0';
    w->token_len = n;
    char e[512];
    if (tokens_load(&w->acks, "intake.ack_tokens", cfg->intake_ack_tokens,
                    "intake.ack_tokens_file", cfg->intake_ack_tokens_file, e, sizeof(e)) < 0) {
        snprintf(err, errlen, "intake: %s", e);
        goto out;
    }
    const token *same = tokens_match(&w->acks, w->token, w->token_len);
    if (same) {
        /* Else whoever sends alerts could acknowledge as that name. */
        snprintf(err, errlen, "intake: the acknowledgement token of \"%s\" is the intake's "
                 "token; give it its own", same->name);
        goto out;
    }
    rc = 0;
out:
    if (file) {
        explicit_bzero(file, strlen(file));
        free(file);
    }
    return rc;
}

/* The people of oncall.dir, whom the vendors' users map to. A missing
 * directory is nobody (every vendor callback is then refused); one that
 * does not validate stops the start. */
static int load_people(webhook_intake *w, const config *cfg, char *err, size_t errlen) {
    struct stat st;
    wf_diag d = {0};
    if (stat(cfg->oncall_dir, &st) < 0) {
        if (*cfg->slack_signing_secret || *cfg->twilio_auth_token ||
            *cfg->pagerduty_webhook_secret || *cfg->ack_link_secret)
            mlog(LOG_WARN, NULL, "webhook intake: no on-call files at %s (oncall.dir): every "
                 "Slack, SMS, phone and link acknowledgement will be refused", cfg->oncall_dir);
        return 0;
    }
    if (!(w->people = oncall_load(cfg->oncall_dir, &d))) {
        snprintf(err, errlen, "intake: oncall.dir %s: %s", cfg->oncall_dir,
                 d.n ? d.msgs[0] : "not valid");
        wf_diag_free(&d);
        return -1;
    }
    wf_diag_free(&d);
    return 0;
}

static void intake_free(webhook_intake *w) {
    if (w->producer) rd_kafka_destroy(w->producer);
    store_close(w->store);
    deadline_free(w->deadlines);
    if (w->token) {
        explicit_bzero(w->token, w->token_len);
        free(w->token);
    }
    tokens_free(&w->acks);
    oncall_set_free(w->people);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

/* Lets the Kafka thread answer what is queued, then waits for it. */
static void stop_kafka(webhook_intake *w) {
    pthread_mutex_lock(&w->mu);
    w->stopping = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (w->kafka_running) pthread_join(w->kafka, NULL);
    w->kafka_running = 0;
}

webhook_intake *webhook_intake_start(const config *cfg, char *err, size_t errlen) {
    struct sockaddr_storage ss;
    pthread_condattr_t ca;
    sigset_t old;
    int v6 = 0, port = (int)cfg->intake_port;
    webhook_intake *w;

    if (cfg->intake_port < 0 || cfg->intake_port > 65535) {
        snprintf(err, errlen, "intake: intake.port %lld is not in 0..65535 (-1 is off)",
                 (long long)cfg->intake_port);
        return NULL;
    }
    if (cfg->intake_request_timeout_ms < cfg->intake_header_timeout_ms) {
        snprintf(err, errlen, "intake: intake.request_timeout (%lld ms) is shorter than "
                 "intake.header_timeout (%lld ms)", (long long)cfg->intake_request_timeout_ms,
                 (long long)cfg->intake_header_timeout_ms);
        return NULL;
    }
    if (!(w = calloc(1, sizeof(*w)))) {
        snprintf(err, errlen, "intake: out of memory");
        return NULL;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    w->cfg = cfg;
    w->body_max = (size_t)cfg->intake_body_max;
    if (w->body_max > ALERT_MAX_BYTES) {
        /* alert_decode() refuses more; better a 413 than a 400. */
        mlog(LOG_INFO, NULL, "intake.body_max %lld is above what an alert message may be; "
             "bodies over %d bytes are refused", (long long)cfg->intake_body_max, ALERT_MAX_BYTES);
        w->body_max = ALERT_MAX_BYTES;
    }
    w->too_large = rd_kafka_err2str(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
    httpd_starting_begin(&w->starting);
    if (load_token(w, cfg, err, errlen) < 0 || load_people(w, cfg, err, errlen) < 0 ||
        httpd_resolve("intake.address", cfg->intake_address, port, &ss, &v6, err, errlen) < 0) {
        intake_free(w);
        return NULL;
    }

    /* Every thread started here (libmicrohttpd's, the Kafka thread,
     * librdkafka's) inherits the mask: with the asynchronous signals
     * blocked there, a SIGTERM interrupts the thread that waits for it. */
    httpd_block_signals(&old);
    char e[512];
    if (!(w->producer = kafka_producer_new(cfg, kafka_sync_dr, NULL, e, sizeof(e)))) {
        snprintf(err, errlen, "intake: %s", e);
        goto fail;
    }
    if (pthread_create(&w->kafka, NULL, kafka_loop, w) != 0) {
        snprintf(err, errlen, "intake: cannot start a thread");
        goto fail;
    }
    w->kafka_running = 1;
    if (!(w->deadlines = deadline_new("webhook intake", cfg->intake_header_timeout_ms,
                                      cfg->intake_request_timeout_ms, e, sizeof(e)))) {
        snprintf(err, errlen, "%s", e);
        goto fail;
    }
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (v6) flags |= MHD_USE_IPv6;
    w->d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handle, w,
                            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, w,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                            MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)WEBHOOK_THREADS,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cfg->intake_max_connections,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                            (unsigned int)cfg->intake_max_connections_per_ip,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)WEBHOOK_TIMEOUT_S,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)WEBHOOK_CONN_MEMORY,
                            MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)cfg->intake_max_connections,
                            MHD_OPTION_NOTIFY_COMPLETED, completed, w,
                            MHD_OPTION_NOTIFY_CONNECTION, deadline_notify, w->deadlines,
                            MHD_OPTION_END);
    httpd_starting_end(&w->starting);
    if (!w->d) {
        httpd_start_failed(&w->starting, "intake", cfg->intake_address, v6, port, err, errlen);
        goto fail;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(w->d, MHD_DAEMON_INFO_BIND_PORT);
    w->port = info && info->port ? info->port : port;
    return w;
fail:
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    stop_kafka(w);
    intake_free(w);
    return NULL;
}

int webhook_intake_port(const webhook_intake *w) { return w ? w->port : -1; }

void webhook_intake_stop(webhook_intake *w) {
    if (!w) return;
    /* No new connections; those open may still finish their requests, and
     * any that reaches Kafka from now on is answered 503. */
    MHD_socket listener = MHD_quiesce_daemon(w->d);
    stop_kafka(w);
    /* Every queued request now has its answer; give those a moment to go
     * out before every connection is closed. */
    struct timespec ts;
    deadline_in(&ts, DRAIN_MS);
    pthread_mutex_lock(&w->mu);
    while (w->answered > 0)
        if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) == ETIMEDOUT) break;
    pthread_mutex_unlock(&w->mu);
    MHD_stop_daemon(w->d);
    if (listener != MHD_INVALID_SOCKET) close(listener);
    intake_free(w);
}
