/* promparse.c - a strict parser of the Prometheus text format 0.0.4, for tests */
#include "tests/harness/promparse.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct family {
    char *name;
    char *help;
    prom_type type;
    int has_help, has_type, closed;
    size_t nsamples;
} family;

typedef struct parser {
    int line;
    char *err;
    size_t errlen;
    family *fam;
    size_t nfam, capfam;
    size_t cur; /* the family whose lines are being read, plus 1; 0 before any */
    prom_sample *s;
    size_t *sfam; /* family index of each sample */
    size_t ns, caps;
    char *name, *base, *tok; /* scratch, PROM_LINE_MAX + 1 bytes each */
} parser;

static const char *const type_names[] = {"untyped", "counter", "gauge", "histogram", "summary"};

const char *prom_type_name(prom_type t) {
    return (unsigned)t < sizeof(type_names) / sizeof(type_names[0]) ? type_names[t] : "untyped";
}

static int fail_at(parser *p, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail_at(parser *p, int line, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (p->errlen) snprintf(p->err, p->errlen, "line %d: %s", line, msg);
    return -1;
}

#define fail(p, ...) fail_at((p), (p)->line, __VA_ARGS__)

static int is_blank(char c) { return c == ' ' || c == '\t'; }

static void skip_blanks(const char **c) {
    while (is_blank(**c)) (*c)++;
}

static int name_char(char c, int first, int colon) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':') ||
           (!first && c >= '0' && c <= '9');
}

/* Reads a metric (colon) or label name at *c; returns its length (0: none). */
static size_t read_name(const char **c, int colon) {
    const char *s = *c;
    while (name_char(**c, *c == s, colon)) (*c)++;
    return (size_t)(*c - s);
}

/* Length of the valid UTF-8 character at s, or 0. */
static size_t utf8_len(const unsigned char *s) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        return s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80 ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        return s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80 && (s[3] & 0xC0) == 0x80 ? 4
                                                                                      : 0;
    }
    return 0;
}

/* A float as Go's strconv.ParseFloat (which Prometheus uses) reads it, less
 * the hexadecimal forms no exporter writes. */
static int parse_float(const char *tok, double *v) {
    const char *t = tok;
    int digits = 0;
    if (strcasecmp(tok, "nan") == 0) {
        *v = NAN;
        return 0;
    }
    if (*t == '+' || *t == '-') t++;
    if (strcasecmp(t, "inf") == 0 || strcasecmp(t, "infinity") == 0) {
        *v = *tok == '-' ? -INFINITY : INFINITY;
        return 0;
    }
    for (const char *q = t; *q; q++) {
        if (*q >= '0' && *q <= '9') digits++;
        else if (!strchr(".eE+-", *q)) return -1;
    }
    if (!digits) return -1;
    char *end;
    errno = 0;
    double d = strtod(tok, &end);
    if (*end || end == tok || (errno == ERANGE && isinf(d))) return -1;
    *v = d;
    return 0;
}

static int parse_int64(const char *tok, int64_t *v) {
    const char *t = tok + (*tok == '+' || *tok == '-');
    if (!*t) return -1;
    for (const char *q = t; *q; q++)
        if (*q < '0' || *q > '9') return -1;
    char *end;
    errno = 0;
    long long n = strtoll(tok, &end, 10);
    if (*end || errno) return -1;
    *v = n;
    return 0;
}

static long find_family(const parser *p, const char *name) {
    if (p->cur && strcmp(p->fam[p->cur - 1].name, name) == 0) return (long)p->cur - 1;
    for (size_t i = 0; i < p->nfam; i++)
        if (strcmp(p->fam[i].name, name) == 0) return (long)i;
    return -1;
}

static long get_family(parser *p, const char *name) {
    long i = find_family(p, name);
    if (i >= 0) return i;
    if (p->nfam == p->capfam) {
        size_t cap = p->capfam ? p->capfam * 2 : 16;
        family *grown = realloc(p->fam, cap * sizeof(*grown));
        if (!grown) return fail(p, "out of memory");
        p->fam = grown;
        p->capfam = cap;
    }
    family *f = &p->fam[p->nfam];
    memset(f, 0, sizeof(*f));
    if (!(f->name = strdup(name))) return fail(p, "out of memory");
    return (long)p->nfam++;
}

