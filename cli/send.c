/* send.c - muster send-alert: alert files onto the alerts topic */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/alert.h"
#include "common/kafka.h"
#include "common/util.h"

int cmd_send_alert(config *cfg, int argc, char **argv) {
    char err[1024];
    int rc = EXIT_OK, sent = 0;
    if (argc < 2 || cli_flag(argc, argv, "--help")) {
        printf("Usage: muster send-alert FILE...\n\n"
               "Sends each file (one JSON alert message; '-' reads stdin) to the alerts\n"
               "topic and waits for Kafka to acknowledge it. The dispatcher decides whether\n"
               "it is valid; an undecodable message ends on the dead-letter topic.\n\n"
               "Options:\n  FILE  an alert file (docs/alerts.md); '-' reads one from stdin\n");
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    rd_kafka_t *rk = kafka_producer_new(cfg, kafka_sync_dr, NULL, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "muster send-alert: %s\n", err);
        return EXIT_FAIL;
    }
    for (int i = 1; i < argc; i++) {
        size_t len;
        char *buf = file_read(strcmp(argv[i], "-") ? argv[i] : "/dev/stdin", ALERT_MAX_BYTES, &len,
                              err, sizeof(err));
        if (!buf) {
            fprintf(stderr, "muster send-alert: %s\n", err);
            rc = EXIT_FAIL;
            continue;
        }
        /* Keyed like the webhook intake's messages, so an alert's firing and
         * its resolution land on one partition, in order. Undecodable input
         * goes unkeyed: the dispatcher dead-letters it wherever it lands. */
        alert_batch batch;
        char why[256];
        char *key = NULL;
        if (alert_decode(buf, len, &batch, why, sizeof(why)) == 0) {
            const char *k = alert_batch_key(&batch);
            key = k ? strdup(k) : NULL;
            alert_batch_free(&batch);
        }
        int sent_rc = kafka_produce_sync(rk, cfg->kafka_alerts_topic, key, buf, len, NULL, 30000,
                                         err, sizeof(err));
        free(key);
        if (sent_rc < 0) {
            fprintf(stderr, "muster send-alert: %s: %s\n", argv[i], err);
            rc = EXIT_FAIL;
        } else {
            printf("sent %s to %s\n", argv[i], cfg->kafka_alerts_topic);
            sent++;
        }
        free(buf);
    }
    rd_kafka_flush(rk, 5000);
    rd_kafka_destroy(rk);
    return sent == 0 ? EXIT_FAIL : rc;
}
