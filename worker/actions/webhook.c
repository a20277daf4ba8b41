/* webhook.c - the webhook action: an HTTP request with a templated JSON body */
#include <ctype.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#include "common/backoff.h"
#include "common/log.h"
#include "common/util.h"
#include "worker/worker.h"

typedef struct webhook {
    CURL *easy;
    char retry_after[64];
    struct curl_slist *headers;
    char *body;
    char *resp;
    size_t resp_len;
    size_t resp_max;
    int truncated;
    char errbuf[CURL_ERROR_SIZE];
} webhook;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *arg) {
    webhook *h = arg;
    size_t n = size * nmemb;
    size_t keep = n;
    /* The response is bounded: what is past the cap is read and dropped. */
    if (h->resp_len + keep > h->resp_max) {
        keep = h->resp_max - h->resp_len;
        h->truncated = 1;
    }
    if (keep) {
        char *nb = realloc(h->resp, h->resp_len + keep + 1);
        if (!nb) return 0;
        h->resp = nb;
        memcpy(h->resp + h->resp_len, ptr, keep);
        h->resp_len += keep;
        h->resp[h->resp_len] = '\0';
    }
    return n;
}

/* Keeps the Retry-After header of the response (429, 503). */
static size_t on_header(char *buf, size_t size, size_t nitems, void *arg) {
    webhook *h = arg;
    size_t n = size * nitems;
    if (n > 12 && strncasecmp(buf, "retry-after:", 12) == 0) {
        size_t len = n - 12;
        if (len >= sizeof(h->retry_after)) len = sizeof(h->retry_after) - 1;
        memcpy(h->retry_after, buf + 12, len);
        h->retry_after[len] = '\0';
        h->retry_after[strcspn(h->retry_after, "\r\n")] = '\0';
    }
    return n;
}

static void webhook_free(webhook *h) {
    if (!h) return;
    if (h->easy) curl_easy_cleanup(h->easy);
    curl_slist_free_all(h->headers);
    free(h->body);
    free(h->resp);
    free(h);
}

/* Header values come from templates, so CR and LF are dropped: a value
 * cannot start a second header. */
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

static int start(worker *w, task *t) {
    webhook *h = calloc(1, sizeof(*h));
    const char *url = json_string_value(json_object_get(t->with, "url"));
    const char *method = json_string_value(json_object_get(t->with, "method"));
    json_t *headers = json_object_get(t->with, "headers");
    json_t *body = json_object_get(t->with, "body");
    bool has_type = false;
    char idem[256];
    const char *k;
    json_t *v;

    if (!h) {
        task_finish(t, 0, NULL, "out of memory");
        return 1;
    }
    t->state = h;
    h->resp_max = (size_t)w->cfg->http_body_max;
    if (!url || !*url) {
        task_finish(t, 0, NULL, "with.url is empty");
        return 1;
    }
    if (!(h->easy = curl_easy_init())) {
        task_finish(t, 0, NULL, "curl_easy_init failed");
        return 1;
    }
    json_object_foreach(headers, k, v) {
        if (!json_is_string(v)) continue;
        if (strcasecmp(k, "content-type") == 0) has_type = true;
        h->headers = add_header(h->headers, k, json_string_value(v));
    }
    if (!has_type) h->headers = add_header(h->headers, "Content-Type", "application/json");
    /* Same for every attempt and replay: receivers can drop repeats. */
    snprintf(idem, sizeof(idem), "%s:%s", t->li.incident, t->li.step);
    h->headers = add_header(h->headers, "Idempotency-Key", idem);
    h->headers = add_header(h->headers, "X-Muster-Incident", t->li.incident);
    h->headers = add_header(h->headers, "User-Agent", "muster/" MUSTER_VERSION);
    h->headers = add_header(h->headers, "Expect", "");

    if (body) {
        h->body = json_is_string(body) ? strdup(json_string_value(body))
                                        : json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    }
    int64_t timeout = t->timeout_ms > 0 ? t->timeout_ms : w->cfg->http_timeout_ms;
    CURL *e = h->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 3L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout < 5000 ? timeout : 5000));
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)t);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method ? method : "POST");
    if (h->body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, h->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(h->body));
    } else if (!method || strcmp(method, "GET") != 0) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
    }
    if (curl_multi_add_handle(w->multi, e) != CURLM_OK) {
        task_finish(t, 0, NULL, "curl_multi_add_handle failed");
        return 1;
    }
    return 0;
}

static void done(worker *w, task *t, CURLcode rc) {
    webhook *h = t->state;
    long status = 0;
    char msg[512];
    curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &status);
    json_t *body = NULL;
    if (h->resp_len) {
        body = h->truncated ? NULL : json_loadb(h->resp, h->resp_len, 0, NULL);
        if (!body) body = json_stringn_nocheck(h->resp, h->resp_len);
    }
    json_t *out = json_pack("{s:i, s:o, s:b}", "status", (int)status, "body",
                            body ? body : json_null(), "truncated", h->truncated);
    curl_multi_remove_handle(w->multi, h->easy);
    if (rc != CURLE_OK) {
        snprintf(msg, sizeof(msg), "%s (HTTP status %ld)", h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc),
                 status);
        task_finish(t, 0, out, msg);
        /* A bad URL or a refused protocol stays bad; network trouble passes. */
        t->res.permanent = rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL ||
                           rc == CURLE_TOO_MANY_REDIRECTS;
    } else if (status < 200 || status >= 300) {
        snprintf(msg, sizeof(msg), "HTTP status %ld", status);
        task_finish(t, 0, out, msg);
        /* A 4xx other than 408 and 429 will fail the same way again. */
        t->res.permanent = status >= 400 && status < 500 && status != 408 && status != 429;
        int64_t wait = h->retry_after[0] ? retry_after_parse(h->retry_after, now_ms()) : -1;
        if (wait > 0) t->res.retry_after_ms = wait;
    } else {
        task_finish(t, 1, out, NULL);
    }
    webhook_free(h);
    t->state = NULL;
}

static void abort_it(worker *w, task *t) {
    webhook *h = t->state;
    if (!h) return;
    curl_multi_remove_handle(w->multi, h->easy);
    webhook_free(h);
    t->state = NULL;
}

const action_impl action_webhook = {
    .name = "webhook",
    .start = start,
    .curl_done = done,
    .abort = abort_it,
};
