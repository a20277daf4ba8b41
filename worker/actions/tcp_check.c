/* tcp_check.c - the tcp_check action: whether host:port accepts a connection */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/http.h"

typedef struct probe {
    http_flow policy; /* the network policy's verdict */
    CURL *easy;
    bool added;
    char target[300]; /* host:port, for messages */
} probe;

static void probe_free(worker *w, task *t) {
    probe *p = t->state;
    if (!p) return;
    if (p->added) curl_multi_remove_handle(w->multi, p->easy);
    if (p->easy) curl_easy_cleanup(p->easy);
    free(p);
    t->state = NULL;
}

/* A whole number or a numeric string from 1 to 65535; 0 when it is not. */
static long port_value(const json_t *v) {
    long port = 0;
    if (json_is_integer(v)) {
        json_int_t n = json_integer_value(v);
        port = n >= 1 && n <= 65535 ? (long)n : 0;
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = strspn(s, "0123456789");
        if (n >= 1 && n <= 5 && s[n] == '\0') port = strtol(s, NULL, 10);
        if (port > 65535) port = 0;
    }
    return port;
}

/* A name or a numeric address, nothing that could change the URL built
 * from it (a path, credentials, a second port). */
static bool host_valid(const char *h) {
    return h && *h && strlen(h) < 254 &&
           strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:") ==
               strlen(h);
}

static int start(worker *w, task *t) {
    char url[320], msg[600];
    const char *host = with_str(t, "host");
    long port = port_value(json_object_get(t->with, "port"));
    char bare[256];

    /* [::1] as well as ::1 */
    if (host && host[0] == '[' && host[strlen(host) - 1] == ']') {
        snprintf(bare, sizeof(bare), "%.*s", (int)strlen(host) - 2, host + 1);
        host = bare;
    }
    if (!host) {
        task_refuse(t, "tcp_check: parameter \"host\" is required");
        return 1;
    }
    if (!host_valid(host)) {
        task_refuse(t, "tcp_check: parameter \"host\" is not a host name or an address");
        return 1;
    }
    if (!port) {
        task_refuse(t, "tcp_check: parameter \"port\" must be a whole number from 1 to 65535");
        return 1;
    }
    probe *p = calloc(1, sizeof(*p));
    if (!p || !(p->easy = curl_easy_init())) {
        free(p);
        task_refuse(t, "tcp_check: out of memory");
        return 1;
    }
    t->state = p;
    bool v6 = strchr(host, ':') != NULL;
    snprintf(p->target, sizeof(p->target), "%s%s%s:%ld", v6 ? "[" : "", host, v6 ? "]" : "", port);
    /* The scheme only carries the address: with CONNECT_ONLY curl stops
     * once the TCP connection is up and speaks no protocol. */
    snprintf(url, sizeof(url), "http://%s/", p->target);
    if (net_policy_apply(w, t, p->easy, &p->policy, url, "http") < 0) {
        snprintf(msg, sizeof(msg), "tcp_check: %s", p->policy.resp.error);
        probe_free(w, t);
        task_refuse(t, "%s", msg);
        return 1;
    }
    curl_easy_setopt(p->easy, CURLOPT_CONNECT_ONLY, 1L);
    if (curl_multi_add_handle(w->multi, p->easy) != CURLM_OK) {
        probe_free(w, t);
        task_refuse(t, "tcp_check: curl_multi_add_handle failed");
        return 1;
    }
    p->added = true;
    return 0;
}

static void curl_done(worker *w, task *t, CURLcode rc) {
    probe *p = t->state;
    char msg[900];
    const char *ip = NULL;
    curl_off_t us = 0;
    if (!p) return;
    curl_easy_getinfo(p->easy, CURLINFO_PRIMARY_IP, &ip);
    curl_easy_getinfo(p->easy, CURLINFO_CONNECT_TIME_T, &us);
    json_t *address = ip && *ip ? json_string(ip) : json_null();
    if (rc == CURLE_OK) {
        task_finish(t, 1,
                    json_pack("{s:b, s:I, s:o}", "connected", 1, "latency_ms",
                              (json_int_t)((us + 500) / 1000), "address", address),
                    NULL);
    } else {
        const http_resp *r = &p->policy.resp;
        snprintf(msg, sizeof(msg), "tcp_check: %s: %s", p->target,
                 r->blocked ? r->error
                 : p->policy.errbuf[0] ? p->policy.errbuf
                                       : curl_easy_strerror(rc));
        task_finish(t, 0,
                    json_pack("{s:b, s:n, s:o}", "connected", 0, "latency_ms", "address", address),
                    msg);
        /* A refused or silent port may come back; a refused address will not. */
        t->res.permanent = r->blocked || rc == CURLE_URL_MALFORMAT;
    }
    probe_free(w, t);
}

const action_impl action_tcp_check = {
    .name = "tcp_check",
    .start = start,
    .curl_done = curl_done,
    .abort = probe_free,
};
