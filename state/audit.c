/* audit.c - the record of what operators did: operator.action events and P:audit */
#include "state/audit.h"

#include <stdio.h>
#include <string.h>

#include "state/queue.h"

extern const char store_lua_operator[];

int audit_record(store *s, const audit_entry *e, int64_t kept, int *missing, char *event_id,
                 size_t idlen, char *err, size_t errlen) {
    char ms[24], rfc[40], evbase[48], kept_s[24];
    const char *note = e->note ? e->note : "";

    if (missing) *missing = 0;
    int on_incident = e->incident && *e->incident, on_schedule = e->schedule && *e->schedule;
    if (on_incident == on_schedule || !e->action || !*e->action || !e->by || !*e->by) {
        snprintf(err, errlen, "audit: an action needs what, who, and an incident or a schedule");
        return -1;
    }
    if (strlen(note) > AUDIT_NOTE_MAX) {
        snprintf(err, errlen, "audit: note of %zu bytes is longer than %d", strlen(note),
                 AUDIT_NOTE_MAX);
        return -1;
    }
    queue_now_args(ms, sizeof(ms), rfc, sizeof(rfc), evbase, sizeof(evbase));
    snprintf(kept_s, sizeof(kept_s), "%lld", (long long)(kept > 0 ? kept : 1));
    /* EVAL, not EVALSHA: an operator's action is rare, and the store's
     * table of preloaded scripts is the state machine's. */
    const char *argv[] = {"EVAL", store_lua_operator, "0", store_prefix(s), e->action,
                          on_incident ? e->incident : "", e->task ? e->task : "", e->by,
                          e->via ? e->via : "", e->remote ? e->remote : "",
                          e->outcome ? e->outcome : "", ms, rfc, evbase, kept_s, note,
                          on_schedule ? e->schedule : "", e->override ? e->override : ""};
    size_t lens[sizeof(argv) / sizeof(argv[0])];
    for (size_t i = 0; i < sizeof(argv) / sizeof(argv[0]); i++) lens[i] = strlen(argv[i]);
    redisReply *r = store_command_argv(s, (int)(sizeof(argv) / sizeof(argv[0])), argv, lens);
    if (!r) {
        snprintf(err, errlen, "audit: redis not reachable");
        return -1;
    }
    int rc = -1;
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "audit: %s", r->str);
    } else if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || !r->element[0]->str ||
               !r->element[1]->str) {
        snprintf(err, errlen, "audit: unexpected reply");
    } else {
        if (missing) *missing = strcmp(r->element[0]->str, "missing") == 0;
        if (event_id) snprintf(event_id, idlen, "%s", r->element[1]->str);
        rc = 0;
    }
    freeReplyObject(r);
    return rc;
}

json_t *audit_list(store *s, int64_t since_ms, size_t limit, char *err, size_t errlen) {
    char start[32];
    if (since_ms > 0) snprintf(start, sizeof(start), "%lld-0", (long long)since_ms);
    else snprintf(start, sizeof(start), "-");
    redisReply *r = store_command(s, "XREVRANGE %s:audit + %s COUNT %lld", store_prefix(s), start,
                                  (long long)(limit ? limit : 1));
    if (!r) {
        snprintf(err, errlen, "redis not reachable");
        return NULL;
    }
    json_t *out = json_array();
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        redisReply *en = r->element[i];
        if (en->type != REDIS_REPLY_ARRAY || en->elements != 2) continue;
        redisReply *f = en->element[1];
        for (size_t j = 0; f->type == REDIS_REPLY_ARRAY && j + 1 < f->elements; j += 2) {
            if (!f->element[j]->str || strcmp(f->element[j]->str, "entry") != 0) continue;
            json_t *entry = json_loadb(f->element[j + 1]->str, f->element[j + 1]->len, 0, NULL);
            if (json_is_object(entry)) json_array_append_new(out, entry);
            else json_decref(entry);
        }
    }
    freeReplyObject(r);
    return out;
}
