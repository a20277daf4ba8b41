/* sig_twilio.c - Twilio's request signatures (X-Twilio-Signature) */
#include "common/signature.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/sig_crypto.h"

/* A POST parameter, percent-decoded; it may hold NULs. */
typedef struct param {
    const char *name, *value;
    size_t nlen, vlen;
} param;

/* The decoded parameters of a form-encoded body, sorted. */
typedef struct form {
    param *p;
    size_t n;
    char *buf; /* the decoded text the params point into */
} form;

static int cmp_bytes(const char *a, size_t an, const char *b, size_t bn) {
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

static int cmp_param(const void *x, const void *y) {
    const param *a = x, *b = y;
    int c = cmp_bytes(a->name, a->nlen, b->name, b->nlen);
    return c ? c : cmp_bytes(a->value, a->vlen, b->value, b->vlen);
}

static void form_free(form *f) {
    free(f->p);
    free(f->buf);
    memset(f, 0, sizeof(*f));
}

/* Parses body into f, sorted by name then value. Empty pieces ("a=1&&b=2")
 * are skipped, a piece without '=' is a name with an empty value, as web
 * frameworks read them. Returns 0, or -1 (bad escape, too many, no memory). */
static int form_parse(const char *body, size_t len, form *f) {
    size_t cap = 0, o = 0;
    memset(f, 0, sizeof(*f));
    if (!(f->buf = malloc(len ? len : 1))) return -1;
    for (size_t i = 0; i < len;) {
        const char *amp = memchr(body + i, '&', len - i);
        size_t end = amp ? (size_t)(amp - body) : len;
        if (end > i) {
            const char *eq = memchr(body + i, '=', end - i);
            size_t nend = eq ? (size_t)(eq - body) : end;
            if (f->n == SIG_TWILIO_PARAMS_MAX) goto fail;
            if (f->n == cap) {
                size_t ncap = cap ? 2 * cap : 16;
                param *np = realloc(f->p, ncap * sizeof(*np));
                if (!np) goto fail;
                f->p = np;
                cap = ncap;
            }
            param *p = &f->p[f->n++];
            long dn = sig_form_decode(body + i, nend - i, f->buf + o);
            if (dn < 0) goto fail;
            p->name = f->buf + o, p->nlen = (size_t)dn, o += (size_t)dn;
            long dv = eq ? sig_form_decode(eq + 1, end - nend - 1, f->buf + o) : 0;
            if (dv < 0) goto fail;
            p->value = f->buf + o, p->vlen = (size_t)dv, o += (size_t)dv;
        }
        i = end + 1;
    }
    if (f->n) qsort(f->p, f->n, sizeof(*f->p), cmp_param);
    return 0;
fail:
    form_free(f);
    return -1;
}

/* HMAC-SHA1 of url followed by the parameters' names and values, base64. */
static int mac(const char *token, const char *url, size_t ulen, const form *f,
               char out[SIG_TWILIO_SIG_LEN]) {
    unsigned char m[SIG_SHA1_LEN];
    size_t nparts = 1 + 2 * f->n;
    sig_part *parts = malloc(nparts * sizeof(*parts));
    if (!parts) return -1;
    parts[0] = (sig_part){url, ulen};
    for (size_t i = 0; i < f->n; i++) {
        parts[1 + 2 * i] = (sig_part){f->p[i].name, f->p[i].nlen};
        parts[2 + 2 * i] = (sig_part){f->p[i].value, f->p[i].vlen};
    }
    int rc = sig_hmac("SHA1", token, strlen(token), parts, nparts, m, sizeof(m));
    free(parts);
    if (rc == 0) sig_b64(m, sizeof(m), out, false);
    return rc;
}

/* Finds the value of bodySHA256 in url's query: 0 and its span, or -1. */
static int body_hash_param(const char *url, const char **val, size_t *vlen) {
    const char *q = strchr(url, '?');
    if (!q) return -1;
    size_t qend = strcspn(q + 1, "#");
    for (const char *p = q + 1, *end = q + 1 + qend; p < end;) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *e = amp ? amp : end;
        if ((size_t)(e - p) >= 11 && memcmp(p, "bodySHA256=", 11) == 0) {
            *val = p + 11;
            *vlen = (size_t)(e - p - 11);
            return 0;
        }
        p = e + 1;
    }
    return -1;
}

/* For a URL with bodySHA256 (a JSON webhook): SIG_OK when it is the hex
 * SHA-256 of body, SIG_MISMATCH or SIG_MALFORMED when not; SIG_MISSING for
 * a URL without it (a form-encoded webhook). */
