/* oncall_fields.c - what on-call files share: fields checked and placed, references noted */
#include "common/oncall_fields.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/tzone.h"
#include "common/util.h"

/* out = base + "/" + key + "/" + i: the pointer of a list's entry (key ""
 * when base is the list). */
void fields_entry_pointer(char *out, size_t cap, const char *base, const char *key, size_t i) {
    if (snprintf(out, cap, "%s%s%s/%zu", base, *key ? "/" : "", key, i) < 0) out[0] = '\0';
}

char *fields_where(const diag_file *f, const char *pointer) {
    char buf[1200];
    diag_place(f, pointer, buf, sizeof(buf));
    return strdup(buf);
}

void fields_ref(diag_file *f, oncall_refs *refs, ref_kind kind, const char *id, const char *pointer) {
    oncall_ref *r = realloc(refs->items, (refs->n + 1) * sizeof(*r));
    if (!r) return;
    refs->items = r;
    r[refs->n].kind = kind;
    r[refs->n].id = strdup(id);
    r[refs->n].where = fields_where(f, pointer);
    refs->n++;
}

/* The string at obj[key] (copied into *out), or NULL into *out and a
 * problem when it is required or not a string. */
void fields_text(diag_file *f, const json_t *obj, const char *pointer, const char *key,
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

void fields_zone(diag_file *f, const json_t *obj, const char *pointer, char **out) {
    char p[512];
    fields_text(f, obj, pointer, "timezone", true, out);
    if (*out && !tz_valid(*out)) {
        diag_pointer_join(p, sizeof(p), pointer, "timezone");
        diag_problem(f, p, "timezone \"%s\" is not in the system tz database: expected an "
                     "IANA name such as Europe/Berlin", *out);
    }
}

/* A list at obj[key] of 1 to ONCALL_MAX_ITEMS entries, or NULL (problem). */
const json_t *fields_list(diag_file *f, const json_t *obj, const char *pointer,
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
const json_t *fields_map(diag_file *f, const json_t *v, const char *p, const char *what) {
    if (json_is_object(v)) return v;
    diag_problem(f, p, "%s must be a map, got %s", what, diag_type_of(v));
    return NULL;
}

bool fields_id(diag_file *f, const json_t *obj, const char *pointer, char **out, char **where) {
    char p[512];
    diag_pointer_join(p, sizeof(p), pointer, "id");
    *where = fields_where(f, p);
    fields_text(f, obj, pointer, "id", true, out);
    if (!*out) return false;
    if (diag_valid_id(*out)) return true;
    diag_problem(f, p, "id \"%s\" must be 1 to 64 of [A-Za-z0-9_-]", *out);
    return false;
}

/* A duration: "2m", "30s", or integer milliseconds. */
int fields_duration(diag_file *f, const json_t *obj, const char *pointer, const char *key,
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

void oncall_refs_free(oncall_refs *refs) {
    for (size_t i = 0; i < refs->n; i++) {
        free(refs->items[i].id);
        free(refs->items[i].where);
    }
    free(refs->items);
    refs->items = NULL;
    refs->n = 0;
}
