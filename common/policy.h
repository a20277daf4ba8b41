/* policy.h - escalation policies: levels of targets, each with its delay */
#ifndef MUSTER_POLICY_H
#define MUSTER_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "common/oncall_fields.h"

#define ONCALL_MAX_LEVELS 20
#define ONCALL_MAX_REPEAT 10

typedef enum { TARGET_PERSON, TARGET_SCHEDULE, TARGET_CHANNEL } target_kind;

typedef struct target {
    target_kind kind;
    char *ref; /* person id, schedule id, or chat channel */
} target;

typedef struct level {
    target *targets;
    size_t ntargets;
    int64_t delay_ms; /* wait for an acknowledgement before the next level */
} level;

typedef struct policy {
    char *id;
    char *name;
    level *levels;
    size_t nlevels;
    int repeat; /* times the levels run again after the last one */
    char *where;
} policy;

/* Checks the policy at obj into po, each problem into f; person and
 * schedule targets are noted in refs. Free with policy_clear(). */
void policy_parse(diag_file *f, oncall_refs *refs, policy *po, const json_t *obj,
                  const char *pointer);

/* Frees what po holds (not po). */
void policy_clear(policy *po);

#endif
