/* oncall.c - on-call files: people, schedules and escalation policies, validated */
#include "common/oncall.h"

#include <ctype.h>
#include <dirent.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/util.h"
#include "common/yaml.h"

/* A participant or target naming a person or schedule, checked once every
 * file is loaded; `where` places it. */
typedef struct ref {
    target_kind kind;
    char *id;
    char *where;
} ref;

typedef struct loading {
    oncall_set *set;
    ref *refs;
    size_t nrefs;
} loading;

static const char *const channel_names[] = {"slack", "sms", "phone", "email", "teams"};

const char *oncall_channel_name(oncall_channel c) { return channel_names[c]; }

bool oncall_phone_ok(const char *s) {
    size_t n = 0;
    if (*s++ != '+' || *s == '0') return false;
    for (; *s; s++, n++)
        if (!isdigit((unsigned char)*s)) return false;
    return n >= 8 && n <= 15;
}

bool oncall_slack_ok(const char *s) {
    size_t n = 0;
    if (*s != 'U' && *s != 'W') return false;
    for (s++; *s; s++, n++)
        if (!isupper((unsigned char)*s) && !isdigit((unsigned char)*s)) return false;
    return n >= 2 && n <= 20;
}

bool oncall_email_ok(const char *s) {
    const char *at = strchr(s, '@');
    if (!at || at == s || strchr(at + 1, '@') || strlen(s) > 254) return false;
    const char *dot = strrchr(at + 1, '.');
    if (!dot || dot == at + 1 || !dot[1]) return false;
    for (; *s; s++)
        if (isspace((unsigned char)*s) || iscntrl((unsigned char)*s)) return false;
    return true;
}

/* out = base + "/" + key + "/" + i: the pointer of a list's entry (key ""
 * when base is the list). */
static void entry_pointer(char *out, size_t cap, const char *base, const char *key, size_t i) {
    if (snprintf(out, cap, "%s%s%s/%zu", base, *key ? "/" : "", key, i) < 0) out[0] = '\0';
}

static char *where_of(const diag_file *f, const char *pointer) {
    char buf[1200];
    diag_place(f, pointer, buf, sizeof(buf));
    return strdup(buf);
}

static void add_ref(diag_file *f, loading *ld, target_kind kind, const char *id, const char *pointer) {
    ref *r = realloc(ld->refs, (ld->nrefs + 1) * sizeof(*r));
    if (!r) return;
    ld->refs = r;
    r[ld->nrefs].kind = kind;
    r[ld->nrefs].id = strdup(id);
    r[ld->nrefs].where = where_of(f, pointer);
    ld->nrefs++;
}

/* The string at obj[key] (copied into *out), or NULL into *out and a
 * problem when it is required or not a string. */
static void text_of(diag_file *f, const json_t *obj, const char *pointer, const char *key,
                    bool required, char **out) {
    char p[512];
    const json_t *v = json_object_get(obj, key);
    diag_pointer_join(p, sizeof(p), pointer, key);
    *out = NULL;
    if (!v && !required) return;
    if (!v) {
        diag_problem(f, pointer, "\"%s\" is required", key);
    } else if (!json_is_string(v) || !*json_string_value(v)) {
        diag_problem(f, p, "\"%s\" must be a non-empty string, got %s", key,
                     json_is_string(v) ? "\"\"" : diag_type_of(v));
    } else {
        *out = strdup(json_string_value(v));
    }
}

static void zone_of(diag_file *f, const json_t *obj, const char *pointer, char **out) {
    char p[512];
    text_of(f, obj, pointer, "timezone", true, out);
    if (*out && !tz_valid(*out)) {
        diag_pointer_join(p, sizeof(p), pointer, "timezone");
        diag_problem(f, p, "timezone \"%s\" is not in the system tz database: expected an "
                     "IANA name such as Europe/Berlin", *out);
    }
}

