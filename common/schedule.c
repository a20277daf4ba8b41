/* schedule.c - on-call schedules: layers of rotations on an IANA clock */
#include "common/schedule.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
                fields_entry_pointer(ep, sizeof(ep), p, "", i);
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
    if (!list || !(list = fields_list(f, obj, pointer, "restrictions", 28))) return;
    if (!(ro->limits = calloc(json_array_size(list), sizeof(*ro->limits)))) return;
    json_array_foreach(list, i, r) {
        restriction *re = &ro->limits[ro->nlimits];
        fields_entry_pointer(base, sizeof(base), pointer, "restrictions", i);
        if (!fields_map(f, r, base, "a restriction")) continue;
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

static void parse_rotation(diag_file *f, oncall_refs *refs, rotation *ro, const json_t *obj,
                           const char *pointer) {
    static const char *const keys[] = {"participants", "turn", "handoff", "start",
                                       "restrictions", NULL};
    const json_t *who, *e;
    char p[512];
    size_t i;
    diag_unknown_keys(f, obj, pointer, keys);
    if ((who = fields_list(f, obj, pointer, "participants", ONCALL_MAX_ITEMS)) &&
        (ro->who = calloc(json_array_size(who), sizeof(*ro->who)))) {
        json_array_foreach(who, i, e) {
            fields_entry_pointer(p, sizeof(p), pointer, "participants", i);
            if (!json_is_string(e)) {
                diag_problem(f, p, "a participant must be a person id, got %s", diag_type_of(e));
                continue;
            }
            ro->who[ro->nwho++] = strdup(json_string_value(e));
            fields_ref(f, refs, REF_PERSON, json_string_value(e), p);
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

void schedule_parse(diag_file *f, oncall_refs *refs, schedule *s, const json_t *obj,
                    const char *pointer) {
    static const char *const keys[] = {"id", "name", "timezone", "layers", NULL};
    static const char *const layer_keys[] = {"name", "rotations", NULL};
    char p[512], lp[512];
    const json_t *layers, *l, *r;
    size_t i, j;
    diag_unknown_keys(f, obj, pointer, keys);
    fields_id(f, obj, pointer, &s->id, &s->where);
    fields_text(f, obj, pointer, "name", false, &s->name);
    fields_zone(f, obj, pointer, &s->timezone);
    if (!(layers = fields_list(f, obj, pointer, "layers", 32))) return;
    if (!(s->layers = calloc(json_array_size(layers), sizeof(*s->layers)))) return;
    json_array_foreach(layers, i, l) {
        fields_entry_pointer(lp, sizeof(lp), pointer, "layers", i);
        if (!fields_map(f, l, lp, "a layer")) continue;
        layer *ly = &s->layers[s->nlayers++];
        diag_unknown_keys(f, l, lp, layer_keys);
        fields_text(f, l, lp, "name", false, &ly->name);
        const json_t *rots = fields_list(f, l, lp, "rotations", 32);
        if (!rots || !(ly->rotations = calloc(json_array_size(rots), sizeof(*ly->rotations))))
            continue;
        json_array_foreach(rots, j, r) {
            fields_entry_pointer(p, sizeof(p), lp, "rotations", j);
            if (!fields_map(f, r, p, "a rotation")) continue;
            parse_rotation(f, refs, &ly->rotations[ly->nrotations++], r, p);
        }
    }
}

void schedule_clear(schedule *s) {
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

