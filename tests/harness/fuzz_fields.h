/* fuzz_fields.h - splits a fuzz input into NUL-terminated fields */
#ifndef MUSTER_FUZZ_FIELDS_H
#define MUSTER_FUZZ_FIELDS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Copies data[0..size) with n + 1 NULs after it and points f[0..n) at the
 * NUL-terminated fields from offset `from` on; the missing fields are "".
 * Returns the copy (the caller frees it) and in *rest the offset of what
 * follows the last field, or NULL when out of memory. Header-only: each
 * fuzz target is one source file. */
static inline char *fuzz_fields(const uint8_t *data, size_t size, size_t from, const char **f,
                                int n, size_t *rest) {
    char *copy = malloc(size + (size_t)n + 1);
    size_t off = from < size ? from : size;
    if (!copy) return NULL;
    if (size) memcpy(copy, data, size);
    memset(copy + size, 0, (size_t)n + 1);
    for (int k = 0; k < n; k++) {
        f[k] = copy + off;
        off += strlen(copy + off) + 1;
        if (off > size) off = size;
    }
    *rest = off;
    return copy;
}

#endif
