/* test_mail.c - unit tests for addresses, message building, dot-stuffing and SMTP replies */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mail.h"

/* ---- helpers ---- */

static mail_address addr(const char *s) {
    mail_address a;
    const char *why = NULL;
    if (mail_address_parse(s, &a, &why) < 0) fail_msg("%s: %s", s, why);
    return a;
}

/* Why s is refused as an address (it must be, and leave no name behind). */
static const char *refusal(const char *s) {
    mail_address a;
    const char *why = NULL;
    if (mail_address_parse(s, &a, &why) == 0) fail_msg("accepted \"%s\"", s);
    assert_null(a.name);
    assert_non_null(why);
    return why;
}

/* Builds a message to one recipient; subject, body and id as given.
 * Returns the text (caller frees), or NULL when mail_build refuses. */
static char *build(const char *from, const char *subject, const char *body, const char *id) {
    mail_address f = addr(from), to = addr("Oncall <oncall@example.com>");
    mail_message in = {.from = &f,
                       .to = &to,
                       .nto = 1,
                       .subject = subject,
                       .body = body,
                       .message_id = id,
                       .date = 0};
    strbuf b = {0};
    int rc = mail_build(&in, &b);
    mail_address_clear(&f);
    mail_address_clear(&to);
    if (rc < 0) {
        strbuf_free(&b);
        return NULL;
    }
    return b.s;
}

/* The header lines, from the start to the blank line. */
static const char *body_of(const char *msg) {
    const char *sep = strstr(msg, "\r\n\r\n");
    assert_non_null(sep);
    return sep + 4;
}

/* Only CRLF line ends, no line over max characters. */
static void assert_lines(const char *s, size_t max) {
    size_t col = 0;
    for (size_t i = 0; s[i]; i++) {
        if (s[i] == '\r' && s[i + 1] != '\n') fail_msg("bare CR at %zu", i);
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) fail_msg("bare LF at %zu", i);
        col = s[i] == '\r' || s[i] == '\n' ? 0 : col + 1;
        if (col > max) fail_msg("line over %zu characters at %zu", max, i);
    }
}

/* How many header lines start with name and a colon. */
static int header_count(const char *msg, const char *name) {
    const char *end = strstr(msg, "\r\n\r\n");
    size_t nl = strlen(name);
    int n = 0;
    for (const char *p = msg; p && p < end; p = strstr(p, "\r\n") + 2)
        if (strncmp(p, name, nl) == 0 && p[nl] == ':') n++;
    return n;
}

/* ---- addresses ---- */

static void address_forms(void **state) {
    (void)state;
    mail_address a = addr("  alerts@example.com ");
    assert_string_equal(a.addr, "alerts@example.com");
    assert_null(a.name);

    a = addr("  Muster Alerts   <alerts@example.com>  ");
    assert_string_equal(a.addr, "alerts@example.com");
    assert_string_equal(a.name, "Muster Alerts");
    mail_address_clear(&a);
    assert_null(a.name);

    a = addr("\"Doe, Jane\" <jane+ops@mail.example.com>");
    assert_string_equal(a.addr, "jane+ops@mail.example.com");
    assert_string_equal(a.name, "Doe, Jane");
    mail_address_clear(&a);

    a = addr("Zo\xc3\xab <zoe@example.com>"); /* a UTF-8 name is kept, and encoded later */
    assert_string_equal(a.name, "Zo\xc3\xab");
    mail_address_clear(&a);

    a = addr("<bare@example.com>");
    assert_string_equal(a.addr, "bare@example.com");
    assert_null(a.name);
}

static void address_refused(void **state) {
    (void)state;
    static const char *const bad[] = {
        "",
        "no-at-sign",
        "two@at@example.com",
        "@example.com",
        "user@",
        ".user@example.com",
        "user@.example.com",
        "Name <user@example.com> trailing",
        "Name <user@example.com",
        "caf\xc3\xa9@example.com",
        "user@exa mple.com",
        "user@example.com>",
        "Name <us\"er@example.com>",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) assert_non_null(refusal(bad[i]));
}

