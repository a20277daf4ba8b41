/* main.c - muster: the operator's command */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "state/incident.h"
#include "common/log.h"

static const struct {
    const char *name;
    cli_command_fn fn;
    const char *help;
} commands[] = {
    {"up", cmd_up, "run the whole pipeline on this machine (embedded Kafka, Redis child)"},
    {"status", cmd_status, "queue depths, tasks in flight, workers, incidents"},
    {"incident", cmd_incident, "incident list | incident show ID: incidents and timelines"},
    {"wait", cmd_wait, "wait until N incidents have finished their workflow runs"},
    {"ack", cmd_ack, "ack INCIDENT [--by NAME]: a person owns the incident now"},
    {"resolve", cmd_resolve, "resolve INCIDENT [--by NAME]: resolve the open incident now"},
    {"note", cmd_note, "note INCIDENT TEXT: add a note to the incident's timeline"},
    {"done", cmd_done, "done INCIDENT STEP: mark a manual step done"},
    {"dead", cmd_dead, "dead list | dead show INCIDENT/STEP: tasks that gave up"},
    {"replay", cmd_replay, "run dead tasks again (ID, --incident, --workflow, --all; --dry-run)"},
    {"send-alert", cmd_send_alert, "send alert files (JSON) to the alerts topic"},
    {"oncall", cmd_oncall, "who is on call, a schedule's rota, and overrides"},
    {"validate", cmd_validate, "check workflow files; every problem with file:line:column"},
    {"audit", cmd_audit, "what operators did: acknowledge, resolve, note, replay (--since, --json)"},
    {"token", cmd_token, "token create --name NAME --scope ...: a token for muster-api"},
    {"gc", cmd_gc, "expire finished incidents past retention now (--dry-run: only show)"},
    {"report", cmd_report, "the four yardsticks: MTTA, MTTR, automated actions, manual tasks"},
    {"config", cmd_config, "print the settings table (--markdown for docs, --conf as a file)"},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out) {
    fprintf(out, "Usage: muster [-c FILE] [-s KEY=VALUE]... COMMAND [ARGS]\n\n"
                 "The operator's command: runs the pipeline on this machine, sends alerts,\n"
                 "follows incidents, acknowledges them and replays what gave up.\n\nCommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++) fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].help);
    fprintf(out, "\nOptions:\n  -c, --config FILE    settings file (key = value lines); also MUSTER_CONFIG\n"
                 "  -s, --set KEY=VALUE  one setting; wins over the file and MUSTER_* variables\n"
                 "  -h, --help           this help; 'muster COMMAND --help' tells of one command\n"
                 "  -V, --version        the version\n\n"
                 "Exit codes: 0 success, 1 failure, 2 usage or configuration error, 3 timeout.\n"
                 "Settings: 'muster config' lists them with their environment variables.\n");
}

int main(int argc, char **argv) {
    config cfg;
    char err[1024];
    const char *path = NULL;
    int i = 1, rc;

    log_set_program("muster");
    log_set_level("warn");
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return EXIT_OK;
        }
        if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
            printf("muster %s\n", MUSTER_VERSION);
            return EXIT_OK;
        }
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc) {
            path = argv[++i];
        } else if ((!strcmp(argv[i], "-s") || !strcmp(argv[i], "--set")) && i + 1 < argc) {
            i++;
        } else {
            fprintf(stderr, "muster: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (config_init(&cfg, path, err, sizeof(err)) < 0) {
        fprintf(stderr, "muster: %s\n", err);
        return EXIT_USAGE;
    }
    for (int j = 1; j < i; j++) {
        if (strcmp(argv[j], "-s") && strcmp(argv[j], "--set")) continue;
        char *kv = argv[++j], *eq = strchr(kv, '=');
        if (!eq) {
            fprintf(stderr, "muster: --set wants KEY=VALUE, got '%s'\n", kv);
            config_free(&cfg);
            return EXIT_USAGE;
        }
        *eq = '\0';
        if (config_set(&cfg, kv, eq + 1, err, sizeof(err)) < 0) {
            fprintf(stderr, "muster: --set: %s\n", err);
            config_free(&cfg);
            return EXIT_USAGE;
        }
        *eq = '=';
    }
    for (size_t c = 0; c < NCOMMANDS; c++) {
        if (strcmp(commands[c].name, argv[i]) == 0) {
            rc = commands[c].fn(&cfg, argc - i, argv + i);
            config_free(&cfg);
            return rc;
        }
    }
    fprintf(stderr, "muster: unknown command '%s'\n", argv[i]);
    usage(stderr);
    config_free(&cfg);
    return EXIT_USAGE;
}

store *cli_store(const config *cfg) {
    char err[512];
    store *s = store_open(cfg, err, sizeof(err));
    if (!s) fprintf(stderr, "muster: %s\n", err);
    return s;
}

int cli_flag(int argc, char **argv, const char *flag) {
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], flag) == 0) return 1;
    return 0;
}

const char *cli_incident(store *s, const char *ref, char *buf, size_t len) {
    if (strcmp(ref, "latest") != 0) return ref;
    json_t *list = incident_list(s, 1);
    const char *id = json_string_value(json_object_get(json_array_get(list, 0), "id"));
    if (id) snprintf(buf, len, "%s", id);
    else fprintf(stderr, "muster: no incident yet, so none is \"latest\"\n");
    json_decref(list);
    return id ? buf : NULL;
}

const char *cli_option(int argc, char **argv, const char *flag) {
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], flag) == 0) return argv[i + 1];
    return NULL;
}
