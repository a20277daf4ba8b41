/* matcher.h - Alertmanager-style label matchers: name="v", !=, =~, !~ */
#ifndef MUSTER_MATCHER_H
#define MUSTER_MATCHER_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

typedef enum { MATCH_EQ, MATCH_NE, MATCH_RE, MATCH_NRE } match_op;

typedef struct matcher matcher;

/* Parses one matcher in Alertmanager's syntax: `name OP "value"` where OP is
 * =, !=, =~ or !~; blanks around the parts are allowed; the value may be
 * unquoted when it holds no blanks, commas or quotes; inside quotes \" \\ \n
 * are escapes. A regex is anchored at both ends (Prometheus semantics) and
 * compiled as POSIX extended. On success stores a new matcher in *out
 * (caller frees with matcher_free) and returns 0; otherwise returns -1 and
 * fills err with what is wrong and at which column. */
int matcher_parse(const char *text, matcher **out, char *err, size_t errlen);

/* True when `fields` (a JSON object of name -> string) satisfies m. A name
 * that is absent matches as the empty string, as in Alertmanager. */
bool matcher_match(const matcher *m, const json_t *fields);

const char *matcher_name(const matcher *m);
match_op matcher_op(const matcher *m);
const char *matcher_value(const matcher *m);

void matcher_free(matcher *m);

#endif
