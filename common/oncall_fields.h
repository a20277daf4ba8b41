/* oncall_fields.h - what on-call files share: fields checked and placed, references noted */
#ifndef MUSTER_ONCALL_FIELDS_H
#define MUSTER_ONCALL_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "common/diag.h"

#define ONCALL_MAX_FILE (1024 * 1024)
#define ONCALL_MAX_ITEMS 1000 /* people, schedules, policies, participants... per list */

typedef enum { REF_PERSON, REF_SCHEDULE } ref_kind;

/* A participant or target naming a person or schedule, checked once every
 * file is loaded; `where` is its file:line:column. */
typedef struct oncall_ref {
    ref_kind kind;
    char *id;
    char *where;
} oncall_ref;

typedef struct oncall_refs {
    oncall_ref *items;
    size_t n;
} oncall_refs;

/* Notes that the node at pointer names a person or schedule `id`. */
void fields_ref(diag_file *f, oncall_refs *refs, ref_kind kind, const char *id, const char *pointer);

/* out = base + "/" + key + "/" + i: the pointer of a list's entry (key ""
 * when base is the list). */
void fields_entry_pointer(char *out, size_t cap, const char *base, const char *key, size_t i);

/* "file:line:column" of pointer, malloc'd (caller frees). */
char *fields_where(const diag_file *f, const char *pointer);

/* The non-empty string obj[key], copied into *out (caller frees); NULL and
 * a problem when it is required and missing, or not such a string. */
void fields_text(diag_file *f, const json_t *obj, const char *pointer, const char *key,
                 bool required, char **out);

/* obj["timezone"], required, an IANA zone of the system tz database. */
void fields_zone(diag_file *f, const json_t *obj, const char *pointer, char **out);

/* obj[key], required, a list of 1 to max entries; NULL (problem) if not. */
const json_t *fields_list(diag_file *f, const json_t *obj, const char *pointer, const char *key,
                          size_t max);

/* v when it is a map, else NULL and a problem "WHAT must be a map". */
const json_t *fields_map(diag_file *f, const json_t *v, const char *p, const char *what);

/* obj["id"], required, 1 to 64 of [A-Za-z0-9_-], into *out, and its
 * file:line:column into *where (both malloc'd); false when it is not. */
bool fields_id(diag_file *f, const json_t *obj, const char *pointer, char **out, char **where);

/* obj[key], required: "2m", "30s", or integer milliseconds. 0 or -1. */
int fields_duration(diag_file *f, const json_t *obj, const char *pointer, const char *key,
                    int64_t *ms);

void oncall_refs_free(oncall_refs *refs);

#endif
