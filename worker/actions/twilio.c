/* twilio.c - the twilio action: one SMS per step and recipient through
 * Twilio's Messages API */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/actions/twilio_api.h"

static int start(worker *w, task *t) {
    static const char *const required[] = {"body", NULL};
    const char *to = with_str(t, "to");
    const char *from = with_str(t, "from"), *service = with_str(t, "messaging_service_sid");
    char key[600];

    if (twilio_need(t, "twilio", required)) return 1;
    if (from && service) return task_refuse(t, "twilio: give from or messaging_service_sid, not both");
    if (!from && !service) return task_refuse(t, "twilio: needs from (a Twilio number) or messaging_service_sid");
    snprintf(key, sizeof(key), "twilio.sent.%s.%s", t->li.step, to);
    if (task_sent_before(w, t, "twilio", key)) return 1;

    char *form = NULL;
    int ok = twilio_form_add(&form, "To", to) == 0 &&
             twilio_form_add(&form, from ? "From" : "MessagingServiceSid", from ? from : service) == 0 &&
             twilio_form_add(&form, "Body", with_str(t, "body")) == 0;
    int rc = ok ? twilio_post(w, t, "twilio", "Messages.json", form, key) : task_refuse(t, "out of memory");
    free(form);
    return rc;
}

const action_impl action_twilio = {
    .name = "twilio",
    .start = start,
    .curl_done = http_curl_done,
    .abort = http_abort,
};
