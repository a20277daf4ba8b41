/* diag.c - problems found in operators' files, each placed at file:line:column */
#include "common/diag.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/yaml.h"

void wf_diag_free(wf_diag *d) {
    if (!d) return;
    for (size_t i = 0; i < d->n; i++) free(d->msgs[i]);
    free(d->msgs);
    d->msgs = NULL;
    d->n = 0;
}

void diag_add(wf_diag *d, const char *msg) {
    char **msgs = realloc(d->msgs, (d->n + 1) * sizeof(*msgs));
    if (!msgs) return;
    d->msgs = msgs;
    if ((d->msgs[d->n] = strdup(msg))) d->n++;
}

void diag_place(const diag_file *f, const char *pointer, char *buf, size_t len) {
    int line, col;
    yaml_position(f->positions, pointer, &line, &col);
    if (line)
        snprintf(buf, len, "%s:%d:%d", f->path, line, col);
    else
        snprintf(buf, len, "%s", f->path);
}

void diag_problem(diag_file *f, const char *pointer, const char *fmt, ...) {
    char what[768], where[1024], msg[1800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    diag_place(f, pointer, where, sizeof(where));
    snprintf(msg, sizeof(msg), "%s: %s", where, what);
    diag_add(f->diag, msg);
}

bool diag_failed(const diag_file *f) { return f->diag->n > f->before; }

bool diag_valid_id(const char *s) {
    if (!*s || strlen(s) > 64) return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-') return false;
    return true;
}

void diag_pointer_join(char *out, size_t cap, const char *base, const char *tok) {
    size_t n = (size_t)snprintf(out, cap, "%s/", base);
    if (n >= cap) return;
    for (; *tok && n + 2 < cap; tok++) {
        if (*tok == '~' || *tok == '/') {
            out[n++] = '~';
            out[n++] = *tok == '~' ? '0' : '1';
        } else {
            out[n++] = *tok;
        }
    }
    out[n] = '\0';
}

void diag_unknown_keys(diag_file *f, const json_t *obj, const char *pointer,
                       const char *const *allowed) {
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++) ok = strcmp(*a, k) == 0;
        if (!ok) {
            char p[512];
            diag_pointer_join(p, sizeof(p), pointer, k);
            diag_problem(f, p, "unknown key \"%s\"", k);
        }
    }
}

const char *diag_type_of(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "a map";
    case JSON_ARRAY: return "a list";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "a number";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}
