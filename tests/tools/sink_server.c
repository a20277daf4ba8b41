/* sink_server.c - muster-sink's HTTP server: answers requests from the route table */
#include "sink_server.h"
#include "sink_interact.h"
#include "sink_timer.h"
#include "sink_utf8.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>

#define CONNECTION_LIMIT 20000u    /* the benchmark keeps thousands in flight */
#define CONNECTION_TIMEOUT_S 120u  /* idle keep-alive; suspended ones never time out */
#define LISTEN_BACKLOG 4096u
#define FD_RESERVE 64u             /* descriptors kept for the log, epoll, ITC */
#define DRAIN_WAIT_MS 2000         /* how long stop waits for resumed delays */

struct sink_server {
    struct MHD_Daemon *daemon;
    struct sink_timer *timer;
    struct sink_routes *routes; /* borrowed */
    struct sink_log *log;       /* borrowed, may be NULL */
    atomic_ulong sent;          /* replies sent, stats excluded */
    atomic_ulong unmatched;     /* of which route -1 */
    atomic_long delayed;        /* suspended or resumed, not yet answered */
    struct sink_interact_stats clicks;
    struct sink_interact_ctx click_ctx;
    char response_url[INET6_ADDRSTRLEN + sizeof SINK_RESPONSE_PATH + 32];
};

/* One HTTP request, from its request line to MHD's completion callback. */
struct request {
    char *target;      /* request target as sent, cut at '?' */
    const char *query; /* after the '?' in target's buffer, or "" */
    double time;       /* unix seconds when the request line arrived */
    int started;       /* the headers-only first call has happened */
    int too_big;       /* body past SINK_BODY_MAX: answer 413 */
    int delayed;       /* suspended for reply.delay_ms, counted in srv->delayed */
    int replied;
    int builtin; /* answered by the sink itself, not a rule */
    char *body;
    size_t body_len, body_cap;
    int route; /* matched rule, or -1 */
    struct sink_reply reply;
};

static double unix_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A new request for target (path, '?', query, all as the client sent
 * them). NULL when memory runs out. Free with request_free(). */
static struct request *request_new(const char *target) {
    struct request *req = calloc(1, sizeof *req);
    char *q;

    if (!req)
        return NULL;
    if (!(req->target = strdup(target))) {
        free(req);
        return NULL;
    }
    req->query = "";
    if ((q = strchr(req->target, '?'))) {
        *q = '\0';
        req->query = q + 1;
    }
    req->time = unix_now();
    req->route = -1;
    return req;
}

static void request_free(struct request *req) {
    if (!req)
        return;
    free(req->target);
    free(req->body);
    sink_reply_clear(&req->reply);
    free(req);
}

static void delay_done(struct sink_server *srv, struct request *req) {
    if (req->delayed) {
        req->delayed = 0;
        atomic_fetch_sub(&srv->delayed, 1);
    }
}

/* Keeps the body up to SINK_BODY_MAX bytes; past that drops it and marks
 * the request too big, still reading what the client sends. */
static int body_append(struct request *req, const char *data, size_t len) {
    if (req->too_big)
        return 0;
    if (len > SINK_BODY_MAX - req->body_len) {
        req->too_big = 1;
        free(req->body);
        req->body = NULL;
        req->body_len = req->body_cap = 0;
        return 0;
    }
    if (req->body_len + len > req->body_cap) {
        size_t cap = req->body_cap ? req->body_cap : 4096;
        char *body;
        while (cap < req->body_len + len)
            cap *= 2;
        if (cap > SINK_BODY_MAX)
            cap = SINK_BODY_MAX;
        if (!(body = realloc(req->body, cap)))
            return -1;
        req->body = body;
        req->body_cap = cap;
    }
    memcpy(req->body + req->body_len, data, len);
    req->body_len += len;
    return 0;
}

/* ---- the log line ------------------------------------------------------ */

/* A JSON string of len bytes at s, made valid UTF-8 first. */
static json_t *json_text(const char *s, size_t len) {
    size_t fixed_len;
    char *fixed = sink_utf8_repair(s, len, &fixed_len);
    json_t *v = fixed ? json_stringn(fixed, fixed_len) : NULL;
    free(fixed);
    return v;
}

/* MHD_KeyValueIterator: adds one request header to the object in cls,
 * name lowercased; a repeated header's values are joined with ", ". */
static enum MHD_Result add_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value) {
    json_t *headers = cls, *name_json, *old;
    char *name;
    size_t len = strlen(key);

