/* main.c - muster-dispatcher: turns alerts on Kafka into incidents and tasks */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/daemon.h"
#include "common/log.h"
#include "common/oncall.h"
#include "common/page_check.h"
#include "dispatcher/intake.h"
#include "dispatcher/webhook.h"

static const char usage[] =
    "Usage: muster-dispatcher [OPTIONS]\n"
    "\n"
    "Consumes alerts from Kafka, matches them to workflows, records incidents and\n"
    "queues their first steps in Redis. The Kafka offset is stored only after\n"
    "Redis holds the work. Undecodable alerts go to the dead-letter topic (truncated\n"
    "when too large for it; to the Redis stream intake:dlq when Kafka refuses).\n"
    "Alerts the broker deleted unread are counted and reported (intake.gap).\n"
    "With intake.port set it also takes alerts over HTTP (POST /api/v1/alerts,\n"
    "bearer token) and puts them on the alerts topic (docs/intake.md).\n";

int main(int argc, char **argv) {
    config cfg;
    wf_diag diag = {0};
    intake in = {0};
    int rc = daemon_init(argc, argv, "muster-dispatcher", usage, CFG_DISPATCHER, &cfg);
    if (rc != 0) return rc < 0 ? 0 : rc;

    observe obs;
    char err[512];
    in.cfg = &cfg;
    in.stop = &daemon_stop;
    if (observe_start(&obs, &cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "muster-dispatcher: %s\n", err);
        config_free(&cfg);
        return 2;
    }
    in.obs = &obs;
    atomic_store(&obs.workflows, 0);
    in.workflows = workflow_load(cfg.workflows_dir, &diag);
    if (!in.workflows) {
        for (size_t i = 0; i < diag.n; i++) fprintf(stderr, "%s\n", diag.msgs[i]);
        fprintf(stderr, "muster-dispatcher: workflows in %s are not valid; not starting\n",
                cfg.workflows_dir);
        wf_diag_free(&diag);
        observe_stop(&obs);
        config_free(&cfg);
        return 2;
    }
    /* On-call files, when there are any: checked like workflows, with the
     * page steps and oncall.* templates that name what they hold. */
    struct stat st;
    oncall_set *oncall = NULL;
    if (stat(cfg.oncall_dir, &st) == 0) oncall = oncall_load_merged(cfg.oncall_dir, &diag, &in.oncall);
    if (diag.n == 0) page_check(in.workflows, oncall, &diag);
    oncall_set_free(oncall);
    if (diag.n > 0) {
        for (size_t i = 0; i < diag.n; i++) fprintf(stderr, "%s\n", diag.msgs[i]);
        fprintf(stderr, "muster-dispatcher: on-call files in %s or page steps are not valid; "
                        "not starting\n", cfg.oncall_dir);
        wf_diag_free(&diag);
        json_decref(in.oncall);
        observe_stop(&obs);
        workflow_set_free(in.workflows);
        config_free(&cfg);
        return 2;
    }
    atomic_store(&obs.workflows, 1);
    webhook_intake *wh = NULL;
    if (cfg.intake_port != -1) {
        if (!(wh = webhook_intake_start(&cfg, err, sizeof(err)))) {
            fprintf(stderr, "muster-dispatcher: %s\n", err);
            observe_stop(&obs);
            workflow_set_free(in.workflows);
            config_free(&cfg);
            return 2;
        }
        int v6 = strchr(cfg.intake_address, ':') && cfg.intake_address[0] != '[';
        mlog(LOG_INFO, NULL, "webhook intake on http://%s%s%s:%d%s", v6 ? "[" : "",
             cfg.intake_address, v6 ? "]" : "", webhook_intake_port(wh), WEBHOOK_PATH);
    }
    rc = intake_run(&in);
    /* Before the consumer closes: requests queued for Kafka still get answers. */
    webhook_intake_stop(wh);
    if (in.consumer) {
        /* Commit what Redis already holds, then leave the group; with every
         * broker down both would wait on Kafka, so the group is left to
         * notice by itself (the offsets are stored, not lost). */
        if (atomic_load(&kafka_up)) {
            rd_kafka_commit(in.consumer, NULL, 0);
            rd_kafka_consumer_close(in.consumer);
            rd_kafka_destroy(in.consumer);
        } else {
            mlog(LOG_WARN, NULL, "kafka unreachable: leaving without committing");
            rd_kafka_destroy_flags(in.consumer, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
        }
    }
    if (in.producer) {
        rd_kafka_flush(in.producer, 5000);
        rd_kafka_destroy(in.producer);
    }
    mlog(LOG_INFO, NULL,
         "dispatcher stopped: %llu alerts, %llu opened, %llu joined, %llu resolved, "
         "%llu duplicates, %llu dead letters, %llu offsets deleted unread",
         (unsigned long long)in.alerts, (unsigned long long)in.opened,
         (unsigned long long)in.joined, (unsigned long long)in.resolved,
         (unsigned long long)in.duplicates, (unsigned long long)in.dead_letters,
         (unsigned long long)in.skipped);
    store_close(in.store);
    observe_stop(&obs);
    workflow_set_free(in.workflows);
    json_decref(in.oncall);
    config_free(&cfg);
    return rc;
}
