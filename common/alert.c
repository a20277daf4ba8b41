/* alert.c - the one alert model every input format is decoded into */
#include "common/alert.h"
#include "common/alert_formats.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct alert_format {
    const char *name;
    /* Whether the document looks like this format (cheap, no errors). */
    int (*claims)(const json_t *doc);
    /* Appends the document's alerts to c->out; -1 with c->err on a bad field. */
    int (*decode)(const json_t *doc, alert_ctx *c);
} alert_format;

static void alert_clear(alert *a) {
    free(a->format);
    free(a->source);
    free(a->fingerprint);
    free(a->status);
    free(a->severity);
    free(a->summary);
    free(a->starts_at);
    free(a->ends_at);
    json_decref(a->labels);
    json_decref(a->annotations);
    memset(a, 0, sizeof(*a));
}

void alert_batch_free(alert_batch *b) {
    if (!b) return;
    for (size_t i = 0; i < b->n; i++) alert_clear(&b->items[i]);
    free(b->items);
    b->items = NULL;
    b->n = 0;
}

static alert *batch_push(alert_batch *b) {
    if (b->n >= ALERT_MAX_PER_MESSAGE) return NULL;
    alert *items = realloc(b->items, (b->n + 1) * sizeof(*items));
    if (!items) return NULL;
    b->items = items;
    memset(&items[b->n], 0, sizeof(alert));
    return &items[b->n++];
}

