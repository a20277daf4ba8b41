/* sink_utf8.c - muster-sink: make arbitrary request bytes valid UTF-8 for JSON */
#include "sink_utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */

/* Length of the well-formed UTF-8 sequence at s, of which n bytes are
 * available, or 0 when there is none: a bad lead byte, a bad continuation,
 * an overlong form, a surrogate, a code point past U+10FFFF or a cut-short
 * sequence. The ranges are those of RFC 3629's table, which jansson also
 * enforces. */
static size_t sequence_length(const unsigned char *s, size_t n) {
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t more;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        more = 1;
    } else if (c == 0xE0) {
        more = 2;
        lo = 0xA0;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
        more = 2;
    } else if (c == 0xED) {
        more = 2;
        hi = 0x9F;
    } else if (c == 0xF0) {
        more = 3;
        lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
        more = 3;
    } else if (c == 0xF4) {
        more = 3;
        hi = 0x8F;
    } else {
        return 0;
    }
    if (n <= more || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i <= more; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return more + 1;
}

char *sink_utf8_repair(const char *s, size_t len, size_t *out_len) {
    const unsigned char *in = (const unsigned char *)s;
    size_t need = 0, o = 0, k;
    char *out;

    /* First pass sizes the copy exactly: request bodies run to 1 MiB and
     * are nearly always valid already. */
    for (size_t i = 0; i < len; i += k ? k : 1) {
        k = sequence_length(in + i, len - i);
        if (need > SIZE_MAX - 4)
            return NULL;
        need += k ? k : sizeof replacement - 1;
    }
    if (!(out = malloc(need + 1)))
        return NULL;
    for (size_t i = 0; i < len; i += k ? k : 1) {
        k = sequence_length(in + i, len - i);
        if (k) {
            memcpy(out + o, in + i, k);
            o += k;
        } else {
            memcpy(out + o, replacement, sizeof replacement - 1);
            o += sizeof replacement - 1;
        }
    }
    out[o] = '\0';
    if (out_len)
        *out_len = o;
    return out;
}
