/* sig_replay.c - replay keys for verified inbound requests, and a bounded in-process store */
#include "common/signature.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sig_crypto.h"

static const char *const channel_name[] = {"slack", "twilio", "pagerduty", "link"};

/* Slack: a timestamp is accepted 5 minutes either side of now, so one
 * signature verifies for 10 minutes. Twilio signs no time at all, and
 * PagerDuty retries for about 20 minutes: both are remembered a day (the
 * endpoint is to refuse PagerDuty events whose occurred_at is older too). A
 * link is remembered as long as the longest link lives. */
int64_t sig_replay_window_ms(sig_channel c) {
    switch (c) {
    case SIG_SLACK: return 2 * SIG_SLACK_WINDOW_S * 1000LL;
    case SIG_TWILIO: return 24 * 3600 * 1000LL;
    case SIG_PAGERDUTY: return 24 * 3600 * 1000LL;
    case SIG_LINK: return 7 * 24 * 3600 * 1000LL;
    }
    return 24 * 3600 * 1000LL;
}

int sig_replay_key(const char *prefix, sig_channel c, const void *id, size_t idlen, char *out,
                   size_t outlen) {
    unsigned char d[SIG_SHA256_LEN];
    char hex[2 * SIG_SHA256_LEN + 1];
    if (!prefix || !id || idlen == 0 || (unsigned)c > SIG_LINK) return -1;
    if (sig_sha256(id, idlen, d) < 0) return -1;
    sig_hex(d, sizeof(d), hex);
    int n = snprintf(out, outlen, "%s:replay:%s:%s", prefix, channel_name[c], hex);
    return n < 0 || (size_t)n >= outlen || n >= SIG_REPLAY_KEY_MAX ? -1 : 0;
}

sig_result sig_replay_check(const char *prefix, sig_channel c, const void *id, size_t idlen,
                            int64_t now_ms, sig_seen_fn seen, void *ctx) {
    char key[SIG_REPLAY_KEY_MAX];
    if (!seen || sig_replay_key(prefix, c, id, idlen, key, sizeof(key)) < 0) return SIG_ERROR;
    int r = seen(ctx, key, now_ms, sig_replay_window_ms(c));
    return r > 0 ? SIG_OK : r == 0 ? SIG_REPLAY : SIG_ERROR;
}

int sig_memo_init(sig_memo *m, size_t cap) {
    memset(m, 0, sizeof(*m));
    if (cap == 0 || !(m->e = calloc(cap, sizeof(*m->e)))) return -1;
    m->cap = cap;
    return 0;
}

void sig_memo_free(sig_memo *m) {
    if (!m) return;
    free(m->e);
    memset(m, 0, sizeof(*m));
}

int sig_memo_seen(void *memo, const char *key, int64_t now_ms, int64_t ttl_ms) {
    sig_memo *m = memo;
    size_t soonest = 0;
    if (!m || !m->e || strlen(key) >= SIG_REPLAY_KEY_MAX) return -1;
    for (size_t i = 0; i < m->n;) {
        if (m->e[i].until_ms <= now_ms) { /* expired: forget it */
            m->e[i] = m->e[--m->n];
            continue;
        }
        if (strcmp(m->e[i].key, key) == 0) return 0;
        if (m->e[i].until_ms < m->e[soonest].until_ms) soonest = i;
        i++;
    }
    size_t slot = m->n < m->cap ? m->n++ : soonest; /* full: drop the one closest to expiry */
    memcpy(m->e[slot].key, key, strlen(key) + 1);
    m->e[slot].until_ms = now_ms + ttl_ms;
    return 1;
}
