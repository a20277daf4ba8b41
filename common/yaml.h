/* yaml.h - YAML and JSON text into jansson trees that remember their lines */
#ifndef MUSTER_YAML_H
#define MUSTER_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#define YAML_MAX_DEPTH 64

/* Parses `len` bytes of YAML (JSON is read as the YAML it is) named `name` in
 * messages. Plain scalars become null, booleans, integers or reals where
 * YAML 1.2's core schema says so; quoted scalars stay strings. Aliases are
 * refused (they can multiply a small file into a huge tree), and so are
 * documents nested deeper than YAML_MAX_DEPTH.
 *
 * On success returns a new reference and, when `positions` is not NULL,
 * stores in it a new object mapping each node's JSON pointer ("/steps/0/id")
 * to [line, column], both 1-based. On failure returns NULL and fills err
 * with "name:line:column: what is wrong". */
json_t *yaml_parse(const char *name, const char *buf, size_t len,
                   json_t **positions, char *err, size_t errlen);

/* Looks up `pointer` in positions; falls back to the nearest parent that is
 * known. Sets *line and *column (0 when nothing is known). */
void yaml_position(const json_t *positions, const char *pointer, int *line,
                   int *column);

/* Whether a directory entry is a document to load: *.yaml, *.yml or *.json,
 * and not hidden. */
bool yaml_file_name(const char *name);

#endif
