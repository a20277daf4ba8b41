/* teams.c - the teams action: one Adaptive Card per step in a Microsoft
 * Teams channel, through an incoming webhook or a Workflows webhook */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "worker/http.h"
#include "worker/intake_url.h"

/* A legacy connector answers 200 even when Teams refused the message, with
 * this text and the status Teams gave it ("... HTTP error 429 with ..."). */
#define CONNECTOR_FAILED "Webhook message delivery failed"

/* The status Teams gave a connector that answered 200 with a failure, or 0. */
static long wrapped_status(const http_resp *r) {
    const char *p;
    if (!r->body || strncmp(r->body, CONNECTOR_FAILED, strlen(CONNECTOR_FAILED)) != 0) return 0;
    p = strstr(r->body, "HTTP error ");
    return p ? strtol(p + strlen("HTTP error "), NULL, 10) : 500;
}

static void on_response(worker *w, task *t, http_flow *f, const http_resp *r) {
    char msg[128];
    long inner = http_ok(r) ? wrapped_status(r) : 0;
    if (!http_ok(r)) {
        http_fail(t, r, -1, "teams webhook");
        return;
    }
    if (inner) {
        snprintf(msg, sizeof(msg), "teams webhook: the connector could not deliver (Teams said HTTP %ld)",
                 inner);
        task_finish(t, 0, json_pack("{s:i, s:s}", "status", (int)r->status, "body", r->body), msg);
        t->res.permanent = !(inner == 408 || inner == 429 || inner >= 500);
        return;
    }
    json_t *out = json_pack("{s:i}", "status", (int)r->status);
    task_sent_now(w, t, f->data, out);
}

/* The card from `card` (an object, or a string holding one), checked to be
 * an Adaptive Card. Returns a new reference, or NULL with err filled. */
static json_t *given_card(const json_t *card, char *err, size_t len) {
    /* A copy: the acknowledgement link may be added to it. */
    json_t *c = json_is_string(card) ? json_loads(json_string_value(card), 0, NULL)
                                     : json_deep_copy(card);
    const char *type = json_string_value(json_object_get(c, "type"));
    if (json_is_object(c) && type && strcmp(type, "AdaptiveCard") == 0) return c;
    json_decref(c);
    snprintf(err, len, "teams: card must be an Adaptive Card object (\"type\": \"AdaptiveCard\")");
    return NULL;
}

static json_t *text_block(const char *text, bool title) {
    json_t *b = json_pack("{s:s, s:s, s:b}", "type", "TextBlock", "text", text, "wrap", 1);
    if (title) {
        json_object_set_new(b, "weight", json_string("Bolder"));
        json_object_set_new(b, "size", json_string("Medium"));
    }
    return b;
}

/* The card built from title, text and facts. Returns a new reference, or
 * NULL with err filled. */
static json_t *built_card(const task *t, char *err, size_t len) {
    const char *title = with_str(t, "title"), *text = with_str(t, "text"), *k;
    json_t *facts = json_object_get(t->with, "facts"), *v;
    json_t *body = json_array();
    if (title) json_array_append_new(body, text_block(title, true));
    if (text) json_array_append_new(body, text_block(text, false));
    if (facts && !json_is_object(facts)) {
        snprintf(err, len, "teams: facts must be a map of title to value");
        json_decref(body);
        return NULL;
    }
    if (json_object_size(facts)) {
        json_t *list = json_array();
        json_object_foreach(facts, k, v) {
            /* A value that is not a string still shows, as its JSON text. */
            char *shown = json_is_string(v) ? NULL : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            json_array_append_new(list, json_pack("{s:s, s:s}", "title", k, "value",
                                                  shown ? shown : json_string_value(v)));
            free(shown);
        }
        json_array_append_new(body, json_pack("{s:s, s:o}", "type", "FactSet", "facts", list));
    }
    if (!json_array_size(body)) {
        snprintf(err, len, "teams: needs title, text, facts or card");
        json_decref(body);
        return NULL;
    }
    return json_pack("{s:s, s:s, s:s, s:o}", "$schema", "http://adaptivecards.io/schemas/adaptive-card.json",
                     "type", "AdaptiveCard", "version", "1.4", "body", body);
}

/* With ack_link: PERSON, an Acknowledge button (Action.OpenUrl) that opens
 * the signed link, after the card's own actions. Returns 0, or -1 with err. */
static int ack_action(worker *w, const task *t, json_t *card, char *err, size_t len) {
    char link[INTAKE_URL_MAX], why[500];
    const char *person = with_str(t, "ack_link");
    json_t *actions = json_object_get(card, "actions");
    if (!json_object_get(t->with, "ack_link")) return 0;
    if (!person) return snprintf(err, len, "teams: ack_link must be a person id"), -1;
    if (intake_ack_link(w->cfg, t, person, link, sizeof(link), why, sizeof(why)) < 0)
        return snprintf(err, len, "teams: %.400s", why), -1;
    if (!json_is_array(actions)) {
        if (actions) return snprintf(err, len, "teams: the card's actions is not a list"), -1;
        json_object_set_new(card, "actions", actions = json_array());
    }
    json_array_append_new(actions, json_pack("{s:s, s:s, s:s, s:s}", "type", "Action.OpenUrl",
                                             "title", "Acknowledge", "url", link, "style",
                                             "positive"));
    return 0;
}

static int start(worker *w, task *t) {
    const char *hook = with_str(t, "webhook_url");
    json_t *card_param = json_object_get(t->with, "card");
    char err[600], key[512];
    json_t *card;

    if (!hook) return task_refuse(t, "teams: needs webhook_url");
    card = card_param && !json_is_null(card_param) ? given_card(card_param, err, sizeof(err))
                                                   : built_card(t, err, sizeof(err));
    if (!card) return task_refuse(t, "%s", err);
    if (ack_action(w, t, card, err, sizeof(err)) < 0) {
        json_decref(card);
        return task_refuse(t, "%s", err);
    }
    snprintf(key, sizeof(key), "teams.sent.%s", t->li.step);
    if (task_sent_before(w, t, "teams", key)) {
        json_decref(card);
        return 1;
    }
    json_t *msg = json_pack("{s:s, s:[{s:s, s:n, s:o}]}", "type", "message", "attachments",
                            "contentType", "application/vnd.microsoft.card.adaptive", "contentUrl",
                            "content", card);
    char *payload = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    json_decref(msg);
    http_flow *f = payload ? http_flow_new(t, on_response) : NULL;
    if (f && (f->data = strdup(key))) f->data_free = free;
    http_req rq = {.url = hook, .body = payload};
    int rc = f && f->data ? http_send(w, t, &rq) : task_refuse(t, "out of memory");
    free(payload);
    return rc == 0 ? 0 : 1;
}

const action_impl action_teams = {
    .name = "teams",
    .start = start,
    .curl_done = http_curl_done,
    .abort = http_abort,
};
