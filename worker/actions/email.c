/* email.c - the email action: one message over SMTP or SMTPS
 *
 * libcurl's SMTP transfer waits for the server's reply to the end of the
 * message, and to QUIT, in blocking mode inside curl_multi_perform(): one
 * slow mail server would stall every task of the worker. So curl does only
 * what it does without blocking, with CONNECT_ONLY on the worker's multi
 * handle: the connection under the network policy, TLS (smtps:// or
 * STARTTLS), EHLO and AUTH. The envelope and the message then go over that
 * connection with curl_easy_send()/curl_easy_recv(), driven by the loop
 * through the waitfds and service hooks. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/util.h"
#include "worker/http.h"

#define MAX_RCPT 100
#define REPLY_MAX 4096
#define LINE_MAX_OUT 76 /* quoted-printable and folded header lines */

/* Where the conversation is: what the next reply answers. */
typedef enum { ST_LOGIN, ST_MAIL, ST_RCPT, ST_DATA, ST_BODY } stage;

static const char *const stage_names[] = {"login", "MAIL FROM", "RCPT TO", "DATA",
                                          "end of message"};

typedef struct strbuf {
    char *s;
    size_t len, cap;
    bool failed; /* out of memory */
} strbuf;

typedef struct mail {
    http_flow policy; /* the network policy's verdict */
    CURL *easy;
    bool added;
    curl_socket_t fd;
    stage stage;
    int64_t deadline; /* monotonic ms */
    char from[256];   /* envelope sender */
    char *rcpt[MAX_RCPT];
    size_t nrcpt, next; /* recipients, and the next to send */
    strbuf message;     /* the message as sent after DATA: stuffed, with the "." line */
    strbuf out;         /* bytes to send */
    size_t outoff;
    char in[REPLY_MAX]; /* reply bytes not used yet */
    size_t inlen;
    char message_id[600];
    char memo_key[200];
} mail;

/* ---- text ---- */

static void sb_add(strbuf *b, const char *s, size_t n) {
    if (b->failed) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1) cap *= 2;
        char *ns = realloc(b->s, cap);
        if (!ns) {
            b->failed = true;
            return;
        }
        b->s = ns;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_str(strbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static void sb_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(strbuf *b, const char *fmt, ...) {
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0) sb_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

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
        size_t n = left < 45 ? left : 45; /* 45 bytes -> 60 characters of base64 */
        while (n < left && n > 0 && (p[n] & 0xc0) == 0x80) n--;
        if (!first) sb_str(b, "\r\n ");
        first = false;
        sb_str(b, "=?UTF-8?B?");
        for (size_t i = 0; i < n; i += 3) {
            unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
                         (i + 2 < n ? p[i + 2] : 0);
            char q[4] = {b64[v >> 18 & 63], b64[v >> 12 & 63], i + 1 < n ? b64[v >> 6 & 63] : '=',
                         i + 2 < n ? b64[v & 63] : '='};
            sb_add(b, q, 4);
        }
        sb_str(b, "?=");
        p += n;
        left -= n;
    }
}

/* Free text for a header (a subject, a display name): line breaks become a
 * space, so a value can never start another header. */
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
    sb_printf(b, "%s: ", name);
    if (!is_ascii_text(value) || strstr(value, "=?") || strlen(value) > 900) {
        add_encoded_words(b, value);
    } else {
        size_t col = strlen(name) + 2;
        const char *p = value;
        while (*p) {
            size_t word = strcspn(p + 1, " ") + 1; /* a space and the word after it */
            if (*p == ' ' && col + word > LINE_MAX_OUT && col > strlen(name) + 2) {
                sb_str(b, "\r\n");
                col = 0;
            }
            sb_add(b, p, word);
            col += word;
            p += word;
        }
    }
    sb_str(b, "\r\n");
}

/* ---- addresses ---- */

typedef struct address {
    char addr[256]; /* local@domain */
    char *name;     /* display name, or NULL (malloc'd) */
} address;

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

