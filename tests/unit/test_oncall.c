/* test_oncall.c - unit tests for on-call files and who is on call when */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/harness/docfile.h"
#include "tests/harness/tmpdir.h"
#include "common/rota.h"
#include "common/util.h"

static char dir[64];
static int nfiles;

static int setup(void **state) {
    (void)state;
    return tmpdir_make(dir, sizeof(dir), "oncall");
}

static int teardown(void **state) {
    (void)state;
    return tmpdir_remove(dir);
}

/* ---- the oracle: the C library's mktime() in the zone, apart from rota.c ---- */

/* The instant of a local wall-clock time in zone; isdst as mktime() takes
 * it (-1: let the zone decide). Fields may be out of range (hour 33): mktime
 * normalises them as calendar arithmetic. */
static struct tm fields(int y, int mo, int d, int h, int mi) {
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    return tm;
}

static time_t oracle(const char *zone, int y, int mo, int d, int h, int mi, int isdst) {
    char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
    setenv("TZ", zone, 1);
    tzset();
    struct tm tm = fields(y, mo, d, h, mi);
    tm.tm_isdst = isdst;
    time_t t = mktime(&tm);
    if (old) setenv("TZ", old, 1);
    else unsetenv("TZ");
    tzset();
    free(old);
    return t;
}

static time_t utc(int y, int mo, int d, int h, int mi) {
    struct tm tm = fields(y, mo, d, h, mi);
    return timegm(&tm);
}

/* ---- files ---- */

static char *write_named(const char *sub, const char *name, const char *text) {
    return docfile_write(dir, sub, name, text);
}

static char *write_doc(const char *text) {
    char name[32];
    snprintf(name, sizeof(name), "oc%d.yaml", ++nfiles);
    return write_named("files", name, text);
}

static oncall_set *load_ok(const char *text) {
    wf_diag d = {0};
    char *path = write_doc(text);
    oncall_set *set = oncall_load(path, &d);
    if (!set) fail_msg("load failed: %s", d.n ? d.msgs[0] : "(no message)");
    wf_diag_free(&d);
    free(path);
    return set;
}

/* Loads text expecting a problem "path:L:C: ...needle..." where L:C is the
 * first place of `marker` in text. */
static void expect_problem(const char *text, const char *marker, const char *needle) {
    wf_diag d = {0};
    char *path = write_doc(text);
    assert_null(oncall_load(path, &d));
    docfile_expect(&d, path, text, marker, needle);
    wf_diag_free(&d);
    free(path);
}

#define PEOPLE                                                                                    \
    "people:\n"                                                                                   \
    "  - {id: ann, name: Ann, timezone: UTC, contacts: {email: ann@example.com}}\n"               \
    "  - {id: ben, name: Ben, timezone: UTC, contacts: {email: ben@example.com}}\n"               \
    "  - {id: cat, name: Cat, timezone: UTC, contacts: {email: cat@example.com}}\n"               \
    "  - {id: dan, name: Dan, timezone: UTC, contacts: {email: dan@example.com}}\n"

/* A one-rotation schedule "s" in zone over PEOPLE. */
static oncall_set *one_rotation(const char *zone, const char *who, const char *turn,
                                const char *handoff, const char *start, const char *extra) {
    char text[4096];
    snprintf(text, sizeof(text),
             PEOPLE "schedules:\n"
                    "  - id: s\n"
                    "    timezone: %s\n"
                    "    layers:\n"
                    "      - rotations:\n"
                    "          - participants: %s\n"
                    "            turn: %s\n"
                    "            handoff: \"%s\"\n"
                    "            start: %s\n%s",
             zone, who, turn, handoff, start, extra ? extra : "");
    return load_ok(text);
}

static const char *who_at(const schedule *s, const rota_override *ov, size_t nov, time_t at) {
    oncall_result r;
    assert_int_equal(schedule_oncall(s, ov, nov, at, &r), 0);
    return r.who ? r.who : "-";
}

/* ---- the examples and the docs ---- */

static const char *source_dir(void) {
    const char *src = getenv("MUSTER_SOURCE_DIR");
    return src ? src : ".";
}

