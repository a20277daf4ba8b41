/* mail.c - email as text: addresses, RFC 5322 messages, SMTP replies */
#include "common/mail.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_OUT 76     /* quoted-printable and folded header lines */
#define WORD_BYTES 45       /* bytes of text in one encoded-word: 60 of base64 */
#define TEXT_MAX_PLAIN 900  /* longer header text is encoded, hence folded */
#define NAME_MAX_QUOTED 700 /* a longer display name too */
#define MESSAGE_ID_MAX 900  /* "Message-ID: " and this fit in 998 */

/* ---- header text ---- */

static bool is_ascii_text(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e) return false;
    return true;
}

/* RFC 2047 encoded-words (UTF-8, base64), at most 75 characters each, never
 * splitting a character, joined by folding whitespace. */
static void add_encoded_words(strbuf *b, const char *s) {
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = (const unsigned char *)s;
    size_t left = strlen(s);
    bool first = true;
    while (left) {
        size_t n = left < WORD_BYTES ? left : WORD_BYTES;
        while (n < left && n > 0 && (p[n] & 0xc0) == 0x80) n--;
        /* Not UTF-8 (a run of continuation bytes): cut anywhere. */
        if (n == 0) n = left < WORD_BYTES ? left : WORD_BYTES;
        if (!first) strbuf_str(b, "\r\n ");
        first = false;
        strbuf_str(b, "=?UTF-8?B?");
        for (size_t i = 0; i < n; i += 3) {
            unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
                         (i + 2 < n ? p[i + 2] : 0);
            char q[4] = {b64[v >> 18 & 63], b64[v >> 12 & 63], i + 1 < n ? b64[v >> 6 & 63] : '=',
                         i + 2 < n ? b64[v & 63] : '='};
            strbuf_add(b, q, 4);
        }
        strbuf_str(b, "?=");
        p += n;
        left -= n;
    }
}

/* Free text for a header (a subject, a display name): line breaks become a
 * space, so a value can never start another header; other control
 * characters go, tabs become spaces. Returns a malloc'd copy, or NULL. */
static char *one_line(const char *s) {
    char *out = strdup(s), *o = out;
    if (!out) return NULL;
    for (const char *p = s; *p; p++) {
        if (*p == '\r' || *p == '\n') {
            if (o > out && o[-1] != ' ') *o++ = ' ';
        } else if ((unsigned char)*p >= 0x20 && *p != 0x7f) {
            *o++ = *p;
        } else if (*p == '\t') {
            *o++ = ' ';
        }
    }
    *o = '\0';
    return out;
}

/* "Name: value" for unstructured text: as it is when printable ASCII that
 * cannot be taken for an encoded-word (folded at spaces past 76
 * characters), else encoded-words. */
static void add_text_header(strbuf *b, const char *name, const char *value) {
    strbuf_printf(b, "%s: ", name);
    if (!is_ascii_text(value) || strstr(value, "=?") || strlen(value) > TEXT_MAX_PLAIN) {
        add_encoded_words(b, value);
    } else {
        size_t col = strlen(name) + 2;
        const char *p = value;
        while (*p) {
            size_t word = strcspn(p + 1, " ") + 1; /* a space and the word after it */
            if (*p == ' ' && col + word > LINE_MAX_OUT && col > strlen(name) + 2) {
                strbuf_str(b, "\r\n");
                col = 0;
            }
            strbuf_add(b, p, word);
            col += word;
            p += word;
        }
    }
    strbuf_str(b, "\r\n");
}

/* ---- addresses ---- */

