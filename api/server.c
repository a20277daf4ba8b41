/* server.c - muster-api's HTTP server: requests, tokens and scopes, routes */
#include "api/api.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/assets.h"
#include "common/httpd.h"
#include "common/log.h"
#include "state/operator.h"
#include "common/util.h"

#define JSON_TYPE "application/json"
#define POOL_MAX 256
#define API_TIMEOUT_S 60     /* idle seconds before a connection is closed */
#define API_CONN_MEMORY 65536

struct api {
    const config *cfg;
    struct MHD_Daemon *d;
    int port;
    size_t body_max;
    access_tokens tokens;
    deadline_watch *deadlines;
    metrics *m;
    metric_family *requests;
    atomic_int stopping;
    atomic_int redis_ok;

    pthread_mutex_t mu; /* guards the pool */
    store *idle[POOL_MAX];
    size_t nidle;

    httpd_starting starting; /* why MHD_start_daemon() failed */
};

/* One request from its head to its answer (libmicrohttpd's con_cls). */
typedef struct req {
    char peer[64];
    char *body;
    size_t len, cap;
    int too_big;
} req;

const config *api_config(const api *a) { return a->cfg; }
int api_stopping(const api *a) { return atomic_load(&a->stopping); }
int api_port(const api *a) { return a ? a->port : -1; }

/* ---- the Redis pool ---- */

store *api_store_get(api *a, char *err, size_t errlen) {
    store *s = NULL;
    pthread_mutex_lock(&a->mu);
    if (a->nidle) s = a->idle[--a->nidle];
    pthread_mutex_unlock(&a->mu);
    if (s) return s;
    s = store_open(a->cfg, err, errlen);
    atomic_store(&a->redis_ok, s != NULL);
    return s;
}

void api_store_put(api *a, store *s) {
    if (!s) return;
    int ok = store_connected(s);
    atomic_store(&a->redis_ok, ok);
    pthread_mutex_lock(&a->mu);
    if (ok && a->nidle < POOL_MAX) {
        a->idle[a->nidle++] = s;
        s = NULL;
    }
    pthread_mutex_unlock(&a->mu);
    store_close(s);
}

/* ---- answers ---- */

static void add_common_headers(struct MHD_Response *r) {
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *body,
                                 const char *hname, const char *hvalue) {
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : strdup("{}");
    json_decref(body);
    if (!text) return MHD_NO;
    struct MHD_Response *r =
        MHD_create_response_from_buffer_with_free_callback(strlen(text), text, free);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, JSON_TYPE);
    add_common_headers(r);
    if (hname) MHD_add_response_header(r, hname, hvalue);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* {"error": text}, text made safe for JSON (non-UTF-8 bytes as '?'). */
static json_t *error_body(const char *text, const char *field) {
    json_t *s = json_string(text);
    if (!s) {
        char safe[1024];
        size_t i = 0;
        for (; text[i] && i + 1 < sizeof(safe); i++)
            safe[i] = (unsigned char)text[i] >= 0x80 ? '?' : text[i];
        safe[i] = '\0';
        s = json_string(safe);
    }
    json_t *o = json_object();
    json_object_set_new(o, "error", s);
    if (field) json_object_set_new(o, "field", json_string(field));
    return o;
}

void api_fail(api_call *k, unsigned status, const char *field, const char *fmt, ...) {
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    json_decref(k->answer);
    k->status = status;
    k->answer = error_body(text, field);
}

static enum MHD_Result refuse(api *a, struct MHD_Connection *c, const char *peer,
                              const char *method, const char *url, const char *route,
                              unsigned status, const char *why, const char *hname,
                              const char *hvalue) {
    char code[8];
    snprintf(code, sizeof(code), "%u", status);
    const char *labels[] = {route, code};
    metrics_inc(a->requests, labels, 1);
    mlog(LOG_WARN, NULL, "api: %u for %.16s %.160s from %s: %s", status, method, url, peer, why);
    return send_json(c, status, error_body(why, NULL), hname, hvalue);
}

