/* ack.c - muster ack and muster done: what people do during an incident */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/remote.h"
#include "state/incident.h"
#include "state/operator.h"

/* --by NAME, else $USER, else "operator". */
static const char *who(int argc, char **argv, char *buf, size_t len) {
    const char *by = cli_option(argc, argv, "--by");
    if (by) return by;
    const char *user = getenv("USER");
    snprintf(buf, len, "%s", user && *user ? user : "operator");
    return buf;
}

/* POST /api/v1/incidents/ID/ACTION with body: fills outcome and the
 * answer's field `who` (who acknowledged or resolved). Returns 0, 1 when
 * the API answered and said why not (err empty: already on stderr), or -1
 * with err filled. "missing" for a 404. */
static int remote_action(const config *cfg, const char *cmd, const char *id, const char *action,
                         json_t *body, char *outcome, size_t olen, char *by, size_t blen,
                         const char *who_field, char *err, size_t errlen) {
    char path[512], esc[384];
    long status;
    remote_escape(id, esc, sizeof(esc));
    snprintf(path, sizeof(path), "/api/v1/incidents/%s/%s", esc, action);
    if (!body) body = json_object();
    json_t *doc = remote_call(cfg, cmd, "POST", path, body, &status);
    json_decref(body);
    if (!doc && status == 404) {
        snprintf(outcome, olen, "missing");
        return 0;
    }
    if (!doc) {
        err[0] = '\0';
        return 1;
    }
    const char *o = json_string_value(json_object_get(doc, "outcome"));
    const char *w = json_string_value(json_object_get(doc, who_field));
    snprintf(outcome, olen, "%s", o ? o : "");
    snprintf(by, blen, "%s", w ? w : "");
    json_decref(doc);
    (void)errlen;
    return 0;
}

/* The incident ref names ("latest": the newest), into buf; through the API
 * when it is on (*s stays NULL), else from Redis (*s open: the caller
 * closes it). NULL (said) when there is none or no way to ask. */
static const char *target(const config *cfg, const char *cmd, const char *ref, char *buf,
                          size_t len, store **s) {
    *s = NULL;
    if (remote_on(cfg)) {
        if (strcmp(ref, "latest") != 0) return ref;
        return remote_latest(cfg, cmd, buf, len) < 0 ? NULL : buf;
    }
    if (!(*s = cli_store(cfg))) return NULL;
    const char *id = cli_incident(*s, ref, buf, len);
    if (!id) {
        store_close(*s);
        *s = NULL;
    }
    return id;
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
    const char *by = who(argc, argv, buf, sizeof(buf));
    store *s;
    const char *id = target(cfg, "ack", argv[1], idbuf, sizeof(idbuf), &s);
    int rc;
    if (!id) return EXIT_FAIL;
    if (!s) {
        if (cli_option(argc, argv, "--by"))
            fprintf(stderr, "muster ack: through muster-api the acknowledgement is the token "
                            "holder's; --by is not used\n");
        rc = remote_action(cfg, "ack", id, "ack", NULL, outcome, sizeof(outcome), first,
                           sizeof(first), "acknowledged_by", err, sizeof(err));
        by = first;
    } else {
        operator_ctx o = {.by = by, .via = "cli", .audit_max = cfg->audit_max_entries};
        rc = operator_ack(s, &o, id, outcome, sizeof(outcome), first, sizeof(first), err,
                          sizeof(err));
        store_close(s);
    }
    if (rc > 0) return EXIT_FAIL;
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
    operator_ctx o = {.by = by, .via = "cli", .audit_max = cfg->audit_max_entries};
    int rc = operator_step_done(s, &o, argv[1], argv[2], cli_option(argc, argv, "--note"),
                                outcome, sizeof(outcome), state, sizeof(state), err, sizeof(err));
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

int cmd_resolve(config *cfg, int argc, char **argv) {
    char buf[128], outcome[32], by_first[128] = "", err[512], idbuf[128];
    if (argc < 2 || argv[1][0] == '-' || cli_flag(argc, argv, "--help")) {
        printf("Usage: muster resolve INCIDENT|latest [--by NAME]\n\n"
               "Resolves the open incident now, as if all its alerts resolved: its\n"
               "on_resolve steps run, pages still pending are cancelled. Recorded as NAME\n"
               "(through muster-api: the token's holder) and audited.\n\n"
               "Options:\n  --by NAME  who resolves (default $USER)\n");
        return cli_flag(argc, argv, "--help") ? EXIT_OK : EXIT_USAGE;
    }
    const char *by = who(argc, argv, buf, sizeof(buf));
    store *s;
    const char *id = target(cfg, "resolve", argv[1], idbuf, sizeof(idbuf), &s);
    int rc;
    if (!id) return EXIT_FAIL;
    if (!s) {
        rc = remote_action(cfg, "resolve", id, "resolve", NULL, outcome, sizeof(outcome),
                           by_first, sizeof(by_first), "resolved_by", err, sizeof(err));
    } else {
        operator_ctx o = {.by = by, .via = "cli", .audit_max = cfg->audit_max_entries};
        rc = operator_resolve(s, &o, id, outcome, sizeof(outcome), by_first, sizeof(by_first),
                              err, sizeof(err));
        store_close(s);
    }
    if (rc > 0) return EXIT_FAIL;
    if (rc < 0) {
        fprintf(stderr, "muster resolve: %s\n", err);
        return EXIT_FAIL;
    }
    if (!strcmp(outcome, "missing")) {
        fprintf(stderr, "muster resolve: no incident \"%s\"\n", id);
        return EXIT_FAIL;
    }
    if (!strcmp(outcome, "already"))
        printf("%s was not open%s%s\n", id, *by_first ? "; resolved by " : "", by_first);
    else
        printf("resolved %s%s%s\n", id, *by_first ? " as " : "", *by_first ? by_first : "");
    return EXIT_OK;
}

int cmd_note(config *cfg, int argc, char **argv) {
    char buf[128], outcome[32], by_got[128] = "", err[512], idbuf[128];
    if (argc < 3 || argv[1][0] == '-' || cli_flag(argc, argv, "--help")) {
        printf("Usage: muster note INCIDENT|latest TEXT [--by NAME]\n\n"
               "Adds a note to the incident's timeline (an incident.note event), audited.\n\n"
               "Options:\n  --by NAME  who writes it (default $USER; through muster-api: the token's holder)\n");
        return cli_flag(argc, argv, "--help") ? EXIT_OK : EXIT_USAGE;
    }
    const char *by = who(argc, argv, buf, sizeof(buf));
    store *s;
    const char *id = target(cfg, "note", argv[1], idbuf, sizeof(idbuf), &s);
    int rc;
    if (!id) return EXIT_FAIL;
    if (!s) {
        rc = remote_action(cfg, "note", id, "notes", json_pack("{s:s}", "text", argv[2]), outcome,
                           sizeof(outcome), by_got, sizeof(by_got), "by", err, sizeof(err));
        by = by_got;
    } else {
        operator_ctx o = {.by = by, .via = "cli", .audit_max = cfg->audit_max_entries};
        rc = operator_note(s, &o, id, argv[2], outcome, sizeof(outcome), err, sizeof(err));
        store_close(s);
    }
    if (rc > 0) return EXIT_FAIL;
    if (rc < 0) {
        fprintf(stderr, "muster note: %s\n", err);
        return EXIT_FAIL;
    }
    if (!strcmp(outcome, "missing")) {
        fprintf(stderr, "muster note: no incident \"%s\"\n", id);
        return EXIT_FAIL;
    }
    printf("noted on %s as %s\n", id, by);
    return EXIT_OK;
}
