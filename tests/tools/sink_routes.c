/* sink_routes.c - muster-sink's route table: which canned reply a request gets */
#include "sink_routes.h"
#include "sink_interact.h"
#include "sink_utf8.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define METHOD_MAX 32   /* bytes in a rule's method */
#define PATH_MAX_LEN 2048 /* bytes in a rule's path */
#define HEADERS_MAX 64  /* headers in one rule's headers object */
#define HEADER_MAX 4096 /* bytes in one header name or value */
#define FAIL_FIRST_MAX 1000000000

static const char default_fail_body[] = "{\"error\":\"injected failure\"}";

/* One reply as written in the file, before {{n}} and {{path}} expand. */
struct answer {
    unsigned status;
    char *body; /* template text, NUL-terminated */
    size_t body_len;
    int body_is_json;         /* {{path}} is then escaped for a JSON string */
    const char *content_type; /* NULL: none, or the rule's headers set one */
    char **headers;           /* 2 * nheaders strings: name, value template */
    size_t nheaders;
};

struct route {
    char *method; /* NULL: any */
    char *path;   /* NULL: any */
    size_t path_len;
    int prefix; /* path ended in '*', which is not kept */
    unsigned long delay_ms;
    unsigned long fail_first;
    int has_fail_until;
    double fail_until;
    struct answer ok, fail;
    struct sink_interact *interact; /* NULL: none */
    atomic_ulong matched; /* the {{n}} counter */
    atomic_ulong sent;
};

struct sink_routes {
    struct route *v;
    size_t len;
};

static const char *const known_fields[] = {
    "method", "path", "status", "body", "headers", "delay_ms", "fail_first",
    "fail_status", "fail_body", "fail_headers", "fail_until", "then_interact", NULL,
};

/* ---- loading ---------------------------------------------------------- */

/* Reads all of path, at most SINK_ROUTES_FILE_MAX bytes, into a new buffer. */
static int read_file(const char *path, char **out, size_t *out_len, char *err, size_t errlen) {
    int rc = -1;
    FILE *f = NULL;
    char *buf = NULL;
    size_t len;

    if (!(f = fopen(path, "rb"))) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    if (!(buf = malloc(SINK_ROUTES_FILE_MAX + 1))) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    len = fread(buf, 1, SINK_ROUTES_FILE_MAX + 1, f);
    if (ferror(f)) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        goto out;
    }
    if (len > SINK_ROUTES_FILE_MAX) {
        snprintf(err, errlen, "%s: larger than %u bytes", path, SINK_ROUTES_FILE_MAX);
        goto out;
    }
    *out = buf;
    *out_len = len;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    if (f)
        fclose(f);
    return rc;
}

/* A short rendering of v for error messages. */
static void describe(const json_t *v, char *buf, size_t buflen) {
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text) {
        snprintf(buf, buflen, "?");
        return;
    }
    if (strlen(text) > 40)
        snprintf(buf, buflen, "%.37s...", text);
    else
        snprintf(buf, buflen, "%s", text);
    free(text);
}

static int is_token_char(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int is_token(const char *s, size_t max) {
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_token_char((unsigned char)s[i]))
            return 0;
    return 1;
}

/* Reads an optional integer field into *out, defaulting to def. */
static int get_int(const json_t *rule, const char *name, long long def, long long min,
                   long long max, long long *out, const char *where, char *err, size_t errlen) {
    const json_t *v = json_object_get(rule, name);
    char shown[48];

    if (!v) {
        *out = def;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        describe(v, shown, sizeof shown);
        snprintf(err, errlen, "%s: \"%s\" must be an integer in %lld..%lld, not %s", where, name,
                 min, max, shown);
        return -1;
    }
    *out = json_integer_value(v);
    return 0;
}

