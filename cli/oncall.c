/* oncall.c - muster oncall: who is on call, the rota, and overrides */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/table.h"
#include "state/audit.h"
#include "state/oncall_store.h"
#include "common/rota.h"
#include "common/util.h"
#include "metrics/aggregate.h"

#define MAX_OVERRIDES 1000
#define PRUNE_AFTER (7 * 86400) /* an override ended this long ago is dropped */

/* ---- times ---- */

/* ISO 8601 with an offset or Z ("2026-03-29T09:00:00+02:00", "...T07:00Z":
 * seconds may be left out), or "now". Returns 0 or -1. */
static int parse_instant(const char *s, time_t *out) {
    char buf[64];
    int64_t ms;
    if (strcmp(s, "now") == 0) {
        *out = time(NULL);
        return 0;
    }
    /* without seconds: YYYY-MM-DDTHH:MM then the zone */
    if (strlen(s) > 16 && strlen(s) < 40 && s[13] == ':' && strchr("Zz+-", s[16]))
        snprintf(buf, sizeof(buf), "%.16s:00%s", s, s + 16);
    else
        snprintf(buf, sizeof(buf), "%s", s);
    if (aggregate_parse_time(buf, &ms) < 0) return -1;
    *out = (time_t)(ms / 1000);
    return 0;
}

/* "2026-03-29T09:00:00+02:00": t on the zone's clock, with its offset. */
static void iso_local(const char *zone, time_t t, char *buf, size_t len) {
    struct tm tm;
    long off = tz_offset(zone, t, NULL, 0);
    civil_fields(tz_civil(zone, t), &tm);
    long a = off < 0 ? -off : off;
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+',
             a / 3600, a % 3600 / 60);
}

/* "Mon 2026-03-30 09:00 CEST": t on the zone's clock, for tables. */
static void table_time(const char *zone, time_t t, char *buf, size_t len) {
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    char abbr[16];
    struct tm tm;
    tz_offset(zone, t, abbr, sizeof(abbr));
    civil_fields(tz_civil(zone, t), &tm);
    snprintf(buf, len, "%s %04d-%02d-%02d %02d:%02d %s", days[tm.tm_wday], tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, abbr);
}

/* ---- overrides in Redis ---- */

typedef oncall_overrides overrides;

/* Reads the schedule's overrides. Returns 0, or -1 (message printed) when
 * Redis cannot be reached. */
static int overrides_read(store *s, const char *schedule_id, overrides *out) {
    char err[600];
    if (oncall_overrides_read(s, schedule_id, out, err, sizeof(err)) == 0) return 0;
    fprintf(stderr, "muster oncall: %s\n", err);
    return -1;
}

static void overrides_free(overrides *o) { oncall_overrides_free(o); }

static void overrides_key(store *s, const char *schedule_id, char *buf, size_t len) {
    oncall_overrides_key(s, schedule_id, buf, len);
}

/* ---- shared ---- */

static const char *const usage_text =
    "Usage: muster oncall [SCHEDULE] [--at TIME] [--json]\n"
    "       muster oncall show SCHEDULE [--days N] [--from TIME] [--json]\n"
    "       muster oncall override SCHEDULE --who PERSON --from TIME --to TIME [--by NAME]\n"
    "       muster oncall override SCHEDULE --remove ID\n"
    "       muster oncall override SCHEDULE [--list] [--json]\n\n"
    "Says who is on call now or at TIME (every schedule, or one), prints a\n"
    "schedule's rota with its handoffs on the schedule's own clock, and keeps\n"
    "overrides: someone else takes the schedule over a stretch of time. People\n"
    "and schedules come from the on-call files (oncall.dir); overrides live in\n"
    "Redis, so they count at once, without a deploy. TIME is ISO 8601 with an\n"
    "offset or Z (2026-03-29T09:00:00+02:00, 2026-03-29T07:00Z), or now.\n\n"
    "Options:\n"
    "  --dir DIR       on-call files (default oncall.dir, MUSTER_ONCALL_DIR)\n"
    "  --at TIME       who is on call at TIME instead of now\n"
    "  --json          the same data as JSON\n"
    "  --days N        show: how many days from --from (default 14, at most 366)\n"
    "  --from TIME     show: the start (default now); override: the start of it\n"
    "  --to TIME       override: its end\n"
    "  --who PERSON    override: the person id who takes over\n"
    "  --by NAME       override: who asked for it (default $USER)\n"
    "  --remove ID     override: remove the override ID\n"
    "  --offline       ignore overrides; read no Redis (who and show)\n";

