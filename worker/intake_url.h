/* intake_url.h - addresses on the dispatcher's intake that a page carries:
 * the phone call's key-press URL and signed acknowledgement links */
#ifndef MUSTER_INTAKE_URL_H
#define MUSTER_INTAKE_URL_H

#include <stddef.h>

#include "worker/worker.h"

/* Longest URL these make, NUL included. */
#define INTAKE_URL_MAX 1024

/* Writes intake.public_url (an http or https origin, perhaps with a path
 * prefix; no query, no fragment; a trailing '/' dropped) followed by path
 * (which starts with '/'). The host is always the setting's, never
 * anything from the alert. Returns 0, or -1 with err saying what is wrong
 * with the setting. */
int intake_url(const config *cfg, const char *path, char *out, size_t len, char *err,
               size_t errlen);

/* The key-press URL of a call for the task's incident:
 * {intake.public_url}/api/v1/twilio/voice?incident=ID. Returns 0 or -1
 * with err. */
int intake_voice_url(const config *cfg, const task *t, char *out, size_t len, char *err,
                     size_t errlen);

/* A link that acknowledges the task's incident as `person`:
 * {intake.public_url}/ack/{token}, the token made by sig_link_make() with
 * the secret named by ack.link_secret, expiring ack.link_ttl from now. The
 * secret is read from secrets.dirs (or MUSTER_SECRET_<NAME>) and wiped
 * after use. Returns 0, or -1 with err naming the setting, the secret or
 * the person id at fault. */
int intake_ack_link(const config *cfg, const task *t, const char *person, char *out, size_t len,
                    char *err, size_t errlen);

#endif
