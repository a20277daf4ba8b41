/* oncall.h - the on-call folder: people, schedules and policies read as one set */
#ifndef MUSTER_ONCALL_H
#define MUSTER_ONCALL_H

#include <stddef.h>
#include <jansson.h>

#include "common/diag.h"
#include "common/person.h"
#include "common/policy.h"
#include "common/schedule.h"

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

/* The same, and *merged (when not NULL) gets every file's lists as one
 * document {people, schedules, policies} (caller frees with json_decref()),
 * which oncall_from_json() reads back: the set as it travels through Redis. */
oncall_set *oncall_load_merged(const char *dir_or_file, wf_diag *d, json_t **merged);

/* Reads a set from one document as oncall_load_merged() made it; problems
 * name `origin` instead of a file. Returns the set or NULL (d gained one). */
oncall_set *oncall_from_json(const json_t *doc, const char *origin, wf_diag *d);

void oncall_set_free(oncall_set *set);

/* Lookups by id; NULL when there is none. */
const person *oncall_person(const oncall_set *set, const char *id);
const schedule *oncall_schedule(const oncall_set *set, const char *id);
const policy *oncall_policy(const oncall_set *set, const char *id);

/* The person whose contact for channel is value: the Slack user id
 * (CH_SLACK), the E.164 phone number (CH_SMS, CH_PHONE), the e-mail
 * address in any case (CH_EMAIL) or the Teams address (CH_TEAMS). Exact
 * otherwise: what a vendor says its user is, verified, names one person or
 * none. NULL when nobody has it, or when two people share it (which of
 * them acted would be a guess). */
const person *oncall_person_by_contact(const oncall_set *set, oncall_channel channel,
                                       const char *value);

#endif