/* Makes family i the current one: its lines must not have ended before. */
static int enter_group(parser *p, long i) {
    family *f = &p->fam[i];
    if (f->closed)
        return fail(p, "%s appears again after other metrics: its lines are not one group",
                    f->name);
    if (p->cur && p->cur - 1 != (size_t)i) p->fam[p->cur - 1].closed = 1;
    p->cur = (size_t)i + 1;
    return 0;
}

/* # HELP name docstring, # TYPE name type, or a comment. */
static int parse_comment(parser *p, const char *c) {
    int help;
    char *name = p->name;

    c++;
    skip_blanks(&c);
    if (strncmp(c, "HELP", 4) == 0 && (is_blank(c[4]) || !c[4])) help = 1;
    else if (strncmp(c, "TYPE", 4) == 0 && (is_blank(c[4]) || !c[4])) help = 0;
    else return 0;
    c += 4;
    skip_blanks(&c);
    const char *start = c;
    size_t n = read_name(&c, 1);
    if (n == 0 || (*c && !is_blank(*c)))
        return fail(p, "%s needs a metric name", help ? "HELP" : "TYPE");
    memcpy(name, start, n);
    name[n] = '\0';
    skip_blanks(&c);

    long fi = get_family(p, name);
    if (fi < 0 || enter_group(p, fi) < 0) return -1;
    family *f = &p->fam[fi];

    if (help) {
        if (f->has_help) return fail(p, "a second HELP line for %s", name);
        char *doc = malloc(strlen(c) + 1), *d = doc;
        if (!doc) return fail(p, "out of memory");
        for (; *c; c++) {
            if (*c != '\\') {
                *d++ = *c;
                continue;
            }
            c++;
            if (*c == '\\') *d++ = '\\';
            else if (*c == 'n') *d++ = '\n';
            else {
                free(doc);
                return fail(p, "HELP of %s: \\%c is not an escape (only \\\\ and \\n are)", name,
                            *c ? *c : '0');
            }
        }
        *d = '\0';
        f->help = doc;
        f->has_help = 1;
        return 0;
    }

    if (f->has_type) return fail(p, "a second TYPE line for %s", name);
    if (f->nsamples) return fail(p, "the TYPE line for %s comes after its samples", name);
    size_t i = 0;
    while (i < sizeof(type_names) / sizeof(type_names[0]) && strcmp(c, type_names[i]) != 0) i++;
    if (i == sizeof(type_names) / sizeof(type_names[0]))
        return fail(p, "TYPE of %s: \"%s\" is not counter, gauge, histogram, summary or untyped",
                    name, c);
    f->type = (prom_type)i;
    f->has_type = 1;
    return 0;
}

/* The family a sample name belongs to: x for x_bucket, x_sum, x_count when x
 * is a histogram (x_sum, x_count for a summary), else the name itself. */
static long sample_family(parser *p, const char *name) {
    static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
    size_t len = strlen(name);
    for (size_t i = 0; i < 3; i++) {
        size_t sl = strlen(suffixes[i]);
        if (len <= sl || strcmp(name + len - sl, suffixes[i]) != 0) continue;
        char *base = p->base;
        memcpy(base, name, len - sl);
        base[len - sl] = '\0';
        long fi = find_family(p, base);
        if (fi < 0) continue;
        if (p->fam[fi].type == PROM_HISTOGRAM || (p->fam[fi].type == PROM_SUMMARY && i > 0))
            return fi;
    }
    return get_family(p, name);
}

static void sample_clear(prom_sample *s) {
    free(s->name);
    free(s->family);
    free(s->help);
    for (size_t i = 0; i < s->nlabels; i++) {
        free(s->labels[i].name);
        free(s->labels[i].value);
    }
    free(s->labels);
}

