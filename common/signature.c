/* signature.c - what a refused inbound request is called and answered with */
#include "common/signature.h"

const char *sig_result_name(sig_result r) {
    switch (r) {
    case SIG_OK: return "ok";
    case SIG_MISSING: return "missing";
    case SIG_MALFORMED: return "malformed";
    case SIG_STALE: return "stale";
    case SIG_MISMATCH: return "mismatch";
    case SIG_EXPIRED: return "expired";
    case SIG_REPLAY: return "replay";
    case SIG_ERROR: return "error";
    }
    return "unknown";
}

/* Slack's Bolt frameworks answer 401 to any request that fails
 * verification; Twilio's libraries answer 403; go-pagerduty recommends 400
 * for a missing or malformed X-PagerDuty-Signature and 403 for one that
 * does not match, and PagerDuty drops (does not retry) on any 4xx but 429.
 * A link is a page a person opens: 400 for a broken link, 403 for a forged
 * or someone else's, 410 once it has expired, 409 when it was used. */
int sig_http_status(sig_channel c, sig_result r) {
    if (r == SIG_OK) return 200;
    if (r == SIG_ERROR) return 503;
    switch (c) {
    case SIG_SLACK: return 401;
    case SIG_TWILIO: return 403;
    case SIG_PAGERDUTY: return r == SIG_MISSING || r == SIG_MALFORMED ? 400 : 403;
    case SIG_LINK:
        if (r == SIG_MISSING || r == SIG_MALFORMED) return 400;
        if (r == SIG_EXPIRED) return 410;
        if (r == SIG_REPLAY) return 409;
        return 403;
    }
    return 403;
}
