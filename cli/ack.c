/* ack.c - muster ack and muster done: what people do during an incident */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/incident.h"
#include "common/operator.h"

/* --by NAME, else $USER, else "operator". */
static const char *who(int argc, char **argv, char *buf, size_t len) {
    const char *by = cli_option(argc, argv, "--by");
    if (by) return by;
    const char *user = getenv("USER");
    snprintf(buf, len, "%s", user && *user ? user : "operator");
    return buf;
}

int cmd_ack(config *cfg, int argc, char **argv) {
    char buf[128], outcome[32], first[128], err[512], idbuf[128];
    if (argc < 2 || argv[1][0] == '-' || cli_flag(argc, argv, "--help")) {
        printf("Usage: muster ack INCIDENT|latest [--by NAME]\n\n"
               "Acknowledges the incident: a person has seen it and owns it. The first\n"
               "acknowledgement counts for MTTA; later ones are reported, not recorded.\n"
               "'latest' is the newest incident. Writes to Redis directly, recorded as\n"
               "NAME, via \"cli\": an operator's tool. Over HTTP an acknowledgement is\n"
               "recorded as the name of its token (intake.ack_tokens).\n\n"
               "Options:\n  --by NAME  who acknowledges (default $USER)\n");
        return cli_flag(argc, argv, "--help") ? EXIT_OK : EXIT_USAGE;
    }
    store *s = cli_store(cfg);
    if (!s) return EXIT_FAIL;
    const char *by = who(argc, argv, buf, sizeof(buf));
    const char *id = cli_incident(s, argv[1], idbuf, sizeof(idbuf));
    if (!id) {
        store_close(s);
        return EXIT_FAIL;
    }
    operator_ctx o = {.by = by, .via = "cli", .audit_max = cfg->audit_max_entries};
    int rc = operator_ack(s, &o, id, outcome, sizeof(outcome), first, sizeof(first), err,
                          sizeof(err));
    store_close(s);
    if (rc < 0) {
        fprintf(stderr, "muster ack: %s\n", err);
        return EXIT_FAIL;
    }
    if (!strcmp(outcome, "missing")) {
        fprintf(stderr, "muster ack: no incident \"%s\"\n", id);
        return EXIT_FAIL;
    }
    if (!strcmp(outcome, "already"))
        printf("%s was already acknowledged by %s\n", id, first);
    else
        printf("acknowledged %s as %s\n", id, by);
    return EXIT_OK;
}

int cmd_done(config *cfg, int argc, char **argv) {
    char buf[128], outcome[32], state[32], err[512];
    if (argc < 3 || argv[1][0] == '-' || cli_flag(argc, argv, "--help")) {
        printf("Usage: muster done INCIDENT STEP [--by NAME] [--note TEXT]\n\n"
               "Marks a manual step (action: manual) done; the steps that need it go on.\n\n"
               "Options:\n  --by NAME    who did it (default $USER)\n"
               "  --note TEXT  what was done, kept in the timeline\n");
        return cli_flag(argc, argv, "--help") ? EXIT_OK : EXIT_USAGE;
    }
    store *s = cli_store(cfg);
    if (!s) return EXIT_FAIL;
    const char *by = who(argc, argv, buf, sizeof(buf));
    int rc = incident_step_done(s, argv[1], argv[2], by, cli_option(argc, argv, "--note"), outcome,
                                sizeof(outcome), state, sizeof(state), err, sizeof(err));
    store_close(s);
    if (rc < 0) {
        fprintf(stderr, "muster done: %s\n", err);
        return EXIT_FAIL;
    }
    if (!strcmp(outcome, "missing")) {
        fprintf(stderr, "muster done: no step \"%s\" in incident \"%s\"\n", argv[2], argv[1]);
        return EXIT_FAIL;
    }
    if (!strcmp(outcome, "not manual")) {
        fprintf(stderr, "muster done: %s/%s is %s, not a manual step waiting for a person\n",
                argv[1], argv[2], state);
        return EXIT_FAIL;
    }
    printf("done %s/%s by %s\n", argv[1], argv[2], by);
    return EXIT_OK;
}
