/* sha256.h - SHA-256 (FIPS 180-4) of a buffer, for fingerprints of payloads
 * (libcrypto's, through sig_crypto) */
#ifndef MUSTER_SHA256_H
#define MUSTER_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_HEX_LEN 65 /* 64 hex digits and the NUL */

/* Writes the 32-byte digest of data[0..len) to out. */
void sha256(const void *data, size_t len, uint8_t out[32]);

/* Writes the digest as 64 lower-case hex digits and a NUL to hex. */
void sha256_hex(const void *data, size_t len, char hex[SHA256_HEX_LEN]);

#endif
