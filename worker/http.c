/* http.c - outbound HTTP for actions under the worker's network policy */
#include "worker/http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "common/backoff.h"
#include "common/util.h"

#define CONNECT_TIMEOUT_MAX_MS 5000

const char *with_str(const task *t, const char *name) {
    const char *s = json_string_value(json_object_get(t->with, name));
    return s && *s ? s : NULL;
}

int with_op(task *t, const char *action, const char *const *names) {
    const char *op = with_str(t, "op");
    char choices[200] = "";
    size_t n = 0;
    for (int i = 0; names[i]; i++) {
        if (!op || strcmp(op, names[i]) == 0) return i;
        n += (size_t)snprintf(choices + n, n < sizeof(choices) ? sizeof(choices) - n : 0, "%s%s",
                              i ? ", " : "", names[i]);
    }
    task_refuse(t, "%s: unknown op \"%s\" (%s)", action, op, choices);
    return -1;
}

bool with_need(task *t, const char *action, const char *op, const char *name) {
    if (with_str(t, name)) return true;
    task_refuse(t, "%s %s: the parameter \"%s\" is required", action, op, name);
    return false;
}

char *url_join(const char *base, const char *path) {
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/') bl--;
    while (*path == '/') path++;
    size_t len = bl + strlen(path) + 2;
    char *u = malloc(len);
    if (u) snprintf(u, len, "%.*s/%s", (int)bl, base, path);
    return u;
}

char *url_escape(const char *s) {
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(strlen(s) * 3 + 1), *o = out;
    if (!out) return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

/* ---- network policy ---- */

static bool v4_private(const unsigned char *a) {
    return a[0] == 0 || a[0] == 10 || a[0] == 127 ||           /* this, private, loopback */
           (a[0] == 100 && (a[1] & 0xc0) == 64) ||              /* 100.64/10 shared */
           (a[0] == 169 && a[1] == 254) ||                      /* link-local (metadata) */
           (a[0] == 172 && (a[1] & 0xf0) == 16) ||              /* 172.16/12 */
           (a[0] == 192 && a[1] == 168) ||                      /* 192.168/16 */
           (a[0] == 192 && a[1] == 0 && a[2] == 0) ||           /* 192.0.0/24 protocol */
           (a[0] == 198 && (a[1] & 0xfe) == 18) ||              /* 198.18/15 benchmarking */
           a[0] >= 224;                                         /* multicast, reserved */
}

static bool v6_private(const unsigned char *a) {
    static const unsigned char zero[16] = {0};
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(a, zero, 15) == 0 && (a[15] == 0 || a[15] == 1)) return true; /* :: and ::1 */
    if (memcmp(a, mapped, 12) == 0) return v4_private(a + 12);              /* ::ffff:v4 */
    if (memcmp(a, zero, 12) == 0) return true;                               /* ::v4 */
    if (a[0] == 0x64 && a[1] == 0xff && a[2] == 0x9b) return v4_private(a + 12); /* NAT64 */
    return (a[0] & 0xfe) == 0xfc ||                  /* fc00::/7 unique local */
           (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) || /* fe80::/10 link-local */
           (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) || /* fec0::/10 site-local */
           a[0] == 0xff;                              /* multicast */
}

bool addr_is_private(const char *addr) {
    unsigned char buf[16];
    if (inet_pton(AF_INET, addr, buf) == 1) return v4_private(buf);
    if (inet_pton(AF_INET6, addr, buf) == 1) return v6_private(buf);
    return true; /* not an address: refuse */
}

bool host_allowed(const char *list, const char *host) {
    if (!list || !*list) return true;
    if (!host) return false;
    size_t hl = strlen(host);
    for (const char *p = list; *p;) {
        while (*p == ',' || *p == ' ') p++;
        const char *e = p;
        while (*e && *e != ',' && *e != ' ') e++;
        size_t n = (size_t)(e - p);
        if (n > 2 && p[0] == '*' && p[1] == '.') {
            /* *.example.com: any name under example.com, not example.com */
            if (hl > n - 1 && strncasecmp(host + hl - (n - 1), p + 1, n - 1) == 0) return true;
        } else if (n && n == hl && strncasecmp(host, p, n) == 0) {
            return true;
        }
        p = e;
    }
    return false;
}

/* Records that the policy refused address `text`. */
static void refuse_address(http_flow *f, const char *text) {
    f->resp.blocked = true;
    snprintf(f->resp.error, sizeof(f->resp.error),
             "address %s is private, loopback or link-local; the workflow does not allow it "
             "(allow_private_network)", text);
}