    (void)kind;
    if (!value)
        value = "";
    if (!(name = malloc(len + 1)))
        return MHD_YES;
    for (size_t i = 0; i <= len; i++)
        name[i] = (char)tolower((unsigned char)key[i]);
    name_json = json_text(name, len);
    free(name);
    if (!name_json)
        return MHD_YES;
    if ((old = json_object_get(headers, json_string_value(name_json)))) {
        size_t old_len = json_string_length(old), value_len = strlen(value);
        char *joined = malloc(old_len + 2 + value_len);
        if (joined) {
            memcpy(joined, json_string_value(old), old_len);
            memcpy(joined + old_len, ", ", 2);
            memcpy(joined + old_len + 2, value, value_len);
            json_object_set_new(headers, json_string_value(name_json),
                                json_text(joined, old_len + 2 + value_len));
            free(joined);
        }
    } else {
        json_object_set_new(headers, json_string_value(name_json),
                            json_text(value, strlen(value)));
    }
    json_decref(name_json);
    return MHD_YES;
}

/* Appends the request and the status it is answered with to the log. */
static void log_request(struct sink_server *srv, struct MHD_Connection *conn,
                        const struct request *req, const char *method, unsigned status) {
    json_t *entry, *headers;
    int failed;

    if (!srv->log)
        return;
    /* Every set steals its value even when it fails, so one decref of
     * entry cleans up whatever was built. */
    if (!(entry = json_object()))
        goto fail;
    failed = json_object_set_new(entry, "time", json_real(req->time)) != 0;
    failed |= json_object_set_new(entry, "method", json_text(method, strlen(method))) != 0;
    failed |= json_object_set_new(entry, "path", json_text(req->target, strlen(req->target))) != 0;
    failed |= json_object_set_new(entry, "query", json_text(req->query, strlen(req->query))) != 0;
    failed |= json_object_set_new(entry, "headers", headers = json_object()) != 0;
    if (!failed)
        MHD_get_connection_values(conn, MHD_HEADER_KIND, add_header, headers);
    failed |= json_object_set_new(entry, "body",
                                  json_text(req->body ? req->body : "", req->body_len)) != 0;
    failed |= json_object_set_new(entry, "status", json_integer(status)) != 0;
    failed |= json_object_set_new(entry, "route", json_integer(req->route)) != 0;
    if (!failed)
        sink_log_write(srv->log, entry);
    json_decref(entry);
    if (!failed)
        return;
fail:
    fprintf(stderr, "muster-sink: %s %s: out of memory building the log line\n", method,
            req->target);
}

/* ---- answering ------------------------------------------------------- */

