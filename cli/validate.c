/* validate.c - muster validate and muster config: check what operators write */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "common/workflow.h"

int cmd_validate(config *cfg, int argc, char **argv) {
    int rc = EXIT_OK;
    if (cli_flag(argc, argv, "--help")) {
        printf("Usage: muster validate [DIR|FILE]...\n\n"
               "Loads workflow files as the dispatcher would and prints every problem as\n"
               "file:line:column: message. Without arguments checks workflows.dir\n"
               "(MUSTER_WORKFLOWS_DIR, default \"workflows\"). Exit 0 when all are valid,\n"
               "1 otherwise.\n\n"
               "Options:\n  DIR|FILE  a folder of *.yaml workflow files, or one file\n");
        return EXIT_OK;
    }
    const char *def[] = {"validate", cfg->workflows_dir};
    struct stat st;
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
