/* page.c - the page action: one level of an escalation, resolved into timers */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/action_spec.h"
#include "common/util.h"
#include "common/log.h"
#include "state/oncall_store.h"
#include "worker/worker.h"

#define PAGE_DEFAULT_DELAY_MS (5 * 60 * 1000)

/* The set of the version in Redis; the worker's loop is its one thread. */
static oncall_cache cache;

/* How a notification rule's channel is sent: with which action, and which
 * of its parameters take the contact and the message. */
typedef struct channel_map {
    const char *channel;
    const char *action;
    const char *contact_param; /* NULL: the channel's settings say where */
    const char *message_param;
} channel_map;

static const channel_map channel_maps[] = {
    {"slack", "slack", "channel", "text"},  {"sms", "twilio", "to", "body"},
    {"phone", "twilio_call", "to", "message"}, {"email", "email", "to", "body"},
    {"teams", "teams", NULL, "text"},
};

static const channel_map *channel_map_of(const char *channel) {
    for (size_t i = 0; i < sizeof(channel_maps) / sizeof(*channel_maps); i++)
        if (strcmp(channel_maps[i].channel, channel) == 0) return &channel_maps[i];
    return NULL;
}

static const char *contact_of(const person *p, oncall_channel c) {
    switch (c) {
    case CH_SLACK: return p->slack;
    case CH_SMS:
    case CH_PHONE: return p->phone;
    case CH_EMAIL: return p->email;
    default: return p->teams;
    }
}

/* One level being resolved. */
typedef struct level_plan {
    worker *w;
    task *t;
    int pass, replays;
    json_t *notes, *targets, *seen;
} level_plan;

/* Adds the notification `who` (a person, or a chat channel) gets on
 * `channel` after_ms into the level. */
static void add_note(level_plan *lp, const char *who, bool is_person, const char *channel,
                     const char *contact, int64_t after_ms, int lvl) {
    const json_t *with = json_object_get(lp->t->run.def, "with");
    const channel_map *cm = channel_map_of(channel);
    const json_t *settings = json_object_get(json_object_get(with, "channels"), channel);
    log_ctx lc = {lp->t->li.incident, lp->t->li.msgid, lp->t->li.step};
    if (!cm || !action_spec_find(cm->action) || !json_is_object(settings)) {
        mlog(LOG_WARN, &lc, "page: %s not reached on %s: %s", who, channel,
             !cm || !action_spec_find(cm->action) ? "no action sends it"
                                                    : "the step has no channels settings for it");
        return;
    }
    char id[400], replay[24] = "";
    if (lp->replays > 0) snprintf(replay, sizeof(replay), "r%d-", lp->replays);
    snprintf(id, sizeof(id), "%s#%s%d.%s.%s", lp->t->li.step, replay, lp->pass, who, channel);
    if (strlen(id) >= sizeof(lp->t->li.step)) {
        mlog(LOG_WARN, &lc, "page: %s not reached on %s: task id %s too long", who, channel, id);
        return;
    }
    json_t *nw = json_deep_copy(settings);
    const char *message = json_string_value(json_object_get(with, "message"));
    if (cm->contact_param && contact) {
        json_object_set_new(nw, cm->contact_param,
                            strcmp(channel, "email") == 0 ? json_pack("[s]", contact)
                                                          : json_string(contact));
    }
    json_object_set_new(nw, cm->message_param, json_string(message ? message : ""));
    /* The responder acknowledges from the page itself: Slack buttons, and a
     * signed link for a person's email or Teams message when links can be
     * signed (ack.link_secret). */
    if (strcmp(channel, "slack") == 0 && !json_object_get(nw, "buttons"))
        json_object_set_new(nw, "buttons", json_true());
    const char *link_secret = lp->w->cfg ? lp->w->cfg->ack_link_secret : NULL;
    if (is_person && link_secret && *link_secret && !json_object_get(nw, "ack_link") &&
        (strcmp(channel, "email") == 0 || strcmp(channel, "teams") == 0))
        json_object_set_new(nw, "ack_link", json_string(who));
    if (strcmp(channel, "email") == 0 && !json_object_get(nw, "subject"))
        json_object_set_new(nw, "subject", json_string(message ? message : ""));
    json_t *def = json_pack("{s:s, s:s, s:s?, s:i, s:o}", "id", id, "action", cm->action, "pool",
                            json_string_value(json_object_get(lp->t->run.def, "pool")), "level",
                            lvl, "with", nw);
    /* the workflow's allow_private_network holds for its pages too */
    if (json_is_true(json_object_get(lp->t->run.def, "allow_private")))
        json_object_set_new(def, "allow_private", json_true());
    json_t *timeout = json_object_get(lp->t->run.def, "timeout_ms");
    if (json_is_integer(timeout) && json_integer_value(timeout) > 0)
        json_object_set(def, "timeout_ms", timeout);
    char *text = json_dumps(def, JSON_COMPACT);
    json_decref(def);
    if (!text) return;
    json_array_append_new(lp->notes, json_pack("{s:s, s:s, s:I, s:s, s:s}", "person", who,
                                               "channel", channel, "after_ms",
                                               (json_int_t)after_ms, "task", id, "def", text));
    free(text);
}