/* Whether the socket address sa is one the policy refuses (any but IPv4
 * and IPv6 is); its text goes in text. */
static bool sockaddr_private(const struct sockaddr *sa, char *text, size_t len) {
    snprintf(text, len, "?");
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, text, (socklen_t)len);
        return v4_private((const unsigned char *)&in->sin_addr);
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, text, (socklen_t)len);
        return v6_private(in6->sin6_addr.s6_addr);
    }
    return true;
}

/* Checked after DNS, for every connection curl opens. Through a proxy
 * that is the proxy, which the operator chose: the target was checked
 * before the request (target_check). */
static curl_socket_t open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a) {
    http_flow *f = arg;
    char text[INET6_ADDRSTRLEN];
    (void)purpose;
    if (!f->allow_private && !f->proxied && sockaddr_private(&a->addr, text, sizeof(text))) {
        refuse_address(f, text);
        return CURL_SOCKET_BAD;
    }
    /* Close-on-exec, so no program the worker starts holds the connection. */
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* Through a proxy curl never resolves the target, so the worker does:
 * every address of host must be allowed. The lookup blocks the loop, like
 * the proxy's own. The proxy may still resolve the name differently (its
 * own DNS): this check is what the worker knows. Returns 0, or -1 with
 * f->resp filled (CURLE_COULDNT_RESOLVE_HOST when DNS did not answer). */
static int target_check(http_flow *f, const char *host) {
    char name[256], text[INET6_ADDRSTRLEN];
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    size_t n = strlen(host);
    if (n > 2 && host[0] == '[') /* an IPv6 literal, as URLs write it */
        snprintf(name, sizeof(name), "%.*s", (int)(n - 2), host + 1);
    else
        snprintf(name, sizeof(name), "%s", host);
    int rc = getaddrinfo(name, NULL, &hints, &res);
    if (rc != 0) {
        f->resp.rc = CURLE_COULDNT_RESOLVE_HOST;
        snprintf(f->resp.error, sizeof(f->resp.error),
                 "cannot resolve %s to check it against the network policy: %s", name,
                 gai_strerror(rc));
        return -1;
    }
    for (const struct addrinfo *a = res; a && rc == 0; a = a->ai_next) {
        if (sockaddr_private(a->ai_addr, text, sizeof(text))) {
            refuse_address(f, text);
            rc = -1;
        }
    }
    freeaddrinfo(res);
    return rc;
}

/* The host of a URL, lower-cased into buf; false when it has none. */
static bool url_host(const char *url, char *buf, size_t len) {
    CURLU *u = curl_url();
    char *host = NULL;
    bool ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK;
    if (ok) snprintf(buf, len, "%s", host);
    curl_free(host);
    curl_url_cleanup(u);
    return ok;
}

/* The origin of a URL, "scheme://host:port" with the scheme's default port
 * filled in, lower-cased into buf; false when it has none. */
static bool url_origin(const char *url, char *buf, size_t len) {
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    bool ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK;
    if (ok) {
        snprintf(buf, len, "%s://%s:%s", scheme, host, port);
        for (char *p = buf; *p; p++) *p = (char)tolower((unsigned char)*p);
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return ok;
}

/* Before each request: the open-socket check does not run for a pooled
 * connection, so the address is checked again for every request,
 * whichever connection carries it. Through a proxy the address is the
 * proxy's, and the target was checked before the request instead. */
static int prereq(void *arg, char *primary_ip, char *local_ip, int primary_port, int local_port) {
    http_flow *f = arg;
    (void)local_ip, (void)primary_port, (void)local_port;
    if (!f->allow_private && !f->proxied && primary_ip && addr_is_private(primary_ip)) {
        refuse_address(f, primary_ip);
        return CURL_PREREQFUNC_ABORT;
    }
    return CURL_PREREQFUNC_OK;
}

static int policy_setup(worker *w, task *t, CURL *e, http_flow *f, const char *url,
                        const char *protocols, const char *proxy);

/* ---- the transfer ---- */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *arg) {
    http_flow *f = arg;
    http_resp *r = &f->resp;
    size_t n = size * nmemb, keep = n;
    size_t max = f->body_max;
    if (r->len + keep > max) {
        keep = max - r->len;
        r->truncated = true;
    }
    if (keep) {
        char *nb = realloc(r->body, r->len + keep + 1);
        if (!nb) return 0;
        r->body = nb;
        memcpy(r->body + r->len, ptr, keep);
        r->len += keep;
        r->body[r->len] = '\0';
    }
    return n;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *arg) {
    http_flow *f = arg;
    size_t n = size * nitems;
    if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
        /* A new response (after a 100 or a proxy's CONNECT): forget the last. */
        json_object_clear(f->resp.headers);
        return n;
    }
    const char *colon = memchr(buf, ':', n);
    if (!colon || colon == buf || colon - buf > 100) return n;
    char name[101];
    size_t nl = (size_t)(colon - buf);
    for (size_t i = 0; i < nl; i++) name[i] = (char)tolower((unsigned char)buf[i]);
    name[nl] = '\0';
    const char *v = colon + 1, *end = buf + n;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ')) end--;
    if (end - v > 2048) end = v + 2048;
    json_object_set_new(f->resp.headers, name, json_stringn_nocheck(v, (size_t)(end - v)));
    return n;
}

