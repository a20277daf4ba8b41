/* diag.h - problems found in operators' files, each placed at file:line:column */
#ifndef MUSTER_DIAG_H
#define MUSTER_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

/* Collected problems, each "file:line:column: what is wrong". */
typedef struct wf_diag {
    char **msgs;
    size_t n;
} wf_diag;

/* Frees the messages; d itself is the caller's. */
void wf_diag_free(wf_diag *d);

/* Appends a copy of msg (dropped when out of memory). */
void diag_add(wf_diag *d, const char *msg);

/* One file being checked: where problems go and how to place them.
 * positions is what yaml_parse() returned for the file. */
typedef struct diag_file {
    const char *path;
    const json_t *positions;
    wf_diag *diag;
    size_t before; /* problems already in diag when this file started */
} diag_file;

/* Reports a problem at the node `pointer` names ("/steps/2/needs/0"), or at
 * its nearest known parent. */
void diag_problem(diag_file *f, const char *pointer, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "file:line:column" of the node `pointer` names (or "file"), into buf. */
void diag_place(const diag_file *f, const char *pointer, char *buf, size_t len);

/* Whether this file has gained a problem. */
bool diag_failed(const diag_file *f);

/* Writes base + "/" + tok to out, escaping ~ and / in tok as RFC 6901 says:
 * yaml.c records positions under escaped pointers. */
void diag_pointer_join(char *out, size_t cap, const char *base, const char *tok);

/* Reports every key of obj that is not in `allowed` (NULL-terminated). */
void diag_unknown_keys(diag_file *f, const json_t *obj, const char *pointer,
                       const char *const *allowed);

/* "a map", "a list", "a string", "a number", "a boolean" or "null". */
const char *diag_type_of(const json_t *v);

/* An id operators write: 1 to 64 of [A-Za-z0-9_-]. */
bool diag_valid_id(const char *s);

#endif