/* A list at obj[key] of 1 to ONCALL_MAX_ITEMS entries, or NULL (problem). */
static const json_t *list_of(diag_file *f, const json_t *obj, const char *pointer,
                             const char *key, size_t max) {
    char p[512];
    const json_t *v = json_object_get(obj, key);
    diag_pointer_join(p, sizeof(p), pointer, key);
    if (!v) {
        diag_problem(f, pointer, "\"%s\" is required", key);
        return NULL;
    }
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > max) {
        if (json_is_array(v))
            diag_problem(f, p, "\"%s\" must be a list of 1 to %zu entries, got %zu", key, max,
                         json_array_size(v));
        else
            diag_problem(f, p, "\"%s\" must be a list, got %s", key, diag_type_of(v));
        return NULL;
    }
    return v;
}

/* A map entry of a list, or NULL (problem). */
static const json_t *entry_of(diag_file *f, const json_t *v, const char *p, const char *what) {
    if (json_is_object(v)) return v;
    diag_problem(f, p, "%s must be a map, got %s", what, diag_type_of(v));
    return NULL;
}

static bool id_of(diag_file *f, const json_t *obj, const char *pointer, char **out) {
    char p[512];
    text_of(f, obj, pointer, "id", true, out);
    if (!*out) return false;
    if (diag_valid_id(*out)) return true;
    diag_pointer_join(p, sizeof(p), pointer, "id");
    diag_problem(f, p, "id \"%s\" must be 1 to 64 of [A-Za-z0-9_-]", *out);
    return false;
}

/* A duration: "2m", "30s", or integer milliseconds. */
static int duration_at(diag_file *f, const json_t *obj, const char *pointer, const char *key,
                       int64_t *ms) {
    char p[512];
    const json_t *v = json_object_get(obj, key);
    diag_pointer_join(p, sizeof(p), pointer, key);
    if (!v) {
        diag_problem(f, pointer, "\"%s\" is required", key);
        return -1;
    }
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *ms = json_integer_value(v);
        return 0;
    }
    if (json_is_string(v) && duration_parse(json_string_value(v), ms) == 0 && *ms >= 0) return 0;
    diag_problem(f, p, "\"%s\" must be a duration such as 0s, 2m or 1h", key);
    return -1;
}

/* ---- people ---- */

static void parse_rules(diag_file *f, person *pe, const json_t *obj, const char *pointer) {
    static const char *const keys[] = {"channel", "after", NULL};
    const json_t *rules = json_object_get(obj, "notify"), *r;
    char p[512], base[512];
    size_t i;
    if (!rules) return;
    if (!(rules = list_of(f, obj, pointer, "notify", 32))) return;
    if (!(pe->rules = calloc(json_array_size(rules), sizeof(*pe->rules)))) return;
    json_array_foreach(rules, i, r) {
        entry_pointer(base, sizeof(base), pointer, "notify", i);
        if (!entry_of(f, r, base, "a notification rule")) continue;
        diag_unknown_keys(f, r, base, keys);
        const char *ch = json_string_value(json_object_get(r, "channel"));
        size_t c;
        for (c = 0; ch && c < sizeof(channel_names) / sizeof(*channel_names); c++)
            if (strcmp(ch, channel_names[c]) == 0) break;
        if (!ch || c == sizeof(channel_names) / sizeof(*channel_names)) {
            diag_pointer_join(p, sizeof(p), base, "channel");
            diag_problem(f, json_object_get(r, "channel") ? p : base,
                         "\"channel\" must be one of slack, sms, phone, email, teams");
            continue;
        }
        notify_rule *nr = &pe->rules[pe->nrules];
        nr->channel = (oncall_channel)c;
        if (duration_at(f, r, base, "after", &nr->after_ms) < 0) continue;
        const char *need = c == CH_SLACK ? pe->slack : c == CH_EMAIL ? pe->email
                           : c == CH_TEAMS ? pe->teams : pe->phone;
        if (!need)
            diag_problem(f, base, "notifying by %s needs contacts.%s", ch,
                         c == CH_SMS || c == CH_PHONE ? "phone" : ch);
        pe->nrules++;
    }
}