/* Every notification rule of person p, once per level. */
static void add_person(level_plan *lp, const person *p, int lvl, const char *via) {
    json_array_append_new(lp->targets, json_pack("{s:s, s:s?}", "person", p->id, "via", via));
    if (json_object_get(lp->seen, p->id)) return;
    json_object_set_new(lp->seen, p->id, json_true());
    for (size_t i = 0; i < p->nrules; i++) {
        const char *ch = person_channel_name(p->rules[i].channel);
        add_note(lp, p->id, true, ch, contact_of(p, p->rules[i].channel), p->rules[i].after_ms, lvl);
    }
}

/* One target of the level: a person, whoever is on call on a schedule now,
 * or a chat channel. Returns 0, or -1 with err filled (Redis away). */
static int add_target(level_plan *lp, const oncall_set *set, target_kind kind, const char *ref,
                      int lvl, char *err, size_t errlen) {
    if (kind == TARGET_CHANNEL) {
        json_array_append_new(lp->targets, json_pack("{s:s}", "channel", ref));
        add_note(lp, ref, false, "slack", ref, 0, lvl);
        return 0;
    }
    const person *p = kind == TARGET_PERSON ? oncall_person(set, ref) : NULL;
    if (kind == TARGET_SCHEDULE) {
        const schedule *sc = oncall_schedule(set, ref);
        if (sc && oncall_now(lp->w->store, set, sc, time(NULL), &p, err, errlen) < 0) return -1;
    }
    if (p) add_person(lp, p, lvl, kind == TARGET_SCHEDULE ? ref : NULL);
    else json_array_append_new(lp->targets, json_pack("{s:s, s:b}", kind == TARGET_SCHEDULE ? "schedule" : "person", ref, "nobody", 1));
    return 0;
}

static int hash_int(const redisReply *r, size_t i) {
    return r && r->type == REDIS_REPLY_ARRAY && i < r->elements && r->element[i]->str
               ? atoi(r->element[i]->str)
               : 0;
}

