/* main.c - muster-worker: runs step tasks leased from Redis */
#include <curl/curl.h>
#include <stdio.h>

#include "common/action_spec.h"
#include "common/daemon.h"
#include "common/log.h"
#include "worker/worker.h"

static const char usage_head[] =
    "Usage: muster-worker [OPTIONS]\n"
    "\n"
    "Leases step tasks from Redis, runs their actions, completes them, releases\n"
    "the steps that depended on them, and relays lifecycle events from the Redis\n"
    "outbox to Kafka. Run as many as the queues need.\n"
    "\n"
    "Actions (docs/actions.md):\n";

/* The usage text with one line per action of the registry. */
static void build_usage(char *out, size_t len) {
    size_t n = (size_t)snprintf(out, len, "%s", usage_head);
    for (const action_spec *a = action_specs(); a->name && n < len; a++)
        n += (size_t)snprintf(out + n, len - n, "  %-11s %s\n", a->name, a->summary ? a->summary : "");
}

int main(int argc, char **argv) {
    config cfg;
    char err[1024];
    static char usage[8192];
    build_usage(usage, sizeof(usage));
    int rc = daemon_init(argc, argv, "muster-worker", usage, CFG_WORKER, &cfg);
    if (rc != 0) return rc < 0 ? 0 : rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    worker *w = worker_new(&cfg, &daemon_stop, err, sizeof(err));
    if (!w) {
        fprintf(stderr, "muster-worker: %s\n", err);
        config_free(&cfg);
        return 2;
    }
    rc = worker_run(w);
    worker_free(w);
    curl_global_cleanup();
    config_free(&cfg);
    return rc;
}
