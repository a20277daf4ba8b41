/* test_signature.c - inbound request verification against each vendor's documented examples */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sig_crypto.h"
#include "common/signature.h"

/* Slack's example, from "Verifying requests from Slack"
 * (api.slack.com/authentication/verifying-requests-from-slack). */
#define SLACK_SECRET "8f742231b10e8888abcd99yyyzzz85a5"
#define SLACK_TS "1531420618"
#define SLACK_BODY                                                                                 \
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="        \
    "G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-"    \
    "collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%"            \
    "2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121."              \
    "803a0bc887a14d10d2c447fce8b6703c"
#define SLACK_SIG "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
#define SLACK_NOW 1531420618

/* Twilio's example from "Webhooks security" (twilio.com/docs/usage/security),
 * and the JSON (bodySHA256) example of Twilio's helper libraries' tests. */
#define TW_TOKEN "12345"
#define TW_URL "https://mycompany.com/myapp.php?foo=1&bar=2"
#define TW_FORM "CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234&From=%2B12349013030&To=%2B18005551212"
#define TW_SIG "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
#define TW_JSON "{\"property\": \"value\", \"boolean\": true}"
#define TW_JSON_URL TW_URL "&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
#define TW_JSON_SIG "a9nBmqA0ju/hNViExpshrM61xv4="

/* PagerDuty documents the scheme but no secret with its example header:
 * these were computed with `openssl dgst -sha256 -hmac`. */
#define PD_SECRET "whsec-muster-example"
#define PD_OLD "whsec-old"
#define PD_BODY                                                                                    \
    "{\"event\":{\"id\":\"5ac64822-4adc-4fda-ade0-410becf0de4f\",\"event_type\":\"incident."     \
    "acknowledged\",\"resource_type\":\"incident\",\"occurred_at\":\"2024-01-10T10:00:00.000Z\"}}"
#define PD_SIG "v1=b15570c3a726fcdc409b647911b1e2727fd8ed1da2be5e62bd5a9065405d074e"
#define PD_SIG_OLD "v1=356fc4989d6ca67bc936677c9e2495f09cbcd1254a6d2cab2e63ca1de8fd68d8"

static sig_result slack(const char *secret, const char *ts, const char *sig, const char *body,
                        int64_t now) {
    return sig_slack_verify(secret, ts, sig, body, strlen(body), now);
}

static void test_slack_documented_example(void **state) {
    (void)state;
    char sig[SIG_SLACK_SIG_LEN];
    assert_int_equal(slack(SLACK_SECRET, SLACK_TS, SLACK_SIG, SLACK_BODY, SLACK_NOW), SIG_OK);
    assert_int_equal(sig_slack_sign(SLACK_SECRET, SLACK_TS, SLACK_BODY, strlen(SLACK_BODY), sig), 0);
    assert_string_equal(sig, SLACK_SIG);
    /* Hex is compared as bytes: upper case is the same signature. */
    char upper[] = SLACK_SIG;
    for (char *p = upper + 3; *p; p++)
        if (*p >= 'a' && *p <= 'f') *p = (char)(*p - 32);
    assert_int_equal(slack(SLACK_SECRET, SLACK_TS, upper, SLACK_BODY, SLACK_NOW), SIG_OK);
}

static void test_slack_refusals(void **state) {
    (void)state;
    char body[] = SLACK_BODY;
    body[10] ^= 1;
    assert_int_equal(slack(SLACK_SECRET, SLACK_TS, SLACK_SIG, body, SLACK_NOW), SIG_MISMATCH);
    assert_int_equal(slack("8f742231b10e8888abcd99yyyzzz85a6", SLACK_TS, SLACK_SIG, SLACK_BODY, SLACK_NOW),
                     SIG_MISMATCH);
    /* The timestamp is signed: another one inside the window does not verify. */
    assert_int_equal(slack(SLACK_SECRET, "1531420619", SLACK_SIG, SLACK_BODY, SLACK_NOW), SIG_MISMATCH);
    /* Five minutes either way is accepted; a second more is stale. */
    assert_int_equal(slack(SLACK_SECRET, SLACK_TS, SLACK_SIG, SLACK_BODY, SLACK_NOW + 300), SIG_OK);
    assert_int_equal(slack(SLACK_SECRET, SLACK_TS, SLACK_SIG, SLACK_BODY, SLACK_NOW - 300), SIG_OK);
    assert_int_equal(slack(SLACK_SECRET, SLACK_TS, SLACK_SIG, SLACK_BODY, SLACK_NOW + 301), SIG_STALE);
    assert_int_equal(slack(SLACK_SECRET, SLACK_TS, SLACK_SIG, SLACK_BODY, SLACK_NOW - 301), SIG_STALE);
    assert_int_equal(slack(SLACK_SECRET, SLACK_TS, SLACK_SIG, SLACK_BODY, 1700000000), SIG_STALE);
}

