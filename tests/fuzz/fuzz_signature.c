/* fuzz_signature.c - libFuzzer target for the inbound request verifiers and the link parser */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/sig_crypto.h"
#include "common/signature.h"
#include "tests/harness/fuzz_fields.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Input: a flags byte, then eight NUL-terminated fields (Slack timestamp,
 * Slack signature, PagerDuty header, Twilio URL, Twilio signature, link
 * token, incident, person), then the rest as the request body. Whatever
 * the input, a verifier accepts only a MAC made with SECRET: accepting
 * under OTHER too, or a header that is not what the signer writes, is a
 * bug; so is refusing what the signer made, or accepting it once the body
 * or the MAC is changed. */
#define NFIELDS 8
#define SECRET "fuzz-secret"
#define OTHER "fuzz-secret-2"

static int64_t slack_now(const char *ts) {
    int64_t v = 0;
    for (const char *p = ts; *p >= '0' && *p <= '9' && p - ts < 18; p++) v = v * 10 + (*p - '0');
    return v;
}

/* Changes the character of s[0..n) at i (mod n) to a or, if it is a, to b:
 * two digits of the encoding that differ in value ('0' and '1' for hex,
 * which is read in either case; 'A' and 'B' for base64). */
static void flip(char *s, size_t n, size_t i, char a, char b) {
    if (n == 0) return;
    i %= n;
    s[i] = s[i] == a ? b : a;
}

static void fuzz_slack(const char *ts, const char *sig, const char *body, size_t len, size_t at) {
    char want[SIG_SLACK_SIG_LEN];
    int64_t now = slack_now(ts);
    sig_result r = sig_slack_verify(SECRET, ts, sig, body, len, now);
    if (r == SIG_OK) {
        if (sig_slack_sign(SECRET, ts, body, len, want) < 0 || strcasecmp(want, sig) != 0) abort();
        if (sig_slack_verify(OTHER, ts, sig, body, len, now) == SIG_OK) abort();
    }
    if (sig_slack_sign(SECRET, ts, body, len, want) < 0) return;
    if (sig_slack_verify(SECRET, ts, want, body, len, now) != SIG_OK) abort();
    if (sig_slack_verify(SECRET, ts, want, body, len, now + SIG_SLACK_WINDOW_S + 1) != SIG_STALE)
        abort();
    flip(want + 3, strlen(want + 3), at, '0', '1');
    if (sig_slack_verify(SECRET, ts, want, body, len, now) == SIG_OK) abort();
    if (len) {
        char *copy = malloc(len);
        if (!copy) return;
        memcpy(copy, body, len);
        copy[at % len] ^= 1;
        if (sig_slack_sign(SECRET, ts, body, len, want) < 0) abort();
        if (sig_slack_verify(SECRET, ts, want, copy, len, now) == SIG_OK) abort();
        free(copy);
    }
}

/* Whether header holds hex, in either case (strcasestr is not C11). */
static int holds(const char *header, const char *hex) {
    char low[SIG_HEADER_MAX + 1];
    size_t n = strnlen(header, SIG_HEADER_MAX);
    for (size_t i = 0; i < n; i++)
        low[i] = header[i] >= 'A' && header[i] <= 'Z' ? (char)(header[i] + 32) : header[i];
    low[n] = '\0';
    return strstr(low, hex) != NULL;
}

static void fuzz_pagerduty(const char *header, const char *body, size_t len, size_t at) {
    char want[SIG_PAGERDUTY_SIG_LEN], two[2 * SIG_PAGERDUTY_SIG_LEN + 8];
    if (sig_pagerduty_verify(SECRET, header, body, len) == SIG_OK) {
        if (sig_pagerduty_sign(SECRET, body, len, want) < 0 || !holds(header, want + 3)) abort();
        if (sig_pagerduty_verify(OTHER, header, body, len) == SIG_OK &&
            (sig_pagerduty_sign(OTHER, body, len, two) < 0 || !holds(header, two + 3)))
            abort();
    }
    if (sig_pagerduty_sign(SECRET, body, len, want) < 0) return;
    if (sig_pagerduty_sign(OTHER, body, len, two) < 0) abort();
    strcat(two, ",");
    strcat(two, want); /* rotation: ours second */
    if (sig_pagerduty_verify(SECRET, two, body, len) != SIG_OK) abort();
    if (sig_pagerduty_verify(SECRET, want, body, len) != SIG_OK) abort();
    flip(want + 3, strlen(want + 3), at, '0', '1');
    if (sig_pagerduty_verify(SECRET, want, body, len) == SIG_OK) abort();
}