static oncall_set *load_files(const config *cfg, int argc, char **argv) {
    const char *dir = cli_option(argc, argv, "--dir");
    wf_diag d = {0};
    oncall_set *set = oncall_load(dir ? dir : cfg->oncall_dir, &d);
    for (size_t i = 0; i < d.n; i++) fprintf(stderr, "%s\n", d.msgs[i]);
    if (!set && !dir && d.n == 1 && strstr(d.msgs[0], "no such file"))
        fprintf(stderr, "muster oncall: name the folder with --dir or set MUSTER_ONCALL_DIR "
                        "(for example docs/examples/oncall)\n");
    wf_diag_free(&d);
    return set;
}

static const schedule *find_schedule(const oncall_set *set, const char *id) {
    const schedule *s = oncall_schedule(set, id);
    if (!s) {
        fprintf(stderr, "muster oncall: no schedule \"%s\"; there are:", id);
        for (size_t i = 0; i < set->nschedules; i++) fprintf(stderr, " %s", set->schedules[i].id);
        fprintf(stderr, "\n");
    }
    return s;
}

/* The name of the layer or override a result came from. */
static void via(const schedule *s, const oncall_result *r, char *buf, size_t len) {
    if (r->override_id) snprintf(buf, len, "override %s", r->override_id);
    else if (r->who && s->layers[r->layer].name) snprintf(buf, len, "%s", s->layers[r->layer].name);
    else if (r->who) snprintf(buf, len, "layer %d", r->layer + 1);
    else snprintf(buf, len, "-");
}

static json_t *result_json(const oncall_set *set, const schedule *s, const oncall_result *r) {
    const person *p = r->who ? oncall_person(set, r->who) : NULL;
    json_t *j = json_pack("{s:s?, s:s?}", "who", r->who, "name", p ? p->name : NULL);
    if (r->override_id) json_object_set_new(j, "override", json_string(r->override_id));
    else if (r->who) json_object_set_new(j, "layer", json_string(s->layers[r->layer].name ? s->layers[r->layer].name : ""));
    if (p)
        json_object_set_new(j, "contacts", json_pack("{s:s?, s:s?, s:s?, s:s?}", "slack", p->slack,
                                                     "phone", p->phone, "email", p->email,
                                                     "teams", p->teams));
    return j;
}

/* Reads the overrides of s into o; none when st is NULL (--offline). */
static int read_overrides(store *st, const schedule *s, overrides *o) {
    memset(o, 0, sizeof(*o));
    return st ? overrides_read(st, s->id, o) : 0;
}

/* The store, or NULL with *failed false under --offline. */
static store *open_unless_offline(const config *cfg, int argc, char **argv, bool *failed) {
    *failed = false;
    if (cli_flag(argc, argv, "--offline")) return NULL;
    store *st = cli_store(cfg);
    *failed = !st;
    if (!st) fprintf(stderr, "muster oncall: overrides live in Redis; --offline answers from the files alone\n");
    return st;
}

/* ---- muster oncall [SCHEDULE] ---- */

