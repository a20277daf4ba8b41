/* secret.c - named secrets, resolved on the worker and scrubbed from what
 * it writes */
#include "common/secret.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define SCRUB_MIN 4
#define ENCODED_MIN 8 /* an encoded form shorter than this is not masked */
#define RESOLVE_MAX_DEPTH 64
static const char MASK[] = "[secret]";

bool secret_is_ref(const json_t *v) {
    return json_is_object(v) && json_object_size(v) == 1 &&
           json_is_string(json_object_get(v, "secret"));
}

bool secret_name_ok(const char *name) {
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > SECRET_NAME_MAX || name[0] == '.') return false;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-') return false;
    return true;
}

char *secret_read(const char *dirs, const char *name, char *err, size_t errlen) {
    char var[SECRET_NAME_MAX + 16], path[4096];
    size_t n = (size_t)snprintf(var, sizeof(var), "MUSTER_SECRET_");
    if (!secret_name_ok(name)) {
        snprintf(err, errlen, "\"%.128s\" is not a secret name ([A-Za-z0-9_.-])", name ? name : "");
        return NULL;
    }
    for (const char *p = name; *p && n + 1 < sizeof(var); p++)
        var[n++] = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_';
    var[n] = '\0';
    const char *env = getenv(var);
    if (env && *env) return strdup(env);
    for (const char *p = dirs ? dirs : ""; *p;) {
        const char *e = strchr(p, ':');
        size_t dl = e ? (size_t)(e - p) : strlen(p);
        size_t len = 0;
        char ferr[256];
        snprintf(path, sizeof(path), "%.*s/%s", (int)dl, p, name);
        p += dl + (e ? 1 : 0);
        if (dl == 0) continue;
        char *text = file_read(path, SECRET_VALUE_MAX, &len, ferr, sizeof(ferr));
        if (!text) continue;
        if (len && text[len - 1] == '\n') text[--len] = '\0';
        if (len && text[len - 1] == '\r') text[--len] = '\0';
        if (len && strlen(text) == len) return text;
        free(text);
    }
    snprintf(err, errlen, "secret \"%s\" is not set (looked for %s and for a file %s in "
             "secrets.dirs: %s)", name, var, name, dirs && *dirs ? dirs : "(none)");
    return NULL;
}

static int add_value(secret_set *set, char *value) {
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->values[i], value) == 0) {
            free(value);
            return 0;
        }
    char **v = realloc(set->values, (set->n + 1) * sizeof(*v));
    if (!v) {
        free(value);
        return -1;
    }
    set->values = v;
    set->values[set->n++] = value;
    return 0;
}

/* A URL secret (a Slack or Teams webhook) is secret for its path: a
 * vendor's error may echo the path alone, so that is scrubbed too. */
static int add_url_path(secret_set *set, const char *value) {
    const char *scheme = strstr(value, "://");
    if (!scheme || strchr(value, ' ')) return 0;
    const char *path = strchr(scheme + 3, '/');
    if (!path || strlen(path) < 8) return 0;
    char *copy = strdup(path);
    return copy ? add_value(set, copy) : -1;
}

/* Adds copy (taken) unless it is too short to mask without hiding
 * unrelated text, or the same as the value itself. */
static int add_form(secret_set *set, char *copy, const char *value) {
    if (!copy) return -1;
    if (strlen(copy) < ENCODED_MIN || strcmp(copy, value) == 0) {
        free(copy);
        return 0;
    }
    return add_value(set, copy);
}

/* Percent-encoded, as a vendor echoing a URL or a form body shows it
 * (space as %20, or as + when plus is set). */
