/* test_inbound.c - the vendors' callbacks: SMS replies, form fields,
 * response_url hosts, escaping, incident codes and mapping users to people */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "state/incident.h"
#include "common/oncall.h"
#include "common/strbuf.h"
#include "dispatcher/inbound.h"

static void test_sms_parse(void **state) {
    char code[16];
    assert_int_equal(inbound_sms_parse("ACK", code, sizeof(code)), SMS_ACK);
    assert_string_equal(code, "");
    assert_int_equal(inbound_sms_parse("  1 \n", code, sizeof(code)), SMS_ACK);
    assert_int_equal(inbound_sms_parse("ack 7f3k", code, sizeof(code)), SMS_ACK);
    assert_string_equal(code, "7F3K");
    assert_int_equal(inbound_sms_parse("Resolve\t7F3K ", code, sizeof(code)), SMS_RESOLVE);
    assert_string_equal(code, "7F3K");
    assert_int_equal(inbound_sms_parse("ACKNOWLEDGE", code, sizeof(code)), SMS_UNKNOWN);
    assert_int_equal(inbound_sms_parse("ACK 7F3K please", code, sizeof(code)), SMS_UNKNOWN);
    assert_int_equal(inbound_sms_parse("ACK 7F-3K", code, sizeof(code)), SMS_UNKNOWN);
    assert_int_equal(inbound_sms_parse("ACK 0123456789ABCDEFGHIJ", code, sizeof(code)), SMS_UNKNOWN);
    assert_int_equal(inbound_sms_parse("", code, sizeof(code)), SMS_UNKNOWN);
    assert_int_equal(inbound_sms_parse("2", code, sizeof(code)), SMS_UNKNOWN);
}

static void test_form_value(void **state) {
    const char *b = "From=%2B4915112345678&To=%2B15005550006&Body=ACK+7F3K&Empty=&x";
    char v[32];
    assert_int_equal(inbound_form_value(b, strlen(b), "From", v, sizeof(v)), 14);
    assert_string_equal(v, "+4915112345678");
    assert_true(inbound_form_value(b, strlen(b), "Body", v, sizeof(v)) > 0);
    assert_string_equal(v, "ACK 7F3K");
    assert_int_equal(inbound_form_value(b, strlen(b), "Empty", v, sizeof(v)), 0);
    assert_string_equal(v, "");
    assert_int_equal(inbound_form_value(b, strlen(b), "Fro", v, sizeof(v)), -1);
    assert_int_equal(inbound_form_value(b, strlen(b), "x", v, sizeof(v)), -1);
    assert_int_equal(inbound_form_value("a=%zz", 5, "a", v, sizeof(v)), -1);
    char small[4];
    assert_int_equal(inbound_form_value(b, strlen(b), "To", small, sizeof(small)), 12);
    assert_string_equal(small, "+15");
}

static void test_url_allowed(void **state) {
    const char *hosts = "hooks.slack.com, http://127.0.0.1:8080";
    assert_true(inbound_url_allowed(hosts, "https://hooks.slack.com/actions/T1/2/abc"));
    assert_true(inbound_url_allowed(hosts, "https://HOOKS.slack.com/actions/T1/2/abc"));
    assert_true(inbound_url_allowed(hosts, "http://127.0.0.1:8080/respond"));
    assert_false(inbound_url_allowed(hosts, "http://hooks.slack.com/actions"));
    assert_false(inbound_url_allowed(hosts, "https://hooks.slack.com.evil.net/a"));
    assert_false(inbound_url_allowed(hosts, "https://evil.net/?hooks.slack.com"));
    assert_false(inbound_url_allowed(hosts, "https://user:pw@hooks.slack.com/a"));
    assert_false(inbound_url_allowed(hosts, "https://hooks.slack.com:8443/a"));
    assert_false(inbound_url_allowed(hosts, "http://127.0.0.1:8081/respond"));
    assert_false(inbound_url_allowed(hosts, "ftp://hooks.slack.com/a"));
    assert_false(inbound_url_allowed(hosts, "not a url"));
    assert_false(inbound_url_allowed("", "https://hooks.slack.com/a"));
}

