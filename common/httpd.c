/* httpd.c - the health and metrics endpoints a daemon serves (libmicrohttpd) */
#include "common/httpd.h"

#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "common/deadline.h"
#include "common/log.h"

#define TEXT "text/plain; charset=utf-8"
#define METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct httpd {
    struct MHD_Daemon *d;
    deadline_watch *deadlines; /* HTTPD_HEAD_MS for the request, or it is cut */
    metrics *m;
    httpd_ready_fn ready;
    void *arg;
    int port;
    httpd_starting starting; /* why MHD_start_daemon() failed */
};

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap) {
    httpd *h = cls;
    char msg[512];
    if (!httpd_log_text(&h->starting, msg, sizeof(msg), fmt, ap))
        mlog(LOG_WARN, NULL, "httpd: %s", msg);
}

/* Queues body (len bytes) with status; `release` frees body afterwards
 * (NULL for static text). The response also goes out when this fails. */
static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             const char *body, size_t len, void (*release)(void *),
                             const char *allow) {
    struct MHD_Response *r =
        MHD_create_response_from_buffer_with_free_callback(len, (void *)body, release);
    if (!r) {
        if (release) release((void *)body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (allow) MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *text) {
    return reply(c, status, TEXT, text, strlen(text), NULL, NULL);
}

static enum MHD_Result ready(httpd_ready_fn ready_fn, void *arg, struct MHD_Connection *c) {
    char why[HTTPD_REASON_MAX] = "";
    int r = ready_fn ? ready_fn(arg, why, sizeof(why)) : 1;
    why[sizeof(why) - 1] = '\0';
    if (r && (r != HTTPD_DEGRADED || !why[0])) return reply_text(c, MHD_HTTP_OK, "ready\n");
    char *body = malloc(HTTPD_REASON_MAX + 16);
    if (!body) return MHD_NO;
    size_t len =
        (size_t)snprintf(body, HTTPD_REASON_MAX + 16, "%s\n", why[0] ? why : "not ready");
    return reply(c, r ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, TEXT, body, len, free, NULL);
}

static enum MHD_Result serve_metrics(metrics *m, struct MHD_Connection *c) {
    char *body = metrics_render(m);
    if (!body) return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    return reply(c, MHD_HTTP_OK, METRICS_TYPE, body, strlen(body), free, NULL);
}

int httpd_probe(struct MHD_Connection *c, const char *url, const char *method, metrics *m,
                httpd_ready_fn ready_fn, void *arg, enum MHD_Result *ret) {
    enum { HEALTH, READY, METRICS } route;
    if (strcmp(url, "/healthz") == 0) route = HEALTH;
    else if (strcmp(url, "/readyz") == 0) route = READY;
    else if (strcmp(url, "/metrics") == 0 && m) route = METRICS;
    else return 0;

    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        static const char body[] = "method not allowed\n";
        *ret = reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, TEXT, body, sizeof(body) - 1, NULL,
                     "GET, HEAD");
        return 1;
    }
    switch (route) {
    case HEALTH: *ret = reply_text(c, MHD_HTTP_OK, "ok\n"); break;
    case READY: *ret = ready(ready_fn, arg, c); break;
    case METRICS: *ret = serve_metrics(m, c); break;
    }
    return 1;
}

/* The answer went out: a kept-alive connection's next request starts its
 * deadline now. */
static void request_done(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode code) {
    (void)cls, (void)con_cls, (void)code;
    deadline_request_done(c);
}

/* Called by libmicrohttpd on its thread, once per request here: every
 * answer is queued on the first call, before any request body is read. */
static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls) {
    httpd *h = cls;
    enum MHD_Result ret = MHD_NO;

    /* Called with the head complete; a GET has no body to wait for. */
    deadline_head_done(c);
    if (deadline_body_done(c) < 0) return MHD_NO;
    if (httpd_probe(c, url, method, h->m, h->ready, h->arg, &ret)) return ret;
    return reply_text(c, MHD_HTTP_NOT_FOUND, "not found\n");
}

/* Parses addr, a numeric address (brackets around IPv6 allowed) or
 * "localhost": no name lookups at start, which could hang or vary. */
