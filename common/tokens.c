/* tokens.c - bearer tokens and the names they stand for */
#include "common/tokens.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"

int tokens_equal(const char *got, size_t glen, const char *want, size_t wlen) {
    volatile unsigned char diff = (unsigned char)(glen != wlen);
    for (size_t i = 0; i < wlen; i++)
        diff |= (unsigned char)((unsigned char)want[i] ^ (unsigned char)(i < glen ? got[i] : 0));
    return diff == 0;
}

const token *tokens_match(const tokens *t, const char *got, size_t len) {
    const token *found = NULL;
    for (size_t i = 0; i < t->n; i++) {
        /* No early exit: the loop takes as long whichever entry matches. */
        int eq = tokens_equal(got, len, t->v[i].secret, t->v[i].len);
        found = eq ? &t->v[i] : found;
    }
    return found;
}

int tokens_bearer(const char *h, const char **tok, size_t *len, const char **why) {
    if (!h || !*h) {
        *why = "no bearer token (Authorization: Bearer TOKEN)";
        return -1;
    }
    if (strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t')) {
        *why = "Authorization is not a Bearer token";
        return -1;
    }
    const char *t = h + 7;
    while (*t == ' ' || *t == '\t') t++;
    size_t n = strlen(t);
    while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t')) n--;
    *tok = t;
    *len = n;
    return 0;
}

int tokens_secret_ok(const char *s, size_t n, size_t *at) {
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f) {
            *at = i + 1;
            return -1;
        }
    return 0;
}

int tokens_name_ok(const char *s, size_t n) {
    if (n == 0 || n >= TOKEN_NAME_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("._@+-", c)))
            return 0;
    }
    return 1;
}

/* Adds one "name:secret" entry (len bytes at e, trimmed). */
static int add(tokens *t, const char *e, size_t len, const char *what, size_t no, char *err,
               size_t errlen) {
    const char *colon = memchr(e, ':', len);
    size_t nlen = colon ? (size_t)(colon - e) : len, at;
    const char *secret = colon ? colon + 1 : e + len;
    size_t slen = len - nlen - (colon ? 1 : 0);

    if (!tokens_name_ok(e, nlen)) {
        snprintf(err, errlen, "%s: entry %zu: the name \"%.*s\" is not 1 to %d characters of "
                 "A-Z a-z 0-9 . _ @ + - (name:token)", what, no, (int)(nlen > 64 ? 64 : nlen), e,
                 TOKEN_NAME_MAX - 1);
        return -1;
    }
    if (slen == 0 || slen > TOKEN_SECRET_MAX) {
        snprintf(err, errlen, "%s: entry %zu: \"%.*s\" has %s (name:token)", what, no, (int)nlen,
                 e, slen ? "a token over 4096 bytes" : "no token");
        return -1;
    }
    if (tokens_secret_ok(secret, slen, &at) < 0) {
        snprintf(err, errlen, "%s: entry %zu: the token of \"%.*s\" holds a space, control or "
                 "non-ASCII character (at byte %zu)", what, no, (int)nlen, e, at);
        return -1;
    }
    if (t->n == TOKENS_MAX) {
        snprintf(err, errlen, "%s: more than %d tokens", what, TOKENS_MAX);
        return -1;
    }
    for (size_t i = 0; i < t->n; i++) {
        if (strlen(t->v[i].name) == nlen && !memcmp(t->v[i].name, e, nlen)) {
            snprintf(err, errlen, "%s: entry %zu: the name \"%.*s\" is there twice", what, no,
                     (int)nlen, e);
            return -1;
        }
        if (tokens_equal(secret, slen, t->v[i].secret, t->v[i].len)) {
            snprintf(err, errlen, "%s: entry %zu: \"%.*s\" has the token of \"%s\"", what, no,
                     (int)nlen, e, t->v[i].name);
            return -1;
        }
    }
    token *v = realloc(t->v, (t->n + 1) * sizeof(*v));
    if (!v) goto oom;
    t->v = v;
    token *k = &t->v[t->n];
    if (!(k->secret = malloc(slen + 1))) goto oom;
    memcpy(k->name, e, nlen);
    k->name[nlen] = '\0';
    memcpy(k->secret, secret, slen);
    k->secret[slen] = '\0';
    k->len = slen;
    t->n++;
    return 0;
oom:
    snprintf(err, errlen, "%s: out of memory", what);
    return -1;
}

int tokens_parse(tokens *t, const char *text, const char *what, char *err, size_t errlen) {
    size_t no = 0;
    const char *p = text;
    while (*p) {
        size_t n = strcspn(p, ",\n");
        const char *e = p, *next = p[n] ? p + n + 1 : p + n;
        while (n > 0 && (*e == ' ' || *e == '\t' || *e == '\r')) e++, n--;
        while (n > 0 && (e[n - 1] == ' ' || e[n - 1] == '\t' || e[n - 1] == '\r')) n--;
        int comment = n > 0 && *e == '#';
        if (comment) /* to the end of the line, commas and all */
            next = strchr(e, '\n') ? strchr(e, '\n') + 1 : e + strlen(e);
        else if (n > 0 && add(t, e, n, what, ++no, err, errlen) < 0)
            return -1;
        p = next;
    }
    return 0;
}

int tokens_load(tokens *t, const char *key, const char *value, const char *path_key,
                const char *path, char *err, size_t errlen) {
    char e[512];
    size_t n;

    if (*value && *path) {
        snprintf(err, errlen, "set %s or %s, not both", key, path_key);
        return -1;
    }
    if (!*path) return tokens_parse(t, value, key, err, errlen);
    char *text = file_read(path, TOKENS_FILE_MAX, &n, e, sizeof(e));
    if (!text) {
        snprintf(err, errlen, "%s: %s", path_key, e);
        return -1;
    }
    int rc = tokens_parse(t, text, path, err, errlen);
    explicit_bzero(text, n);
    free(text);
    return rc;
}

void tokens_free(tokens *t) {
    for (size_t i = 0; i < t->n; i++) {
        explicit_bzero(t->v[i].secret, t->v[i].len);
        free(t->v[i].secret);
    }
    free(t->v);
    t->v = NULL;
    t->n = 0;
}