static void parse_contacts(diag_file *f, person *pe, const json_t *obj, const char *pointer) {
    static const char *const keys[] = {"slack", "phone", "email", "teams", NULL};
    char base[512], p[512];
    const json_t *c = json_object_get(obj, "contacts");
    diag_pointer_join(base, sizeof(base), pointer, "contacts");
    if (!c) {
        diag_problem(f, pointer, "\"contacts\" is required (slack, phone, email, teams)");
        return;
    }
    if (!entry_of(f, c, base, "\"contacts\"")) return;
    diag_unknown_keys(f, c, base, keys);
    text_of(f, c, base, "slack", false, &pe->slack);
    text_of(f, c, base, "phone", false, &pe->phone);
    text_of(f, c, base, "email", false, &pe->email);
    text_of(f, c, base, "teams", false, &pe->teams);
    if (pe->slack && !oncall_slack_ok(pe->slack)) {
        diag_pointer_join(p, sizeof(p), base, "slack");
        diag_problem(f, p, "slack \"%s\" must be a Slack user id such as U012ABC", pe->slack);
    }
    if (pe->phone && !oncall_phone_ok(pe->phone)) {
        diag_pointer_join(p, sizeof(p), base, "phone");
        diag_problem(f, p, "phone \"%s\" must be in E.164: + then 8 to 15 digits, such as "
                     "+4915112345678", pe->phone);
    }
    if (pe->email && !oncall_email_ok(pe->email)) {
        diag_pointer_join(p, sizeof(p), base, "email");
        diag_problem(f, p, "email \"%s\" is not an address", pe->email);
    }
    if (pe->teams && !oncall_email_ok(pe->teams)) {
        diag_pointer_join(p, sizeof(p), base, "teams");
        diag_problem(f, p, "teams \"%s\" must be the person's Teams address (user@domain)",
                     pe->teams);
    }
    if (!pe->slack && !pe->phone && !pe->email && !pe->teams)
        diag_problem(f, base, "a person needs at least one contact");
}

static void parse_person(diag_file *f, loading *ld, void *item, const json_t *obj,
                         const char *pointer) {
    person *pe = item;
    (void)ld;
    static const char *const keys[] = {"id", "name", "timezone", "contacts", "notify", NULL};
    char p[512];
    diag_unknown_keys(f, obj, pointer, keys);
    id_of(f, obj, pointer, &pe->id);
    diag_pointer_join(p, sizeof(p), pointer, "id");
    pe->where = where_of(f, p);
    text_of(f, obj, pointer, "name", true, &pe->name);
    zone_of(f, obj, pointer, &pe->timezone);
    parse_contacts(f, pe, obj, pointer);
    parse_rules(f, pe, obj, pointer);
}

static void person_clear(person *pe) {
    free(pe->id);
    free(pe->name);
    free(pe->timezone);
    free(pe->slack);
    free(pe->phone);
    free(pe->email);
    free(pe->teams);
    free(pe->rules);
    free(pe->where);
}

/* ---- schedules ---- */

/* "HH:MM" (24:00 allowed when `end`) into minutes, or -1. */
static int clock_minutes(const char *s, bool end) {
    int h, m;
    char tail;
    if (!s || strlen(s) != 5 || sscanf(s, "%2d:%2d%c", &h, &m, &tail) != 2 || s[2] != ':' ||
        !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[4]))
        return -1;
    if (m < 0 || m > 59 || h < 0 || h > 24 || (h == 24 && (m || !end))) return -1;
    return h * 60 + m;
}

/* "daily", "weekly", "N hours", "N days", "N weeks" into civil seconds, or -1. */
static int64_t turn_seconds(const char *s) {
    long n;
    char unit[16], tail;
    if (!s) return -1;
    if (strcmp(s, "daily") == 0) return 86400;
    if (strcmp(s, "weekly") == 0) return 7 * 86400;
    if (sscanf(s, "%ld %15s%c", &n, unit, &tail) != 2 || n < 1 || n > 8784) return -1;
    if (!strcmp(unit, "hours") || (!strcmp(unit, "hour") && n == 1)) return n * 3600;
    if ((!strcmp(unit, "days") || (!strcmp(unit, "day") && n == 1)) && n <= 366) return n * 86400;
    if ((!strcmp(unit, "weeks") || (!strcmp(unit, "week") && n == 1)) && n <= 52)
        return n * 7 * 86400;
    return -1;
}