json_t *api_body_object(api_call *k) {
    json_error_t jerr;
    if (k->len == 0) return json_object();
    json_t *doc = json_loadb(k->body, k->len, 0, &jerr);
    if (!doc) {
        api_fail(k, MHD_HTTP_BAD_REQUEST, NULL, "body: not JSON: %s at line %d column %d",
                 jerr.text, jerr.line, jerr.column);
        return NULL;
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        api_fail(k, MHD_HTTP_BAD_REQUEST, NULL, "body: not a JSON object");
        return NULL;
    }
    return doc;
}

const char *api_query(const api_call *k, const char *key) {
    return MHD_lookup_connection_value(k->c, MHD_GET_ARGUMENT_KIND, key);
}

void api_operator(const api_call *k, struct operator_ctx *o) {
    o->by = k->who->name;
    o->via = "api";
    o->remote = k->peer;
    o->audit_max = k->a->cfg->audit_max_entries;
}

/* ---- routes ---- */

enum { EXACT, INCIDENT, TASK };

static const struct route {
    const char *method;
    const char *prefix; /* the path, or what comes before {id} / {task} */
    int kind;
    const char *suffix; /* after {id} / {task} */
    unsigned scope;     /* 0: any valid token */
    void (*fn)(api_call *k);
    const char *name;   /* the metrics label */
} routes[] = {
    {"GET", "/api/v1/incidents", EXACT, "", SCOPE_INCIDENTS_READ, route_incidents, "incidents"},
    {"GET", "/api/v1/incidents/", INCIDENT, "", SCOPE_INCIDENTS_READ, route_incident, "incident"},
    {"POST", "/api/v1/incidents/", INCIDENT, "/ack", SCOPE_INCIDENTS_ACK, route_ack, "ack"},
    {"POST", "/api/v1/incidents/", INCIDENT, "/resolve", SCOPE_INCIDENTS_WRITE, route_resolve,
     "resolve"},
    {"POST", "/api/v1/incidents/", INCIDENT, "/notes", SCOPE_INCIDENTS_WRITE, route_note, "notes"},
    {"GET", "/api/v1/tasks/dead", EXACT, "", SCOPE_INCIDENTS_READ, route_dead, "dead"},
    {"POST", "/api/v1/tasks/replay", EXACT, "", SCOPE_TASKS_REPLAY, route_replay_bulk,
     "replay_bulk"},
    {"POST", "/api/v1/tasks/", TASK, "/replay", SCOPE_TASKS_REPLAY, route_replay, "replay"},
    {"GET", "/api/v1/status", EXACT, "", SCOPE_INCIDENTS_READ, route_status, "status"},
    {"GET", "/api/v1/oncall", EXACT, "", SCOPE_INCIDENTS_READ, route_oncall, "oncall"},
    {"GET", "/api/v1/kpi", EXACT, "", SCOPE_INCIDENTS_READ, route_kpi, "kpi"},
    {"GET", "/api/v1/events", EXACT, "", SCOPE_INCIDENTS_READ, route_events, "events"},
    {"GET", "/api/v1/audit", EXACT, "", SCOPE_ADMIN, route_audit, "audit"},
    {"GET", "/api/v1/whoami", EXACT, "", 0, route_whoami, "whoami"},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static int id_char(char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '_';
}

/* Whether url is the route's path; fills the call's id or task. */
static int path_matches(const struct route *rt, const char *url, api_call *k) {
    if (rt->kind == EXACT) return strcmp(url, rt->prefix) == 0;
    size_t n = strlen(url), p = strlen(rt->prefix), q = strlen(rt->suffix);
    if (n <= p + q || strncmp(url, rt->prefix, p) || strcmp(url + n - q, rt->suffix)) return 0;
    const char *v = url + p;
    size_t vlen = n - p - q;
    if (rt->kind == INCIDENT) {
        if (vlen >= sizeof(k->id)) return 0;
        for (size_t i = 0; i < vlen; i++)
            if (!id_char(v[i])) return 0;
        memcpy(k->id, v, vlen);
        k->id[vlen] = '\0';
        return 1;
    }
    /* A task is INCIDENT/STEP (the slash sent as is or as %2F); a step id
     * may hold '.', '#' and the like, never a blank or a control byte. */
    if (vlen >= sizeof(k->task) || !memchr(v, '/', vlen)) return 0;
    for (size_t i = 0; i < vlen; i++)
        if ((unsigned char)v[i] <= 0x20 || (unsigned char)v[i] >= 0x7f) return 0;
    memcpy(k->task, v, vlen);
    k->task[vlen] = '\0';
    return 1;
}

/* The token of "Authorization: Bearer TOKEN", or NULL with why. */
static const access_token *authenticate(api *a, struct MHD_Connection *c, const char **why) {
    const char *h =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *t;
    size_t n;
    if (tokens_bearer(h, &t, &n, why) < 0) return NULL;
    const access_token *k = access_match(&a->tokens, t, n);
    if (!k) *why = "unknown bearer token";
    return k;
}

static enum MHD_Result dispatch(api *a, req *r, struct MHD_Connection *c, const char *url,
                                const char *method) {
    api_call k;
    const struct route *rt = NULL;
    int path_known = 0;
    char allow[64] = "", err[512];

    memset(&k, 0, sizeof(k));
    for (size_t i = 0; i < NROUTES; i++) {
        if (!path_matches(&routes[i], url, &k)) continue;
        /* /tasks/replay is the bulk route, not a task named "replay" */
        if (routes[i].kind == TASK && !strcmp(url, "/api/v1/tasks/replay")) continue;
        path_known = 1;
        snprintf(allow + strlen(allow), sizeof(allow) - strlen(allow), "%s%s", *allow ? ", " : "",
                 routes[i].method);
        if (!strcmp(method, routes[i].method)) {
            rt = &routes[i];
            break;
        }
    }
    if (!rt && path_known)
        return refuse(a, c, r->peer, method, url, "other", MHD_HTTP_METHOD_NOT_ALLOWED,
                      "method not allowed", MHD_HTTP_HEADER_ALLOW, allow);
    if (!rt)
        return refuse(a, c, r->peer, method, url, "other", MHD_HTTP_NOT_FOUND, "not found", NULL,
                      NULL);
    const char *why = NULL;
    const access_token *who = authenticate(a, c, &why);
    if (!who)
        return refuse(a, c, r->peer, method, url, rt->name, MHD_HTTP_UNAUTHORIZED, why,
                      MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"muster\"");
    if (rt->scope && !access_allows(who, rt->scope)) {
        char text[256];
        snprintf(text, sizeof(text), "the token of \"%s\" lacks the scope %s", who->name,
                 access_scope_name((access_scope)rt->scope));
        return refuse(a, c, r->peer, method, url, rt->name, MHD_HTTP_FORBIDDEN, text,
                      MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                      "Bearer realm=\"muster\", error=\"insufficient_scope\"");
    }
    k.a = a;
    k.c = c;
    k.who = who;
    k.peer = r->peer;
    k.body = r->body ? r->body : "";
    k.len = r->len;
    k.status = MHD_HTTP_OK;
    if (!(k.s = api_store_get(a, err, sizeof(err))))
        return refuse(a, c, r->peer, method, url, rt->name, MHD_HTTP_SERVICE_UNAVAILABLE, err,
                      MHD_HTTP_HEADER_RETRY_AFTER, API_RETRY_AFTER_S);
    rt->fn(&k);
    api_store_put(a, k.s);
    char code[8];
    snprintf(code, sizeof(code), "%u", k.response ? 200u : k.status);
    const char *labels[] = {rt->name, code};
    metrics_inc(a->requests, labels, 1);
    if (k.response) {
        enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, k.response);
        MHD_destroy_response(k.response);
        return ret;
    }
    log_ctx lc = {k.id[0] ? k.id : NULL, k.task[0] ? k.task : NULL, NULL};
    if (k.status >= 400)
        mlog(LOG_WARN, &lc, "api: %u for %s %.160s by %s from %s: %s", k.status, method, url,
             who->name, r->peer, json_string_value(json_object_get(k.answer, "error")));
    else if (strcmp(method, "GET") != 0)
        mlog(LOG_INFO, &lc, "api: %u for %s %.160s by %s from %s", k.status, method, url,
             who->name, r->peer);
    int busy = k.status == MHD_HTTP_SERVICE_UNAVAILABLE;
    return send_json(c, k.status, k.answer, busy ? MHD_HTTP_HEADER_RETRY_AFTER : NULL,
                     busy ? API_RETRY_AFTER_S : NULL);
}

