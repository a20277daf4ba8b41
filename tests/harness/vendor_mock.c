/* vendor_mock.c - a local HTTP server that plays a vendor's API in tests */
#include "vendor_mock.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BODY_MAX (1024 * 1024)

struct vendor_mock {
    struct MHD_Daemon *d;
    mock_handler h;
    void *arg;
    char url[64];
    pthread_mutex_t mu;
    mock_request reqs[MOCK_MAX_REQUESTS];
    int n;
    char *problems;
    size_t plen;
};

typedef struct pending {
    char *body;
    size_t len;
    bool too_big;
} pending;

void mock_problem(vendor_mock *m, const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    size_t n = strlen(line);
    char *p = realloc(m->problems, m->plen + n + 2);
    if (!p) return;
    m->problems = p;
    memcpy(p + m->plen, line, n);
    m->plen += n;
    p[m->plen++] = '\n';
    p[m->plen] = '\0';
}

char *vendor_mock_problems(vendor_mock *m) {
    pthread_mutex_lock(&m->mu);
    char *p = m->problems ? strdup(m->problems) : NULL;
    pthread_mutex_unlock(&m->mu);
    return p;
}

bool vendor_mock_clean(vendor_mock *m) {
    char *p = vendor_mock_problems(m);
    if (p) fprintf(stderr, "vendor mock problems:\n%s", p);
    free(p);
    return p == NULL;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes %XX and '+' of [s, s+n) into a new string. */
static char *form_unescape(const char *s, size_t n) {
    char *out = malloc(n + 1), *o = out;
    if (!out) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            *o++ = ' ';
        } else if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            *o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

json_t *mock_form_decode(const char *body, size_t len) {
    json_t *o = json_object();
    const char *p = body, *end = body + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        if (!amp) amp = end;
        const char *eq = memchr(p, '=', (size_t)(amp - p));
        if (eq) {
            char *k = form_unescape(p, (size_t)(eq - p));
            char *v = form_unescape(eq + 1, (size_t)(amp - eq - 1));
            json_t *js = v ? json_string(v) : NULL; /* NULL when not UTF-8 */
            if (k) json_object_set_new(o, k, js ? js : json_string("(not UTF-8)"));
            free(k);
            free(v);
        }
        p = amp + 1;
    }
    return o;
}

static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value) {
    json_t *o = cls;
    char name[256];
    size_t i = 0;
    (void)kind;
    for (; key[i] && i < sizeof(name) - 1; i++) name[i] = (char)tolower((unsigned char)key[i]);
    name[i] = '\0';
    json_object_set_new(o, kind == MHD_HEADER_KIND ? name : key, json_string(value ? value : ""));
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *size, void **con_cls) {
    vendor_mock *m = cls;
    pending *p = *con_cls;
    (void)version;
    if (!p) {
        if (!(p = calloc(1, sizeof(*p)))) return MHD_NO;
        *con_cls = p;
        return MHD_YES;
    }
    if (*size) {
        if (p->len + *size > BODY_MAX) {
            p->too_big = true;
        } else {
            char *nb = realloc(p->body, p->len + *size + 1);
            if (!nb) return MHD_NO;
            p->body = nb;
            memcpy(p->body + p->len, data, *size);
            p->len += *size;
            p->body[p->len] = '\0';
        }
        *size = 0;
        return MHD_YES;
    }
    mock_reply rp = {0};
    pthread_mutex_lock(&m->mu);
    int n = m->n;
    if (n < MOCK_MAX_REQUESTS) {
        mock_request *rq = &m->reqs[n];
        snprintf(rq->method, sizeof(rq->method), "%s", method);
        snprintf(rq->path, sizeof(rq->path), "%s", url);
        rq->headers = json_object();
        rq->query = json_object();
        MHD_get_connection_values(c, MHD_HEADER_KIND, collect, rq->headers);
        MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect, rq->query);
        rq->body = p->body ? p->body : strdup("");
        rq->len = p->len;
        p->body = NULL;
        rq->json = json_loadb(rq->body, rq->len, 0, NULL);
        const char *type = json_string_value(json_object_get(rq->headers, "content-type"));
        if (type && strncasecmp(type, "application/x-www-form-urlencoded", 33) == 0)
            rq->form = mock_form_decode(rq->body, rq->len);
        m->n++;
        if (p->too_big) mock_problem(m, "request %d: body over %d bytes", n, BODY_MAX);
        m->h(m, m->arg, n, rq, &rp);
    } else {
        mock_problem(m, "more than %d requests", MOCK_MAX_REQUESTS);
        rp.status = 500;
    }
    pthread_mutex_unlock(&m->mu);
    const char *body = rp.body ? rp.body : "";
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", rp.content_type ? rp.content_type : "application/json");
    const char *k;
    json_t *v;
    json_object_foreach(rp.headers, k, v) MHD_add_response_header(r, k, json_string_value(v));
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)(rp.status ? rp.status : 200), r);
    MHD_destroy_response(r);
    free(rp.body);
    json_decref(rp.headers);
    return ret;
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode toe) {
    pending *p = *con_cls;
    (void)cls, (void)c, (void)toe;
    if (p) {
        free(p->body);
        free(p);
        *con_cls = NULL;
    }
}