/* "YYYY-MM-DD" into civil seconds of its midnight, or -1. */
static int64_t date_civil(const char *s) {
    int y, mo, d;
    char tail;
    struct tm tm = {0};
    if (!s || strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &mo, &d, &tail) != 3 ||
        s[4] != '-' || s[7] != '-' || y < 1970 || y > 2200 || mo < 1 || mo > 12 || d < 1 || d > 31)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    time_t t = timegm(&tm);
    struct tm back;
    gmtime_r(&t, &back);
    if (back.tm_mday != d) return -1; /* 2026-02-30 */
    return (int64_t)t;
}

static int day_bits(diag_file *f, const json_t *v, const char *p, unsigned *bits) {
    static const char *const names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
    const json_t *e;
    size_t i;
    *bits = 0;
    if (!v) {
        *bits = 0x7f;
        return 0;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (!strcmp(s, "weekdays")) *bits = 0x3e;
        else if (!strcmp(s, "weekends")) *bits = 0x41;
        else if (!strcmp(s, "daily")) *bits = 0x7f;
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, e) {
            int d;
            for (d = 0; d < 7 && !(json_is_string(e) && !strcmp(json_string_value(e), names[d])); d++) {}
            if (d == 7) {
                char ep[600];
                entry_pointer(ep, sizeof(ep), p, "", i);
                diag_problem(f, ep, "unknown day %s%s%s: expected mon, tue, wed, thu, fri, sat "
                             "or sun", json_is_string(e) ? "\"" : "",
                             json_is_string(e) ? json_string_value(e) : diag_type_of(e),
                             json_is_string(e) ? "\"" : "");
                return -1;
            }
            *bits |= 1u << d;
        }
    }
    if (*bits) return 0;
    diag_problem(f, p, "\"days\" must be weekdays, weekends, daily, or a list of mon, tue, wed, "
                 "thu, fri, sat, sun");
    return -1;
}

static void parse_restrictions(diag_file *f, rotation *ro, const json_t *obj, const char *pointer) {
    static const char *const keys[] = {"days", "from", "to", NULL};
    const json_t *list = json_object_get(obj, "restrictions"), *r;
    char base[512], p[512];
    size_t i;
    if (!list || !(list = list_of(f, obj, pointer, "restrictions", 28))) return;
    if (!(ro->limits = calloc(json_array_size(list), sizeof(*ro->limits)))) return;
    json_array_foreach(list, i, r) {
        restriction *re = &ro->limits[ro->nlimits];
        entry_pointer(base, sizeof(base), pointer, "restrictions", i);
        if (!entry_of(f, r, base, "a restriction")) continue;
        diag_unknown_keys(f, r, base, keys);
        diag_pointer_join(p, sizeof(p), base, "days");
        if (day_bits(f, json_object_get(r, "days"), p, &re->days) < 0) continue;
        const char *from = json_string_value(json_object_get(r, "from"));
        const char *to = json_string_value(json_object_get(r, "to"));
        re->from = clock_minutes(from, false);
        re->to = clock_minutes(to, true);
        if (re->from < 0 || re->to < 0) {
            diag_pointer_join(p, sizeof(p), base, re->from < 0 ? "from" : "to");
            diag_problem(f, json_object_get(r, re->from < 0 ? "from" : "to") ? p : base,
                         "\"from\" and \"to\" must be times of day such as \"09:00\" and \"17:00\"");
            continue;
        }
        if (re->from == re->to || (re->from == 0 && re->to == 1440)) {
            diag_problem(f, base, "\"from\" and \"to\" must differ and leave part of the day out "
                         "(leave restrictions out for all the time)");
            continue;
        }
        if (re->to == 1440) re->to = 0; /* 24:00 is the next midnight: wraps */
        ro->nlimits++;
    }
}