static int start(worker *w, task *t) {
    char err[700];
    const json_t *with = json_object_get(t->run.def, "with");
    if (!w->store) return task_refuse(t, "page: needs Redis");
    const oncall_set *set = oncall_fetch(w->store, &cache, err, sizeof(err));
    if (!set) {
        task_finish(t, 0, NULL, err);
        return 1;
    }
    redisReply *r = store_command(w->store, "HMGET %s:{%s}:task:%s page_pass replays",
                                  store_prefix(w->store), t->li.incident, t->li.step);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        if (r) freeReplyObject(r);
        task_finish(t, 0, NULL, "page: cannot read the step's level");
        return 1;
    }
    level_plan lp = {w, t, hash_int(r, 0) + 1, hash_int(r, 1), json_array(), json_array(),
                     json_object()};
    freeReplyObject(r);

    const char *pid = json_string_value(json_object_get(with, "policy"));
    const policy *po = pid ? oncall_policy(set, pid) : NULL;
    const json_t *inline_targets = json_object_get(with, "targets");
    size_t nlevels = po ? po->nlevels : 1;
    int repeat = po ? po->repeat : 0;
    if (pid && !po) {
        json_decref(lp.notes), json_decref(lp.targets), json_decref(lp.seen);
        return task_refuse(t, "page: there is no policy \"%s\" in the on-call set", pid);
    }
    int total = (int)nlevels * (repeat + 1);
    if (lp.pass > total) lp.pass = total; /* a replay after the files shrank */
    size_t li = (size_t)(lp.pass - 1) % nlevels;
    int lvl = (int)li + 1, rc = 0;
    int64_t delay = PAGE_DEFAULT_DELAY_MS;
    if (po) {
        const struct level *lv = &po->levels[li];
        delay = lv->delay_ms;
        for (size_t i = 0; rc == 0 && i < lv->ntargets; i++)
            rc = add_target(&lp, set, lv->targets[i].kind, lv->targets[i].ref, lvl, err, sizeof(err));
    } else {
        size_t i;
        json_t *tg;
        const json_t *d = json_object_get(with, "delay");
        if (json_is_integer(d)) delay = json_integer_value(d);
        else if (json_is_string(d)) duration_parse(json_string_value(d), &delay);
        json_array_foreach(inline_targets, i, tg) {
            const char *p = json_string_value(json_object_get(tg, "person"));
            const char *s = json_string_value(json_object_get(tg, "schedule"));
            const char *c = json_string_value(json_object_get(tg, "channel"));
            if (rc == 0 && (p || s || c))
                rc = add_target(&lp, set, p ? TARGET_PERSON : s ? TARGET_SCHEDULE : TARGET_CHANNEL,
                                p ? p : s ? s : c, lvl, err, sizeof(err));
        }
    }
    if (rc < 0) {
        json_decref(lp.notes), json_decref(lp.targets), json_decref(lp.seen);
        task_finish(t, 0, NULL, err);
        return 1;
    }
    json_t *plan = json_pack("{s:i, s:i, s:i, s:b, s:I, s:o, s:o}", "pass", lp.pass, "level", lvl,
                             "round", (lp.pass - 1) / (int)nlevels + 1, "last", lp.pass >= total,
                             "delay_ms", (json_int_t)delay, "targets", lp.targets, "notes", lp.notes);
    json_decref(lp.seen);
    t->res.page_plan = plan ? json_dumps(plan, JSON_COMPACT) : NULL;
    json_decref(plan);
    if (!t->res.page_plan) return task_refuse(t, "page: out of memory");
    task_finish(t, 1, json_pack("{s:i, s:i}", "level", lvl, "pass", lp.pass), NULL);
    return 1;
}

json_t *page_oncall_context(worker *w) {
    char err[700];
    if (!w->store) return NULL;
    const oncall_set *set = oncall_fetch(w->store, &cache, err, sizeof(err));
    if (!set) return NULL;
    json_t *out = json_object();
    for (size_t i = 0; i < set->nschedules; i++) {
        const person *p = NULL;
        if (oncall_now(w->store, set, &set->schedules[i], time(NULL), &p, err, sizeof(err)) < 0) break;
        json_object_set_new(out, set->schedules[i].id,
                            p ? json_pack("{s:s, s:s?, s:s?, s:s?, s:s?}", "id", p->id, "name",
                                          p->name, "slack", p->slack, "phone", p->phone, "email",
                                          p->email)
                              : json_object());
    }
    return out;
}

const action_impl action_page = {
    .name = "page",
    .start = start,
};
