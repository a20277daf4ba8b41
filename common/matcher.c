/* matcher.c - Alertmanager-style label matchers: name="v", !=, =~, !~ */
#include "common/matcher.h"
#include "common/util.h"

#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TEXT 4096        /* bytes in one matcher */
#define MAX_REGEX_COST 4000  /* estimated NFA nodes a regex may expand to */
#define MAX_OPTIONAL 256     /* parts of it that may match "" */
#define MAX_GROUP_DEPTH 32   /* nested ( ) in a regex */

struct matcher {
    char *name;
    char *value;
    match_op op;
    int has_re;
    regex_t re;
};

static void set_err(char *err, size_t errlen, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Errors name the 1-based column of offset `col`. */
static void set_err(char *err, size_t errlen, size_t col, const char *fmt, ...) {
    va_list ap;
    int n;

    if (!err || errlen == 0) return;
    n = snprintf(err, errlen, "column %zu: ", col + 1);
    if (n < 0 || (size_t)n >= errlen) return;
    va_start(ap, fmt);
    vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

static int is_name_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_name_char(char c) {
    return is_name_start(c) || (c >= '0' && c <= '9');
}

/* Names a byte for an error message without echoing control characters. */
static const char *show_char(char c, char tmp[8]) {
    if (c > 0x20 && c < 0x7f)
        snprintf(tmp, 8, "'%c'", c);
    else
        snprintf(tmp, 8, "0x%02x", (unsigned)(unsigned char)c);
    return tmp;
}

static int parse_name(const char *s, size_t *i, matcher *m, char *err,
                      size_t errlen) {
    size_t start = *i;
    char tmp[8];

    if (!is_name_start(s[*i])) {
        if (!s[*i])
            set_err(err, errlen, *i, "expected a label name");
        else
            set_err(err, errlen, *i, "expected a label name, found %s",
                    show_char(s[*i], tmp));
        return -1;
    }
    while (is_name_char(s[*i])) (*i)++;
    if (!(m->name = strndup(s + start, *i - start))) {
        set_err(err, errlen, start, "out of memory");
        return -1;
    }
    return 0;
}

static int parse_op(const char *s, size_t *i, matcher *m, char *err,
                    size_t errlen) {
    static const struct {
        const char *text;
        match_op op;
    } ops[] = {{"=~", MATCH_RE}, {"!~", MATCH_NRE}, {"!=", MATCH_NE},
               {"=", MATCH_EQ}}; /* two-byte operators first */
    char tmp[8];

    for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
        size_t n = strlen(ops[k].text);
        if (strncmp(s + *i, ops[k].text, n) == 0) {
            m->op = ops[k].op;
            *i += n;
            return 0;
        }
    }
    if (!s[*i])
        set_err(err, errlen, *i, "expected =, !=, =~ or !~");
    else
        set_err(err, errlen, *i, "expected =, !=, =~ or !~, found %s",
                show_char(s[*i], tmp));
    return -1;
}

/* Reads "..." into out. As in Alertmanager, \" \\ and \n are escapes and any
 * other backslash is kept, so =~"a\.b" means what a regex author expects. */
static int parse_quoted(const char *s, size_t *i, char *out, char *err,
                        size_t errlen) {
    size_t start = (*i)++, n = 0;

    for (;;) {
        char c = s[*i];
        if (!c || (c == '\\' && !s[*i + 1])) {
            set_err(err, errlen, start, "unterminated quoted value");
            return -1;
        }
        (*i)++;
        if (c == '"') break;
        if (c == '\\') {
            char e = s[(*i)++];
            if (e == 'n') {
                c = '\n';
            } else if (e == '"' || e == '\\') {
                c = e;
            } else {
                out[n++] = '\\';
                c = e;
            }
        }
        out[n++] = c;
    }
    out[n] = '\0';
    return 0;
}

/* Reads a bare value: everything up to a blank or the end. */
static int parse_bare(const char *s, size_t *i, char *out, char *err,
                      size_t errlen) {
    size_t n = 0;
    char tmp[8];

    while (s[*i] && !is_blank(s[*i])) {
        char c = s[*i];
        if (c == ',' || c == '"' || c == '\'') {
            set_err(err, errlen, *i, "%s in an unquoted value",
                    show_char(c, tmp));
            return -1;
        }
        out[n++] = c;
        (*i)++;
    }
    out[n] = '\0';
    return 0;
}

/* Skips a bracket expression starting at v[i] == '['. Returns the offset
 * past its ']', or `len` when it never closes (regcomp reports that). */
static size_t skip_bracket(const char *v, size_t i, size_t len) {
    i++;
    if (i < len && v[i] == '^') i++;
    if (i < len && v[i] == ']') i++; /* a leading ] is literal */
    while (i < len && v[i] != ']') {
        /* [:alpha:], [.x.] and [=x=] may hold a ']' of their own */
        if (v[i] == '[' && i + 1 < len && v[i + 1] &&
            strchr(":.=", v[i + 1])) {
            char close = v[i + 1];
            i += 2;
            while (i + 1 < len && !(v[i] == close && v[i + 1] == ']')) i++;
            i += 2;
            continue;
        }
        i++;
    }
    return i < len ? i + 1 : len;
}

/* Reads `{m}`, `{m,}`, `{m,n}` or `{,n}` at v[*i] into *lo and *hi (0 when
 * open-ended). Returns 1 and moves *i past it, or 0 when this '{' is not an
 * interval (regcomp then reports it). */
static int read_interval(const char *v, size_t *i, size_t len, size_t *lo,
                         size_t *hi) {
    size_t k = *i + 1, digits = 0, *bound = lo;

    *lo = *hi = 0;
    for (; k < len; k++) {
        if (v[k] >= '0' && v[k] <= '9') {
            if (*bound < 100000) *bound = *bound * 10 + (size_t)(v[k] - '0');
            digits++;
        } else if (v[k] == ',' && bound == lo) {
            bound = hi;
            digits++; /* glibc reads {,n} as {0,n} */
        } else {
            break;
        }
    }
    if (!digits || k >= len || v[k] != '}') return 0;
    if (bound == lo) *hi = *lo; /* {m} */
    *i = k + 1;
    return 1;
}

/* What the vetting scan knows about a piece of regex: how many nodes glibc
 * builds for it, how many of its parts may match "" (regexec's work per
 * input byte grows with the states those let it be in at once: a? 2000
 * times takes 2.6 s on a 5 KB label, .{1,3999} 0.4 s), and whether all of
 * it can match "". Counts saturate past the limits. */
typedef struct piece {
    size_t nodes, optional;
    int nullable;
} piece;

/* One open group: the sum so far, its last atom, and how many atoms of the
 * current branch cannot match "" (the branch is nullable when none). */
typedef struct frame {
    piece sum, last;
    size_t solid;
    int any_nullable; /* a finished branch can match "" */
    int quantifiable; /* last atom may take a quantifier */
    int quantified;   /* last token was a quantifier: 2 if it allowed 0 */
} frame;

static size_t add_sat(size_t a, size_t b) {
    return a + b > MAX_REGEX_COST ? MAX_REGEX_COST + 1 : a + b;
}

static size_t mul_sat(size_t a, size_t b) {
    return (b && a > MAX_REGEX_COST / b) ? MAX_REGEX_COST + 1 : a * b;
}

static void add_atom(frame *f, piece a) {
    f->sum.nodes = add_sat(f->sum.nodes, a.nodes);
    f->sum.optional = add_sat(f->sum.optional, a.optional);
    if (!a.nullable) f->solid++;
    f->last = a;
    f->quantifiable = 1;
    f->quantified = 0;
}

/* Applies a quantifier allowing lo..hi copies (hi 0: unbounded) to the last
 * atom; glibc duplicates the atom's tree for each copy beyond one. Returns
 * 0, -1 when stacked on another quantifier, -2 when nothing precedes it, -3
 * when it repeats something that can match "": glibc's regcomp takes
 * exponential time on those ((\b)* 16 times: over 20 s; (a?){0,400}: 3 s;
 * ($|\b(\<|){0,3}|x{0,9}())* alone: 12 s), and they add nothing to what
 * the regex matches. */
static int quantify(frame *f, size_t lo, size_t hi, int lazy_ok) {
    piece *l = &f->last;
    size_t extra = (hi ? hi : lo + 1) - 1;

    if (!f->quantifiable) {
        /* Go's lazy `*?` or `{0,n}?` matches the same strings as `*` or
         * `{0,n}`, where glibc reads (x*)?; after `+` the two would differ
         * on "". Any other stacking is RE2's "nested repetition". */
        if (f->quantified == 2 && lazy_ok) {
            f->quantified = 1; /* and nothing may follow it */
            return 0;
        }
        return f->quantified ? -1 : -2;
    }
    if (hi != 1 && l->nullable) return -3;
    f->sum.nodes = add_sat(f->sum.nodes, mul_sat(l->nodes, extra) + 1);
    /* x{2,5} is xx(x(x(x)?)?)?: three more optional parts */
    f->sum.optional = add_sat(f->sum.optional, mul_sat(l->optional, extra));
    f->sum.optional =
        add_sat(f->sum.optional, hi == 0 ? 1 : (hi > lo ? hi - lo : 0));
    if (lo == 0 && !l->nullable) f->solid--;
    f->quantifiable = 0;
    f->quantified = lo == 0 ? 2 : 1;
    return 0;
}

/* Reads the escape at v[*i] == '\\' as one atom. glibc's word and buffer
 * anchors (\b \B \< \> \` \') match "", which matters to loops over them. */
static const char *escape_atom(const char *v, size_t *i, size_t len,
                               piece *atom) {
    char e = *i + 1 < len ? v[*i + 1] : '\0';

    if (!e) return "regex ends with a lone backslash";
    if (e >= '1' && e <= '9') return "back-references are not supported";
    atom->nullable = atom->optional = strchr("bB<>`'", e) != NULL;
    *i += 2;
    return NULL;
}

static const char *quantify_err(int rc) {
    if (rc == -1) return "nested repetition operator in regex";
    if (rc == -2) return "repetition operator with nothing to repeat";
    if (rc == -3) return "regex repeats something that can match \"\"";
    return NULL;
}

/* Vets a regex before it is wrapped in ^( )$ and compiled. An unmatched ')'
 * is literal in glibc's ERE, so "a)|(b" would escape the anchors;
 * back-references can take exponential time on alert-supplied text and
 * Prometheus (RE2) has none; and some small patterns make regcomp build a
 * huge automaton or take exponential time. Returns 0, or -1 with err filled. */
static int check_regex(const char *v, size_t col, char *err, size_t errlen) {
    size_t len = strlen(v), depth = 0, i = 0, lo, hi;
    frame st[MAX_GROUP_DEPTH + 1], *f = st;
    const char *why = NULL;

    memset(f, 0, sizeof(*f));
    while (i < len && !why) {
        char c = v[i];
        piece atom = {1, 0, 0};

        if (c == '(') {
            if (depth == MAX_GROUP_DEPTH) why = "regex nests groups too deeply";
            else memset(f = &st[++depth], 0, sizeof(*f));
            i++;
            continue;
        } else if (c == ')') {
            if (depth == 0) {
                why = "unbalanced ')' in regex";
                break;
            }
            atom.nodes = add_sat(f->sum.nodes, 1);
            atom.optional = add_sat(f->sum.optional, f->solid == 0);
            atom.nullable = f->any_nullable || f->solid == 0;
            f = &st[--depth];
            add_atom(f, atom);
            i++;
        } else if (c == '|') {
            f->sum.optional = add_sat(f->sum.optional, f->solid == 0);
            f->any_nullable |= f->solid == 0;
            f->solid = 0;
            f->quantifiable = f->quantified = 0;
            f->sum.nodes = add_sat(f->sum.nodes, 1);
            i++;
        } else if (c == '*' || c == '+' || c == '?') {
            why = quantify_err(quantify(f, c == '+', c == '?', c == '?'));
            i++;
        } else if (c == '{' && read_interval(v, &i, len, &lo, &hi)) {
            why = quantify_err(quantify(f, lo, hi, 0));
        } else if (c == '\\') {
            why = escape_atom(v, &i, len, &atom);
            if (!why) add_atom(f, atom);
        } else {
            atom.nullable = atom.optional = c == '^' || c == '$';
            i = c == '[' ? skip_bracket(v, i, len) : i + 1;
            add_atom(f, atom);
        }
        if (f->sum.nodes > MAX_REGEX_COST || f->sum.optional > MAX_OPTIONAL)
            why = "regex too complex";
    }
    if (!why && depth) why = "unbalanced '(' in regex";
    if (why) {
        set_err(err, errlen, col, "%s", why);
        return -1;
    }
    return 0;
}

static int compile_regex(matcher *m, size_t col, char *err, size_t errlen) {
    size_t n = strlen(m->value) + 5;
    char *anchored;
    int rc;

    if (check_regex(m->value, col, err, errlen) < 0) return -1;
    if (!(anchored = malloc(n))) {
        set_err(err, errlen, col, "out of memory");
        return -1;
    }
    /* Prometheus semantics: the whole value must match, not a substring. */
    snprintf(anchored, n, "^(%s)$", m->value);
    rc = regcomp(&m->re, anchored, REG_EXTENDED | REG_NOSUB);
    free(anchored);
    if (rc != 0) {
        char why[128];
        regerror(rc, &m->re, why, sizeof(why));
        set_err(err, errlen, col, "invalid regex \"%.64s\": %s", m->value, why);
        return -1;
    }
    m->has_re = 1;
    return 0;
}

int matcher_parse(const char *text, matcher **out, char *err, size_t errlen) {
    int rc = -1;
    matcher *m = NULL;
    size_t i = 0, vstart;
    char tmp[8];

    if (!out || !text) {
        set_err(err, errlen, 0, "no matcher");
        return -1;
    }
    *out = NULL;
    if (strnlen(text, MAX_TEXT + 1) > MAX_TEXT) {
        set_err(err, errlen, MAX_TEXT, "matcher longer than %d bytes", MAX_TEXT);
        return -1;
    }
    if (!(m = calloc(1, sizeof(*m))) ||
        !(m->value = malloc(strlen(text) + 1))) {
        set_err(err, errlen, 0, "out of memory");
        goto out;
    }
    while (is_blank(text[i])) i++;
    if (parse_name(text, &i, m, err, errlen) < 0) goto out;
    while (is_blank(text[i])) i++;
    if (parse_op(text, &i, m, err, errlen) < 0) goto out;
    while (is_blank(text[i])) i++;
    vstart = i;
    if (text[i] == '"' ? parse_quoted(text, &i, m->value, err, errlen) < 0
                       : parse_bare(text, &i, m->value, err, errlen) < 0)
        goto out;
    while (is_blank(text[i])) i++;
    if (text[i]) {
        set_err(err, errlen, i, "unexpected %s after the value",
                show_char(text[i], tmp));
        goto out;
    }
    if ((m->op == MATCH_RE || m->op == MATCH_NRE) &&
        compile_regex(m, vstart, err, errlen) < 0)
        goto out;
    *out = m;
    m = NULL;
    rc = 0;
out:
    matcher_free(m);
    return rc;
}

/* The text a field compares as: strings as themselves, other values as their
 * JSON text, absent and null as "". Returns NULL only when out of memory;
 * *heap is set when the caller must free it. */
static const char *field_text(const json_t *v, char tmp[64], char **heap,
                              size_t *len) {
    const char *t = tmp;

    *heap = NULL;
    if (!v || json_is_null(v)) {
        t = "";
    } else if (json_is_string(v)) {
        *len = json_string_length(v);
        return json_string_value(v);
    } else if (json_is_integer(v)) {
        snprintf(tmp, 64, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    } else if (json_is_real(v)) {
        real_shortest(json_real_value(v), tmp, 64);
    } else if (json_is_boolean(v)) {
        t = json_is_true(v) ? "true" : "false";
    } else if (!(t = *heap = json_dumps(v, JSON_COMPACT))) {
        return NULL;
    }
    *len = strlen(t);
    return t;
}

static bool regex_matches(const regex_t *re, const char *t, size_t len) {
#ifdef REG_STARTEND
    /* A label may hold a NUL byte; match all of it, not the C-string prefix. */
    if (len > (size_t)INT_MAX) return false; /* regoff_t is an int in glibc */
    regmatch_t span = {.rm_so = 0, .rm_eo = (regoff_t)len};
    return regexec(re, t, 1, &span, REG_STARTEND) == 0;
#else
    (void)len;
    return regexec(re, t, 0, NULL, 0) == 0;
#endif
}

bool matcher_match(const matcher *m, const json_t *fields) {
    char tmp[64], *heap;
    const char *t;
    size_t len = 0;
    bool hit;

    if (!m) return false;
    t = field_text(json_is_object(fields) ? json_object_get(fields, m->name)
                                          : NULL,
                   tmp, &heap, &len);
    if (!t) return false;
    if (m->has_re)
        hit = regex_matches(&m->re, t, len);
    else
        hit = len == strlen(m->value) && memcmp(t, m->value, len) == 0;
    free(heap);
    return (m->op == MATCH_EQ || m->op == MATCH_RE) ? hit : !hit;
}

const char *matcher_name(const matcher *m) { return m->name; }

match_op matcher_op(const matcher *m) { return m->op; }

const char *matcher_value(const matcher *m) { return m->value; }

void matcher_free(matcher *m) {
    if (!m) return;
    if (m->has_re) regfree(&m->re);
    free(m->name);
    free(m->value);
    free(m);
}
