/* template.c - {{ expression | filter }} rendering over a JSON context */
#include "common/template.h"
#include "common/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PATH_LEN 256 /* bytes in one dotted path */
#define MAX_FILTERS 16   /* filters in one expression */
#define MAX_DEPTH 64     /* nesting template_render_json will walk */
#define MAX_WHERE 200    /* bytes of tree location quoted in an error */

typedef enum {
    F_DEFAULT,
    F_JSON,
    F_URLENCODE,
    F_UPPER,
    F_LOWER,
    F_TRUNCATE
} filter_kind;

typedef enum { ARG_NONE, ARG_LITERAL, ARG_COUNT } arg_kind;

static const struct {
    const char *name;
    filter_kind kind;
    arg_kind arg;
} filter_table[] = {
    {"default", F_DEFAULT, ARG_LITERAL},
    {"json", F_JSON, ARG_NONE},
    {"urlencode", F_URLENCODE, ARG_NONE},
    {"upper", F_UPPER, ARG_NONE},
    {"lower", F_LOWER, ARG_NONE},
    {"truncate", F_TRUNCATE, ARG_COUNT},
};

typedef struct filter {
    filter_kind kind;
    json_t *arg; /* default's value, owned */
    size_t n;    /* truncate's length in characters */
} filter;

typedef struct expr {
    char path[MAX_PATH_LEN + 1];
    filter filters[MAX_FILTERS];
    int nfilters;
    size_t start; /* offset of the opening {{ */
    size_t end;   /* offset just past the closing }} */
} expr;

/* A growable byte buffer that refuses to grow past `max` (curl's dynbuf). */
typedef struct buf {
    char *p;
    size_t len, cap, max;
    int toobig;
} buf;

/* Where the parser stands; errors name the column of `at` in `s`. */
typedef struct parser {
    const char *s;
    size_t i;
    size_t open; /* offset of the {{ being parsed */
    char *err;
    size_t errlen;
} parser;

/* ---- errors ---- */