/* Parses "a@b.example" or "Name <a@b.example>". Returns 0, or -1 with why. */
static int address_parse(const char *s, address *out, const char **why) {
    memset(out, 0, sizeof(*out));
    if (strpbrk(s, "\r\n")) {
        *why = "holds a line break";
        return -1;
    }
    const char *lt = strrchr(s, '<');
    if (lt) {
        const char *gt = strchr(lt, '>');
        if (!gt || gt[strspn(gt + 1, " ") + 1] != '\0' || (size_t)(gt - lt - 1) >= sizeof(out->addr)) {
            *why = "is not an address (\"name@example.com\" or \"Name <name@example.com>\")";
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
        free(out->name);
        out->name = NULL;
        *why = "is not an address (\"name@example.com\" or \"Name <name@example.com>\"; "
               "ASCII only)";
        return -1;
    }
    return 0;
}

/* A display name and address for a header: the name quoted, or encoded
 * when it is not ASCII. */
static void add_mailbox(strbuf *b, const address *a) {
    if (a->name && *a->name) {
        if (is_ascii_text(a->name) && !strstr(a->name, "=?")) {
            sb_str(b, "\"");
            for (const char *p = a->name; *p; p++) {
                if (*p == '"' || *p == '\\') sb_str(b, "\\");
                sb_add(b, p, 1);
            }
            sb_str(b, "\"");
        } else {
            add_encoded_words(b, a->name);
        }
        sb_printf(b, " <%s>", a->addr);
    } else {
        sb_str(b, a->addr);
    }
}

/* The addresses of parameter `name` (a list, or one string). Returns how
 * many (at most max), or -1 with err naming the parameter. */
static int addresses_read(const task *t, const char *name, address *out, size_t max, char *err,
                          size_t errlen) {
    json_t *v = json_object_get(t->with, name), *item;
    size_t i, n = 0;
    const char *why = NULL;
    if (!v || json_is_null(v)) return 0;
    if (json_is_string(v)) {
        if (address_parse(json_string_value(v), &out[0], &why) < 0) goto bad;
        return 1;
    }
    if (!json_is_array(v)) {
        snprintf(err, errlen, "email: parameter \"%s\" must be a list of addresses", name);
        return -1;
    }
    json_array_foreach(v, i, item) {
        if (n == max) {
            snprintf(err, errlen, "email: parameter \"%s\": more than %d recipients in to and cc",
                     name, MAX_RCPT);
            goto fail;
        }
        if (!json_is_string(item) || address_parse(json_string_value(item), &out[n], &why) < 0) {
            if (!why) why = "is not a string";
            goto bad;
        }
        n++;
    }
    return (int)n;
bad:
    snprintf(err, errlen, "email: parameter \"%s\": an address %s", name, why);
fail:
    for (size_t k = 0; k < n; k++) free(out[k].name);
    return -1;
}

static void add_address_header(strbuf *b, const char *name, const address *a, size_t n) {
    if (!n) return;
    sb_printf(b, "%s: ", name);
    for (size_t i = 0; i < n; i++) {
        if (i) sb_str(b, ",\r\n ");
        add_mailbox(b, &a[i]);
    }
    sb_str(b, "\r\n");
}

/* ---- the message ---- */

/* Message-ID: the same for every attempt of the step, so a copy sent again
 * after a lost reply can be recognised. Characters outside [A-Za-z0-9_-]
 * of the ids are written =XX. */
static void message_id_make(const task *t, const char *from_addr, char *out, size_t len) {
    strbuf b = {0};
    const char *ids[2] = {t->li.incident, t->li.step};
    sb_str(&b, "<");
    for (int k = 0; k < 2; k++) {
        for (const unsigned char *p = (const unsigned char *)ids[k]; *p; p++) {
            if (isalnum(*p) || *p == '-' || *p == '_') sb_add(&b, (const char *)p, 1);
            else sb_printf(&b, "=%02X", *p);
        }
        sb_str(&b, ".");
    }
    sb_printf(&b, "muster@%s>", strchr(from_addr, '@') + 1);
    snprintf(out, len, "%s", b.failed ? "" : b.s);
    free(b.s);
}

static void add_date(strbuf *b) {
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    sb_printf(b, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday], tm.tm_mday,
              months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Whether the body can go as 7bit: ASCII, lines of at most 998 bytes. */
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
        else
            snprintf(tok, sizeof(tok), "=%02X", p[i]);
        size_t tl = strlen(tok);
        if (col + tl > LINE_MAX_OUT - 1) {
            sb_str(b, "=\r\n");
            col = 0;
        }
        sb_add(b, tok, tl);
        col += tl;
    }
}

