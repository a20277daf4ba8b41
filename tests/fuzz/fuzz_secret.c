/* fuzz_secret.c - libFuzzer target for secret resolution on rendered trees
 * and for masking: a secret reaches only the places the definition names,
 * and no masked text still holds a secret */
#define _GNU_SOURCE /* memmem */
#include <stdbool.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/secret.h"
#include "common/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Values the input cannot know: random per process, so any copy of one
 * outside a reference's place came from resolution, not from the input. */
static const char *const names[] = {"fz_a", "fz_b", "hooktok"};
static char values[3][40];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    FILE *f = fopen("/dev/urandom", "rb");
    unsigned char raw[16];
    for (int i = 0; i < 3; i++) {
        if (!f || fread(raw, 1, sizeof(raw), f) != sizeof(raw)) abort();
        for (size_t k = 0; k < sizeof(raw); k++) sprintf(values[i] + 2 * k, "%02x", raw[k]);
        char var[64];
        snprintf(var, sizeof(var), "MUSTER_SECRET_%s", i == 0 ? "FZ_A" : i == 1 ? "FZ_B" : "HOOKTOK");
        setenv(var, values[i], 1);
    }
    fclose(f);
    return 0;
}

/* The value secret_read() finds for name: the environment variable's name
 * is upper case, with '.' and '-' as '_', so "Fz-b" names fz_b too. */
static const char *value_named(const char *name) {
    for (int i = 0; i < 3 && name; i++) {
        const char *a = names[i], *b = name;
        for (; *a && *b; a++, b++) {
            char c = *b == '.' || *b == '-' ? '_' : (char)tolower((unsigned char)*b);
            if (c != *a) break;
        }
        if (!*a && !*b) return values[i];
    }
    return NULL;
}

static bool holds_secret(const char *s) {
    for (int i = 0; i < 3; i++)
        if (strstr(s, values[i])) return true;
    return false;
}

/* Walks def and the resolved tree side by side: a reference's place holds
 * its value; every other string anywhere holds none. */
static void check(const json_t *def, const json_t *got, int depth) {
    const char *k;
    json_t *d;
    size_t i;
    if (depth > 80) return;
    if (secret_is_ref(def)) {
        const char *want = value_named(json_string_value(json_object_get(def, "secret")));
        if (!want || !json_is_string(got) || strcmp(json_string_value(got), want) != 0) abort();
        return;
    }
    if (json_is_object(def)) {
        json_object_foreach((json_t *)def, k, d) check(d, json_object_get(got, k), depth + 1);
        json_object_foreach((json_t *)got, k, d) if (!json_object_get(def, k)) check(NULL, d, depth + 1);
    } else if (json_is_array(def) && json_is_array(got)) {
        json_array_foreach(def, i, d) check(d, json_array_get(got, i), depth + 1);
    } else if (json_is_string(got)) {
        if (holds_secret(json_string_value(got))) abort();
    } else if (json_is_object(got)) {
        json_object_foreach((json_t *)got, k, d) check(NULL, d, depth + 1);
    } else if (json_is_array(got)) {
        json_array_foreach(got, i, d) check(NULL, d, depth + 1);
    }
}

/* Input: a JSON array [with, context], as a step's definition and the
 * context it renders against; anything else is masked as text with a
 * secret spliced in at a place the input picks. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[512];
    secret_set set = {0};
    json_t *doc = json_loadb((const char *)data, size, 0, NULL);
    const json_t *def = json_array_get(doc, 0), *ctx = json_array_get(doc, 1);
    /* libFuzzer learns the values from the comparisons it watches; an input
     * that carries one proves nothing about where it came from. */
    char *given = doc ? json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    bool carries = given && holds_secret(given);
    free(given);
    for (int i = 0; i < 3 && !carries; i++)
        carries = memmem(data, size, values[i], strlen(values[i])) != NULL;
    if (carries) {
        json_decref(doc);
        return 0;
    }
    if (json_is_array(doc) && json_is_object(def)) {
        json_t *out = template_render_json(def, ctx, 65536, err, sizeof(err));
        if (out && secret_resolve(def, out, "", &set, err, sizeof(err)) == 0) check(def, out, 0);
        /* What the action reports is masked: nothing of a value survives. */
        if (out && set.n) {
            secret_scrub_json(&set, out);
            char *text = json_dumps(out, JSON_COMPACT | JSON_ENCODE_ANY);
            if (text && holds_secret(text)) abort();
            free(text);
        }
        json_decref(out);
        secret_set_clear(&set);
    } else if (size > 0) {
        /* Masking of text: the value may sit anywhere, beside anything. */
        json_t *with = json_pack("{s:{s:s}}", "k", "secret", names[data[0] % 3]);
        json_t *copy = json_deep_copy(with);
        if (secret_resolve(with, copy, "", &set, err, sizeof(err)) == 0) {
            size_t at = size > 1 ? data[1] % size : 0;
            const char *v = values[data[0] % 3];
            char *s = malloc(size + strlen(v) + 1);
            memcpy(s, data, at);
            memcpy(s + at, v, strlen(v));
            memcpy(s + at + strlen(v), data + at, size - at);
            s[size + strlen(v)] = '\0';
            /* The input may hold NULs: mask the C string, as callers do. */
            size_t cap = size + strlen(v) + 64;
            char *buf = calloc(1, cap);
            memcpy(buf, s, strlen(s));
            secret_scrub_str(&set, buf, cap);
            if (strlen(s) > at && strstr(buf, v)) abort();
            free(buf);
            free(s);
        }
        json_decref(with);
        json_decref(copy);
        secret_set_clear(&set);
    }
    json_decref(doc);
    return 0;
}
