/* twilio_api.c - what the Twilio actions share: a form-encoded POST to one
 * of an account's resources, and the answer in Twilio's shape */
#include "worker/actions/twilio_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TWILIO_API "https://api.twilio.com"

/* What the answer needs: where to keep it, and whose it is. */
typedef struct twilio_state {
    char key[600];
    char what[32];
} twilio_state;

static void on_response(worker *w, task *t, http_flow *f, const http_resp *r) {
    const twilio_state *st = f->data;
    const char *sid = json_string_value(json_object_get(r->json, "sid"));
    char msg[400];
    if (!http_ok(r)) {
        /* Twilio's error: {"code": 21211, "message": "...", "more_info", "status"} */
        json_t *code = json_object_get(r->json, "code");
        const char *message = json_string_value(json_object_get(r->json, "message"));
        if (json_is_integer(code))
            snprintf(msg, sizeof(msg), "%s error %lld (%.300s)", st->what,
                     (long long)json_integer_value(code), message ? message : "no message");
        else
            snprintf(msg, sizeof(msg), "%s", st->what);
        http_fail(t, r, -1, msg);
        return;
    }
    if (!sid) {
        /* Not the resource: a proxy's page, perhaps. Nothing says the
         * message or call went, so another attempt is better than silence. */
        snprintf(msg, sizeof(msg), "%s: the answer has no sid", st->what);
        http_fail(t, r, 0, msg);
        return;
    }
    json_t *out = json_pack("{s:s, s:s?, s:s?}", "sid", sid, "status",
                            json_string_value(json_object_get(r->json, "status")), "to",
                            json_string_value(json_object_get(r->json, "to")));
    if (json_is_null(json_object_get(out, "to")))
        json_object_set_new(out, "to", json_string(with_str(t, "to")));
    task_sent_now(w, t, st->key, out);
}

int twilio_form_add(char **form, const char *name, const char *value) {
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

int twilio_need(task *t, const char *what, const char *const *more) {
    static const char *const base[] = {"account_sid", "auth_token", "to", NULL};
    for (const char *const *p = base; *p; p++)
        if (!with_str(t, *p)) return task_refuse(t, "%s: needs %s", what, *p);
    for (const char *const *p = more; p && *p; p++)
        if (!with_str(t, *p)) return task_refuse(t, "%s: needs %s", what, *p);
    return 0;
}

int twilio_post(worker *w, task *t, const char *what, const char *resource, const char *form,
                const char *memo_key) {
    const char *sid = with_str(t, "account_sid"), *api = with_str(t, "api_url");
    char path[400];
    char *esc_sid = url_escape(sid), *url = NULL;
    twilio_state *st = calloc(1, sizeof(*st));
    http_flow *f = st ? http_flow_new(t, on_response) : NULL;
    if (f) {
        snprintf(st->key, sizeof(st->key), "%s", memo_key);
        snprintf(st->what, sizeof(st->what), "%s", what);
        f->data = st;
        f->data_free = free;
    } else {
        free(st);
    }
    if (f && esc_sid) {
        snprintf(path, sizeof(path), "2010-04-01/Accounts/%s/%s", esc_sid, resource);
        url = url_join(api ? api : TWILIO_API, path);
    }
    http_req rq = {
        .url = url,
        .body = form,
        .content_type = "application/x-www-form-urlencoded",
        .user = sid,
        .password = with_str(t, "auth_token"),
    };
    int rc = url ? http_send(w, t, &rq) : task_refuse(t, "out of memory");
    free(esc_sid);
    free(url);
    return rc == 0 ? 0 : 1;
}
