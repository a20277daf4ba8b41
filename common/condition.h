/* condition.h - a step's if: a path into the run's context, a matcher op, a value */
#ifndef MUSTER_CONDITION_H
#define MUSTER_CONDITION_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#define CONDITION_MAX_PATH 256

typedef struct condition condition;

/* Parses `path OP "value"`: path is dotted (alert.labels.env,
 * steps.diag.status, steps.diag.output.exit_code), OP is =, !=, =~ or !~ with
 * Alertmanager's meaning and quoting (regexes anchored). Returns 0 and a new
 * condition (free with condition_free()), or -1 with err filled. */
int condition_parse(const char *text, condition **out, char *err, size_t errlen);

/* The condition's path, for validation ("steps.diag.status"). */
const char *condition_path(const condition *c);

/* Whether it holds in ctx. The path renders as a template would: strings as
 * themselves, numbers and booleans as JSON text, missing as "". */
bool condition_eval(const condition *c, const json_t *ctx);

void condition_free(condition *c);

#endif