static void test_examples_load(void **state) {
    (void)state;
    char path[1024];
    wf_diag d = {0};
    snprintf(path, sizeof(path), "%s/docs/examples/oncall", source_dir());
    oncall_set *set = oncall_load(path, &d);
    for (size_t i = 0; i < d.n; i++) print_error("%s\n", d.msgs[i]);
    assert_non_null(set);
    assert_int_equal(set->npeople, 4);
    assert_int_equal(set->nschedules, 4); /* db-primary, db-secondary, and the demo's two */
    assert_int_equal(set->npolicies, 2);  /* db-critical and demo-escalation */
    const person *alice = oncall_person(set, "alice");
    assert_non_null(alice);
    assert_string_equal(alice->phone, "+4915112345678");
    assert_int_equal(alice->nrules, 3);
    assert_int_equal(alice->rules[1].channel, CH_SMS);
    assert_int_equal(alice->rules[1].after_ms, 120000);
    const policy *po = oncall_policy(set, "db-critical");
    assert_int_equal(po->nlevels, 3);
    assert_int_equal(po->repeat, 1);
    assert_int_equal(po->levels[1].targets[1].kind, TARGET_CHANNEL);
    assert_string_equal(po->levels[1].targets[1].ref, "#db-oncall");
    assert_int_equal(po->levels[0].delay_ms, 300000);

    /* db-primary: weekly alice, bob, carol from Mon 2026-01-05 09:00 Berlin;
     * Dave on weekdays 09:00-17:00 above them. */
    const schedule *s = oncall_schedule(set, "db-primary");
    const char *z = "Europe/Berlin";
    assert_string_equal(who_at(s, NULL, 0, oracle(z, 2026, 1, 5, 8, 59, -1)), "-");
    assert_string_equal(who_at(s, NULL, 0, oracle(z, 2026, 1, 5, 9, 0, -1)), "dave");
    assert_string_equal(who_at(s, NULL, 0, oracle(z, 2026, 1, 5, 17, 0, -1)), "alice");
    assert_string_equal(who_at(s, NULL, 0, oracle(z, 2026, 1, 10, 12, 0, -1)), "alice"); /* Sat */
    assert_string_equal(who_at(s, NULL, 0, oracle(z, 2026, 1, 12, 8, 59, -1)), "alice");
    assert_string_equal(who_at(s, NULL, 0, oracle(z, 2026, 1, 12, 17, 30, -1)), "bob");
    assert_string_equal(who_at(s, NULL, 0, oracle(z, 2026, 1, 19, 20, 0, -1)), "carol");
    assert_string_equal(who_at(s, NULL, 0, oracle(z, 2026, 1, 26, 20, 0, -1)), "alice");
    oncall_set_free(set);
}

/* Every ```yaml block of docs/oncall.md that holds people:, schedules: or
 * policies: is written to one folder, and the folder must load. */
static void test_docs_examples_load(void **state) {
    (void)state;
    char path[1024], name[32], err[256];
    size_t len;
    int blocks = 0;
    snprintf(path, sizeof(path), "%s/docs/oncall.md", source_dir());
    char *doc = file_read(path, 1 << 20, &len, err, sizeof(err));
    if (!doc) fail_msg("%s", err);
    for (char *p = doc; (p = strstr(p, "```yaml\n"));) {
        p += 8;
        char *end = strstr(p, "```");
        assert_non_null(end);
        *end = '\0';
        if (strstr(p, "people:") || strstr(p, "schedules:") || strstr(p, "policies:")) {
            snprintf(name, sizeof(name), "block%d.yaml", ++blocks);
            free(write_named("docs", name, p));
        }
        p = end + 3;
    }
    free(doc);
    assert_true(blocks >= 3);
    wf_diag d = {0};
    snprintf(path, sizeof(path), "%s/docs", dir);
    oncall_set *set = oncall_load(path, &d);
    for (size_t i = 0; i < d.n; i++) print_error("%s\n", d.msgs[i]);
    assert_non_null(set);
    oncall_set_free(set);
}

/* ---- layers, restrictions, overrides ---- */