static void parse_rotation(diag_file *f, loading *ld, rotation *ro, const json_t *obj,
                           const char *pointer) {
    static const char *const keys[] = {"participants", "turn", "handoff", "start",
                                       "restrictions", NULL};
    const json_t *who, *e;
    char p[512];
    size_t i;
    diag_unknown_keys(f, obj, pointer, keys);
    if ((who = list_of(f, obj, pointer, "participants", ONCALL_MAX_ITEMS)) &&
        (ro->who = calloc(json_array_size(who), sizeof(*ro->who)))) {
        json_array_foreach(who, i, e) {
            entry_pointer(p, sizeof(p), pointer, "participants", i);
            if (!json_is_string(e)) {
                diag_problem(f, p, "a participant must be a person id, got %s", diag_type_of(e));
                continue;
            }
            ro->who[ro->nwho++] = strdup(json_string_value(e));
            add_ref(f, ld, TARGET_PERSON, json_string_value(e), p);
        }
    }
    const json_t *turn = json_object_get(obj, "turn");
    diag_pointer_join(p, sizeof(p), pointer, "turn");
    if (!turn)
        diag_problem(f, pointer, "\"turn\" is required: daily, weekly, or \"N hours\"");
    else if ((ro->turn = turn_seconds(json_string_value(turn))) < 0)
        diag_problem(f, p, "\"turn\" must be daily, weekly, \"N hours\", \"N days\" or \"N weeks\"");
    const json_t *h = json_object_get(obj, "handoff");
    int minutes = 0; /* midnight unless said */
    diag_pointer_join(p, sizeof(p), pointer, "handoff");
    if (h && (minutes = clock_minutes(json_string_value(h), false)) < 0)
        diag_problem(f, p, "\"handoff\" must be a time of day such as \"09:00\"");
    const json_t *start = json_object_get(obj, "start");
    int64_t day = date_civil(json_string_value(start));
    diag_pointer_join(p, sizeof(p), pointer, "start");
    if (!start)
        diag_problem(f, pointer, "\"start\" is required: the date of the first turn, such as 2026-01-05");
    else if (day < 0)
        diag_problem(f, p, "\"start\" must be a date such as 2026-01-05");
    ro->start = day + (minutes > 0 ? minutes : 0) * 60;
    parse_restrictions(f, ro, obj, pointer);
}

static void parse_schedule(diag_file *f, loading *ld, void *item, const json_t *obj,
                           const char *pointer) {
    schedule *s = item;
    static const char *const keys[] = {"id", "name", "timezone", "layers", NULL};
    static const char *const layer_keys[] = {"name", "rotations", NULL};
    char p[512], lp[512];
    const json_t *layers, *l, *r;
    size_t i, j;
    diag_unknown_keys(f, obj, pointer, keys);
    id_of(f, obj, pointer, &s->id);
    diag_pointer_join(p, sizeof(p), pointer, "id");
    s->where = where_of(f, p);
    text_of(f, obj, pointer, "name", false, &s->name);
    zone_of(f, obj, pointer, &s->timezone);
    if (!(layers = list_of(f, obj, pointer, "layers", 32))) return;
    if (!(s->layers = calloc(json_array_size(layers), sizeof(*s->layers)))) return;
    json_array_foreach(layers, i, l) {
        entry_pointer(lp, sizeof(lp), pointer, "layers", i);
        if (!entry_of(f, l, lp, "a layer")) continue;
        layer *ly = &s->layers[s->nlayers++];
        diag_unknown_keys(f, l, lp, layer_keys);
        text_of(f, l, lp, "name", false, &ly->name);
        const json_t *rots = list_of(f, l, lp, "rotations", 32);
        if (!rots || !(ly->rotations = calloc(json_array_size(rots), sizeof(*ly->rotations))))
            continue;
        json_array_foreach(rots, j, r) {
            entry_pointer(p, sizeof(p), lp, "rotations", j);
            if (!entry_of(f, r, p, "a rotation")) continue;
            parse_rotation(f, ld, &ly->rotations[ly->nrotations++], r, p);
        }
    }
}

