/* kpi_day.c - files each incident's figures under the UTC day it opened */
#include "metrics/kpi_day.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

extern const char metrics_lua_kpi[]; /* metrics/lua/kpi.lua, generated */

static char kpi_sha[41];
static pthread_once_t kpi_sha_once = PTHREAD_ONCE_INIT;

/* Redis names a script by the SHA-1 of its text. */
static void compute_sha(void) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!EVP_Digest(metrics_lua_kpi, strlen(metrics_lua_kpi), md, &n, EVP_sha1(), NULL) || n != 20)
        return; /* left empty: every call sends the script itself */
    for (unsigned int i = 0; i < n; i++) snprintf(kpi_sha + 2 * i, 3, "%02x", md[i]);
}

void kpi_limits_from_config(kpi_limits *kl, const config *cfg) {
    kl->retention_ms = cfg->metrics_kpi_retention_ms;
    kl->sample = cfg->metrics_kpi_sample;
    kl->sets = cfg->metrics_kpi_sets;
}

int kpi_day_file(store *s, const char *id, const char *type, const char *incident,
                 const char *step, const char *outcome, const kpi_limits *kl, char *err,
                 size_t errlen) {
    char sample[24], keep[24], sets[24];
    redisReply *r = NULL;
    int rc = -1;

    pthread_once(&kpi_sha_once, compute_sha);
    snprintf(sample, sizeof(sample), "%lld", (long long)kl->sample);
    snprintf(keep, sizeof(keep), "%lld", (long long)kl->retention_ms);
    snprintf(sets, sizeof(sets), "%lld", (long long)kl->sets);
    const char *argv[] = {kpi_sha[0] ? "EVALSHA" : "EVAL", kpi_sha[0] ? kpi_sha : metrics_lua_kpi,
                          "0", store_prefix(s), id, type, incident, step, sample, keep, sets, outcome};
    const int argc = (int)(sizeof(argv) / sizeof(argv[0]));
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!(r = store_command_argv(s, argc, argv, NULL))) {
            snprintf(err, errlen, "redis: connection lost filing event %s", id);
            goto out;
        }
        if (r->type != REDIS_REPLY_ERROR) break;
        /* Redis forgot the script (a restart, SCRIPT FLUSH): send it whole,
         * which also loads it again. */
        if (attempt == 0 && r->str && strncmp(r->str, "NOSCRIPT", 8) == 0) {
            freeReplyObject(r);
            r = NULL;
            argv[0] = "EVAL";
            argv[1] = metrics_lua_kpi;
            continue;
        }
        snprintf(err, errlen, "kpi.lua: %.200s", r->str ? r->str : "error");
        goto out;
    }
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        snprintf(err, errlen, "kpi.lua: unexpected reply from Redis");
        goto out;
    }
    rc = 0;
out:
    if (r) freeReplyObject(r);
    return rc;
}
