/* sign.c - muster-sign: signs a request as Slack, Twilio or PagerDuty would,
 * or makes an acknowledgement link, for the shell tests */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state/incident.h"
#include "common/signature.h"

static const char usage[] =
    "Usage: muster-sign slack SECRET TIMESTAMP <BODY    X-Slack-Signature\n"
    "       muster-sign twilio TOKEN URL <BODY          X-Twilio-Signature\n"
    "       muster-sign pagerduty SECRET <BODY          X-PagerDuty-Signature\n"
    "       muster-sign link SECRET ACTION INCIDENT PERSON EXPIRES   a link token\n"
    "       muster-sign code INCIDENT                   the incident's SMS code\n";

/* The body from stdin, at most 1 MiB. */
static char *body_in(size_t *len) {
    static char buf[1 << 20];
    *len = fread(buf, 1, sizeof(buf), stdin);
    return buf;
}

int main(int argc, char **argv) {
    char out[SIG_LINK_MAX];
    size_t len;
    int rc = -1;
    if (argc == 4 && !strcmp(argv[1], "slack")) {
        const char *b = body_in(&len);
        rc = sig_slack_sign(argv[2], argv[3], b, len, out);
    } else if (argc == 4 && !strcmp(argv[1], "twilio")) {
        const char *b = body_in(&len);
        rc = sig_twilio_sign(argv[2], argv[3], b, len, out);
    } else if (argc == 3 && !strcmp(argv[1], "pagerduty")) {
        const char *b = body_in(&len);
        rc = sig_pagerduty_sign(argv[2], b, len, out);
    } else if (argc == 7 && !strcmp(argv[1], "link")) {
        rc = sig_link_make(argv[2], argv[3], argv[4], argv[5], strtoll(argv[6], NULL, 10), out,
                           sizeof(out));
    } else if (argc == 3 && !strcmp(argv[1], "code")) {
        incident_code(argv[2], out);
        rc = 0;
    } else {
        fputs(usage, stderr);
        return 2;
    }
    if (rc < 0) {
        fprintf(stderr, "muster-sign: cannot sign\n");
        return 1;
    }
    puts(out);
    return 0;
}
