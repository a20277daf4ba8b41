/* oncall_store.h - the on-call set and its overrides in Redis, as workers read them */
#ifndef MUSTER_ONCALL_STORE_H
#define MUSTER_ONCALL_STORE_H

#include <stddef.h>
#include <time.h>
#include <jansson.h>

#include "common/oncall.h"
#include "common/rota.h"
#include "state/store.h"

/* Writes the set's document (oncall_load_merged()) to PREFIX:oncall:set as
 * {version, doc}; version is a hash of the content, so workers reload only
 * what changed. Fills version (17 bytes or more). Returns 0 or -1. */
int oncall_publish(store *s, const json_t *doc, char *version, size_t vlen);

/* What a worker keeps between page steps: the set of one version. */
typedef struct oncall_cache {
    char version[32];
    oncall_set *set;
} oncall_cache;

/* The set in Redis, read again only when its version changed. Returns it
 * (owned by the cache), or NULL with err filled (none published, Redis
 * away, or a document that does not load). */
const oncall_set *oncall_fetch(store *s, oncall_cache *c, char *err, size_t errlen);

void oncall_cache_clear(oncall_cache *c);

/* A schedule's overrides from PREFIX:oncall:{SCHEDULE}:overrides, oldest
 * first (a newer one wins); docs owns the strings items point into. */
typedef struct oncall_overrides {
    rota_override *items;
    json_t *docs;
    size_t n;
} oncall_overrides;

/* "PREFIX:oncall:{SCHEDULE}:overrides" into buf. */
void oncall_overrides_key(store *s, const char *schedule_id, char *buf, size_t len);

/* Reads them; a record that does not decode is skipped. Returns 0, or -1
 * with err filled when Redis cannot be reached. Free with
 * oncall_overrides_free(). */
int oncall_overrides_read(store *s, const char *schedule_id, oncall_overrides *out, char *err,
                          size_t errlen);

void oncall_overrides_free(oncall_overrides *o);

/* Who is on call on schedule sc at `at`, overrides included: the person,
 * or NULL (nobody, or no such person). Returns 0, or -1 with err filled. */
int oncall_now(store *s, const oncall_set *set, const schedule *sc, time_t at,
               const person **out, char *err, size_t errlen);

#endif