/* Reads the quoted label value at *c (after the opening quote). */
static int read_label_value(parser *p, const char **c, const char *label, char **out) {
    const char *q = *c;
    char *v = malloc(strlen(q) + 1), *d = v;
    if (!v) return fail(p, "out of memory");
    for (;; q++) {
        if (!*q) {
            free(v);
            return fail(p, "the value of label %s has no closing quote", label);
        }
        if (*q == '"') break;
        if (*q != '\\') {
            *d++ = *q;
            continue;
        }
        q++;
        if (*q == '\\' || *q == '"') *d++ = *q;
        else if (*q == 'n') *d++ = '\n';
        else {
            free(v);
            return fail(p, "label %s: \\%c is not an escape (only \\\\, \\\" and \\n are)", label,
                        *q ? *q : '0');
        }
    }
    *d = '\0';
    *c = q + 1;
    *out = v;
    return 0;
}

static int parse_labels(parser *p, const char **cp, prom_sample *s) {
    const char *c = *cp + 1;
    size_t cap = 0;
    for (;;) {
        skip_blanks(&c);
        if (*c == '}') break;
        const char *start = c;
        size_t n = read_name(&c, 0);
        if (n == 0) return fail(p, "%s: expected a label name or }", s->name);
        if (s->nlabels == PROM_LABELS_MAX)
            return fail(p, "%s: more than %d labels", s->name, PROM_LABELS_MAX);
        if (s->nlabels == cap) {
            cap = cap ? cap * 2 : 4;
            prom_label *grown = realloc(s->labels, cap * sizeof(*grown));
            if (!grown) return fail(p, "out of memory");
            s->labels = grown;
        }
        prom_label *l = &s->labels[s->nlabels];
        l->value = NULL;
        if (!(l->name = strndup(start, n))) return fail(p, "out of memory");
        s->nlabels++;
        for (size_t i = 0; i + 1 < s->nlabels; i++)
            if (strcmp(s->labels[i].name, l->name) == 0)
                return fail(p, "%s: label %s appears twice", s->name, l->name);
        skip_blanks(&c);
        if (*c != '=') return fail(p, "%s: expected = after label %s", s->name, l->name);
        c++;
        skip_blanks(&c);
        if (*c != '"') return fail(p, "%s: the value of label %s is not quoted", s->name, l->name);
        c++;
        if (read_label_value(p, &c, l->name, &l->value) < 0) return -1;
        skip_blanks(&c);
        if (*c == ',') {
            c++;
            continue;
        }
        if (*c != '}') return fail(p, "%s: expected , or } after label %s", s->name, l->name);
        break;
    }
    *cp = c + 1;
    return 0;
}

/* Copies the token at *c (up to a blank or the end) into tok. */
static void read_token(const char **c, char *tok) {
    size_t n = 0;
    while (**c && !is_blank(**c)) tok[n++] = *(*c)++;
    tok[n] = '\0';
}

