/* sha256.c - SHA-256 of a buffer, for fingerprints of payloads (libcrypto) */
#include "common/sha256.h"

#include <string.h>

#include "common/sig_crypto.h"

void sha256(const void *data, size_t len, uint8_t out[32]) {
    /* EVP_Digest fails only when out of memory; a zero digest then marks
     * the fingerprint as unusable rather than leaving it undefined. */
    if (sig_sha256(data, len, out) < 0) memset(out, 0, 32);
}

void sha256_hex(const void *data, size_t len, char hex[SHA256_HEX_LEN]) {
    uint8_t d[32];
    sha256(data, len, d);
    sig_hex(d, sizeof(d), hex);
}
