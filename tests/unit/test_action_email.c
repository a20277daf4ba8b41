/* test_action_email.c - the email action against a local SMTP server */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/signature.h"
#include "tests/harness/action_run.h"
#include "tests/harness/redis_fixture.h"
#include "tests/harness/smtp_mock.h"
#include "worker/http.h"

#define PASSWORD "smtp-pa55-planted-4c1d"

/* A step sending to the mock: from, to and cc as given (cc may be NULL). */
static json_t *params(const smtp_mock *m, const char *subject, const char *body) {
    return json_pack("{s:s, s:s, s:[s, s], s:[s, s], s:s, s:s}", "url", smtp_mock_url(m), "from",
                     "Muster Alerts <alerts@example.com>", "to", "oncall@example.com",
                     "Zoë Ops <ops@example.com>", "cc", "lead@example.com", "OnCall@example.com",
                     "subject", subject, "body", body);
}

static task *send_mail(action_env *e, json_t *with, bool allow_private) {
    task *t = action_task(NULL, "notify", "email", with, allow_private);
    assert_int_equal(action_run(e, t), 0);
    return t;
}

/* The value of header `name` with folded lines joined, or false. */
static bool header(const smtp_message *msg, const char *name, char *out, size_t len) {
    const char *end = strstr(msg->data, "\r\n\r\n");
    size_t nl = strlen(name);
    for (const char *p = msg->data; p && p < end; p = strstr(p, "\r\n") + 2) {
        if (strncasecmp(p, name, nl) != 0 || p[nl] != ':') continue;
        size_t o = 0;
        for (const char *v = p + nl + 1 + (p[nl + 1] == ' '); v < end && o + 1 < len; v++) {
            if (v[0] == '\r' && v[1] == '\n') {
                if (v[2] != ' ' && v[2] != '\t') break;
                v++; /* unfold: the CRLF goes, the space stays */
                continue;
            }
            out[o++] = *v;
        }
        out[o] = '\0';
        return true;
    }
    return false;
}

/* How many header lines start with `name:`. */
static int header_count(const smtp_message *msg, const char *name) {
    const char *end = strstr(msg->data, "\r\n\r\n");
    int n = 0;
    size_t nl = strlen(name);
    for (const char *p = msg->data; p && p < end; p = strstr(p, "\r\n") + 2)
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') n++;
    return n;
}

static const char *body_of(const smtp_message *msg) { return strstr(msg->data, "\r\n\r\n") + 4; }

/* Every line ends with CRLF and none is longer than 998 characters. */
static void assert_crlf_lines(const smtp_message *msg) {
    size_t col = 0;
    for (size_t i = 0; i < msg->len; i++) {
        if (msg->data[i] == '\n' && (i == 0 || msg->data[i - 1] != '\r')) fail_msg("bare LF at %zu", i);
        if (msg->data[i] == '\r' && msg->data[i + 1] != '\n') fail_msg("bare CR at %zu", i);
        col = msg->data[i] == '\n' ? 0 : col + 1;
        if (col > 999) fail_msg("line over 998 characters at %zu", i);
    }
}

