/* smtp_mock.h - a local SMTP server for tests that records what it is sent
 *
 * It runs on its own thread on 127.0.0.1, a free port, one session at a
 * time, and speaks EHLO/HELO, AUTH PLAIN and LOGIN, MAIL FROM, RCPT TO,
 * DATA (dot-unstuffed), RSET, NOOP and QUIT. Each message it accepts is
 * kept with its envelope. A test can make it answer a given code at a given
 * command, to play a server that refuses or defers. */
#ifndef MUSTER_SMTP_MOCK_H
#define MUSTER_SMTP_MOCK_H

#include <stddef.h>

#define SMTP_MOCK_MAX_RCPT 32

typedef struct smtp_message {
    char helo[256];      /* the EHLO or HELO argument */
    char auth_mech[16];  /* "PLAIN", "LOGIN", or "" without AUTH */
    char auth_user[256];
    char from[512];      /* MAIL FROM address, without the angle brackets */
    char *rcpt[SMTP_MOCK_MAX_RCPT]; /* RCPT TO addresses the mock accepted */
    int nrcpt;
    char *data;          /* the message as sent after DATA, unstuffed, with its
                          * CRLF line ends, without the closing "." line */
    size_t len;
} smtp_message;

typedef struct smtp_mock smtp_mock;

smtp_mock *smtp_mock_start(void);
void smtp_mock_stop(smtp_mock *m);

/* "smtp://127.0.0.1:PORT" and the port. */
const char *smtp_mock_url(const smtp_mock *m);
int smtp_mock_port(const smtp_mock *m);

/* Advertises AUTH with `mechs` ("PLAIN LOGIN") and accepts only these
 * credentials (535 otherwise). Without it, AUTH is not offered. */
void smtp_mock_auth(smtp_mock *m, const char *mechs, const char *user, const char *password);

/* Answers `code` instead of success at every `command`: "CONNECT" (the
 * greeting), "EHLO", "AUTH", "MAIL", "RCPT", "DATA" or "." (the end of the
 * message). A RCPT answered so is not recorded. */
void smtp_mock_reply_at(smtp_mock *m, const char *command, int code);

/* Connections accepted, commands received (by name, all sessions), and
 * messages accepted so far. */
int smtp_mock_sessions(smtp_mock *m);
int smtp_mock_commands(smtp_mock *m, const char *command);
int smtp_mock_count(smtp_mock *m);

/* The n-th accepted message (0 first), kept until stop; NULL when none. */
const smtp_message *smtp_mock_message(smtp_mock *m, int n);

/* Decodes base64 s into out (NUL-terminated; may hold NULs). Returns the
 * length, or -1 when s is not base64 or out is too small. */
int smtp_mock_base64_decode(const char *s, char *out, size_t cap);

#endif