static int sort_keys(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void alert_fingerprint_labels(const json_t *labels, char *buf, size_t len) {
    uint64_t h = 14695981039346656037ULL; /* FNV-1a 64 offset basis */
    size_t n = json_object_size(labels), i = 0;
    const char **keys = calloc(n ? n : 1, sizeof(*keys));
    const char *k;
    json_t *v;

    if (keys) {
        json_object_foreach((json_t *)labels, k, v) keys[i++] = k;
        qsort(keys, n, sizeof(*keys), sort_keys);
        for (i = 0; i < n; i++) {
            const char *val = json_string_value(json_object_get(labels, keys[i]));
            /* NUL separators keep {a:"bc"} and {ab:"c"} apart. */
            for (const char *p = keys[i]; ; p++) { h = (h ^ (uint8_t)*p) * 1099511628211ULL; if (!*p) break; }
            for (const char *p = val ? val : ""; ; p++) { h = (h ^ (uint8_t)*p) * 1099511628211ULL; if (!*p) break; }
        }
        free(keys);
    }
    snprintf(buf, len, "%016llx", (unsigned long long)h);
}

/* ---- helpers the format decoders share (alert_formats.h) ---- */

int alert_fail(alert_ctx *c, const char *fmt, ...) {
    va_list ap;
    int n = snprintf(c->err, c->errlen, "%s: ", c->format);
    if (n >= 0 && (size_t)n < c->errlen) {
        va_start(ap, fmt);
        vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Length of s cut to at most max bytes without splitting a UTF-8 sequence
 * (the input is valid UTF-8: jansson refuses anything else). */
static size_t utf8_fit(const char *s, size_t max) {
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80) max--;
    return max;
}

const char *alert_shown(const char *s, char buf[ALERT_SHOWN]) {
    size_t len = strlen(s), n = len > 64 ? utf8_fit(s, 64) : len, i;
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        buf[i] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
    }
    memcpy(buf + i, n < len ? "..." : "", n < len ? 4 : 1);
    return buf;
}

char *alert_cut(const char *s, size_t max) {
    static const char ellipsis[] = "\xe2\x80\xa6"; /* U+2026 */
    size_t len = strlen(s);
    if (len <= max) return strdup(s);
    size_t n = utf8_fit(s, max - (sizeof(ellipsis) - 1));
    char *r = malloc(n + sizeof(ellipsis));
    if (!r) return NULL;
    memcpy(r, s, n);
    memcpy(r + n, ellipsis, sizeof(ellipsis));
    return r;
}

int alert_opt_string(alert_ctx *c, const json_t *obj, const char *path, const char *field,
                     size_t max, const char **out) {
    json_t *v = json_object_get(obj, field);
    *out = NULL;
    if (!v || json_is_null(v)) return 0; /* Go encodes an unset field as null */
    if (!json_is_string(v)) return alert_fail(c, "field \"%s%s\" must be a string", path, field);
    if (max && json_string_length(v) > max)
        return alert_fail(c, "field \"%s%s\" is %zu bytes; at most %zu", path, field,
                          json_string_length(v), max);
    *out = json_string_value(v);
    return 0;
}

json_t *alert_string_map(alert_ctx *c, const json_t *obj, const char *path, int kind) {
    char shown[ALERT_SHOWN];
    const char *k;
    json_t *v, *copy;

    if (!obj || json_is_null(obj)) return json_object(); /* Go sends a nil map as null */
    if (!json_is_object(obj)) {
        alert_fail(c, "field \"%s\" must be an object of strings", path);
        return NULL;
    }
    if (json_object_size(obj) > ALERT_MAX_PAIRS) {
        alert_fail(c, "field \"%s\" has %zu entries; at most %d", path, json_object_size(obj),
                   ALERT_MAX_PAIRS);
        return NULL;
    }
    if (!(copy = json_object())) {
        alert_fail(c, "out of memory");
        return NULL;
    }
    json_object_foreach((json_t *)obj, k, v) {
        json_t *s = NULL;
        if (!json_is_string(v)) {
            alert_fail(c, "field \"%s.%s\" must be a string", path, alert_shown(k, shown));
            goto bad;
        }
        if (strlen(k) > ALERT_MAX_ID) {
            alert_fail(c, "field \"%s\" has a name of %zu bytes (\"%s\"); at most %d", path,
                       strlen(k), alert_shown(k, shown), ALERT_MAX_ID);
            goto bad;
        }
        if (json_string_length(v) <= (kind == ALERT_MAP_LABELS ? ALERT_MAX_ID : ALERT_MAX_TEXT)) {
            s = json_string(json_string_value(v));
        } else if (kind == ALERT_MAP_LABELS) {
            /* a label identifies the alert: cutting could merge two alerts */
            alert_fail(c, "field \"%s.%s\" is %zu bytes; at most %d", path, alert_shown(k, shown),
                       json_string_length(v), ALERT_MAX_ID);
            goto bad;
        } else {
            char *cut = alert_cut(json_string_value(v), ALERT_MAX_TEXT);
            s = cut ? json_string(cut) : NULL;
            free(cut);
        }
        if (json_object_set_new(copy, k, s) < 0) {
            alert_fail(c, "out of memory");
            goto bad;
        }
    }
    return copy;
bad:
    json_decref(copy);
    return NULL;
}

int alert_annotate(alert_ctx *c, json_t *annotations, const char *name, const char *value) {
    if (!value || !*value) return 0;
    char *cut = alert_cut(value, ALERT_MAX_TEXT);
    int rc = cut ? json_object_set_new(annotations, name, json_string(cut)) : -1;
    free(cut);
    return rc < 0 ? alert_fail(c, "out of memory") : 0;
}

static size_t map_bytes(const json_t *m) {
    const char *k;
    json_t *v;
    size_t n = 0;
    json_object_foreach((json_t *)m, k, v) n += strlen(k) + json_string_length(v);
    return n;
}

static const char *or_default(const char *s, const char *def) { return s && *s ? s : def; }

int alert_add(alert_ctx *c, alert_fields *f, const char *where) {
    json_t *labels = f->labels ? f->labels : json_object();
    json_t *annotations = f->annotations ? f->annotations : json_object();
    const char *status = or_default(f->status, "firing");
    const char *severity = or_default(f->severity, "warning");
    const char *fingerprint = f->fingerprint;
    const char *starts = or_default(f->starts_at, ""), *ends = or_default(f->ends_at, "");
    char fpbuf[17], *summary = NULL;
    alert *a;
    int rc = -1;

    f->labels = f->annotations = NULL;
    if (!labels || !annotations) {
        alert_fail(c, "out of memory");
        goto out;
    }
    if (!f->source || !*f->source) {
        alert_fail(c, "missing required field \"%ssource\"", where);
        goto out;
    }
    if (!f->summary || !*f->summary) {
        alert_fail(c, "missing required field \"%ssummary\"", where);
        goto out;
    }
    /* each map was bounded on its own; merging group and alert maps can add up */
    if (json_object_size(labels) > ALERT_MAX_PAIRS ||
        json_object_size(annotations) > ALERT_MAX_PAIRS) {
        int lab = json_object_size(labels) > ALERT_MAX_PAIRS;
        alert_fail(c, "field \"%s%s\" has %zu entries with the group's; at most %d", where,
                   lab ? "labels" : "annotations", json_object_size(lab ? labels : annotations),
                   ALERT_MAX_PAIRS);
        goto out;
    }
    if (!fingerprint || !*fingerprint) {
        alert_fingerprint_labels(labels, fpbuf, sizeof(fpbuf));
        fingerprint = fpbuf;
    }
    if (!(summary = alert_cut(f->summary, ALERT_MAX_SUMMARY))) {
        alert_fail(c, "out of memory");
        goto out;
    }
    size_t bytes = strlen(f->source) + strlen(fingerprint) + strlen(status) + strlen(severity) +
                   strlen(summary) + strlen(starts) + strlen(ends) + map_bytes(labels) +
                   map_bytes(annotations);
    if (bytes > ALERT_MAX_DECODED_BYTES - c->bytes) {
        alert_fail(c,
                   "the alerts decode to more than %d bytes of text (reached at alert index %zu)",
                   ALERT_MAX_DECODED_BYTES, c->out->n);
        goto out;
    }
    if (c->out->n >= ALERT_MAX_PER_MESSAGE) {
        alert_fail(c, "more than %d alerts in one message", ALERT_MAX_PER_MESSAGE);
        goto out;
    }
    if (!(a = batch_push(c->out))) {
        alert_fail(c, "out of memory");
        goto out;
    }
    a->format = strdup(c->format);
    a->source = strdup(f->source);
    a->fingerprint = strdup(fingerprint);
    a->status = strdup(status);
    a->severity = strdup(severity);
    a->summary = summary;
    a->starts_at = strdup(starts);
    a->ends_at = strdup(ends);
    a->labels = labels;
    a->annotations = annotations;
    summary = NULL;
    labels = annotations = NULL;
    if (!a->format || !a->source || !a->fingerprint || !a->status || !a->severity ||
        !a->starts_at || !a->ends_at) {
        alert_fail(c, "out of memory"); /* the caller frees the batch */
        goto out;
    }
    c->bytes += bytes;
    rc = 0;
out:
    free(summary);
    json_decref(labels);
    json_decref(annotations);
    return rc;
}

/* ---- muster's own format ---- */

/* {"source", "summary", "status"?, "severity"?, "fingerprint"?, "labels"?,
 *  "annotations"?, "starts_at"?, "ends_at"?} */
int alert_generic_fields(alert_ctx *c, const json_t *obj, const char *path,
                         const char *default_source, alert_fields *f) {
    char where[64], shown[ALERT_SHOWN];

    memset(f, 0, sizeof(*f));
    if (alert_opt_string(c, obj, path, "source", ALERT_MAX_ID, &f->source) < 0 ||
        alert_opt_string(c, obj, path, "summary", 0, &f->summary) < 0 ||
        alert_opt_string(c, obj, path, "status", ALERT_MAX_ID, &f->status) < 0 ||
        alert_opt_string(c, obj, path, "severity", ALERT_MAX_ID, &f->severity) < 0 ||
        alert_opt_string(c, obj, path, "fingerprint", ALERT_MAX_ID, &f->fingerprint) < 0 ||
        alert_opt_string(c, obj, path, "starts_at", ALERT_MAX_ID, &f->starts_at) < 0 ||
        alert_opt_string(c, obj, path, "ends_at", ALERT_MAX_ID, &f->ends_at) < 0)
        return -1;
    if (!f->source || !*f->source) f->source = default_source;
    if (!f->source || !*f->source)
        return alert_fail(c, "missing required field \"%ssource\"", path);
    if (!f->summary || !*f->summary)
        return alert_fail(c, "missing required field \"%ssummary\"", path);
    if (f->status && strcmp(f->status, "firing") != 0 && strcmp(f->status, "resolved") != 0)
        return alert_fail(c, "field \"%sstatus\" is \"%s\"; expected firing or resolved", path,
                          alert_shown(f->status, shown));
    snprintf(where, sizeof(where), "%slabels", path);
    if (!(f->labels = alert_string_map(c, json_object_get(obj, "labels"), where, ALERT_MAP_LABELS)))
        return -1;
    snprintf(where, sizeof(where), "%sannotations", path);
    if (!(f->annotations = alert_string_map(c, json_object_get(obj, "annotations"), where,
                                            ALERT_MAP_ANNOTATIONS))) {
        json_decref(f->labels);
        f->labels = NULL;
        return -1;
    }
    return 0;
}

static int generic_claims(const json_t *doc) {
    return json_object_get(doc, "summary") != NULL || json_object_get(doc, "source") != NULL;
}

static int generic_decode(const json_t *doc, alert_ctx *c) {
    alert_fields f;
    if (alert_generic_fields(c, doc, "", NULL, &f) < 0) return -1;
    return alert_add(c, &f, "");
}

/* First match wins, so the most particular claim goes first: "specversion"
 * is CloudEvents' own; a CloudEvent also has "source", which generic claims,
 * so generic, claiming the most, is last. */
static const alert_format formats[] = {
    {"cloudevents", alert_cloudevents_claims, alert_cloudevents_decode},
    {"alertmanager", alert_alertmanager_claims, alert_alertmanager_decode},
    {"pagerduty", alert_pagerduty_claims, alert_pagerduty_decode},
    {"generic", generic_claims, generic_decode},
};

int alert_decode(const char *buf, size_t len, alert_batch *out, char *err, size_t errlen) {
    json_error_t jerr;
    json_t *doc = NULL;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (len > ALERT_MAX_BYTES) {
        snprintf(err, errlen, "message of %zu bytes is larger than %d", len, ALERT_MAX_BYTES);
        return -1;
    }
    if (!(doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr))) {
        snprintf(err, errlen, "not valid JSON: %s at line %d column %d", jerr.text, jerr.line,
                 jerr.column);
        return -1;
    }
    if (!json_is_object(doc)) {
        snprintf(err, errlen, "expected a JSON object");
        goto out;
    }
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        if (!formats[i].claims(doc)) continue;
        alert_ctx c = {out, formats[i].name, 0, err, errlen};
        rc = formats[i].decode(doc, &c);
        if (rc < 0) alert_batch_free(out);
        goto out;
    }
    snprintf(err, errlen,
             "no alert format recognises this message (cloudevents needs "
             "\"specversion\"; alertmanager needs an \"alerts\" array and \"version\" "
             "or \"groupKey\"; pagerduty needs \"event_action\" or \"routing_key\"; "
             "generic needs \"source\" and \"summary\")");
out:
    json_decref(doc);
    return rc;
}

json_t *alert_to_json(const alert *a) {
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:O, s:O, s:s, s:s}", "format", a->format,
                     "source", a->source, "fingerprint", a->fingerprint, "status", a->status,
                     "severity", a->severity, "summary", a->summary, "labels", a->labels,
                     "annotations", a->annotations, "starts_at", a->starts_at, "ends_at",
                     a->ends_at);
}

json_t *alert_match_fields(const alert *a) {
    json_t *f = json_deep_copy(a->labels);
    if (!f) return NULL;
    json_object_set_new(f, "severity", json_string(a->severity));
    json_object_set_new(f, "source", json_string(a->source));
    json_object_set_new(f, "status", json_string(a->status));
    return f;
}

const char *alert_batch_key(const alert_batch *b) {
    if (!b || b->n == 0) return NULL;
    const char *group =
        json_string_value(json_object_get(b->items[0].annotations, "muster_group_key"));
    return group && *group ? group : b->items[0].fingerprint;
}