/* Reads the headers object named name into a, checking names and values. */
static int load_headers(const json_t *rule, const char *name, struct answer *a, const char *where,
                        char *err, size_t errlen) {
    const json_t *obj = json_object_get(rule, name), *value;
    const char *key;
    size_t i = 0;

    if (!obj)
        return 0;
    if (!json_is_object(obj) || json_object_size(obj) > HEADERS_MAX) {
        snprintf(err, errlen, "%s: \"%s\" must be an object of at most %d string values", where,
                 name, HEADERS_MAX);
        return -1;
    }
    if (!(a->headers = calloc(2 * json_object_size(obj) + 1, sizeof *a->headers))) {
        snprintf(err, errlen, "%s: out of memory", where);
        return -1;
    }
    json_object_foreach((json_t *)obj, key, value) {
        const char *text = json_string_value(value);
        if (!is_token(key, HEADER_MAX)) {
            snprintf(err, errlen, "%s: \"%s\": \"%.64s\" is not a valid header name", where, name,
                     key);
            return -1;
        }
        if (!text || strlen(text) > HEADER_MAX || strpbrk(text, "\r\n") ||
            strlen(text) != json_string_length(value)) {
            snprintf(err, errlen,
                     "%s: \"%s\": \"%s\" must be a string of at most %d bytes without CR, LF "
                     "or NUL",
                     where, name, key, HEADER_MAX);
            return -1;
        }
        if (!(a->headers[2 * i] = strdup(key)) || !(a->headers[2 * i + 1] = strdup(text))) {
            snprintf(err, errlen, "%s: out of memory", where);
            return -1;
        }
        a->nheaders = ++i;
        if (strcasecmp(key, "Content-Type") == 0)
            a->content_type = NULL;
    }
    return 0;
}

/* Fills a from the status, body and headers fields named by the three
 * names; the body defaults to def_body (JSON text) or, when NULL, none. */
static int load_answer(const json_t *rule, const char *status_name, long long def_status,
                       const char *body_name, const char *def_body, const char *headers_name,
                       struct answer *a, const char *where, char *err, size_t errlen) {
    const json_t *body = json_object_get(rule, body_name);
    long long status;

    if (get_int(rule, status_name, def_status, 200, 599, &status, where, err, errlen) != 0)
        return -1;
    a->status = (unsigned)status;
    if (json_is_string(body)) {
        a->body = strdup(json_string_value(body));
        a->body_len = json_string_length(body);
        a->content_type = "text/plain; charset=utf-8";
    } else if (body) {
        a->body = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
        a->body_len = a->body ? strlen(a->body) : 0;
        a->body_is_json = 1;
        a->content_type = "application/json";
    } else if (def_body) {
        a->body = strdup(def_body);
        a->body_len = strlen(def_body);
        a->body_is_json = 1;
        a->content_type = "application/json";
    } else {
        a->body = strdup("");
        a->body_len = 0;
    }
    if (!a->body) {
        snprintf(err, errlen, "%s: out of memory", where);
        return -1;
    }
    return load_headers(rule, headers_name, a, where, err, errlen);
}

int sink_routes_check_object(const json_t *v, const char *const *known, const char *what,
                             const char *where, char *err, size_t errlen) {
    const char *key;
    const json_t *field;

    if (!json_is_object(v)) {
        snprintf(err, errlen, "%s: %smust be an object", where, what);
        return -1;
    }
    json_object_foreach((json_t *)v, key, field) {
        size_t i = 0;
        while (known[i] && strcmp(known[i], key) != 0)
            i++;
        if (!known[i]) {
            snprintf(err, errlen, "%s: %sunknown field \"%.64s\"", where, what, key);
            return -1;
        }
    }
    return 0;
}

