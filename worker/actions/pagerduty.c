/* pagerduty.c - the pagerduty action: trigger, acknowledge or resolve an
 * alert through PagerDuty's Events API v2, one event per step */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "worker/http.h"

#define EVENTS_URL "https://events.pagerduty.com/v2/enqueue"
#define SUMMARY_MAX 1024 /* PagerDuty's limit on payload.summary */
#define DEDUP_KEY_MAX 255

/* Where the response is remembered, and the alert it addresses. */
typedef struct pd_call {
    char key[512]; /* pagerduty.sent.<step> */
    char dedup_key[DEDUP_KEY_MAX + 1];
} pd_call;

static const char *const event_actions[] = {"trigger", "acknowledge", "resolve", NULL};
static const char *const severities[] = {"critical", "error", "warning", "info", NULL};

static bool one_of(const char *s, const char *const *set) {
    for (; *set; set++)
        if (strcmp(s, *set) == 0) return true;
    return false;
}

/* "pagerduty: Event object is invalid: first error; second error" from the
 * message and errors of PagerDuty's answer, as far as it has them. */
static void invalid_what(const http_resp *r, char *buf, size_t len) {
    size_t i, n;
    json_t *e;
    const char *message = json_string_value(json_object_get(r->json, "message"));
    n = (size_t)snprintf(buf, len, "pagerduty%s%s", message ? ": " : "", message ? message : "");
    json_array_foreach(json_object_get(r->json, "errors"), i, e) {
        if (!json_is_string(e) || n >= len) continue;
        n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? "; " : ": ", json_string_value(e));
    }
}

static void on_response(worker *w, task *t, http_flow *f, const http_resp *r) {
    pd_call *c = f->data;
    char what[600];
    if (!http_ok(r)) {
        invalid_what(r, what, sizeof(what));
        http_fail(t, r, -1, what);
        return;
    }
    const char *dedup = json_string_value(json_object_get(r->json, "dedup_key"));
    json_t *out = json_pack("{s:s?, s:s?, s:s}", "status",
                            json_string_value(json_object_get(r->json, "status")), "message",
                            json_string_value(json_object_get(r->json, "message")), "dedup_key",
                            dedup ? dedup : c->dedup_key);
    task_sent_now(w, t, c->key, out);
}

/* summary cut to PagerDuty's limit, on a UTF-8 character boundary. */
static json_t *summary_of(const char *s) {
    size_t n = strlen(s);
    if (n <= SUMMARY_MAX) return json_string(s);
    n = SUMMARY_MAX;
    while (n && ((unsigned char)s[n] & 0xc0) == 0x80) n--;
    return json_stringn(s, n);
}

/* The trigger's payload, or NULL with err filled (a missing or bad field). */
static json_t *payload_of(const task *t, char *err, size_t len) {
    static const char *const needed[] = {"summary", "source", "severity", NULL};
    static const char *const optional[] = {"component", "group", "class", NULL};
    for (const char *const *p = needed; *p; p++) {
        if (with_str(t, *p)) continue;
        snprintf(err, len, "pagerduty: a trigger needs %s", *p);
        return NULL;
    }
    json_t *pl = json_pack("{s:o, s:s, s:s}", "summary", summary_of(with_str(t, "summary")), "source",
                           with_str(t, "source"), "severity", with_str(t, "severity"));
    for (const char *const *p = optional; *p; p++)
        if (with_str(t, *p)) json_object_set_new(pl, *p, json_string(with_str(t, *p)));
    json_t *details = json_object_get(t->with, "custom_details");
    if (details && !json_is_null(details)) json_object_set(pl, "custom_details", details);
    return pl;
}

/* Checks the parameters and builds the event; NULL with err filled. */
static json_t *event_of(const task *t, const char *action, const char *dedup, char *err, size_t len) {
    const char *severity = with_str(t, "severity");
    json_t *links = json_object_get(t->with, "links");
    if (!one_of(action, event_actions)) {
        snprintf(err, len, "pagerduty: event_action \"%.64s\" is not trigger, acknowledge or resolve",
                 action);
        return NULL;
    }
    if (severity && !one_of(severity, severities)) {
        snprintf(err, len, "pagerduty: severity \"%.64s\" is not critical, error, warning or info",
                 severity);
        return NULL;
    }
    if (strlen(dedup) > DEDUP_KEY_MAX) {
        snprintf(err, len, "pagerduty: dedup_key is longer than %d characters", DEDUP_KEY_MAX);
        return NULL;
    }
    if (links && !json_is_null(links) && !json_is_array(links)) {
        snprintf(err, len, "pagerduty: links must be a list of {href, text}");
        return NULL;
    }
    json_t *ev = json_pack("{s:s, s:s, s:s}", "routing_key", with_str(t, "routing_key"),
                           "event_action", action, "dedup_key", dedup);
    if (strcmp(action, "trigger") != 0) return ev;
    json_t *pl = payload_of(t, err, len);
    if (!pl) {
        json_decref(ev);
        return NULL;
    }
    json_object_set_new(ev, "payload", pl);
    if (with_str(t, "client")) json_object_set_new(ev, "client", json_string(with_str(t, "client")));
    if (with_str(t, "client_url"))
        json_object_set_new(ev, "client_url", json_string(with_str(t, "client_url")));
    if (json_array_size(links)) json_object_set(ev, "links", links);
    return ev;
}

static int start(worker *w, task *t) {
    const char *action = with_str(t, "event_action"), *dedup = with_str(t, "dedup_key");
    const char *url = with_str(t, "url");
    char err[200];
    pd_call c;

    if (!with_str(t, "routing_key")) return task_refuse(t, "pagerduty: needs routing_key");
    /* The incident's id by default: its trigger, acknowledge and resolve
     * address one PagerDuty alert, and a repeated trigger is dropped there. */
    if (!dedup) dedup = t->li.incident;
    json_t *ev = event_of(t, action ? action : "trigger", dedup, err, sizeof(err));
    if (!ev) return task_refuse(t, "%s", err);
    snprintf(c.key, sizeof(c.key), "pagerduty.sent.%s", t->li.step);
    snprintf(c.dedup_key, sizeof(c.dedup_key), "%s", dedup);
    if (task_sent_before(w, t, "pagerduty", c.key)) {
        json_decref(ev);
        return 1;
    }
    char *body = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    http_flow *f = body ? http_flow_new(t, on_response) : NULL;
    if (f && (f->data = malloc(sizeof(c)))) {
        memcpy(f->data, &c, sizeof(c));
        f->data_free = free;
    }
    http_req rq = {.url = url ? url : EVENTS_URL, .body = body};
    int rc = f && f->data ? http_send(w, t, &rq) : task_refuse(t, "out of memory");
    free(body);
    return rc == 0 ? 0 : 1;
}

const action_impl action_pagerduty = {
    .name = "pagerduty",
    .start = start,
    .curl_done = http_curl_done,
    .abort = http_abort,
};
