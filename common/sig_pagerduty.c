/* sig_pagerduty.c - PagerDuty webhooks v3 signatures (X-PagerDuty-Signature) */
#include "common/signature.h"

#include <string.h>

#include "common/sig_crypto.h"

static int mac(const char *secret, const void *body, size_t len, unsigned char out[SIG_SHA256_LEN]) {
    sig_part part = {body, len};
    return sig_hmac("SHA256", secret, strlen(secret), &part, 1, out, SIG_SHA256_LEN);
}

/* Every v1 entry is decoded and compared, matching or not, so the time
 * taken says only how many entries the header had. */
sig_result sig_pagerduty_verify(const char *secret, const char *header, const void *body,
                                size_t len) {
    unsigned char want[SIG_SHA256_LEN], got[SIG_SHA256_LEN];
    size_t n, entries = 0, v1 = 0;
    bool match = false;
    if (!secret || !*secret || !header || !*header) return SIG_MISSING;
    if ((n = strnlen(header, SIG_HEADER_MAX + 1)) > SIG_HEADER_MAX) return SIG_MALFORMED;
    if (mac(secret, body, len, want) < 0) return SIG_ERROR;
    for (const char *p = header, *end = header + n; p <= end; entries++) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *e = comma ? comma : end;
        while (p < e && (*p == ' ' || *p == '\t')) p++;
        const char *q = e;
        while (q > p && (q[-1] == ' ' || q[-1] == '\t')) q--;
        const char *eq = memchr(p, '=', (size_t)(q - p));
        if (entries == SIG_PAGERDUTY_SIGS_MAX || !eq || eq == p) return SIG_MALFORMED;
        if (eq - p == 2 && memcmp(p, "v1", 2) == 0) {
            if (sig_unhex(eq + 1, (size_t)(q - eq - 1), got, sizeof(got)) < 0) return SIG_MALFORMED;
            match |= sig_equal(want, got, sizeof(want));
            v1++;
        }
        p = e + 1;
    }
    if (v1 == 0) return SIG_MALFORMED; /* only versions we do not know */
    return match ? SIG_OK : SIG_MISMATCH;
}

int sig_pagerduty_sign(const char *secret, const void *body, size_t len,
                       char out[SIG_PAGERDUTY_SIG_LEN]) {
    unsigned char m[SIG_SHA256_LEN];
    if (!secret || mac(secret, body, len, m) < 0) return -1;
    memcpy(out, "v1=", 3);
    sig_hex(m, sizeof(m), out + 3);
    return 0;
}
