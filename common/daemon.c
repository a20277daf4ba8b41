/* daemon.c - what both daemons do at start: options, config, signals */
#include "common/daemon.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

volatile sig_atomic_t daemon_stop = 0;

static void on_signal(int sig) {
    (void)sig;
    daemon_stop = 1;
}

int daemon_init(int argc, char **argv, const char *program, const char *usage,
                unsigned programs, config *cfg) {
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"set", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},         {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL;
    char err[1024];
    char **sets = calloc((size_t)argc + 1, sizeof(char *));
    size_t nsets = 0;
    int c, rc = 0;

    if (!sets) return 1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:s:hV", opts, NULL)) != -1) {
        switch (c) {
        case 'c': path = optarg; break;
        case 's': sets[nsets++] = optarg; break;
        case 'h':
            printf("%s", usage);
            printf("\nOptions:\n  -c, --config FILE   read settings from FILE (key = value lines)\n"
                   "  -s, --set KEY=VALUE set one setting (wins over file and environment)\n"
                   "  -h, --help          show this help\n  -V, --version       show the version\n\n");
            config_print_help(stdout, programs);
            printf("\nExit codes: 0 stopped cleanly, 1 runtime failure, 2 usage or configuration error.\n");
            rc = -1;
            goto out;
        case 'V':
            printf("%s %s\n", program, MUSTER_VERSION);
            rc = -1;
            goto out;
        default:
            fprintf(stderr, "Try '%s --help'.\n", program);
            rc = 2;
            goto out;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\nTry '%s --help'.\n", program, argv[optind], program);
        rc = 2;
        goto out;
    }
    if (config_init(cfg, path, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s: %s\n", program, err);
        rc = 2;
        goto out;
    }
    for (size_t i = 0; i < nsets; i++) {
        char *eq = strchr(sets[i], '=');
        if (!eq) {
            fprintf(stderr, "%s: --set wants KEY=VALUE, got '%s'\n", program, sets[i]);
            rc = 2;
            goto out;
        }
        *eq = '\0';
        if (config_set(cfg, sets[i], eq + 1, err, sizeof(err)) < 0) {
            fprintf(stderr, "%s: --set: %s\n", program, err);
            rc = 2;
            goto out;
        }
    }
    if (log_set_level(cfg->log_level) < 0) {
        fprintf(stderr, "%s: log.level: unknown level \"%s\"\n", program, cfg->log_level);
        rc = 2;
        goto out;
    }
    log_set_program(program);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
out:
    free(sets);
    return rc;
}
