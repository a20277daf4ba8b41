/* audit.c - muster audit: what operators did, from the audit stream */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/remote.h"
#include "cli/table.h"
#include "state/audit.h"
#include "common/util.h"

#define AUDIT_SHOWN_MAX 1000

static const char *str(const json_t *o, const char *k) {
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

/* A time back from now (30m, 12h, 7d) or RFC 3339, as ms; -1 when neither. */
static int64_t since_ms(const char *text) {
    int64_t d;
    size_t n = strlen(text);
    if (n > 1 && text[n - 1] == 'd' && strspn(text, "0123456789") == n - 1)
        return now_ms() - atoll(text) * 86400000LL;
    if (duration_parse(text, &d) == 0) return now_ms() - d;
    return -1;
}

int cmd_audit(config *cfg, int argc, char **argv) {
    const char *since = cli_option(argc, argv, "--since"), *limit_text = cli_option(argc, argv, "--limit");
    char err[512];
    if (cli_flag(argc, argv, "--help")) {
        printf("Usage: muster audit [--since 24h] [--limit N] [--json]\n\n"
               "What operators did, newest first: acknowledgements, resolves, notes and\n"
               "replays, by whom, through what (cli, api) and from where. Each is also an\n"
               "operator.action event on the events topic; Redis keeps the newest\n"
               "audit.max_entries. Through muster-api it takes an admin token.\n\n"
               "Options:\n  --since D  only the last D (90m, 24h, 7d)\n"
               "  --limit N  at most N entries (default 100, at most 1000)\n"
               "  --json     print JSON instead of text\n");
        return EXIT_OK;
    }
    long limit = limit_text ? atol(limit_text) : 100;
    if (limit < 1 || limit > AUDIT_SHOWN_MAX) {
        fprintf(stderr, "muster audit: --limit wants 1 to %d\n", AUDIT_SHOWN_MAX);
        return EXIT_USAGE;
    }
    int64_t from = 0;
    if (since && (from = since_ms(since)) < 0) {
        fprintf(stderr, "muster audit: --since wants a duration (90m, 24h, 7d), got '%s'\n", since);
        return EXIT_USAGE;
    }
    json_t *list;
    if (remote_on(cfg)) {
        char path[128];
        long status;
        snprintf(path, sizeof(path), "/api/v1/audit?limit=%ld&since=%lld", limit,
                 (long long)(from > 0 ? from : 1000000000000LL));
        json_t *doc = remote_call(cfg, "audit", "GET", path, NULL, &status);
        if (!doc) return EXIT_FAIL;
        list = json_incref(json_object_get(doc, "entries"));
        json_decref(doc);
        if (!list) list = json_array();
    } else {
        store *s = cli_store(cfg);
        if (!s) return EXIT_FAIL;
        list = audit_list(s, from, (size_t)limit, err, sizeof(err));
        store_close(s);
        if (!list) {
            fprintf(stderr, "muster audit: %s\n", err);
            return EXIT_FAIL;
        }
    }
    if (cli_flag(argc, argv, "--json")) {
        char *text = json_dumps(list, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (text) printf("%s\n", text);
        free(text);
    } else {
        const char *head[] = {"TIME", "BY", "VIA", "ACTION", "INCIDENT OR TASK", "OUTCOME", "FROM"};
        table *t = table_new(7, head);
        size_t i;
        json_t *e;
        json_array_foreach(list, i, e) {
            const char *what = *str(e, "task") ? str(e, "task") : str(e, "incident");
            const char *row[] = {str(e, "time"), str(e, "by"), str(e, "via"), str(e, "action"),
                                 what, str(e, "outcome"), str(e, "remote")};
            if (t) table_add(t, row);
        }
        if (t) table_print(t, stdout);
        table_free(t);
    }
    json_decref(list);
    return EXIT_OK;
}