static void test_layers_and_restrictions(void **state) {
    (void)state;
    oncall_set *set = load_ok(PEOPLE
        "schedules:\n"
        "  - id: s\n"
        "    timezone: UTC\n"
        "    layers:\n"
        "      - name: base\n"
        "        rotations:\n"
        "          - {participants: [ann, ben], turn: weekly, handoff: \"09:00\", start: 2026-01-05}\n"
        "      - name: nights\n"
        "        rotations:\n"
        "          - participants: [cat]\n"
        "            turn: daily\n"
        "            start: 2026-01-05\n"
        "            restrictions: [{days: [mon, tue, wed, thu, fri], from: \"22:00\", to: \"06:00\"}]\n"
        "          - participants: [dan]\n"
        "            turn: daily\n"
        "            start: 2026-01-05\n"
        "            restrictions: [{days: [fri], from: \"18:00\", to: \"24:00\"}]\n");
    const schedule *s = oncall_schedule(set, "s");
    assert_string_equal(who_at(s, NULL, 0, utc(2026, 1, 5, 8, 0)), "-");
    assert_string_equal(who_at(s, NULL, 0, utc(2026, 1, 5, 12, 0)), "ann");
    assert_string_equal(who_at(s, NULL, 0, utc(2026, 1, 5, 22, 0)), "cat");
    assert_string_equal(who_at(s, NULL, 0, utc(2026, 1, 6, 5, 59)), "cat"); /* past midnight */
    assert_string_equal(who_at(s, NULL, 0, utc(2026, 1, 6, 6, 0)), "ann");
    assert_string_equal(who_at(s, NULL, 0, utc(2026, 1, 9, 19, 0)), "dan");  /* Fri evening */
    assert_string_equal(who_at(s, NULL, 0, utc(2026, 1, 9, 23, 0)), "cat");  /* first rotation wins */
    assert_string_equal(who_at(s, NULL, 0, utc(2026, 1, 10, 1, 0)), "cat");  /* Fri night runs to Sat 06:00 */
    assert_string_equal(who_at(s, NULL, 0, utc(2026, 1, 10, 23, 0)), "ann"); /* Sat: no night rotation */
    assert_string_equal(who_at(s, NULL, 0, utc(2026, 1, 12, 9, 0)), "ben");

    oncall_result r;
    schedule_oncall(s, NULL, 0, utc(2026, 1, 5, 23, 0), &r);
    assert_int_equal(r.layer, 1);
    assert_int_equal(r.rotation, 0);

    /* The rota of one weekday: ann, cat from 22:00. */
    rota_span *sp;
    long n = schedule_rota(s, NULL, 0, utc(2026, 1, 6, 0, 0), utc(2026, 1, 7, 0, 0), &sp);
    assert_int_equal(n, 3);
    assert_string_equal(sp[0].r.who, "cat");
    assert_true(sp[0].to == utc(2026, 1, 6, 6, 0));
    assert_string_equal(sp[1].r.who, "ann");
    assert_true(sp[2].from == utc(2026, 1, 6, 22, 0) && sp[2].to == utc(2026, 1, 7, 0, 0));
    free(sp);
    oncall_set_free(set);
}