static bool addr_spec_valid(const char *a) {
    static const char local_ok[] = "!#$%&'*+-/=?^_`{|}~.";
    const char *at = strchr(a, '@');
    if (!at || at == a || !at[1] || strchr(at + 1, '@') || strlen(a) > 254) return false;
    for (const char *p = a; p < at; p++)
        if (!isalnum((unsigned char)*p) || (unsigned char)*p > 0x7e)
            if (!strchr(local_ok, *p)) return false;
    for (const char *p = at + 1; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-') return false;
    return at[1] != '.' && a[0] != '.';
}

int mail_address_parse(const char *s, mail_address *out, const char **why) {
    memset(out, 0, sizeof(*out));
    if (strpbrk(s, "\r\n")) {
        *why = "holds a line break";
        return -1;
    }
    const char *lt = strrchr(s, '<');
    if (lt) {
        const char *gt = strchr(lt, '>');
        if (!gt || gt[strspn(gt + 1, " ") + 1] != '\0' ||
            (size_t)(gt - lt - 1) >= sizeof(out->addr)) {
            *why = "is not an address (\"name@example.com\" or \"Name "
                   "<name@example.com>\")";
            return -1;
        }
        snprintf(out->addr, sizeof(out->addr), "%.*s", (int)(gt - lt - 1), lt + 1);
        size_t nl = (size_t)(lt - s);
        while (nl && s[nl - 1] == ' ') nl--;
        const char *ns = s;
        while (nl && *ns == ' ') ns++, nl--;
        if (nl >= 2 && ns[0] == '"' && ns[nl - 1] == '"') ns++, nl -= 2;
        if (nl) {
            char *raw = strndup(ns, nl);
            out->name = raw ? one_line(raw) : NULL;
            free(raw);
        }
    } else {
        size_t n = strlen(s);
        while (*s == ' ') s++, n--;
        while (n && s[n - 1] == ' ') n--;
        if (n >= sizeof(out->addr)) n = sizeof(out->addr) - 1;
        snprintf(out->addr, sizeof(out->addr), "%.*s", (int)n, s);
    }
    if (!addr_spec_valid(out->addr)) {
        mail_address_clear(out);
        *why = "is not an address (\"name@example.com\" or \"Name "
               "<name@example.com>\"; "
               "ASCII only)";
        return -1;
    }
    return 0;
}

void mail_address_clear(mail_address *a) {
    free(a->name);
    a->name = NULL;
}

/* The length of a name quoted: its characters, a backslash before each
 * '"' and '\\', and the two quotes. */
static size_t quoted_len(const char *s) {
    size_t n = 2;
    for (; *s; s++) n += *s == '"' || *s == '\\' ? 2 : 1;
    return n;
}

/* A display name and address for a header: the name quoted, or encoded
 * when it is not ASCII or too long for one line: a mailbox stands on a line
 * of its own, which must stay within 998 characters with the address. */
static void add_mailbox(strbuf *b, const mail_address *a) {
    if (a->name && *a->name) {
        if (is_ascii_text(a->name) && !strstr(a->name, "=?") &&
            quoted_len(a->name) <= NAME_MAX_QUOTED) {
            strbuf_str(b, "\"");
            for (const char *p = a->name; *p; p++) {
                if (*p == '"' || *p == '\\') strbuf_str(b, "\\");
                strbuf_add(b, p, 1);
            }
            strbuf_str(b, "\"");
        } else {
            add_encoded_words(b, a->name);
        }
        strbuf_printf(b, " <%s>", a->addr);
    } else {
        strbuf_str(b, a->addr);
    }
}

static void add_address_header(strbuf *b, const char *name, const mail_address *a, size_t n) {
    if (!n) return;
    strbuf_printf(b, "%s: ", name);
    for (size_t i = 0; i < n; i++) {
        if (i) strbuf_str(b, ",\r\n ");
        add_mailbox(b, &a[i]);
    }
    strbuf_str(b, "\r\n");
}

/* ---- the message ---- */

void mail_message_id(const char *incident, const char *step, const char *from_addr, char *out,
                     size_t len) {
    strbuf b = {0};
    const char *ids[2] = {incident, step};
    const char *at = strchr(from_addr, '@');
    strbuf_str(&b, "<");
    for (int k = 0; k < 2; k++) {
        for (const unsigned char *p = (const unsigned char *)ids[k]; *p; p++) {
            if (isalnum(*p) || *p == '-' || *p == '_') strbuf_add(&b, (const char *)p, 1);
            else strbuf_printf(&b, "=%02X", *p);
        }
        strbuf_str(&b, ".");
    }
    strbuf_printf(&b, "muster@%s>", at ? at + 1 : from_addr);
    snprintf(out, len, "%s", b.failed ? "" : b.s);
    strbuf_free(&b);
}

static int add_date(strbuf *b, time_t when) {
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    if (!gmtime_r(&when, &tm)) return -1;
    strbuf_printf(b, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday],
                  tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                  tm.tm_sec);
    return 0;
}

/* 7bit needs ASCII and lines of at most 998 characters (RFC 5322 2.1.1). */
static bool body_is_7bit(const char *s) {
    size_t col = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p >= 0x80 || *p == 0) return false;
        col = *p == '\n' || *p == '\r' ? 0 : col + 1;
        if (col > 998) return false;
    }
    return true;
}

/* One line of the body (no line end) in quoted-printable, soft breaks
 * keeping lines within 76 characters. */
