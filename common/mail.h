/* mail.h - email as text: addresses, RFC 5322 messages, SMTP replies
 *
 * Pure functions over strings and buffers (no I/O), shared by the email
 * action and its fuzz target. */
#ifndef MUSTER_MAIL_H
#define MUSTER_MAIL_H

#include <stddef.h>
#include <time.h>

#include "common/strbuf.h"

#define MAIL_ADDR_MAX 256

/* One mailbox: "local@domain" and an optional display name. */
typedef struct mail_address {
    char addr[MAIL_ADDR_MAX]; /* printable ASCII, no space, '<' or '>' */
    char *name;               /* display name on one line, or NULL (malloc'd) */
} mail_address;

/* Parses "a@b.example" or "Name <a@b.example>" (the name may be quoted).
 * Returns 0 (free the name with mail_address_clear()), or -1 with *why
 * saying what is wrong (a static string, fit to follow "an address "). */
int mail_address_parse(const char *s, mail_address *out, const char **why);

/* Frees the display name; the address stays usable without it. */
void mail_address_clear(mail_address *a);

/* "<incident.step.muster@domain-of-from>", the same for every attempt of a
 * step so a copy sent again can be recognised. Characters of the ids
 * outside [A-Za-z0-9_-] are written =XX. Cut to len - 1; "" when out of
 * memory. */
void mail_message_id(const char *incident, const char *step, const char *from_addr, char *out,
                     size_t len);

/* What a message is made of. Addresses come from mail_address_parse();
 * the subject, the message id and display names are put on one line, so
 * no value can start a header of its own. */
typedef struct mail_message {
    const mail_address *from;
    const mail_address *to; /* at least one */
    size_t nto;
    const mail_address *cc;
    size_t ncc;
    const char *subject;    /* any text; NULL is "" */
    const char *body;       /* any text, any line ends; NULL is "" */
    const char *message_id; /* "<...>" as written in the header */
    time_t date;
} mail_message;

/* Appends the message to out: headers (Date, From, To, Cc when any,
 * Subject, Message-ID, MIME-Version, Content-Type,
 * Content-Transfer-Encoding), a blank line and the body, every line ended
 * by CRLF. The body is 7bit when it is ASCII with lines within 998
 * characters, else quoted-printable. Returns 0, or -1 when out of memory
 * or the input cannot make a message (no sender or recipient, a message id
 * over 900 characters, a date gmtime cannot represent). */
int mail_build(const mail_message *m, strbuf *out);

/* Appends the n bytes of msg as sent after DATA (RFC 5321 4.5.2): a line
 * starting with "." gets another, and the "." line ends it. msg's lines
 * end with CRLF, as mail_build() writes them. */
void mail_dot_stuff(strbuf *out, const char *msg, size_t n);

/* Takes one complete SMTP reply, possibly multi-line ("250-a\r\n250 b\r\n"),
 * from the start of the len bytes at buf (which need no NUL). Returns the
 * bytes it spans, or 0 while it is incomplete. With a reply, *code is its
 * code (100..599), or 0 when the first line does not start with one, and
 * text holds the first line's text (cut to textlen - 1). */
size_t mail_reply_take(const char *buf, size_t len, int *code, char *text, size_t textlen);

#endif
