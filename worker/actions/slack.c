/* slack.c - the slack action: one message per step through chat.postMessage
 * or an incoming webhook, threaded per incident and channel */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "worker/http.h"

#define SLACK_API "https://slack.com/api"

/* What the response needs to finish the step: where to remember it. */
typedef struct slack_call {
    char sent_key[512];   /* slack.sent.<step>: the step's output once sent */
    char thread_key[512]; /* slack.thread.<channel>; "" when not threading */
    char thread_ts[64];   /* the thread this message replies in; "" for none */
} slack_call;

/* Web API error codes worth another attempt. Every other code is a fault of
 * the token, the channel or the message, which a retry does not mend. */
static const char *const transient[] = {
    "internal_error", "fatal_error",       "service_unavailable", "request_timeout",
    "ratelimited",    "rate_limited",      "team_added_to_org",   "org_login_required",
    NULL,
};

/* The error code at the start of a webhook's text answer ("channel_is_archived"). */
static void text_code(const http_resp *r, char *buf, size_t len) {
    size_t n = 0;
    for (const char *p = r->body ? r->body : ""; *p && n + 1 < len; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) break;
        buf[n++] = *p;
    }
    buf[n] = '\0';
}

static void webhook_response(worker *w, task *t, http_flow *f, const http_resp *r) {
    slack_call *c = f->data;
    char code[64], what[128];
    if (!http_ok(r)) {
        text_code(r, code, sizeof(code));
        snprintf(what, sizeof(what), "slack webhook%s%s", code[0] ? ": " : "", code);
        http_fail(t, r, -1, what);
        return;
    }
    task_sent_now(w, t, c->sent_key, json_pack("{s:b, s:i}", "ok", 1, "status", (int)r->status));
}

static void api_error(task *t, const http_resp *r) {
    const char *code = json_string_value(json_object_get(r->json, "error"));
    char msg[256];
    bool retry = false;
    for (const char *const *p = transient; code && *p; p++)
        if (strcmp(code, *p) == 0) retry = true;
    snprintf(msg, sizeof(msg), "slack chat.postMessage: %s", code ? code : "failed without an error code");
    task_finish(t, 0, json_pack("{s:i, s:O}", "status", (int)r->status, "body", r->json), msg);
    t->res.permanent = !retry;
}

static void api_response(worker *w, task *t, http_flow *f, const http_resp *r) {
    slack_call *c = f->data;
    char root[64];
    if (!http_ok(r)) {
        http_fail(t, r, -1, "slack chat.postMessage");
        return;
    }
    if (!json_is_boolean(json_object_get(r->json, "ok"))) {
        http_fail(t, r, 0, "slack chat.postMessage: the answer is not the Web API's JSON");
        return;
    }
    if (!json_is_true(json_object_get(r->json, "ok"))) {
        api_error(t, r);
        return;
    }
    const char *ts = json_string_value(json_object_get(r->json, "ts"));
    json_t *out = json_pack("{s:b, s:s?, s:s?, s:s?}", "ok", 1, "channel",
                            json_string_value(json_object_get(r->json, "channel")), "ts", ts,
                            "thread_ts", c->thread_ts[0] ? c->thread_ts : NULL);
    /* The incident's first message in the channel becomes its thread, unless
     * a step running beside this one got there first. */
    if (c->thread_key[0] && !c->thread_ts[0] && ts &&
        task_memo_get(w, t, c->thread_key, root, sizeof(root)) == 0)
        task_memo_set(w, t, c->thread_key, ts);
    task_sent_now(w, t, c->sent_key, out);
}

/* blocks: a list, or a string holding one (a template's result). Sets
 * *blocks (new reference, NULL when not given) or returns -1. */
static int blocks_of(const task *t, json_t **blocks) {
    json_t *b = json_object_get(t->with, "blocks");
    *blocks = NULL;
    if (!b || json_is_null(b) || (json_is_string(b) && !with_str(t, "blocks"))) return 0;
    *blocks = json_is_string(b) ? json_loads(json_string_value(b), 0, NULL) : json_incref(b);
    if (json_is_array(*blocks)) return 0;
    json_decref(*blocks);
    *blocks = NULL;
    return -1;
}

/* A section block's text holds at most 3000 characters. */
#define SECTION_MAX 3000

/* A button of the acknowledgement row: what the dispatcher's
 * /api/v1/slack/interactions reads back is action_id and value. */
static json_t *button(const char *action_id, const char *label, const char *style,
                      const char *incident) {
    return json_pack("{s:s, s:s, s:{s:s, s:s}, s:s, s:s}", "type", "button", "action_id", action_id,
                     "text", "type", "plain_text", "text", label, "style", style, "value",
                     incident);
}

/* Adds the Acknowledge and Resolve buttons to the message. Without blocks
 * of its own the text moves into section blocks, since Slack shows only the
 * blocks of a message that has them (text becomes the notification). Cuts
 * the text at UTF-8 boundaries into sections of at most SECTION_MAX bytes.
 * Returns the blocks (new reference), or NULL when out of memory. */