static int load_route(const json_t *rule, struct route *r, const char *where, char *err,
                      size_t errlen) {
    const json_t *method, *path, *until, *v;
    long long n;

    atomic_init(&r->matched, 0);
    atomic_init(&r->sent, 0);
    if (sink_routes_check_object(rule, known_fields, "", where, err, errlen) != 0)
        return -1;
    if ((method = json_object_get(rule, "method"))) {
        if (!json_is_string(method) || !is_token(json_string_value(method), METHOD_MAX)) {
            snprintf(err, errlen, "%s: \"method\" must be an HTTP method such as \"POST\"", where);
            return -1;
        }
        if (!(r->method = strdup(json_string_value(method))))
            goto oom;
    }
    if ((path = json_object_get(rule, "path"))) {
        const char *p = json_string_value(path);
        size_t len = p ? strlen(p) : 0;
        if (!p || len == 0 || len > PATH_MAX_LEN || len != json_string_length(path) ||
            (p[0] != '/' && strcmp(p, "*") != 0)) {
            snprintf(err, errlen,
                     "%s: \"path\" must be a string starting with \"/\" (or \"*\"), at most %d "
                     "bytes",
                     where, PATH_MAX_LEN);
            return -1;
        }
        r->prefix = p[len - 1] == '*';
        r->path_len = r->prefix ? len - 1 : len;
        if (!(r->path = strndup(p, r->path_len)))
            goto oom;
    }
    if (get_int(rule, "delay_ms", 0, 0, SINK_DELAY_MAX_MS, &n, where, err, errlen) != 0)
        return -1;
    r->delay_ms = (unsigned long)n;
    if (get_int(rule, "fail_first", 0, 0, FAIL_FIRST_MAX, &n, where, err, errlen) != 0)
        return -1;
    r->fail_first = (unsigned long)n;
    if ((until = json_object_get(rule, "fail_until"))) {
        if (!json_is_number(until)) {
            snprintf(err, errlen, "%s: \"fail_until\" must be a unix time in seconds", where);
            return -1;
        }
        r->has_fail_until = 1;
        r->fail_until = json_number_value(until);
    }
    if ((v = json_object_get(rule, "then_interact")) &&
        sink_interact_load(v, where, &r->interact, err, errlen) != 0)
        return -1;
    if (load_answer(rule, "status", 200, "body", NULL, "headers", &r->ok, where, err, errlen) != 0)
        return -1;
    return load_answer(rule, "fail_status", 503, "fail_body", default_fail_body, "fail_headers",
                       &r->fail, where, err, errlen);
oom:
    snprintf(err, errlen, "%s: out of memory", where);
    return -1;
}

static void answer_clear(struct answer *a) {
    free(a->body);
    /* The +1 reaches the name of a pair whose value failed to load. */
    if (a->headers)
        for (size_t i = 0; i < 2 * a->nheaders + 1; i++)
            free(a->headers[i]);
    free(a->headers);
}

void sink_routes_free(struct sink_routes *routes) {
    if (!routes)
        return;
    for (size_t i = 0; i < routes->len; i++) {
        free(routes->v[i].method);
        free(routes->v[i].path);
        answer_clear(&routes->v[i].ok);
        answer_clear(&routes->v[i].fail);
        sink_interact_free(routes->v[i].interact);
    }
    free(routes->v);
    free(routes);
}

/* Builds a table from the parsed JSON array doc; file names it in errors. */
static int routes_from_json(const json_t *doc, const char *file, struct sink_routes **out,
                            char *err, size_t errlen) {
    int rc = -1;
    struct sink_routes *routes = NULL;
    char where[512];

    if (!json_is_array(doc) || json_array_size(doc) > SINK_ROUTES_MAX) {
        snprintf(err, errlen, "%s: must be a JSON array of at most %d rules", file,
                 SINK_ROUTES_MAX);
        goto out;
    }
    if (!(routes = calloc(1, sizeof *routes)) ||
        !(routes->v = calloc(json_array_size(doc) + 1, sizeof *routes->v))) {
        snprintf(err, errlen, "%s: out of memory", file);
        goto out;
    }
    for (size_t i = 0; i < json_array_size(doc); i++) {
        routes->len = i + 1; /* so that sink_routes_free() sees a half-built rule */
        snprintf(where, sizeof where, "%s: route %zu", file, i);
        if (load_route(json_array_get(doc, i), &routes->v[i], where, err, errlen) != 0)
            goto out;
    }
    *out = routes;
    routes = NULL;
    rc = 0;
out:
    sink_routes_free(routes);
    return rc;
}

