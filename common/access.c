/* access.c - the API's tokens: stored hashed, each naming its holder and its scopes */
#include "common/access.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "common/sha256.h"
#include "common/util.h"

static const struct {
    access_scope scope;
    const char *name;
} scope_names[] = {
    {SCOPE_INCIDENTS_READ, "incidents:read"}, {SCOPE_INCIDENTS_ACK, "incidents:ack"},
    {SCOPE_INCIDENTS_WRITE, "incidents:write"}, {SCOPE_TASKS_REPLAY, "tasks:replay"},
    {SCOPE_ADMIN, "admin"},
};
#define NSCOPES (sizeof(scope_names) / sizeof(scope_names[0]))

const char *access_scope_name(access_scope s) {
    for (size_t i = 0; i < NSCOPES; i++)
        if (scope_names[i].scope == s) return scope_names[i].name;
    return "?";
}

int access_scopes_parse(const char *text, size_t len, unsigned *out, char *err, size_t errlen) {
    size_t i = 0;
    *out = 0;
    while (i <= len) {
        size_t n = 0;
        while (i + n < len && text[i + n] != ',') n++;
        if (n == 0) {
            snprintf(err, errlen, "an empty scope (SCOPE,SCOPE...)");
            return -1;
        }
        size_t k = 0;
        for (; k < NSCOPES; k++)
            if (strlen(scope_names[k].name) == n && !memcmp(scope_names[k].name, text + i, n)) break;
        if (k == NSCOPES) {
            snprintf(err, errlen, "unknown scope \"%.*s\" (incidents:read, incidents:ack, "
                     "incidents:write, tasks:replay, admin)", (int)(n > 64 ? 64 : n), text + i);
            return -1;
        }
        *out |= scope_names[k].scope;
        i += n + 1;
    }
    return 0;
}

void access_scopes_format(unsigned scopes, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < NSCOPES && used < len; i++)
        if (scopes & scope_names[i].scope)
            used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? "," : "",
                                     scope_names[i].name);
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The next blank-separated field of line[*at..n), or NULL at its end. */
static const char *field(const char *line, size_t n, size_t *at, size_t *flen) {
    while (*at < n && (line[*at] == ' ' || line[*at] == '\t')) (*at)++;
    if (*at >= n) return NULL;
    size_t start = *at;
    while (*at < n && line[*at] != ' ' && line[*at] != '\t') (*at)++;
    *flen = *at - start;
    return line + start;
}

static int add_line(access_tokens *t, const char *line, size_t n, const char *what, size_t no,
                    char *err, size_t errlen) {
    size_t at = 0, nlen = 0, hlen = 0, slen = 0, xlen = 0;
    const char *name = field(line, n, &at, &nlen);
    const char *hash = field(line, n, &at, &hlen);
    const char *scopes = field(line, n, &at, &slen);
    char e[256];
    access_token k;

    if (!name) return 0;
    if (!tokens_name_ok(name, nlen)) {
        snprintf(err, errlen, "%s: line %zu: the name \"%.*s\" is not 1 to %d characters of "
                 "A-Z a-z 0-9 . _ @ + - (NAME sha256:HEX SCOPE,...)", what, no,
                 (int)(nlen > 64 ? 64 : nlen), name, TOKEN_NAME_MAX - 1);
        return -1;
    }
    if (!hash || hlen != 7 + 64 || memcmp(hash, "sha256:", 7) != 0) {
        snprintf(err, errlen, "%s: line %zu: \"%.*s\" has no sha256:HEX of 64 hex digits "
                 "(NAME sha256:HEX SCOPE,...)", what, no, (int)nlen, name);
        return -1;
    }
    for (size_t i = 0; i < 32; i++) {
        int hi = hexval(hash[7 + 2 * i]), lo = hexval(hash[8 + 2 * i]);
        if (hi < 0 || lo < 0) {
            snprintf(err, errlen, "%s: line %zu: the hash of \"%.*s\" holds a character that is "
                     "not a hex digit (at %zu)", what, no, (int)nlen, name, 8 + 2 * i);
            return -1;
        }
        k.hash[i] = (uint8_t)(hi << 4 | lo);
    }
    if (!scopes) {
        snprintf(err, errlen, "%s: line %zu: \"%.*s\" has no scopes (NAME sha256:HEX SCOPE,...)",
                 what, no, (int)nlen, name);
        return -1;
    }
    if (access_scopes_parse(scopes, slen, &k.scopes, e, sizeof(e)) < 0) {
        snprintf(err, errlen, "%s: line %zu: \"%.*s\": %s", what, no, (int)nlen, name, e);
        return -1;
    }
    if (field(line, n, &at, &xlen)) {
        snprintf(err, errlen, "%s: line %zu: \"%.*s\": more than three fields (scopes are "
                 "separated by commas, without blanks)", what, no, (int)nlen, name);
        return -1;
    }
    if (t->n == ACCESS_TOKENS_MAX) {
        snprintf(err, errlen, "%s: more than %d tokens", what, ACCESS_TOKENS_MAX);
        return -1;
    }
    for (size_t i = 0; i < t->n; i++) {
        if (strlen(t->v[i].name) == nlen && !memcmp(t->v[i].name, name, nlen)) {
            snprintf(err, errlen, "%s: line %zu: the name \"%.*s\" is there twice", what, no,
                     (int)nlen, name);
            return -1;
        }
        if (!memcmp(t->v[i].hash, k.hash, 32)) {
            snprintf(err, errlen, "%s: line %zu: \"%.*s\" has the token of \"%s\"", what, no,
                     (int)nlen, name, t->v[i].name);
            return -1;
        }
    }
    access_token *v = realloc(t->v, (t->n + 1) * sizeof(*v));
    if (!v) {
        snprintf(err, errlen, "%s: out of memory", what);
        return -1;
    }
    memcpy(k.name, name, nlen);
    k.name[nlen] = '\0';
    t->v = v;
    t->v[t->n++] = k;
    return 0;
}