static json_t *with_buttons(json_t *blocks, const char *text, const char *incident) {
    json_t *out = blocks ? json_copy(blocks) : json_array(); /* not the step's own list */
    for (size_t off = 0, n = text ? strlen(text) : 0; !blocks && off < n;) {
        size_t take = n - off > SECTION_MAX ? SECTION_MAX : n - off;
        while (take < n - off && take > 0 && ((unsigned char)text[off + take] & 0xC0) == 0x80) take--;
        json_array_append_new(out, json_pack("{s:s, s:{s:s, s:s%}}", "type", "section", "text", "type",
                                             "mrkdwn", "text", text + off, take));
        off += take;
    }
    json_t *resolve = button("muster_resolve", "Resolve", "danger", incident);
    json_object_set_new(resolve, "confirm",
                        json_pack("{s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:s}}",
                                  "title", "type", "plain_text", "text", "Resolve the incident?",
                                  "text", "type", "plain_text", "text",
                                  "This resolves it for everyone and stops all paging.", "confirm",
                                  "type", "plain_text", "text", "Resolve", "deny", "type",
                                  "plain_text", "text", "Cancel"));
    json_t *row = json_pack("{s:s, s:s, s:[o, o]}", "type", "actions", "block_id", "muster_page",
                            "elements", button("muster_ack", "Acknowledge", "primary", incident),
                            resolve);
    if (!out || !row || json_array_append_new(out, row) < 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

/* Which mode the parameters ask for; NULL when they are consistent, else
 * what is wrong. */
static const char *mode_problem(const char *token, const char *channel, const char *hook) {
    if (hook && (token || channel))
        return "slack: give either webhook_url or token and channel, not both";
    if (!hook && !token && !channel)
        return "slack: needs token and channel (Web API) or webhook_url (incoming webhook)";
    if (!hook && !channel) return "slack: token needs channel";
    if (!hook && !token) return "slack: channel needs token (the bot token)";
    return NULL;
}

static int start(worker *w, task *t) {
    const char *token = with_str(t, "token"), *channel = with_str(t, "channel");
    const char *hook = with_str(t, "webhook_url"), *text = with_str(t, "text");
    const char *problem = mode_problem(token, channel, hook);
    json_t *thread = json_object_get(t->with, "thread"), *blocks = NULL;
    json_t *buttons = json_object_get(t->with, "buttons");
    if (problem) return task_refuse(t, "%s", problem);
    if (thread && !json_is_boolean(thread)) return task_refuse(t, "slack: thread must be true or false");
    if (buttons && !json_is_boolean(buttons)) return task_refuse(t, "slack: buttons must be true or false");
    if (blocks_of(t, &blocks) < 0) return task_refuse(t, "slack: blocks must be a list of Block Kit blocks");
    if (!text && !blocks) return task_refuse(t, "slack: needs text");
    if (json_is_true(buttons)) {
        json_t *all = with_buttons(blocks, text, t->li.incident);
        json_decref(blocks);
        if (!(blocks = all)) return task_refuse(t, "out of memory");
    }

    slack_call *c = calloc(1, sizeof(*c));
    if (!c) {
        json_decref(blocks);
        return task_refuse(t, "out of memory");
    }
    snprintf(c->sent_key, sizeof(c->sent_key), "slack.sent.%s", t->li.step);
    http_flow *f = task_sent_before(w, t, "slack", c->sent_key) ? NULL
                                                  : http_flow_new(t, hook ? webhook_response : api_response);
    if (!f) {
        if (!t->done) task_refuse(t, "out of memory");
        free(c);
        json_decref(blocks);
        return 1;
    }
    f->data = c;
    f->data_free = free;
    json_t *body = json_pack("{s:s}", "text", text ? text : "");
    if (blocks) json_object_set_new(body, "blocks", blocks);
    char *url = NULL;
    if (!hook) {
        json_object_set_new(body, "channel", json_string(channel));
        if (!thread || json_is_true(thread)) {
            snprintf(c->thread_key, sizeof(c->thread_key), "slack.thread.%s", channel);
            if (task_memo_get(w, t, c->thread_key, c->thread_ts, sizeof(c->thread_ts)) != 1)
                c->thread_ts[0] = '\0';
            if (c->thread_ts[0]) json_object_set_new(body, "thread_ts", json_string(c->thread_ts));
        }
        const char *api = with_str(t, "api_url");
        url = url_join(api ? api : SLACK_API, "chat.postMessage");
    }
    char *payload = json_dumps(body, JSON_COMPACT);
    http_req rq = {
        .url = hook ? hook : url,
        .body = payload,
        .content_type = "application/json; charset=utf-8",
        .bearer = hook ? NULL : token,
    };
    int rc = payload && (hook || url) ? http_send(w, t, &rq) : task_refuse(t, "out of memory");
    free(payload);
    free(url);
    json_decref(body);
    return rc == 0 ? 0 : 1;
}

const action_impl action_slack = {
    .name = "slack",
    .start = start,
    .curl_done = http_curl_done,
    .abort = http_abort,
};