static void test_overrides_win(void **state) {
    (void)state;
    oncall_set *set = one_rotation("Europe/Berlin", "[ann, ben]", "daily", "09:00", "2026-01-01",
                                   NULL);
    const schedule *s = oncall_schedule(set, "s");
    rota_override ov[] = {
        {"o1", "cat", utc(2026, 1, 2, 10, 0), utc(2026, 1, 3, 10, 0)},
        {"o2", "dan", utc(2026, 1, 2, 12, 0), utc(2026, 1, 2, 13, 0)}, /* later wins */
    };
    assert_string_equal(who_at(s, ov, 2, utc(2026, 1, 2, 9, 59)), "ben");
    assert_string_equal(who_at(s, ov, 2, utc(2026, 1, 2, 10, 0)), "cat");
    assert_string_equal(who_at(s, ov, 2, utc(2026, 1, 2, 12, 30)), "dan");
    assert_string_equal(who_at(s, ov, 2, utc(2026, 1, 3, 9, 59)), "cat");
    assert_string_equal(who_at(s, ov, 2, utc(2026, 1, 3, 10, 0)), "ann");
    /* An override covers times before the rotation starts as well. */
    rota_override early = {"o3", "dan", utc(2025, 12, 1, 0, 0), utc(2025, 12, 2, 0, 0)};
    assert_string_equal(who_at(s, &early, 1, utc(2025, 12, 1, 5, 0)), "dan");
    oncall_result r;
    schedule_oncall(s, ov, 2, utc(2026, 1, 2, 12, 30), &r);
    assert_string_equal(r.override_id, "o2");
    assert_int_equal(r.layer, -1);

    rota_span *sp;
    long n = schedule_rota(s, ov, 2, utc(2026, 1, 2, 0, 0), utc(2026, 1, 4, 0, 0), &sp);
    const char *want[] = {"ann", "ben", "cat", "dan", "cat", "ann"};
    assert_int_equal(n, 6);
    for (long i = 0; i < n; i++) assert_string_equal(sp[i].r.who, want[i]);
    assert_true(sp[3].from == utc(2026, 1, 2, 12, 0) && sp[3].to == utc(2026, 1, 2, 13, 0));
    free(sp);
    oncall_set_free(set);
}

/* ---- DST, against the tz database ---- */

/* A daily 09:00 rotation across a zone's two 2026 changes: every handoff is
 * at 09:00 local as mktime() computes it, 23 or 25 hours after the one
 * before on the change days. */
static void daily_across(const char *zone, int spring_mo, int spring_d, int fall_mo, int fall_d) {
    oncall_set *set = one_rotation(zone, "[ann, ben, cat]", "daily", "09:00", "2026-01-01", NULL);
    const schedule *s = oncall_schedule(set, "s");
    int months[2] = {spring_mo, fall_mo}, days[2] = {spring_d, fall_d};
    for (int c = 0; c < 2; c++) {
        time_t from = oracle(zone, 2026, months[c], days[c] - 3, 0, 0, -1);
        time_t to = oracle(zone, 2026, months[c], days[c] + 3, 0, 0, -1);
        rota_span *sp;
        long n = schedule_rota(s, NULL, 0, from, to, &sp);
        assert_int_equal(n, 7); /* six 09:00 handoffs cut the six days into seven */
        for (long i = 1; i < n; i++) {
            time_t want = oracle(zone, 2026, months[c], days[c] - 3 + (int)i - 1, 9, 0, -1);
            if (sp[i].from != want)
                fail_msg("%s: handoff %ld at %lld, want %lld", zone, i, (long long)sp[i].from,
                         (long long)want);
            assert_true(tz_civil(zone, sp[i].from) % 86400 == 9 * 3600);
        }
        /* The turn over the change is an hour shorter (spring) or longer. */
        long want_len = c == 0 ? 23 * 3600 : 25 * 3600;
        bool seen = false;
        for (long i = 1; i + 1 < n; i++) seen |= sp[i].to - sp[i].from == want_len;
        assert_true(seen);
        /* The one on duty follows the day count from the start. */
        int day_of_year = (int)((tz_civil(zone, sp[3].from) - tz_civil(zone, oracle(zone, 2026, 1, 1, 9, 0, -1))) / 86400);
        const char *names[] = {"ann", "ben", "cat"};
        assert_string_equal(sp[3].r.who, names[day_of_year % 3]);
        free(sp);
    }
    oncall_set_free(set);
}

static void test_dst_berlin_daily(void **state) {
    (void)state;
    daily_across("Europe/Berlin", 3, 29, 10, 25);
}

static void test_dst_new_york_daily(void **state) {
    (void)state;
    daily_across("America/New_York", 3, 8, 11, 1);
}

/* 12-hour turns at 08:00 and 20:00 New York time stay there across both
 * changes; 11 or 13 hours of real time in the turn that spans one. */
