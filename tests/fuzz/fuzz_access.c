/* fuzz_access.c - libFuzzer target for the API's tokens file: whatever it
 * holds, the parser refuses it with a message or keeps only well-formed
 * entries, and nothing matches a token but the one whose hash is stored */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/access.h"
#include "common/sha256.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    access_tokens t = {0};
    char err[512] = "";
    int rc = access_parse(&t, (const char *)data, size, "fuzz", err, sizeof(err));
    if (rc < 0 && !err[0]) abort(); /* a refusal always says why */
    for (size_t i = 0; i < t.n; i++) {
        if (!tokens_name_ok(t.v[i].name, strlen(t.v[i].name))) abort();
        if (!(t.v[i].scopes & ACCESS_SCOPES_ALL) || (t.v[i].scopes & ~ACCESS_SCOPES_ALL)) abort();
        for (size_t j = 0; j < i; j++)
            if (!strcmp(t.v[i].name, t.v[j].name) || !memcmp(t.v[i].hash, t.v[j].hash, 32)) abort();
    }
    /* The input itself, as a token: it matches only if its hash is stored. */
    uint8_t h[32];
    sha256(data, size, h);
    const access_token *k = access_match(&t, (const char *)data, size);
    int stored = 0;
    for (size_t i = 0; i < t.n; i++) stored |= !memcmp(t.v[i].hash, h, 32);
    if ((k != NULL) != stored) abort();
    access_free(&t);
    return 0;
}