static void resp_clear(http_resp *r) {
    free(r->body);
    json_decref(r->json);
    json_decref(r->headers);
    memset(r, 0, sizeof(*r));
}

/* Forgets the request the action last gave (kept for its redirects). */
static void request_clear(http_flow *f) {
    curl_slist_free_all(f->hdrs);
    curl_slist_free_all(f->hdrs_public);
    free(f->body);
    free(f->method);
    free(f->bearer);
    free(f->user);
    free(f->password);
    f->hdrs = f->hdrs_public = NULL;
    f->body = f->method = f->bearer = f->user = f->password = NULL;
}

static void flow_free(http_flow *f) {
    if (!f) return;
    if (f->easy) curl_easy_cleanup(f->easy);
    request_clear(f);
    resp_clear(&f->resp);
    json_decref(f->out);
    if (f->data_free) f->data_free(f->data);
    free(f);
}

http_flow *http_flow_new(task *t, http_on_response on_response) {
    http_flow *f = calloc(1, sizeof(*f));
    if (!f) return NULL;
    f->on_response = on_response;
    t->state = f;
    return f;
}

/* Header values come from templates and alerts, so CR and LF are dropped: a
 * value cannot start a second header. */
static struct curl_slist *add_header(struct curl_slist *list, const char *name, const char *value) {
    char line[8192];
    size_t n = 0;
    for (const char *p = name; *p && n < sizeof(line) - 3; p++)
        if (*p != '\r' && *p != '\n' && *p != ':') line[n++] = *p;
    line[n++] = ':';
    line[n++] = ' ';
    for (const char *p = value; *p && n < sizeof(line) - 1; p++)
        if (*p != '\r' && *p != '\n') line[n++] = *p;
    line[n] = '\0';
    struct curl_slist *l = curl_slist_append(list, line);
    return l ? l : list;
}

/* Whether text holds a value of a secret the task resolved. */
static bool holds_secret(const task *t, const char *text) {
    for (size_t i = 0; i < t->secrets.n; i++)
        if (*t->secrets.values[i] && strstr(text, t->secrets.values[i])) return true;
    return false;
}

/* Whether a header may go to another origin than the request's: not when
 * its value holds a secret of the task, nor when it is a credential by its
 * name (what curl keeps from other hosts when it follows a redirect). */
static bool header_public(const task *t, const char *name, const char *value) {
    return strcasecmp(name, "authorization") != 0 && strcasecmp(name, "cookie") != 0 &&
           strcasecmp(name, "proxy-authorization") != 0 && !holds_secret(t, value);
}

/* Whether url has the origin of the action's request. */
static bool origin_home(const http_flow *f, const char *url) {
    char origin[sizeof(f->origin)];
    return url_origin(url, origin, sizeof(origin)) && strcmp(origin, f->origin) == 0;
}

/* Starts one request of f's (the action's, or a redirect's) to url on a new
 * easy handle. Credentials (headers holding a secret, bearer, basic) go
 * only to the origin of the action's request. Returns 0 when under way, -1
 * with f->resp saying why not (rc, error, blocked). */
