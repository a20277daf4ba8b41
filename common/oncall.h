/* oncall.h - on-call files: people, schedules and escalation policies, validated */
#ifndef MUSTER_ONCALL_H
#define MUSTER_ONCALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/diag.h"
#include "common/tzone.h"

#define ONCALL_MAX_FILE (1024 * 1024)
#define ONCALL_MAX_ITEMS 1000 /* people, schedules, policies, participants... per list */
#define ONCALL_MAX_LEVELS 20
#define ONCALL_MAX_REPEAT 10

typedef enum { CH_SLACK, CH_SMS, CH_PHONE, CH_EMAIL, CH_TEAMS } oncall_channel;

/* A notification rule: reach the person on `channel` once `after_ms` have
 * passed since the page, while it is not acknowledged. */
typedef struct notify_rule {
    oncall_channel channel;
    int64_t after_ms;
} notify_rule;

typedef struct person {
    char *id;
    char *name;
    char *timezone; /* IANA */
    char *slack;    /* Slack user id (U012ABC), or NULL */
    char *phone;    /* E.164 (+4915112345678), or NULL */
    char *email;    /* or NULL */
    char *teams;    /* Teams address, or NULL */
    notify_rule *rules;
    size_t nrules;
    char *where; /* file:line:column of its id */
} person;

/* A part of the week a rotation covers: on the days in `days` (bit d is
 * tm_wday d, 0 = Sunday), from `from` to `to` minutes after midnight; when
 * to <= from the window runs past midnight into the next day. */
typedef struct restriction {
    unsigned days;
    int from;
    int to;
} restriction;

/* Participants take turns of `turn` civil seconds, the first beginning at
 * `start` (the start date at the handoff time, on the schedule's clock). */
typedef struct rotation {
    char **who;
    size_t nwho;
    civil_t start;
    int64_t turn;
    restriction *limits; /* none: all the time */
    size_t nlimits;
} rotation;

typedef struct layer {
    char *name;
    rotation *rotations; /* the first that has someone at a time wins */
    size_t nrotations;
} layer;

typedef struct schedule {
    char *id;
    char *name;
    char *timezone; /* IANA; every wall-clock time of the schedule is on it */
    layer *layers;  /* in file order; a later layer wins where it has someone */
    size_t nlayers;
    char *where;
} schedule;

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

typedef struct oncall_set {
    person *people;
    size_t npeople;
    schedule *schedules;
    size_t nschedules;
    policy *policies;
    size_t npolicies;
} oncall_set;

/* Loads every *.yaml, *.yml and *.json file of a directory (or one file),
 * in name order. A file holds any of the lists `people:`, `schedules:` and
 * `policies:`. Every problem is appended to d as "file:line:column: what",
 * references included (a participant or target that names no one). Returns
 * the set (caller frees with oncall_set_free()) or NULL when d gained a
 * problem. */
oncall_set *oncall_load(const char *dir_or_file, wf_diag *d);

void oncall_set_free(oncall_set *set);

/* Lookups by id; NULL when there is none. */
const person *oncall_person(const oncall_set *set, const char *id);
const schedule *oncall_schedule(const oncall_set *set, const char *id);
const policy *oncall_policy(const oncall_set *set, const char *id);

/* "slack", "sms", "phone", "email", "teams". */
const char *oncall_channel_name(oncall_channel c);

/* Format checks, shared with the CLI. */
bool oncall_phone_ok(const char *s); /* E.164: + and 8 to 15 digits */
bool oncall_slack_ok(const char *s); /* U or W and 2 to 20 of [A-Z0-9] */
bool oncall_email_ok(const char *s);

#endif
