/* validate.c - muster validate and muster config: check what operators write */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "common/oncall.h"
#include "common/page_check.h"
#include "common/workflow.h"

/* Loads on-call files (people, schedules, policies) and prints the outcome
 * as workflows' is printed. Returns EXIT_OK or EXIT_FAIL. */
static oncall_set *checked_oncall; /* what page steps are checked against */

static int validate_oncall(const char *dir) {
    wf_diag d = {0};
    oncall_set *set = oncall_load(dir, &d);
    for (size_t j = 0; j < d.n; j++) fprintf(stderr, "%s\n", d.msgs[j]);
    if (set)
        printf("ok %s: on-call files, %zu person(s), %zu schedule(s), %zu policy(ies)\n", dir,
               set->npeople, set->nschedules, set->npolicies);
    oncall_set_free(checked_oncall);
    checked_oncall = set;
    wf_diag_free(&d);
    return set ? EXIT_OK : EXIT_FAIL;
}

int cmd_validate(config *cfg, int argc, char **argv) {
    int rc = EXIT_OK;
    if (cli_flag(argc, argv, "--help")) {
        printf("Usage: muster validate [DIR|FILE]... [--oncall DIR|FILE]\n\n"
               "Loads workflow files as the dispatcher would and prints every problem as\n"
               "file:line:column: message. Without arguments checks workflows.dir\n"
               "(MUSTER_WORKFLOWS_DIR, default \"workflows\"), and oncall.dir when it\n"
               "exists. Page steps are checked against oncall.dir, or when it is left at\n"
               "its default and does not exist, against an oncall/ folder beside the\n"
               "workflow folder named.\n"
               "Exit 0 when all are valid, 1 otherwise.\n\n"
               "Options:\n  DIR|FILE         a folder of *.yaml workflow files, or one file\n"
               "  --oncall DIR     on-call files: people, schedules, escalation policies\n");
        return EXIT_OK;
    }
    const char *def[] = {"validate", cfg->workflows_dir};
    const char *oncall = cli_option(argc, argv, "--oncall");
    struct stat st;
    if (oncall) {
        /* only the on-call files, unless workflow folders are named too */
        rc = validate_oncall(oncall);
        if (argc == 3) {
            oncall_set_free(checked_oncall);
            checked_oncall = NULL;
            return rc;
        }
    } else if (argc < 2 && stat(cfg->oncall_dir, &st) == 0) {
        rc = validate_oncall(cfg->oncall_dir);
    } else {
        /* not reported, only for the page steps to be checked against:
         * oncall.dir, else an oncall/ folder beside the first workflow
         * folder named (docs/examples/workflows: docs/examples/oncall) */
        char beside[PATH_MAX + 16] = "";
        if (stat(cfg->oncall_dir, &st) == 0) {
            snprintf(beside, sizeof(beside), "%s", cfg->oncall_dir);
        } else if (strcmp(cfg->oncall_dir, "oncall") == 0) {
            /* only when oncall.dir is left at its default: a folder named
             * on purpose that does not exist is reported as such */
            for (int i = 1; i < argc && !*beside; i++) {
                if (argv[i][0] == '-' || stat(argv[i], &st) < 0 || !S_ISDIR(st.st_mode)) continue;
                snprintf(beside, sizeof(beside), "%s/../oncall", argv[i]);
                if (stat(beside, &st) < 0 || !S_ISDIR(st.st_mode)) beside[0] = '\0';
            }
        }
        if (*beside) {
            wf_diag quiet = {0};
            checked_oncall = oncall_load(beside, &quiet);
            wf_diag_free(&quiet);
        }
    }
    if (argc < 2 && stat(cfg->workflows_dir, &st) < 0) {
        fprintf(stderr, "muster validate: no workflows to check: workflows.dir is \"%s\", which does not exist "
                        "here.\nName a folder or file (muster validate docs/examples/workflows), or set "
                        "MUSTER_WORKFLOWS_DIR.\n", cfg->workflows_dir);
        return EXIT_USAGE;
    }
    if (argc < 2) {
        argc = 2;
        argv = (char **)def;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--oncall") == 0) {
            i++;
            continue;
        }
        wf_diag d = {0};
        workflow_set *set = workflow_load(argv[i], &d);
        if (set) page_check(set, checked_oncall, &d);
        for (size_t j = 0; j < d.n; j++) fprintf(stderr, "%s\n", d.msgs[j]);
        if (set && d.n == 0) {
            for (size_t j = 0; j < set->n; j++)
                printf("ok %s: workflow %s, %zu step(s)\n", set->items[j]->path,
                       set->items[j]->name, set->items[j]->nsteps);
        } else {
            rc = EXIT_FAIL;
        }
        workflow_set_free(set);
        wf_diag_free(&d);
    }
    oncall_set_free(checked_oncall);
    checked_oncall = NULL;
    return rc;
}

int cmd_config(config *cfg, int argc, char **argv) {
    (void)cfg;
    if (cli_flag(argc, argv, "--help")) {
        printf("Usage: muster config [--markdown | --conf]\n\n"
               "Prints every setting: its config file key, its environment variable (which\n"
               "wins over the file), what it means and its default.\n\n"
               "Options:\n  --markdown  as the table in docs/configuration.md\n"
               "  --conf      as a settings file for -c, every setting commented out at its\n"
               "              default (the installed etc/muster/muster.conf)\n");
        return EXIT_OK;
    }
    if (cli_flag(argc, argv, "--markdown"))
        config_print_markdown(stdout);
    else if (cli_flag(argc, argv, "--conf"))
        config_print_file(stdout);
    else
        config_print_help(stdout, CFG_ALL);
    return EXIT_OK;
}