static void fuzz_twilio(const char *url, const char *sig, const char *body, size_t len, size_t at) {
    char want[SIG_TWILIO_SIG_LEN];
    if (sig_twilio_verify(SECRET, url, body, len, sig) == SIG_OK &&
        sig_twilio_verify(OTHER, url, body, len, sig) == SIG_OK)
        abort();
    if (!*url || strlen(url) > SIG_HEADER_MAX || sig_twilio_sign(SECRET, url, body, len, want) < 0)
        return;
    if (sig_twilio_verify(SECRET, url, body, len, want) != SIG_OK) abort();
    if (sig_twilio_verify(OTHER, url, body, len, want) == SIG_OK) abort();
    flip(want, strlen(want) - 1, at, 'A', 'B'); /* not the padding */
    if (sig_twilio_verify(SECRET, url, body, len, want) == SIG_OK) abort();
}

static void fuzz_link(const char *token, const char *incident, const char *person, size_t at,
                      int64_t expires) {
    const char *secrets[] = {SECRET}, *others[] = {OTHER};
    char tok[SIG_LINK_MAX];
    if (sig_link_check(secrets, 1, token, "ack", incident, person, 0) == SIG_OK &&
        sig_link_check(others, 1, token, "ack", incident, person, 0) == SIG_OK)
        abort();
    if (sig_link_make(SECRET, "ack", incident, person, expires, tok, sizeof(tok)) < 0) return;
    if (strlen(tok) >= SIG_LINK_MAX) abort();
    if (sig_link_check(secrets, 1, tok, "ack", incident, person, expires - 1) != SIG_OK) abort();
    if (sig_link_check(secrets, 1, tok, "ack", incident, person, expires) != SIG_EXPIRED) abort();
    if (sig_link_check(others, 1, tok, "ack", incident, person, 0) != SIG_MISMATCH) abort();
    if (sig_link_check(secrets, 1, tok, "ack", incident, "someone-else", 0) == SIG_OK &&
        strcmp(person, "someone-else") != 0)
        abort();
    flip(tok, strlen(tok), at, 'A', 'B');
    if (sig_link_check(secrets, 1, tok, "ack", incident, person, 0) == SIG_OK) abort();
}

static void fuzz_replay(const char *const *f) {
    sig_memo m;
    if (sig_memo_init(&m, 3) < 0) return;
    for (int k = 0; k < NFIELDS; k++) {
        size_t n = strlen(f[k]);
        if (!n) continue;
        sig_result a = sig_replay_check("muster", SIG_SLACK, f[k], n, k, sig_memo_seen, &m);
        sig_result b = sig_replay_check("muster", SIG_SLACK, f[k], n, k, sig_memo_seen, &m);
        /* Two fields may be equal, so a may be a replay; b always is. */
        if ((a != SIG_OK && a != SIG_REPLAY) || b != SIG_REPLAY || m.n > m.cap) abort();
    }
    sig_memo_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *f[NFIELDS];
    if (size == 0) return 0;
    size_t at = data[0];
    size_t off;
    char *copy = fuzz_fields(data, size, 1, f, NFIELDS, &off);
    if (!copy) return 0;
    /* The body in an exact-size buffer, so that ASan sees a read past it. */
    size_t len = size - off;
    char *body = malloc(len ? len : 1);
    if (!body) {
        free(copy);
        return 0;
    }
    memcpy(body, data + off, len);
    fuzz_slack(f[0], f[1], body, len, at);
    fuzz_pagerduty(f[2], body, len, at);
    fuzz_twilio(f[3], f[4], body, len, at);
    fuzz_link(f[5], f[6], f[7], at, 1 + (int64_t)(at << 20));
    fuzz_replay(f);
    unsigned char out[SIG_LINK_MAX];
    size_t n;
    if (sig_unb64url(body, len, out, sizeof(out), &n) == 0) {
        char back[2 * SIG_LINK_MAX];
        if (n > sizeof(out) || n * 4 / 3 + 4 >= sizeof(back)) abort();
        if (sig_b64(out, n, back, true) != len || memcmp(back, body, len) != 0) abort();
    }
    free(body);
    free(copy);
    return 0;
}