static void test_dst_new_york_twelve_hours(void **state) {
    (void)state;
    const char *z = "America/New_York";
    oncall_set *set = one_rotation(z, "[ann, ben, cat, dan]", "12 hours", "08:00", "2026-01-04", NULL);
    const schedule *s = oncall_schedule(set, "s");
    int k0 = 0;
    for (int c = 0; c < 2; c++) {
        int mo = c ? 11 : 3, d = c ? 1 : 8;
        /* turns since 2026-01-04 08:00 up to the change day's 08:00 */
        k0 = (int)((utc(2026, mo, d, 8, 0) - utc(2026, 1, 4, 8, 0)) / 43200);
        for (int i = -4; i < 4; i++) {
            time_t at = oracle(z, 2026, mo, d, 8 + 12 * i, 0, -1);
            const char *names[] = {"ann", "ben", "cat", "dan"};
            assert_string_equal(who_at(s, NULL, 0, at), names[(k0 + i) % 4]);
            assert_string_equal(who_at(s, NULL, 0, at - 1), names[(k0 + i + 3) % 4]);
        }
        rota_span *sp;
        long n = schedule_rota(s, NULL, 0, oracle(z, 2026, mo, d - 1, 7, 0, -1),
                               oracle(z, 2026, mo, d + 1, 9, 0, -1), &sp);
        assert_int_equal(n, 6);
        /* Sat 20:00 -> Sun 08:00 spans the 02:00 change */
        assert_int_equal(sp[2].to - sp[2].from, c ? 13 * 3600 : 11 * 3600);
        free(sp);
    }
    oncall_set_free(set);
}

/* A handoff at 02:30, a time that does not exist on spring-forward day and
 * happens twice on fall-back day. */
static void test_dst_handoff_in_the_gap_and_the_overlap(void **state) {
    (void)state;
    const char *z = "Europe/Berlin";
    oncall_set *set = one_rotation(z, "[ann, ben]", "daily", "02:30", "2026-01-01", NULL);
    const schedule *s = oncall_schedule(set, "s");
    rota_span *sp;
    /* Mar 29: the clock jumps from 02:00 CET to 03:00 CEST; the handoff is
     * at the jump, 03:00 CEST. */
    long n = schedule_rota(s, NULL, 0, oracle(z, 2026, 3, 28, 12, 0, -1),
                           oracle(z, 2026, 3, 29, 12, 0, -1), &sp);
    assert_int_equal(n, 2);
    assert_true(sp[1].from == oracle(z, 2026, 3, 29, 3, 0, 1));
    assert_true(sp[1].from == utc(2026, 3, 29, 1, 0));
    assert_true(tz_instant(z, tz_civil(z, utc(2026, 3, 29, 0, 59)) + 60 * 31) == utc(2026, 3, 29, 1, 0));
    free(sp);
    /* Oct 25: 02:30 happens in CEST, then again in CET; the handoff is the
     * first, and the second changes nothing. */
    n = schedule_rota(s, NULL, 0, oracle(z, 2026, 10, 24, 12, 0, -1),
                      oracle(z, 2026, 10, 25, 12, 0, -1), &sp);
    assert_int_equal(n, 2);
    assert_true(sp[1].from == oracle(z, 2026, 10, 25, 2, 30, 1));
    assert_true(sp[1].from == utc(2026, 10, 25, 0, 30));
    const char *after = sp[1].r.who;
    assert_string_equal(who_at(s, NULL, 0, utc(2026, 10, 25, 1, 15)), after); /* 02:15 CET */
    assert_string_equal(who_at(s, NULL, 0, utc(2026, 10, 25, 1, 45)), after); /* 02:45 CET */
    free(sp);
    oncall_set_free(set);
}

/* Office hours 09:00-17:00 on weekdays stay at those local hours across the
 * change. */