static void sends_one_message(void **state) {
    (void)state;
    action_env e;
    smtp_mock *m = smtp_mock_start();
    char v[1024];
    assert_non_null(m);
    assert_int_equal(action_env_init(&e, 0), 0);
    task *t = send_mail(&e,
                        params(m, "[{{ alert.labels.severity }}] {{ alert.name }} on {{ alert.labels.service }}",
                               "{{ alert.summary }}\n.a line starting with a dot\n..two\n.\nend"),
                        true);
    if (!t->res.succeeded) fail_msg("%s", t->error);
    assert_int_equal(smtp_mock_count(m), 1);
    const smtp_message *msg = smtp_mock_message(m, 0);
    /* the envelope: each recipient once, in order */
    assert_string_equal(msg->from, "alerts@example.com");
    assert_int_equal(msg->nrcpt, 3);
    assert_string_equal(msg->rcpt[0], "oncall@example.com");
    assert_string_equal(msg->rcpt[1], "ops@example.com");
    assert_string_equal(msg->rcpt[2], "lead@example.com");
    assert_string_equal(msg->auth_mech, "");
    /* the headers */
    assert_crlf_lines(msg);
    assert_true(header(msg, "Date", v, sizeof(v)));
    assert_int_equal(strlen(v), strlen("Thu, 01 Jan 2026 00:00:00 +0000"));
    assert_true(header(msg, "From", v, sizeof(v)));
    assert_string_equal(v, "\"Muster Alerts\" <alerts@example.com>");
    assert_true(header(msg, "To", v, sizeof(v)));
    assert_string_equal(v, "oncall@example.com, =?UTF-8?B?Wm/DqyBPcHM=?= <ops@example.com>");
    assert_true(header(msg, "Cc", v, sizeof(v)));
    assert_string_equal(v, "lead@example.com, OnCall@example.com");
    assert_true(header(msg, "Subject", v, sizeof(v)));
    assert_string_equal(v, "[critical] HighErrorRate on checkout");
    assert_true(header(msg, "Message-ID", v, sizeof(v)));
    assert_string_equal(v, "<" ACTION_TEST_INCIDENT ".notify.muster@example.com>");
    assert_true(header(msg, "MIME-Version", v, sizeof(v)));
    assert_string_equal(v, "1.0");
    assert_true(header(msg, "Content-Type", v, sizeof(v)));
    assert_string_equal(v, "text/plain; charset=utf-8");
    assert_true(header(msg, "Content-Transfer-Encoding", v, sizeof(v)));
    assert_string_equal(v, "7bit");
    /* the body, unstuffed by the server: as written, with CRLF */
    assert_string_equal(body_of(msg), "checkout 5xx above 5%\r\n.a line starting with a dot\r\n"
                                      "..two\r\n.\r\nend\r\n");
    /* the output */
    json_t *acc = action_output(t, "accepted");
    assert_int_equal(json_array_size(acc), 3);
    assert_string_equal(json_string_value(json_array_get(acc, 1)), "ops@example.com");
    assert_string_equal(json_string_value(action_output(t, "message_id")),
                        "<" ACTION_TEST_INCIDENT ".notify.muster@example.com>");
    /* QUIT goes out as the task finishes; the server reads it soon after */
    for (int i = 0; i < 500 && smtp_mock_commands(m, "QUIT") == 0; i++) usleep(10000);
    assert_int_equal(smtp_mock_commands(m, "QUIT"), 1);
    task_free(e.w, t);
    smtp_mock_stop(m);
    action_env_free(&e);
}

/* Not ASCII: the subject as RFC 2047 encoded-words, the body as
 * quoted-printable; long lines folded. */
static void utf8_subject_and_body(void **state) {
    (void)state;
    action_env e;
    smtp_mock *m = smtp_mock_start();
    char v[1024], dec[1024], joined[1024] = "";
    const char *subject = "Panne du paiement ☕ — café fermé, réessayez plus tard s'il vous plaît";
    char body[400];
    snprintf(body, sizeof(body), "Café = %s\nfin ", "très long ligne ........................"
                                                      "......................................."
                                                      "........................................");
    assert_int_equal(action_env_init(&e, 0), 0);
    task *t = send_mail(&e, params(m, subject, body), true);
    if (!t->res.succeeded) fail_msg("%s", t->error);
    const smtp_message *msg = smtp_mock_message(m, 0);
    assert_crlf_lines(msg);
    assert_true(header(msg, "Subject", v, sizeof(v)));
    /* each word "=?UTF-8?B?...?=" at most 75 characters; decoded and joined
     * they give the subject back */
    for (char *w = strtok(v, " "); w; w = strtok(NULL, " ")) {
        assert_true(strlen(w) <= 75);
        assert_int_equal(strncmp(w, "=?UTF-8?B?", 10), 0);
        w[strlen(w) - 2] = '\0';
        assert_true(smtp_mock_base64_decode(w + 10, dec, sizeof(dec)) > 0);
        strncat(joined, dec, sizeof(joined) - strlen(joined) - 1);
    }
    assert_string_equal(joined, subject);
    assert_true(header(msg, "Content-Transfer-Encoding", v, sizeof(v)));
    assert_string_equal(v, "quoted-printable");
    const char *b = body_of(msg);
    assert_int_equal(strncmp(b, "Caf=C3=A9 =3D tr=C3=A8s long", 28), 0);
    assert_non_null(strstr(b, "=\r\n"));      /* a soft break in the long line */
    assert_non_null(strstr(b, "\r\nfin=20\r\n")); /* trailing space kept */
    task_free(e.w, t);
    smtp_mock_stop(m);
    action_env_free(&e);
}

