/* secret.h - named secrets: `{secret: name}` in a step's `with:`, resolved
 * on the worker at run time and never written anywhere */
#ifndef MUSTER_SECRET_H
#define MUSTER_SECRET_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#define SECRET_NAME_MAX 128
#define SECRET_VALUE_MAX 16384

/* The values resolved for one task, kept to scrub them from its output. */
typedef struct secret_set {
    char **values;
    size_t n;
} secret_set;

/* Whether v is a reference {"secret": "name"} (one key, a string value). */
bool secret_is_ref(const json_t *v);

/* Whether name is a valid secret name: [A-Za-z0-9_.-], 1 to 128 bytes,
 * not starting with a dot. */
bool secret_name_ok(const char *name);

/* Reads secret `name`: the environment variable MUSTER_SECRET_<NAME> (upper
 * case, '.' and '-' as '_') first, then the file DIR/name in each of the
 * colon-separated dirs, one trailing newline dropped. Returns a malloc'd
 * value, or NULL with err saying where it looked (never what it found). */
char *secret_read(const char *dirs, const char *name, char *err, size_t errlen);

/* Resolves the references of a step's definition in its rendered copy.
 * `def` is the step's `with:` as the workflow file wrote it; `rendered` is
 * what template_render_json() made of it, so both have the same objects
 * and arrays wherever def has a reference. Each place where def holds a
 * reference gets the secret's value in rendered (in place), and the value
 * is added to set. Nothing else in rendered is looked at: a `{secret: x}`
 * that templates brought in (an alert label, a vendor's reply) is data and
 * stays data, so alert content can never choose a secret. Returns 0, or -1
 * with err naming the missing secret or the place whose shape changed. */
int secret_resolve(const json_t *def, json_t *rendered, const char *dirs, secret_set *set,
                   char *err, size_t errlen);

/* Replaces each occurrence of a value of set in s (in place, s holds cap
 * bytes) by "[secret]". Each value is looked for as it is, percent-encoded
 * (a vendor echoing a URL) and base64-encoded at each of the three byte
 * alignments (an Authorization header echoed back). Values shorter than 4
 * bytes are not scrubbed. */
void secret_scrub_str(const secret_set *set, char *s, size_t cap);

/* The same for every string of v, at any depth, and object keys' values. */
void secret_scrub_json(const secret_set *set, json_t *v);

void secret_set_clear(secret_set *set);

#endif
