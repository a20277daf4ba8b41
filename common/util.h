/* util.h - small helpers every module uses: clocks, ids, files */
#ifndef MUSTER_UTIL_H
#define MUSTER_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Milliseconds since the Unix epoch (wall clock, for events and records). */
int64_t now_ms(void);

/* Milliseconds from a monotonic clock (for timeouts and durations). */
int64_t mono_ms(void);

/* Formats `ms` since the epoch as RFC 3339 UTC with milliseconds. */
void format_rfc3339(int64_t ms, char *buf, size_t len);

/* Fills buf with `prefix` followed by a time-ordered unique id: 12 hex digits
 * of milliseconds and 12 of randomness from getrandom(). buf needs at least
 * strlen(prefix) + 25 bytes. */
void id_new(const char *prefix, char *buf, size_t len);

/* Reads a whole file of at most `max` bytes. Returns a NUL-terminated malloc'd
 * buffer (caller frees) and its length in *len, or NULL with err filled. */
char *file_read(const char *path, size_t max, size_t *len, char *err,
                size_t errlen);

/* Parses a duration such as "250ms", "10s", "5m", "1h", "30d" (days of 24
 * hours), "2w" (weeks) or a bare number of milliseconds. Returns 0 and stores milliseconds, or -1. */
int duration_parse(const char *text, int64_t *ms);

/* Formats a real in the shortest form that reads back the same ("0.1", not
 * "0.10000000000000001"), with ".0" on whole numbers, so a label or a
 * template shows what a person wrote. */
void real_shortest(double d, char *out, size_t n);

#endif
