/* alert.h - the one alert model every input format is decoded into */
#ifndef MUSTER_ALERT_H
#define MUSTER_ALERT_H

#include <stddef.h>
#include <jansson.h>

/* Largest alert message the decoders accept. */
#define ALERT_MAX_BYTES (1024 * 1024)

/* Most alerts one message may carry (an Alertmanager group). */
#define ALERT_MAX_PER_MESSAGE 1000

/* Bounds on what one message may decode into (docs/alerts.md, "Limits").
 * Strings that identify an alert are refused when too long, because cutting
 * them could merge two different alerts; text meant for people is cut at a
 * UTF-8 character boundary and ends in "…" (U+2026). */
#define ALERT_MAX_SUMMARY 1024  /* summary, in bytes: longer is cut */
#define ALERT_MAX_ID 1024       /* source, fingerprint, severity, timestamps, label and
                                 * annotation names, label values: longer is refused */
#define ALERT_MAX_TEXT 16384    /* an annotation value: longer is cut */
#define ALERT_MAX_PAIRS 256     /* labels, and annotations, per alert: more is refused */
#define ALERT_MAX_DECODED_BYTES (8 * 1024 * 1024) /* all text of all alerts of one
                                                   * message (Alertmanager repeats the
                                                   * group's labels into each): refused */

typedef struct alert {
    char *format;      /* which decoder claimed it: "alertmanager", "pagerduty",
                        * "cloudevents" or "generic" */
    char *source;      /* who sent it: "prometheus", "checkout-svc" */
    char *fingerprint; /* identity of the alert across firing/resolved */
    char *status;      /* "firing", "resolved" or "acknowledged"; acknowledged
                        * only from senders that have it (pagerduty) */
    char *severity;    /* "critical", "error", "warning", "info" */
    char *summary;     /* never empty, at most ALERT_MAX_SUMMARY bytes */
    json_t *labels;      /* object of name -> string */
    json_t *annotations; /* object of name -> string */
    char *starts_at;     /* RFC 3339 or "" */
    char *ends_at;       /* RFC 3339 or "" */
} alert;

typedef struct alert_batch {
    alert *items;
    size_t n;
} alert_batch;

/* Decodes one message with the first format that claims it (cloudevents,
 * alertmanager, pagerduty, generic). All or nothing: on success fills *out
 * (caller frees with alert_batch_free()) and returns 0; on failure returns -1,
 * leaves *out empty and fills err with the reason, which starts with the
 * format's name and names the field and value. */
int alert_decode(const char *buf, size_t len, alert_batch *out, char *err,
                 size_t errlen);

void alert_batch_free(alert_batch *b);

/* The Kafka key a message of this batch goes with, so that every message
 * about one alert lands on one partition and is read in order (a firing
 * alert before its resolution): an Alertmanager group's key, which all of
 * the group's notifications carry, else the first alert's fingerprint.
 * Borrowed from b; NULL for an empty batch. */
const char *alert_batch_key(const alert_batch *b);

/* The alert as a JSON object (templates, Redis records, events). */
json_t *alert_to_json(const alert *a);

/* What trigger matchers see: the labels, plus severity, source and status
 * (these three win over labels of the same name). New reference. */
json_t *alert_match_fields(const alert *a);

/* Stable fingerprint of a label set: 16 hex digits of FNV-1a 64 over the
 * labels sorted by name. buf needs 17 bytes. */
void alert_fingerprint_labels(const json_t *labels, char *buf, size_t len);

#endif
