/* alert_pagerduty.c - decodes a PagerDuty Events API v2 alert event into an alert */
#include "common/alert_formats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* PagerDuty's documented limit on dedup_key, in characters. */
#define PD_MAX_DEDUP_KEY 255
/* Links kept from "links" (muster_link_0 ..); the rest are left out. */
#define PD_MAX_LINKS 8
/* custom_details entries kept as annotations, leaving room for muster's own. */
#define PD_MAX_DETAILS (ALERT_MAX_PAIRS - 2 * PD_MAX_LINKS - 8)

/* event_action -> the alert's status */
static const char *const actions[][2] = {
    {"trigger", "firing"},
    {"acknowledge", "acknowledged"},
    {"resolve", "resolved"},
};

static const char *const severities[] = {"critical", "error", "warning", "info"};

/* payload fields that become labels when present */
static const char *const label_fields[] = {"source", "component", "group", "class"};

int alert_pagerduty_claims(const json_t *doc) {
    return json_object_get(doc, "event_action") != NULL ||
           json_object_get(doc, "routing_key") != NULL;
}

static size_t utf8_chars(const char *s) {
    size_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* custom_details: each string as is, anything else as compact JSON text.
 * custom_details that is not an object lands whole in "custom_details". */
static int add_details(alert_ctx *c, const json_t *details, json_t *annotations) {
    char shown[ALERT_SHOWN];
    const char *k;
    json_t *v;

    if (!details || json_is_null(details)) return 0;
    if (json_is_string(details))
        return alert_annotate(c, annotations, "custom_details", json_string_value(details));
    if (!json_is_object(details)) {
        char *text = json_dumps(details, JSON_COMPACT | JSON_ENCODE_ANY);
        int rc = text ? alert_annotate(c, annotations, "custom_details", text)
                      : alert_fail(c, "out of memory");
        free(text);
        return rc;
    }
    if (json_object_size(details) > PD_MAX_DETAILS)
        return alert_fail(c, "field \"payload.custom_details\" has %zu entries; at most %d",
                          json_object_size(details), PD_MAX_DETAILS);
    json_object_foreach((json_t *)details, k, v) {
        if (strlen(k) > ALERT_MAX_ID)
            return alert_fail(c,
                              "field \"payload.custom_details\" has a name of %zu bytes "
                              "(\"%s\"); at most %d",
                              strlen(k), alert_shown(k, shown), ALERT_MAX_ID);
        if (json_is_string(v)) {
            if (alert_annotate(c, annotations, k, json_string_value(v)) < 0) return -1;
            continue;
        }
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        int rc = text ? alert_annotate(c, annotations, k, text) : alert_fail(c, "out of memory");
        free(text);
        if (rc < 0) return -1;
    }
    return 0;
}

/* links: [{href, text?}] -> muster_link_<i> = href, muster_link_<i>_text = text */
static int add_links(alert_ctx *c, const json_t *links, json_t *annotations) {
    char path[32], name[32];
    const char *href, *text;

    if (!links || json_is_null(links)) return 0;
    if (!json_is_array(links)) return alert_fail(c, "field \"links\" must be an array of objects");
    for (size_t i = 0; i < json_array_size(links) && i < PD_MAX_LINKS; i++) {
        const json_t *l = json_array_get(links, i);
        snprintf(path, sizeof(path), "links[%zu].", i);
        if (!json_is_object(l)) return alert_fail(c, "field \"links[%zu]\" must be an object", i);
        if (alert_opt_string(c, l, path, "href", ALERT_MAX_TEXT, &href) < 0 ||
            alert_opt_string(c, l, path, "text", ALERT_MAX_TEXT, &text) < 0)
            return -1;
        if (!href || !*href) return alert_fail(c, "missing required field \"%shref\"", path);
        snprintf(name, sizeof(name), "muster_link_%zu", i);
        if (alert_annotate(c, annotations, name, href) < 0) return -1;
        snprintf(name, sizeof(name), "muster_link_%zu_text", i);
        if (alert_annotate(c, annotations, name, text) < 0) return -1;
    }
    return 0;
}

int alert_pagerduty_decode(const json_t *doc, alert_ctx *c) {
    const char *routing_key, *action, *dedup_key, *client, *client_url, *timestamp;
    const char *fields[sizeof(label_fields) / sizeof(label_fields[0])];
    char shown[ALERT_SHOWN], fpbuf[17], *summary_buf = NULL;
    const json_t *payload = json_object_get(doc, "payload");
    json_t *hashed = NULL;
    alert_fields f;
    size_t a, k;
    int trigger, rc = -1;

    memset(&f, 0, sizeof(f));
    if (alert_opt_string(c, doc, "", "routing_key", ALERT_MAX_ID, &routing_key) < 0 ||
        alert_opt_string(c, doc, "", "event_action", ALERT_MAX_ID, &action) < 0 ||
        alert_opt_string(c, doc, "", "dedup_key", ALERT_MAX_ID, &dedup_key) < 0 ||
        alert_opt_string(c, doc, "", "client", ALERT_MAX_TEXT, &client) < 0 ||
        alert_opt_string(c, doc, "", "client_url", ALERT_MAX_TEXT, &client_url) < 0)
        goto out;
    if (!routing_key || !*routing_key) {
        alert_fail(c, "missing required field \"routing_key\"");
        goto out;
    }
    if (!action || !*action) {
        alert_fail(c, "missing required field \"event_action\"");
        goto out;
    }
    for (a = 0; a < sizeof(actions) / sizeof(actions[0]); a++)
        if (strcmp(action, actions[a][0]) == 0) break;
    if (a == sizeof(actions) / sizeof(actions[0])) {
        alert_fail(c, "field \"event_action\" is \"%s\"; expected trigger, acknowledge or resolve",
                   alert_shown(action, shown));
        goto out;
    }
    trigger = a == 0;
    f.status = actions[a][1];
    if (dedup_key && !*dedup_key) dedup_key = NULL;
    if (dedup_key && utf8_chars(dedup_key) > PD_MAX_DEDUP_KEY) {
        alert_fail(c, "field \"dedup_key\" is %zu characters; at most %d", utf8_chars(dedup_key),
                   PD_MAX_DEDUP_KEY);
        goto out;
    }
    if (!trigger && !dedup_key) {
        alert_fail(c, "missing required field \"dedup_key\" (%s needs the key of the alert)",
                   action);
        goto out;
    }

    /* acknowledge and resolve may come without a payload; a trigger may not */
    if (payload && json_is_null(payload)) payload = NULL;
    if (payload && !json_is_object(payload)) {
        alert_fail(c, "field \"payload\" must be an object");
        goto out;
    }
    if (!payload && trigger) {
        alert_fail(c, "missing required field \"payload\"");
        goto out;
    }
    if (alert_opt_string(c, payload, "payload.", "summary", 0, &f.summary) < 0 ||
        alert_opt_string(c, payload, "payload.", "severity", ALERT_MAX_ID, &f.severity) < 0 ||
        alert_opt_string(c, payload, "payload.", "timestamp", ALERT_MAX_ID, &timestamp) < 0)
        goto out;
    for (k = 0; k < sizeof(label_fields) / sizeof(label_fields[0]); k++)
        if (alert_opt_string(c, payload, "payload.", label_fields[k], ALERT_MAX_ID, &fields[k]) < 0)
            goto out;
    f.source = fields[0];
    if (trigger) {
        static const char *const required[] = {"summary", "source", "severity"};
        const char *got[] = {f.summary, f.source, f.severity};
        for (k = 0; k < 3; k++)
            if (!got[k] || !*got[k]) {
                alert_fail(c, "missing required field \"payload.%s\"", required[k]);
                goto out;
            }
    }
    if (f.severity && *f.severity) {
        for (k = 0; k < sizeof(severities) / sizeof(severities[0]); k++)
            if (strcmp(f.severity, severities[k]) == 0) break;
        if (k == sizeof(severities) / sizeof(severities[0])) {
            alert_fail(c,
                       "field \"payload.severity\" is \"%s\"; expected critical, error, warning "
                       "or info",
                       alert_shown(f.severity, shown));
            goto out;
        }
    }
    if (!f.source || !*f.source) f.source = "pagerduty";
    if (!f.summary || !*f.summary) {
        /* "resolve db-primary/disk": what happened, to which alert */
        size_t len = strlen(action) + strlen(dedup_key) + 2;
        if (!(summary_buf = malloc(len))) {
            alert_fail(c, "out of memory");
            goto out;
        }
        snprintf(summary_buf, len, "%s %s", action, dedup_key);
        f.summary = summary_buf;
    }

    if (!(f.labels = json_object()) || !(f.annotations = json_object())) {
        alert_fail(c, "out of memory");
        goto out;
    }
    for (k = 0; k < sizeof(label_fields) / sizeof(label_fields[0]); k++)
        if (fields[k] && *fields[k] &&
            json_object_set_new(f.labels, label_fields[k], json_string(fields[k])) < 0) {
            alert_fail(c, "out of memory");
            goto out;
        }
    if (add_details(c, json_object_get(payload, "custom_details"), f.annotations) < 0 ||
        add_links(c, json_object_get(doc, "links"), f.annotations) < 0 ||
        alert_annotate(c, f.annotations, "muster_client", client) < 0 ||
        alert_annotate(c, f.annotations, "muster_client_url", client_url) < 0)
        goto out;
    /* the time of the event: a trigger starts the alert, a resolve ends it */
    if (a == 0)
        f.starts_at = timestamp;
    else if (a == 2)
        f.ends_at = timestamp;
    else if (alert_annotate(c, f.annotations, "muster_acknowledged_at", timestamp) < 0)
        goto out;

    if (dedup_key) {
        f.fingerprint = dedup_key;
    } else {
        /* PagerDuty would make up a key, so every such trigger is a new alert
         * there. Here the same trigger on the same integration joins its open
         * incident. The routing key only feeds the hash; it is kept nowhere. */
        if (!(hashed = json_deep_copy(f.labels)) ||
            json_object_set_new(hashed, "routing_key", json_string(routing_key)) < 0 ||
            json_object_set_new(hashed, "summary", json_string(f.summary)) < 0) {
            alert_fail(c, "out of memory");
            goto out;
        }
        alert_fingerprint_labels(hashed, fpbuf, sizeof(fpbuf));
        f.fingerprint = fpbuf;
    }
    rc = alert_add(c, &f, "");
out:
    json_decref(hashed);
    json_decref(f.labels);
    json_decref(f.annotations);
    free(summary_buf);
    return rc;
}
