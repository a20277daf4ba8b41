/* fuzz_mail.c - libFuzzer target for email addresses, messages and SMTP replies */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/mail.h"
#include "tests/harness/fuzz_fields.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NFIELDS 7 /* from, to, cc, subject, body, message-id, date; then a reply */
#define LIST_SEP '\x1f'
#define MAX_LIST 8

/* Input: seven NUL-terminated fields, then the rest as one SMTP reply
 * buffer. "to" and "cc" hold addresses separated by 0x1f. */

static void check_address(const char *s, const mail_address *a, int rc) {
    if (rc < 0) {
        if (a->name) abort(); /* nothing to free on failure */
        return;
    }
    size_t n = strlen(a->addr);
    const char *at = strchr(a->addr, '@');
    if (n == 0 || n > 254 || !at || at == a->addr || !at[1] || strchr(at + 1, '@')) abort();
    /* What goes between < and > in MAIL FROM / RCPT TO and the headers. */
    for (const char *p = a->addr; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || strchr("<>\"(),:;[\\]", *p))
            abort();
    if (a->name && strpbrk(a->name, "\r\n")) abort();
    if (strpbrk(s, "\r\n")) abort(); /* a line break must be refused */
}

/* Parses the 0x1f-separated addresses of field into out; the bad ones are
 * skipped. Returns how many. */
static size_t parse_list(const char *field, mail_address *out, size_t max) {
    size_t n = 0;
    char *copy = strdup(field);
    if (!copy) abort();
    for (char *tok = copy, *sep; tok && n < max; tok = sep) {
        const char *why = NULL;
        if ((sep = strchr(tok, LIST_SEP))) *sep++ = '\0';
        int rc = mail_address_parse(tok, &out[n], &why);
        check_address(tok, &out[n], rc);
        if (rc == 0) n++;
        else if (!why) abort();
    }
    free(copy);
    return n;
}

/* Every CR is followed by LF and every LF follows a CR; no line is longer
 * than 998 characters (RFC 5322 2.1.1, RFC 5321 4.5.3.1.6). */
static void check_lines(const char *s, size_t n) {
    size_t col = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\r' && (i + 1 == n || s[i + 1] != '\n')) abort();
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) abort();
        if (s[i] == '\r' || s[i] == '\n') col = 0;
        else if (++col > 998) abort();
    }
    if (n < 2 || s[n - 2] != '\r' || s[n - 1] != '\n') abort();
}

/* The header names the builder writes, each exactly once (Cc: when any). */
static void check_headers(const char *msg, size_t hlen, size_t ncc) {
    static const char *const names[] = {
        "Date",         "From",         "To",
        "Cc",           "Subject",      "Message-ID",
        "MIME-Version", "Content-Type", "Content-Transfer-Encoding"};
    size_t count[sizeof(names) / sizeof(*names)] = {0};
    const char *p = msg, *end = msg + hlen;
    while (p < end) {
        const char *eol = strstr(p, "\r\n");
        if (!eol || eol > end) abort();
        if (*p != ' ' && *p != '\t') { /* a continuation line belongs to the header above */
            const char *colon = memchr(p, ':', (size_t)(eol - p));
            if (!colon) abort();
            size_t k, nl = (size_t)(colon - p);
            for (k = 0; k < sizeof(names) / sizeof(*names); k++)
                if (strlen(names[k]) == nl && strncasecmp(p, names[k], nl) == 0) break;
            if (k == sizeof(names) / sizeof(*names)) abort(); /* a header we never write */
            count[k]++;
        } else if (p == msg) {
            abort();
        }
        p = eol + 2;
    }
    for (size_t k = 0; k < sizeof(names) / sizeof(*names); k++)
        if (count[k] != (strcmp(names[k], "Cc") == 0 ? ncc > 0 : 1)) abort();
}

static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The body decodes back to what was given, its line ends made CRLF. */
static void check_body(const char *enc, size_t n, const char *body, int qp) {
    strbuf want = {0}, got = {0};
    for (const char *p = body; *p;) {
        size_t ll = strcspn(p, "\r\n");
        strbuf_add(&want, p, ll);
        strbuf_str(&want, "\r\n");
        p += ll;
        if (*p == '\r' && p[1] == '\n') p += 2;
        else if (*p) p++;
    }
    for (size_t i = 0; i < n; i++) {
        if (!qp || enc[i] != '=') {
            strbuf_add(&got, &enc[i], 1);
        } else if (i + 2 < n && enc[i + 1] == '\r' && enc[i + 2] == '\n') {
            i += 2; /* a soft line break */
        } else {
            if (i + 2 >= n || hex(enc[i + 1]) < 0 || hex(enc[i + 2]) < 0) abort();
            char c = (char)(hex(enc[i + 1]) << 4 | hex(enc[i + 2]));
            strbuf_add(&got, &c, 1);
            i += 2;
        }
    }
    if (want.failed || got.failed) abort();
    if (want.len != got.len || (want.len && memcmp(want.s, got.s, want.len) != 0)) abort();
    strbuf_free(&want);
    strbuf_free(&got);
}

