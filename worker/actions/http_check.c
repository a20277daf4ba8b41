/* http_check.c - the http_check action: a URL's status, body and latency
 * against expectations */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "worker/http.h"

#define MAX_STATUSES 32

typedef struct expectations {
    long status[MAX_STATUSES]; /* none: any 2xx */
    size_t nstatus;
    const char *body;          /* a substring, or NULL */
    int64_t max_latency_ms;    /* -1: no limit */
} expectations;

/* One status: a whole number or a numeric string from 100 to 599. */
static long status_value(const json_t *v) {
    long s = 0;
    if (json_is_integer(v)) {
        s = (long)json_integer_value(v);
    } else if (json_is_string(v)) {
        const char *text = json_string_value(v);
        size_t n = strspn(text, "0123456789");
        if (n == 3 && text[n] == '\0') s = strtol(text, NULL, 10);
    }
    return s >= 100 && s <= 599 ? s : 0;
}

/* Reads expect_status, expect_body and max_latency. Returns 0, or -1 with
 * the message naming the parameter in err. */
static int expectations_read(const task *t, expectations *x, char *err, size_t errlen) {
    json_t *st = json_object_get(t->with, "expect_status");
    json_t *lat = json_object_get(t->with, "max_latency");
    json_t *v;
    size_t i;
    memset(x, 0, sizeof(*x));
    x->max_latency_ms = -1;
    if (st && !json_is_null(st)) {
        if (!json_is_array(st)) {
            if (!(x->status[0] = status_value(st))) goto bad_status;
            x->nstatus = 1;
        } else {
            if (json_array_size(st) == 0 || json_array_size(st) > MAX_STATUSES) goto bad_status;
            json_array_foreach(st, i, v) {
                if (!(x->status[i] = status_value(v))) goto bad_status;
            }
            x->nstatus = json_array_size(st);
        }
    }
    if (json_is_string(json_object_get(t->with, "expect_body")))
        x->body = json_string_value(json_object_get(t->with, "expect_body"));
    if (json_is_integer(lat) && json_integer_value(lat) >= 0) {
        x->max_latency_ms = json_integer_value(lat);
    } else if (lat && !json_is_null(lat) &&
               (!json_is_string(lat) || duration_parse(json_string_value(lat), &x->max_latency_ms) < 0)) {
        snprintf(err, errlen, "http_check: parameter \"max_latency\" is not a duration "
                              "(\"500ms\", \"2s\" or a number of milliseconds)");
        return -1;
    }
    return 0;
bad_status:
    snprintf(err, errlen, "http_check: parameter \"expect_status\" must be an HTTP status "
                          "(100-599) or a list of up to %d of them", MAX_STATUSES);
    return -1;
}

static bool status_expected(const expectations *x, long status) {
    if (x->nstatus == 0) return status >= 200 && status < 300;
    for (size_t i = 0; i < x->nstatus; i++)
        if (x->status[i] == status) return true;
    return false;
}

/* Appends "; "-separated text to reason. */
static void because(char *reason, size_t len, const char *text) {
    size_t n = strlen(reason);
    snprintf(reason + n, len - n, "%s%s", n ? "; " : "", text);
}

static void on_response(worker *w, task *t, http_flow *f, const http_resp *r) {
    expectations x;
    char reason[900] = "", part[700], err[300];
    double ms = r->seconds * 1000.0;
    json_t *matched = json_null();
    (void)w, (void)f;
    expectations_read(t, &x, err, sizeof(err)); /* checked in start() */
    if (r->rc != CURLE_OK) {
        snprintf(reason, sizeof(reason), "%s", r->error[0] ? r->error : "transfer failed");
        if (x.body) matched = json_false();
    } else {
        if (!status_expected(&x, r->status)) {
            snprintf(part, sizeof(part), "status %ld is not %s", r->status,
                     x.nstatus ? "an expected one" : "2xx");
            because(reason, sizeof(reason), part);
        }
        if (x.body) {
            bool found = !*x.body || (r->body && memmem(r->body, r->len, x.body, strlen(x.body)));
            matched = json_boolean(found);
            if (!found) {
                snprintf(part, sizeof(part), "the body does not contain \"%.200s\"%s", x.body,
                         r->truncated ? " (in its first http.body_max bytes)" : "");
                because(reason, sizeof(reason), part);
            }
        }
        if (x.max_latency_ms >= 0 && ms > (double)x.max_latency_ms) {
            snprintf(part, sizeof(part), "latency %.1f ms is over max_latency %lld ms", ms,
                     (long long)x.max_latency_ms);
            because(reason, sizeof(reason), part);
        }
    }
    bool ok = reason[0] == '\0';
    json_t *out = json_pack("{s:i, s:I, s:o, s:b, s:s}", "status", (int)r->status, "latency_ms",
                            (json_int_t)(ms + 0.5), "body_matched", matched, "ok", ok, "reason",
                            reason);
    if (ok) {
        http_succeed(t, out);
        return;
    }
    char msg[1000];
    snprintf(msg, sizeof(msg), "http_check: %s", reason);
    task_finish(t, 0, out, msg);
    /* A check that fails is what the step's retries are for; only a target
     * the policy refuses, or a URL that cannot work, is final. */
    t->res.permanent = r->blocked || r->rc == CURLE_URL_MALFORMAT ||
                       r->rc == CURLE_UNSUPPORTED_PROTOCOL;
}

static int start(worker *w, task *t) {
    expectations x;
    char err[300];
    const char *method = with_str(t, "method");
    if (!with_str(t, "url")) {
        task_refuse(t, "http_check: parameter \"url\" is required");
        return 1;
    }
    if (expectations_read(t, &x, err, sizeof(err)) < 0) {
        task_refuse(t, "%s", err);
        return 1;
    }
    http_flow *f = http_flow_new(t, on_response);
    if (!f) {
        task_refuse(t, "http_check: out of memory");
        return 1;
    }
    http_req rq = {
        .method = method ? method : "GET",
        .url = with_str(t, "url"),
        .accept = "*/*",
        .headers = json_object_get(t->with, "headers"),
    };
    if (strcmp(rq.method, "GET") != 0 && strcmp(rq.method, "HEAD") != 0) rq.body = "";
    return http_send(w, t, &rq) < 0;
}

const action_impl action_http_check = {
    .name = "http_check",
    .start = start,
    .curl_done = http_curl_done,
    .abort = http_abort,
};
