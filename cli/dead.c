/* dead.c - muster dead and muster replay: the tasks that gave up */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/remote.h"
#include "cli/table.h"
#include "state/incident.h"
#include "state/operator.h"
#include "state/queue.h"
#include "common/util.h"

static const char *str(const json_t *o, const char *k) {
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

static void print_json(json_t *v) {
    char *text = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text) printf("%s\n", text);
    free(text);
}

/* Most dead tasks read at once; past it, the commands say so. */
#define DEAD_MAX 100000

/* The dead tasks, at most DEAD_MAX; says on stderr when there are more. */
static json_t *dead_list(store *s, const char *cmd) {
    json_t *dead = queue_dead_list(s, DEAD_MAX + 1);
    if (!dead) {
        fprintf(stderr, "muster %s: redis not reachable\n", cmd);
        return NULL;
    }
    if (json_array_size(dead) > DEAD_MAX) {
        json_array_remove(dead, DEAD_MAX);
        fprintf(stderr, "muster %s: more than %d dead tasks; only the newest %d are read\n", cmd, DEAD_MAX,
                DEAD_MAX);
    }
    return dead;
}

int cmd_dead(config *cfg, int argc, char **argv) {
    if (argc < 2 || cli_flag(argc, argv, "--help")) {
        printf("Usage: muster dead list [--json]\n"
               "       muster dead show INCIDENT/STEP [--json]\n\n"
               "Dead tasks gave up: out of attempts, a permanent error (HTTP 4xx...), or\n"
               "poison (delivered again and again without completing). They keep their\n"
               "attempts, last error and input. 'muster replay' runs them again.\n\n"
               "Options:\n  --json  print JSON instead of text\n");
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    int as_json = cli_flag(argc, argv, "--json");
    int show = strcmp(argv[1], "show") == 0;
    if (!show && strcmp(argv[1], "list") != 0) {
        fprintf(stderr, "muster dead: unknown subcommand '%s'\n", argv[1]);
        return EXIT_USAGE;
    }
    if (show && argc < 3) {
        fprintf(stderr, "muster dead show: which task (INCIDENT/STEP)?\n");
        return EXIT_USAGE;
    }
    json_t *dead;
    if (remote_on(cfg)) {
        long status;
        json_t *doc = remote_call(cfg, "dead", "GET", "/api/v1/tasks/dead?limit=1000", NULL, &status);
        if (!doc) return EXIT_FAIL;
        dead = json_incref(json_object_get(doc, "tasks"));
        if (json_is_true(json_object_get(doc, "more")))
            fprintf(stderr, "muster dead: more than 1000 dead tasks; only the newest 1000 are read\n");
        json_decref(doc);
        if (!dead) return EXIT_FAIL;
    } else {
        store *s = cli_store(cfg);
        if (!s) return EXIT_FAIL;
        dead = dead_list(s, "dead");
        store_close(s);
        if (!dead) return EXIT_FAIL;
    }
    int rc = EXIT_OK;
    size_t i;
    json_t *d;
    if (show) {
        json_t *found = NULL;
        json_array_foreach(dead, i, d) if (!strcmp(str(d, "task"), argv[2])) found = d;
        if (!found) {
            fprintf(stderr, "muster dead show: no dead task \"%s\"\n", argv[2]);
            rc = EXIT_FAIL;
        } else if (as_json) {
            print_json(found);
        } else {
            char when[40];
            format_rfc3339(json_integer_value(json_object_get(found, "died_at")), when, sizeof(when));
            printf("task      %s\nworkflow  %s\naction    %s\nattempts  %lld\nreason    %s\n"
                   "died at   %s\nerror     %s\ninput     ",
                   str(found, "task"), str(found, "workflow"), str(found, "action"),
                   (long long)json_integer_value(json_object_get(found, "attempts")),
                   str(found, "reason"), when, str(found, "error"));
            char *in = json_dumps(json_object_get(found, "input"), JSON_INDENT(2));
            printf("%s\n", in ? in : "null");
            free(in);
        }
    } else if (as_json) {
        print_json(dead);
    } else {
        const char *head[] = {"TASK", "WORKFLOW", "ACTION", "ATTEMPTS", "REASON", "ERROR"};
        table *t = table_new(6, head);
        json_array_foreach(dead, i, d) {
            char attempts[24], error[84];
            snprintf(attempts, sizeof(attempts), "%lld", (long long)json_integer_value(json_object_get(d, "attempts")));
            snprintf(error, sizeof(error), "%.80s", str(d, "error"));
            const char *row[] = {str(d, "task"), str(d, "workflow"), str(d, "action"), attempts, str(d, "reason"), error};
            if (t) table_add(t, row);
        }
        if (t) table_print(t, stdout);
        table_free(t);
    }
    json_decref(dead);
    return rc;
}

static int replay_one(store *s, const operator_ctx *o, const char *ref, int force, int dry) {
    char outcome[32], state[32], err[512];
    int bad_ref;
    if (operator_replay(s, o, ref, force, dry, outcome, sizeof(outcome), state, sizeof(state),
                        &bad_ref, err, sizeof(err)) < 0) {
        if (bad_ref) fprintf(stderr, "muster replay: %s\n", err);
        else fprintf(stderr, "muster replay: %s: %s\n", ref, err);
        return bad_ref ? EXIT_USAGE : EXIT_FAIL;
    }
    if (!strcmp(outcome, "missing")) {
        fprintf(stderr, "muster replay: no task \"%s\"\n", ref);
        return EXIT_FAIL;
    }
    if (!strcmp(outcome, "refused")) {
        fprintf(stderr, "muster replay: %s is %s; %s\n", ref, state,
                !strcmp(state, "succeeded") ? "use --force to run it again"
                                            : "only dead tasks (or, with --force, finished ones) are replayed");
        return EXIT_FAIL;
    }
    printf("%s %s (was %s)\n", outcome, ref, state);
    return EXIT_OK;
}

/* muster replay through muster-api: one task, or a bulk replay of those the
 * API selects; the same lines as without it. */
static int replay_remote(const config *cfg, const char *id, const char *incident, const char *wf,
                         int all, int force, int dry) {
    char path[512], esc[384];
    long status;
    json_t *body = json_pack("{s:b, s:b}", "dry_run", dry, "force", force);
    if (id) {
        remote_escape(id, esc, sizeof(esc));
        snprintf(path, sizeof(path), "/api/v1/tasks/%s/replay", esc);
        json_t *doc = remote_call(cfg, "replay", "POST", path, body, &status);
        json_decref(body);
        if (!doc) return status == 400 ? EXIT_USAGE : EXIT_FAIL;
        printf("%s %s (was %s)\n", str(doc, "outcome"), id, str(doc, "state_before"));
        json_decref(doc);
        return EXIT_OK;
    }
    if (incident) json_object_set_new(body, "incident", json_string(incident));
    if (wf) json_object_set_new(body, "workflow", json_string(wf));
    if (all) json_object_set_new(body, "all", json_true());
    json_object_del(body, "force");
    json_t *doc = remote_call(cfg, "replay", "POST", "/api/v1/tasks/replay", body, &status);
    json_decref(body);
    if (!doc) return EXIT_FAIL;
    size_t i, total = json_array_size(json_object_get(doc, "results")), failed = 0;
    json_t *r;
    json_array_foreach(json_object_get(doc, "results"), i, r) {
        const char *outcome = str(r, "outcome");
        if (!strcmp(outcome, "replayed") || !strcmp(outcome, "would replay"))
            printf("%s %s (was %s)\n", outcome, str(r, "task"), str(r, "state_before"));
        else {
            fprintf(stderr, "muster replay: %s: %s\n", str(r, "task"), outcome);
            failed++;
        }
    }
    if (total == 0)
        printf("no dead tasks matched\n");
    else
        printf("%s %zu of %zu dead task(s); %zu could not be\n", dry ? "would replay" : "replayed",
               total - failed, total, failed);
    json_decref(doc);
    return failed ? EXIT_FAIL : EXIT_OK;
}

int cmd_replay(config *cfg, int argc, char **argv) {
    const char *incident = cli_option(argc, argv, "--incident");
    const char *wf = cli_option(argc, argv, "--workflow");
    const char *by = cli_option(argc, argv, "--by");
    int all = cli_flag(argc, argv, "--all"), force = cli_flag(argc, argv, "--force");
    int dry = cli_flag(argc, argv, "--dry-run");
    const char *id = argc >= 2 && argv[1][0] != '-' ? argv[1] : NULL;
    int chosen = (id != NULL) + (incident != NULL) + (wf != NULL) + all;
    if (cli_flag(argc, argv, "--help") || chosen != 1) {
        printf("Usage: muster replay INCIDENT/STEP | --incident ID | --workflow NAME | --all\n"
               "                     [--dry-run] [--force] [--by NAME]\n\n"
               "Queues dead tasks again with fresh attempts; steps that were skipped because\n"
               "of them wait again, so a replay that succeeds carries the run on. A step that\n"
               "succeeded is replayed only by its id and with --force. --dry-run prints what\n"
               "would be replayed. The idempotency key stays the same, so a ticket that was\n"
               "opened is found, not opened twice. With --incident, --workflow or --all it\n"
               "shows done/total on stderr when that is a terminal, then a summary.\n\n"
               "Options:\n  --incident ID    the dead tasks of one incident\n"
               "  --workflow NAME  the dead tasks of one workflow's incidents\n"
               "  --all            every dead task\n"
               "  --dry-run        print what would be replayed; change nothing\n"
               "  --force          (with INCIDENT/STEP) replay a step that finished, even one that succeeded\n"
               "  --by NAME        who replays (default $USER), kept in the timeline\n");
        return cli_flag(argc, argv, "--help") ? EXIT_OK : EXIT_USAGE;
    }
    char who[128];
    if (!by) {
        const char *user = getenv("USER");
        snprintf(who, sizeof(who), "%s", user ? user : "operator");
        by = who;
    }
    if (remote_on(cfg)) return replay_remote(cfg, id, incident, wf, all, force, dry);
    store *s = cli_store(cfg);
    if (!s) return EXIT_FAIL;
    operator_ctx o = {.by = by, .via = "cli", .audit_max = cfg->audit_max_entries};
    int rc = EXIT_OK;
    if (id) {
        rc = replay_one(s, &o, id, force, dry);
    } else {
        int more = 0;
        json_t *dead = operator_replay_select(s, incident, wf, DEAD_MAX, &more);
        size_t i, total = 0, done = 0, failed = 0;
        json_t *d;
        int tty = isatty(STDERR_FILENO);
        if (!dead) {
            fprintf(stderr, "muster replay: redis not reachable\n");
            store_close(s);
            return EXIT_FAIL;
        }
        if (more)
            fprintf(stderr, "muster replay: more than %d dead tasks match; the newest %d are replayed\n",
                    DEAD_MAX, DEAD_MAX);
        total = json_array_size(dead);
        json_array_foreach(dead, i, d) {
            int r = replay_one(s, &o, str(d, "task"), 0, dry);
            if (r != EXIT_OK) rc = r, failed++;
            if (tty) fprintf(stderr, "\r%zu/%zu dead task(s) %s", ++done, total, dry ? "looked at" : "replayed");
        }
        if (tty && total) fprintf(stderr, "\n");
        if (total == 0)
            printf("no dead tasks matched\n");
        else
            printf("%s %zu of %zu dead task(s); %zu could not be\n", dry ? "would replay" : "replayed",
                   total - failed, total, failed);
        json_decref(dead);
    }
    store_close(s);
    return rc;
}