static void test_dst_restriction_windows(void **state) {
    (void)state;
    const char *z = "Europe/Berlin";
    oncall_set *set = one_rotation(z, "[ann]", "weekly", "09:00", "2026-01-05",
                                   "            restrictions: [{days: weekdays, from: \"09:00\", to: \"17:00\"}]\n");
    const schedule *s = oncall_schedule(set, "s");
    rota_span *sp;
    long n = schedule_rota(s, NULL, 0, oracle(z, 2026, 3, 27, 0, 0, -1),
                           oracle(z, 2026, 3, 31, 0, 0, -1), &sp);
    /* Fri nobody, ann 9-17, nobody over the weekend, Mon ann 9-17, nobody */
    assert_int_equal(n, 5);
    assert_true(sp[1].from == oracle(z, 2026, 3, 27, 9, 0, -1) && sp[1].to == oracle(z, 2026, 3, 27, 17, 0, -1));
    assert_true(sp[3].from == oracle(z, 2026, 3, 30, 9, 0, -1) && sp[3].to == oracle(z, 2026, 3, 30, 17, 0, -1));
    assert_true(sp[3].from - sp[1].from == 3 * 86400 - 3600);
    assert_null(sp[2].r.who);
    free(sp);
    oncall_set_free(set);
}

/* ---- turns that do not divide a week ---- */

static void test_turns_not_dividing_a_week(void **state) {
    (void)state;
    const char *z = "Europe/Berlin";
    const char *names[] = {"ann", "ben", "cat"};
    oncall_set *set = one_rotation(z, "[ann, ben, cat]", "36 hours", "09:00", "2026-03-01", NULL);
    const schedule *s = oncall_schedule(set, "s");
    /* Turn k starts at 09:00 + 36k hours on the wall clock (mktime
     * normalises hour 9 + 36k), across the Mar 29 change. */
    for (int k = 0; k < 30; k++) {
        time_t at = oracle(z, 2026, 3, 1, 9 + 36 * k, 0, -1);
        assert_string_equal(who_at(s, NULL, 0, at), names[k % 3]);
        assert_string_equal(who_at(s, NULL, 0, at - 1), k ? names[(k + 2) % 3] : "-");
    }
    oncall_set_free(set);

    set = one_rotation(z, "[ann, ben, cat]", "5 days", "18:00", "2026-10-01", NULL);
    s = oncall_schedule(set, "s");
    rota_span *sp;
    long n = schedule_rota(s, NULL, 0, oracle(z, 2026, 10, 1, 18, 0, -1),
                           oracle(z, 2026, 11, 15, 18, 0, -1), &sp);
    assert_int_equal(n, 9);
    for (long i = 0; i < n; i++) {
        assert_true(sp[i].from == oracle(z, 2026, 10, 1 + 5 * (int)i, 18, 0, -1));
        assert_string_equal(sp[i].r.who, names[i % 3]);
    }
    free(sp);
    oncall_set_free(set);
}

/* ---- validation ---- */

