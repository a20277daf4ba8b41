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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/mail.h"
#include "common/util.h"
#include "worker/http.h"
#include "worker/intake_url.h"

#define MAX_RCPT 100
#define REPLY_MAX 4096

/* Where the conversation is: what the next reply answers. */
typedef enum { ST_LOGIN, ST_MAIL, ST_RCPT, ST_DATA, ST_BODY } stage;

static const char *const stage_names[] = {"login", "MAIL FROM", "RCPT TO", "DATA",
                                          "end of message"};

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
    char memo_key[256];
} mail;

/* ---- parameters ---- */

/* The addresses of parameter `name` (a list, or one string). Returns how
 * many (at most max), or -1 with err naming the parameter. */
static int addresses_read(const task *t, const char *name, mail_address *out, size_t max,
                          char *err, size_t errlen) {
    json_t *v = json_object_get(t->with, name), *item;
    size_t i, n = 0;
    const char *why = NULL;
    if (!v || json_is_null(v)) return 0;
    if (json_is_string(v)) {
        if (mail_address_parse(json_string_value(v), &out[0], &why) < 0) goto bad;
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
        if (!json_is_string(item) ||
            mail_address_parse(json_string_value(item), &out[n], &why) < 0) {
            if (!why) why = "is not a string";
            goto bad;
        }
        n++;
    }
    return (int)n;
bad:
    snprintf(err, errlen, "email: parameter \"%s\": an address %s", name, why);
fail:
    for (size_t k = 0; k < n; k++) mail_address_clear(&out[k]);
    return -1;
}

/* ---- the message ---- */

/* Builds the message into m->message, as sent after DATA; ack_link (NULL
 * for none) goes after the body on a line of its own. Returns 0, or -1
 * with err. */
static int message_build(const task *t, mail *m, const mail_address *from, const mail_address *to,
                         size_t nto, const mail_address *cc, size_t ncc, const char *ack_link,
                         char *err, size_t errlen) {
    strbuf msg = {0}, body = {0};
    strbuf_str(&body, with_str(t, "body") ? with_str(t, "body") : "");
    if (ack_link) strbuf_printf(&body, "\n\nAcknowledge this page: %s\n", ack_link);
    const mail_message in = {
        .from = from,
        .to = to,
        .nto = nto,
        .cc = cc,
        .ncc = ncc,
        .subject = with_str(t, "subject"),
        .body = body.s,
        .message_id = m->message_id,
        .date = time(NULL),
    };
    int rc = body.failed ? -1 : mail_build(&in, &msg);
    if (rc == 0) mail_dot_stuff(&m->message, msg.s, msg.len);
    if (rc < 0 || m->message.failed) {
        snprintf(err, errlen, "email: out of memory");
        rc = -1;
    }
    strbuf_free(&msg);
    strbuf_free(&body);
    return rc;
}

/* ---- the conversation ---- */

static void mail_free(worker *w, task *t) {
    mail *m = t->state;
    if (!m) return;
    if (m->added) curl_multi_remove_handle(w->multi, m->easy);
    if (m->easy) curl_easy_cleanup(m->easy);
    for (size_t i = 0; i < m->nrcpt; i++) free(m->rcpt[i]);
    strbuf_free(&m->message);
    strbuf_free(&m->out);
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
    strbuf_printf(&m->out, fmt, arg);
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
        strbuf_add(&m->out, m->message.s, m->message.len);
        break;
    case ST_BODY: {
        size_t n;
        if (m->fd != CURL_SOCKET_BAD) curl_easy_send(m->easy, "QUIT\r\n", 6, &n);
        task_sent_now(w, t, m->memo_key,
                      json_pack("{s:o, s:s}", "accepted", accepted_list(m), "message_id", m->message_id));
        mail_free(w, t);
        return;
    }
    }
    if (m->out.failed) lost(w, t, "out of memory");
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
        size_t used = mail_reply_take(m->in, m->inlen, &code, text, sizeof(text));
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

/* Reads and checks the parameters, builds the message (with ack_link,
 * NULL for none). Returns 0, or -1 with err naming the parameter. */
static int prepare(const task *t, mail *m, const char *ack_link, char *err, size_t errlen) {
    static const char *const required[] = {"url", "from", "to", "subject", "body"};
    mail_address from, to[MAX_RCPT], cc[MAX_RCPT];
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
    if (mail_address_parse(with_str(t, "from"), &from, &why) < 0) {
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
    mail_message_id(t->li.incident, t->li.step, from.addr, m->message_id,
                    sizeof(m->message_id));
    rc = message_build(t, m, &from, to, (size_t)nto, cc, (size_t)ncc, ack_link, err, errlen);
    goto out;
oom:
    snprintf(err, errlen, "email: out of memory");
out:
    mail_address_clear(&from);
    for (int i = 0; i < nto; i++) mail_address_clear(&to[i]);
    for (int i = 0; i < ncc; i++) mail_address_clear(&cc[i]);
    return rc;
}

static int start(worker *w, task *t) {
    char err[600], link[INTAKE_URL_MAX], why[500];
    const char *person = with_str(t, "ack_link");
    if (json_object_get(t->with, "ack_link") && !person)
        return task_refuse(t, "email: parameter \"ack_link\" must be a person id");
    if (person && intake_ack_link(w->cfg, t, person, link, sizeof(link), why, sizeof(why)) < 0)
        return task_refuse(t, "email: %s", why);
    mail *m = calloc(1, sizeof(*m));
    if (!m) {
        task_refuse(t, "email: out of memory");
        return 1;
    }
    m->fd = CURL_SOCKET_BAD;
    t->state = m;
    if (prepare(t, m, person ? link : NULL, err, sizeof(err)) < 0) {
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
