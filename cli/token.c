/* token.c - muster token create: a token for muster-api, printed once, kept hashed */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/access.h"

static int usage(int rc) {
    printf("Usage: muster token create --name NAME --scope SCOPE[,SCOPE...] [--file FILE]\n"
           "       muster token list [--file FILE]\n\n"
           "'create' makes a token for muster-api, prints it once on stdout, and appends\n"
           "its line (NAME sha256:HEX SCOPES: the token itself is not kept) to FILE,\n"
           "by default api.tokens_file; with --file - the line goes to stderr instead,\n"
           "for a Secret made elsewhere. NAME is who holds it, the 'by' of what it does.\n"
           "muster-api reads the file at start: restart it (or roll its pods) to use it.\n"
           "'list' names the holders and scopes of FILE's tokens.\n\n"
           "Scopes: incidents:read, incidents:ack, incidents:write, tasks:replay, admin\n"
           "(admin may do everything, and read the audit log).\n\n"
           "Options:\n  --name NAME         who holds the token (A-Z a-z 0-9 . _ @ + -)\n"
           "  --scope SCOPE,...   what it may do\n"
           "  --file FILE         the tokens file (default api.tokens_file; - for stderr)\n");
    return rc;
}

static int create(const config *cfg, int argc, char **argv) {
    const char *name = cli_option(argc, argv, "--name"), *scope = cli_option(argc, argv, "--scope");
    const char *file = cli_option(argc, argv, "--file");
    char tok[128], line[256], err[512];
    unsigned scopes;
    access_tokens existing = {0};

    if (!file) file = cfg->api_tokens_file;
    if (!name || !scope) return usage(EXIT_USAGE);
    if (!*file) {
        fprintf(stderr, "muster token create: where to? set api.tokens_file "
                        "(MUSTER_API_TOKENS_FILE) or pass --file FILE (or --file -)\n");
        return EXIT_USAGE;
    }
    if (access_scopes_parse(scope, strlen(scope), &scopes, err, sizeof(err)) < 0) {
        fprintf(stderr, "muster token create: --scope: %s\n", err);
        return EXIT_USAGE;
    }
    if (access_token_new(name, scopes, tok, sizeof(tok), line, sizeof(line), err, sizeof(err)) < 0) {
        fprintf(stderr, "muster token create: %s\n", err);
        return EXIT_USAGE;
    }
    if (strcmp(file, "-") != 0) {
        /* The file as it is must load, and take the new line. */
        if (access(file, F_OK) == 0 && access_load(&existing, file, err, sizeof(err)) < 0) {
            fprintf(stderr, "muster token create: %s\n", err);
            return EXIT_FAIL;
        }
        int rc = access_parse(&existing, line, strlen(line), "the new token", err, sizeof(err));
        access_free(&existing);
        if (rc < 0) {
            fprintf(stderr, "muster token create: %s: %s\n", file, err);
            return EXIT_FAIL;
        }
        int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, line, strlen(line)) != (ssize_t)strlen(line)) {
            fprintf(stderr, "muster token create: %s: %s\n", file, strerror(errno));
            if (fd >= 0) close(fd);
            return EXIT_FAIL;
        }
        close(fd);
        fprintf(stderr, "muster token create: added %s to %s; restart muster-api to use it\n",
                name, file);
    } else {
        fprintf(stderr, "%s", line);
    }
    printf("%s\n", tok);
    explicit_bzero(tok, sizeof(tok));
    return EXIT_OK;
}

static int list(const config *cfg, int argc, char **argv) {
    const char *file = cli_option(argc, argv, "--file");
    char err[512], scopes[128];
    access_tokens t = {0};
    if (!file) file = cfg->api_tokens_file;
    if (!*file || access_load(&t, file, err, sizeof(err)) < 0) {
        fprintf(stderr, "muster token list: %s\n", *file ? err : "no api.tokens_file (or --file)");
        return EXIT_FAIL;
    }
    for (size_t i = 0; i < t.n; i++) {
        access_scopes_format(t.v[i].scopes, scopes, sizeof(scopes));
        printf("%-24s %s\n", t.v[i].name, scopes);
    }
    access_free(&t);
    return EXIT_OK;
}

int cmd_token(config *cfg, int argc, char **argv) {
    if (argc < 2 || cli_flag(argc, argv, "--help")) return usage(argc < 2 ? EXIT_USAGE : EXIT_OK);
    if (!strcmp(argv[1], "create")) return create(cfg, argc - 1, argv + 1);
    if (!strcmp(argv[1], "list")) return list(cfg, argc - 1, argv + 1);
    fprintf(stderr, "muster token: unknown subcommand '%s'\n", argv[1]);
    return EXIT_USAGE;
}