static void test_validation_problems(void **state) {
    (void)state;
    expect_problem("people:\n"
                   "  - id: ann\n"
                   "    name: Ann\n"
                   "    timezone: Europe/Nowhere\n"
                   "    contacts: {phone: \"0151 123\"}\n",
                   "Europe/Nowhere", "not in the system tz database");
    expect_problem("people:\n"
                   "  - id: ann\n"
                   "    name: Ann\n"
                   "    timezone: UTC\n"
                   "    contacts: {phone: \"0151 123\"}\n",
                   "0151", "E.164");
    expect_problem("people:\n"
                   "  - {id: ann, name: Ann, timezone: UTC, contacts: {slack: alice}}\n",
                   "alice}", "Slack user id");
    expect_problem("people:\n"
                   "  - id: ann\n"
                   "    name: Ann\n"
                   "    timezone: UTC\n"
                   "    contacts: {email: ann@example.com}\n"
                   "    notify:\n"
                   "      - {channel: pigeon, after: 0s}\n"
                   "      - {channel: sms, after: 2m}\n",
                   "pigeon", "one of slack, sms");
    expect_problem("people:\n"
                   "  - id: ann\n"
                   "    name: Ann\n"
                   "    timezone: UTC\n"
                   "    contacts: {email: ann@example.com}\n"
                   "    notify:\n"
                   "      - {channel: sms, after: 2m}\n",
                   "channel: sms", "needs contacts.phone");
    expect_problem(PEOPLE "schedules:\n"
                          "  - id: s\n"
                          "    timezone: CET-1\n"
                          "    layers: [{rotations: [{participants: [ann], turn: daily, start: 2026-01-01}]}]\n",
                   "CET-1", "IANA");
    expect_problem(PEOPLE "schedules:\n"
                          "  - id: s\n"
                          "    timezone: UTC\n"
                          "    layers: [{rotations: [{participants: [ann, zed], turn: daily, start: 2026-01-01}]}]\n",
                   "zed", "there is no person \"zed\"");
    expect_problem(PEOPLE "schedules:\n"
                          "  - id: s\n"
                          "    timezone: UTC\n"
                          "    layers: [{rotations: [{participants: [ann], turn: fortnightly, start: 2026-01-01}]}]\n",
                   "fortnightly", "\"turn\" must be");
    expect_problem(PEOPLE "schedules:\n"
                          "  - id: s\n"
                          "    timezone: UTC\n"
                          "    layers: [{rotations: [{participants: [ann], turn: daily, start: 2026-02-30}]}]\n",
                   "2026-02-30", "a date");
    expect_problem(PEOPLE "schedules:\n"
                          "  - id: s\n"
                          "    timezone: UTC\n"
                          "    layers: [{rotations: [{participants: [ann], turn: daily, handoff: \"25:00\", start: 2026-01-01}]}]\n",
                   "25:00", "time of day");
    expect_problem(PEOPLE "schedules:\n"
                          "  - id: s\n"
                          "    timezone: UTC\n"
                          "    layers:\n"
                          "      - rotations:\n"
                          "          - participants: [ann]\n"
                          "            turn: daily\n"
                          "            start: 2026-01-01\n"
                          "            restrictions: [{days: [mon, funday], from: \"09:00\", to: \"17:00\"}]\n",
                   "funday", "unknown day \"funday\"");
    expect_problem(PEOPLE "policies:\n"
                          "  - id: p\n"
                          "    levels:\n"
                          "      - targets: [{schedule: nope}]\n"
                          "        delay: 5m\n",
                   "nope", "there is no schedule \"nope\"");
    expect_problem(PEOPLE "policies:\n"
                          "  - id: p\n"
                          "    levels:\n"
                          "      - targets: [{person: ann, channel: \"#x\"}]\n"
                          "        delay: 5m\n",
                   "person: ann, channel", "a target is one of");
    expect_problem(PEOPLE "policies:\n"
                          "  - id: p\n"
                          "    repeat: 99\n"
                          "    levels: [{targets: [{person: ann}], delay: 0s}]\n",
                   "99", "\"repeat\" must be");
    expect_problem(PEOPLE "policies:\n"
                          "  - id: p\n"
                          "    levels: [{targets: [{person: ann}], delay: 0s}]\n",
                   "0s}", "longer than 0");
    expect_problem(PEOPLE "  - {id: ben, name: Ben 2, timezone: UTC, contacts: {email: b@example.com}}\n",
                   "ben, name: Ben 2", "person \"ben\" is also defined at");
    expect_problem("peeple: []\n", "peeple", "unknown key");
    expect_problem("people: [1]\n", "1]", "a person must be a map");
    expect_problem("people:\n  - {id: ann, name: Ann, timezone: UTC, contacts: {email: x}, shoe: 9}\n",
                   "9}", "unknown key \"shoe\"");
}

/* A reference to a person in another file of the folder is fine. */
static void test_references_across_files(void **state) {
    (void)state;
    wf_diag d = {0};
    free(write_named("multi", "a-people.yaml", PEOPLE));
    free(write_named("multi", "b-sched.json",
                     "{\"schedules\": [{\"id\": \"s\", \"timezone\": \"UTC\", \"layers\": "
                     "[{\"rotations\": [{\"participants\": [\"ann\"], \"turn\": \"weekly\", "
                     "\"start\": \"2026-01-05\"}]}]}]}\n"));
    char path[128];
    snprintf(path, sizeof(path), "%s/multi", dir);
    oncall_set *set = oncall_load(path, &d);
    for (size_t i = 0; i < d.n; i++) print_error("%s\n", d.msgs[i]);
    assert_non_null(set);
    assert_int_equal(set->nschedules, 1);
    oncall_set_free(set);
}

