/* strbuf.h - a growable, NUL-terminated string buffer that remembers failure */
#ifndef MUSTER_STRBUF_H
#define MUSTER_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

/* What a buffer may hold when its max is left 0. */
#define STRBUF_MAX_DEFAULT ((size_t)64 * 1024 * 1024)

/* Start from {0}, or {.max = N} to bound it to N bytes. An allocation that
 * fails, or an append that would take it past max (curl's dynbuf "toobig"),
 * sets `failed` and every later append is a no-op, so a caller appends
 * freely and checks once at the end. While not failed and non-empty,
 * s[len] == '\0'. The buffer owns s; free it with strbuf_free() or take it
 * (then s is the caller's to free()). */
typedef struct strbuf {
    char *s;
    size_t len, cap;
    size_t max;  /* most bytes it may hold; 0: STRBUF_MAX_DEFAULT */
    bool failed; /* out of memory, or toobig */
    bool toobig; /* an append would have passed max */
} strbuf;

/* Appends n bytes of s (which may hold NULs). */
void strbuf_add(strbuf *b, const char *s, size_t n);

/* Appends the string s. */
void strbuf_str(strbuf *b, const char *s);

/* Appends printf-style output, however long. */
void strbuf_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Frees the text and leaves an empty buffer (max is kept); strbuf_free(NULL) is a no-op. */
void strbuf_free(strbuf *b);

#endif