static int parse_sample(parser *p, const char *c) {
    char *name = p->name, *tok = p->tok;
    const char *start = c;
    size_t n = read_name(&c, 1);

    if (n == 0) return fail(p, "expected a metric name, HELP, TYPE or a comment");
    memcpy(name, start, n);
    name[n] = '\0';
    if (*c && *c != '{' && !is_blank(*c))
        return fail(p, "%s: '%c' cannot follow a metric name", name, *c);

    long fi = sample_family(p, name);
    if (fi < 0 || enter_group(p, fi) < 0) return -1;
    if (p->fam[fi].type == PROM_HISTOGRAM && strcmp(name, p->fam[fi].name) == 0)
        return fail(p, "histogram %s: a sample without _bucket, _sum or _count", name);

    if (p->ns == PROM_SAMPLES_MAX) return fail(p, "more than %d samples", PROM_SAMPLES_MAX);
    if (p->ns == p->caps) {
        size_t cap = p->caps ? p->caps * 2 : 64;
        prom_sample *grown = realloc(p->s, cap * sizeof(*grown));
        if (!grown) return fail(p, "out of memory");
        p->s = grown;
        size_t *fgrown = realloc(p->sfam, cap * sizeof(*fgrown));
        if (!fgrown) return fail(p, "out of memory");
        p->sfam = fgrown;
        p->caps = cap;
    }
    prom_sample *s = &p->s[p->ns];
    memset(s, 0, sizeof(*s));
    p->sfam[p->ns] = (size_t)fi;
    p->ns++; /* counted now so that a failure below frees what it holds */
    s->line = p->line;
    if (!(s->name = strdup(name))) return fail(p, "out of memory");

    skip_blanks(&c);
    if (*c == '{' && parse_labels(p, &c, s) < 0) return -1;
    skip_blanks(&c);
    read_token(&c, tok);
    if (!*tok) return fail(p, "%s has no value", name);
    if (parse_float(tok, &s->value) < 0) return fail(p, "%s: \"%s\" is not a float", name, tok);
    skip_blanks(&c);
    if (*c) {
        read_token(&c, tok);
        if (parse_int64(tok, &s->timestamp) < 0)
            return fail(p, "%s: \"%s\" is not a timestamp (int64 milliseconds)", name, tok);
        s->has_timestamp = 1;
        skip_blanks(&c);
        if (*c) return fail(p, "%s: unexpected text after the timestamp", name);
    }
    p->fam[fi].nsamples++;
    return 0;
}

static int parse_line(parser *p, char *l) {
    size_t len = strlen(l);
    while (len > 0 && is_blank(l[len - 1])) l[--len] = '\0';
    const char *c = l;
    skip_blanks(&c);
    if (!*c) return 0;
    if (*c == '#') return parse_comment(p, c);
    return parse_sample(p, c);
}

/* ---- checks across lines ---- */

static int cmp_label(const void *a, const void *b) {
    return strcmp(((const prom_label *)a)->name, ((const prom_label *)b)->name);
}

/* An unambiguous key of a name and its labels (sorted), leaving out label
 * `skip` (may be NULL). Caller frees. */
static char *series_key(const char *name, const prom_sample *s, const char *skip) {
    prom_label *sorted = malloc((s->nlabels ? s->nlabels : 1) * sizeof(*sorted));
    size_t len = strlen(name) + 24, n = 0;
    char *key;
    if (!sorted) return NULL;
    if (s->nlabels) {
        memcpy(sorted, s->labels, s->nlabels * sizeof(*sorted));
        qsort(sorted, s->nlabels, sizeof(*sorted), cmp_label);
    }
    for (size_t i = 0; i < s->nlabels; i++)
        len += strlen(sorted[i].name) + strlen(sorted[i].value) + 48;
    if ((key = malloc(len))) {
        n = (size_t)snprintf(key, len, "%zu:%s", strlen(name), name);
        for (size_t i = 0; i < s->nlabels; i++) {
            if (skip && strcmp(sorted[i].name, skip) == 0) continue;
            n += (size_t)snprintf(key + n, len - n, "|%zu:%s=%zu:%s", strlen(sorted[i].name),
                                  sorted[i].name, strlen(sorted[i].value), sorted[i].value);
        }
    }
    free(sorted);
    return key;
}

typedef struct keyed {
    char *key;
    size_t i; /* sample index */
} keyed;

static int cmp_keyed(const void *a, const void *b) {
    const keyed *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c) return c;
    return x->i < y->i ? -1 : x->i > y->i;
}

static void keyed_free(keyed *k, size_t n) {
    for (size_t i = 0; i < n; i++) free(k[i].key);
    free(k);
}

static int check_unique(parser *p) {
    keyed *k = calloc(p->ns ? p->ns : 1, sizeof(*k));
    int rc = -1;
    if (!k) return fail(p, "out of memory");
    for (size_t i = 0; i < p->ns; i++) {
        k[i].i = i;
        if (!(k[i].key = series_key(p->s[i].name, &p->s[i], NULL))) {
            fail(p, "out of memory");
            goto out;
        }
    }
    qsort(k, p->ns, sizeof(*k), cmp_keyed);
    for (size_t i = 1; i < p->ns; i++) {
        if (strcmp(k[i].key, k[i - 1].key) == 0) {
            const prom_sample *s = &p->s[k[i].i];
            fail_at(p, s->line, "%s has the same labels as on line %d", s->name,
                    p->s[k[i - 1].i].line);
            goto out;
        }
    }
    rc = 0;
out:
    keyed_free(k, p->ns);
    return rc;
}