static int who(const config *cfg, int argc, char **argv) {
    const char *at_text = cli_option(argc, argv, "--at");
    const char *only = argc > 1 && argv[1][0] != '-' ? argv[1] : NULL;
    time_t at = time(NULL);
    bool as_json = cli_flag(argc, argv, "--json");
    int rc = EXIT_FAIL;
    if (at_text && parse_instant(at_text, &at) < 0) {
        fprintf(stderr, "muster oncall: --at wants ISO 8601 with an offset or Z, got '%s'\n", at_text);
        return EXIT_USAGE;
    }
    bool failed;
    store *st = NULL;
    oncall_set *set = load_files(cfg, argc, argv);
    if (!set) return EXIT_FAIL;
    if (only && !find_schedule(set, only)) goto out;
    if (!(st = open_unless_offline(cfg, argc, argv, &failed)) && failed) goto out;
    static const char *const heads[] = {"SCHEDULE", "ON CALL", "NAME", "SINCE", "UNTIL", "VIA"};
    table *t = as_json ? NULL : table_new(6, heads);
    json_t *list = as_json ? json_array() : NULL;
    for (size_t i = 0; i < set->nschedules; i++) {
        const schedule *s = &set->schedules[i];
        overrides o;
        rota_span *sp = NULL;
        char since[64] = "-", until[64] = "-", how[160];
        if (only && strcmp(only, s->id) != 0) continue;
        if (read_overrides(st, s, &o) < 0) {
            table_free(t);
            json_decref(list);
            goto out;
        }
        /* the span around `at`: from a week before to five weeks after */
        long n = schedule_rota(s, o.items, o.n, at - 7 * 86400, at + 35 * 86400, &sp);
        oncall_result r;
        schedule_oncall(s, o.items, o.n, at, &r);
        for (long k = 0; k < n; k++) {
            if (sp[k].from > at || at >= sp[k].to) continue;
            if (k > 0) table_time(s->timezone, sp[k].from, since, sizeof(since));
            if (k + 1 < n) table_time(s->timezone, sp[k].to, until, sizeof(until));
            if (as_json) {
                json_t *j = result_json(set, s, &r);
                char buf[64];
                iso_local(s->timezone, at, buf, sizeof(buf));
                json_object_set_new(j, "schedule", json_string(s->id));
                json_object_set_new(j, "timezone", json_string(s->timezone));
                json_object_set_new(j, "at", json_string(buf));
                iso_local(s->timezone, sp[k].from, buf, sizeof(buf));
                json_object_set_new(j, "since", k > 0 ? json_string(buf) : json_null());
                iso_local(s->timezone, sp[k].to, buf, sizeof(buf));
                json_object_set_new(j, "until", k + 1 < n ? json_string(buf) : json_null());
                json_array_append_new(list, j);
            }
        }
        via(s, &r, how, sizeof(how));
        const person *p = r.who ? oncall_person(set, r.who) : NULL;
        const char *row[] = {s->id, r.who ? r.who : "nobody", p ? p->name : "", since, until, how};
        if (t) table_add(t, row);
        free(sp);
        overrides_free(&o);
    }
    if (t) table_print(t, stdout);
    else json_dumpf(list, stdout, JSON_INDENT(2)), putchar('\n');
    table_free(t);
    json_decref(list);
    rc = EXIT_OK;
out:
    store_close(st);
    oncall_set_free(set);
    return rc;
}

/* ---- muster oncall show SCHEDULE ---- */

static int show(const config *cfg, int argc, char **argv) {
    const char *days_text = cli_option(argc, argv, "--days"), *from_text = cli_option(argc, argv, "--from");
    time_t from = time(NULL);
    long days = 14;
    char *end = NULL;
    int rc = EXIT_FAIL;
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr, "muster oncall show: name the schedule\n");
        return EXIT_USAGE;
    }
    if (days_text && ((days = strtol(days_text, &end, 10)) < 1 || days > ROTA_MAX_DAYS || *end)) {
        fprintf(stderr, "muster oncall show: --days wants 1 to %d, got '%s'\n", ROTA_MAX_DAYS, days_text);
        return EXIT_USAGE;
    }
    if (from_text && parse_instant(from_text, &from) < 0) {
        fprintf(stderr, "muster oncall show: --from wants ISO 8601 with an offset or Z, got '%s'\n", from_text);
        return EXIT_USAGE;
    }
    oncall_set *set = load_files(cfg, argc, argv);
    if (!set) return EXIT_FAIL;
    const schedule *s = find_schedule(set, argv[1]);
    overrides o = {0};
    rota_span *sp = NULL;
    bool failed = false;
    store *st = s ? open_unless_offline(cfg, argc, argv, &failed) : NULL;
    if (!s || failed || read_overrides(st, s, &o) < 0) goto out;
    long n = schedule_rota(s, o.items, o.n, from, from + days * 86400, &sp);
    if (n < 0) goto out;
    if (cli_flag(argc, argv, "--json")) {
        char a[64], b[64];
        iso_local(s->timezone, from, a, sizeof(a));
        iso_local(s->timezone, from + days * 86400, b, sizeof(b));
        json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:[]}", "schedule", s->id, "timezone",
                              s->timezone, "from", a, "to", b, "rota");
        for (long k = 0; k < n; k++) {
            json_t *e = result_json(set, s, &sp[k].r);
            iso_local(s->timezone, sp[k].from, a, sizeof(a));
            iso_local(s->timezone, sp[k].to, b, sizeof(b));
            json_object_set_new(e, "from", json_string(a));
            json_object_set_new(e, "to", json_string(b));
            json_array_append_new(json_object_get(j, "rota"), e);
        }
        json_dumpf(j, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(j);
    } else {
        static const char *const heads[] = {"FROM", "TO", "ON CALL", "NAME", "VIA"};
        table *t = table_new(5, heads);
        for (long k = 0; k < n; k++) {
            char a[64], b[64], how[160];
            const person *p = sp[k].r.who ? oncall_person(set, sp[k].r.who) : NULL;
            table_time(s->timezone, sp[k].from, a, sizeof(a));
            table_time(s->timezone, sp[k].to, b, sizeof(b));
            via(s, &sp[k].r, how, sizeof(how));
            const char *row[] = {a, b, sp[k].r.who ? sp[k].r.who : "nobody", p ? p->name : "", how};
            table_add(t, row);
        }
        printf("%s (%s), %ld day(s), times in %s\n\n", s->name ? s->name : s->id, s->id, days,
               s->timezone);
        table_print(t, stdout);
        table_free(t);
    }
    rc = EXIT_OK;