/* ---- the console ---- */

static const char *content_type(const char *path) {
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},   {".svg", "image/svg+xml"},
        {".png", "image/png"},                 {".ico", "image/x-icon"},
        {".json", "application/json"},         {".txt", "text/plain; charset=utf-8"},
        {".woff2", "font/woff2"},              {".map", "application/json"},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
        if (!strcmp(dot, types[i].ext)) return types[i].type;
    return "application/octet-stream";
}

/* Nothing from another origin, no inline script or style, no framing. */
#define CONSOLE_CSP                                                                          \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "        \
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "            \
    "form-action 'self'; frame-ancestors 'none'"

static enum MHD_Result serve_asset(api *a, req *r, struct MHD_Connection *c, const char *url,
                                   const char *method) {
    const char *path = strcmp(url, "/") == 0 ? "/index.html" : url;
    const api_asset *f = NULL;
    for (size_t i = 0; i < api_nassets; i++)
        if (!strcmp(api_assets[i].path, path)) f = &api_assets[i];
    if (!f) return refuse(a, c, r->peer, method, url, "other", MHD_HTTP_NOT_FOUND, "not found", NULL, NULL);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return refuse(a, c, r->peer, method, url, "console", MHD_HTTP_METHOD_NOT_ALLOWED,
                      "method not allowed", MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    int fresh = inm && strstr(inm, f->etag) != NULL;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(fresh ? 0 : f->len, (void *)f->data,
                                        MHD_RESPMEM_PERSISTENT);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type(path));
    /* The names carry no hash: every use asks whether it changed (304). */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, f->etag);
    MHD_add_response_header(resp, "Content-Security-Policy", CONSOLE_CSP);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
    enum MHD_Result ret = MHD_queue_response(c, fresh ? MHD_HTTP_NOT_MODIFIED : MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    const char *labels[] = {"console", fresh ? "304" : "200"};
    metrics_inc(a->requests, labels, 1);
    return ret;
}