/* Logs and queues req->reply, handing its body to MHD. */
static enum MHD_Result send_reply(struct sink_server *srv, struct MHD_Connection *conn,
                                  struct request *req, const char *method) {
    struct sink_reply *r = &req->reply;
    struct MHD_Response *resp;
    enum MHD_Result ret;

    req->replied = 1;
    delay_done(srv, req);
    resp = MHD_create_response_from_buffer(r->body_len, r->body, MHD_RESPMEM_MUST_FREE);
    if (!resp)
        return MHD_NO;
    r->body = NULL; /* MHD frees it with the response */
    if (r->content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
    for (size_t i = 0; i < r->nheaders; i++)
        if (MHD_add_response_header(resp, r->headers[2 * i], r->headers[2 * i + 1]) != MHD_YES)
            fprintf(stderr, "muster-sink: route %d: libmicrohttpd refused header \"%s\"\n",
                    req->route, r->headers[2 * i]);
    log_request(srv, conn, req, method, r->status);
    atomic_fetch_add(&srv->sent, 1);
    if (req->route >= 0)
        sink_routes_note_sent(srv->routes, req->route);
    else if (!req->builtin)
        atomic_fetch_add(&srv->unmatched, 1);
    ret = MHD_queue_response(conn, r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* GET /_sink/stats: counters as JSON, neither logged nor counted. */
static enum MHD_Result send_stats(struct sink_server *srv, struct MHD_Connection *conn,
                                  struct request *req) {
    json_t *doc;
    char *text = NULL;
    struct MHD_Response *resp = NULL;
    enum MHD_Result ret = MHD_NO;

    req->replied = 1;
    doc = json_pack("{s:I, s:I, s:I, s:o, s:o}", "requests", (json_int_t)atomic_load(&srv->sent),
                    "unmatched", (json_int_t)atomic_load(&srv->unmatched), "delayed",
                    (json_int_t)atomic_load(&srv->delayed), "by_route",
                    sink_routes_stats(srv->routes), "interactions",
                    sink_interact_stats_json(&srv->clicks));
    if (!doc || !(text = json_dumps(doc, JSON_COMPACT)))
        goto out;
    if (!(resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE)))
        goto out;
    text = NULL;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
out:
    MHD_destroy_response(resp);
    free(text);
    json_decref(doc);
    return ret;
}

/* When req's rule has then_interact, queues the button click it asks for
 * on the timer. A click that cannot be queued is counted as failed. */
static void queue_click(struct sink_server *srv, struct request *req) {
    struct sink_interact *ia = sink_routes_interaction(srv->routes, req->route);
    struct sink_interact_job *job = NULL;

    if (!ia || req->reply.injected)
        return;
    if (sink_interact_prepare(ia, req->route, req->body ? req->body : "", req->body_len,
                              req->reply.body, req->reply.body_len, &srv->click_ctx, &job) != 0) {
        fprintf(stderr, "muster-sink: route %d: out of memory preparing an interaction\n",
                req->route);
        atomic_fetch_add(&srv->clicks.failed, 1);
        return;
    }
    if (job && sink_timer_call(srv->timer, sink_interact_send, job, sink_interact_delay(ia)) != 0)
        sink_interact_send(job, 1); /* stopping: logs and frees it */
}

/* Decides req's reply, then sends it now or suspends the connection until
 * the rule's delay has passed (the timer resumes it and MHD calls
 * on_request again, which sends it). */
static enum MHD_Result answer(struct sink_server *srv, struct MHD_Connection *conn,
                              struct request *req, const char *method) {
    int rc;

    if (req->too_big) {
        rc = sink_reply_fixed(&req->reply, MHD_HTTP_CONTENT_TOO_LARGE,
                              "{\"error\":\"request body over 1048576 bytes\"}");
    } else if (strcmp(method, "GET") == 0 && strcmp(req->target, SINK_STATS_PATH) == 0) {
        return send_stats(srv, conn, req);
    } else if (strcmp(method, "POST") == 0 && strcmp(req->target, SINK_RESPONSE_PATH) == 0) {
        req->builtin = 1; /* a response_url handed out with a click: log it, answer as Slack */
        rc = sink_reply_fixed(&req->reply, MHD_HTTP_OK, "{\"ok\":true}");
    } else if ((req->route = sink_routes_match(srv->routes, method, req->target)) < 0) {
        rc = sink_reply_fixed(&req->reply, MHD_HTTP_NOT_FOUND, "{\"error\":\"no route\"}");
    } else if (sink_routes_answer(srv->routes, req->route, req->target, req->time,
                                  &req->reply) != 0) {
        fprintf(stderr, "muster-sink: route %d: %s %s: reply over %u bytes or out of memory\n",
                req->route, method, req->target, SINK_REPLY_MAX);
        rc = sink_reply_fixed(&req->reply, MHD_HTTP_INTERNAL_SERVER_ERROR,
                              "{\"error\":\"sink could not render the reply\"}");
    } else {
        queue_click(srv, req);
        rc = 0;
    }
    if (rc != 0)
        return MHD_NO;
    if (req->reply.delay_ms == 0)
        return send_reply(srv, conn, req, method);
    /* Suspend before queueing: the timer may resume at once, and resuming
     * a connection that is not suspended is undefined. */
    req->delayed = 1;
    atomic_fetch_add(&srv->delayed, 1);
    MHD_suspend_connection(conn);
    if (sink_timer_add(srv->timer, conn, req->reply.delay_ms) != 0)
        MHD_resume_connection(conn); /* stopping: answer without the delay */
    return MHD_YES;
}

static int content_length_too_big(const char *value) {
    char *end;
    unsigned long long n = strtoull(value, &end, 10);
    return end != value && n > SINK_BODY_MAX;
}

/* MHD_AccessHandlerCallback: called once with the headers, once per body
 * chunk, once at the end, and once more after a delayed connection is
 * resumed. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
    struct sink_server *srv = cls;
    struct request *req = *con_cls;
    const char *length;

    (void)version;
    if (!req) { /* on_target ran out of memory: the decoded path will do */
        if (!(req = request_new(url)))
            return MHD_NO;
        *con_cls = req;
    }
    if (req->replied) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (!req->started) {
        req->started = 1;
        /* Refuse a declared oversized body before the client sends it. */
        length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (length && content_length_too_big(length)) {
            req->too_big = 1;
            return answer(srv, conn, req, method);
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (body_append(req, upload_data, *upload_data_size) != 0)
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (req->delayed)
        return send_reply(srv, conn, req, method);
    return answer(srv, conn, req, method);
}

/* MHD_OPTION_URI_LOG_CALLBACK: sees the request target before MHD
 * percent-decodes the path and splits off the query, so the log and the
 * route match use both as sent. Returns the request state (or NULL). */
static void *on_target(void *cls, const char *uri, struct MHD_Connection *conn) {
    (void)cls;
    (void)conn;
    return request_new(uri);
}

/* MHD_OPTION_NOTIFY_COMPLETED: the request is over, answered or not. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    struct request *req = *con_cls;

    (void)conn;
    (void)toe;
    if (req)
        delay_done(cls, req);
    request_free(req);
    *con_cls = NULL;
}

static void on_mhd_message(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    fputs("muster-sink: libmicrohttpd: ", stderr);
    vfprintf(stderr, fmt, ap);
}

/* ---- lifecycle --------------------------------------------------------- */

/* CONNECTION_LIMIT, or less when descriptors are scarcer. */
static unsigned connection_limit(void) {
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < CONNECTION_LIMIT + FD_RESERVE)
        return rl.rlim_cur > 2 * FD_RESERVE ? (unsigned)(rl.rlim_cur - FD_RESERVE) : FD_RESERVE;
    return CONNECTION_LIMIT;
}

/* The response_url a click carries: this sink, as bound. */
static void self_response_url(struct sink_server *srv, const struct sockaddr *addr) {
    char host[INET6_ADDRSTRLEN] = "127.0.0.1";
    int v6 = addr->sa_family == AF_INET6;

    if (v6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)addr)->sin6_addr, host,
                  sizeof host);
    else
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)addr)->sin_addr, host,
                  sizeof host);
    snprintf(srv->response_url, sizeof srv->response_url, "http://%s%s%s:%u%s", v6 ? "[" : "",
             host, v6 ? "]" : "", sink_server_port(srv), SINK_RESPONSE_PATH);
}

