/* policy.c - escalation policies: levels of targets, each with its delay */
#include "common/policy.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool channel_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 80) return false;
    for (; *s; s++)
        if (isspace((unsigned char)*s) || iscntrl((unsigned char)*s)) return false;
    return true;
}

static void parse_target(diag_file *f, oncall_refs *refs, target *t, const json_t *obj, const char *p) {
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
            fields_ref(f, refs, k == TARGET_PERSON ? REF_PERSON : REF_SCHEDULE, t->ref, vp);
    }
    if (found != 1 || json_object_size(obj) != 1)
        diag_problem(f, p, "a target is one of {person: ID}, {schedule: ID} or {channel: NAME}");
}

void policy_parse(diag_file *f, oncall_refs *refs, policy *po, const json_t *obj,
                  const char *pointer) {
    static const char *const keys[] = {"id", "name", "levels", "repeat", NULL};
    static const char *const level_keys[] = {"targets", "delay", NULL};
    char p[512], lp[512];
    const json_t *levels, *l, *t;
    size_t i, j;
    diag_unknown_keys(f, obj, pointer, keys);
    fields_id(f, obj, pointer, &po->id, &po->where);
    fields_text(f, obj, pointer, "name", false, &po->name);
    const json_t *rep = json_object_get(obj, "repeat");
    if (rep && (!json_is_integer(rep) || json_integer_value(rep) < 0 ||
                json_integer_value(rep) > ONCALL_MAX_REPEAT)) {
        diag_pointer_join(p, sizeof(p), pointer, "repeat");
        diag_problem(f, p, "\"repeat\" must be a number from 0 to %d", ONCALL_MAX_REPEAT);
    } else if (rep) {
        po->repeat = (int)json_integer_value(rep);
    }
    if (!(levels = fields_list(f, obj, pointer, "levels", ONCALL_MAX_LEVELS))) return;
    if (!(po->levels = calloc(json_array_size(levels), sizeof(*po->levels)))) return;
    json_array_foreach(levels, i, l) {
        fields_entry_pointer(lp, sizeof(lp), pointer, "levels", i);
        if (!fields_map(f, l, lp, "a level")) continue;
        level *lv = &po->levels[po->nlevels++];
        diag_unknown_keys(f, l, lp, level_keys);
        if (fields_duration(f, l, lp, "delay", &lv->delay_ms) == 0 && lv->delay_ms == 0) {
            diag_pointer_join(p, sizeof(p), lp, "delay");
            diag_problem(f, p, "\"delay\" must be longer than 0: the time to acknowledge");
        }
        const json_t *targets = fields_list(f, l, lp, "targets", 64);
        if (!targets || !(lv->targets = calloc(json_array_size(targets), sizeof(*lv->targets))))
            continue;
        json_array_foreach(targets, j, t) {
            fields_entry_pointer(p, sizeof(p), lp, "targets", j);
            if (!fields_map(f, t, p, "a target")) continue;
            parse_target(f, refs, &lv->targets[lv->ntargets++], t, p);
        }
    }
}

void policy_clear(policy *po) {
    for (size_t i = 0; i < po->nlevels; i++) {
        for (size_t j = 0; j < po->levels[i].ntargets; j++) free(po->levels[i].targets[j].ref);
        free(po->levels[i].targets);
    }
    free(po->levels);
    free(po->id);
    free(po->name);
    free(po->where);
}