int httpd_resolve(const char *what, const char *addr, int port, struct sockaddr_storage *ss,
                  int *v6, char *err, size_t errlen) {
    char host[256], service[8];
    struct addrinfo hints, *res = NULL;
    size_t n;

    if (!addr || !*addr || strcmp(addr, "*") == 0) addr = "0.0.0.0";
    if (strcmp(addr, "localhost") == 0) addr = "127.0.0.1";
    n = strlen(addr);
    if (n >= sizeof(host)) {
        snprintf(err, errlen, "%s \"%.32s...\" is too long", what, addr);
        return -1;
    }
    if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']')
        snprintf(host, sizeof(host), "%.*s", (int)(n - 2), addr + 1);
    else
        snprintf(host, sizeof(host), "%s", addr);
    snprintf(service, sizeof(service), "%d", port);

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "%s \"%s\": %s", what, addr, gai_strerror(rc));
        return -1;
    }
    memset(ss, 0, sizeof(*ss));
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *v6 = res->ai_family == AF_INET6;
    freeaddrinfo(res);
    return 0;
}

httpd *httpd_start(const char *addr, int port, metrics *m, httpd_ready_fn ready_fn, void *arg,
                   char *err, size_t errlen) {
    struct sockaddr_storage ss;
    sigset_t old;
    int v6 = 0;
    httpd *h;

    if (port < 0 || port > 65535) {
        snprintf(err, errlen, "httpd: port %d is not in 0..65535", port);
        return NULL;
    }
    if (httpd_resolve("httpd: address", addr, port, &ss, &v6, err, errlen) < 0) return NULL;
    if (!(h = calloc(1, sizeof(*h)))) {
        snprintf(err, errlen, "httpd: out of memory");
        return NULL;
    }
    h->m = m;
    h->ready = ready_fn;
    h->arg = arg;
    httpd_starting_begin(&h->starting);
    if (!(h->deadlines = deadline_new("status server", HTTPD_HEAD_MS, HTTPD_HEAD_MS, err, errlen))) {
        free(h);
        return NULL;
    }

    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (v6) flags |= MHD_USE_IPv6;
    /* The server thread inherits the mask: with the asynchronous signals
     * blocked there, a SIGTERM interrupts the thread that waits for it. */
    httpd_block_signals(&old);
    h->d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handle, h,
                            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HTTPD_MAX_CONNECTIONS,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)HTTPD_MAX_PER_IP,
                            MHD_OPTION_NOTIFY_CONNECTION, deadline_notify, h->deadlines,
                            MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HTTPD_TIMEOUT_S,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
                            MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)16,
                            MHD_OPTION_END);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    httpd_starting_end(&h->starting);

    if (!h->d) {
        httpd_start_failed(&h->starting, "httpd", addr, v6, port, err, errlen);
        deadline_free(h->deadlines);
        free(h);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info && info->port ? info->port : port;
    return h;
}

void httpd_peer(struct MHD_Connection *c, char *buf, size_t len) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char host[48] = "?", port[8] = "?";
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        socklen_t sl = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                 : sizeof(struct sockaddr_in);
        getnameinfo(sa, sl, host, sizeof(host), port, sizeof(port),
                    NI_NUMERICHOST | NI_NUMERICSERV);
    }
    snprintf(buf, len, strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
}

void httpd_starting_begin(httpd_starting *s) {
    s->thread = pthread_self();
    s->why[0] = '\0';
    atomic_init(&s->on, 1);
}

void httpd_starting_end(httpd_starting *s) { atomic_store(&s->on, 0); }

int httpd_log_text(httpd_starting *s, char *msg, size_t len, const char *fmt, va_list ap) {
    vsnprintf(msg, len, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = '\0';
    if (!atomic_load(&s->on) || !pthread_equal(pthread_self(), s->thread)) return 0;
    snprintf(s->why, sizeof(s->why), "%s", msg);
    return 1;
}

void httpd_start_failed(const httpd_starting *s, const char *what, const char *addr, int v6,
                        int port, char *err, size_t errlen) {
    const char *shown = addr && *addr && strcmp(addr, "*") != 0 ? addr : "0.0.0.0";
    int bracket = v6 && shown[0] != '[';
    snprintf(err, errlen, "%s: %s%s%s:%d: %s", what, bracket ? "[" : "", shown,
             bracket ? "]" : "", port, s->why[0] ? s->why : "libmicrohttpd could not start");
}

void httpd_block_signals(sigset_t *old) {
    sigset_t all;
    sigfillset(&all);
    sigdelset(&all, SIGSEGV);
    sigdelset(&all, SIGBUS);
    sigdelset(&all, SIGFPE);
    sigdelset(&all, SIGILL);
    sigdelset(&all, SIGABRT);
    sigdelset(&all, SIGTRAP);
    pthread_sigmask(SIG_BLOCK, &all, old);
}

int httpd_port(const httpd *h) { return h ? h->port : -1; }

void httpd_stop(httpd *h) {
    if (!h) return;
    MHD_stop_daemon(h->d);
    deadline_free(h->deadlines);
    free(h);
}