out:
    store_close(st);
    free(sp);
    overrides_free(&o);
    oncall_set_free(set);
    return rc;
}

/* ---- muster oncall override SCHEDULE ---- */

static int list_overrides(store *st, const oncall_set *set, const schedule *s, bool as_json) {
    overrides o;
    if (overrides_read(st, s->id, &o) < 0) return EXIT_FAIL;
    if (as_json) {
        json_dumpf(o.docs, stdout, JSON_INDENT(2));
        putchar('\n');
    } else {
        static const char *const heads[] = {"ID", "WHO", "NAME", "FROM", "TO", "BY"};
        table *t = table_new(6, heads);
        for (size_t i = 0; i < o.n; i++) {
            char a[64], b[64];
            const person *p = oncall_person(set, o.items[i].who);
            table_time(s->timezone, o.items[i].from, a, sizeof(a));
            table_time(s->timezone, o.items[i].to, b, sizeof(b));
            const char *row[] = {o.items[i].id, o.items[i].who, p ? p->name : "(unknown)", a, b,
                                 json_string_value(json_object_get(json_array_get(o.docs, i), "by"))};
            table_add(t, row);
        }
        if (o.n) table_print(t, stdout);
        else printf("no overrides on %s\n", s->id);
        table_free(t);
    }
    overrides_free(&o);
    return EXIT_OK;
}

/* Puts a change of the schedule's overrides on the record (muster audit). */
static void audit_override(store *st, const config *cfg, const schedule *s, const char *id,
                           const char *by, const char *outcome) {
    char err[512];
    audit_entry e = {.action = "override", .schedule = s->id, .override = id, .by = by,
                     .via = "cli", .outcome = outcome};
    if (audit_record(st, &e, cfg->audit_max_entries, NULL, NULL, 0, err, sizeof(err)) < 0)
        fprintf(stderr, "muster oncall override: %s was %s but not audited: %s\n", id, outcome, err);
}

/* --by NAME, else $USER, else "operator". */
static const char *override_by(int argc, char **argv) {
    const char *by = cli_option(argc, argv, "--by");
    if (by) return by;
    return getenv("USER") && *getenv("USER") ? getenv("USER") : "operator";
}

static int remove_override(store *st, const config *cfg, const schedule *s, const char *id,
                           const char *by) {
    char key[512];
    overrides_key(st, s->id, key, sizeof(key));
    redisReply *r = store_command(st, "HDEL %s %s", key, id);
    int rc = EXIT_FAIL;
    if (!r || r->type != REDIS_REPLY_INTEGER)
        fprintf(stderr, "muster oncall override: cannot reach Redis\n");
    else if (r->integer == 0)
        fprintf(stderr, "muster oncall override: no override \"%s\" on %s\n", id, s->id);
    else
        rc = EXIT_OK, printf("removed override %s from %s\n", id, s->id);
    if (r) freeReplyObject(r);
    if (rc == EXIT_OK) audit_override(st, cfg, s, id, by, "removed");
    return rc;
}

/* Drops overrides that ended PRUNE_AFTER ago, so the hash stays bounded by
 * what is current; returns how many are left, or -1. */
