/* intake_url.c - addresses on the dispatcher's intake that a page carries:
 * the phone call's key-press URL and signed acknowledgement links */
#include "worker/intake_url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/signature.h"
#include "common/util.h"
#include "worker/http.h"

int intake_url(const config *cfg, const char *path, char *out, size_t len, char *err,
               size_t errlen) {
    const char *base = cfg->intake_public_url ? cfg->intake_public_url : "";
    size_t n = strlen(base);
    const char *host = strncasecmp(base, "https://", 8) == 0  ? base + 8
                       : strncasecmp(base, "http://", 7) == 0 ? base + 7
                                                              : NULL;
    if (!*base) {
        snprintf(err, errlen, "the setting intake.public_url is not set (the intake's address "
                              "as vendors and people reach it)");
        return -1;
    }
    if (!host || !*host || *host == '/' || strpbrk(base, "?#@ \t\r\n\"<>\\")) {
        snprintf(err, errlen, "the setting intake.public_url \"%.200s\" is not an http(s) URL "
                              "without query, fragment or credentials", base);
        return -1;
    }
    while (n > 0 && base[n - 1] == '/') n--;
    if (n + strlen(path) + 1 > len) {
        snprintf(err, errlen, "the setting intake.public_url is too long");
        return -1;
    }
    snprintf(out, len, "%.*s%s", (int)n, base, path);
    return 0;
}

int intake_voice_url(const config *cfg, const task *t, char *out, size_t len, char *err,
                     size_t errlen) {
    char path[400];
    char *id = url_escape(t->li.incident);
    if (!id) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(path, sizeof(path), "/api/v1/twilio/voice?incident=%s", id);
    free(id);
    return intake_url(cfg, path, out, len, err, errlen);
}

int intake_ack_link(const config *cfg, const task *t, const char *person, char *out, size_t len,
                    char *err, size_t errlen) {
    char token[SIG_LINK_MAX], path[SIG_LINK_MAX + 8], why[300];
    const char *name = cfg->ack_link_secret ? cfg->ack_link_secret : "";
    int rc = -1;
    if (!*name) {
        snprintf(err, errlen, "the setting ack.link_secret is not set (the name of the secret "
                              "that signs acknowledgement links)");
        return -1;
    }
    char *secret = secret_read(cfg->secrets_dirs, name, why, sizeof(why));
    if (!secret) {
        snprintf(err, errlen, "ack.link_secret: %s", why);
        return -1;
    }
    int64_t expires = (now_ms() + cfg->ack_link_ttl_ms) / 1000;
    if (sig_link_make(secret, "ack", t->li.incident, person, expires, token, sizeof(token)) < 0) {
        snprintf(err, errlen, "ack_link: \"%.140s\" is not a person id (1 to %d of "
                              "A-Z a-z 0-9 . _ : @ -)", person, SIG_LINK_ID_MAX);
        goto out;
    }
    snprintf(path, sizeof(path), "/ack/%s", token);
    rc = intake_url(cfg, path, out, len, err, errlen);
out:
    explicit_bzero(secret, strlen(secret));
    free(secret);
    return rc;
}