static char *percent_encoded(const char *v, bool plus) {
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(strlen(v) * 3 + 1), *o = out;
    if (!out) return NULL;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (isalnum(*p) || strchr("-._~", *p)) {
            *o++ = (char)*p;
        } else if (plus && *p == ' ') {
            *o++ = '+';
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

/* The characters of base64 (standard, or URL-safe when url is set) that
 * encode v wherever it stands at byte offset k (0..2) of a group of three:
 * the characters that mix in the bytes before or after it are left out, so
 * the result is a substring of any encoding that holds v at that offset. */
static char *base64_core(const char *v, int k, bool url) {
    const char *abc = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                          : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(v), total = (size_t)k + n;
    unsigned char *in = calloc(total + 3, 1);
    char *out = malloc(total / 3 * 4 + 8);
    if (!in || !out) {
        free(in);
        free(out);
        return NULL;
    }
    memcpy(in + k, v, n);
    size_t len = 0;
    for (size_t i = 0; i < total; i += 3) {
        unsigned g = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        size_t chars = total - i >= 3 ? 4 : total - i + 1;
        for (size_t c = 0; c < chars; c++) out[len++] = abc[(g >> (18 - 6 * c)) & 63];
    }
    free(in);
    size_t head = k == 0 ? 0 : (size_t)k + 1, tail = total % 3 ? 1 : 0;
    if (len < head + tail) len = head + tail;
    memmove(out, out + head, len - head - tail);
    out[len - head - tail] = '\0';
    return out;
}

/* What a value may look like once a vendor echoes it encoded. */
static int add_encodings(secret_set *set, const char *value) {
    int rc = add_form(set, percent_encoded(value, false), value);
    if (rc == 0) rc = add_form(set, percent_encoded(value, true), value);
    for (int k = 0; k < 3 && rc == 0; k++) {
        rc = add_form(set, base64_core(value, k, false), value);
        if (rc == 0) rc = add_form(set, base64_core(value, k, true), value);
    }
    return rc;
}

/* The value a reference names, as a new JSON string, kept in set. */
static json_t *value_of(const json_t *ref, const char *dirs, secret_set *set, char *err,
                        size_t errlen) {
    char *value = secret_read(dirs, json_string_value(json_object_get(ref, "secret")), err, errlen);
    if (!value) return NULL;
    json_t *s = json_string(value);
    char *copy = s ? strdup(value) : NULL;
    /* The value itself first: masking runs in this order, and an encoded
     * form masked first could cut the plain value apart and leave pieces. */
    int rc = copy ? add_value(set, value) : -1; /* takes value */
    if (!copy) free(value);
    if (rc == 0) rc = add_url_path(set, copy);
    if (rc == 0) rc = add_encodings(set, copy);
    free(copy);
    if (rc < 0) {
        snprintf(err, errlen, "secret value not kept: out of memory or not UTF-8");
        json_decref(s);
        return NULL;
    }
    return s;
}

/* Walks def and rendered side by side; where def has a reference, puts the
 * value in rendered. Templates only ever replace strings, so wherever def
 * has an object or an array, rendered has one with the same members. */
static int resolve(const json_t *def, json_t *rendered, const char *dirs, secret_set *set,
                   char *err, size_t errlen, int depth) {
    const char *k;
    json_t *d, *r, *s;
    size_t i;
    if (depth > RESOLVE_MAX_DEPTH) {
        snprintf(err, errlen, "secret references nested deeper than %d levels", RESOLVE_MAX_DEPTH);
        return -1;
    }
    if (json_is_object(def)) {
        if (!json_is_object(rendered)) goto shape;
        json_object_foreach((json_t *)def, k, d) {
            if (!(r = json_object_get(rendered, k))) goto shape;
            if (!secret_is_ref(d)) {
                if (resolve(d, r, dirs, set, err, errlen, depth + 1) < 0) return -1;
            } else if (!(s = value_of(d, dirs, set, err, errlen)) ||
                       json_object_set_new(rendered, k, s)) {
                return -1;
            }
        }
    } else if (json_is_array(def)) {
        if (!json_is_array(rendered) || json_array_size(rendered) != json_array_size(def))
            goto shape;
        json_array_foreach(def, i, d) {
            r = json_array_get(rendered, i);
            if (!secret_is_ref(d)) {
                if (resolve(d, r, dirs, set, err, errlen, depth + 1) < 0) return -1;
            } else if (!(s = value_of(d, dirs, set, err, errlen)) ||
                       json_array_set_new(rendered, i, s)) {
                return -1;
            }
        }
    }
    return 0;
shape:
    snprintf(err, errlen, "rendered parameters do not match the step's definition");
    return -1;
}

int secret_resolve(const json_t *def, json_t *rendered, const char *dirs, secret_set *set,
                   char *err, size_t errlen) {
    if (secret_is_ref(def)) {
        snprintf(err, errlen, "a step's with: cannot itself be a secret reference");
        return -1;
    }
    return resolve(def, rendered, dirs, set, err, errlen, 0);
}

/* s with every value of set masked, malloc'd; NULL when nothing matched. */
static char *scrubbed(const secret_set *set, const char *s) {
    char *out = NULL;
    for (size_t i = 0; i < set->n; i++) {
        const char *val = set->values[i];
        size_t vl = strlen(val);
        if (vl < SCRUB_MIN) continue;
        const char *src = out ? out : s;
        if (!strstr(src, val)) continue;
        size_t cap = strlen(src) + 1, len = 0;
        /* A mask is never longer than the value it replaces by more than
         * sizeof(MASK); count the hits to size the result. */
        size_t hits = 0;
        for (const char *p = src; (p = strstr(p, val)); p += vl) hits++;
        cap += hits * sizeof(MASK);
        char *buf = malloc(cap);
        if (!buf) break;
        for (const char *p = src;;) {
            const char *hit = strstr(p, val);
            if (!hit) {
                size_t rest = strlen(p);
                memcpy(buf + len, p, rest + 1);
                break;
            }
            memcpy(buf + len, p, (size_t)(hit - p));
            len += (size_t)(hit - p);
            memcpy(buf + len, MASK, sizeof(MASK) - 1);
            len += sizeof(MASK) - 1;
            p = hit + vl;
        }
        free(out);
        out = buf;
    }
    return out;
}

void secret_scrub_str(const secret_set *set, char *s, size_t cap) {
    if (!set || !set->n || !s || !cap) return;
    char *clean = scrubbed(set, s);
    if (!clean) return;
    snprintf(s, cap, "%s", clean);
    free(clean);
}

void secret_scrub_json(const secret_set *set, json_t *v) {
    const char *k;
    json_t *c;
    size_t i;
    if (!set || !set->n || !v) return;
    if (json_is_string(v)) {
        char *clean = scrubbed(set, json_string_value(v));
        if (clean) json_string_set(v, clean); /* in place: the parent keeps it */
        free(clean);
    } else if (json_is_object(v)) {
        json_object_foreach(v, k, c) secret_scrub_json(set, c);
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, c) secret_scrub_json(set, c);
    }
}

void secret_set_clear(secret_set *set) {
    for (size_t i = 0; i < set->n; i++) {
        /* Wipe before free: a core dump should not carry them. */
        volatile char *p = set->values[i];
        while (*p) *p++ = '\0';
        free(set->values[i]);
    }
    free(set->values);
    set->values = NULL;
    set->n = 0;
}
