/* sig_crypto.c - the HMAC, digests and encodings that inbound verification shares */
#include "common/sig_crypto.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

int sig_hmac(const char *md, const void *key, size_t keylen, const sig_part *parts,
             size_t nparts, unsigned char *out, size_t outlen) {
    int rc = -1;
    EVP_MAC *mac = NULL;
    EVP_MAC_CTX *ctx = NULL;
    size_t got = 0;
    /* An empty key is a valid HMAC key, but OpenSSL wants a pointer. */
    static const unsigned char nokey[1] = {0};
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)md, 0),
        OSSL_PARAM_construct_end()};

    if (!(mac = EVP_MAC_fetch(NULL, "HMAC", NULL))) goto out;
    if (!(ctx = EVP_MAC_CTX_new(mac))) goto out;
    if (!EVP_MAC_init(ctx, keylen ? key : nokey, keylen, params)) goto out;
    if (EVP_MAC_CTX_get_mac_size(ctx) != outlen) goto out;
    for (size_t i = 0; i < nparts; i++)
        if (parts[i].n && !EVP_MAC_update(ctx, parts[i].p, parts[i].n)) goto out;
    if (!EVP_MAC_final(ctx, out, &got, outlen) || got != outlen) goto out;
    rc = 0;
out:
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return rc;
}

int sig_sha256(const void *data, size_t n, unsigned char out[SIG_SHA256_LEN]) {
    unsigned int got = 0;
    static const unsigned char none[1] = {0};
    if (!EVP_Digest(n ? data : none, n, out, &got, EVP_sha256(), NULL)) return -1;
    return got == SIG_SHA256_LEN ? 0 : -1;
}

bool sig_equal(const void *a, const void *b, size_t n) {
    return CRYPTO_memcmp(a, b, n) == 0;
}

void sig_hex(const unsigned char *in, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

int sig_hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int sig_unhex(const char *in, size_t n, unsigned char *out, size_t outlen) {
    if (n != 2 * outlen) return -1;
    for (size_t i = 0; i < outlen; i++) {
        int hi = sig_hexval(in[2 * i]), lo = sig_hexval(in[2 * i + 1]);
        if (hi < 0 || lo < 0) return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

static const char b64std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t sig_b64(const unsigned char *in, size_t n, char *out, bool url) {
    const char *a = url ? b64url : b64std;
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        out[o++] = a[v >> 18 & 63];
        out[o++] = a[v >> 12 & 63];
        out[o++] = a[v >> 6 & 63];
        out[o++] = a[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0);
        out[o++] = a[v >> 18 & 63];
        out[o++] = a[v >> 12 & 63];
        if (i + 1 < n) out[o++] = a[v >> 6 & 63];
        else if (!url) out[o++] = '=';
        if (!url) out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

static int b64urlval(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

int sig_unb64url(const char *in, size_t n, unsigned char *out, size_t cap, size_t *outlen) {
    size_t o = 0, bits = 0;
    unsigned acc = 0;
    if (n % 4 == 1 || n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0) > cap) return -1;
    for (size_t i = 0; i < n; i++) {
        int v = b64urlval(in[i]);
        if (v < 0) return -1;
        acc = (acc << 6 | (unsigned)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    if (bits && (acc & ((1u << bits) - 1))) return -1; /* a second spelling */
    *outlen = o;
    return 0;
}

long sig_form_decode(const char *s, size_t n, char *out) {
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%') {
            int hi, lo;
            if (i + 2 >= n || (hi = sig_hexval(s[i + 1])) < 0 || (lo = sig_hexval(s[i + 2])) < 0) return -1;
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    return (long)o;
}
