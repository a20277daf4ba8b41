/* sig_slack.c - Slack's v0 request signatures (X-Slack-Signature) */
#include "common/signature.h"

#include <string.h>

#include "common/sig_crypto.h"

/* Seconds since the epoch as Slack sends them: 1 to 18 digits, nothing else. */
static int parse_timestamp(const char *s, int64_t *out) {
    int64_t v = 0;
    size_t n = strnlen(s, 19);
    if (n == 0 || n > 18) return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int mac(const char *secret, const char *timestamp, const void *body, size_t len,
               unsigned char out[SIG_SHA256_LEN]) {
    sig_part parts[] = {{"v0:", 3}, {timestamp, strlen(timestamp)}, {":", 1}, {body, len}};
    return sig_hmac("SHA256", secret, strlen(secret), parts, 4, out, SIG_SHA256_LEN);
}

sig_result sig_slack_verify(const char *secret, const char *timestamp, const char *signature,
                            const void *body, size_t len, int64_t now_s) {
    unsigned char want[SIG_SHA256_LEN], got[SIG_SHA256_LEN];
    int64_t ts;
    if (!secret || !*secret || !timestamp || !*timestamp || !signature || !*signature)
        return SIG_MISSING;
    size_t n = strnlen(signature, SIG_HEADER_MAX + 1);
    if (parse_timestamp(timestamp, &ts) < 0 || n > SIG_HEADER_MAX) return SIG_MALFORMED;
    if (strncmp(signature, "v0=", 3) != 0 || sig_unhex(signature + 3, n - 3, got, sizeof(got)) < 0)
        return SIG_MALFORMED;
    if (ts > now_s + SIG_SLACK_WINDOW_S || ts < now_s - SIG_SLACK_WINDOW_S) return SIG_STALE;
    if (mac(secret, timestamp, body, len, want) < 0) return SIG_ERROR;
    return sig_equal(want, got, sizeof(want)) ? SIG_OK : SIG_MISMATCH;
}

int sig_slack_sign(const char *secret, const char *timestamp, const void *body, size_t len,
                   char out[SIG_SLACK_SIG_LEN]) {
    unsigned char m[SIG_SHA256_LEN];
    int64_t ts;
    if (!secret || !timestamp || parse_timestamp(timestamp, &ts) < 0) return -1;
    if (mac(secret, timestamp, body, len, m) < 0) return -1;
    memcpy(out, "v0=", 3);
    sig_hex(m, sizeof(m), out + 3);
    return 0;
}