int access_parse(access_tokens *t, const char *text, size_t len, const char *what, char *err,
                 size_t errlen) {
    size_t no = 0, i = 0;
    while (i < len) {
        size_t n = 0;
        while (i + n < len && text[i + n] != '\n') n++;
        const char *line = text + i;
        size_t m = n;
        no++;
        if (m > 0 && line[m - 1] == '\r') m--;
        if (memchr(line, '\0', m)) {
            snprintf(err, errlen, "%s: line %zu: a NUL byte", what, no);
            return -1;
        }
        size_t lead = 0;
        while (lead < m && (line[lead] == ' ' || line[lead] == '\t')) lead++;
        if (lead < m && line[lead] != '#' && add_line(t, line, m, what, no, err, errlen) < 0)
            return -1;
        i += n + 1;
    }
    return 0;
}

static int load_file(access_tokens *t, const char *path, char *err, size_t errlen) {
    char e[512];
    size_t n;
    char *text = file_read(path, ACCESS_FILE_MAX, &n, e, sizeof(e));
    if (!text) {
        snprintf(err, errlen, "api.tokens_file: %s", e);
        return -1;
    }
    int rc = access_parse(t, text, n, path, err, errlen);
    free(text);
    return rc;
}

static int by_name(const struct dirent **a, const struct dirent **b) {
    return strcmp((*a)->d_name, (*b)->d_name);
}

int access_load(access_tokens *t, const char *path, char *err, size_t errlen) {
    struct stat st;
    struct dirent **names = NULL;
    if (!path || !*path) return 0;
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) return load_file(t, path, err, errlen);
    /* A mounted Secret: every file of the folder, in name order; what
     * Kubernetes keeps beside them (..data, ..2026_...) starts with a dot. */
    int n = scandir(path, &names, NULL, by_name), rc = 0;
    if (n < 0) {
        snprintf(err, errlen, "api.tokens_file: %s: cannot read the folder", path);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        char file[4096];
        struct stat fs;
        snprintf(file, sizeof(file), "%s/%s", path, names[i]->d_name);
        if (rc == 0 && names[i]->d_name[0] != '.' && stat(file, &fs) == 0 && S_ISREG(fs.st_mode))
            rc = load_file(t, file, err, errlen);
        free(names[i]);
    }
    free(names);
    return rc;
}

const access_token *access_match(const access_tokens *t, const char *got, size_t len) {
    uint8_t h[32];
    const access_token *found = NULL;
    sha256(got, len, h);
    for (size_t i = 0; i < t->n; i++) {
        /* No early exit: the loop takes as long whichever entry matches. */
        int eq = tokens_equal((const char *)h, 32, (const char *)t->v[i].hash, 32);
        found = eq ? &t->v[i] : found;
    }
    return found;
}

int access_allows(const access_token *k, unsigned scope) {
    return k && ((k->scopes & SCOPE_ADMIN) || (k->scopes & scope) == scope);
}

int access_token_new(const char *name, unsigned scopes, char *tok, size_t toklen, char *line,
                     size_t linelen, char *err, size_t errlen) {
    uint8_t raw[ACCESS_TOKEN_BYTES];
    char hex[SHA256_HEX_LEN], list[128];

    if (!tokens_name_ok(name, strlen(name))) {
        snprintf(err, errlen, "the name \"%.64s\" is not 1 to %d characters of A-Z a-z 0-9 . _ @ + -",
                 name, TOKEN_NAME_MAX - 1);
        return -1;
    }
    if (!(scopes & ACCESS_SCOPES_ALL)) {
        snprintf(err, errlen, "a token needs at least one scope");
        return -1;
    }
    if (toklen < 4 + 2 * ACCESS_TOKEN_BYTES + 1) {
        snprintf(err, errlen, "token buffer too small");
        return -1;
    }
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
        snprintf(err, errlen, "no randomness (getrandom)");
        return -1;
    }
    memcpy(tok, "mst_", 4);
    for (size_t i = 0; i < sizeof(raw); i++) snprintf(tok + 4 + 2 * i, 3, "%02x", raw[i]);
    explicit_bzero(raw, sizeof(raw));
    sha256_hex(tok, strlen(tok), hex);
    access_scopes_format(scopes, list, sizeof(list));
    if ((size_t)snprintf(line, linelen, "%s sha256:%s %s\n", name, hex, list) >= linelen) {
        snprintf(err, errlen, "line buffer too small");
        return -1;
    }
    return 0;
}

void access_free(access_tokens *t) {
    free(t->v);
    t->v = NULL;
    t->n = 0;
}