static void schedule_clear(schedule *s) {
    for (size_t i = 0; i < s->nlayers; i++) {
        layer *ly = &s->layers[i];
        for (size_t j = 0; j < ly->nrotations; j++) {
            rotation *ro = &ly->rotations[j];
            for (size_t k = 0; k < ro->nwho; k++) free(ro->who[k]);
            free(ro->who);
            free(ro->limits);
        }
        free(ly->rotations);
        free(ly->name);
    }
    free(s->layers);
    free(s->id);
    free(s->name);
    free(s->timezone);
    free(s->where);
}

/* ---- policies ---- */

static bool channel_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 80) return false;
    for (; *s; s++)
        if (isspace((unsigned char)*s) || iscntrl((unsigned char)*s)) return false;
    return true;
}

static void parse_target(diag_file *f, loading *ld, target *t, const json_t *obj, const char *p) {
    static const char *const kinds[] = {"person", "schedule", "channel"};
    int found = 0;
    for (int k = 0; k < 3; k++) {
        const json_t *v = json_object_get(obj, kinds[k]);
        if (!v) continue;
        found++;
        t->kind = (target_kind)k;
        char vp[512];
        diag_pointer_join(vp, sizeof(vp), p, kinds[k]);
        if (!json_is_string(v)) {
            diag_problem(f, vp, "\"%s\" must be a string, got %s", kinds[k], diag_type_of(v));
            continue;
        }
        free(t->ref);
        t->ref = strdup(json_string_value(v));
        if (k == TARGET_CHANNEL && !channel_ok(t->ref))
            diag_problem(f, vp, "channel \"%s\" must be a chat channel such as #db-oncall", t->ref);
        else if (k != TARGET_CHANNEL)
            add_ref(f, ld, (target_kind)k, t->ref, vp);
    }
    if (found != 1 || json_object_size(obj) != 1)
        diag_problem(f, p, "a target is one of {person: ID}, {schedule: ID} or {channel: NAME}");
}

static void parse_policy(diag_file *f, loading *ld, void *item, const json_t *obj,
                         const char *pointer) {
    policy *po = item;
    static const char *const keys[] = {"id", "name", "levels", "repeat", NULL};
    static const char *const level_keys[] = {"targets", "delay", NULL};
    char p[512], lp[512];
    const json_t *levels, *l, *t;
    size_t i, j;
    diag_unknown_keys(f, obj, pointer, keys);
    id_of(f, obj, pointer, &po->id);
    diag_pointer_join(p, sizeof(p), pointer, "id");
    po->where = where_of(f, p);
    text_of(f, obj, pointer, "name", false, &po->name);
    const json_t *rep = json_object_get(obj, "repeat");
    if (rep && (!json_is_integer(rep) || json_integer_value(rep) < 0 ||
                json_integer_value(rep) > ONCALL_MAX_REPEAT)) {
        diag_pointer_join(p, sizeof(p), pointer, "repeat");
        diag_problem(f, p, "\"repeat\" must be a number from 0 to %d", ONCALL_MAX_REPEAT);
    } else if (rep) {
        po->repeat = (int)json_integer_value(rep);
    }
    if (!(levels = list_of(f, obj, pointer, "levels", ONCALL_MAX_LEVELS))) return;
    if (!(po->levels = calloc(json_array_size(levels), sizeof(*po->levels)))) return;
    json_array_foreach(levels, i, l) {
        entry_pointer(lp, sizeof(lp), pointer, "levels", i);
        if (!entry_of(f, l, lp, "a level")) continue;
        level *lv = &po->levels[po->nlevels++];
        diag_unknown_keys(f, l, lp, level_keys);
        if (duration_at(f, l, lp, "delay", &lv->delay_ms) == 0 && lv->delay_ms == 0) {
            diag_pointer_join(p, sizeof(p), lp, "delay");
            diag_problem(f, p, "\"delay\" must be longer than 0: the time to acknowledge");
        }
        const json_t *targets = list_of(f, l, lp, "targets", 64);
        if (!targets || !(lv->targets = calloc(json_array_size(targets), sizeof(*lv->targets))))
            continue;
        json_array_foreach(targets, j, t) {
            entry_pointer(p, sizeof(p), lp, "targets", j);
            if (!entry_of(f, t, p, "a target")) continue;
            parse_target(f, ld, &lv->targets[lv->ntargets++], t, p);
        }
    }
}

