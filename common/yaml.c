/* yaml.c - YAML and JSON text into jansson trees that remember their lines */
#include "common/yaml.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfyaml.h>

typedef struct conv {
    const char *name;
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

static json_t *convert_scalar(conv *c, struct fy_node *fyn) {
    size_t len;
    const char *s = fy_node_get_scalar(fyn, &len);
    if (!s) {
        fail_at(c, fyn, "unreadable scalar");
        return NULL;
    }
    json_t *v = fy_node_get_style(fyn) == FYNS_PLAIN ? plain_scalar(s, len) : json_stringn(s, len);
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
            const char *key = (k && fy_node_get_type(k) == FYNT_SCALAR) ? fy_node_get_scalar(k, &klen) : NULL;
            if (!key) {
                fail_at(c, k ? k : fyn, "mapping keys must be plain text");
                goto fail;
            }
            char *kz = strndup(key, klen);
            if (!kz) goto fail;
            if (json_object_get(out, kz)) {
                char msg[300];
                snprintf(msg, sizeof(msg), "duplicate key \"%.200s\"", kz);
                fail_at(c, k, msg);
                free(kz);
                goto fail;
            }
            size_t l = pointer_push(pointer, plen, POINTER_CAP, key, klen);
            struct fy_node *val = fy_node_pair_value(pair);
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

json_t *yaml_parse(const char *name, const char *buf, size_t len,
                   json_t **positions, char *err, size_t errlen) {
    struct fy_diag_cfg dcfg;
    struct fy_diag *diag = NULL;
    struct fy_document *fyd = NULL;
    json_t *out = NULL;
    char pointer[POINTER_CAP] = "";
    conv c = {name, NULL, err, errlen};

    if (positions) *positions = NULL;
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

    struct fy_parse_cfg pcfg = {.flags = FYPCF_QUIET | FYPCF_COLLECT_DIAG, .diag = diag};
    fyd = fy_document_build_from_string(&pcfg, buf, len);
    if (!fyd || fy_document_get_diag(fyd) == NULL || fy_diag_got_error(diag)) {
        void *it = NULL;
        struct fy_diag_error *e = fy_diag_errors_iterate(diag, &it);
        if (e)
            snprintf(err, errlen, "%s:%d:%d: %s", name, e->line + 1, e->column + 1, e->msg);
        else
            snprintf(err, errlen, "%s: not valid YAML or JSON", name);
        goto out;
    }
    struct fy_node *root = fy_document_root(fyd);
    if (!root) {
        snprintf(err, errlen, "%s: the file is empty", name);
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
    fy_document_destroy(fyd);
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