/* The body with CRLF line ends, 7bit or quoted-printable. */
static void add_body(strbuf *b, const char *body, bool qp) {
    const char *p = body;
    while (*p) {
        size_t n = strcspn(p, "\r\n");
        if (qp) add_qp_line(b, (const unsigned char *)p, n);
        else sb_add(b, p, n);
        sb_str(b, "\r\n");
        p += n;
        if (*p == '\r' && p[1] == '\n') p += 2;
        else if (*p) p++;
    }
}

/* The message as sent after DATA: lines starting with "." doubled
 * (RFC 5321 4.5.2), ending with the "." line. */
static void stuff(strbuf *out, const strbuf *msg) {
    const char *p = msg->s;
    while (p && *p) {
        const char *e = strstr(p, "\r\n");
        size_t n = e ? (size_t)(e - p) + 2 : strlen(p);
        if (*p == '.') sb_str(out, ".");
        sb_add(out, p, n);
        p += n;
    }
    sb_str(out, ".\r\n");
}

/* Builds the message into m->message. Returns 0, or -1 with err. */
static int message_build(const task *t, mail *m, const address *from, const address *to, size_t nto,
                         const address *cc, size_t ncc, char *err, size_t errlen) {
    strbuf msg = {0};
    const char *body = json_string_value(json_object_get(t->with, "body"));
    char *subject = one_line(json_string_value(json_object_get(t->with, "subject")));
    bool qp = !body_is_7bit(body);
    add_date(&msg);
    add_address_header(&msg, "From", from, 1);
    add_address_header(&msg, "To", to, nto);
    add_address_header(&msg, "Cc", cc, ncc);
    if (subject) add_text_header(&msg, "Subject", subject);
    sb_printf(&msg, "Message-ID: %s\r\n", m->message_id);
    sb_str(&msg, "MIME-Version: 1.0\r\n");
    sb_str(&msg, "Content-Type: text/plain; charset=utf-8\r\n");
    sb_printf(&msg, "Content-Transfer-Encoding: %s\r\n", qp ? "quoted-printable" : "7bit");
    sb_str(&msg, "\r\n");
    add_body(&msg, body, qp);
    stuff(&m->message, &msg);
    bool failed = !subject || msg.failed || m->message.failed;
    free(subject);
    free(msg.s);
    if (failed) snprintf(err, errlen, "email: out of memory");
    return failed ? -1 : 0;
}

/* ---- the conversation ---- */

static void mail_free(worker *w, task *t) {
    mail *m = t->state;
    if (!m) return;
    if (m->added) curl_multi_remove_handle(w->multi, m->easy);
    if (m->easy) curl_easy_cleanup(m->easy);
    for (size_t i = 0; i < m->nrcpt; i++) free(m->rcpt[i]);
    free(m->message.s);
    free(m->out.s);
    free(m);
    t->state = NULL;
}

/* Ends the session: QUIT is sent when it goes out at once; its answer is
 * not waited for, the message is already accepted or refused. */
static void finish(worker *w, task *t, int succeeded, json_t *out, const char *msg, int permanent) {
    mail *m = t->state;
    size_t n;
    if (m->fd != CURL_SOCKET_BAD) curl_easy_send(m->easy, "QUIT\r\n", 6, &n);
    task_finish(t, succeeded, out, msg);
    t->res.permanent = permanent;
    mail_free(w, t);
}

/* A refusal: 5xx is final, anything else (4xx, an odd reply) is retried. */
static void refused(worker *w, task *t, int code, const char *text) {
    mail *m = t->state;
    char msg[900];
    snprintf(msg, sizeof(msg), "email: SMTP %d at %s%s%s%s: %.300s", code, stage_names[m->stage],
             m->stage == ST_RCPT ? " <" : "", m->stage == ST_RCPT ? m->rcpt[m->next - 1] : "",
             m->stage == ST_RCPT ? ">" : "", text);
    finish(w, t, 0, json_pack("{s:i, s:s}", "code", code, "message_id", m->message_id), msg,
           code >= 500 && code < 600);
}

