/* webhook.c - the webhook action: an HTTP request with a templated body */
#include <stdlib.h>
#include <string.h>

#include "worker/http.h"

/* Any 2xx succeeds; the output is the status and the body (JSON when it
 * parses), so later steps can template what the receiver answered. */
static void on_response(worker *w, task *t, http_flow *f, const http_resp *r) {
    (void)w, (void)f;
    if (!http_ok(r)) {
        http_fail(t, r, -1, "webhook");
        return;
    }
    http_succeed(t, json_pack("{s:i, s:o, s:b}", "status", (int)r->status, "body",
                              http_body_json(r), "truncated", r->truncated));
}

static int start(worker *w, task *t) {
    json_t *body = json_object_get(t->with, "body");
    json_t *headers = json_deep_copy(json_object_get(t->with, "headers"));
    char idem[300];
    char *text = NULL;
    http_flow *f = http_flow_new(t, on_response);

    if (!headers) headers = json_object();
    /* Same for every attempt and replay: receivers can drop repeats. */
    snprintf(idem, sizeof(idem), "%s:%s", t->li.incident, t->li.step);
    if (!json_object_get(headers, "Idempotency-Key"))
        json_object_set_new(headers, "Idempotency-Key", json_string(idem));
    json_object_set_new(headers, "X-Muster-Incident", json_string(t->li.incident));
    if (body)
        text = json_is_string(body) ? strdup(json_string_value(body))
                                    : json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    http_req rq = {
        .method = with_str(t, "method"),
        .url = with_str(t, "url"),
        .body = text,
        .bearer = with_str(t, "bearer"),
        .user = with_str(t, "username"),
        .password = with_str(t, "password"),
        .headers = headers,
    };
    /* A POST without a body still sends an empty one; GET and HEAD none. */
    if (!rq.body && (!rq.method || (strcmp(rq.method, "GET") != 0 && strcmp(rq.method, "HEAD") != 0)))
        rq.body = "";
    if (!f) task_finish(t, 0, NULL, "out of memory");
    int rc = f ? http_send(w, t, &rq) : -1;
    free(text);
    json_decref(headers);
    return rc < 0 ? 1 : 0;
}

const action_impl action_webhook = {
    .name = "webhook",
    .start = start,
    .curl_done = http_curl_done,
    .abort = http_abort,
};