static void address_injection(void **state) {
    (void)state;
    static const char *const bad[] = {
        "a@example.com\r\nBcc: evil@example.com",
        "a@example.com\nBcc: evil@example.com",
        "Name\r\nBcc: evil@example.com <a@example.com>",
        "Name <a@example.com>\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        assert_string_equal(refusal(bad[i]), "holds a line break");
    /* Other control characters in a name go; a tab becomes a space. */
    mail_address a = addr("Na\x01me\tX <a@example.com>");
    assert_string_equal(a.name, "Name X");
    mail_address_clear(&a);
}

/* ---- messages ---- */

static void message_layout(void **state) {
    (void)state;
    mail_address from = addr("Muster Alerts <alerts@example.com>");
    mail_address to[2] = {addr("oncall@example.com"), addr("Say \"hi\" <ops@example.com>")};
    mail_address cc = addr("lead@example.com");
    mail_message in = {.from = &from,
                       .to = to,
                       .nto = 2,
                       .cc = &cc,
                       .ncc = 1,
                       .subject = "db down",
                       .body = "line one\nline two",
                       .message_id = "<i.s.muster@example.com>",
                       .date = 1700000000};
    strbuf b = {0};
    assert_int_equal(mail_build(&in, &b), 0);
    assert_string_equal(b.s, "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
                             "From: \"Muster Alerts\" <alerts@example.com>\r\n"
                             "To: oncall@example.com,\r\n"
                             " \"Say \\\"hi\\\"\" <ops@example.com>\r\n"
                             "Cc: lead@example.com\r\n"
                             "Subject: db down\r\n"
                             "Message-ID: <i.s.muster@example.com>\r\n"
                             "MIME-Version: 1.0\r\n"
                             "Content-Type: text/plain; charset=utf-8\r\n"
                             "Content-Transfer-Encoding: 7bit\r\n"
                             "\r\n"
                             "line one\r\n"
                             "line two\r\n");
    strbuf_free(&b);
    in.ncc = 0; /* no Cc header without a cc */
    assert_int_equal(mail_build(&in, &b), 0);
    assert_int_equal(header_count(b.s, "Cc"), 0);
    strbuf_free(&b);
    in.nto = 0; /* and no message without a recipient */
    assert_int_equal(mail_build(&in, &b), -1);
    strbuf_free(&b);
    mail_address_clear(&from);
    mail_address_clear(&to[1]);
}

static void message_id_form(void **state) {
    (void)state;
    char id[100];
    mail_message_id("01HX inc/1", "page", "alerts@example.com", id, sizeof(id));
    assert_string_equal(id, "<01HX=20inc=2F1.page.muster@example.com>");
}

static void header_injection(void **state) {
    (void)state;
    char *msg = build("a@example.com", "hi\r\nBcc: evil@example.com\r\n\r\nfake body", "text",
                      "<x@example.com>\r\nX-Injected: 1");
    assert_non_null(msg);
    assert_lines(msg, 998);
    assert_non_null(strstr(msg, "\r\nSubject: hi Bcc: evil@example.com fake body\r\n"));
    assert_non_null(strstr(msg, "\r\nMessage-ID: <x@example.com> X-Injected: 1\r\n"));
    assert_int_equal(header_count(msg, "Bcc"), 0);
    assert_int_equal(header_count(msg, "X-Injected"), 0);
    assert_string_equal(body_of(msg), "text\r\n");
    free(msg);
}

static void subject_encoded_words(void **state) {
    (void)state;
    char *msg = build("a@example.com", "Zo\xc3\xab", "", "<x@example.com>");
    assert_non_null(strstr(msg, "\r\nSubject: =?UTF-8?B?Wm/Dqw==?=\r\n"));
    free(msg);

    /* 60 bytes of "é": the first word takes 44 bytes, never half a character. */
    char subject[61] = "";
    for (int i = 0; i < 30; i++) strcat(subject, "\xc3\xa9");
    msg = build("a@example.com", subject, "", "<x@example.com>");
    assert_non_null(strstr(msg, "\r\nSubject: =?UTF-8?B?"
                                "w6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6k=?=\r\n"
                                " =?UTF-8?B?"));
    assert_lines(msg, 998);
    free(msg);

    /* Text that looks like an encoded-word is encoded itself. */
    msg = build("a@example.com", "=?x?=", "", "<x@example.com>");
    assert_non_null(strstr(msg, "\r\nSubject: =?UTF-8?B?"));
    free(msg);

    /* A long ASCII subject is folded at spaces. */
    char longs[400] = "";
    for (int i = 0; i < 40; i++) strcat(longs, "word1234 ");
    msg = build("a@example.com", longs, "", "<x@example.com>");
    assert_lines(msg, 80);
    assert_int_equal(header_count(msg, "Subject"), 1);
    free(msg);
}

/* A run of bytes that is not UTF-8 is still cut into words: this once
 * looped for ever, the cut backing off to nothing. */
static void subject_not_utf8(void **state) {
    (void)state;
    char subject[91];
    memset(subject, 0x80, 90);
    subject[90] = '\0';
    char *msg = build("a@example.com", subject, "", "<x@example.com>");
    assert_non_null(msg);
    assert_non_null(strstr(msg, "\r\nSubject: =?UTF-8?B?"
                                "gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICA?=\r\n"
                                " =?UTF-8?B?"));
    free(msg);
}

/* A display name too long for one line is encoded, hence folded: quoted,
 * it once made a header line over 998 characters. */
static void long_display_name(void **state) {
    (void)state;
    char from[1100];
    memset(from, 'n', 1000);
    strcpy(from + 1000, " <a@example.com>");
    char *msg = build(from, "s", "", "<x@example.com>");
    assert_non_null(msg);
    assert_lines(msg, 998);
    assert_int_equal(header_count(msg, "From"), 1);
    assert_non_null(strstr(msg, "\r\n =?UTF-8?B?"));
    free(msg);
}

/* A message id that cannot fit on a line is refused, not sent too long. */
static void long_message_id(void **state) {
    (void)state;
    char id[1000];
    memset(id, 'i', 999);
    id[999] = '\0';
    assert_null(build("a@example.com", "s", "", id));
}

static void body_7bit(void **state) {
    (void)state;
    char *msg = build("a@example.com", "s", "one\ntwo\r\nthree\rfour\n\nend ", "<x@example.com>");
    assert_non_null(strstr(msg, "Content-Transfer-Encoding: 7bit\r\n"));
    assert_string_equal(body_of(msg), "one\r\ntwo\r\nthree\r\nfour\r\n\r\nend \r\n");
    free(msg);
}

static void body_quoted_printable(void **state) {
    (void)state;
    char *msg = build("a@example.com", "s", "caf\xc3\xa9 = ok \nlast\t", "<x@example.com>");
    assert_non_null(strstr(msg, "Content-Transfer-Encoding: quoted-printable\r\n"));
    /* '=' and the trailing space and tab are encoded. */
    assert_string_equal(body_of(msg), "caf=C3=A9 =3D ok=20\r\nlast=09\r\n");
    free(msg);

    /* Long lines get soft breaks within 76 characters. */
    char body[300];
    memset(body, 'a', 200);
    strcpy(body + 200, "\xc3\xa9 \n");
    msg = build("a@example.com", "s", body, "<x@example.com>");
    const char *b = body_of(msg);
    assert_lines(b, 76);
    assert_string_equal(b + strlen(b) - 14, "aaa=C3=A9=20\r\n");
    assert_int_equal(strncmp(b + 75, "=\r\n", 3), 0);
    free(msg);

    /* An ASCII line over 998 characters needs quoted-printable too. */
    char *wide = malloc(1200);
    memset(wide, 'w', 1100);
    wide[1100] = '\0';
    msg = build("a@example.com", "s", wide, "<x@example.com>");
    assert_non_null(strstr(msg, "Content-Transfer-Encoding: quoted-printable\r\n"));
    assert_lines(msg, 998);
    free(msg);
    free(wide);
}

static void dot_stuffing(void **state) {
    (void)state;
    static const char msg[] = "a\r\n.\r\n..x\r\n.end\r\nb.\r\n";
    strbuf out = {0};
    mail_dot_stuff(&out, msg, sizeof(msg) - 1);
    assert_string_equal(out.s, "a\r\n..\r\n...x\r\n..end\r\nb.\r\n.\r\n");
    strbuf_free(&out);

    /* A built body whose line is "." is not the end of the data. */
    char *built = build("a@example.com", "s", "before\n.\nafter", "<x@example.com>");
    mail_dot_stuff(&out, built, strlen(built));
    assert_non_null(strstr(out.s, "\r\nbefore\r\n..\r\nafter\r\n.\r\n"));
    assert_null(strstr(out.s, "\r\n.\r\nafter"));
    strbuf_free(&out);
    free(built);

    mail_dot_stuff(&out, "", 0); /* nothing still ends the data */
    assert_string_equal(out.s, ".\r\n");
    strbuf_free(&out);
}

/* ---- replies ---- */

static size_t take(const char *s, int *code, char *text, size_t textlen) {
    return mail_reply_take(s, strlen(s), code, text, textlen);
}

static void reply_single_and_multi(void **state) {
    (void)state;
    int code = -1;
    char text[64];
    assert_int_equal(take("250 OK\r\n", &code, text, sizeof(text)), 8);
    assert_int_equal(code, 250);
    assert_string_equal(text, "OK");

    static const char multi[] = "250-smtp.example.com\r\n250-SIZE 1000\r\n250 OK\r\n354 go\r\n";
    size_t used = take(multi, &code, text, sizeof(text));
    assert_int_equal(used, strlen("250-smtp.example.com\r\n250-SIZE 1000\r\n250 OK\r\n"));
    assert_int_equal(code, 250);
    assert_string_equal(text, "smtp.example.com");
    assert_int_equal(take(multi + used, &code, text, sizeof(text)), 8);
    assert_int_equal(code, 354);
    assert_string_equal(text, "go");

    assert_int_equal(take("220\n", &code, text, sizeof(text)), 4); /* bare LF, no text */
    assert_int_equal(code, 220);
    assert_string_equal(text, "");

    assert_int_equal(take("550 5.1.1 no such user here\r\n", &code, text, 6), 29);
    assert_int_equal(code, 550);
    assert_string_equal(text, "5.1.1"); /* cut to fit */
}

static void reply_partial(void **state) {
    (void)state;
    int code = -1;
    char text[64];
    assert_int_equal(take("", &code, text, sizeof(text)), 0);
    assert_int_equal(take("250 OK", &code, text, sizeof(text)), 0);
    assert_int_equal(take("250-first\r\n", &code, text, sizeof(text)), 0);
    assert_int_equal(take("250-first\r\n250 la", &code, text, sizeof(text)), 0);
    /* Not read past the length given, NUL or not. */
    assert_int_equal(mail_reply_take("250 OK\r\n", 7, &code, text, sizeof(text)), 0);
}

/* A first line without a code from 100 to 599 is a reply with code 0:
 * "2500" was once read as 2500, and a long digit run overflowed atoi. */
static void reply_invalid(void **state) {
    (void)state;
    static const char *const bad[] = {
        "2500 odd\r\n", "abc\r\n",    "099 low\r\n", "600 high\r\n",
        "25\r\n",       "2x0 no\r\n", "\r\n",        "99999999999999999999 x\r\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        int code = -1;
        char text[64];
        assert_int_equal(take(bad[i], &code, text, sizeof(text)), strlen(bad[i]));
        if (code != 0) fail_msg("\"%s\" gave code %d", bad[i], code);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(address_forms),
        cmocka_unit_test(address_refused),
        cmocka_unit_test(address_injection),
        cmocka_unit_test(message_layout),
        cmocka_unit_test(message_id_form),
        cmocka_unit_test(header_injection),
        cmocka_unit_test(subject_encoded_words),
        cmocka_unit_test(subject_not_utf8),
        cmocka_unit_test(long_display_name),
        cmocka_unit_test(long_message_id),
        cmocka_unit_test(body_7bit),
        cmocka_unit_test(body_quoted_printable),
        cmocka_unit_test(dot_stuffing),
        cmocka_unit_test(reply_single_and_multi),
        cmocka_unit_test(reply_partial),
        cmocka_unit_test(reply_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
