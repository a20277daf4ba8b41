/* smtp_mock.c - a local SMTP server for tests that records what it is sent */
#include "smtp_mock.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_MESSAGES 32
#define MAX_FAULTS 8
#define LINE_MAX_LEN 4096
#define DATA_MAX (1024 * 1024)

typedef struct fault {
    char command[16];
    int code;
} fault;

typedef struct counted {
    char command[16];
    int n;
} counted;

struct smtp_mock {
    int lfd;
    int stop_pipe[2];
    pthread_t thread;
    char url[64];
    int port;
    pthread_mutex_t mu;
    /* set by the test before the session that needs it */
    char mechs[64], user[256], password[256];
    fault faults[MAX_FAULTS];
    int nfaults;
    /* what was seen */
    int sessions;
    counted counts[16];
    int ncounts;
    smtp_message msgs[MAX_MESSAGES];
    int nmsgs;
};

/* One session's connection: a socket and what was read but not used. */
typedef struct conn {
    smtp_mock *m;
    int fd;
    char buf[LINE_MAX_LEN * 2];
    size_t have;
} conn;

/* ---- small helpers ---- */

static int b64val(int c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

int smtp_mock_base64_decode(const char *s, char *out, size_t cap) {
    size_t n = 0;
    unsigned acc = 0;
    int bits = 0;
    for (; *s && *s != '='; s++) {
        int v = b64val((unsigned char)*s);
        if (v < 0) return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n + 1 >= cap) return -1;
            out[n++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[n] = '\0';
    return (int)n;
}

static void count(smtp_mock *m, const char *command) {
    pthread_mutex_lock(&m->mu);
    int i = 0;
    while (i < m->ncounts && strcmp(m->counts[i].command, command) != 0) i++;
    if (i == m->ncounts && m->ncounts < 16) {
        snprintf(m->counts[i].command, sizeof(m->counts[i].command), "%s", command);
        m->ncounts++;
    }
    if (i < 16) m->counts[i].n++;
    pthread_mutex_unlock(&m->mu);
}

/* The code the test wants at `command`, or 0. */
static int fault_at(smtp_mock *m, const char *command) {
    int code = 0;
    pthread_mutex_lock(&m->mu);
    for (int i = 0; i < m->nfaults; i++)
        if (strcasecmp(m->faults[i].command, command) == 0) code = m->faults[i].code;
    pthread_mutex_unlock(&m->mu);
    return code;
}

static int say(conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int say(conn *c, const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
    va_end(ap);
    if (n < 0) return -1;
    if ((size_t)n > sizeof(line) - 3) n = (int)sizeof(line) - 3;
    memcpy(line + n, "\r\n", 2);
    n += 2;
    for (int off = 0; off < n;) {
        ssize_t w = send(c->fd, line + off, (size_t)(n - off), MSG_NOSIGNAL);
        if (w <= 0) return -1;
        off += (int)w;
    }
    return 0;
}

/* Answers a fault's code; the text says it is the mock's doing. */
static int say_fault(conn *c, int code) {
    return say(c, "%d %d.0.0 mock answers %d here", code, code / 100, code);
}

/* Reads one line without its CRLF into line. Returns its length, or -1 on
 * end, error, a line too long, or stop. */
static int read_line(conn *c, char *line, size_t cap) {
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->have);
        if (nl) {
            size_t n = (size_t)(nl - c->buf) + 1, len = n - 1;
            if (len && c->buf[len - 1] == '\r') len--;
            if (len >= cap) return -1;
            memcpy(line, c->buf, len);
            line[len] = '\0';
            memmove(c->buf, c->buf + n, c->have - n);
            c->have -= n;
            return (int)len;
        }
        if (c->have == sizeof(c->buf)) return -1;
        struct pollfd p[2] = {{c->fd, POLLIN, 0}, {c->m->stop_pipe[0], POLLIN, 0}};
        if (poll(p, 2, 10000) <= 0 || p[1].revents) return -1;
        ssize_t r = recv(c->fd, c->buf + c->have, sizeof(c->buf) - c->have, 0);
        if (r <= 0) return -1;
        c->have += (size_t)r;
    }
}

/* The address inside <...> after "FROM:" or "TO:". */
static void path_arg(const char *arg, char *out, size_t cap) {
    const char *lt = strchr(arg, '<'), *gt = lt ? strchr(lt, '>') : NULL;
    if (lt && gt) snprintf(out, cap, "%.*s", (int)(gt - lt - 1), lt + 1);
    else snprintf(out, cap, "%s", arg);
}

static void message_clear(smtp_message *msg) {
    for (int i = 0; i < msg->nrcpt; i++) free(msg->rcpt[i]);
    free(msg->data);
    memset(msg, 0, sizeof(*msg));
}

/* ---- one session ---- */

/* Checks user and password against what the test set. */
static bool credentials_ok(smtp_mock *m, const char *user, const char *password) {
    pthread_mutex_lock(&m->mu);
    bool ok = strcmp(user, m->user) == 0 && strcmp(password, m->password) == 0;
    pthread_mutex_unlock(&m->mu);
    return ok;
}

/* AUTH PLAIN [ir] or AUTH LOGIN. Returns -1 when the session ends. */
static int do_auth(conn *c, const char *arg, smtp_message *cur) {
    char line[LINE_MAX_LEN], dec[1024], user[256] = "", pass[256] = "";
    char mech[16] = "";
    const char *ir = NULL;
    size_t ml = strcspn(arg, " ");
    snprintf(mech, sizeof(mech), "%.*s", (int)ml, arg);
    if (arg[ml] == ' ') ir = arg + ml + 1;
    int fcode = fault_at(c->m, "AUTH");
    if (strcasecmp(mech, "PLAIN") == 0) {
        if (!ir || !*ir) {
            if (say(c, "334 ") < 0 || read_line(c, line, sizeof(line)) < 0) return -1;
            ir = line;
        }
        int n = smtp_mock_base64_decode(ir, dec, sizeof(dec));
        /* authzid NUL authcid NUL password */
        const char *u = n > 0 ? memchr(dec, '\0', (size_t)n) : NULL;
        if (u && (size_t)(u - dec) < (size_t)n) {
            u++;
            snprintf(user, sizeof(user), "%s", u);
            const char *p = u + strlen(u) + 1;
            if (p <= dec + n) snprintf(pass, sizeof(pass), "%.*s", (int)(dec + n - p), p);
        }
    } else if (strcasecmp(mech, "LOGIN") == 0) {
        if (ir && *ir) {
            if (smtp_mock_base64_decode(ir, user, sizeof(user)) < 0) user[0] = '\0';
        } else {
            if (say(c, "334 VXNlcm5hbWU6") < 0 || read_line(c, line, sizeof(line)) < 0) return -1;
            if (smtp_mock_base64_decode(line, user, sizeof(user)) < 0) user[0] = '\0';
        }
        if (say(c, "334 UGFzc3dvcmQ6") < 0 || read_line(c, line, sizeof(line)) < 0) return -1;
        if (smtp_mock_base64_decode(line, pass, sizeof(pass)) < 0) pass[0] = '\0';
    } else {
        return say(c, "504 5.5.4 mechanism %s not supported", mech);
    }
    if (fcode) return say_fault(c, fcode);
    if (!credentials_ok(c->m, user, pass)) return say(c, "535 5.7.8 authentication failed");
    snprintf(cur->auth_mech, sizeof(cur->auth_mech), "%s", mech);
    snprintf(cur->auth_user, sizeof(cur->auth_user), "%s", user);
    return say(c, "235 2.7.0 authenticated");
}

/* DATA: reads to the "." line, unstuffing; keeps the message when it is
 * accepted. Returns -1 when the session ends. */
static int do_data(conn *c, smtp_message *cur) {
    char line[LINE_MAX_LEN];
    char *data = NULL;
    size_t len = 0;
    int n;
    if (say(c, "354 end data with <CR><LF>.<CR><LF>") < 0) return -1;
    while ((n = read_line(c, line, sizeof(line))) >= 0) {
        if (strcmp(line, ".") == 0) break;
        const char *l = line[0] == '.' ? line + 1 : line;
        size_t ll = strlen(l);
        if (len + ll + 3 > DATA_MAX) continue;
        char *nd = realloc(data, len + ll + 3);
        if (!nd) break;
        data = nd;
        memcpy(data + len, l, ll);
        memcpy(data + len + ll, "\r\n", 3);
        len += ll + 2;
    }
    if (n < 0) {
        free(data);
        return -1;
    }
    count(c->m, ".");
    int fcode = fault_at(c->m, ".");
    if (fcode) {
        free(data);
        return say_fault(c, fcode);
    }
    cur->data = data ? data : strdup("");
    cur->len = len;
    smtp_mock *m = c->m;
    pthread_mutex_lock(&m->mu);
    if (m->nmsgs < MAX_MESSAGES) {
        m->msgs[m->nmsgs++] = *cur;
        /* the session goes on with the same HELO and login */
        smtp_message next = {0};
        memcpy(next.helo, cur->helo, sizeof(next.helo));
        memcpy(next.auth_mech, cur->auth_mech, sizeof(next.auth_mech));
        memcpy(next.auth_user, cur->auth_user, sizeof(next.auth_user));
        *cur = next;
    } else {
        message_clear(cur);
    }
    pthread_mutex_unlock(&m->mu);
    return say(c, "250 2.0.0 queued as mock-%d", m->nmsgs);
}

static void session(smtp_mock *m, int fd) {
    conn c = {.m = m, .fd = fd};
    smtp_message cur = {0};
    char line[LINE_MAX_LEN];
    int fcode;
    count(m, "CONNECT");
    if ((fcode = fault_at(m, "CONNECT"))) say_fault(&c, fcode);
    else say(&c, "220 mock.example ESMTP ready");
    while (read_line(&c, line, sizeof(line)) >= 0) {
        char verb[16];
        size_t vl = strcspn(line, " ");
        const char *arg = line[vl] ? line + vl + 1 : "";
        snprintf(verb, sizeof(verb), "%.*s", (int)(vl < 15 ? vl : 15), line);
        for (char *p = verb; *p; p++) *p = (char)toupper((unsigned char)*p);
        if (strcmp(verb, "HELO") == 0 || strcmp(verb, "EHLO") == 0) count(m, "EHLO");
        else count(m, verb);
        int rc = 0;
        if (strcmp(verb, "EHLO") == 0 || strcmp(verb, "HELO") == 0) {
            snprintf(cur.helo, sizeof(cur.helo), "%s", arg);
            char mechs[64];
            pthread_mutex_lock(&m->mu);
            snprintf(mechs, sizeof(mechs), "%s", m->mechs);
            pthread_mutex_unlock(&m->mu);
            if ((fcode = fault_at(m, "EHLO"))) rc = say_fault(&c, fcode);
            else if (verb[0] == 'H' || !*mechs) rc = say(&c, "250 mock.example");
            else rc = say(&c, "250-mock.example\r\n250-AUTH %s\r\n250 8BITMIME", mechs);
        } else if (strcmp(verb, "AUTH") == 0) {
            rc = do_auth(&c, arg, &cur);
        } else if (strcmp(verb, "MAIL") == 0) {
            if ((fcode = fault_at(m, "MAIL"))) {
                rc = say_fault(&c, fcode);
            } else {
                path_arg(arg, cur.from, sizeof(cur.from));
                rc = say(&c, "250 2.1.0 ok");
            }
        } else if (strcmp(verb, "RCPT") == 0) {
            char to[512];
            path_arg(arg, to, sizeof(to));
            if ((fcode = fault_at(m, "RCPT"))) {
                rc = say_fault(&c, fcode);
            } else if (cur.nrcpt < SMTP_MOCK_MAX_RCPT) {
                cur.rcpt[cur.nrcpt++] = strdup(to);
                rc = say(&c, "250 2.1.5 ok");
            } else {
                rc = say(&c, "452 4.5.3 too many recipients");
            }
        } else if (strcmp(verb, "DATA") == 0) {
            if ((fcode = fault_at(m, "DATA"))) rc = say_fault(&c, fcode);
            else if (!cur.nrcpt) rc = say(&c, "554 5.5.1 no valid recipients");
            else rc = do_data(&c, &cur);
        } else if (strcmp(verb, "RSET") == 0) {
            for (int i = 0; i < cur.nrcpt; i++) free(cur.rcpt[i]);
            cur.nrcpt = 0;
            cur.from[0] = '\0';
            rc = say(&c, "250 2.0.0 ok");
        } else if (strcmp(verb, "NOOP") == 0) {
            rc = say(&c, "250 2.0.0 ok");
        } else if (strcmp(verb, "QUIT") == 0) {
            say(&c, "221 2.0.0 bye");
            break;
        } else {
            rc = say(&c, "500 5.5.2 unknown command");
        }
        if (rc < 0) break;
    }
    message_clear(&cur);
}

static void *serve(void *arg) {
    smtp_mock *m = arg;
    for (;;) {
        struct pollfd p[2] = {{m->lfd, POLLIN, 0}, {m->stop_pipe[0], POLLIN, 0}};
        if (poll(p, 2, -1) < 0 && errno != EINTR) break;
        if (p[1].revents) break;
        if (!(p[0].revents & POLLIN)) continue;
        int fd = accept(m->lfd, NULL, NULL);
        if (fd < 0) continue;
        pthread_mutex_lock(&m->mu);
        m->sessions++;
        pthread_mutex_unlock(&m->mu);
        session(m, fd);
        close(fd);
    }
    return NULL;
}

/* ---- the test's side ---- */

smtp_mock *smtp_mock_start(void) {
    smtp_mock *m = calloc(1, sizeof(*m));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    if (!m) return NULL;
    m->lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (m->lfd < 0 || bind(m->lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(m->lfd, 8) < 0 ||
        getsockname(m->lfd, (struct sockaddr *)&a, &len) < 0 || pipe(m->stop_pipe) < 0) {
        if (m->lfd >= 0) close(m->lfd);
        free(m);
        return NULL;
    }
    m->port = ntohs(a.sin_port);
    snprintf(m->url, sizeof(m->url), "smtp://127.0.0.1:%d", m->port);
    pthread_mutex_init(&m->mu, NULL);
    if (pthread_create(&m->thread, NULL, serve, m) != 0) {
        close(m->lfd);
        close(m->stop_pipe[0]);
        close(m->stop_pipe[1]);
        free(m);
        return NULL;
    }
    return m;
}

void smtp_mock_stop(smtp_mock *m) {
    if (!m) return;
    if (write(m->stop_pipe[1], "x", 1) < 0) perror("smtp_mock_stop");
    pthread_join(m->thread, NULL);
    close(m->lfd);
    close(m->stop_pipe[0]);
    close(m->stop_pipe[1]);
    for (int i = 0; i < m->nmsgs; i++) message_clear(&m->msgs[i]);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

const char *smtp_mock_url(const smtp_mock *m) { return m->url; }

int smtp_mock_port(const smtp_mock *m) { return m->port; }

void smtp_mock_auth(smtp_mock *m, const char *mechs, const char *user, const char *password) {
    pthread_mutex_lock(&m->mu);
    snprintf(m->mechs, sizeof(m->mechs), "%s", mechs);
    snprintf(m->user, sizeof(m->user), "%s", user);
    snprintf(m->password, sizeof(m->password), "%s", password);
    pthread_mutex_unlock(&m->mu);
}

void smtp_mock_reply_at(smtp_mock *m, const char *command, int code) {
    pthread_mutex_lock(&m->mu);
    if (m->nfaults < MAX_FAULTS) {
        fault *f = &m->faults[m->nfaults++];
        snprintf(f->command, sizeof(f->command), "%s", command);
        f->code = code;
    }
    pthread_mutex_unlock(&m->mu);
}

int smtp_mock_sessions(smtp_mock *m) {
    pthread_mutex_lock(&m->mu);
    int n = m->sessions;
    pthread_mutex_unlock(&m->mu);
    return n;
}

int smtp_mock_commands(smtp_mock *m, const char *command) {
    int n = 0;
    pthread_mutex_lock(&m->mu);
    for (int i = 0; i < m->ncounts; i++)
        if (strcasecmp(m->counts[i].command, command) == 0) n = m->counts[i].n;
    pthread_mutex_unlock(&m->mu);
    return n;
}

int smtp_mock_count(smtp_mock *m) {
    pthread_mutex_lock(&m->mu);
    int n = m->nmsgs;
    pthread_mutex_unlock(&m->mu);
    return n;
}

const smtp_message *smtp_mock_message(smtp_mock *m, int n) {
    pthread_mutex_lock(&m->mu);
    const smtp_message *msg = n >= 0 && n < m->nmsgs ? &m->msgs[n] : NULL;
    pthread_mutex_unlock(&m->mu);
    return msg;
}