/* Stuffed: no line is exactly "." but the last, and unstuffing gives the
 * message back. */
static void check_stuffed(const strbuf *st, const strbuf *msg) {
    strbuf back = {0};
    check_lines(st->s, st->len);
    if (st->len < 3 || memcmp(st->s + st->len - 3, ".\r\n", 3) != 0) abort();
    if (st->len >= 5 && memcmp(st->s + st->len - 5, "\r\n", 2) != 0) abort();
    for (size_t off = 0; off < st->len;) {
        const char *eol = strstr(st->s + off, "\r\n");
        size_t ll = (size_t)(eol - (st->s + off));
        bool last = off + ll + 2 == st->len;
        if (ll == 1 && st->s[off] == '.' && !last) abort();
        if (!last) {
            size_t skip = st->s[off] == '.' ? 1 : 0;
            if (skip && ll < 2) abort();
            strbuf_add(&back, st->s + off + skip, ll + 2 - skip);
        }
        off += ll + 2;
    }
    if (back.len != msg->len || (back.len && memcmp(back.s, msg->s, back.len) != 0)) abort();
    strbuf_free(&back);
}

static void fuzz_message(const char *const f[NFIELDS]) {
    mail_address from, to[MAX_LIST], cc[MAX_LIST];
    const char *why = NULL;
    size_t nto = parse_list(f[1], to, MAX_LIST), ncc = parse_list(f[2], cc, MAX_LIST);
    int rc = mail_address_parse(f[0], &from, &why);
    check_address(f[0], &from, rc);
    if (rc < 0) mail_address_parse("Fallback Sender <from@example.com>", &from, &why);
    if (nto == 0 && mail_address_parse("to@example.com", &to[nto], &why) == 0) nto++;

    char id[600];
    mail_message_id(f[3], f[5], from.addr, id, sizeof(id));
    if (strpbrk(id, "\r\n")) abort();
    mail_message in = {.from = &from,
                       .to = to,
                       .nto = nto,
                       .cc = cc,
                       .ncc = ncc,
                       .subject = f[3],
                       .body = f[4],
                       .message_id = *f[5] == '!' ? id : f[5],
                       .date = (time_t)strtoll(f[6], NULL, 10)};
    strbuf msg = {0}, st = {0};
    if (mail_build(&in, &msg) == 0) {
        check_lines(msg.s, msg.len);
        const char *sep = strstr(msg.s, "\r\n\r\n");
        if (!sep) abort();
        size_t hlen = (size_t)(sep - msg.s) + 2;
        check_headers(msg.s, hlen, ncc);
        /* The header's first occurrence is the header: the body comes later. */
        const char *cte = strstr(msg.s, "\r\nContent-Transfer-Encoding: ");
        int qp = strncmp(cte + 29, "quoted-printable\r\n", 18) == 0;
        check_body(sep + 4, msg.len - hlen - 2, f[4], qp);
        mail_dot_stuff(&st, msg.s, msg.len);
        if (st.failed) abort();
        check_stuffed(&st, &msg);
    }
    strbuf_free(&msg);
    strbuf_free(&st);
    mail_address_clear(&from);
    for (size_t i = 0; i < nto; i++) mail_address_clear(&to[i]);
    for (size_t i = 0; i < ncc; i++) mail_address_clear(&cc[i]);
}

/* Takes replies one after another from an exact-size copy, so that ASan
 * sees a read past the end. */
static void fuzz_replies(const uint8_t *data, size_t size, size_t textlen) {
    char *buf = malloc(size ? size : 1), text[64];
    if (!buf) return;
    if (size) memcpy(buf, data, size);
    for (size_t off = 0; off < size;) {
        int code = -1;
        memset(text, 'x', sizeof(text));
        size_t used = mail_reply_take(buf + off, size - off, &code, text, textlen);
        if (used == 0) break; /* incomplete */
        if (used > size - off || buf[off + used - 1] != '\n') abort();
        if (code != 0 && (code < 100 || code > 599)) abort();
        if (textlen && strnlen(text, textlen) >= textlen) abort();
        if (textlen < sizeof(text) && text[textlen] != 'x') abort(); /* wrote past textlen */
        off += used;
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *f[NFIELDS];
    size_t off;
    char *copy = fuzz_fields(data, size, 0, f, NFIELDS, &off);
    if (!copy) return 0;
    fuzz_message(f);
    fuzz_replies(data + off, size - off, 64);
    fuzz_replies(data, size, 64);
    fuzz_replies(data, size, 5);
    fuzz_replies(data, size, 0);
    free(copy);
    return 0;
}
