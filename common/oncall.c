/* oncall.c - the on-call folder: people, schedules and policies read as one set */
#include "common/oncall.h"

#include <dirent.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "common/util.h"
#include "common/yaml.h"

typedef struct loading {
    oncall_set *set;
    oncall_refs refs;
    json_t *merged; /* every file's lists as one document, or NULL */
} loading;

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
    void (*parse)(diag_file *f, oncall_refs *refs, void *item, const json_t *obj,
                  const char *pointer);
    void (*clear)(void *item);
} kind;

#define KIND(key, noun, type, items, count, parse, clear)                                          \
    {key, noun, sizeof(type), offsetof(oncall_set, items), offsetof(oncall_set, count),          \
     offsetof(type, id), offsetof(type, where), parse, clear}

/* The typed parsers and clears, as the table calls them. */
static void parse_person(diag_file *f, oncall_refs *refs, void *item, const json_t *obj,
                         const char *pointer) {
    (void)refs;
    person_parse(f, item, obj, pointer);
}
static void parse_schedule(diag_file *f, oncall_refs *refs, void *item, const json_t *obj,
                           const char *pointer) {
    schedule_parse(f, refs, item, obj, pointer);
}
static void parse_policy(diag_file *f, oncall_refs *refs, void *item, const json_t *obj,
                         const char *pointer) {
    policy_parse(f, refs, item, obj, pointer);
}
static void clear_person(void *item) { person_clear(item); }
static void clear_schedule(void *item) { schedule_clear(item); }
static void clear_policy(void *item) { policy_clear(item); }

static const kind kinds[] = {
    KIND("people", "person", person, people, npeople, parse_person, clear_person),
    KIND("schedules", "schedule", schedule, schedules, nschedules, parse_schedule, clear_schedule),
    KIND("policies", "policy", policy, policies, npolicies, parse_policy, clear_policy),
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
    if (!json_object_get(doc, k->key) || !(list = fields_list(f, doc, "", k->key, ONCALL_MAX_ITEMS)))
        return;
    snprintf(what, sizeof(what), "a %s", k->noun);
    json_array_foreach(list, i, e) {
        void *item;
        snprintf(p, sizeof(p), "/%s/%zu", k->key, i);
        if (!fields_map(f, e, p, what) ||
            !(item = grow(&FIELD(ld->set, k->items, void *), &FIELD(ld->set, k->count, size_t),
                          k->size)))
            continue;
        k->parse(f, &ld->refs, item, e, p);
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
    for (size_t k = 0; k < sizeof(kinds) / sizeof(*kinds); k++) {
        load_list(f, ld, doc, &kinds[k]);
        const json_t *list = json_object_get(doc, kinds[k].key);
        if (!ld->merged || !json_is_array(list)) continue;
        json_t *all = json_object_get(ld->merged, kinds[k].key);
        if (!all) json_object_set_new(ld->merged, kinds[k].key, all = json_array());
        json_array_extend(all, (json_t *)list);
    }
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
    for (size_t i = 0; i < ld->refs.n; i++) {
        const oncall_ref *r = &ld->refs.items[i];
        if (!r->id || !r->where) continue;
        if (r->kind == REF_PERSON && !oncall_person(ld->set, r->id))
            snprintf(msg, sizeof(msg), "%s: there is no person \"%s\"", r->where, r->id);
        else if (r->kind == REF_SCHEDULE && !oncall_schedule(ld->set, r->id))
            snprintf(msg, sizeof(msg), "%s: there is no schedule \"%s\"", r->where, r->id);
        else
            continue;
        diag_add(d, msg);
    }
}

/* Checks references once every document is read; returns the set or NULL
 * (freed) when d gained a problem since `before`. */
static oncall_set *finish(loading *ld, wf_diag *d, size_t before) {
    if (d->n == before) check_refs(ld, d);
    oncall_refs_free(&ld->refs);
    if (d->n == before) return ld->set;
    oncall_set_free(ld->set);
    return NULL;
}

oncall_set *oncall_load(const char *dir_or_file, wf_diag *d) {
    return oncall_load_merged(dir_or_file, d, NULL);
}

oncall_set *oncall_from_json(const json_t *doc, const char *origin, wf_diag *d) {
    loading ld = {calloc(1, sizeof(oncall_set)), {NULL, 0}, NULL};
    diag_file f = {origin, NULL, d, d->n};
    if (!ld.set) return NULL;
    load_doc(&f, &ld, doc);
    return finish(&ld, d, f.before);
}

oncall_set *oncall_load_merged(const char *dir_or_file, wf_diag *d, json_t **merged) {
    struct stat st;
    struct dirent **names = NULL;
    size_t before = d->n;
    char msg[1200];
    loading ld = {calloc(1, sizeof(oncall_set)), {NULL, 0}, merged ? json_object() : NULL};
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
    oncall_set *set = finish(&ld, d, before);
    if (merged && set) *merged = ld.merged;
    else json_decref(ld.merged);
    return set;
}

void oncall_set_free(oncall_set *set) {
    if (!set) return;
    for (size_t k = 0; k < sizeof(kinds) / sizeof(*kinds); k++) {
        char *items = FIELD(set, kinds[k].items, char *);
        for (size_t i = 0; i < FIELD(set, kinds[k].count, size_t); i++)
            kinds[k].clear(items + i * kinds[k].size);
        free(items);
    }
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


const person *oncall_person_by_contact(const oncall_set *set, oncall_channel channel,
                                       const char *value) {
    const person *found = NULL;
    if (!set || !value || !*value) return NULL;
    for (size_t i = 0; i < set->npeople; i++) {
        const person *p = &set->people[i];
        const char *c = channel == CH_SLACK ? p->slack
                        : channel == CH_EMAIL ? p->email
                        : channel == CH_TEAMS ? p->teams
                                              : p->phone;
        if (!c) continue;
        if (channel == CH_EMAIL || channel == CH_TEAMS ? strcasecmp(c, value) : strcmp(c, value))
            continue;
        if (found) return NULL;
        found = p;
    }
    return found;
}