/* Whether name is base followed by suffix. */
static int ends_with(const char *name, const char *base, const char *suffix) {
    size_t n = strlen(base);
    return strncmp(name, base, n) == 0 && strcmp(name + n, suffix) == 0;
}

/* One label set of a histogram or summary, its samples in the order
 * written: buckets (quantiles) increasing, histogram counts cumulative,
 * le="+Inf" equal to _count. */
static int check_group(parser *p, const keyed *k, size_t n) {
    const prom_sample *first = &p->s[k[0].i];
    const family *f = &p->fam[p->sfam[k[0].i]];
    int hist = f->type == PROM_HISTOGRAM;
    const char *bound_label = hist ? "le" : "quantile";
    double prev = -INFINITY, prev_count = 0, count = 0, inf_count = 0;
    int has_inf = 0, has_count = 0, has_sum = 0, nbounds = 0;

    for (size_t j = 0; j < n; j++) {
        const prom_sample *s = &p->s[k[j].i];
        int bounded = hist ? ends_with(s->name, f->name, "_bucket") : strcmp(s->name, f->name) == 0;
        if (ends_with(s->name, f->name, "_count")) {
            has_count = 1;
            count = s->value;
        } else if (ends_with(s->name, f->name, "_sum")) {
            has_sum = 1;
        }
        if (!bounded) continue;
        const char *bs = prom_label_get(s, bound_label);
        double b;
        if (!bs) return fail_at(p, s->line, "%s %s: a sample without a %s label",
                                prom_type_name(f->type), f->name, bound_label);
        if (parse_float(bs, &b) < 0 || isnan(b))
            return fail_at(p, s->line, "%s %s: %s=\"%s\" is not a number",
                           prom_type_name(f->type), f->name, bound_label, bs);
        if (nbounds++ > 0 && !(b > prev))
            return fail_at(p, s->line, "%s %s: %s=\"%s\" is not above the %s before it",
                           prom_type_name(f->type), f->name, bound_label, bs, bound_label);
        prev = b;
        if (!hist) continue;
        if (s->value < prev_count || isnan(s->value))
            return fail_at(p, s->line,
                           "histogram %s: bucket le=\"%s\" counts %g, less than the %g before it",
                           f->name, bs, s->value, prev_count);
        prev_count = s->value;
        if (isinf(b) && b > 0) {
            has_inf = 1;
            inf_count = s->value;
        }
    }
    if (!hist) return 0;
    if (!has_inf)
        return fail_at(p, first->line, "histogram %s: a label set without a le=\"+Inf\" bucket",
                       f->name);
    if (!has_count)
        return fail_at(p, first->line, "histogram %s: a label set without %s_count", f->name,
                       f->name);
    if (!has_sum)
        return fail_at(p, first->line, "histogram %s: a label set without %s_sum", f->name,
                       f->name);
    if (inf_count != count)
        return fail_at(p, first->line,
                       "histogram %s: le=\"+Inf\" bucket counts %g but %s_count is %g", f->name,
                       inf_count, f->name, count);
    return 0;
}

static int check_histograms(parser *p) {
    keyed *k = calloc(p->ns ? p->ns : 1, sizeof(*k));
    size_t nk = 0;
    int rc = -1;
    if (!k) return fail(p, "out of memory");
    for (size_t i = 0; i < p->ns; i++) {
        const family *f = &p->fam[p->sfam[i]];
        if (f->type != PROM_HISTOGRAM && f->type != PROM_SUMMARY) continue;
        k[nk].i = i;
        if (!(k[nk].key = series_key(f->name, &p->s[i],
                                     f->type == PROM_HISTOGRAM ? "le" : "quantile"))) {
            fail(p, "out of memory");
            goto out;
        }
        nk++;
    }
    qsort(k, nk, sizeof(*k), cmp_keyed);
    for (size_t i = 0, j; i < nk; i = j) {
        for (j = i + 1; j < nk && strcmp(k[j].key, k[i].key) == 0; j++) {}
        if (check_group(p, k + i, j - i) < 0) goto out;
    }
    rc = 0;
out:
    keyed_free(k, nk);
    return rc;
}