static sig_result body_hash_matches(const char *url, const void *body, size_t len) {
    unsigned char got[SIG_SHA256_LEN], digest[SIG_SHA256_LEN];
    const char *hval;
    size_t hlen;
    if (body_hash_param(url, &hval, &hlen) < 0) return SIG_MISSING;
    if (sig_unhex(hval, hlen, got, sizeof(got)) < 0) return SIG_MALFORMED;
    if (sig_sha256(body, len, digest) < 0) return SIG_ERROR;
    return sig_equal(got, digest, sizeof(got)) ? SIG_OK : SIG_MISMATCH;
}

/* Writes into alt the form of url with its scheme's default port added, or
 * removed when present, as Twilio's libraries also try: Twilio may sign
 * either. Returns its length, or 0 when there is none (another scheme or
 * an explicit other port). alt has room for strlen(url) + 5 bytes. */
static size_t alt_url(const char *url, char *alt) {
    const char *port;
    size_t skip;
    if (strncasecmp(url, "https://", 8) == 0) port = "443", skip = 8;
    else if (strncasecmp(url, "http://", 7) == 0) port = "80", skip = 7;
    else return 0;
    const char *auth = url + skip;
    size_t alen = strcspn(auth, "/?#");
    const char *host = auth;
    for (size_t i = 0; i < alen; i++)
        if (auth[i] == '@') host = auth + i + 1; /* after any user:password@ */
    size_t hlen = alen - (size_t)(host - auth);
    const char *colon = NULL;
    const char *bracket = memchr(host, ']', hlen);
    const char *from = bracket ? bracket + 1 : host;
    for (const char *c = from; c < host + hlen; c++)
        if (*c == ':') colon = c;
    size_t ulen = strlen(url), plen = strlen(port);
    if (colon) {
        size_t have = (size_t)(host + hlen - colon - 1);
        if (have != plen || memcmp(colon + 1, port, plen) != 0) return 0;
        size_t head = (size_t)(colon - url);
        memcpy(alt, url, head);
        memcpy(alt + head, colon + 1 + plen, ulen - head - 1 - plen + 1);
        return ulen - 1 - plen;
    }
    size_t head = (size_t)(auth + alen - url);
    memcpy(alt, url, head);
    alt[head] = ':';
    memcpy(alt + head + 1, port, plen);
    memcpy(alt + head + 1 + plen, url + head, ulen - head + 1);
    return ulen + 1 + plen;
}

sig_result sig_twilio_verify(const char *token, const char *url, const void *body, size_t len,
                             const char *signature) {
    sig_result r = SIG_MALFORMED;
    form f = {0};
    size_t ulen;
    char want[SIG_TWILIO_SIG_LEN], alt[SIG_HEADER_MAX + 8];
    if (!token || !*token || !url || !*url || !signature || !*signature) return SIG_MISSING;
    if ((ulen = strnlen(url, SIG_HEADER_MAX + 1)) > SIG_HEADER_MAX) return SIG_MALFORMED;
    if (strnlen(signature, SIG_TWILIO_SIG_LEN) != SIG_TWILIO_SIG_LEN - 1) return SIG_MALFORMED;
    sig_result hr = body_hash_matches(url, body, len);
    if (hr != SIG_OK && hr != SIG_MISSING) return hr;
    if (hr == SIG_MISSING && form_parse(body, len, &f) < 0) return SIG_MALFORMED;
    r = SIG_ERROR;
    if (mac(token, url, ulen, &f, want) < 0) goto out;
    bool match = sig_equal(want, signature, SIG_TWILIO_SIG_LEN - 1);
    size_t altlen = alt_url(url, alt);
    if (altlen) {
        if (mac(token, alt, altlen, &f, want) < 0) goto out;
        match |= sig_equal(want, signature, SIG_TWILIO_SIG_LEN - 1);
    }
    r = match ? SIG_OK : SIG_MISMATCH;
out:
    form_free(&f);
    return r;
}

int sig_twilio_sign(const char *token, const char *url, const void *body, size_t len,
                    char out[SIG_TWILIO_SIG_LEN]) {
    form f = {0};
    if (!token || !url) return -1;
    sig_result hr = body_hash_matches(url, body, len);
    if (hr != SIG_OK && hr != SIG_MISSING) return -1; /* Twilio would not send that */
    if (hr == SIG_MISSING && form_parse(body, len, &f) < 0) return -1;
    int rc = mac(token, url, strlen(url), &f, out);
    form_free(&f);
    return rc;
}
