/* access.h - the API's tokens: stored hashed, each naming its holder and its scopes */
#ifndef MUSTER_ACCESS_H
#define MUSTER_ACCESS_H

#include <stddef.h>
#include <stdint.h>

#include "common/tokens.h"

/*
 * A tokens file (api.tokens_file) holds one token per line:
 *
 *     NAME sha256:HEX SCOPE[,SCOPE...]
 *
 * NAME is who holds the token (tokens_name_ok(): 1 to 64 bytes of
 * [A-Za-z0-9._@+-]) and the `by` of everything done with it; HEX the 64
 * lower- or upper-case hex digits of the SHA-256 of the token; SCOPEs what
 * it may do. Fields are separated by blanks; blank lines and lines whose
 * first non-blank character is '#' are skipped. Two lines may not share a
 * name or a hash. The token itself is never stored: `muster token create`
 * prints it once and appends the line.
 */

typedef enum {
    SCOPE_INCIDENTS_READ = 1,  /* incidents:read  - read incidents, tasks, status, on-call, KPIs */
    SCOPE_INCIDENTS_ACK = 2,   /* incidents:ack   - acknowledge */
    SCOPE_INCIDENTS_WRITE = 4, /* incidents:write - resolve, add notes */
    SCOPE_TASKS_REPLAY = 8,    /* tasks:replay    - replay dead tasks */
    SCOPE_ADMIN = 16,          /* admin           - all of the above, and the audit log */
} access_scope;

#define ACCESS_SCOPES_ALL 31u
#define ACCESS_TOKENS_MAX 1024
#define ACCESS_FILE_MAX (1024 * 1024)
#define ACCESS_TOKEN_BYTES 32 /* random bytes of a token made by access_token_new() */

typedef struct access_token {
    char name[TOKEN_NAME_MAX];
    uint8_t hash[32];
    unsigned scopes;
} access_token;

typedef struct access_tokens {
    access_token *v;
    size_t n;
} access_tokens;

/* Parses SCOPE[,SCOPE...] (len bytes of text) into *out. Returns 0, or -1
 * with err naming the unknown scope. */
int access_scopes_parse(const char *text, size_t len, unsigned *out, char *err, size_t errlen);

/* Writes the scopes as "incidents:read,tasks:replay" to buf. */
void access_scopes_format(unsigned scopes, char *buf, size_t len);

/* The scope's name ("incidents:ack"). */
const char *access_scope_name(access_scope s);

/* Adds the lines of text (len bytes, need not be NUL-terminated) to t.
 * `what` names the source in errors, with the 1-based line:
 * "tokens: line 3: unknown scope \"incident:read\" (incidents:read,
 * incidents:ack, incidents:write, tasks:replay, admin)". Returns 0, or -1
 * with err filled (t then holds the lines before the bad one). */
int access_parse(access_tokens *t, const char *text, size_t len, const char *what, char *err,
                 size_t errlen);

/* Reads the file at path into t (empty path: no tokens); a folder (a
 * mounted Secret with a key per file) is every file in it not starting with
 * a dot, in name order, as one list. Returns 0, or -1 with err filled. */
int access_load(access_tokens *t, const char *path, char *err, size_t errlen);

/* The entry of the token got (len bytes): its SHA-256 compared with every
 * entry's in constant time, with no early exit, so the time taken tells
 * nothing of which entry matched. NULL when none. */
const access_token *access_match(const access_tokens *t, const char *got, size_t len);

/* Whether k may do what `scope` needs: admin may do everything. */
int access_allows(const access_token *k, unsigned scope);

/* Makes a new token ("mst_" and 64 hex digits of getrandom()) into tok
 * (at least 69 bytes) and the line for the tokens file, with its hash and a
 * newline, into line. Returns 0, or -1 with err filled (bad name, no
 * scopes, no randomness). */
int access_token_new(const char *name, unsigned scopes, char *tok, size_t toklen, char *line,
                     size_t linelen, char *err, size_t errlen);

void access_free(access_tokens *t);

#endif
