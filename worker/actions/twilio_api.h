/* twilio_api.h - what the Twilio actions share: a form-encoded POST to one
 * of an account's resources, and the answer in Twilio's shape */
#ifndef MUSTER_TWILIO_API_H
#define MUSTER_TWILIO_API_H

#include "worker/http.h"

/* Appends "&name=value" (no "&" first) to *form (malloc'd, may start NULL),
 * value percent-encoded: a "+" or "&" in the text arrives as written.
 * Returns 0, or -1 (out of memory; *form is left as it was). */
int twilio_form_add(char **form, const char *name, const char *value);

/* Refuses the task unless account_sid, auth_token, to and each of `more`
 * (NULL-terminated) are given; `what` names the action in the message.
 * Returns 0 when all are there, else 1 (what start() returns). */
int twilio_need(task *t, const char *what, const char *const *more);

/* POSTs form to {api_url}/2010-04-01/Accounts/{account_sid}/{resource}
 * with basic auth (the account SID and auth token). The step succeeds with
 * {sid, status, to} of the resource Twilio created, kept in the memo under
 * memo_key; it fails with Twilio's error code and message. `what` names the
 * action in messages. Returns start()'s 0 or 1. */
int twilio_post(worker *w, task *t, const char *what, const char *resource, const char *form,
                const char *memo_key);

#endif