static int transfer_start(worker *w, task *t, http_flow *f, const char *url) {
    if (f->easy) curl_easy_cleanup(f->easy);
    resp_clear(&f->resp);
    f->resp.headers = json_object();
    f->body_max = (size_t)w->cfg->http_body_max;
    if (!(f->easy = curl_easy_init())) {
        f->resp.rc = CURLE_OUT_OF_MEMORY;
        snprintf(f->resp.error, sizeof(f->resp.error), "curl_easy_init failed");
        return -1;
    }
    CURL *e = f->easy;
    if (policy_setup(w, t, e, f, url, "http,https", w->cfg->http_proxy) < 0) return -1;
    bool home = origin_home(f, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, home ? f->hdrs : f->hdrs_public);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, f);
    /* Every request, a pooled connection's too, meets the policy again. */
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, prereq);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, f);
    if (home && f->bearer) {
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
        curl_easy_setopt(e, CURLOPT_XOAUTH2_BEARER, f->bearer);
    } else if (home && f->user) {
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(e, CURLOPT_USERNAME, f->user);
        curl_easy_setopt(e, CURLOPT_PASSWORD, f->password ? f->password : "");
    }
    if (strcmp(f->method, "GET") == 0) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(f->method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L); /* a HEAD response's length is not a body */
    } else {
        if (strcmp(f->method, "POST") != 0) curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, f->method);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, f->body ? f->body : "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)(f->body ? strlen(f->body) : 0));
    }
    if (curl_multi_add_handle(w->multi, e) != CURLM_OK) {
        f->resp.rc = CURLE_FAILED_INIT;
        snprintf(f->resp.error, sizeof(f->resp.error), "curl_multi_add_handle failed");
        return -1;
    }
    f->inflight = true;
    return 0;
}

static char *dup_or_null(const char *s, bool *oom) {
    char *d = s ? strdup(s) : NULL;
    if (s && !d) *oom = true;
    return d;
}

int http_send(worker *w, task *t, const http_req *rq) {
    http_flow *f = t->state;
    const char *k;
    json_t *v;
    bool has_type = false, has_accept = false, oom = false;

    if (!f) {
        task_refuse(t, "out of memory");
        return -1;
    }
    if (!rq->url || !*rq->url) {
        task_refuse(t, "the request has no URL");
        return -1;
    }
    request_clear(f);
    json_object_foreach((json_t *)rq->headers, k, v) {
        if (!json_is_string(v)) continue;
        if (strcasecmp(k, "content-type") == 0) has_type = true;
        if (strcasecmp(k, "accept") == 0) has_accept = true;
        f->hdrs = add_header(f->hdrs, k, json_string_value(v));
        if (header_public(t, k, json_string_value(v)))
            f->hdrs_public = add_header(f->hdrs_public, k, json_string_value(v));
    }
    const char *type = rq->content_type ? rq->content_type : "application/json";
    const char *fixed[4][2] = {
        {"Content-Type", rq->body && !has_type ? type : NULL},
        {"Accept", has_accept ? NULL : rq->accept ? rq->accept : "application/json"},
        {"User-Agent", "muster/" MUSTER_VERSION},
        {"Expect", ""},
    };
    for (size_t i = 0; i < 4; i++) {
        if (!fixed[i][1]) continue;
        f->hdrs = add_header(f->hdrs, fixed[i][0], fixed[i][1]);
        f->hdrs_public = add_header(f->hdrs_public, fixed[i][0], fixed[i][1]);
    }
    f->method = dup_or_null(rq->method ? rq->method : "POST", &oom);
    f->body = dup_or_null(rq->body, &oom);
    f->bearer = dup_or_null(rq->bearer, &oom);
    f->user = rq->bearer ? NULL : dup_or_null(rq->user, &oom);
    f->password = f->user ? dup_or_null(rq->password, &oom) : NULL;
    if (oom) {
        task_refuse(t, "out of memory");
        return -1;
    }
    if (!url_origin(rq->url, f->origin, sizeof(f->origin))) f->origin[0] = '\0';
    f->redirects = 0;
    f->seconds = 0;
    if (transfer_start(w, t, f, rq->url) < 0) {
        if (f->resp.rc == CURLE_COULDNT_RESOLVE_HOST) {
            task_finish(t, 0, NULL, f->resp.error); /* DNS may answer next time */
            return -1;
        }
        task_refuse(t, "%s", f->resp.error);
        return -1;
    }
    f->requests++;
    return 0;
}

int http_send_json(worker *w, task *t, int stage, http_req *rq, json_t *body) {
    http_flow *f = t->state;
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (f) f->stage = stage;
    rq->body = text;
    int rc = http_send(w, t, rq);
    free(text);
    rq->body = NULL;
    return rc;
}