vendor_mock *vendor_mock_start(mock_handler h, void *arg) {
    vendor_mock *m = calloc(1, sizeof(*m));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    if (!m) return NULL;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    m->h = h;
    m->arg = arg;
    pthread_mutex_init(&m->mu, NULL);
    m->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                            on_request, m, MHD_OPTION_SOCK_ADDR, &a, MHD_OPTION_NOTIFY_COMPLETED,
                            on_done, m, MHD_OPTION_END);
    if (!m->d) {
        free(m);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT);
    snprintf(m->url, sizeof(m->url), "http://127.0.0.1:%u", info ? (unsigned)info->port : 0u);
    return m;
}

void vendor_mock_stop(vendor_mock *m) {
    if (!m) return;
    MHD_stop_daemon(m->d);
    for (int i = 0; i < m->n && i < MOCK_MAX_REQUESTS; i++) {
        mock_request *rq = &m->reqs[i];
        json_decref(rq->query);
        json_decref(rq->headers);
        json_decref(rq->json);
        json_decref(rq->form);
        free(rq->body);
    }
    free(m->problems);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

const char *vendor_mock_url(const vendor_mock *m) { return m->url; }

int vendor_mock_count(vendor_mock *m) {
    pthread_mutex_lock(&m->mu);
    int n = m->n;
    pthread_mutex_unlock(&m->mu);
    return n;
}

const mock_request *vendor_mock_request(vendor_mock *m, int n) {
    return n >= 0 && n < vendor_mock_count(m) && n < MOCK_MAX_REQUESTS ? &m->reqs[n] : NULL;
}

/* ---- checks ---- */

bool mock_expect(vendor_mock *m, const mock_request *rq, const char *method, const char *path) {
    bool ok = strcmp(rq->method, method) == 0 && strcmp(rq->path, path) == 0;
    if (!ok) mock_problem(m, "expected %s %s, got %s %s", method, path, rq->method, rq->path);
    return ok;
}

bool mock_expect_header(vendor_mock *m, const mock_request *rq, const char *name,
                        const char *value) {
    const char *v = json_string_value(json_object_get(rq->headers, name));
    if (!v) {
        mock_problem(m, "%s %s: no %s header", rq->method, rq->path, name);
        return false;
    }
    if (value && strcmp(v, value) != 0) {
        mock_problem(m, "%s %s: header %s is \"%s\", expected \"%s\"", rq->method, rq->path, name,
                     v, value);
        return false;
    }
    return true;
}

bool mock_expect_type(vendor_mock *m, const mock_request *rq, const char *media_type) {
    const char *v = json_string_value(json_object_get(rq->headers, "content-type"));
    size_t n = strlen(media_type);
    bool ok = v && strncasecmp(v, media_type, n) == 0 && (v[n] == '\0' || v[n] == ';');
    if (!ok)
        mock_problem(m, "%s %s: Content-Type is \"%s\", expected %s", rq->method, rq->path,
                     v ? v : "(none)", media_type);
    return ok;
}

static void b64(const unsigned char *in, size_t n, char *out) {
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        out[o++] = t[v >> 18 & 63];
        out[o++] = t[v >> 12 & 63];
        out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? t[v & 63] : '=';
    }
    out[o] = '\0';
}

bool mock_expect_basic(vendor_mock *m, const mock_request *rq, const char *user,
                       const char *password) {
    char plain[1024], enc[1400], want[1500];
    snprintf(plain, sizeof(plain), "%s:%s", user, password);
    b64((const unsigned char *)plain, strlen(plain), enc);
    snprintf(want, sizeof(want), "Basic %s", enc);
    return mock_expect_header(m, rq, "authorization", want);
}

bool mock_expect_bearer(vendor_mock *m, const mock_request *rq, const char *token) {
    char want[1100];
    snprintf(want, sizeof(want), "Bearer %s", token);
    return mock_expect_header(m, rq, "authorization", want);
}

json_t *json_dotted(json_t *v, const char *path) {
    char key[256];
    const char *p = path;
    while (v && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        snprintf(key, sizeof(key), "%.*s", (int)n, p);
        v = json_object_get(v, key);
        p += n + (dot ? 1 : 0);
    }
    return v;
}

json_t *mock_expect_field(vendor_mock *m, const mock_request *rq, const char *path, json_type type) {
    if (!rq->json) {
        mock_problem(m, "%s %s: body is not JSON (wanted field %s)", rq->method, rq->path, path);
        return NULL;
    }
    json_t *v = json_dotted(rq->json, path);
    bool ok = v && (json_typeof(v) == type ||
                    (type == JSON_TRUE && json_is_boolean(v)) ||
                    (type == JSON_REAL && json_is_number(v)));
    if (!ok) {
        static const char *const names[] = {"an object", "an array", "a string", "an integer",
                                            "a number", "a boolean", "a boolean", "null"};
        mock_problem(m, "%s %s: field %s is %s, expected %s", rq->method, rq->path, path,
                     v ? names[json_typeof(v)] : "missing", names[type]);
        return NULL;
    }
    return v;
}

void mock_reply_json(mock_reply *rp, int status, json_t *body) {
    rp->status = status;
    rp->content_type = "application/json";
    free(rp->body);
    rp->body = body ? json_dumps(body, JSON_COMPACT) : strdup("");
    json_decref(body);
}

void mock_reply_text(mock_reply *rp, int status, const char *content_type, const char *text) {
    rp->status = status;
    rp->content_type = content_type;
    free(rp->body);
    rp->body = strdup(text ? text : "");
}

void mock_reply_header(mock_reply *rp, const char *name, const char *value) {
    if (!rp->headers) rp->headers = json_object();
    json_object_set_new(rp->headers, name, json_string(value));
}