static void policy_clear(policy *po) {
    for (size_t i = 0; i < po->nlevels; i++) {
        for (size_t j = 0; j < po->levels[i].ntargets; j++) free(po->levels[i].targets[j].ref);
        free(po->levels[i].targets);
    }
    free(po->levels);
    free(po->id);
    free(po->name);
    free(po->where);
}

/* ---- files ---- */

/* Grows *items (of `size` bytes each) by one zeroed element; NULL when out
 * of memory. */
static void *grow(void **items, size_t *n, size_t size) {
    char *p = realloc(*items, (*n + 1) * size);
    if (!p) return NULL;
    *items = p;
    memset(p + *n * size, 0, size);
    return p + (*n)++ * size;
}

/* The three lists a file may hold, as one table: where each lives in the
 * set, and where an entry keeps its id and place. */
typedef struct kind {
    const char *key;  /* "people" */
    const char *noun; /* "person" */
    size_t size;
    size_t items, count;  /* offsets in oncall_set */
    size_t id, where;     /* offsets in the entry */
    void (*parse)(diag_file *f, loading *ld, void *item, const json_t *obj, const char *pointer);
} kind;

#define KIND(key, noun, type, items, count, parse)                                                 \
    {key, noun, sizeof(type), offsetof(oncall_set, items), offsetof(oncall_set, count),          \
     offsetof(type, id), offsetof(type, where), parse}

static const kind kinds[] = {
    KIND("people", "person", person, people, npeople, parse_person),
    KIND("schedules", "schedule", schedule, schedules, nschedules, parse_schedule),
    KIND("policies", "policy", policy, policies, npolicies, parse_policy),
};

#define FIELD(base, off, type) (*(type *)((char *)(base) + (off)))

/* The first entry of kind k with this id, or NULL. */
static void *find(const oncall_set *set, const kind *k, const char *id) {
    char *items = FIELD(set, k->items, char *);
    size_t n = FIELD(set, k->count, size_t);
    for (size_t i = 0; i < n; i++) {
        const char *other = FIELD(items + i * k->size, k->id, char *);
        if (other && strcmp(other, id) == 0) return items + i * k->size;
    }
    return NULL;
}

static void load_list(diag_file *f, loading *ld, const json_t *doc, const kind *k) {
    const json_t *list, *e;
    char p[64], what[32], msg[2600];
    size_t i;
    if (!json_object_get(doc, k->key) || !(list = list_of(f, doc, "", k->key, ONCALL_MAX_ITEMS)))
        return;
    snprintf(what, sizeof(what), "a %s", k->noun);
    json_array_foreach(list, i, e) {
        void *item;
        snprintf(p, sizeof(p), "/%s/%zu", k->key, i);
        if (!entry_of(f, e, p, what) ||
            !(item = grow(&FIELD(ld->set, k->items, void *), &FIELD(ld->set, k->count, size_t),
                          k->size)))
            continue;
        k->parse(f, ld, item, e, p);
        const char *id = FIELD(item, k->id, char *);
        void *first = id ? find(ld->set, k, id) : NULL;
        if (!first || first == item) continue;
        snprintf(msg, sizeof(msg), "%s: %s \"%s\" is also defined at %s",
                 FIELD(item, k->where, char *), k->noun, id, FIELD(first, k->where, char *));
        diag_add(f->diag, msg);
    }
}