int sink_routes_load(const char *path, struct sink_routes **out, char *err, size_t errlen) {
    int rc = -1;
    char *text = NULL;
    size_t len = 0;
    json_t *doc = NULL;
    json_error_t jerr;

    *out = NULL;
    if (read_file(path, &text, &len, err, errlen) != 0)
        goto out;
    if (!(doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr))) {
        snprintf(err, errlen, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
        goto out;
    }
    rc = routes_from_json(doc, path, out, err, errlen);
out:
    json_decref(doc);
    free(text);
    return rc;
}

int sink_routes_default(struct sink_routes **out, char *err, size_t errlen) {
    int rc = -1;
    json_t *doc;

    *out = NULL;
    if (!(doc = json_pack("[{s:s, s:i, s:{s:b}}]", "path", "*", "status", 200, "body", "ok", 1))) {
        snprintf(err, errlen, "default routes: out of memory");
        return -1;
    }
    rc = routes_from_json(doc, "default routes", out, err, errlen);
    json_decref(doc);
    return rc;
}

/* ---- matching and answering ------------------------------------------ */

int sink_routes_match(const struct sink_routes *routes, const char *method, const char *path) {
    size_t path_len = strlen(path);

    for (size_t i = 0; i < routes->len; i++) {
        const struct route *r = &routes->v[i];
        if (r->method && strcmp(r->method, method) != 0)
            continue;
        if (r->path) {
            if (r->prefix ? path_len < r->path_len || memcmp(path, r->path, r->path_len) != 0
                          : path_len != r->path_len || memcmp(path, r->path, path_len) != 0)
                continue;
        }
        return (int)i;
    }
    return -1;
}

/* Expands {{n}} to n and {{path}} to path in the len bytes at tmpl, into a
 * new NUL-terminated buffer of at most SINK_REPLY_MAX bytes. Other text,
 * including unknown {{...}}, is copied as it is. */