static void lost(worker *w, task *t, const char *what) {
    mail *m = t->state;
    char msg[300];
    snprintf(msg, sizeof(msg), "email: %s at %s", what, stage_names[m->stage]);
    finish(w, t, 0, json_pack("{s:i, s:s}", "code", 0, "message_id", m->message_id), msg, 0);
}

static void send_line(mail *m, const char *fmt, const char *arg) {
    m->out.len = 0;
    m->outoff = 0;
    sb_printf(&m->out, fmt, arg);
}

static json_t *accepted_list(const mail *m) {
    json_t *a = json_array();
    for (size_t i = 0; i < m->nrcpt; i++) json_array_append_new(a, json_string(m->rcpt[i]));
    return a;
}

/* The next command after a positive reply. */
static void advance(worker *w, task *t) {
    mail *m = t->state;
    switch (m->stage) {
    case ST_LOGIN:
        m->stage = ST_MAIL;
        send_line(m, "MAIL FROM:<%s>\r\n", m->from);
        break;
    case ST_MAIL:
    case ST_RCPT:
        if (m->next < m->nrcpt) {
            m->stage = ST_RCPT;
            send_line(m, "RCPT TO:<%s>\r\n", m->rcpt[m->next++]);
        } else {
            m->stage = ST_DATA;
            send_line(m, "%s", "DATA\r\n");
        }
        break;
    case ST_DATA:
        m->stage = ST_BODY;
        m->out.len = 0;
        m->outoff = 0;
        sb_add(&m->out, m->message.s, m->message.len);
        break;
    case ST_BODY: {
        size_t n;
        if (m->fd != CURL_SOCKET_BAD) curl_easy_send(m->easy, "QUIT\r\n", 6, &n);
        task_sent_now(w, t, "email", m->memo_key,
                      json_pack("{s:o, s:s}", "accepted", accepted_list(m), "message_id", m->message_id));
        mail_free(w, t);
        return;
    }
    }
    if (m->out.failed) lost(w, t, "out of memory");
}

/* One complete reply at the start of m->in: its code and first line's text,
 * and how many bytes it took; 0 while incomplete. */
static size_t reply_take(mail *m, int *code, char *text, size_t textlen) {
    size_t off = 0;
    for (;;) {
        char *nl = memchr(m->in + off, '\n', m->inlen - off);
        if (!nl) return 0;
        const char *line = m->in + off;
        size_t ll = (size_t)(nl - line);
        if (off == 0) {
            *code = ll >= 3 && isdigit((unsigned char)line[0]) ? atoi(line) : 0;
            size_t tl = ll > 4 ? ll - 4 : 0;
            while (tl && (line[4 + tl - 1] == '\r')) tl--;
            snprintf(text, textlen, "%.*s", (int)tl, ll > 4 ? line + 4 : "");
        }
        off += ll + 1;
        if (ll < 4 || line[3] != '-') return off; /* "250 ok" ends it, "250-..." goes on */
    }
}

static bool positive(stage s, int code) {
    switch (s) {
    case ST_DATA: return code == 354;
    case ST_RCPT: return code == 250 || code == 251;
    default: return code == 250;
    }
}

static int waitfds(task *t, struct curl_waitfd *fds, int max) {
    mail *m = t->state;
    if (!m || m->fd == CURL_SOCKET_BAD || max < 1) return 0;
    fds[0].fd = m->fd;
    fds[0].events = CURL_WAIT_POLLIN | (m->outoff < m->out.len ? CURL_WAIT_POLLOUT : 0);
    fds[0].revents = 0;
    return 1;
}

