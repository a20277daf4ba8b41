/* gc.c - muster gc: what retention expires now, shown (--dry-run) or done */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/table.h"
#include "state/retention.h"
#include "common/util.h"

/* Incidents a dry run lists one by one (the counts cover all of them). */
#define GC_LIST_DEFAULT 50

static void usage(FILE *out) {
    fprintf(out,
            "Usage: muster gc [--dry-run] [--json] [--limit N]\n\n"
            "Expires what retention says may go now: finished incidents (resolved, their\n"
            "runs ended) older than retention.incidents, or retention.dead after a task of\n"
            "theirs died, with all their keys and index entries. The workers do this on\n"
            "their own every retention.interval; this command does it now. One expiry\n"
            "runs at a time: when a worker is expiring, this command says so and stops.\n"
            "Progress goes to stderr on a terminal.\n\n"
            "Options:\n  --dry-run  change nothing: list what would go, and what a dead task keeps\n"
            "  --json     one JSON object on stdout\n"
            "  --limit N  with --dry-run, list at most N incidents (default %d)\n",
            GC_LIST_DEFAULT);
}

static void progress(int tty, const char *verb, long long n, long long bytes) {
    char a[32], b[32];
    if (!tty) return;
    table_thousands(n, a, sizeof(a));
    table_thousands(bytes, b, sizeof(b));
    fprintf(stderr, "\r%s %s incident(s), %s bytes", verb, a, b);
}

static int dry_run(store *s, const retention_policy *p, int as_json, size_t limit, int tty) {
    char err[512];
    long long from = 0, expire = 0, keep = 0, bytes = 0;
    json_t *listed = json_array();
    while (from >= 0) {
        json_t *page = retention_preview(s, p, &from, err, sizeof(err));
        if (!page) {
            if (tty) fprintf(stderr, "\n");
            fprintf(stderr, "muster gc: %s\n", err);
            json_decref(listed);
            return EXIT_FAIL;
        }
        size_t i;
        json_t *it;
        json_array_foreach(page, i, it) {
            int go = !strcmp(json_string_value(json_object_get(it, "action")), "expire");
            if (go) {
                expire++;
                bytes += (long long)json_integer_value(json_object_get(it, "bytes"));
            } else {
                keep++;
            }
            if (json_array_size(listed) < limit) json_array_append(listed, it);
        }
        json_decref(page);
        progress(tty, "looked at", expire + keep, bytes);
    }
    if (tty) fprintf(stderr, "\n");
    if (as_json) {
        json_t *o = json_pack("{s:b, s:I, s:I, s:I, s:o}", "dry_run", 1, "would_expire",
                              (json_int_t)expire, "bytes", (json_int_t)bytes, "kept_for_dead",
                              (json_int_t)keep, "incidents", listed);
        char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (text) printf("%s\n", text);
        free(text);
        json_decref(o);
        return EXIT_OK;
    }
    const char *head[] = {"INCIDENT", "FINISHED", "WOULD", "BYTES"};
    table *t = table_new(4, head);
    size_t i;
    json_t *it;
    json_array_foreach(listed, i, it) {
        char fin[40], what[80], b[32];
        format_rfc3339((int64_t)json_integer_value(json_object_get(it, "finished_at")), fin,
                       sizeof(fin));
        if (!strcmp(json_string_value(json_object_get(it, "action")), "expire")) {
            snprintf(what, sizeof(what), "expire");
        } else {
            char until[40];
            format_rfc3339((int64_t)json_integer_value(json_object_get(it, "until")), until,
                           sizeof(until));
            snprintf(what, sizeof(what), "keep until %s (dead task)", until);
        }
        table_thousands((long long)json_integer_value(json_object_get(it, "bytes")), b, sizeof(b));
        const char *row[] = {json_string_value(json_object_get(it, "id")), fin, what, b};
        if (t) table_add(t, row);
    }
    if (t && json_array_size(listed)) table_print(t, stdout);
    table_free(t);
    char n[32], b[32];
    table_thousands(expire, n, sizeof(n));
    table_thousands(bytes, b, sizeof(b));
    printf("%sdry run: %s incident(s) would expire (about %s bytes); %lld kept for a dead task%s\n",
           json_array_size(listed) ? "\n" : "", n, b, keep,
           (size_t)(expire + keep) > json_array_size(listed) ? " (not all listed: --limit)" : "");
    json_decref(listed);
    return EXIT_OK;
}

static int run(store *s, const retention_policy *p, int as_json, int tty) {
    char err[512], holder[128], host[64] = "cli";
    long long expired = 0, bytes = 0, held = 0;
    retention_slice sl;
    gethostname(host, sizeof(host) - 1);
    snprintf(holder, sizeof(holder), "muster-gc-%s-%d", host, (int)getpid());
    do {
        if (retention_run(s, p, holder, &sl, err, sizeof(err)) < 0) {
            if (tty) fprintf(stderr, "\n");
            fprintf(stderr, "muster gc: %s\n", err);
            retention_release(s, holder);
            return EXIT_FAIL;
        }
        if (sl.busy) {
            if (tty && expired) fprintf(stderr, "\n");
            fprintf(stderr, "muster gc: %s is expiring incidents now; try again later\n",
                    sl.holder);
            return EXIT_FAIL;
        }
        expired += sl.expired;
        bytes += sl.bytes;
        held += sl.held;
        progress(tty, "expired", expired, bytes);
    } while (sl.more);
    retention_release(s, holder);
    if (tty) fprintf(stderr, "\n");
    if (as_json) {
        printf("{\"dry_run\": false, \"expired\": %lld, \"bytes\": %lld, \"kept_for_dead\": %lld}\n",
               expired, bytes, held);
    } else {
        char n[32], b[32];
        table_thousands(expired, n, sizeof(n));
        table_thousands(bytes, b, sizeof(b));
        printf("expired %s incident(s), about %s bytes freed; %lld newly kept for a dead task\n", n,
               b, held);
    }
    return EXIT_OK;
}

int cmd_gc(config *cfg, int argc, char **argv) {
    if (cli_flag(argc, argv, "--help")) {
        usage(stdout);
        return EXIT_OK;
    }
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--limit")) {
            i++;
        } else if (strcmp(argv[i], "--dry-run") && strcmp(argv[i], "--json")) {
            fprintf(stderr, "muster gc: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    const char *limit = cli_option(argc, argv, "--limit");
    if (limit && atoi(limit) < 0) {
        fprintf(stderr, "muster gc: --limit wants a number\n");
        return EXIT_USAGE;
    }
    store *s = cli_store(cfg);
    if (!s) return EXIT_FAIL;
    retention_policy p = retention_policy_of(cfg);
    int tty = isatty(STDERR_FILENO), as_json = cli_flag(argc, argv, "--json");
    int rc = cli_flag(argc, argv, "--dry-run")
                 ? dry_run(s, &p, as_json, limit ? (size_t)atoi(limit) : GC_LIST_DEFAULT, tty)
                 : run(s, &p, as_json, tty);
    store_close(s);
    return rc;
}