static void test_formats_and_zones(void **state) {
    (void)state;
    assert_true(person_phone_ok("+4915112345678"));
    assert_true(person_phone_ok("+12125550123"));
    assert_false(person_phone_ok("+0123456789"));
    assert_false(person_phone_ok("+1234567"));
    assert_false(person_phone_ok("+1234567890123456"));
    assert_false(person_phone_ok("004915112345678"));
    assert_false(person_phone_ok("+49 151 12345678"));
    assert_true(person_slack_ok("U012ABC"));
    assert_true(person_slack_ok("W0123ABCD"));
    assert_false(person_slack_ok("u012abc"));
    assert_false(person_slack_ok("C012ABC"));
    assert_true(person_email_ok("a.b@example.com"));
    assert_false(person_email_ok("a@b"));
    assert_false(person_email_ok("a b@example.com"));
    assert_true(tz_valid("Europe/Berlin"));
    assert_true(tz_valid("America/New_York"));
    assert_true(tz_valid("UTC"));
    assert_false(tz_valid("CET-1"));
    assert_false(tz_valid("Europe/Nowhere"));
    assert_false(tz_valid("/etc/passwd"));
    assert_false(tz_valid("../../etc/passwd"));
    assert_false(tz_valid(""));
    assert_false(tz_valid("right/Europe/Berlin"));
    /* The zone is put back as it was. */
    setenv("TZ", "Asia/Tokyo", 1);
    tzset();
    assert_int_equal(tz_offset("Europe/Berlin", utc(2026, 7, 1, 0, 0), NULL, 0), 7200);
    assert_string_equal(getenv("TZ"), "Asia/Tokyo");
    unsetenv("TZ");
    tzset();
    char abbr[16];
    assert_int_equal(tz_offset("America/New_York", utc(2026, 1, 1, 0, 0), abbr, sizeof(abbr)), -5 * 3600);
    assert_string_equal(abbr, "EST");
    assert_null(getenv("TZ"));
}

/* Over all of 2026, every quarter hour of the wall clock: the instant
 * reads back as that wall-clock time, except in a skipped hour, where it is
 * the jump; and a later reading never gives an earlier instant. */
static void test_wall_clock_round_trip(void **state) {
    (void)state;
    const char *zones[] = {"Europe/Berlin", "America/New_York"};
    for (int z = 0; z < 2; z++) {
        tz_scope scope;
        tz_enter(&scope, zones[z]);
        civil_t c0 = (civil_t)utc(2026, 1, 1, 0, 0), c1 = (civil_t)utc(2027, 1, 1, 0, 0);
        time_t prev = 0;
        int skipped = 0;
        for (civil_t c = c0; c < c1; c += 900) {
            time_t t = tz_instant(zones[z], c);
            assert_true(t >= prev);
            prev = t;
            if (tz_civil(zones[z], t) == c) continue;
            skipped++;
            assert_true(tz_civil(zones[z], t) > c);      /* past the skipped reading */
            assert_true(tz_civil(zones[z], t - 1) < c);  /* and the first such instant */
        }
        tz_leave(&scope);
        assert_int_equal(skipped, 4); /* 02:00 to 02:45 on spring-forward day */
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_examples_load),
        cmocka_unit_test(test_docs_examples_load),
        cmocka_unit_test(test_layers_and_restrictions),
        cmocka_unit_test(test_overrides_win),
        cmocka_unit_test(test_dst_berlin_daily),
        cmocka_unit_test(test_dst_new_york_daily),
        cmocka_unit_test(test_dst_new_york_twelve_hours),
        cmocka_unit_test(test_dst_handoff_in_the_gap_and_the_overlap),
        cmocka_unit_test(test_dst_restriction_windows),
        cmocka_unit_test(test_turns_not_dividing_a_week),
        cmocka_unit_test(test_validation_problems),
        cmocka_unit_test(test_references_across_files),
        cmocka_unit_test(test_formats_and_zones),
        cmocka_unit_test(test_wall_clock_round_trip),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
