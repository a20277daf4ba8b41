/* http.h - outbound HTTP for actions: requests on the worker's curl multi
 * handle under the worker's network policy, one at a time per task
 *
 * An HTTP action keeps an http_flow as its task state. start() fills an
 * http_req and calls http_send(); when the response is in, the flow calls
 * the action's on_response(), which either sends the next request of the
 * conversation (a lookup, then a create) or finishes the task. */
#ifndef MUSTER_HTTP_H
#define MUSTER_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>
#include <jansson.h>

#include "worker/worker.h"

typedef struct http_req {
    const char *method;       /* "POST" when NULL */
    const char *url;
    const char *body;         /* NULL for none */
    const char *content_type; /* "application/json" when NULL and there is a body */
    const char *accept;       /* "application/json" when NULL */
    const char *bearer;       /* Authorization: Bearer (not sent on to other hosts) */
    const char *user;         /* HTTP basic auth, with password */
    const char *password;
    const json_t *headers;    /* more headers, name -> string; may be NULL */
} http_req;

typedef struct http_resp {
    CURLcode rc;        /* CURLE_OK when a response came */
    char error[512];    /* what went wrong when rc != CURLE_OK */
    long status;        /* 0 when no response */
    char *body;         /* NUL-terminated; NULL when empty */
    size_t len;
    bool truncated;     /* longer than http.body_max */
    json_t *json;       /* body parsed, when it is JSON; else NULL */
    json_t *headers;    /* response headers, names in lower case */
    double seconds;     /* the whole exchange */
    bool blocked;       /* refused by the network policy */
} http_resp;

typedef struct http_flow http_flow;
typedef void (*http_on_response)(worker *w, task *t, http_flow *f, const http_resp *r);

struct http_flow {
    CURL *easy;
    /* The action's request, kept for its redirects: */
    struct curl_slist *hdrs;        /* every header */
    struct curl_slist *hdrs_public; /* those that may go to another origin */
    char *body;
    char *method;
    char *bearer, *user, *password;
    char origin[300];  /* "scheme://host:port" of the action's URL */
    int redirects;     /* followed for it so far */
    double seconds;    /* of its requests so far */
    http_resp resp;
    http_on_response on_response;
    int stage;         /* the action's: which request of the conversation */
    int requests;      /* sent so far */
    json_t *out;       /* the action's output so far, or NULL */
    void *data;        /* the action's own */
    void (*data_free)(void *data);
    bool allow_private;
    bool proxied;      /* through http.proxy: the target was checked before */
    bool inflight;     /* a request is under way */
    size_t body_max;
    char errbuf[CURL_ERROR_SIZE];
};

/* Makes the task's state an http_flow that calls on_response. */
http_flow *http_flow_new(task *t, http_on_response on_response);

/* Sends one request for the task, following its redirects (http.max_redirects)
 * under the policy; headers holding a secret of the task, bearer and basic
 * credentials go only to rq->url's origin. Through http.proxy when that is
 * set, the target's addresses checked first. Returns 0 when under way, -1
 * when it could not start (the task is finished with the reason:
 * permanently, except when the target's name did not resolve). */
int http_send(worker *w, task *t, const http_req *rq);

/* Sends rq with body (taken; NULL for none) as its compact JSON, as request
 * `stage` of the conversation (f->stage). Returns http_send()'s. */
int http_send_json(worker *w, task *t, int stage, http_req *rq, json_t *body);

/* The hooks of every action built on http_flow. */
void http_curl_done(worker *w, task *t, CURLcode rc);
void http_abort(worker *w, task *t);

/* The usual classification: 2xx succeeded; 408, 425, 429 and 5xx are worth
 * a retry; other statuses are permanent; transport errors are retried except
 * a bad URL, a refused protocol, too many redirects and a blocked address. */
bool http_ok(const http_resp *r);
bool http_permanent(const http_resp *r);

/* Finishes the task as failed from response r: the message is "what: HTTP
 * 404" (or the transport error), the output {status, body}; permanent as
 * http_permanent() unless `permanent` is 0 or 1; Retry-After honoured. */
void http_fail(task *t, const http_resp *r, int permanent, const char *what);

/* Finishes the task as succeeded with output (taken). */
void http_succeed(task *t, json_t *output);

/* The response body as output: its JSON when it parses, else its text,
 * else null. A new reference. */
json_t *http_body_json(const http_resp *r);

/* Response header `name` (lower case), or NULL. */
const char *http_header(const http_resp *r, const char *name);

/* A string member of the action's with:, or NULL when absent or empty. */
const char *with_str(const task *t, const char *name);

/* The index of with.op among names (NULL-terminated); none given is the
 * first. An unknown op refuses the task, naming the choices, and gives -1. */
int with_op(task *t, const char *action, const char *const *names);

/* Whether with.<name> is given; if not, refuses the task: "ACTION OP: the
 * parameter "NAME" is required". */
bool with_need(task *t, const char *action, const char *op, const char *name);

/* Appends `path` to base URL `base` with one slash between. Returns a
 * malloc'd string. */
char *url_join(const char *base, const char *path);

/* Percent-encodes s for a URL query or path segment. Returns malloc'd. */
char *url_escape(const char *s);

/* Whether addr (a numeric IPv4 or IPv6 address) is private, loopback,
 * link-local, unspecified, multicast or otherwise not a public address. */
bool addr_is_private(const char *addr);

/* Whether host is allowed by the comma-separated list (empty list: any);
 * "*.example.com" allows example.com's subdomains. */
bool host_allowed(const char *list, const char *host);

/* Puts an easy handle that is not an http_send() request (SMTP, a bare
 * connection) under the same network policy: the URL's host must be in
 * http.allow_hosts; every address curl connects to, after DNS, is refused
 * when private, loopback or link-local unless the workflow or
 * http.allow_private allows it; no connection is shared with another task
 * (each is checked under this task's policy); no proxy, whatever the
 * environment says; the task's timeout bounds the transfer. Sets the URL,
 * the allowed protocols (comma-separated), the task as CURLOPT_PRIVATE and
 * f->errbuf as the error buffer. f is the action's
 * own (a zeroed http_flow will do) and must outlive the transfer: only its
 * policy fields are used, and after the transfer f->resp.blocked and
 * f->resp.error say whether and why an address was refused. Returns 0, or
 * -1 with f->resp.error filled (blocked when the host is not allowed). */
int net_policy_apply(worker *w, task *t, CURL *e, http_flow *f, const char *url,
                     const char *protocols);

#endif