static void load_doc(diag_file *f, loading *ld, const json_t *doc) {
    static const char *const keys[] = {"people", "schedules", "policies", NULL};
    if (!json_is_object(doc)) {
        diag_problem(f, "", "an on-call file must be a map of people:, schedules: and policies:");
        return;
    }
    diag_unknown_keys(f, doc, "", keys);
    if (!json_object_get(doc, "people") && !json_object_get(doc, "schedules") &&
        !json_object_get(doc, "policies"))
        diag_problem(f, "", "an on-call file needs people:, schedules: or policies:");
    for (size_t k = 0; k < sizeof(kinds) / sizeof(*kinds); k++) load_list(f, ld, doc, &kinds[k]);
}

static void load_file(loading *ld, const char *path, wf_diag *d) {
    char err[1024];
    size_t len;
    json_t *positions = NULL, *doc = NULL;
    diag_file f = {path, NULL, d, d->n};
    char *buf = file_read(path, ONCALL_MAX_FILE, &len, err, sizeof(err));
    if (!buf) {
        diag_add(d, err);
        return;
    }
    if ((doc = yaml_parse(path, buf, len, &positions, err, sizeof(err)))) {
        f.positions = positions;
        load_doc(&f, ld, doc);
    } else {
        diag_add(d, err);
    }
    free(buf);
    json_decref(doc);
    json_decref(positions);
}

static void check_refs(loading *ld, wf_diag *d) {
    char msg[1400];
    for (size_t i = 0; i < ld->nrefs; i++) {
        const ref *r = &ld->refs[i];
        if (!r->id || !r->where) continue;
        if (r->kind == TARGET_PERSON && !oncall_person(ld->set, r->id))
            snprintf(msg, sizeof(msg), "%s: there is no person \"%s\"", r->where, r->id);
        else if (r->kind == TARGET_SCHEDULE && !oncall_schedule(ld->set, r->id))
            snprintf(msg, sizeof(msg), "%s: there is no schedule \"%s\"", r->where, r->id);
        else
            continue;
        diag_add(d, msg);
    }
}

oncall_set *oncall_load(const char *dir_or_file, wf_diag *d) {
    struct stat st;
    struct dirent **names = NULL;
    size_t before = d->n;
    char msg[1200];
    loading ld = {calloc(1, sizeof(oncall_set)), NULL, 0};
    if (!ld.set) return NULL;
    if (stat(dir_or_file, &st) < 0) {
        snprintf(msg, sizeof(msg), "%s: no such file or directory", dir_or_file);
        diag_add(d, msg);
    } else if (!S_ISDIR(st.st_mode)) {
        load_file(&ld, dir_or_file, d);
    } else {
        int n = scandir(dir_or_file, &names, NULL, alphasort);
        if (n < 0) {
            snprintf(msg, sizeof(msg), "%s: cannot read directory", dir_or_file);
            diag_add(d, msg);
        }
        for (int i = 0; i < n; i++) {
            if (yaml_file_name(names[i]->d_name)) {
                char path[4096];
                snprintf(path, sizeof(path), "%s/%s", dir_or_file, names[i]->d_name);
                load_file(&ld, path, d);
            }
            free(names[i]);
        }
        free(names);
    }
    if (d->n == before) check_refs(&ld, d);
    for (size_t i = 0; i < ld.nrefs; i++) {
        free(ld.refs[i].id);
        free(ld.refs[i].where);
    }
    free(ld.refs);
    if (d->n == before) return ld.set;
    oncall_set_free(ld.set);
    return NULL;
}

void oncall_set_free(oncall_set *set) {
    if (!set) return;
    for (size_t i = 0; i < set->npeople; i++) person_clear(&set->people[i]);
    for (size_t i = 0; i < set->nschedules; i++) schedule_clear(&set->schedules[i]);
    for (size_t i = 0; i < set->npolicies; i++) policy_clear(&set->policies[i]);
    free(set->people);
    free(set->schedules);
    free(set->policies);
    free(set);
}

const person *oncall_person(const oncall_set *set, const char *id) {
    return find(set, &kinds[0], id);
}

const schedule *oncall_schedule(const oncall_set *set, const char *id) {
    return find(set, &kinds[1], id);
}

const policy *oncall_policy(const oncall_set *set, const char *id) {
    return find(set, &kinds[2], id);
}