static int render(const char *tmpl, size_t len, const char *n, const char *path, char **out,
                  size_t *out_len) {
    static const char n_mark[] = "{{n}}", path_mark[] = "{{path}}";
    const size_t n_mark_len = sizeof n_mark - 1, path_mark_len = sizeof path_mark - 1;
    size_t n_len = strlen(n), path_len = strlen(path), need = 0, o = 0;
    char *buf = NULL;

    /* Pass 0 measures, pass 1 copies: the bound is checked before any
     * allocation that a long path times many {{path}} could inflate. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < len;) {
            const char *piece = tmpl + i;
            size_t piece_len = 1, used = 1;
            if (tmpl[i] == '{' && len - i >= n_mark_len && memcmp(tmpl + i, n_mark, n_mark_len) == 0) {
                piece = n;
                piece_len = n_len;
                used = n_mark_len;
            } else if (tmpl[i] == '{' && len - i >= path_mark_len &&
                       memcmp(tmpl + i, path_mark, path_mark_len) == 0) {
                piece = path;
                piece_len = path_len;
                used = path_mark_len;
            }
            if (pass == 0) {
                need += piece_len;
                if (need > SINK_REPLY_MAX)
                    return -1;
            } else {
                memcpy(buf + o, piece, piece_len);
                o += piece_len;
            }
            i += used;
        }
        if (pass == 0 && !(buf = malloc(need + 1)))
            return -1;
    }
    buf[o] = '\0';
    *out = buf;
    *out_len = o;
    return 0;
}

/* path as it must appear between the quotes of a JSON string. */
static char *json_escaped(const char *path) {
    char *fixed, *quoted = NULL, *inner = NULL;
    size_t len;
    json_t *s;

    if (!(fixed = sink_utf8_repair(path, strlen(path), &len)))
        return NULL;
    if ((s = json_stringn(fixed, len))) {
        quoted = json_dumps(s, JSON_ENCODE_ANY);
        json_decref(s);
    }
    if (quoted && (len = strlen(quoted)) >= 2)
        inner = strndup(quoted + 1, len - 2);
    free(quoted);
    free(fixed);
    return inner;
}

int sink_routes_answer(struct sink_routes *routes, int index, const char *path, double now,
                       struct sink_reply *out) {
    int rc = -1;
    struct route *r = &routes->v[index];
    unsigned long n = atomic_fetch_add(&r->matched, 1) + 1;
    int failing = n <= r->fail_first || (r->has_fail_until && now < r->fail_until);
    const struct answer *a = failing ? &r->fail : &r->ok;
    char n_text[24], *path_json = NULL;
    size_t unused;

    memset(out, 0, sizeof *out);
    snprintf(n_text, sizeof n_text, "%lu", n);
    out->status = a->status;
    out->content_type = a->content_type;
    out->delay_ms = r->delay_ms;
    out->injected = failing;
    if (a->body_is_json && strstr(a->body, "{{path}}")) {
        /* In JSON text "{{" only occurs inside strings, so the escaped
         * path always lands between quotes. */
        if (!(path_json = json_escaped(path)))
            goto out;
    }
    if (render(a->body, a->body_len, n_text, path_json ? path_json : path, &out->body,
               &out->body_len) != 0)
        goto out;
    if (a->nheaders) {
        if (!(out->headers = calloc(2 * a->nheaders, sizeof *out->headers)))
            goto out;
        out->nheaders = a->nheaders;
        for (size_t i = 0; i < 2 * a->nheaders; i++)
            if (render(a->headers[i], strlen(a->headers[i]), n_text, path, &out->headers[i],
                       &unused) != 0)
                goto out;
    }
    rc = 0;
out:
    free(path_json);
    if (rc != 0)
        sink_reply_clear(out);
    return rc;
}

struct sink_interact *sink_routes_interaction(const struct sink_routes *routes, int index) {
    return routes->v[index].interact;
}

void sink_routes_note_sent(struct sink_routes *routes, int index) {
    atomic_fetch_add(&routes->v[index].sent, 1);
}

json_t *sink_routes_stats(const struct sink_routes *routes) {
    json_t *list = json_array();

    for (size_t i = 0; list && i < routes->len; i++) {
        const struct route *r = &routes->v[i];
        char *path = NULL;
        json_t *item;
        if (r->path && !(path = malloc(r->path_len + 2))) {
            json_decref(list);
            return NULL;
        }
        if (path)
            snprintf(path, r->path_len + 2, "%s%s", r->path, r->prefix ? "*" : "");
        item = json_pack("{s:i, s:s?, s:s?, s:I}", "route", (int)i, "method", r->method, "path",
                         path, "count", (json_int_t)atomic_load(&r->sent));
        free(path);
        if (!item || json_array_append_new(list, item) != 0) {
            json_decref(list);
            return NULL;
        }
    }
    return list;
}

/* ---- replies ----------------------------------------------------------- */

int sink_reply_fixed(struct sink_reply *out, unsigned status, const char *json_body) {
    memset(out, 0, sizeof *out);
    if (!(out->body = strdup(json_body)))
        return -1;
    out->body_len = strlen(json_body);
    out->status = status;
    out->content_type = "application/json";
    return 0;
}

void sink_reply_clear(struct sink_reply *out) {
    free(out->body);
    if (out->headers)
        for (size_t i = 0; i < 2 * out->nheaders; i++)
            free(out->headers[i]);
    free(out->headers);
    memset(out, 0, sizeof *out);
}
