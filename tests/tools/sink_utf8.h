/* sink_utf8.h - muster-sink: make arbitrary request bytes valid UTF-8 for JSON */
#ifndef MUSTER_SINK_UTF8_H
#define MUSTER_SINK_UTF8_H

#include <stddef.h>

/* Copy the len bytes at s into a new NUL-terminated buffer that is valid
 * UTF-8: every byte that does not start a well-formed sequence becomes
 * U+FFFD. Embedded NULs are kept (jansson encodes them as \u0000). Stores
 * the copy's length in *out_len when out_len is not NULL. Returns NULL when
 * memory runs out; the caller frees the copy with free(). */
char *sink_utf8_repair(const char *s, size_t len, size_t *out_len);

#endif
