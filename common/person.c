/* person.c - people who can be paged: contacts, time zone, notification rules */
#include "common/person.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const channel_names[] = {"slack", "sms", "phone", "email", "teams"};

const char *person_channel_name(oncall_channel c) { return channel_names[c]; }

bool person_phone_ok(const char *s) {
    size_t n = 0;
    if (*s++ != '+' || *s == '0') return false;
    for (; *s; s++, n++)
        if (!isdigit((unsigned char)*s)) return false;
    return n >= 8 && n <= 15;
}

bool person_slack_ok(const char *s) {
    size_t n = 0;
    if (*s != 'U' && *s != 'W') return false;
    for (s++; *s; s++, n++)
        if (!isupper((unsigned char)*s) && !isdigit((unsigned char)*s)) return false;
    return n >= 2 && n <= 20;
}

bool person_email_ok(const char *s) {
    const char *at = strchr(s, '@');
    if (!at || at == s || strchr(at + 1, '@') || strlen(s) > 254) return false;
    const char *dot = strrchr(at + 1, '.');
    if (!dot || dot == at + 1 || !dot[1]) return false;
    for (; *s; s++)
        if (isspace((unsigned char)*s) || iscntrl((unsigned char)*s)) return false;
    return true;
}
static void parse_rules(diag_file *f, person *pe, const json_t *obj, const char *pointer) {
    static const char *const keys[] = {"channel", "after", NULL};
    const json_t *rules = json_object_get(obj, "notify"), *r;
    char p[512], base[512];
    size_t i;
    if (!rules) return;
    if (!(rules = fields_list(f, obj, pointer, "notify", 32))) return;
    if (!(pe->rules = calloc(json_array_size(rules), sizeof(*pe->rules)))) return;
    json_array_foreach(rules, i, r) {
        fields_entry_pointer(base, sizeof(base), pointer, "notify", i);
        if (!fields_map(f, r, base, "a notification rule")) continue;
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
        if (fields_duration(f, r, base, "after", &nr->after_ms) < 0) continue;
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
    if (!fields_map(f, c, base, "\"contacts\"")) return;
    diag_unknown_keys(f, c, base, keys);
    fields_text(f, c, base, "slack", false, &pe->slack);
    fields_text(f, c, base, "phone", false, &pe->phone);
    fields_text(f, c, base, "email", false, &pe->email);
    fields_text(f, c, base, "teams", false, &pe->teams);
    if (pe->slack && !person_slack_ok(pe->slack)) {
        diag_pointer_join(p, sizeof(p), base, "slack");
        diag_problem(f, p, "slack \"%s\" must be a Slack user id such as U012ABC", pe->slack);
    }
    if (pe->phone && !person_phone_ok(pe->phone)) {
        diag_pointer_join(p, sizeof(p), base, "phone");
        diag_problem(f, p, "phone \"%s\" must be in E.164: + then 8 to 15 digits, such as "
                     "+4915112345678", pe->phone);
    }
    if (pe->email && !person_email_ok(pe->email)) {
        diag_pointer_join(p, sizeof(p), base, "email");
        diag_problem(f, p, "email \"%s\" is not an address", pe->email);
    }
    if (pe->teams && !person_email_ok(pe->teams)) {
        diag_pointer_join(p, sizeof(p), base, "teams");
        diag_problem(f, p, "teams \"%s\" must be the person's Teams address (user@domain)",
                     pe->teams);
    }
    if (!pe->slack && !pe->phone && !pe->email && !pe->teams)
        diag_problem(f, base, "a person needs at least one contact");
}

void person_parse(diag_file *f, person *pe, const json_t *obj, const char *pointer) {
    static const char *const keys[] = {"id", "name", "timezone", "contacts", "notify", NULL};
    diag_unknown_keys(f, obj, pointer, keys);
    fields_id(f, obj, pointer, &pe->id, &pe->where);
    fields_text(f, obj, pointer, "name", true, &pe->name);
    fields_zone(f, obj, pointer, &pe->timezone);
    parse_contacts(f, pe, obj, pointer);
    parse_rules(f, pe, obj, pointer);
}

void person_clear(person *pe) {
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

