/* sig_crypto.h - the HMAC, digests and encodings that inbound verification shares */
#ifndef MUSTER_SIG_CRYPTO_H
#define MUSTER_SIG_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

#define SIG_SHA1_LEN 20
#define SIG_SHA256_LEN 32

/* One piece of a message that is MACed as the concatenation of its pieces,
 * so a verifier never copies a request body to prepend a prefix. */
typedef struct sig_part {
    const void *p;
    size_t n;
} sig_part;

/* HMAC with digest `md` ("SHA1" or "SHA256") of the concatenated parts,
 * written to out (outlen must be the digest's size). Returns 0, or -1. */
int sig_hmac(const char *md, const void *key, size_t keylen, const sig_part *parts,
             size_t nparts, unsigned char *out, size_t outlen);

/* SHA-256 of data. Returns 0, or -1. */
int sig_sha256(const void *data, size_t n, unsigned char out[SIG_SHA256_LEN]);

/* Whether a and b hold the same n bytes, in time that depends only on n. */
bool sig_equal(const void *a, const void *b, size_t n);

/* Lower-case hex of n bytes into out (2n + 1 bytes, NUL-terminated). */
void sig_hex(const unsigned char *in, size_t n, char *out);

/* The value of one hex digit (either case), or -1. */
int sig_hexval(char c);

/* Decodes exactly 2 * outlen hex digits (either case) of in[0..n). Returns 0,
 * or -1 when n is not 2 * outlen or a character is not a hex digit. */
int sig_unhex(const char *in, size_t n, unsigned char *out, size_t outlen);

/* Base64 of n bytes into out (4 * ceil(n / 3) + 1 bytes): RFC 4648 section
 * 4 with padding, or with url set, section 5 without padding. Returns the
 * length written, not counting the NUL. */
size_t sig_b64(const unsigned char *in, size_t n, char *out, bool url);

/* Decodes unpadded base64url in[0..n) into out (at most cap bytes). Strict:
 * refuses '=', characters outside the alphabet, a length of 1 mod 4 and
 * non-zero bits left over in the last character, so that each decoded value
 * has exactly one encoding. Returns 0 and the length in *outlen, or -1. */
int sig_unb64url(const char *in, size_t n, unsigned char *out, size_t cap, size_t *outlen);

/* Decodes application/x-www-form-urlencoded text s[0..n) ('+' is a
 * space, %XX a byte) into out, which has room for n bytes. Returns the
 * decoded length, or -1 for a bad %XX. */
long sig_form_decode(const char *s, size_t n, char *out);

#endif
