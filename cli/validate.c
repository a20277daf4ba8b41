/* validate.c - muster validate and muster config: check what operators write */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/workflow.h"

int cmd_validate(config *cfg, int argc, char **argv) {
    int rc = EXIT_OK;
    if (cli_flag(argc, argv, "--help")) {
        printf("Usage: muster validate [DIR|FILE]...\n\n"
               "Loads workflow files as the dispatcher would and prints every problem as\n"
               "file:line:column: message. Without arguments checks workflows.dir.\n"
               "Exit 0 when all are valid, 1 otherwise.\n");
        return EXIT_OK;
    }
    const char *def[] = {"validate", cfg->workflows_dir};
    if (argc < 2) {
        argc = 2;
        argv = (char **)def;
    }
    for (int i = 1; i < argc; i++) {
        wf_diag d = {0};
        workflow_set *set = workflow_load(argv[i], &d);
        for (size_t j = 0; j < d.n; j++) fprintf(stderr, "%s\n", d.msgs[j]);
        if (set) {
            for (size_t j = 0; j < set->n; j++)
                printf("ok %s: workflow %s, %zu step(s)\n", set->items[j]->path,
                       set->items[j]->name, set->items[j]->nsteps);
        } else {
            rc = EXIT_FAIL;
        }
        workflow_set_free(set);
        wf_diag_free(&d);
    }
    return rc;
}

int cmd_config(config *cfg, int argc, char **argv) {
    (void)cfg;
    if (cli_flag(argc, argv, "--markdown"))
        config_print_markdown(stdout);
    else
        config_print_help(stdout, CFG_ALL);
    return EXIT_OK;
}
