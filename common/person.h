/* person.h - people who can be paged: contacts, time zone, notification rules */
#ifndef MUSTER_PERSON_H
#define MUSTER_PERSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "common/oncall_fields.h"

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

/* Checks the person at obj (the node at pointer) into pe, each problem
 * into f. pe's strings are its own: free with person_clear(). */
void person_parse(diag_file *f, person *pe, const json_t *obj, const char *pointer);

/* Frees what pe holds (not pe). */
void person_clear(person *pe);

/* "slack", "sms", "phone", "email", "teams". */
const char *person_channel_name(oncall_channel c);

/* Contact formats. */
bool person_phone_ok(const char *s); /* E.164: + and 8 to 15 digits, not +0 */
bool person_slack_ok(const char *s); /* U or W and 2 to 20 of [A-Z0-9] */
bool person_email_ok(const char *s);

#endif