static void service(worker *w, task *t) {
    mail *m = t->state;
    if (!m || m->fd == CURL_SOCKET_BAD) return;
    if (mono_ms() > m->deadline) {
        lost(w, t, "timed out waiting for the server");
        return;
    }
    while (m->outoff < m->out.len) {
        size_t n = 0;
        CURLcode rc = curl_easy_send(m->easy, m->out.s + m->outoff, m->out.len - m->outoff, &n);
        if (rc == CURLE_AGAIN) return;
        if (rc != CURLE_OK) {
            lost(w, t, "the connection failed while sending");
            return;
        }
        m->outoff += n;
    }
    for (;;) {
        int code = 0;
        char text[400];
        size_t used = reply_take(m, &code, text, sizeof(text));
        if (used) {
            memmove(m->in, m->in + used, m->inlen - used);
            m->inlen -= used;
            if (!positive(m->stage, code)) {
                refused(w, t, code, text);
                return;
            }
            advance(w, t);
            if (t->state) service(w, t); /* the next command goes out now */
            return;
        }
        if (m->inlen == sizeof(m->in)) {
            lost(w, t, "a reply too long");
            return;
        }
        size_t n = 0;
        CURLcode rc = curl_easy_recv(m->easy, m->in + m->inlen, sizeof(m->in) - m->inlen, &n);
        if (rc == CURLE_AGAIN) return;
        if (rc != CURLE_OK || n == 0) {
            lost(w, t, "the server closed the connection");
            return;
        }
        m->inlen += n;
    }
}

/* The connection, TLS, EHLO and login are done (or failed). */
static void curl_done(worker *w, task *t, CURLcode rc) {
    mail *m = t->state;
    long code = 0;
    char msg[900];
    if (!m) return;
    curl_easy_getinfo(m->easy, CURLINFO_RESPONSE_CODE, &code);
    if (rc == CURLE_OK) {
        curl_socket_t fd = CURL_SOCKET_BAD;
        curl_easy_getinfo(m->easy, CURLINFO_ACTIVESOCKET, &fd);
        if ((m->fd = fd) == CURL_SOCKET_BAD) {
            lost(w, t, "no connection after login");
            return;
        }
        advance(w, t);
        service(w, t);
        return;
    }
    const http_resp *r = &m->policy.resp;
    snprintf(msg, sizeof(msg), "email: %s",
             r->blocked ? r->error : m->policy.errbuf[0] ? m->policy.errbuf : curl_easy_strerror(rc));
    bool permanent = r->blocked;
    if (code >= 400 && code < 500) permanent = false;
    else if (code >= 500 && code < 600) permanent = true;
    else permanent = permanent || rc == CURLE_LOGIN_DENIED || rc == CURLE_URL_MALFORMAT ||
                     rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_USE_SSL_FAILED ||
                     rc == CURLE_PEER_FAILED_VERIFICATION;
    finish(w, t, 0, json_pack("{s:i, s:s}", "code", (int)code, "message_id", m->message_id), msg,
           permanent);
}

/* ---- start ---- */

static bool url_is_smtp(const char *url) {
    return strncasecmp(url, "smtp://", 7) == 0 || strncasecmp(url, "smtps://", 8) == 0;
}

/* Reads and checks the parameters, builds the message. Returns 0, or -1
 * with err naming the parameter. */