static void test_escape(void **state) {
    strbuf b = {0};
    inbound_escape(&b, "<Say>Bob & \"O'Neil\"</Say>");
    assert_string_equal(b.s, "&lt;Say&gt;Bob &amp; &quot;O&#39;Neil&quot;&lt;/Say&gt;");
    strbuf_free(&b);
}

static void test_incident_code(void **state) {
    char a[INCIDENT_CODE_LEN + 1], b[INCIDENT_CODE_LEN + 1];
    incident_code("inc-01a23c6bfaaaeaebbf50c778", a);
    incident_code("inc-01a23c6bfaaaeaebbf50c778", b);
    assert_string_equal(a, b);
    assert_int_equal(strlen(a), INCIDENT_CODE_LEN);
    assert_null(strpbrk(a, "ILOU"));
    incident_code("inc-01a23c6bfaaaeaebbf50c779", b);
    assert_string_not_equal(a, b);
    /* 1000 ids give (nearly) 1000 codes: 20 bits. */
    int same = 0;
    char prev[INCIDENT_CODE_LEN + 1] = "";
    for (int i = 0; i < 1000; i++) {
        char id[32], c[INCIDENT_CODE_LEN + 1];
        snprintf(id, sizeof(id), "inc-%024d", i);
        incident_code(id, c);
        same += !strcmp(c, prev);
        memcpy(prev, c, sizeof(c));
    }
    assert_true(same < 3);
}

static void test_person_by_contact(void **state) {
    person people[3] = {
        {.id = "alice", .slack = "U012ABCDE", .phone = "+4915112345678", .email = "alice@example.com"},
        {.id = "bob", .slack = "U023BCDEF", .phone = "+4917098765432", .email = "Bob@Example.com",
         .teams = "bob@example.onmicrosoft.com"},
        {.id = "carol", .phone = "+4917098765432"}, /* shares bob's phone */
    };
    oncall_set set = {.people = people, .npeople = 3};
    assert_string_equal(oncall_person_by_contact(&set, CH_SLACK, "U012ABCDE")->id, "alice");
    assert_null(oncall_person_by_contact(&set, CH_SLACK, "u012abcde"));
    assert_string_equal(oncall_person_by_contact(&set, CH_SMS, "+4915112345678")->id, "alice");
    assert_string_equal(oncall_person_by_contact(&set, CH_PHONE, "+4915112345678")->id, "alice");
    assert_string_equal(oncall_person_by_contact(&set, CH_EMAIL, "bob@example.COM")->id, "bob");
    assert_string_equal(oncall_person_by_contact(&set, CH_TEAMS, "bob@example.onmicrosoft.com")->id, "bob");
    assert_null(oncall_person_by_contact(&set, CH_SMS, "+4917098765432")); /* two people */
    assert_null(oncall_person_by_contact(&set, CH_SLACK, "U999"));
    assert_null(oncall_person_by_contact(&set, CH_SLACK, ""));
    assert_null(oncall_person_by_contact(&set, CH_SLACK, NULL));
    assert_null(oncall_person_by_contact(NULL, CH_SLACK, "U012ABCDE"));
}

static void test_routes(void **state) {
    assert_int_equal(inbound_route_of("/api/v1/slack/interactions"), INBOUND_SLACK);
    assert_int_equal(inbound_route_of("/api/v1/twilio/sms"), INBOUND_SMS);
    assert_int_equal(inbound_route_of("/api/v1/twilio/voice"), INBOUND_VOICE);
    assert_int_equal(inbound_route_of("/api/v1/pagerduty"), INBOUND_PAGERDUTY);
    assert_int_equal(inbound_route_of("/ack/v1.abc.def"), INBOUND_LINK);
    assert_int_equal(inbound_route_of("/ack/"), INBOUND_NONE);
    assert_int_equal(inbound_route_of("/ack/a/b"), INBOUND_NONE);
    assert_int_equal(inbound_route_of("/api/v1/alerts"), INBOUND_NONE);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sms_parse),    cmocka_unit_test(test_form_value),
        cmocka_unit_test(test_url_allowed),  cmocka_unit_test(test_escape),
        cmocka_unit_test(test_incident_code), cmocka_unit_test(test_person_by_contact),
        cmocka_unit_test(test_routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