static void test_slack_malformed(void **state) {
    (void)state;
    char huge[SIG_HEADER_MAX + 64];
    memset(huge, 'a', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = '\0';
    memcpy(huge, "v0=", 3);
    assert_int_equal(slack(SLACK_SECRET, SLACK_TS, NULL, SLACK_BODY, SLACK_NOW), SIG_MISSING);
    assert_int_equal(slack(SLACK_SECRET, SLACK_TS, "", SLACK_BODY, SLACK_NOW), SIG_MISSING);
    assert_int_equal(slack(SLACK_SECRET, NULL, SLACK_SIG, SLACK_BODY, SLACK_NOW), SIG_MISSING);
    assert_int_equal(slack(NULL, SLACK_TS, SLACK_SIG, SLACK_BODY, SLACK_NOW), SIG_MISSING);
    assert_int_equal(slack("", SLACK_TS, SLACK_SIG, SLACK_BODY, SLACK_NOW), SIG_MISSING);
    /* No "v0=", another version, odd or non-hex digits, a short or long MAC. */
    assert_int_equal(slack(SLACK_SECRET, SLACK_TS, SLACK_SIG + 3, SLACK_BODY, SLACK_NOW), SIG_MALFORMED);
    assert_int_equal(slack(SLACK_SECRET, SLACK_TS, "v1=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
                           SLACK_BODY, SLACK_NOW), SIG_MALFORMED);
    assert_int_equal(slack(SLACK_SECRET, SLACK_TS, "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b50",
                           SLACK_BODY, SLACK_NOW), SIG_MALFORMED);
    assert_int_equal(slack(SLACK_SECRET, SLACK_TS, "v0=g2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
                           SLACK_BODY, SLACK_NOW), SIG_MALFORMED);
    assert_int_equal(slack(SLACK_SECRET, SLACK_TS, SLACK_SIG "00", SLACK_BODY, SLACK_NOW), SIG_MALFORMED);
    assert_int_equal(slack(SLACK_SECRET, SLACK_TS, huge, SLACK_BODY, SLACK_NOW), SIG_MALFORMED);
    /* Timestamps: signs, spaces, letters, too many digits. */
    assert_int_equal(slack(SLACK_SECRET, "-1531420618", SLACK_SIG, SLACK_BODY, SLACK_NOW), SIG_MALFORMED);
    assert_int_equal(slack(SLACK_SECRET, " 1531420618", SLACK_SIG, SLACK_BODY, SLACK_NOW), SIG_MALFORMED);
    assert_int_equal(slack(SLACK_SECRET, "1531420618x", SLACK_SIG, SLACK_BODY, SLACK_NOW), SIG_MALFORMED);
    assert_int_equal(slack(SLACK_SECRET, "1234567890123456789", SLACK_SIG, SLACK_BODY, SLACK_NOW), SIG_MALFORMED);
}

static sig_result twilio(const char *url, const char *body, const char *sig) {
    return sig_twilio_verify(TW_TOKEN, url, body, strlen(body), sig);
}

static void test_twilio_documented_example(void **state) {
    (void)state;
    char sig[SIG_TWILIO_SIG_LEN];
    assert_int_equal(twilio(TW_URL, TW_FORM, TW_SIG), SIG_OK);
    assert_int_equal(sig_twilio_sign(TW_TOKEN, TW_URL, TW_FORM, strlen(TW_FORM), sig), 0);
    assert_string_equal(sig, TW_SIG);
    /* The order of the body does not matter: the parameters are sorted. */
    assert_int_equal(twilio(TW_URL, "To=%2B18005551212&From=%2B12349013030&Digits=1234&Caller=%2B12349013030&CallSid=CA1234567890ABCDE",
                            TW_SIG), SIG_OK);
    /* The JSON variant: the URL carries the body's SHA-256. */
    assert_int_equal(twilio(TW_JSON_URL, TW_JSON, TW_JSON_SIG), SIG_OK);
    assert_int_equal(sig_twilio_sign(TW_TOKEN, TW_JSON_URL, TW_JSON, strlen(TW_JSON), sig), 0);
    assert_string_equal(sig, TW_JSON_SIG);
}

static void test_twilio_default_port(void **state) {
    (void)state;
    char sig[SIG_TWILIO_SIG_LEN];
    /* Signed with ":443", verified against the URL without it, and back. */
    assert_int_equal(sig_twilio_sign(TW_TOKEN, "https://mycompany.com:443/myapp.php?foo=1&bar=2", TW_FORM,
                                     strlen(TW_FORM), sig), 0);
    assert_int_equal(twilio(TW_URL, TW_FORM, sig), SIG_OK);
    assert_int_equal(twilio("https://mycompany.com:443/myapp.php?foo=1&bar=2", TW_FORM, TW_SIG), SIG_OK);
    assert_int_equal(sig_twilio_sign(TW_TOKEN, "http://u:p@mycompany.com:80/x", "", 0, sig), 0);
    assert_int_equal(twilio("http://u:p@mycompany.com/x", "", sig), SIG_OK);
    /* Another port is another URL. */
    assert_int_equal(twilio("https://mycompany.com:8443/myapp.php?foo=1&bar=2", TW_FORM, TW_SIG), SIG_MISMATCH);
}

static void test_twilio_refusals(void **state) {
    (void)state;
    /* A changed value, a dropped or added parameter, another URL or token. */
    assert_int_equal(twilio(TW_URL, "CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1235&From=%2B12349013030&To=%2B18005551212",
                            TW_SIG), SIG_MISMATCH);
    assert_int_equal(twilio(TW_URL, "CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234&From=%2B12349013030",
                            TW_SIG), SIG_MISMATCH);
    assert_int_equal(twilio(TW_URL, TW_FORM "&Body=ACK", TW_SIG), SIG_MISMATCH);
    assert_int_equal(twilio("https://mycompany.com/myapp.php?foo=1&bar=3", TW_FORM, TW_SIG), SIG_MISMATCH);
    assert_int_equal(sig_twilio_verify("12346", TW_URL, TW_FORM, strlen(TW_FORM), TW_SIG), SIG_MISMATCH);
    assert_int_equal(twilio(TW_URL, TW_FORM, "1/KCTR6DLpKmkAf8muzZqo1nDgQ="), SIG_MISMATCH);
    /* JSON: a tampered body fails the body hash, a changed hash the MAC. */
    assert_int_equal(twilio(TW_JSON_URL, "{\"property\": \"evil\", \"boolean\": true}", TW_JSON_SIG), SIG_MISMATCH);
    assert_int_equal(twilio(TW_URL "&bodySHA256=1a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620",
                            TW_JSON, TW_JSON_SIG), SIG_MISMATCH);
    assert_int_equal(twilio(TW_URL "&bodySHA256=abc", TW_JSON, TW_JSON_SIG), SIG_MALFORMED);
    char sig[SIG_TWILIO_SIG_LEN];
    assert_int_equal(sig_twilio_sign(TW_TOKEN, TW_JSON_URL, "{}", 2, sig), -1);
    /* Missing and malformed. */
    assert_int_equal(twilio(TW_URL, TW_FORM, NULL), SIG_MISSING);
    assert_int_equal(twilio(TW_URL, TW_FORM, ""), SIG_MISSING);
    assert_int_equal(sig_twilio_verify("", TW_URL, TW_FORM, strlen(TW_FORM), TW_SIG), SIG_MISSING);
    assert_int_equal(twilio(TW_URL, TW_FORM, "0/KCTR6DLpKmkAf8muzZqo1nDgQ"), SIG_MALFORMED);
    assert_int_equal(twilio(TW_URL, TW_FORM, TW_SIG "AAAA"), SIG_MALFORMED);
    assert_int_equal(twilio(TW_URL, "Digits=%2", TW_SIG), SIG_MALFORMED);
    assert_int_equal(twilio(TW_URL, "Digits=%zz", TW_SIG), SIG_MALFORMED);
}

static void test_twilio_too_many_params(void **state) {
    (void)state;
    size_t n = SIG_TWILIO_PARAMS_MAX + 1;
    char *body = malloc(n * 4 + 1), sig[SIG_TWILIO_SIG_LEN];
    assert_non_null(body);
    for (size_t i = 0; i < n; i++) memcpy(body + 4 * i, "a=1&", 4);
    body[4 * n - 1] = '\0';
    assert_int_equal(sig_twilio_sign(TW_TOKEN, TW_URL, body, strlen(body), sig), -1);
    assert_int_equal(twilio(TW_URL, body, TW_SIG), SIG_MALFORMED);
    body[4 * (n - 1) - 1] = '\0'; /* exactly the most */
    assert_int_equal(sig_twilio_sign(TW_TOKEN, TW_URL, body, strlen(body), sig), 0);
    assert_int_equal(twilio(TW_URL, body, sig), SIG_OK);
    free(body);
}

static sig_result pd(const char *secret, const char *header, const char *body) {
    return sig_pagerduty_verify(secret, header, body, strlen(body));
}

static void test_pagerduty(void **state) {
    (void)state;
    char sig[SIG_PAGERDUTY_SIG_LEN], body[] = PD_BODY;
    assert_int_equal(pd(PD_SECRET, PD_SIG, PD_BODY), SIG_OK);
    assert_int_equal(sig_pagerduty_sign(PD_SECRET, PD_BODY, strlen(PD_BODY), sig), 0);
    assert_string_equal(sig, PD_SIG);
    /* Rotation: two signatures, ours first or second, with spaces. */
    assert_int_equal(pd(PD_SECRET, PD_SIG "," PD_SIG_OLD, PD_BODY), SIG_OK);
    assert_int_equal(pd(PD_SECRET, PD_SIG_OLD "," PD_SIG, PD_BODY), SIG_OK);
    assert_int_equal(pd(PD_OLD, PD_SIG ", " PD_SIG_OLD, PD_BODY), SIG_OK);
    /* A later version we do not know is skipped. */
    assert_int_equal(pd(PD_SECRET, "v2=00ff," PD_SIG, PD_BODY), SIG_OK);
    /* Tampered body, wrong secret, neither signature ours. */
    body[20] ^= 1;
    assert_int_equal(pd(PD_SECRET, PD_SIG, body), SIG_MISMATCH);
    assert_int_equal(pd("whsec-other", PD_SIG "," PD_SIG_OLD, PD_BODY), SIG_MISMATCH);
    /* Missing and malformed. */
    assert_int_equal(pd(PD_SECRET, NULL, PD_BODY), SIG_MISSING);
    assert_int_equal(pd(PD_SECRET, "", PD_BODY), SIG_MISSING);
    assert_int_equal(pd(NULL, PD_SIG, PD_BODY), SIG_MISSING);
    assert_int_equal(pd(PD_SECRET, PD_SIG + 3, PD_BODY), SIG_MALFORMED);
    assert_int_equal(pd(PD_SECRET, "v2=00ff", PD_BODY), SIG_MALFORMED);
    assert_int_equal(pd(PD_SECRET, PD_SIG ",", PD_BODY), SIG_MALFORMED);
    assert_int_equal(pd(PD_SECRET, "v1=b15570c3a726fcdc409b647911b1e2727fd8ed1da2be5e62bd5a9065405d074", PD_BODY),
                     SIG_MALFORMED);
    /* A malformed entry refuses the header even beside a good one. */
    assert_int_equal(pd(PD_SECRET, PD_SIG ",v1=zz", PD_BODY), SIG_MALFORMED);
}

static void test_pagerduty_bounded(void **state) {
    (void)state;
    char header[SIG_HEADER_MAX + 200] = "";
    size_t n = 0;
    /* More entries than a rotation ever needs, the matching one last. */
    for (int i = 0; i <= SIG_PAGERDUTY_SIGS_MAX; i++) {
        memcpy(header + n, i ? "," PD_SIG_OLD : PD_SIG_OLD, strlen(PD_SIG_OLD) + (i ? 1 : 0));
        n += strlen(PD_SIG_OLD) + (i ? 1 : 0);
    }
    memcpy(header + n, "," PD_SIG, strlen(PD_SIG) + 2);
    assert_int_equal(pd(PD_SECRET, header, PD_BODY), SIG_MALFORMED);
    memset(header, 'v', sizeof(header) - 1);
    header[sizeof(header) - 1] = '\0';
    assert_int_equal(pd(PD_SECRET, header, PD_BODY), SIG_MALFORMED);
}

#define LINK_SECRET "link-secret-current"

static void test_link_roundtrip(void **state) {
    (void)state;
    char tok[SIG_LINK_MAX];
    const char *secrets[] = {LINK_SECRET};
    assert_int_equal(sig_link_make(LINK_SECRET, "ack", "inc-0190a1b2c3d4e5f6a7b8c9d0", "alice@example.com",
                                   2000000000, tok, sizeof(tok)), 0);
    assert_int_equal(strncmp(tok, "v1.", 3), 0);
    assert_null(strpbrk(tok, "+/=?&# "));
    assert_int_equal(sig_link_check(secrets, 1, tok, "ack", "inc-0190a1b2c3d4e5f6a7b8c9d0", "alice@example.com",
                                    1999999999), SIG_OK);
    /* Expiry is exclusive. */
    assert_int_equal(sig_link_check(secrets, 1, tok, "ack", "inc-0190a1b2c3d4e5f6a7b8c9d0", "alice@example.com",
                                    2000000000), SIG_EXPIRED);
    /* Another incident, person or action. */
    assert_int_equal(sig_link_check(secrets, 1, tok, "ack", "inc-other", "alice@example.com", 1), SIG_MISMATCH);
    assert_int_equal(sig_link_check(secrets, 1, tok, "ack", "inc-0190a1b2c3d4e5f6a7b8c9d0", "bob", 1), SIG_MISMATCH);
    assert_int_equal(sig_link_check(secrets, 1, tok, "resolve", "inc-0190a1b2c3d4e5f6a7b8c9d0", "alice@example.com", 1),
                     SIG_MISMATCH);
}

static void test_link_tamper_and_rotation(void **state) {
    (void)state;
    char tok[SIG_LINK_MAX], forged[SIG_LINK_MAX];
    const char *current[] = {LINK_SECRET}, *rotating[] = {"link-secret-next", LINK_SECRET},
               *other[] = {"link-secret-next"};
    assert_int_equal(sig_link_make(LINK_SECRET, "ack", "inc-1", "alice", 2000000000, tok, sizeof(tok)), 0);
    assert_int_equal(sig_link_check(rotating, 2, tok, "ack", "inc-1", "alice", 1), SIG_OK);
    assert_int_equal(sig_link_check(other, 1, tok, "ack", "inc-1", "alice", 1), SIG_MISMATCH);
    /* Every single-character change is refused. */
    for (size_t i = 0; tok[i]; i++) {
        const char *alpha = "AZaz09-_.";
        for (const char *c = alpha; *c; c++) {
            if (*c == tok[i]) continue;
            memcpy(forged, tok, sizeof(tok));
            forged[i] = *c;
            assert_int_not_equal(sig_link_check(current, 1, forged, "ack", "inc-1", "alice", 1), SIG_OK);
        }
    }
    /* A payload for another incident with this token's MAC. */
    char other_tok[SIG_LINK_MAX];
    assert_int_equal(sig_link_make(LINK_SECRET, "ack", "inc-2", "alice", 2000000000, other_tok, sizeof(other_tok)), 0);
    const char *dot = strrchr(tok, '.'), *odot = strrchr(other_tok, '.');
    memcpy(forged, other_tok, (size_t)(odot - other_tok));
    strcpy(forged + (odot - other_tok), dot);
    assert_int_equal(sig_link_check(current, 1, forged, "ack", "inc-2", "alice", 1), SIG_MISMATCH);
    /* Malformed: another version, no MAC, padding, truncation, too long. */
    assert_int_equal(sig_link_check(current, 1, tok + 1, "ack", "inc-1", "alice", 1), SIG_MALFORMED);
    assert_int_equal(sig_link_check(current, 1, "v1.", "ack", "inc-1", "alice", 1), SIG_MALFORMED);
    assert_int_equal(sig_link_check(current, 1, "v1.YWNr", "ack", "inc-1", "alice", 1), SIG_MALFORMED);
    assert_int_equal(sig_link_check(current, 1, "v2.YWNr.YWNr", "ack", "inc-1", "alice", 1), SIG_MALFORMED);
    size_t tl = strlen(tok);
    memcpy(forged, tok, tl);
    memcpy(forged + tl, "=", 2);
    assert_int_equal(sig_link_check(current, 1, forged, "ack", "inc-1", "alice", 1), SIG_MALFORMED);
    forged[strlen(tok) - 1] = '\0';
    assert_int_equal(sig_link_check(current, 1, forged, "ack", "inc-1", "alice", 1), SIG_MALFORMED);
    char huge[SIG_LINK_MAX + 10];
    memset(huge, 'A', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = '\0';
    memcpy(huge, "v1.", 3);
    assert_int_equal(sig_link_check(current, 1, huge, "ack", "inc-1", "alice", 1), SIG_MALFORMED);
    assert_int_equal(sig_link_check(current, 1, NULL, "ack", "inc-1", "alice", 1), SIG_MISSING);
    assert_int_equal(sig_link_check(current, 0, tok, "ack", "inc-1", "alice", 1), SIG_MISSING);
}

static void test_link_make_refuses(void **state) {
    (void)state;
    char tok[SIG_LINK_MAX], id[SIG_LINK_ID_MAX + 2];
    memset(id, 'x', sizeof(id) - 1);
    id[sizeof(id) - 1] = '\0';
    assert_int_equal(sig_link_make(LINK_SECRET, "ack", "inc\n1", "alice", 1, tok, sizeof(tok)), -1);
    assert_int_equal(sig_link_make(LINK_SECRET, "ack", "inc-1", "", 1, tok, sizeof(tok)), -1);
    assert_int_equal(sig_link_make(LINK_SECRET, "ack", id, "alice", 1, tok, sizeof(tok)), -1);
    assert_int_equal(sig_link_make(LINK_SECRET, "ACK", "inc-1", "alice", 1, tok, sizeof(tok)), -1);
    assert_int_equal(sig_link_make(LINK_SECRET, "ack", "inc-1", "alice", 0, tok, sizeof(tok)), -1);
    assert_int_equal(sig_link_make("", "ack", "inc-1", "alice", 1, tok, sizeof(tok)), -1);
    assert_int_equal(sig_link_make(LINK_SECRET, "ack", "inc-1", "alice", 1, tok, 20), -1);
    /* The longest ids still fit SIG_LINK_MAX. */
    id[SIG_LINK_ID_MAX] = '\0';
    assert_int_equal(sig_link_make(LINK_SECRET, "acknowledgement", id, id, 999999999999999999LL, tok, sizeof(tok)), 0);
    const char *secrets[] = {LINK_SECRET};
    assert_int_equal(sig_link_check(secrets, 1, tok, "acknowledgement", id, id, 1), SIG_OK);
}

static int seen_fails(void *ctx, const char *key, int64_t now, int64_t ttl) {
    (void)ctx, (void)key, (void)now, (void)ttl;
    return -1;
}

static void test_replay(void **state) {
    (void)state;
    char key[SIG_REPLAY_KEY_MAX], key2[SIG_REPLAY_KEY_MAX];
    sig_memo m;
    assert_int_equal(sig_replay_key("muster", SIG_SLACK, SLACK_SIG, strlen(SLACK_SIG), key, sizeof(key)), 0);
    assert_int_equal(strncmp(key, "muster:replay:slack:", 20), 0);
    assert_int_equal(strlen(key), 20 + 64);
    assert_int_equal(sig_replay_key("muster", SIG_TWILIO, SLACK_SIG, strlen(SLACK_SIG), key2, sizeof(key2)), 0);
    assert_string_not_equal(key, key2);
    assert_int_equal(sig_replay_key("muster", SIG_SLACK, "", 0, key, sizeof(key)), -1);

    assert_int_equal(sig_memo_init(&m, 2), 0);
    assert_int_equal(sig_replay_check("muster", SIG_SLACK, "a", 1, 1000, sig_memo_seen, &m), SIG_OK);
    assert_int_equal(sig_replay_check("muster", SIG_SLACK, "a", 1, 2000, sig_memo_seen, &m), SIG_REPLAY);
    assert_int_equal(sig_replay_check("muster", SIG_PAGERDUTY, "a", 1, 2000, sig_memo_seen, &m), SIG_OK);
    /* After the window the id is forgotten (Slack's copy would be stale by then). */
    int64_t later = 1000 + sig_replay_window_ms(SIG_SLACK);
    assert_int_equal(sig_replay_check("muster", SIG_SLACK, "a", 1, later, sig_memo_seen, &m), SIG_OK);
    /* Full: the entry closest to expiry makes room. */
    assert_int_equal(sig_replay_check("muster", SIG_LINK, "b", 1, later, sig_memo_seen, &m), SIG_OK);
    assert_int_equal(m.n, 2);
    assert_int_equal(sig_replay_check("muster", SIG_LINK, "b", 1, later + 1, sig_memo_seen, &m), SIG_REPLAY);
    assert_int_equal(sig_replay_check("muster", SIG_SLACK, "a", 1, later, seen_fails, NULL), SIG_ERROR);
    sig_memo_free(&m);
    sig_memo_free(NULL);
}

static void test_statuses(void **state) {
    (void)state;
    assert_int_equal(sig_http_status(SIG_SLACK, SIG_STALE), 401);
    assert_int_equal(sig_http_status(SIG_SLACK, SIG_MISMATCH), 401);
    assert_int_equal(sig_http_status(SIG_TWILIO, SIG_MISMATCH), 403);
    assert_int_equal(sig_http_status(SIG_PAGERDUTY, SIG_MALFORMED), 400);
    assert_int_equal(sig_http_status(SIG_PAGERDUTY, SIG_MISMATCH), 403);
    assert_int_equal(sig_http_status(SIG_LINK, SIG_EXPIRED), 410);
    assert_int_equal(sig_http_status(SIG_TWILIO, SIG_ERROR), 503);
    assert_int_equal(sig_http_status(SIG_LINK, SIG_OK), 200);
    assert_string_equal(sig_result_name(SIG_REPLAY), "replay");
}

static void test_encodings(void **state) {
    (void)state;
    unsigned char out[8];
    char enc[16];
    size_t n;
    assert_int_equal(sig_b64((const unsigned char *)"ab", 2, enc, false), 4);
    assert_string_equal(enc, "YWI=");
    assert_int_equal(sig_b64((const unsigned char *)"ab", 2, enc, true), 3);
    assert_string_equal(enc, "YWI");
    assert_int_equal(sig_unb64url("YWI", 3, out, sizeof(out), &n), 0);
    assert_int_equal(n, 2);
    assert_memory_equal(out, "ab", 2);
    assert_int_equal(sig_unb64url("YWJ", 3, out, sizeof(out), &n), -1); /* leftover bits */
    assert_int_equal(sig_unb64url("YWI=", 4, out, sizeof(out), &n), -1);
    assert_int_equal(sig_unb64url("Y", 1, out, sizeof(out), &n), -1);
    assert_int_equal(sig_unb64url("YWJjZGVmZ2hp", 12, out, sizeof(out), &n), -1); /* 9 > 8 */
    assert_int_equal(sig_unhex("0aF", 3, out, 1), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slack_documented_example),
        cmocka_unit_test(test_slack_refusals),
        cmocka_unit_test(test_slack_malformed),
        cmocka_unit_test(test_twilio_documented_example),
        cmocka_unit_test(test_twilio_default_port),
        cmocka_unit_test(test_twilio_refusals),
        cmocka_unit_test(test_twilio_too_many_params),
        cmocka_unit_test(test_pagerduty),
        cmocka_unit_test(test_pagerduty_bounded),
        cmocka_unit_test(test_link_roundtrip),
        cmocka_unit_test(test_link_tamper_and_rotation),
        cmocka_unit_test(test_link_make_refuses),
        cmocka_unit_test(test_replay),
        cmocka_unit_test(test_statuses),
        cmocka_unit_test(test_encodings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
