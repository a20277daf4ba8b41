/* inbound.h - acknowledge and resolve from where the responder is: Slack,
 * Twilio SMS and voice, PagerDuty v3 and signed links */
#ifndef MUSTER_INBOUND_H
#define MUSTER_INBOUND_H

#include <stddef.h>

#include "common/config.h"
#include "common/oncall.h"
#include "state/store.h"

/*
 * The vendors' callbacks on the dispatcher's HTTP intake (docs/acknowledgement.md):
 *
 *   POST /api/v1/slack/interactions     Slack block_actions (muster_ack, muster_resolve)
 *   POST /api/v1/twilio/sms             an SMS reply: ACK, 1 or RESOLVE [CODE]
 *   POST /api/v1/twilio/voice?incident= a key press from a <Gather>: 1 acknowledges
 *   POST /api/v1/pagerduty              webhooks v3: incident.acknowledged, .resolved
 *   GET|POST /ack/<token>               a signed link: a confirm page, then the ack
 *
 * Each verifies the vendor's signature over the raw request (signature.h)
 * with a secret the settings name, refuses stale and replayed requests
 * (Redis SET NX PX), maps the vendor's user to a person of oncall.dir and
 * records that person's id as `by`. A refusal changes nothing and is
 * answered with sig_http_status(). A channel whose secret is not named in
 * the settings answers 404.
 */

typedef enum inbound_route {
    INBOUND_NONE,
    INBOUND_SLACK,
    INBOUND_SMS,
    INBOUND_VOICE,
    INBOUND_PAGERDUTY,
    INBOUND_LINK,
} inbound_route;

/* The headers a verifier reads, copied as received. */
enum { IH_SLACK_TS, IH_SLACK_SIG, IH_TWILIO_SIG, IH_TWILIO_IDEMPOTENCY, IH_PAGERDUTY_SIG,
       IH_WEBHOOK_ID, IH_COUNT };
extern const char *const inbound_header_names[IH_COUNT];

typedef struct inbound_request {
    inbound_route route;
    int get;               /* GET (a link's confirm page), else POST */
    const char *path;      /* without the query */
    const char *incident;  /* voice: the query's incident, or NULL */
    const char *headers[IH_COUNT]; /* each NULL when absent */
    const char *body;
    size_t len;
} inbound_request;

#define INBOUND_FOLLOWUP_URL_MAX 2048

typedef struct inbound_answer {
    unsigned status;
    const char *type; /* Content-Type */
    char *body;       /* malloc'd; the caller frees */
    char why[256];    /* one line for the log: what was done or refused, never a secret */
    /* Slack: the message update to POST to followup_url once answered. */
    char followup_url[INBOUND_FOLLOWUP_URL_MAX];
    char *followup; /* malloc'd JSON, or NULL */
} inbound_answer;

/* Which endpoint path is (no query), or INBOUND_NONE. */
inbound_route inbound_route_of(const char *path);

/* Serves one verified-or-refused request. store may be NULL (Redis
 * unreachable: 503). people may be NULL (nobody is known). Fills out;
 * free with inbound_answer_clear(). Runs on one thread (the store's). */
void inbound_handle(const config *cfg, const oncall_set *people, store *s,
                    const inbound_request *rq, inbound_answer *out);

/* Sends a's Slack follow-up, if any, within timeout_ms. Logs failures. */
void inbound_followup(const inbound_answer *a, long timeout_ms);

void inbound_answer_clear(inbound_answer *a);

/* --- parts, for the tests ---------------------------------------------- */

/* Copies the percent-decoded value of field `name` of a form-encoded body
 * into out (NUL-terminated, truncated to outlen - 1). Returns its length,
 * or -1 when absent or badly escaped. */
long inbound_form_value(const char *body, size_t len, const char *name, char *out,
                        size_t outlen);

typedef enum { SMS_UNKNOWN, SMS_ACK, SMS_RESOLVE } sms_verb;

/* Reads an SMS reply: "ACK", "1" or "RESOLVE" (any case, surrounding blanks
 * ignored), optionally followed by an incident code (incident_code()),
 * copied upper-cased into code (empty when none). Anything else is
 * SMS_UNKNOWN. */
sms_verb inbound_sms_parse(const char *text, char *code, size_t codelen);

/* Whether url (a Slack response_url) may be called: https to a host of the
 * comma-separated hosts, default port, no user or password; or exactly an
 * origin "http://host:port" that the list names itself (tests). */
int inbound_url_allowed(const char *hosts, const char *url);

/* Appends s to b with & < > " ' escaped (XML and HTML text). */
struct strbuf;
void inbound_escape(struct strbuf *b, const char *s);

#endif
