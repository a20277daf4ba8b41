/* main.c - muster-worker: runs step tasks leased from Redis */
#include <curl/curl.h>
#include <stdio.h>

#include "common/daemon.h"
#include "common/log.h"
#include "worker/worker.h"

static const char usage[] =
    "Usage: muster-worker [OPTIONS]\n"
    "\n"
    "Leases step tasks from Redis, runs their actions (webhook, exec), completes\n"
    "them, releases the steps that depended on them, and relays lifecycle events\n"
    "from the Redis outbox to Kafka. Run as many as the queues need.\n";

int main(int argc, char **argv) {
    config cfg;
    char err[1024];
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