/* Fills each sample's family, type and help now that every HELP is read. */
static int finish(parser *p) {
    for (size_t i = 0; i < p->ns; i++) {
        prom_sample *s = &p->s[i];
        const family *f = &p->fam[p->sfam[i]];
        s->type = f->type;
        if (!(s->family = strdup(f->name))) return fail(p, "out of memory");
        if (f->help && !(s->help = strdup(f->help))) return fail(p, "out of memory");
    }
    return 0;
}

int prom_parse(const char *text, prom_sample **out, size_t *n, char *err, size_t errlen) {
    parser p = {.err = err, .errlen = errlen};
    char *line = malloc(PROM_LINE_MAX + 1);
    int rc = -1;

    *out = NULL;
    *n = 0;
    if (errlen) err[0] = '\0';
    p.name = malloc(PROM_LINE_MAX + 1);
    p.base = malloc(PROM_LINE_MAX + 1);
    p.tok = malloc(PROM_LINE_MAX + 1);
    if (!line || !p.name || !p.base || !p.tok) {
        fail(&p, "out of memory");
        goto out;
    }
    for (const char *pos = text; *pos;) {
        const char *nl = strchr(pos, '\n');
        p.line++;
        if (!nl) {
            fail(&p, "the last line does not end with a line feed");
            goto out;
        }
        size_t len = (size_t)(nl - pos);
        if (len > PROM_LINE_MAX) {
            fail(&p, "longer than %d bytes", PROM_LINE_MAX);
            goto out;
        }
        for (size_t i = 0; i < len;) {
            size_t cl = utf8_len((const unsigned char *)pos + i);
            if (cl == 0 || i + cl > len) {
                fail(&p, "byte %zu is not valid UTF-8", i + 1);
                goto out;
            }
            i += cl;
        }
        memcpy(line, pos, len);
        line[len] = '\0';
        if (parse_line(&p, line) < 0) goto out;
        pos = nl + 1;
    }
    if (check_unique(&p) < 0 || check_histograms(&p) < 0 || finish(&p) < 0) goto out;
    *out = p.s;
    *n = p.ns;
    p.s = NULL;
    p.ns = 0;
    rc = 0;
out:
    prom_samples_free(p.s, p.ns);
    for (size_t i = 0; i < p.nfam; i++) {
        free(p.fam[i].name);
        free(p.fam[i].help);
    }
    free(p.fam);
    free(p.sfam);
    free(p.name);
    free(p.base);
    free(p.tok);
    free(line);
    return rc;
}

void prom_samples_free(prom_sample *samples, size_t n) {
    for (size_t i = 0; i < n; i++) sample_clear(&samples[i]);
    free(samples);
}

const char *prom_label_get(const prom_sample *s, const char *name) {
    for (size_t i = 0; i < s->nlabels; i++)
        if (strcmp(s->labels[i].name, name) == 0) return s->labels[i].value;
    return NULL;
}

const prom_sample *prom_find(const prom_sample *samples, size_t n, const char *name, ...) {
    for (size_t i = 0; i < n; i++) {
        const prom_sample *s = &samples[i];
        size_t pairs = 0;
        int match = strcmp(s->name, name) == 0;
        va_list ap;
        va_start(ap, name);
        for (const char *k; match && (k = va_arg(ap, const char *));) {
            const char *v = va_arg(ap, const char *), *have = prom_label_get(s, k);
            match = v && have && strcmp(have, v) == 0;
            pairs++;
        }
        va_end(ap);
        if (match && pairs == s->nlabels) return s;
    }
    return NULL;
}
