/* alert.c - the one alert model every input format is decoded into */
#include "common/alert.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct alert_format {
    const char *name;
    /* Whether the document looks like this format (cheap, no errors). */
    int (*claims)(const json_t *doc);
    /* Appends the document's alerts to out; -1 with err on a bad field. */
    int (*decode)(const json_t *doc, alert_batch *out, char *err, size_t errlen);
} alert_format;

static char *dupstr(const char *s) { return strdup(s ? s : ""); }

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

/* Checks that obj is an object of string values; copies it. */
static json_t *string_map(const json_t *obj, const char *field, char *err, size_t errlen) {
    const char *k;
    json_t *v;
    if (!obj || json_is_null(obj)) return json_object(); /* Go sends a nil map as null */
    if (!json_is_object(obj)) {
        snprintf(err, errlen, "field \"%s\" must be an object of strings", field);
        return NULL;
    }
    json_object_foreach((json_t *)obj, k, v) {
        if (!json_is_string(v)) {
            snprintf(err, errlen, "field \"%s.%.100s\" must be a string", field, k);
            return NULL;
        }
    }
    return json_deep_copy(obj);
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

static const char *opt_string(const json_t *doc, const char *field, const char *def,
                              int *bad, char *err, size_t errlen) {
    json_t *v = json_object_get(doc, field);
    if (!v || json_is_null(v)) return def;
    if (!json_is_string(v)) {
        snprintf(err, errlen, "field \"%s\" must be a string", field);
        *bad = 1;
        return NULL;
    }
    return json_string_value(v);
}

/* muster's own format: {"source", "summary", "status"?, "severity"?,
 * "fingerprint"?, "labels"?, "annotations"?, "starts_at"?, "ends_at"?} */
static int generic_claims(const json_t *doc) {
    return json_object_get(doc, "summary") != NULL || json_object_get(doc, "source") != NULL;
}

static int generic_decode(const json_t *doc, alert_batch *out, char *err, size_t errlen) {
    int bad = 0;
    const char *source = opt_string(doc, "source", NULL, &bad, err, errlen);
    const char *summary = opt_string(doc, "summary", NULL, &bad, err, errlen);
    const char *status = opt_string(doc, "status", "firing", &bad, err, errlen);
    const char *severity = opt_string(doc, "severity", "warning", &bad, err, errlen);
    const char *fp = opt_string(doc, "fingerprint", NULL, &bad, err, errlen);
    const char *starts = opt_string(doc, "starts_at", "", &bad, err, errlen);
    const char *ends = opt_string(doc, "ends_at", "", &bad, err, errlen);
    json_t *labels = NULL, *annotations = NULL;
    char fpbuf[17];

    if (bad) return -1;
    if (!source || !*source) {
        snprintf(err, errlen, "missing required field \"source\"");
        return -1;
    }
    if (!summary || !*summary) {
        snprintf(err, errlen, "missing required field \"summary\"");
        return -1;
    }
    if (strcmp(status, "firing") != 0 && strcmp(status, "resolved") != 0) {
        snprintf(err, errlen, "field \"status\" is \"%.64s\"; expected firing or resolved", status);
        return -1;
    }
    if (!(labels = string_map(json_object_get(doc, "labels"), "labels", err, errlen))) return -1;
    if (!(annotations = string_map(json_object_get(doc, "annotations"), "annotations", err, errlen))) {
        json_decref(labels);
        return -1;
    }
    if (!fp || !*fp) {
        alert_fingerprint_labels(labels, fpbuf, sizeof(fpbuf));
        fp = fpbuf;
    }
    alert *a = batch_push(out);
    if (!a) {
        json_decref(labels);
        json_decref(annotations);
        snprintf(err, errlen, "too many alerts in one message");
        return -1;
    }
    a->format = dupstr("generic");
    a->source = dupstr(source);
    a->summary = dupstr(summary);
    a->status = dupstr(status);
    a->severity = dupstr(severity);
    a->fingerprint = dupstr(fp);
    a->starts_at = dupstr(starts);
    a->ends_at = dupstr(ends);
    a->labels = labels;
    a->annotations = annotations;
    return 0;
}

/* First match wins; the generic format is last because it claims the most. */
static const alert_format formats[] = {
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
        rc = formats[i].decode(doc, out, err, errlen);
        if (rc < 0) alert_batch_free(out);
        goto out;
    }
    snprintf(err, errlen, "no alert format recognises this message (generic needs \"source\" and \"summary\")");
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