static long prune(store *st, const schedule *s, time_t now) {
    char key[512];
    overrides o;
    long left = 0;
    if (overrides_read(st, s->id, &o) < 0) return -1;
    overrides_key(st, s->id, key, sizeof(key));
    for (size_t i = 0; i < o.n; i++) {
        if (o.items[i].to < now - PRUNE_AFTER && o.items[i].id) {
            redisReply *r = store_command(st, "HDEL %s %s", key, o.items[i].id);
            if (r) freeReplyObject(r);
        } else {
            left++;
        }
    }
    overrides_free(&o);
    return left;
}

static int add_override(store *st, const config *cfg, const oncall_set *set, const schedule *s,
                        int argc, char **argv) {
    const char *who_id = cli_option(argc, argv, "--who"), *from_text = cli_option(argc, argv, "--from");
    const char *to_text = cli_option(argc, argv, "--to"), *by = override_by(argc, argv);
    time_t from, to;
    char id[64], key[512], a[64], b[64];
    if (!who_id || !from_text || !to_text) {
        fprintf(stderr, "muster oncall override: --who, --from and --to go together\n");
        return EXIT_USAGE;
    }
    if (parse_instant(from_text, &from) < 0 || parse_instant(to_text, &to) < 0) {
        fprintf(stderr, "muster oncall override: --from and --to want ISO 8601 with an offset or Z\n");
        return EXIT_USAGE;
    }
    if (to <= from || to - from > (time_t)ROTA_MAX_DAYS * 86400) {
        fprintf(stderr, "muster oncall override: --to must be after --from, by at most %d days\n",
                ROTA_MAX_DAYS);
        return EXIT_USAGE;
    }
    if (!oncall_person(set, who_id)) {
        fprintf(stderr, "muster oncall override: there is no person \"%s\" in the on-call files\n", who_id);
        return EXIT_FAIL;
    }
    long left = prune(st, s, time(NULL));
    if (left < 0) return EXIT_FAIL;
    if (left >= MAX_OVERRIDES) {
        fprintf(stderr, "muster oncall override: %s has %d overrides already; remove some\n", s->id,
                MAX_OVERRIDES);
        return EXIT_FAIL;
    }
    id_new("ovr-", id, sizeof(id));
    json_t *doc = json_pack("{s:s, s:s, s:I, s:I, s:s, s:I}", "id", id, "who", who_id, "from",
                            (json_int_t)from, "to", (json_int_t)to, "by", by, "created_ms",
                            (json_int_t)now_ms());
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    overrides_key(st, s->id, key, sizeof(key));
    redisReply *r = text ? store_command(st, "HSET %s %s %s", key, id, text) : NULL;
    free(text);
    int ok = r && r->type == REDIS_REPLY_INTEGER;
    if (r) freeReplyObject(r);
    if (!ok) {
        fprintf(stderr, "muster oncall override: cannot write to Redis\n");
        return EXIT_FAIL;
    }
    table_time(s->timezone, from, a, sizeof(a));
    table_time(s->timezone, to, b, sizeof(b));
    printf("override %s: %s is on call for %s from %s to %s\n", id, who_id, s->id, a, b);
    audit_override(st, cfg, s, id, by, "added");
    return EXIT_OK;
}

static int override(const config *cfg, int argc, char **argv) {
    int rc = EXIT_FAIL;
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr, "muster oncall override: name the schedule\n");
        return EXIT_USAGE;
    }
    oncall_set *set = load_files(cfg, argc, argv);
    if (!set) return EXIT_FAIL;
    const schedule *s = find_schedule(set, argv[1]);
    store *st = s ? cli_store(cfg) : NULL;
    if (!st) goto out;
    const char *remove = cli_option(argc, argv, "--remove");
    if (remove) rc = remove_override(st, cfg, s, remove, override_by(argc, argv));
    else if (cli_option(argc, argv, "--who") || cli_option(argc, argv, "--from"))
        rc = add_override(st, cfg, set, s, argc, argv);
    else
        rc = list_overrides(st, set, s, cli_flag(argc, argv, "--json"));
    store_close(st);
out:
    oncall_set_free(set);
    return rc;
}

int cmd_oncall(config *cfg, int argc, char **argv) {
    if (cli_flag(argc, argv, "--help") || cli_flag(argc, argv, "-h")) {
        fputs(usage_text, stdout);
        return EXIT_OK;
    }
    if (argc > 1 && strcmp(argv[1], "show") == 0) return show(cfg, argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "override") == 0) return override(cfg, argc - 1, argv + 1);
    return who(cfg, argc, argv);
}