static void add_qp_line(strbuf *b, const unsigned char *p, size_t n) {
    size_t col = 0;
    for (size_t i = 0; i < n; i++) {
        char tok[4];
        bool last = i + 1 == n;
        if ((p[i] >= 33 && p[i] <= 126 && p[i] != '=') || ((p[i] == ' ' || p[i] == '\t') && !last))
            snprintf(tok, sizeof(tok), "%c", p[i]);
        else snprintf(tok, sizeof(tok), "=%02X", p[i]);
        size_t tl = strlen(tok);
        if (col + tl > LINE_MAX_OUT - 1) {
            strbuf_str(b, "=\r\n");
            col = 0;
        }
        strbuf_add(b, tok, tl);
        col += tl;
    }
}

/* The body with CRLF line ends, 7bit or quoted-printable. */
static void add_body(strbuf *b, const char *body, bool qp) {
    const char *p = body;
    while (*p) {
        size_t n = strcspn(p, "\r\n");
        if (qp) add_qp_line(b, (const unsigned char *)p, n);
        else strbuf_add(b, p, n);
        strbuf_str(b, "\r\n");
        p += n;
        if (*p == '\r' && p[1] == '\n') p += 2;
        else if (*p) p++;
    }
}

int mail_build(const mail_message *m, strbuf *out) {
    const char *body = m->body ? m->body : "";
    char *subject = one_line(m->subject ? m->subject : "");
    char *message_id = one_line(m->message_id ? m->message_id : "");
    bool qp = !body_is_7bit(body);
    int rc = -1;
    if (!subject || !message_id || !m->from || !m->nto) goto out;
    if (strlen(message_id) > MESSAGE_ID_MAX) goto out; /* it cannot be folded */
    if (add_date(out, m->date) < 0) goto out;
    add_address_header(out, "From", m->from, 1);
    add_address_header(out, "To", m->to, m->nto);
    add_address_header(out, "Cc", m->cc, m->ncc);
    add_text_header(out, "Subject", subject);
    strbuf_printf(out, "Message-ID: %s\r\n", message_id);
    strbuf_str(out, "MIME-Version: 1.0\r\n");
    strbuf_str(out, "Content-Type: text/plain; charset=utf-8\r\n");
    strbuf_printf(out, "Content-Transfer-Encoding: %s\r\n", qp ? "quoted-printable" : "7bit");
    strbuf_str(out, "\r\n");
    add_body(out, body, qp);
    rc = out->failed ? -1 : 0;
out:
    free(subject);
    free(message_id);
    return rc;
}

void mail_dot_stuff(strbuf *out, const char *msg, size_t n) {
    size_t off = 0;
    while (off < n) {
        size_t ll = n - off; /* the line and its CRLF, or the rest */
        for (const char *cr = msg + off; (cr = memchr(cr, '\r', (size_t)(msg + n - cr)));) {
            if (cr + 1 < msg + n && cr[1] == '\n') {
                ll = (size_t)(cr - (msg + off)) + 2;
                break;
            }
            cr++;
        }
        if (msg[off] == '.') strbuf_str(out, ".");
        strbuf_add(out, msg + off, ll);
        off += ll;
    }
    strbuf_str(out, ".\r\n");
}

/* ---- replies ---- */

/* A reply code: three digits, 100 to 599, then a space, a hyphen or the
 * end of the line; else 0. */
static int reply_code(const char *line, size_t ll) {
    if (ll < 3 || line[0] < '1' || line[0] > '5' || !isdigit((unsigned char)line[1]) ||
        !isdigit((unsigned char)line[2]))
        return 0;
    if (ll > 3 && line[3] != ' ' && line[3] != '-' && line[3] != '\r') return 0;
    return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

size_t mail_reply_take(const char *buf, size_t len, int *code, char *text, size_t textlen) {
    size_t off = 0;
    for (;;) {
        const char *nl = memchr(buf + off, '\n', len - off);
        if (!nl) return 0;
        const char *line = buf + off;
        size_t ll = (size_t)(nl - line);
        if (off == 0) {
            *code = reply_code(line, ll);
            size_t tl = ll > 4 ? ll - 4 : 0;
            while (tl && line[4 + tl - 1] == '\r') tl--;
            if (textlen) {
                if (tl > textlen - 1) tl = textlen - 1;
                if (tl) memcpy(text, line + 4, tl);
                text[tl] = '\0';
            }
        }
        off += ll + 1;
        if (ll < 4 || line[3] != '-') return off; /* "250 ok" ends it, "250-..." goes on */
    }
}