/* ---- libmicrohttpd ---- */

/* /readyz: Redis answers. Runs on a connection's thread. */
static int ready(void *arg, char *why, size_t len) {
    api *a = arg;
    char err[256];
    store *s = api_store_get(a, err, sizeof(err));
    if (!s) {
        snprintf(why, len, "redis not reachable: %s", err);
        return 0;
    }
    redisReply *r = store_command(s, "PING");
    int ok = r && r->type != REDIS_REPLY_ERROR;
    if (r) freeReplyObject(r);
    api_store_put(a, s);
    if (!ok) snprintf(why, len, "redis not reachable");
    if (ok && !a->tokens.n) {
        snprintf(why, len, "degraded: no tokens (api.tokens_file): every API request is refused");
        return HTTPD_DEGRADED;
    }
    return ok;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls) {
    api *a = cls;
    req *r = *con_cls;
    enum MHD_Result ret;

    if (!r) {
        deadline_head_done(c);
        if (!(r = calloc(1, sizeof(*r)))) return MHD_NO;
        *con_cls = r;
        httpd_peer(c, r->peer, sizeof(r->peer));
        const char *cl =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl) {
            char *end, why[128];
            errno = 0;
            unsigned long long n = strtoull(cl, &end, 10);
            if (errno || end == cl || n > a->body_max) {
                snprintf(why, sizeof(why), "body is larger than %zu bytes (api.body_max)",
                         a->body_max);
                return refuse(a, c, r->peer, method, url, "other", MHD_HTTP_CONTENT_TOO_LARGE,
                              why, NULL, NULL);
            }
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->too_big || n > a->body_max - r->len) {
            r->too_big = 1;
            return MHD_YES;
        }
        if (r->len + n + 1 > r->cap) {
            size_t cap = (r->len + n + 1) * 2;
            if (cap > a->body_max + 1) cap = a->body_max + 1;
            char *nb = realloc(r->body, cap);
            if (!nb) return MHD_NO;
            r->body = nb;
            r->cap = cap;
        }
        memcpy(r->body + r->len, upload_data, n);
        r->len += n;
        r->body[r->len] = '\0';
        return MHD_YES;
    }
    if (deadline_body_done(c) < 0) return MHD_NO;
    if (r->too_big) {
        char why[128];
        snprintf(why, sizeof(why), "body is larger than %zu bytes (api.body_max)", a->body_max);
        return refuse(a, c, r->peer, method, url, "other", MHD_HTTP_CONTENT_TOO_LARGE, why, NULL,
                      NULL);
    }
    if (httpd_probe(c, url, method, a->m, ready, a, &ret)) return ret;
    if (strncmp(url, "/api/", 5) != 0) return serve_asset(a, r, c, url, method);
    return dispatch(a, r, c, url, method);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe) {
    req *r = *con_cls;
    deadline_request_done(c);
    if (!r) return;
    free(r->body);
    free(r);
    *con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void mhd_log(void *cls, const char *fmt, va_list ap) {
    api *a = cls;
    char msg[512];
    if (!httpd_log_text(&a->starting, msg, sizeof(msg), fmt, ap) &&
        strncmp(msg, "Application reported internal error", 36) != 0)
        mlog(LOG_WARN, NULL, "api: %s", msg);
}

static void api_free(api *a) {
    for (size_t i = 0; i < a->nidle; i++) store_close(a->idle[i]);
    deadline_free(a->deadlines);
    access_free(&a->tokens);
    metrics_free(a->m);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

api *api_start(const config *cfg, char *err, size_t errlen) {
    struct sockaddr_storage ss;
    sigset_t old;
    int v6 = 0, port = (int)cfg->api_port;
    char e[512];
    api *a;

    if (cfg->api_request_timeout_ms < cfg->api_header_timeout_ms) {
        snprintf(err, errlen, "api.request_timeout (%lld ms) is shorter than api.header_timeout "
                 "(%lld ms)", (long long)cfg->api_request_timeout_ms,
                 (long long)cfg->api_header_timeout_ms);
        return NULL;
    }
    if (!(a = calloc(1, sizeof(*a)))) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&a->mu, NULL);
    a->cfg = cfg;
    a->body_max = (size_t)cfg->api_body_max;
    httpd_starting_begin(&a->starting);
    atomic_init(&a->stopping, 0);
    atomic_init(&a->redis_ok, 0);
    if (access_load(&a->tokens, cfg->api_tokens_file, err, errlen) < 0) goto fail;
    if (!a->tokens.n)
        mlog(LOG_WARN, NULL, "api: no tokens%s%s: every API request will be refused (muster "
             "token create)", *cfg->api_tokens_file ? " in " : " (api.tokens_file is empty)",
             cfg->api_tokens_file);
    static const char *const labels[] = {"route", "code", NULL};
    if (!(a->m = metrics_new(0, 0)) ||
        !(a->requests = metrics_counter(a->m, "muster_api_requests_total",
                                        "API requests answered, by route and status code",
                                        labels))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (httpd_resolve("api.address", cfg->api_address, port, &ss, &v6, err, errlen) < 0) goto fail;
    if (!(a->deadlines = deadline_new("api", cfg->api_header_timeout_ms,
                                      cfg->api_request_timeout_ms, e, sizeof(e)))) {
        snprintf(err, errlen, "%s", e);
        goto fail;
    }
    /* A thread per connection: a route may wait for Redis, and an event
     * stream waits for the next event, without holding the others up. */
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_ERROR_LOG;
    if (v6) flags |= MHD_USE_IPv6;
    httpd_block_signals(&old);
    a->d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handle, a,
                            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, a,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned int)cfg->api_max_connections,
                            MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                            (unsigned int)cfg->api_max_connections_per_ip,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)API_TIMEOUT_S,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)API_CONN_MEMORY,
                            MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)cfg->api_max_connections,
                            MHD_OPTION_NOTIFY_COMPLETED, completed, a,
                            MHD_OPTION_NOTIFY_CONNECTION, deadline_notify, a->deadlines,
                            MHD_OPTION_END);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    httpd_starting_end(&a->starting);
    if (!a->d) {
        httpd_start_failed(&a->starting, "api", cfg->api_address, v6, port, err, errlen);
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(a->d, MHD_DAEMON_INFO_BIND_PORT);
    a->port = info && info->port ? info->port : port;
    return a;
fail:
    api_free(a);
    return NULL;
}

void api_stop(api *a) {
    if (!a) return;
    atomic_store(&a->stopping, 1); /* the event streams end within a second */
    MHD_stop_daemon(a->d);
    api_free(a);
}