int sink_server_start(const struct sink_server_config *cfg, struct sink_server **out, char *err,
                      size_t errlen) {
    int rc = -1;
    struct sink_server *srv = NULL;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;

    *out = NULL;
    if (cfg->addr->sa_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (!(srv = calloc(1, sizeof *srv))) {
        snprintf(err, errlen, "%s: out of memory", cfg->addr_text);
        goto out;
    }
    srv->routes = cfg->routes;
    srv->log = cfg->log;
    atomic_init(&srv->sent, 0);
    atomic_init(&srv->unmatched, 0);
    atomic_init(&srv->delayed, 0);
    atomic_init(&srv->clicks.scheduled, 0);
    atomic_init(&srv->clicks.answered, 0);
    atomic_init(&srv->clicks.failed, 0);
    atomic_init(&srv->clicks.skipped, 0);
    atomic_init(&srv->clicks.last_status, 0);
    if (sink_timer_new(&srv->timer, err, errlen) != 0)
        goto out;
    /* The logger goes first: MHD reports the options after it with it. */
    srv->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_message, NULL,
        MHD_OPTION_SOCK_ADDR, cfg->addr, MHD_OPTION_CONNECTION_LIMIT, connection_limit(),
        MHD_OPTION_CONNECTION_TIMEOUT, CONNECTION_TIMEOUT_S, MHD_OPTION_LISTEN_BACKLOG_SIZE,
        LISTEN_BACKLOG, MHD_OPTION_URI_LOG_CALLBACK, on_target, srv, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, srv,
        /* MHD warns about a pool of one, so one thread ends the list here. */
        cfg->threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, cfg->threads,
        MHD_OPTION_END);
    if (!srv->daemon) {
        snprintf(err, errlen, "%s: cannot start the HTTP server", cfg->addr_text);
        goto out;
    }
    self_response_url(srv, cfg->addr);
    srv->click_ctx = (struct sink_interact_ctx){
        .log = srv->log, .stats = &srv->clicks, .response_url = srv->response_url};
    *out = srv;
    srv = NULL;
    rc = 0;
out:
    sink_server_stop(srv);
    return rc;
}

unsigned sink_server_port(const struct sink_server *srv) {
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : 0;
}

void sink_server_stop(struct sink_server *srv) {
    if (!srv)
        return;
    /* MHD_stop_daemon() must not meet a suspended connection, and a
     * delayed reply is worth sending: resume them all, then give MHD's
     * threads a moment to answer before the connections close. */
    sink_timer_stop(srv->timer);
    for (int waited = 0; srv->daemon && waited < DRAIN_WAIT_MS; waited += 10) {
        if (atomic_load(&srv->delayed) <= 0)
            break;
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000000L}, NULL);
    }
    if (srv->daemon)
        MHD_stop_daemon(srv->daemon);
    sink_timer_free(srv->timer);
    free(srv);
}
