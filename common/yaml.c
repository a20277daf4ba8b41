/* yaml.c - YAML and JSON text into jansson trees that remember their lines */
#include "common/yaml.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfyaml.h>

typedef struct conv {
    const char *name;
    const char *buf; /* the source text, which token marks point into */
    size_t len;
    json_t *positions;
    char *err;
    size_t errlen;
} conv;

/* libfyaml 0.7 marks only scalar tokens: a collection is placed where its
 * first scalar starts, which is the line a person would look at anyway. */
static const struct fy_mark *node_mark(struct fy_node *fyn) {
    void *iter = NULL;
    for (int guard = 0; fyn && guard < YAML_MAX_DEPTH + 2; guard++) {
        switch (fy_node_get_type(fyn)) {
        case FYNT_SCALAR: {
            struct fy_token *t = fy_node_get_scalar_token(fyn);
            return t ? fy_token_start_mark(t) : NULL;
        }
        case FYNT_SEQUENCE:
            iter = NULL;
            fyn = fy_node_sequence_iterate(fyn, &iter);
            break;
        case FYNT_MAPPING: {
            iter = NULL;
            struct fy_node_pair *pair = fy_node_mapping_iterate(fyn, &iter);
            fyn = pair ? fy_node_pair_key(pair) : NULL;
            break;
        }
        default:
            return NULL;
        }
    }
    return NULL;
}

static void remember(conv *c, const char *pointer, struct fy_node *fyn) {
    if (!c->positions) return;
    const struct fy_mark *m = node_mark(fyn);
    if (!m) return;
    json_object_set_new(c->positions, pointer, json_pack("[ii]", m->line + 1, m->column + 1));
}

static void fail_at(conv *c, struct fy_node *fyn, const char *what) {
    const struct fy_mark *m = node_mark(fyn);
    if (m)
        snprintf(c->err, c->errlen, "%s:%d:%d: %s", c->name, m->line + 1, m->column + 1, what);
    else
        snprintf(c->err, c->errlen, "%s: %s", c->name, what);
}

/* YAML 1.2 core schema resolution of a plain scalar. */
static json_t *plain_scalar(const char *s, size_t len) {
    char buf[64];
    if (len == 0 || (len == 1 && s[0] == '~') || (len == 4 && (!memcmp(s, "null", 4) ||
        !memcmp(s, "Null", 4) || !memcmp(s, "NULL", 4))))
        return json_null();
    if ((len == 4 && (!memcmp(s, "true", 4) || !memcmp(s, "True", 4) || !memcmp(s, "TRUE", 4))))
        return json_true();
    if ((len == 5 && (!memcmp(s, "false", 5) || !memcmp(s, "False", 5) || !memcmp(s, "FALSE", 5))))
        return json_false();
    if (len < sizeof(buf)) {
        memcpy(buf, s, len);
        buf[len] = '\0';
        char *end;
        const char *digits = (buf[0] == '-' || buf[0] == '+') ? buf + 1 : buf;
        if (*digits >= '0' && *digits <= '9') {
            errno = 0;
            long long v = strtoll(buf, &end, 10);
            if (*end == '\0' && errno == 0) return json_integer(v);
            errno = 0;
            double d = strtod(buf, &end);
            if (*end == '\0' && errno == 0 && isfinite(d) && strpbrk(buf, "xXpP") == NULL)
                return json_real(d);
        }
    }
    return json_stringn(s, len);
}

static json_t *convert(conv *c, struct fy_node *fyn, char *pointer, size_t plen, int depth);

/* Decodes a single-quoted scalar from the source text. libfyaml 0.7.12 reads
 * a run of escaped quotes wrongly ('a''''b' gives "a'''") and leaks while
 * doing so. Inside the quotes '' is one quote, and line breaks fold: one
 * becomes a space, n blank-separated ones n-1 newlines, blanks around them
 * go. Returns malloc'd text or NULL when the token's place is unknown. */
