/* twilio.c - the twilio action: one SMS per step and recipient through
 * Twilio's Messages API */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "worker/http.h"

#define TWILIO_API "https://api.twilio.com"

static void on_response(worker *w, task *t, http_flow *f, const http_resp *r) {
    const char *key = f->data;
    const char *sid = json_string_value(json_object_get(r->json, "sid"));
    char what[400];
    if (!http_ok(r)) {
        /* Twilio's error: {"code": 21211, "message": "...", "more_info", "status"} */
        json_t *code = json_object_get(r->json, "code");
        const char *message = json_string_value(json_object_get(r->json, "message"));
        if (json_is_integer(code))
            snprintf(what, sizeof(what), "twilio error %lld (%.300s)", (long long)json_integer_value(code),
                     message ? message : "no message");
        else
            snprintf(what, sizeof(what), "twilio");
        http_fail(t, r, -1, what);
        return;
    }
    if (!sid) {
        /* Not the Message resource: a proxy's page, perhaps. Nothing says the
         * SMS went, so another attempt is better than silence. */
        http_fail(t, r, 0, "twilio: the answer has no message sid");
        return;
    }
    json_t *out = json_pack("{s:s, s:s?, s:s?}", "sid", sid, "status",
                            json_string_value(json_object_get(r->json, "status")), "to",
                            json_string_value(json_object_get(r->json, "to")));
    if (json_is_null(json_object_get(out, "to")))
        json_object_set_new(out, "to", json_string(with_str(t, "to")));
    task_sent_now(w, t, key, out);
}

/* Appends "&name=value" (no "&" first), value percent-encoded: a "+" or "&"
 * in the text reaches the phone as written. Returns 0 or -1. */
static int form_add(char **form, const char *name, const char *value) {
    char *esc = url_escape(value);
    size_t have = *form ? strlen(*form) : 0;
    size_t need = have + strlen(name) + (esc ? strlen(esc) : 0) + 3;
    char *grown = esc ? realloc(*form, need) : NULL;
    if (!grown) {
        free(esc);
        return -1;
    }
    snprintf(grown + have, need - have, "%s%s=%s", have ? "&" : "", name, esc);
    *form = grown;
    free(esc);
    return 0;
}

static int start(worker *w, task *t) {
    static const char *const required[] = {"account_sid", "auth_token", "to", "body", NULL};
    const char *sid = with_str(t, "account_sid"), *to = with_str(t, "to");
    const char *from = with_str(t, "from"), *service = with_str(t, "messaging_service_sid");
    const char *api = with_str(t, "api_url");
    char msg[128], key[600], path[300];

    for (const char *const *p = required; *p; p++) {
        if (with_str(t, *p)) continue;
        snprintf(msg, sizeof(msg), "twilio: needs %s", *p);
        return task_refuse(t, "%s", msg);
    }
    if (from && service) return task_refuse(t, "twilio: give from or messaging_service_sid, not both");
    if (!from && !service) return task_refuse(t, "twilio: needs from (a Twilio number) or messaging_service_sid");
    snprintf(key, sizeof(key), "twilio.sent.%s.%s", t->li.step, to);
    if (task_sent_before(w, t, "twilio", key)) return 1;

    char *esc_sid = url_escape(sid), *form = NULL, *url = NULL;
    http_flow *f = http_flow_new(t, on_response);
    int ok = esc_sid && f && (f->data = strdup(key)) && form_add(&form, "To", to) == 0 &&
             form_add(&form, from ? "From" : "MessagingServiceSid", from ? from : service) == 0 &&
             form_add(&form, "Body", with_str(t, "body")) == 0;
    if (f && f->data) f->data_free = free;
    if (ok) {
        snprintf(path, sizeof(path), "2010-04-01/Accounts/%s/Messages.json", esc_sid);
        ok = (url = url_join(api ? api : TWILIO_API, path)) != NULL;
    }
    http_req rq = {
        .url = url,
        .body = form,
        .content_type = "application/x-www-form-urlencoded",
        .user = sid,
        .password = with_str(t, "auth_token"),
    };
    int rc = ok ? http_send(w, t, &rq) : task_refuse(t, "out of memory");
    free(esc_sid);
    free(form);
    free(url);
    return rc == 0 ? 0 : 1;
}

const action_impl action_twilio = {
    .name = "twilio",
    .start = start,
    .curl_done = http_curl_done,
    .abort = http_abort,
};