static void vset_err(char *err, size_t errlen, const char *s, size_t at,
                     const char *fmt, va_list ap) {
    size_t line = 1, col = 1, n;

    if (!err || errlen == 0) return;
    for (size_t k = 0; k < at && s[k]; k++) {
        if (s[k] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    if (line == 1)
        n = (size_t)snprintf(err, errlen, "column %zu: ", col);
    else
        n = (size_t)snprintf(err, errlen, "line %zu, column %zu: ", line, col);
    if (n < errlen) vsnprintf(err + n, errlen - n, fmt, ap);
}

static void set_err(char *err, size_t errlen, const char *s, size_t at,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void set_err(char *err, size_t errlen, const char *s, size_t at,
                    const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vset_err(err, errlen, s, at, fmt, ap);
    va_end(ap);
}

static void plain_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void plain_err(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    if (!err || errlen == 0) return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Names a byte for an error message without echoing control characters. */
static const char *show_char(char c, char tmp[8]) {
    if (c > 0x20 && c < 0x7f)
        snprintf(tmp, 8, "'%c'", c);
    else
        snprintf(tmp, 8, "0x%02x", (unsigned)(unsigned char)c);
    return tmp;
}

/* Fails at the parser's current position, or at the opening {{ when no }}
 * follows at all, since then that is the part a person must fix. */
static int unexpected(parser *p, const char *what) {
    char tmp[8];
    if (!strstr(p->s + p->i, "}}")) {
        set_err(p->err, p->errlen, p->s, p->open,
                "'{{' has no closing '}}'");
    } else {
        set_err(p->err, p->errlen, p->s, p->i, "expected %s, found %s", what,
                show_char(p->s[p->i], tmp));
    }
    return -1;
}

/* ---- buffer ---- */

static int buf_add(buf *b, const char *data, size_t n) {
    if (n > b->max - b->len) {
        b->toobig = 1;
        return -1;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        if (cap > b->max + 1) cap = b->max + 1;
        char *p = realloc(b->p, cap);
        if (!p) return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static int dump_to_buf(const char *data, size_t n, void *arg) {
    return buf_add(arg, data, n);
}

/* Reports why a buffer refused to take more. */
static void buf_err(const buf *b, char *err, size_t errlen, const char *s,
                    size_t at) {
    if (b->toobig)
        set_err(err, errlen, s, at, "output exceeds %zu bytes", b->max);
    else
        set_err(err, errlen, s, at, "out of memory");
}

/* ---- parsing ---- */

static int is_blank(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_ident(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static void skip_blanks(parser *p) {
    while (is_blank(p->s[p->i])) p->i++;
}

static void expr_clear(expr *e) {
    for (int k = 0; k < e->nfilters; k++) json_decref(e->filters[k].arg);
    e->nfilters = 0;
}

/* Reads `ident(.ident)*` into e->path. */
static int parse_path(parser *p, expr *e) {
    size_t start = p->i, n = 0;

    for (;;) {
        if (!is_ident(p->s[p->i])) return unexpected(p, "a path");
        while (is_ident(p->s[p->i])) p->i++;
        if (p->s[p->i] != '.') break;
        p->i++;
    }
    n = p->i - start;
    if (n > MAX_PATH_LEN) {
        set_err(p->err, p->errlen, p->s, start, "path longer than %d bytes",
                MAX_PATH_LEN);
        return -1;
    }
    memcpy(e->path, p->s + start, n);
    e->path[n] = '\0';
    return 0;
}

/* Reads a quoted literal ("..." or '...') with \\ \" \' \n \t escapes. */
static int parse_string(parser *p, json_t **out) {
    char quote = p->s[p->i];
    size_t start = p->i++;
    buf b = {.max = TEMPLATE_MAX_OUTPUT};
    int rc = -1;

    for (;;) {
        char c = p->s[p->i];
        if (!c) {
            set_err(p->err, p->errlen, p->s, start, "unterminated string");
            goto out;
        }
        p->i++;
        if (c == quote) break;
        if (c == '\\') {
            char e = p->s[p->i];
            switch (e) {
            case '\\': case '"': case '\'': c = e; break;
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            default:
                set_err(p->err, p->errlen, p->s, p->i - 1,
                        "unknown escape in string");
                goto out;
            }
            p->i++;
        }
        if (buf_add(&b, &c, 1) < 0) {
            buf_err(&b, p->err, p->errlen, p->s, start);
            goto out;
        }
    }
    /* json_stringn checks UTF-8, so render_json never builds a bad string. */
    if (!(*out = json_stringn(b.p ? b.p : "", b.len))) {
        set_err(p->err, p->errlen, p->s, start, "string is not valid UTF-8");
        goto out;
    }
    rc = 0;
out:
    free(b.p);
    return rc;
}

/* Reads -?[0-9]+(\.[0-9]+)? as a JSON integer or real. */
static int parse_number(parser *p, json_t **out) {
    size_t start = p->i;
    int real = 0;
    char tmp[64];

    if (p->s[p->i] == '-') p->i++;
    if (!is_digit(p->s[p->i])) return unexpected(p, "a digit");
    while (is_digit(p->s[p->i])) p->i++;
    if (p->s[p->i] == '.') {
        real = 1;
        p->i++;
        if (!is_digit(p->s[p->i])) return unexpected(p, "a digit");
        while (is_digit(p->s[p->i])) p->i++;
    }
    if (p->i - start >= sizeof(tmp)) {
        set_err(p->err, p->errlen, p->s, start, "number too long");
        return -1;
    }
    memcpy(tmp, p->s + start, p->i - start);
    tmp[p->i - start] = '\0';
    errno = 0;
    if (real) {
        *out = json_real(strtod(tmp, NULL));
    } else {
        long long v = strtoll(tmp, NULL, 10);
        *out = errno ? NULL : json_integer(v);
    }
    if (!*out) {
        set_err(p->err, p->errlen, p->s, start, "number %s out of range", tmp);
        return -1;
    }
    return 0;
}

/* Reads the `(arg)` of a filter that takes one. */
static int parse_arg(parser *p, filter *f, arg_kind kind, const char *name) {
    size_t at;

    skip_blanks(p);
    if (p->s[p->i] != '(') {
        if (!p->s[p->i]) return unexpected(p, "'('");
        set_err(p->err, p->errlen, p->s, p->i, "filter '%s' needs an argument",
                name);
        return -1;
    }
    p->i++;
    skip_blanks(p);
    at = p->i;
    if (kind == ARG_LITERAL) {
        char c = p->s[p->i];
        if (c == '"' || c == '\'') {
            if (parse_string(p, &f->arg) < 0) return -1;
        } else if (c == '-' || is_digit(c)) {
            if (parse_number(p, &f->arg) < 0) return -1;
        } else {
            return unexpected(p, "a quoted string or a number");
        }
    } else {
        json_t *num = NULL;
        if (!is_digit(p->s[p->i])) return unexpected(p, "a count");
        if (parse_number(p, &num) < 0) return -1;
        int ok = json_is_integer(num) && json_integer_value(num) >= 0 &&
                 json_integer_value(num) <= TEMPLATE_MAX_OUTPUT;
        if (ok) f->n = (size_t)json_integer_value(num);
        json_decref(num);
        if (!ok) {
            set_err(p->err, p->errlen, p->s, at,
                    "truncate needs a whole number from 0 to %d",
                    TEMPLATE_MAX_OUTPUT);
            return -1;
        }
    }
    skip_blanks(p);
    if (p->s[p->i] != ')') return unexpected(p, "')'");
    p->i++;
    return 0;
}

/* Reads one `name` or `name(arg)` after a '|'. */
static int parse_filter(parser *p, expr *e) {
    size_t start = p->i, n;
    filter *f;

    while (is_ident(p->s[p->i])) p->i++;
    n = p->i - start;
    if (n == 0) return unexpected(p, "a filter name");
    if (e->nfilters == MAX_FILTERS) {
        set_err(p->err, p->errlen, p->s, start, "more than %d filters",
                MAX_FILTERS);
        return -1;
    }
    for (size_t k = 0; k < sizeof(filter_table) / sizeof(filter_table[0]); k++) {
        const char *name = filter_table[k].name;
        if (strlen(name) != n || memcmp(name, p->s + start, n) != 0) continue;
        f = &e->filters[e->nfilters++];
        f->kind = filter_table[k].kind;
        f->arg = NULL;
        f->n = 0;
        if (filter_table[k].arg != ARG_NONE)
            return parse_arg(p, f, filter_table[k].arg, name);
        skip_blanks(p);
        if (p->s[p->i] == '(') {
            set_err(p->err, p->errlen, p->s, p->i,
                    "filter '%s' takes no argument", name);
            return -1;
        }
        return 0;
    }
    set_err(p->err, p->errlen, p->s, start, "unknown filter '%.*s'",
            (int)(n > 64 ? 64 : n), p->s + start);
    return -1;
}

/* Parses the expression whose {{ starts at `open`. On success e->end is the
 * offset past its }}; on failure e holds nothing that needs clearing. */
static int parse_expr(const char *s, size_t open, expr *e, char *err,
                      size_t errlen) {
    parser p = {s, open + 2, open, err, errlen};

    e->nfilters = 0;
    e->start = open;
    skip_blanks(&p);
    if (parse_path(&p, e) < 0) return -1;
    for (;;) {
        skip_blanks(&p);
        if (s[p.i] == '}' && s[p.i + 1] == '}') break;
        if (s[p.i] != '|') {
            unexpected(&p, "'|' or '}}'");
            goto fail;
        }
        p.i++;
        skip_blanks(&p);
        if (parse_filter(&p, e) < 0) goto fail;
    }
    e->end = p.i + 2;
    return 0;
fail:
    expr_clear(e);
    return -1;
}

/* ---- evaluation ---- */

/* Follows a dotted path; numeric components index arrays. Returns a borrowed
 * reference, or NULL when any step is missing. */
static const json_t *resolve(const json_t *ctx, const char *path) {
    const json_t *cur = ctx;

    while (cur && *path) {
        size_t n = strcspn(path, ".");
        if (json_is_object(cur)) {
            cur = json_object_getn(cur, path, n);
        } else if (json_is_array(cur)) {
            size_t idx = 0;
            for (size_t k = 0; k < n && cur; k++) {
                if (!is_digit(path[k]) || idx > (SIZE_MAX - 9) / 10) cur = NULL;
                else idx = idx * 10 + (size_t)(path[k] - '0');
            }
            if (cur) cur = json_array_get(cur, idx);
        } else {
            cur = NULL;
        }
        path += n;
        if (*path == '.') path++;
    }
    return cur;
}

/* Appends v's text form: strings as themselves, scalars in JSON form, null
 * and missing as nothing, objects and arrays as compact JSON. */
static int to_text(const json_t *v, buf *b) {
    char tmp[64];

    if (!v || json_is_null(v)) return 0;
    if (json_is_string(v))
        return buf_add(b, json_string_value(v), json_string_length(v));
    if (json_is_integer(v)) {
        snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT,
                 json_integer_value(v));
        return buf_add(b, tmp, strlen(tmp));
    }
    if (json_is_real(v)) {
        real_shortest(json_real_value(v), tmp, sizeof(tmp));
        return buf_add(b, tmp, strlen(tmp));
    }
    if (json_is_boolean(v)) {
        const char *t = json_is_true(v) ? "true" : "false";
        return buf_add(b, t, strlen(t));
    }
    return json_dump_callback(v, dump_to_buf, b, JSON_COMPACT | JSON_ENCODE_ANY);
}

static int is_empty(const json_t *v) {
    return !v || json_is_null(v) ||
           (json_is_string(v) && json_string_length(v) == 0);
}

static int is_unreserved(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
           c == '~';
}

static int urlencode(const buf *in, buf *out) {
    static const char hex[] = "0123456789ABCDEF";
    for (size_t k = 0; k < in->len; k++) {
        unsigned char c = (unsigned char)in->p[k];
        char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
        int rc = is_unreserved(c) ? buf_add(out, (char *)&c, 1)
                                  : buf_add(out, esc, 3);
        if (rc < 0) return -1;
    }
    return 0;
}

/* Byte length of the first n UTF-8 characters of t, so a cut never splits a
 * multi-byte sequence. */
static size_t utf8_prefix(const char *t, size_t len, size_t n) {
    size_t k = 0, chars = 0;
    while (k < len) {
        if (((unsigned char)t[k] & 0xC0) != 0x80 && chars++ == n) break;
        k++;
    }
    return k;
}

/* Applies one text filter to v. Returns a new string, or NULL with the
 * buffer's reason in `why`. */
static json_t *apply(const filter *f, const json_t *v, buf *why) {
    buf t = {.max = TEMPLATE_MAX_OUTPUT}, o = {.max = TEMPLATE_MAX_OUTPUT};
    json_t *res = NULL;
    int rc;

    if (f->kind == F_JSON) {
        rc = v ? json_dump_callback(v, dump_to_buf, &t,
                                    JSON_COMPACT | JSON_ENCODE_ANY)
               : buf_add(&t, "null", 4);
    } else {
        rc = to_text(v, &t);
    }
    if (rc < 0) goto out;
    if (f->kind == F_URLENCODE) {
        if (urlencode(&t, &o) < 0) {
            t.toobig = o.toobig;
            goto out;
        }
        free(t.p);
        t = o;
        o.p = NULL;
    }
    /* ASCII only: bytes of multi-byte characters are >= 0x80 and untouched,
     * so the result stays valid UTF-8. */
    if (f->kind == F_UPPER) {
        for (size_t k = 0; k < t.len; k++)
            if (t.p[k] >= 'a' && t.p[k] <= 'z') t.p[k] = (char)(t.p[k] - 32);
    } else if (f->kind == F_LOWER) {
        for (size_t k = 0; k < t.len; k++)
            if (t.p[k] >= 'A' && t.p[k] <= 'Z') t.p[k] = (char)(t.p[k] + 32);
    }
    if (f->kind == F_TRUNCATE) t.len = utf8_prefix(t.p, t.len, f->n);
    /* Every transform keeps valid UTF-8 valid, so skip the re-check. */
    res = json_stringn_nocheck(t.p ? t.p : "", t.len);
out:
    why->toobig = t.toobig;
    free(t.p);
    free(o.p);
    return res;
}

/* Evaluates e, parsed from s. *cur is the result, borrowed from ctx or from
 * *owned (a new reference the caller drops); NULL when the path is missing.
 * Only a default filter's value is shared: nothing in ctx is ever changed. */
static int eval_expr(const expr *e, const json_t *ctx, const json_t **cur,
                     json_t **owned, const char *s, char *err, size_t errlen) {
    *owned = NULL;
    *cur = resolve(ctx, e->path);
    for (int k = 0; k < e->nfilters; k++) {
        const filter *f = &e->filters[k];
        json_t *next;
        buf why = {.max = TEMPLATE_MAX_OUTPUT};

        if (f->kind == F_DEFAULT) {
            if (!is_empty(*cur)) continue;
            next = json_incref(f->arg);
        } else if (!(next = apply(f, *cur, &why))) {
            buf_err(&why, err, errlen, s, e->start);
            json_decref(*owned);
            *owned = NULL;
            return -1;
        }
        json_decref(*owned);
        *owned = next;
        *cur = next;
    }
    return 0;
}

/* Renders s into out. The text may hold NUL bytes copied from the context;
 * template_render refuses those, template_render_json keeps them. Each
 * expression that starts at or after offset encode_from is percent-encoded
 * as one URL component, unless its last filter already is urlencode. */
static int render(const char *s, const json_t *ctx, buf *out, size_t encode_from, char *err,
                  size_t errlen) {
    size_t i = 0;
    expr e;

    for (;;) {
        const char *open = strstr(s + i, "{{");
        size_t lit = open ? (size_t)(open - (s + i)) : strlen(s + i);
        const json_t *cur;
        json_t *owned;
        int rc;

        if (buf_add(out, s + i, lit) < 0) {
            buf_err(out, err, errlen, s, i);
            return -1;
        }
        if (!open) return 0;
        i += lit;
        if (parse_expr(s, i, &e, err, errlen) < 0) return -1;
        rc = eval_expr(&e, ctx, &cur, &owned, s, err, errlen);
        bool encode = e.start >= encode_from &&
                      !(e.nfilters && e.filters[e.nfilters - 1].kind == F_URLENCODE);
        if (rc == 0 && !encode && (rc = to_text(cur, out)) < 0) buf_err(out, err, errlen, s, i);
        if (rc == 0 && encode) {
            buf text = {.max = out->max};
            if ((rc = to_text(cur, &text)) == 0) rc = urlencode(&text, out);
            if (rc < 0) {
                out->toobig |= text.toobig;
                buf_err(out, err, errlen, s, i);
            }
            free(text.p);
        }
        json_decref(owned);
        expr_clear(&e);
        if (rc < 0) return -1;
        i = e.end;
    }
}

static size_t cap_len(size_t maxlen) {
    return maxlen < TEMPLATE_MAX_OUTPUT ? maxlen : TEMPLATE_MAX_OUTPUT;
}

/* Besides the header's contract: a default filter also replaces null and
 * "", as an absent Alertmanager label and an empty one are the same thing. */
static char *render_text(const char *tmpl, const json_t *ctx, size_t maxlen,
                         size_t encode_from, char *err, size_t errlen) {
    buf out = {.max = cap_len(maxlen)};
    char *res = NULL;

    if (!tmpl) {
        plain_err(err, errlen, "no template");
        goto out;
    }
    if (render(tmpl, ctx, &out, encode_from, err, errlen) < 0) goto out;
    /* A caller sees a C string; a NUL from the context would silently cut
     * it short (a command line, a URL), so refuse instead. */
    if (out.p && memchr(out.p, '\0', out.len)) {
        plain_err(err, errlen, "rendered text contains a NUL byte");
        goto out;
    }
    if (!out.p && !(out.p = strdup(""))) {
        plain_err(err, errlen, "out of memory");
        goto out;
    }
    res = out.p;
    out.p = NULL;
out:
    free(out.p);
    return res;
}

char *template_render(const char *tmpl, const json_t *ctx, size_t maxlen,
                      char *err, size_t errlen) {
    return render_text(tmpl, ctx, maxlen, SIZE_MAX, err, errlen);
}

/* ---- URLs ---- */

static int whole_expr(const char *s, expr *e, char *err, size_t errlen);

/* Where a URL's origin (scheme, host and port) ends in s: at the first
 * '/', '?' or '#' after "://"; without "://" the whole text is origin. */
static size_t origin_end(const char *s) {
    const char *sep = strstr(s, "://");
    if (!sep) return strlen(s);
    size_t i = (size_t)(sep - s) + 3;
    return i + strcspn(s + i, "/?#");
}

bool template_url_origin_templated(const char *tmpl) {
    const char *open = tmpl ? strstr(tmpl, "{{") : NULL;
    return open && (size_t)(open - tmpl) < origin_end(tmpl);
}

char *template_render_url(const char *tmpl, const json_t *ctx, size_t maxlen,
                          char *err, size_t errlen) {
    return render_text(tmpl, ctx, maxlen, tmpl ? origin_end(tmpl) : 0, err, errlen);
}

bool template_is_whole(const char *tmpl) {
    expr e;
    char err[8];
    if (!tmpl || whole_expr(tmpl, &e, err, sizeof(err)) <= 0) return false;
    expr_clear(&e);
    return true;
}

int template_unescaped(const char *tmpl, const char *filter_name, char *err, size_t errlen) {
    const char *open;
    size_t i = 0;
    int n = 0;
    expr e;

    if (!tmpl) return 0;
    while ((open = strstr(tmpl + i, "{{"))) {
        if (parse_expr(tmpl, (size_t)(open - tmpl), &e, err, errlen) < 0) return -1;
        const char *last = NULL;
        for (size_t k = 0; e.nfilters && k < sizeof(filter_table) / sizeof(filter_table[0]); k++)
            if (filter_table[k].kind == e.filters[e.nfilters - 1].kind) last = filter_table[k].name;
        if (!last || strcmp(last, filter_name) != 0) n++;
        expr_clear(&e);
        i = e.end;
    }
    return n;
}

/* ---- template_render_json ---- */

typedef struct walker {
    const json_t *ctx;
    size_t budget; /* bytes the rest of the tree may still produce */
    size_t max;
    char where[MAX_WHERE + 4];
    size_t wlen;
    char *err;
    size_t errlen;
} walker;

static int count_bytes(const char *data, size_t n, void *arg) {
    size_t *left = arg;
    (void)data;
    if (n > *left) return -1;
    *left -= n;
    return 0;
}

/* Charges v's serialised size to the budget, so deep copies of big context
 * values are bounded like interpolated text. */
static int charge(walker *w, const json_t *v) {
    size_t left = w->budget;
    if (json_is_string(v)) {
        /* counted as text, the way interpolated strings are */
        if (json_string_length(v) > left) return -1;
        w->budget -= json_string_length(v);
        return 0;
    }
    if (json_dump_callback(v, count_bytes, &left,
                           JSON_COMPACT | JSON_ENCODE_ANY) < 0)
        return -1;
    w->budget = left;
    return 0;
}

static void where_push(walker *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void where_push(walker *w, const char *fmt, ...) {
    va_list ap;
    if (w->wlen >= MAX_WHERE) return;
    va_start(ap, fmt);
    int n = vsnprintf(w->where + w->wlen, MAX_WHERE - w->wlen, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= MAX_WHERE - w->wlen) {
        strcpy(w->where + MAX_WHERE - 1, "...");
        w->wlen = MAX_WHERE;
    } else {
        w->wlen += (size_t)n;
    }
}

/* Prefixes an error from rendering one string with where it sits. */
static void where_err(walker *w, const char *inner) {
    plain_err(w->err, w->errlen, "%s: %s", w->wlen ? w->where : "(root)",
              inner);
}

/* The expression when s (between optional blanks) is exactly one {{ }}:
 * returns 1 with e filled, 0 when s is anything else, -1 on a syntax error. */
static int whole_expr(const char *s, expr *e, char *err, size_t errlen) {
    size_t i = 0;

    while (is_blank(s[i])) i++;
    if (s[i] != '{' || s[i + 1] != '{') return 0;
    if (parse_expr(s, i, e, err, errlen) < 0) return -1;
    i = e->end;
    while (is_blank(s[i])) i++;
    if (s[i]) {
        expr_clear(e);
        return 0;
    }
    return 1;
}

/* The value of a string that is exactly one expression: a deep copy of what
 * the path names (so types survive), a filter's result, or "" if missing. */
static json_t *whole_value(walker *w, const char *s, const expr *e,
                           char *inner, size_t innerlen) {
    const json_t *cur;
    json_t *owned, *res = NULL;

    if (eval_expr(e, w->ctx, &cur, &owned, s, inner, innerlen) < 0)
        return NULL;
    if (!cur) res = json_string("");
    else if (owned) res = json_incref(owned);
    else res = json_deep_copy(cur);
    json_decref(owned);
    if (!res) {
        snprintf(inner, innerlen, "out of memory");
    } else if (charge(w, res) < 0) {
        json_decref(res);
        res = NULL;
        snprintf(inner, innerlen, "rendered tree exceeds %zu bytes", w->max);
    }
    return res;
}

/* Any other string: interpolated text, charged to the budget. */
static json_t *text_value(walker *w, const char *s, char *inner,
                          size_t innerlen) {
    buf out = {.max = w->budget};
    json_t *res = NULL;

    if (render(s, w->ctx, &out, SIZE_MAX, inner, innerlen) < 0) {
        if (out.toobig)
            snprintf(inner, innerlen, "rendered tree exceeds %zu bytes", w->max);
        goto out;
    }
    w->budget -= out.len;
    /* The text came from valid UTF-8 pieces cut at character boundaries. */
    if (!(res = json_stringn_nocheck(out.p ? out.p : "", out.len)))
        snprintf(inner, innerlen, "out of memory");
out:
    free(out.p);
    return res;
}

static json_t *walk_string(walker *w, const json_t *node) {
    const char *s = json_string_value(node);
    char inner[512];
    json_t *res = NULL;
    expr e;
    int whole;

    /* templates are C strings; a NUL would hide the rest of this one */
    if (memchr(s, '\0', json_string_length(node))) {
        where_err(w, "string contains a NUL byte");
        return NULL;
    }
    whole = whole_expr(s, &e, inner, sizeof(inner));
    if (whole > 0) {
        res = whole_value(w, s, &e, inner, sizeof(inner));
        expr_clear(&e);
    } else if (whole == 0) {
        res = text_value(w, s, inner, sizeof(inner));
    }
    if (!res) where_err(w, inner);
    return res;
}

static json_t *walk(walker *w, const json_t *node, int depth);

static json_t *walk_object(walker *w, const json_t *node, int depth) {
    /* jansson's iterators take a non-const object; nothing is modified. */
    json_t *obj = (json_t *)node, *res = json_object(), *v;
    const char *key;
    size_t klen, mark = w->wlen;

    if (!res) return NULL;
    json_object_keylen_foreach(obj, key, klen, v) {
        where_push(w, "%s%.*s", w->wlen ? "." : "", (int)(klen > 64 ? 64 : klen),
                   key);
        json_t *child = walk(w, v, depth + 1);
        w->wlen = mark;
        w->where[mark] = '\0';
        if (!child || json_object_setn_new_nocheck(res, key, klen, child) < 0) {
            json_decref(res);
            return NULL;
        }
    }
    return res;
}

static json_t *walk_array(walker *w, const json_t *node, int depth) {
    json_t *res = json_array();
    size_t mark = w->wlen;

    if (!res) return NULL;
    for (size_t k = 0; k < json_array_size(node); k++) {
        where_push(w, "[%zu]", k);
        json_t *child = walk(w, json_array_get(node, k), depth + 1);
        w->wlen = mark;
        w->where[mark] = '\0';
        if (!child || json_array_append_new(res, child) < 0) {
            json_decref(res);
            return NULL;
        }
    }
    return res;
}

static json_t *walk(walker *w, const json_t *node, int depth) {
    json_t *res;

    if (depth > MAX_DEPTH) {
        char msg[64];
        snprintf(msg, sizeof(msg), "nested deeper than %d levels", MAX_DEPTH);
        where_err(w, msg);
        return NULL;
    }
    if (json_is_string(node)) return walk_string(w, node);
    if (json_is_object(node)) res = walk_object(w, node, depth);
    else if (json_is_array(node)) res = walk_array(w, node, depth);
    else res = json_deep_copy(node); /* a scalar: the copy is trivial */
    /* Children fill err themselves; only allocation failures land here. */
    if (!res && w->err && w->errlen && !w->err[0]) where_err(w, "out of memory");
    return res;
}

/* Besides the header's contract: `maxlen` bounds the whole tree (the text
 * of every string plus the serialised size of every copied value), not each
 * string; a whole-string expression whose path is missing gives "" (as
 * template_render would) while one naming a JSON null gives null; nesting
 * past MAX_DEPTH is refused; errors name the string's place in the tree,
 * e.g. `body.blocks[0].text: column 7: unknown filter 'uper'`. */
json_t *template_render_json(const json_t *tree, const json_t *ctx,
                             size_t maxlen, char *err, size_t errlen) {
    walker w = {.ctx = ctx, .budget = cap_len(maxlen), .max = cap_len(maxlen),
                .err = err, .errlen = errlen};

    if (err && errlen) err[0] = '\0';
    if (!tree) {
        plain_err(err, errlen, "no template tree");
        return NULL;
    }
    return walk(&w, tree, 1);
}

/* ---- template_check ---- */

int template_check(const char *tmpl, int (*cb)(const char *path, void *arg),
                   void *arg, char *err, size_t errlen) {
    const char *open;
    size_t i = 0;
    expr e;

    if (!tmpl) {
        plain_err(err, errlen, "no template");
        return -1;
    }
    while ((open = strstr(tmpl + i, "{{"))) {
        int rc;
        if (parse_expr(tmpl, (size_t)(open - tmpl), &e, err, errlen) < 0)
            return -1;
        expr_clear(&e);
        i = e.end;
        if (cb && (rc = cb(e.path, arg)) != 0) return rc;
    }
    return 0;
}
