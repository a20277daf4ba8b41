/* main.c - muster-api: the operators' API, live updates and the console */
#include <stdio.h>
#include <unistd.h>

#include "api/api.h"
#include "common/daemon.h"
#include "common/log.h"

static const char usage[] =
    "Usage: muster-api [-c FILE] [-s KEY=VALUE]...\n\n"
    "Serves the operators' JSON API under /api/v1/ (incidents, acknowledge, resolve,\n"
    "notes, dead tasks and replay, status, on-call, KPIs, the audit log, live events),\n"
    "the browser console at /, and /healthz, /readyz and /metrics, on api.address:api.port.\n"
    "Every /api/v1/ request needs a bearer token of api.tokens_file with the scope its\n"
    "route names (docs/api.md); 'muster token create' makes one.\n";

int main(int argc, char **argv) {
    config cfg;
    char err[1024];
    int rc = daemon_init(argc, argv, "muster-api", usage, CFG_API, &cfg);
    if (rc) return rc < 0 ? 0 : rc;
    api *a = api_start(&cfg, err, sizeof(err));
    if (!a) {
        mlog(LOG_ERROR, NULL, "%s", err);
        config_free(&cfg);
        return 2;
    }
    mlog(LOG_INFO, NULL, "api on http://%s:%d (/api/v1/, /healthz /readyz /metrics, console at /)",
         cfg.api_address, api_port(a));
    while (!daemon_stop) pause();
    mlog(LOG_INFO, NULL, "stopping");
    api_stop(a);
    config_free(&cfg);
    return 0;
}
