/* oncall_store.c - the on-call set and its overrides in Redis, as workers read them */
#include "state/oncall_store.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int oncall_publish(store *s, const json_t *doc, char *version, size_t vlen) {
    char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text) return -1;
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    snprintf(version, vlen, "%016llx", (unsigned long long)h);
    redisReply *r = store_command(s, "HSET %s:oncall:set version %s doc %s", store_prefix(s),
                                  version, text);
    int rc = r && r->type == REDIS_REPLY_INTEGER ? 0 : -1;
    if (r) freeReplyObject(r);
    free(text);
    return rc;
}

const oncall_set *oncall_fetch(store *s, oncall_cache *c, char *err, size_t errlen) {
    redisReply *r = store_command(s, "HGET %s:oncall:set version", store_prefix(s));
    if (!r || r->type != REDIS_REPLY_STRING) {
        snprintf(err, errlen, r ? "no on-call set in Redis (the dispatcher loads oncall.dir)"
                                : "redis not reachable");
        if (r) freeReplyObject(r);
        return NULL;
    }
    if (c->set && strcmp(r->str, c->version) == 0) {
        freeReplyObject(r);
        return c->set;
    }
    char version[32];
    snprintf(version, sizeof(version), "%s", r->str);
    freeReplyObject(r);
    if (!(r = store_command(s, "HGET %s:oncall:set doc", store_prefix(s))) ||
        r->type != REDIS_REPLY_STRING) {
        snprintf(err, errlen, "cannot read the on-call set");
        if (r) freeReplyObject(r);
        return NULL;
    }
    wf_diag d = {0};
    json_t *doc = json_loadb(r->str, r->len, 0, NULL);
    freeReplyObject(r);
    oncall_set *set = doc ? oncall_from_json(doc, "redis oncall:set", &d) : NULL;
    json_decref(doc);
    if (!set) {
        snprintf(err, errlen, "the on-call set in Redis does not load: %s",
                 d.n ? d.msgs[0] : "not JSON");
        wf_diag_free(&d);
        return NULL;
    }
    wf_diag_free(&d);
    oncall_cache_clear(c);
    c->set = set;
    snprintf(c->version, sizeof(c->version), "%s", version);
    return set;
}

void oncall_cache_clear(oncall_cache *c) {
    oncall_set_free(c->set);
    memset(c, 0, sizeof(*c));
}

/* One hash per schedule, field = override id, value = JSON; the schedule id
 * is the hash tag, so a schedule's overrides stay on one Redis node. */
void oncall_overrides_key(store *s, const char *schedule_id, char *buf, size_t len) {
    snprintf(buf, len, "%s:oncall:{%s}:overrides", store_prefix(s), schedule_id);
}

static int by_created(const void *a, const void *b) {
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "created_ms"));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "created_ms"));
    return x < y ? -1 : x > y;
}

int oncall_overrides_read(store *s, const char *schedule_id, oncall_overrides *out, char *err,
                          size_t errlen) {
    char key[512];
    memset(out, 0, sizeof(*out));
    oncall_overrides_key(s, schedule_id, key, sizeof(key));
    redisReply *r = store_command(s, "HGETALL %s", key);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        snprintf(err, errlen, "cannot read overrides from Redis%s%s",
                 r && r->type == REDIS_REPLY_ERROR ? ": " : "",
                 r && r->type == REDIS_REPLY_ERROR ? r->str : "");
        if (r) freeReplyObject(r);
        return -1;
    }
    size_t cap = r->elements / 2;
    json_t **docs = calloc(cap ? cap : 1, sizeof(*docs));
    out->items = calloc(cap ? cap : 1, sizeof(*out->items));
    out->docs = json_array();
    if (!docs || !out->items || !out->docs) goto out;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        json_t *doc = json_loadb(r->element[i + 1]->str, r->element[i + 1]->len, 0, NULL);
        if (!json_is_string(json_object_get(doc, "who")) ||
            !json_is_integer(json_object_get(doc, "from")) ||
            !json_is_integer(json_object_get(doc, "to"))) {
            json_decref(doc);
            continue;
        }
        docs[out->n++] = doc;
    }
    qsort(docs, out->n, sizeof(*docs), by_created);
    for (size_t i = 0; i < out->n; i++) {
        json_array_append_new(out->docs, docs[i]);
        out->items[i] = (rota_override){
            json_string_value(json_object_get(docs[i], "id")),
            json_string_value(json_object_get(docs[i], "who")),
            (time_t)json_integer_value(json_object_get(docs[i], "from")),
            (time_t)json_integer_value(json_object_get(docs[i], "to"))};
    }
out:
    free(docs);
    freeReplyObject(r);
    return 0;
}

void oncall_overrides_free(oncall_overrides *o) {
    free(o->items);
    json_decref(o->docs);
    memset(o, 0, sizeof(*o));
}

int oncall_now(store *s, const oncall_set *set, const schedule *sc, time_t at,
               const person **out, char *err, size_t errlen) {
    oncall_overrides o;
    oncall_result r;
    *out = NULL;
    if (oncall_overrides_read(s, sc->id, &o, err, errlen) < 0) return -1;
    int rc = schedule_oncall(sc, o.items, o.n, at, &r);
    if (rc == 0 && r.who) *out = oncall_person(set, r.who);
    if (rc < 0) snprintf(err, errlen, "schedule \"%s\" has no usable time zone", sc->id);
    oncall_overrides_free(&o);
    return rc;
}