/* Follows the redirect f->resp holds, as the next request of the exchange,
 * under the whole policy again (host list, addresses, credentials to the
 * first origin only). 303, and 301 and 302 after a POST, become a GET
 * without a body; 307 and 308 keep the method and the body (and are not
 * followed to another origin when the body holds a secret). Returns true
 * when that request is under way; false when the response is the one the
 * action gets: not a redirect, redirects turned off (http.max_redirects =
 * 0: the 3xx itself), or a redirect that cannot be followed (f->resp then
 * says why: too many, a refused target). */
static bool redirect_follow(worker *w, task *t, http_flow *f) {
    long status = f->resp.status;
    const char *loc = NULL;
    if (status != 301 && status != 302 && status != 303 && status != 307 && status != 308)
        return false;
    if (w->cfg->http_max_redirects == 0 ||
        curl_easy_getinfo(f->easy, CURLINFO_REDIRECT_URL, &loc) != CURLE_OK || !loc)
        return false;
    if (f->redirects >= w->cfg->http_max_redirects) {
        f->resp.rc = CURLE_TOO_MANY_REDIRECTS;
        snprintf(f->resp.error, sizeof(f->resp.error),
                 "more than %lld redirects (http.max_redirects)",
                 (long long)w->cfg->http_max_redirects);
        return false;
    }
    char *url = strdup(loc); /* loc is the handle's, which the next request replaces */
    bool get = (status == 303 && strcmp(f->method, "HEAD") != 0) ||
               ((status == 301 || status == 302) && strcmp(f->method, "POST") == 0);
    char *method = get ? strdup("GET") : NULL;
    if (!url || (get && !method)) {
        free(url);
        free(method);
        f->resp.rc = CURLE_OUT_OF_MEMORY;
        snprintf(f->resp.error, sizeof(f->resp.error), "out of memory");
        return false;
    }
    if (get) {
        free(f->method);
        free(f->body);
        f->method = method;
        f->body = NULL;
    }
    /* A body cannot lose its secret the way a header list can: such a
     * redirect is not followed. */
    if (f->body && holds_secret(t, f->body) && !origin_home(f, url)) {
        f->resp.rc = CURLE_COULDNT_CONNECT;
        f->resp.blocked = true;
        snprintf(f->resp.error, sizeof(f->resp.error), "a %ld redirect would send a body holding "
                 "a secret to another origin; not followed", status);
        free(url);
        return false;
    }
    f->redirects++;
    int rc = transfer_start(w, t, f, url);
    free(url);
    return rc == 0;
}

void http_curl_done(worker *w, task *t, CURLcode rc) {
    http_flow *f = t->state;
    http_resp *r;
    if (!f) return;
    r = &f->resp;
    curl_multi_remove_handle(w->multi, f->easy);
    f->inflight = false;
    r->rc = rc;
    curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &r->status);
    curl_off_t us = 0;
    curl_easy_getinfo(f->easy, CURLINFO_TOTAL_TIME_T, &us);
    f->seconds += (double)us / 1e6;
    if (rc != CURLE_OK && !r->blocked) {
        snprintf(r->error, sizeof(r->error), "%s", f->errbuf[0] ? f->errbuf : curl_easy_strerror(rc));
        r->error[strcspn(r->error, "\r\n")] = '\0';
    }
    if (rc == CURLE_OK && redirect_follow(w, t, f)) return;
    r->seconds = f->seconds;
    if (r->len && !r->truncated) r->json = json_loadb(r->body, r->len, 0, NULL);
    /* The body may now be replaced by the next request: hand the action a
     * stable copy of the response. */
    http_resp cur = *r;
    memset(r, 0, sizeof(*r));
    f->on_response(w, t, f, &cur);
    if (!t->done && !f->inflight) {
        task_finish(t, 0, NULL, "the action neither finished nor sent a request");
    }
    resp_clear(&cur);
    if (t->done && t->state == f) {
        flow_free(f);
        t->state = NULL;
    }
}

void http_abort(worker *w, task *t) {
    http_flow *f = t->state;
    if (!f) return;
    if (f->easy) curl_multi_remove_handle(w->multi, f->easy);
    flow_free(f);
    t->state = NULL;
}

/* ---- results ---- */

bool http_ok(const http_resp *r) { return r->rc == CURLE_OK && r->status >= 200 && r->status < 300; }

