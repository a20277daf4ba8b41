/* action_run.c - runs one action outside the queue, the way a worker does */
#include "action_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state/store.h"
#include "vendor_mock.h"

int action_env_init(action_env *e, int redis_port) {
    char err[512], port[16];
    store *s = NULL;
    memset(e, 0, sizeof(*e));
    config_defaults(&e->cfg);
    config_set(&e->cfg, "secrets.dirs", "", err, sizeof(err));
    if (redis_port > 0) {
        snprintf(port, sizeof(port), "%d", redis_port);
        config_set(&e->cfg, "redis.port", port, err, sizeof(err));
        if (!(s = store_open(&e->cfg, err, sizeof(err)))) {
            fprintf(stderr, "action_env_init: %s\n", err);
            return -1;
        }
    }
    e->w = worker_new_local(&e->cfg, s);
    return e->w ? 0 : -1;
}

void action_env_free(action_env *e) {
    worker_free(e->w);
    config_free(&e->cfg);
}

task *action_task(const char *incident, const char *step, const char *action, json_t *with,
                  bool allow_private) {
    task *t = calloc(1, sizeof(*t));
    if (!incident) incident = ACTION_TEST_INCIDENT;
    snprintf(t->li.incident, sizeof(t->li.incident), "%s", incident);
    snprintf(t->li.step, sizeof(t->li.step), "%s", step);
    snprintf(t->li.msgid, sizeof(t->li.msgid), "0-1");
    t->run.def = json_pack("{s:s, s:s, s:s, s:I, s:o}", "id", step, "action", action, "pool",
                           "default", "timeout_ms", (json_int_t)0, "with", with);
    if (allow_private) json_object_set_new(t->run.def, "allow_private", json_true());
    t->run.ctx = json_pack(
        "{s:{s:s, s:s, s:s, s:{s:s, s:s, s:s}, s:{s:s}}, s:{s:s, s:s}, s:{s:s}, s:{}, s:{s:s}}",
        "alert", "name", "HighErrorRate", "summary", "checkout 5xx above 5%", "status", "firing",
        "labels", "service", "checkout", "severity", "critical", "instance", "web-1:8080",
        "annotations", "runbook", "https://runbooks.example.com/checkout",
        "incident", "id", incident, "workflow", "service-down",
        "workflow", "name", "service-down",
        "steps",
        "step", "id", step);
    t->run.attempt = 1;
    return t;
}

int action_run(action_env *e, task *t) { return worker_run_one(e->w, t, 15000); }

int action_memo_wipe(action_env *e, const char *incident) {
    if (!e->w->store) return -1;
    redisReply *r = store_command(e->w->store, "DEL %s:{%s}:memo", store_prefix(e->w->store), incident);
    int rc = r && r->type == REDIS_REPLY_INTEGER ? 0 : -1;
    if (r) freeReplyObject(r);
    return rc;
}

json_t *action_output(const task *t, const char *path) { return json_dotted(t->res.output, path); }
