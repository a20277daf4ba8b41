/* sig_link.c - muster's signed, expiring acknowledgement links */
#include "common/signature.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/sig_crypto.h"

#define ACTION_MAX 16
#define PAYLOAD_MAX (ACTION_MAX + 2 * SIG_LINK_ID_MAX + 24)

static bool id_ok(const char *s) {
    size_t n = strnlen(s, SIG_LINK_ID_MAX + 1);
    if (n == 0 || n > SIG_LINK_ID_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || strchr("._:@-", s[i])))
            return false;
    return true;
}

static bool action_ok(const char *s) {
    size_t n = strnlen(s, ACTION_MAX + 1);
    if (n == 0 || n > ACTION_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 'a' || s[i] > 'z') return false;
    return true;
}

/* The MAC key of version 1, derived from the secret, so that the secret
 * itself signs nothing and a later version gets a key of its own. */
static int mac(const char *secret, const char *signed_part, size_t n,
               unsigned char out[SIG_SHA256_LEN]) {
    unsigned char key[SIG_SHA256_LEN];
    sig_part label = {"muster acknowledgement link v1", 30}, part = {signed_part, n};
    if (sig_hmac("SHA256", secret, strlen(secret), &label, 1, key, sizeof(key)) < 0) return -1;
    return sig_hmac("SHA256", key, sizeof(key), &part, 1, out, SIG_SHA256_LEN);
}

int sig_link_make(const char *secret, const char *action, const char *incident,
                  const char *person, int64_t expires_s, char *out, size_t outlen) {
    char payload[PAYLOAD_MAX], tok[SIG_LINK_MAX];
    unsigned char m[SIG_SHA256_LEN];
    if (!secret || !*secret || !action || !incident || !person || expires_s <= 0) return -1;
    if (!action_ok(action) || !id_ok(incident) || !id_ok(person)) return -1;
    int pn = snprintf(payload, sizeof(payload), "%s\n%s\n%s\n%lld", action, incident, person,
                      (long long)expires_s);
    if (pn < 0 || (size_t)pn >= sizeof(payload)) return -1;
    memcpy(tok, "v1.", 3);
    size_t n = 3 + sig_b64((const unsigned char *)payload, (size_t)pn, tok + 3, true);
    if (mac(secret, tok, n, m) < 0) return -1;
    tok[n++] = '.';
    n += sig_b64(m, sizeof(m), tok + n, true);
    if (n + 1 > outlen) return -1;
    memcpy(out, tok, n + 1);
    return 0;
}

/* Splits the decoded payload into its four fields and checks them against
 * what the request is for. */
static sig_result bound_to(char *payload, const char *action, const char *incident,
                           const char *person, int64_t *expires) {
    char *f[4], *p = payload;
    for (int i = 0; i < 4; i++) {
        f[i] = p;
        char *nl = strchr(p, '\n');
        if (i < 3 && !nl) return SIG_MALFORMED;
        if (i == 3 && nl) return SIG_MALFORMED;
        if (nl) *nl = '\0', p = nl + 1;
    }
    size_t en = strlen(f[3]);
    if (en == 0 || en > 18) return SIG_MALFORMED;
    *expires = 0;
    for (size_t i = 0; i < en; i++) {
        if (f[3][i] < '0' || f[3][i] > '9') return SIG_MALFORMED;
        *expires = *expires * 10 + (f[3][i] - '0');
    }
    if (strcmp(f[0], action) != 0 || strcmp(f[1], incident) != 0 || strcmp(f[2], person) != 0)
        return SIG_MISMATCH;
    return SIG_OK;
}

sig_result sig_link_check(const char *const *secrets, size_t n, const char *token,
                          const char *action, const char *incident, const char *person,
                          int64_t now_s) {
    unsigned char got[SIG_SHA256_LEN], want[SIG_SHA256_LEN];
    char payload[PAYLOAD_MAX + 1];
    size_t tlen, glen, plen;
    int64_t expires;
    bool match = false;
    if (!token || !*token || !action || !incident || !person || !secrets || n == 0)
        return SIG_MISSING;
    if ((tlen = strnlen(token, SIG_LINK_MAX)) >= SIG_LINK_MAX) return SIG_MALFORMED;
    if (strncmp(token, "v1.", 3) != 0) return SIG_MALFORMED;
    const char *dot = strrchr(token, '.');
    if (dot == token + 2) return SIG_MALFORMED; /* no MAC part */
    if (sig_unb64url(dot + 1, tlen - (size_t)(dot + 1 - token), got, sizeof(got), &glen) < 0 ||
        glen != sizeof(got))
        return SIG_MALFORMED;
    if (sig_unb64url(token + 3, (size_t)(dot - token - 3), (unsigned char *)payload, PAYLOAD_MAX,
                     &plen) < 0 || plen == 0 || memchr(payload, '\0', plen))
        return SIG_MALFORMED;
    payload[plen] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (!secrets[i] || !*secrets[i]) continue;
        if (mac(secrets[i], token, (size_t)(dot - token), want) < 0) return SIG_ERROR;
        match |= sig_equal(want, got, sizeof(got));
    }
    if (!match) return SIG_MISMATCH;
    sig_result r = bound_to(payload, action, incident, person, &expires);
    if (r != SIG_OK) return r;
    return now_s >= expires ? SIG_EXPIRED : SIG_OK;
}