/* A line break in the subject or a display name cannot start a header; an
 * address with one is refused before anything is sent. */
static void header_injection(void **state) {
    (void)state;
    action_env e;
    smtp_mock *m = smtp_mock_start();
    char v[1024];
    assert_int_equal(action_env_init(&e, 0), 0);
    json_t *with = params(m, "Disk full\r\nBcc: evil@attacker.example\r\n\r\nfake body", "real body");
    json_object_set_new(with, "from", json_string("Ops\" <x@attacker.example> <alerts@example.com>"));
    task *t = send_mail(&e, with, true);
    if (!t->res.succeeded) fail_msg("%s", t->error);
    const smtp_message *msg = smtp_mock_message(m, 0);
    assert_int_equal(header_count(msg, "Bcc"), 0);
    assert_int_equal(header_count(msg, "Subject"), 1);
    assert_true(header(msg, "Subject", v, sizeof(v)));
    assert_string_equal(v, "Disk full Bcc: evil@attacker.example fake body");
    assert_string_equal(body_of(msg), "real body\r\n");
    assert_true(header(msg, "From", v, sizeof(v)));
    assert_string_equal(v, "\"Ops\\\" <x@attacker.example>\" <alerts@example.com>");
    assert_string_equal(msg->from, "alerts@example.com");
    assert_int_equal(msg->nrcpt, 3);
    for (int i = 0; i < msg->nrcpt; i++) assert_null(strstr(msg->rcpt[i], "attacker"));
    task_free(e.w, t);

    static const struct {
        const char *param;
        const char *value;
    } bad[] = {
        {"to", "ops@example.com\r\nBcc: evil@attacker.example"},
        {"to", "ops@example.com>\r\nRCPT TO:<evil@attacker.example"},
        {"cc", "lead@example.com\nevil@attacker.example"},
        {"from", "alerts@example.com\r\nBcc: evil@attacker.example"},
        {"to", "ops@example.com, evil@attacker.example"},
        {"to", "Ops <ops@example.com>, evil@attacker.example"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        with = params(m, "s", "b");
        json_t *val = json_string(bad[i].value);
        json_object_set_new(with, bad[i].param,
                            strcmp(bad[i].param, "from") == 0 ? val : json_pack("[o]", val));
        t = send_mail(&e, with, true);
        assert_int_equal(t->res.succeeded, 0);
        assert_int_equal(t->res.permanent, 1);
        char want[32];
        snprintf(want, sizeof(want), "\"%s\"", bad[i].param);
        if (!strstr(t->error, want)) fail_msg("%s: %s", bad[i].value, t->error);
        task_free(e.w, t);
    }
    assert_int_equal(smtp_mock_sessions(m), 1); /* only the first, good one */
    smtp_mock_stop(m);
    action_env_free(&e);
}

static void login(void **state) {
    (void)state;
    static const char *const mechs[] = {"LOGIN", "PLAIN"};
    setenv("MUSTER_SECRET_SMTP_PASSWORD", PASSWORD, 1);
    for (size_t i = 0; i < 2; i++) {
        action_env e;
        smtp_mock *m = smtp_mock_start();
        smtp_mock_auth(m, mechs[i], "muster", PASSWORD);
        assert_int_equal(action_env_init(&e, 0), 0);
        json_t *with = params(m, "s", "b");
        json_object_set_new(with, "username", json_string("muster"));
        json_object_set_new(with, "password", json_pack("{s:s}", "secret", "smtp_password"));
        task *t = send_mail(&e, with, true);
        if (!t->res.succeeded) fail_msg("%s: %s", mechs[i], t->error);
        const smtp_message *msg = smtp_mock_message(m, 0);
        assert_string_equal(msg->auth_mech, mechs[i]);
        assert_string_equal(msg->auth_user, "muster");
        task_free(e.w, t);

        /* a wrong password: 535, final */
        with = params(m, "s", "b");
        json_object_set_new(with, "username", json_string("muster"));
        json_object_set_new(with, "password", json_string("wrong"));
        t = send_mail(&e, with, true);
        assert_int_equal(t->res.succeeded, 0);
        assert_int_equal(t->res.permanent, 1);
        assert_int_equal(json_integer_value(action_output(t, "code")), 535);
        assert_null(strstr(t->error, PASSWORD));
        assert_int_equal(smtp_mock_commands(m, "MAIL"), 1);
        task_free(e.w, t);
        smtp_mock_stop(m);
        action_env_free(&e);
    }
}

/* The server's answer at each command decides: 5xx is final, 4xx and a
 * closed door are tried again. */
static void replies_are_classified(void **state) {
    (void)state;
    static const struct {
        const char *command;
        int code;
        int permanent;
        const char *says;
    } cases[] = {
        {"RCPT", 550, 1, "SMTP 550 at RCPT TO <oncall@example.com>"},
        {"MAIL", 553, 1, "SMTP 553 at MAIL FROM"},
        {".", 554, 1, "SMTP 554 at end of message"},
        {"DATA", 554, 1, "SMTP 554 at DATA"},
        {"RCPT", 450, 0, "SMTP 450 at RCPT TO"},
        {"MAIL", 451, 0, "SMTP 451 at MAIL FROM"},
        {".", 452, 0, "SMTP 452 at end of message"},
        {"CONNECT", 421, 0, "421"},
        {"CONNECT", 554, 1, "554"},
        {"EHLO", 421, 0, "421"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        action_env e;
        smtp_mock *m = smtp_mock_start();
        smtp_mock_reply_at(m, cases[i].command, cases[i].code);
        assert_int_equal(action_env_init(&e, 0), 0);
        task *t = send_mail(&e, params(m, "s", "b"), true);
        assert_int_equal(t->res.succeeded, 0);
        if (t->res.permanent != cases[i].permanent || !strstr(t->error, cases[i].says))
            fail_msg("%s %d: permanent %d, \"%s\"", cases[i].command, cases[i].code,
                     t->res.permanent, t->error);
        assert_int_equal(json_integer_value(action_output(t, "code")), cases[i].code);
        assert_int_equal(smtp_mock_count(m), 0);
        task_free(e.w, t);
        smtp_mock_stop(m);
        action_env_free(&e);
    }
}

static void refused_connection_is_retried(void **state) {
    (void)state;
    action_env e;
    smtp_mock *m = smtp_mock_start();
    json_t *with = params(m, "s", "b");
    smtp_mock_stop(m); /* nothing listens on its port now */
    assert_int_equal(action_env_init(&e, 0), 0);
    task *t = send_mail(&e, with, true);
    assert_int_equal(t->res.succeeded, 0);
    assert_int_equal(t->res.permanent, 0);
    task_free(e.w, t);
    action_env_free(&e);
}

static void private_address_blocked(void **state) {
    (void)state;
    action_env e;
    smtp_mock *m = smtp_mock_start();
    char url[100];
    snprintf(url, sizeof(url), "smtp://localhost:%d", smtp_mock_port(m));
    assert_int_equal(action_env_init(&e, 0), 0);
    json_t *with = params(m, "s", "b");
    json_object_set_new(with, "url", json_string(url));
    json_t *again = json_deep_copy(with);
    task *t = send_mail(&e, with, false);
    assert_int_equal(t->res.succeeded, 0);
    assert_int_equal(t->res.permanent, 1);
    assert_non_null(strstr(t->error, "private, loopback or link-local"));
    assert_int_equal(smtp_mock_sessions(m), 0);
    task_free(e.w, t);
    /* allowed by the workflow, it goes */
    t = send_mail(&e, again, true);
    if (!t->res.succeeded) fail_msg("%s", t->error);
    task_free(e.w, t);
    smtp_mock_stop(m);
    action_env_free(&e);
}

/* starttls: true with a server that offers no STARTTLS: nothing is sent in
 * the clear. */
static void starttls_required(void **state) {
    (void)state;
    action_env e;
    smtp_mock *m = smtp_mock_start();
    assert_int_equal(action_env_init(&e, 0), 0);
    json_t *with = params(m, "s", "b");
    json_object_set_new(with, "starttls", json_true());
    task *t = send_mail(&e, with, true);
    assert_int_equal(t->res.succeeded, 0);
    assert_int_equal(t->res.permanent, 1);
    assert_int_equal(smtp_mock_commands(m, "MAIL"), 0);
    task_free(e.w, t);
    smtp_mock_stop(m);
    action_env_free(&e);
}

static void bad_input_is_permanent(void **state) {
    (void)state;
    action_env e;
    smtp_mock *m = smtp_mock_start();
    static const struct {
        const char *param;
        const char *json; /* replaces it; NULL removes it */
    } cases[] = {
        {"url", "\"http://127.0.0.1:25\""},
        {"url", NULL},
        {"from", NULL},
        {"from", "\"not an address\""},
        {"to", NULL},
        {"to", "[]"},
        {"to", "[\"nobody\"]"},
        {"to", "[\"ops@exa mple.com\"]"},
        {"to", "[\"opé@example.com\"]"},
        {"to", "{\"a\": \"b\"}"},
        {"cc", "[42]"},
        {"subject", NULL},
        {"body", NULL},
    };
    assert_int_equal(action_env_init(&e, 0), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *with = params(m, "s", "b");
        if (cases[i].json) json_object_set_new(with, cases[i].param, json_loads(cases[i].json, JSON_DECODE_ANY, NULL));
        else json_object_del(with, cases[i].param);
        task *t = send_mail(&e, with, true);
        char want[32];
        snprintf(want, sizeof(want), "\"%s\"", cases[i].param);
        assert_int_equal(t->res.succeeded, 0);
        assert_int_equal(t->res.permanent, 1);
        if (!strstr(t->error, want)) fail_msg("%s=%s: %s", cases[i].param, cases[i].json, t->error);
        task_free(e.w, t);
    }
    assert_int_equal(smtp_mock_sessions(m), 0);
    smtp_mock_stop(m);
    action_env_free(&e);
}

/* A second run of the same step of the same incident (a worker that died
 * before reporting) does not send again; another step does. */
static int redis_up(void **state) {
    static redis_fixture rf;
    *state = &rf;
    return redis_fixture_start(&rf);
}

static int redis_down(void **state) {
    redis_fixture_stop(*state);
    return 0;
}

static void sent_once_per_step(void **state) {
    redis_fixture *rf = *state;
    action_env e;
    smtp_mock *m = smtp_mock_start();
    assert_int_equal(action_env_init(&e, rf->port), 0);
    task *t = send_mail(&e, params(m, "s", "b"), true);
    assert_int_equal(t->res.succeeded, 1);
    assert_true(json_is_false(action_output(t, "deduplicated")));
    task_free(e.w, t);
    t = send_mail(&e, params(m, "s", "b"), true);
    assert_int_equal(t->res.succeeded, 1);
    assert_true(json_is_true(action_output(t, "deduplicated")));
    assert_string_equal(json_string_value(action_output(t, "message_id")),
                        "<" ACTION_TEST_INCIDENT ".notify.muster@example.com>");
    task_free(e.w, t);
    assert_int_equal(smtp_mock_count(m), 1);
    t = action_task(NULL, "escalate", "email", params(m, "s", "b"), true);
    assert_int_equal(action_run(&e, t), 0);
    assert_int_equal(t->res.succeeded, 1);
    assert_int_equal(smtp_mock_count(m), 2);
    assert_true(strstr(json_string_value(action_output(t, "message_id")), ".escalate.") != NULL);
    task_free(e.w, t);
    smtp_mock_stop(m);
    action_env_free(&e);
}

/* ack_link: PERSON appends a signed link to the body; its token verifies
 * for this incident and person only, and expires after ack.link_ttl. */
static void ack_link_appended(void **state) {
    (void)state;
    static const char *const secret = "link-secret-planted-9e2f";
    const char *const secrets[] = {secret};
    action_env e;
    char err[200], token[SIG_LINK_MAX];
    smtp_mock *m = smtp_mock_start();
    assert_non_null(m);
    setenv("MUSTER_SECRET_ACK_LINKS", secret, 1);
    assert_int_equal(action_env_init(&e, 0), 0);
    assert_int_equal(config_set(&e.cfg, "intake.public_url", "https://muster.example.com/", err, sizeof(err)), 0);
    assert_int_equal(config_set(&e.cfg, "ack.link_secret", "ack_links", err, sizeof(err)), 0);
    assert_int_equal(config_set(&e.cfg, "ack.link_ttl", "2h", err, sizeof(err)), 0);
    json_t *with = params(m, "page", "{{ alert.summary }}");
    json_object_set_new(with, "ack_link", json_string("alice"));
    task *t = send_mail(&e, with, true);
    if (!t->res.succeeded) fail_msg("%s", t->error);
    task_free(e.w, t);
    const char *body = body_of(smtp_mock_message(m, 0));
    const char *at = strstr(body, "Acknowledge this page: https://muster.example.com/ack/");
    assert_non_null(at);
    at = strstr(at, "/ack/") + 5;
    size_t n = strcspn(at, "\r\n");
    assert_true(n < sizeof(token));
    memcpy(token, at, n);
    token[n] = '\0';
    int64_t now = (int64_t)time(NULL);
    assert_int_equal(sig_link_check(secrets, 1, token, "ack", ACTION_TEST_INCIDENT, "alice", now), SIG_OK);
    assert_int_equal(sig_link_check(secrets, 1, token, "ack", ACTION_TEST_INCIDENT, "bob", now), SIG_MISMATCH);
    assert_int_equal(sig_link_check(secrets, 1, token, "ack", "inc-other", "alice", now), SIG_MISMATCH);
    assert_int_equal(sig_link_check(secrets, 1, token, "ack", ACTION_TEST_INCIDENT, "alice", now + 7201),
                     SIG_EXPIRED);

    /* No secret configured, or a person id a link cannot carry: refused. */
    static const char *const bad[][3] = {{"ack_links_missing", "alice", "ack.link_secret"},
                                         {"ack_links", "al ice", "not a person id"}};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(config_set(&e.cfg, "ack.link_secret", bad[i][0], err, sizeof(err)), 0);
        with = params(m, "page", "down");
        json_object_set_new(with, "ack_link", json_string(bad[i][1]));
        t = send_mail(&e, with, true);
        assert_int_equal(t->res.succeeded, 0);
        assert_int_equal(t->res.permanent, 1);
        if (!strstr(t->error, bad[i][2])) fail_msg("\"%s\" does not say \"%s\"", t->error, bad[i][2]);
        task_free(e.w, t);
    }
    assert_int_equal(smtp_mock_count(m), 1);
    smtp_mock_stop(m);
    action_env_free(&e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ack_link_appended),
        cmocka_unit_test(sends_one_message),
        cmocka_unit_test(utf8_subject_and_body),
        cmocka_unit_test(header_injection),
        cmocka_unit_test(login),
        cmocka_unit_test(replies_are_classified),
        cmocka_unit_test(refused_connection_is_retried),
        cmocka_unit_test(private_address_blocked),
        cmocka_unit_test(starttls_required),
        cmocka_unit_test(bad_input_is_permanent),
        cmocka_unit_test_setup_teardown(sent_once_per_step, redis_up, redis_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