bool http_permanent(const http_resp *r) {
    if (r->blocked) return true;
    if (r->rc != CURLE_OK)
        return r->rc == CURLE_URL_MALFORMAT || r->rc == CURLE_UNSUPPORTED_PROTOCOL ||
               r->rc == CURLE_TOO_MANY_REDIRECTS;
    if (r->status >= 500 || r->status == 408 || r->status == 425 || r->status == 429) return false;
    return r->status >= 300;
}

const char *http_header(const http_resp *r, const char *name) {
    return json_string_value(json_object_get(r->headers, name));
}

json_t *http_body_json(const http_resp *r) {
    if (r->json) return json_incref(r->json);
    if (r->len) return json_stringn_nocheck(r->body, r->len);
    return json_null();
}

void http_fail(task *t, const http_resp *r, int permanent, const char *what) {
    char msg[900];
    if (r->rc != CURLE_OK)
        snprintf(msg, sizeof(msg), "%s: %s", what, r->error[0] ? r->error : "transfer failed");
    else
        snprintf(msg, sizeof(msg), "%s: HTTP %ld", what, r->status);
    json_t *out = json_pack("{s:i, s:o}", "status", (int)r->status, "body", http_body_json(r));
    task_finish(t, 0, out, msg);
    t->res.permanent = permanent == 0 || permanent == 1 ? permanent : http_permanent(r);
    const char *ra = http_header(r, "retry-after");
    int64_t wait = ra ? retry_after_parse(ra, now_ms()) : -1;
    if (wait > 0) t->res.retry_after_ms = wait;
}

void http_succeed(task *t, json_t *output) { task_finish(t, 1, output, NULL); }

/* ---- the same policy for transfers that are not HTTP requests ---- */

/* What every transfer of a task shares: the URL's host against
 * http.allow_hosts, the schemes, the time left of the step, and the
 * address check after DNS. Proxy variables of the environment are never
 * used: with proxy NULL or empty the connection goes to the target; else
 * through proxy, and the target's addresses are checked here. Returns 0,
 * or -1 with f->resp.error filled and f->resp.rc saying what kind of
 * failure it is. */
static int policy_setup(worker *w, task *t, CURL *e, http_flow *f, const char *url,
                        const char *protocols, const char *proxy) {
    char host[256];
    f->resp.blocked = false;
    f->resp.error[0] = '\0';
    f->errbuf[0] = '\0';
    f->allow_private = json_is_true(json_object_get(t->run.def, "allow_private")) ||
                       w->cfg->http_allow_private;
    f->proxied = proxy && *proxy;
    if (!url || !url_host(url, host, sizeof(host))) {
        f->resp.rc = CURLE_URL_MALFORMAT;
        snprintf(f->resp.error, sizeof(f->resp.error), "the URL is not valid");
        return -1;
    }
    if (!host_allowed(w->cfg->http_allow_hosts, host)) {
        f->resp.rc = CURLE_COULDNT_CONNECT;
        f->resp.blocked = true;
        snprintf(f->resp.error, sizeof(f->resp.error), "host %s is not in http.allow_hosts", host);
        return -1;
    }
    if (f->proxied && !f->allow_private && target_check(f, host) < 0) {
        if (f->resp.blocked) f->resp.rc = CURLE_COULDNT_CONNECT;
        return -1;
    }
    int64_t timeout = t->timeout_ms > 0 ? t->timeout_ms : w->cfg->http_timeout_ms;
    int64_t left = timeout - (mono_ms() - t->started_ms);
    if (left < 1) left = 1;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, protocols);
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, protocols);
    /* "" keeps curl from reading http_proxy, ALL_PROXY and the rest; an
     * empty NOPROXY keeps no_proxy from sending a request around the
     * proxy, where only the target check would have looked at it. */
    curl_easy_setopt(e, CURLOPT_PROXY, f->proxied ? proxy : "");
    curl_easy_setopt(e, CURLOPT_NOPROXY, "");
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(left < CONNECT_TIMEOUT_MAX_MS ? left : CONNECT_TIMEOUT_MAX_MS));
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)left);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, f);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, f->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)t);
    return 0;
}

int net_policy_apply(worker *w, task *t, CURL *e, http_flow *f, const char *url,
                     const char *protocols) {
    if (policy_setup(w, t, e, f, url, protocols, NULL) < 0) return -1;
    /* No request follows the connection, so nothing checks a pooled one
     * again: these transfers always open their own. */
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    return 0;
}