static int prepare(const task *t, mail *m, char *err, size_t errlen) {
    static const char *const required[] = {"url", "from", "to", "subject", "body"};
    address from, to[MAX_RCPT], cc[MAX_RCPT];
    int nto = 0, ncc = 0, rc = -1;
    const char *why = NULL;
    memset(&from, 0, sizeof(from));
    for (size_t i = 0; i < sizeof(required) / sizeof(*required); i++) {
        json_t *v = json_object_get(t->with, required[i]);
        bool ok = i == 2 ? json_is_array(v) || json_is_string(v) : json_is_string(v);
        if (!ok || (i != 4 && i != 3 && json_is_string(v) && !*json_string_value(v))) {
            snprintf(err, errlen, "email: parameter \"%s\" is required", required[i]);
            return -1;
        }
    }
    if (!url_is_smtp(with_str(t, "url"))) {
        snprintf(err, errlen, "email: parameter \"url\" must be smtp://host:port or "
                              "smtps://host:port");
        return -1;
    }
    if (address_parse(with_str(t, "from"), &from, &why) < 0) {
        snprintf(err, errlen, "email: parameter \"from\" %s", why);
        return -1;
    }
    if ((nto = addresses_read(t, "to", to, MAX_RCPT, err, errlen)) < 0) goto out;
    if ((ncc = addresses_read(t, "cc", cc, MAX_RCPT - (size_t)nto, err, errlen)) < 0) {
        ncc = 0;
        goto out;
    }
    if (nto == 0) {
        snprintf(err, errlen, "email: parameter \"to\" names no recipient");
        goto out;
    }
    snprintf(m->from, sizeof(m->from), "%s", from.addr);
    /* The envelope: each recipient once. */
    for (int i = 0; i < nto + ncc; i++) {
        const char *a = i < nto ? to[i].addr : cc[i - nto].addr;
        bool seen = false;
        for (size_t k = 0; k < m->nrcpt && !seen; k++) seen = strcasecmp(m->rcpt[k], a) == 0;
        if (!seen && !(m->rcpt[m->nrcpt++] = strdup(a))) goto oom;
    }
    message_id_make(t, from.addr, m->message_id, sizeof(m->message_id));
    rc = message_build(t, m, &from, to, (size_t)nto, cc, (size_t)ncc, err, errlen);
    goto out;
oom:
    snprintf(err, errlen, "email: out of memory");
out:
    free(from.name);
    for (int i = 0; i < nto; i++) free(to[i].name);
    for (int i = 0; i < ncc; i++) free(cc[i].name);
    return rc;
}

static int start(worker *w, task *t) {
    char err[600];
    mail *m = calloc(1, sizeof(*m));
    if (!m) {
        task_refuse(t, "email: out of memory");
        return 1;
    }
    m->fd = CURL_SOCKET_BAD;
    t->state = m;
    if (prepare(t, m, err, sizeof(err)) < 0) {
        mail_free(w, t);
        task_refuse(t, "%s", err);
        return 1;
    }
    /* Sent by an earlier run of this step (a worker that died before it
     * could report): not again. */
    snprintf(m->memo_key, sizeof(m->memo_key), "email.sent.%s", t->li.step);
    if (task_sent_before(w, t, "email", m->memo_key)) {
        mail_free(w, t);
        return 1;
    }
    int64_t timeout = t->timeout_ms > 0 ? t->timeout_ms : w->cfg->http_timeout_ms;
    m->deadline = t->started_ms + timeout;
    if (!(m->easy = curl_easy_init())) {
        mail_free(w, t);
        task_refuse(t, "email: out of memory");
        return 1;
    }
    if (net_policy_apply(w, t, m->easy, &m->policy, with_str(t, "url"), "smtp,smtps") < 0) {
        snprintf(err, sizeof(err), "email: %s", m->policy.resp.error);
        mail_free(w, t);
        task_refuse(t, "%s", err);
        return 1;
    }
    /* curl connects, starts TLS, says EHLO and logs in; the rest is ours.
     * The connection must outlive curl's part: FORBID_REUSE would close it
     * there. No other transfer takes a CONNECT_ONLY connection. */
    curl_easy_setopt(m->easy, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(m->easy, CURLOPT_FORBID_REUSE, 0L);
    curl_easy_setopt(m->easy, CURLOPT_PROXY, "");
    if (json_is_true(json_object_get(t->with, "starttls")))
        curl_easy_setopt(m->easy, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    if (with_str(t, "username")) {
        curl_easy_setopt(m->easy, CURLOPT_USERNAME, with_str(t, "username"));
        curl_easy_setopt(m->easy, CURLOPT_PASSWORD, with_str(t, "password") ? with_str(t, "password") : "");
    }
    if (curl_multi_add_handle(w->multi, m->easy) != CURLM_OK) {
        mail_free(w, t);
        task_refuse(t, "email: curl_multi_add_handle failed");
        return 1;
    }
    m->added = true;
    return 0;
}

const action_impl action_email = {
    .name = "email",
    .start = start,
    .waitfds = waitfds,
    .service = service,
    .curl_done = curl_done,
    .abort = mail_free,
};