static char *single_quoted(const conv *c, struct fy_node *fyn, size_t *len) {
    struct fy_token *t = fy_node_get_scalar_token(fyn);
    const struct fy_mark *sm = t ? fy_token_start_mark(t) : NULL;
    const struct fy_mark *em = t ? fy_token_end_mark(t) : NULL;
    if (!sm || !em || sm->input_pos > em->input_pos || em->input_pos > c->len) return NULL;
    const char *s = c->buf + sm->input_pos, *e = c->buf + em->input_pos;
    char *out = malloc((size_t)(e - s) + 1); /* the text only shrinks */
    size_t n = 0;
    if (!out) return NULL;
    while (s < e) {
        if (*s == '\'') {
            out[n++] = '\'';
            s += (e - s) >= 2 ? 2 : 1;
        } else if (*s == '\n' || *s == '\r') {
            size_t breaks = 0;
            while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\t')) n--;
            for (; s < e && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'); s++)
                if (*s == '\n' || (*s == '\r' && !(e - s >= 2 && s[1] == '\n'))) breaks++;
            if (breaks == 1) out[n++] = ' ';
            for (size_t k = 1; k < breaks; k++) out[n++] = '\n';
        } else {
            out[n++] = *s++;
        }
    }
    out[n] = '\0';
    *len = n;
    return out;
}

/* A scalar's text as a malloc'd string (it may hold NULs: see *len). */
static char *scalar_text(const conv *c, struct fy_node *fyn, size_t *len) {
    if (fy_node_get_style(fyn) == FYNS_SINGLE_QUOTED) {
        char *text = single_quoted(c, fyn, len);
        if (text) return text;
    }
    const char *s = fy_node_get_scalar(fyn, len);
    enum fy_node_style style = fy_node_get_style(fyn);
    /* libfyaml 0.7.12 reads an empty block scalar that ends the input
     * ("a: |\n") as one NUL byte; a block scalar has no escapes to make one. */
    if (s && *len == 1 && s[0] == '\0' && (style == FYNS_LITERAL || style == FYNS_FOLDED))
        *len = 0;
    char *copy = s ? malloc(*len + 1) : NULL;
    if (copy) {
        memcpy(copy, s, *len);
        copy[*len] = '\0';
    }
    return copy;
}

static json_t *convert_scalar(conv *c, struct fy_node *fyn) {
    size_t len;
    char *s = scalar_text(c, fyn, &len);
    if (!s) {
        fail_at(c, fyn, "unreadable scalar");
        return NULL;
    }
    json_t *v = fy_node_get_style(fyn) == FYNS_PLAIN ? plain_scalar(s, len) : json_stringn(s, len);
    free(s);
    if (!v) fail_at(c, fyn, "text is not valid UTF-8");
    return v;
}

/* Appends "/token" (escaped per RFC 6901) to pointer; returns new length. */
static size_t pointer_push(char *pointer, size_t plen, size_t cap, const char *tok, size_t tlen) {
    size_t n = plen;
    if (n + 1 < cap) pointer[n++] = '/';
    for (size_t i = 0; i < tlen && n + 2 < cap; i++) {
        if (tok[i] == '~') { pointer[n++] = '~'; pointer[n++] = '0'; }
        else if (tok[i] == '/') { pointer[n++] = '~'; pointer[n++] = '1'; }
        else pointer[n++] = tok[i];
    }
    pointer[n] = '\0';
    return n;
}

#define POINTER_CAP 1024

static json_t *convert(conv *c, struct fy_node *fyn, char *pointer, size_t plen, int depth) {
    json_t *out = NULL;
    void *iter = NULL;

    if (depth > YAML_MAX_DEPTH) {
        fail_at(c, fyn, "nested too deeply");
        return NULL;
    }
    if (fy_node_get_style(fyn) == FYNS_ALIAS) {
        fail_at(c, fyn, "YAML aliases (*name) are not supported");
        return NULL;
    }
    remember(c, pointer, fyn);
    switch (fy_node_get_type(fyn)) {
    case FYNT_SCALAR:
        return convert_scalar(c, fyn);
    case FYNT_SEQUENCE: {
        out = json_array();
        struct fy_node *item;
        size_t i = 0;
        while ((item = fy_node_sequence_iterate(fyn, &iter))) {
            char idx[24];
            int n = snprintf(idx, sizeof(idx), "%zu", i++);
            size_t l = pointer_push(pointer, plen, POINTER_CAP, idx, (size_t)n);
            json_t *v = convert(c, item, pointer, l, depth + 1);
            pointer[plen] = '\0';
            if (!v) goto fail;
            json_array_append_new(out, v);
        }
        return out;
    }
    case FYNT_MAPPING: {
        out = json_object();
        struct fy_node_pair *pair;
        while ((pair = fy_node_mapping_iterate(fyn, &iter))) {
            struct fy_node *k = fy_node_pair_key(pair);
            size_t klen;
            if (!k || fy_node_get_type(k) != FYNT_SCALAR) {
                fail_at(c, k ? k : fyn, "mapping keys must be plain text");
                goto fail;
            }
            char *kz = scalar_text(c, k, &klen);
            if (!kz) {
                fail_at(c, k, "unreadable key");
                goto fail;
            }
            if (json_object_get(out, kz)) {
                char msg[300];
                snprintf(msg, sizeof(msg), "duplicate key \"%.200s\"", kz);
                fail_at(c, k, msg);
                free(kz);
                goto fail;
            }
            size_t l = pointer_push(pointer, plen, POINTER_CAP, kz, klen);
            struct fy_node *val = fy_node_pair_value(pair);
            /* An empty value ("key:") has no place of its own: use the key's. */
            remember(c, pointer, k);
            json_t *v = val ? convert(c, val, pointer, l, depth + 1) : json_null();
            pointer[plen] = '\0';
            if (!v || json_object_set_new(out, kz, v) < 0) {
                if (v) fail_at(c, k, "key is not valid UTF-8");
                free(kz);
                goto fail;
            }
            free(kz);
        }
        return out;
    }
    default:
        fail_at(c, fyn, "unsupported YAML node");
        return NULL;
    }
fail:
    json_decref(out);
    return NULL;
}

/* Finds the first byte that is not well-formed UTF-8. libfyaml 0.7 ends the
 * document quietly at some of them, dropping the rest of the file. */
static int utf8_check(const char *buf, size_t len, int *line, int *col) {
    static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
    const unsigned char *s = (const unsigned char *)buf;
    *line = *col = 1;
    for (size_t i = 0; i < len;) {
        unsigned char b = s[i];
        size_t n = b < 0x80 ? 1 : (b & 0xe0) == 0xc0 ? 2 : (b & 0xf0) == 0xe0 ? 3
                 : (b & 0xf8) == 0xf0 ? 4 : 0;
        if (n == 0 || n > len - i) return -1;
        uint32_t cp = n == 1 ? b : (uint32_t)(b & (0x7f >> n));
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return -1;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < least[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return -1;
        if (b == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
        i += n;
    }
    return 0;
}

/* Whether text holds only blanks and comments. */
static bool blank(const char *buf, size_t len) {
    bool comment = false;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\n' || buf[i] == '\r') comment = false;
        else if (buf[i] == '#') comment = true;
        else if (!comment && buf[i] != ' ' && buf[i] != '\t') return false;
    }
    return true;
}

/* A document of nothing, or only "---", has no root or an empty plain one. */
static bool empty_root(struct fy_node *root) {
    size_t len = 1, tlen;
    if (!root) return true;
    if (fy_node_get_type(root) != FYNT_SCALAR || fy_node_get_style(root) != FYNS_PLAIN)
        return false;
    return fy_node_get_scalar(root, &len) && len == 0 && !fy_node_get_tag(root, &tlen);
}

json_t *yaml_parse(const char *name, const char *buf, size_t len,
                   json_t **positions, char *err, size_t errlen) {
    struct fy_diag_cfg dcfg;
    struct fy_diag *diag = NULL;
    struct fy_parser *fyp = NULL;
    struct fy_document *fyd = NULL, *extra = NULL;
    json_t *out = NULL;
    char pointer[POINTER_CAP] = "";
    conv c = {name, buf, len, NULL, err, errlen};
    int line, col;

    if (positions) *positions = NULL;
    if (utf8_check(buf, len, &line, &col) < 0) {
        snprintf(err, errlen, "%s:%d:%d: not valid UTF-8", name, line, col);
        return NULL;
    }
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;
    dcfg.output_fn = NULL;
    dcfg.colorize = false;
    diag = fy_diag_create(&dcfg);
    if (!diag) {
        snprintf(err, errlen, "%s: out of memory", name);
        return NULL;
    }
    fy_diag_set_collect_errors(diag, true);

    /* A parser rather than fy_document_build_from_string(), which reads the
     * first document only: a second one must not go unnoticed. convert()
     * finds duplicate keys itself, as libfyaml's check reads key text
     * through the path that leaks (see single_quoted()). */
    struct fy_parse_cfg pcfg = {.flags = FYPCF_QUIET | FYPCF_COLLECT_DIAG |
                                         FYPCF_ALLOW_DUPLICATE_KEYS, .diag = diag};
    if (!(fyp = fy_parser_create(&pcfg)) || fy_parser_set_string(fyp, buf, len) < 0) {
        snprintf(err, errlen, "%s: out of memory", name);
        goto out;
    }
    fyd = fy_parse_load_document(fyp);
    /* Empty documents after the first ("a: 1\n---\n") are harmless. */
    while (fyd && !fy_diag_got_error(diag) && (extra = fy_parse_load_document(fyp)) &&
           empty_root(fy_document_root(extra))) {
        fy_parse_document_destroy(fyp, extra);
        extra = NULL;
    }
    /* libfyaml can also give up on some bytes (0xff) without saying why. */
    if (fy_diag_got_error(diag) || (!fyd && !blank(buf, len))) {
        void *it = NULL;
        struct fy_diag_error *e = fy_diag_errors_iterate(diag, &it);
        /* libfyaml's error positions are already 1-based. */
        if (e)
            snprintf(err, errlen, "%s:%d:%d: %s", name, e->line, e->column, e->msg);
        else
            snprintf(err, errlen, "%s: not valid YAML or JSON", name);
        goto out;
    }
    struct fy_node *root = fyd ? fy_document_root(fyd) : NULL;
    if (empty_root(root)) {
        snprintf(err, errlen, "%s: the file is empty", name);
        goto out;
    }
    if (extra) {
        fail_at(&c, fy_document_root(extra), "a second YAML document (---); one per file");
        goto out;
    }
    if (positions) c.positions = json_object();
    out = convert(&c, root, pointer, 0, 0);
    if (out && positions) {
        *positions = c.positions;
        c.positions = NULL;
    }
out:
    json_decref(c.positions);
    if (extra) fy_parse_document_destroy(fyp, extra);
    if (fyd) fy_parse_document_destroy(fyp, fyd);
    if (fyp) fy_parser_destroy(fyp);
    fy_diag_destroy(diag);
    return out;
}

void yaml_position(const json_t *positions, const char *pointer, int *line, int *column) {
    char buf[POINTER_CAP];
    *line = *column = 0;
    if (!positions) return;
    snprintf(buf, sizeof(buf), "%s", pointer);
    for (;;) {
        json_t *p = json_object_get(positions, buf);
        if (p) {
            *line = (int)json_integer_value(json_array_get(p, 0));
            *column = (int)json_integer_value(json_array_get(p, 1));
            return;
        }
        char *slash = strrchr(buf, '/');
        if (!slash) return;
        *slash = '\0';
    }
}

bool yaml_file_name(const char *name) {
    size_t n = strlen(name);
    if (name[0] == '.') return false;
    return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
           (n > 4 && strcmp(name + n - 4, ".yml") == 0) ||
           (n > 5 && strcmp(name + n - 5, ".json") == 0);
}
