/* twilio_call.c - the twilio_call action: one phone call per step and
 * recipient through Twilio's Calls API, which reads the message and takes
 * "press 1 to acknowledge" back to the intake */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "worker/actions/twilio_api.h"
#include "worker/intake_url.h"

/* Twilio takes inline TwiML of at most 4000 characters. */
#define TWIML_MAX 4000

/* Appends s as XML character data or attribute text. Characters XML 1.0
 * does not allow (control characters other than tab and line breaks)
 * become spaces, so an alert's text cannot break the document. */
static void xml_text(strbuf *b, const char *s) {
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&': strbuf_str(b, "&amp;"); break;
        case '<': strbuf_str(b, "&lt;"); break;
        case '>': strbuf_str(b, "&gt;"); break;
        case '"': strbuf_str(b, "&quot;"); break;
        case '\'': strbuf_str(b, "&apos;"); break;
        default:
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') c = ' ';
            strbuf_add(b, (const char *)&c, 1);
        }
    }
}

/* The call's TwiML: the message, then one key press posted to the intake;
 * a call nobody answers with a key ends with a goodbye. */
static int twiml_build(strbuf *b, const char *message, const char *action, const char *voice) {
    strbuf_str(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>"
                  "<Gather numDigits=\"1\" action=\"");
    xml_text(b, action);
    strbuf_str(b, "\" method=\"POST\"><Say");
    if (voice) {
        strbuf_str(b, " voice=\"");
        xml_text(b, voice);
        strbuf_str(b, "\"");
    }
    strbuf_str(b, ">");
    xml_text(b, message);
    strbuf_str(b, "</Say><Say>Press 1 to acknowledge.</Say></Gather>"
                  "<Say>No key was pressed. Goodbye.</Say></Response>");
    return b->failed ? -1 : 0;
}

static int start(worker *w, task *t) {
    static const char *const required[] = {"from", "message", NULL};
    const char *to = with_str(t, "to");
    char key[600], action[INTAKE_URL_MAX], err[400];
    strbuf twiml = {.max = TWIML_MAX + 1};

    if (twilio_need(t, "twilio_call", required)) return 1;
    if (intake_voice_url(w->cfg, t, action, sizeof(action), err, sizeof(err)) < 0)
        return task_refuse(t, "twilio_call: %s", err);
    if (twiml_build(&twiml, with_str(t, "message"), action, with_str(t, "voice")) < 0) {
        bool toobig = twiml.toobig;
        strbuf_free(&twiml);
        return toobig ? task_refuse(t, "twilio_call: the call's TwiML is over %d characters; "
                                             "shorten message", TWIML_MAX)
                            : task_refuse(t, "out of memory");
    }
    snprintf(key, sizeof(key), "twilio_call.sent.%s.%s", t->li.step, to);
    if (task_sent_before(w, t, "twilio_call", key)) {
        strbuf_free(&twiml);
        return 1;
    }
    char *form = NULL;
    int ok = twilio_form_add(&form, "To", to) == 0 &&
             twilio_form_add(&form, "From", with_str(t, "from")) == 0 &&
             twilio_form_add(&form, "Twiml", twiml.s) == 0;
    int rc = ok ? twilio_post(w, t, "twilio_call", "Calls.json", form, key)
                : task_refuse(t, "out of memory");
    free(form);
    strbuf_free(&twiml);
    return rc;
}

const action_impl action_twilio_call = {
    .name = "twilio_call",
    .start = start,
    .curl_done = http_curl_done,
    .abort = http_abort,
};
