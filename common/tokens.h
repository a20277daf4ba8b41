/* tokens.h - bearer tokens and the names they stand for */
#ifndef MUSTER_TOKENS_H
#define MUSTER_TOKENS_H

#include <stddef.h>

/*
 * A set of credentials, each a name (who or what holds it: "dana",
 * "slack-bot") and a secret sent as "Authorization: Bearer SECRET". Written
 * as name:secret entries, separated by commas or new lines; a line whose
 * first character other than blanks is '#' is a comment. Names are 1 to
 * TOKEN_NAME_MAX - 1 bytes of [A-Za-z0-9._@+-]; secrets are 1 to
 * TOKEN_SECRET_MAX bytes of printable ASCII without spaces or commas
 * (what a bearer token may be, RFC 6750). Two entries may
 * not share a name or a secret, so one secret always means one name.
 */

#define TOKEN_NAME_MAX 65
#define TOKEN_SECRET_MAX 4096
#define TOKENS_MAX 256
#define TOKENS_FILE_MAX 65536

typedef struct token {
    char name[TOKEN_NAME_MAX];
    char *secret;
    size_t len;
} token;

typedef struct tokens {
    token *v;
    size_t n;
} tokens;

/* Adds the entries of text to t (empty text adds none). `what` names the
 * source in errors ("intake.ack_tokens", a file); entries are counted from
 * 1. Secrets are never quoted in err. Returns 0, or -1 with err filled,
 * e.g. "intake.ack_tokens: entry 2: \"dana\" has no secret (name:token)". */
int tokens_parse(tokens *t, const char *text, const char *what, char *err, size_t errlen);

/* Fills t from value (the setting `key`) or from the file at path (the
 * setting `path_key`), not both; neither leaves t empty. Returns 0, or -1
 * with err filled. */
int tokens_load(tokens *t, const char *key, const char *value, const char *path_key,
                const char *path, char *err, size_t errlen);

/* The entry whose secret is got (len bytes), or NULL. Every secret is
 * compared, each in time that depends only on its length, so the answer's
 * timing tells nothing of which entry matched or how much of one. */
const token *tokens_match(const tokens *t, const char *got, size_t len);

/* 1 when got equals want, in time that depends only on wlen; else 0. */
int tokens_equal(const char *got, size_t glen, const char *want, size_t wlen);

/* Whether s (n bytes) may be a bearer token; else -1 with the 1-based
 * position of the first byte that may not in *at. */
int tokens_secret_ok(const char *s, size_t n, size_t *at);

/* The token of an "Authorization: Bearer TOKEN" header value (the scheme
 * name in any case, RFC 7235; blanks around the token dropped): *tok and
 * *len point into h. Returns 0, or -1 with why ("no bearer token ...",
 * "Authorization is not a Bearer token") for h NULL, empty or another
 * scheme. */
int tokens_bearer(const char *h, const char **tok, size_t *len, const char **why);

/* Whether s (n bytes) may be a token's name: 1 to TOKEN_NAME_MAX - 1 bytes
 * of [A-Za-z0-9._@+-]. */
int tokens_name_ok(const char *s, size_t n);

/* Wipes and frees the secrets; t is empty afterwards. */
void tokens_free(tokens *t);

#endif
