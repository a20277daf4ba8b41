/* alert_cloudevents.c - decodes a CloudEvents 1.0 event (structured JSON) that carries a generic
 * alert */
#include "common/alert_formats.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

int alert_cloudevents_claims(const json_t *doc) {
    return json_object_get(doc, "specversion") != NULL;
}

/* Whether a media type declares JSON: subtype "json" or ending in "+json",
 * parameters stripped, any case (JSON event format 1.0, section 3.1). */
static int is_json_type(const char *type) {
    const char *slash = strchr(type, '/'), *end = strchr(type, ';');
    if (!end) end = type + strlen(type);
    while (end > type && isspace((unsigned char)end[-1])) end--;
    if (!slash || slash >= end) return 0;
    size_t sub = (size_t)(end - slash - 1);
    if (sub == 4 && strncasecmp(slash + 1, "json", 4) == 0) return 1;
    return sub > 5 && strncasecmp(end - 5, "+json", 5) == 0;
}

int alert_cloudevents_decode(const json_t *doc, alert_ctx *c) {
    static const char *const required[] = {"id", "source", "type"};
    const char *version, *attr[3], *subject, *when, *content_type;
    char shown[ALERT_SHOWN];
    const json_t *data = json_object_get(doc, "data");
    alert_fields f;
    int rc = -1;

    memset(&f, 0, sizeof(f));
    if (alert_opt_string(c, doc, "", "specversion", ALERT_MAX_ID, &version) < 0) return -1;
    if (!version || !*version) return alert_fail(c, "missing required attribute \"specversion\"");
    if (strcmp(version, "1.0") != 0)
        return alert_fail(c, "attribute \"specversion\" is \"%s\"; expected \"1.0\"",
                          alert_shown(version, shown));
    for (size_t i = 0; i < 3; i++) {
        if (alert_opt_string(c, doc, "", required[i], ALERT_MAX_ID, &attr[i]) < 0) return -1;
        if (!attr[i] || !*attr[i])
            return alert_fail(c, "missing required attribute \"%s\"", required[i]);
    }
    if (alert_opt_string(c, doc, "", "subject", ALERT_MAX_TEXT, &subject) < 0 ||
        alert_opt_string(c, doc, "", "time", ALERT_MAX_ID, &when) < 0 ||
        alert_opt_string(c, doc, "", "datacontenttype", ALERT_MAX_ID, &content_type) < 0)
        return -1;
    if (json_object_get(doc, "data_base64") && !json_is_null(json_object_get(doc, "data_base64")))
        return alert_fail(c, "\"data_base64\" (binary data) is not supported; send the alert as a "
                             "JSON object in \"data\"");
    if (content_type && !is_json_type(content_type))
        return alert_fail(c,
                          "attribute \"datacontenttype\" is \"%s\"; the alert in \"data\" must "
                          "be JSON",
                          alert_shown(content_type, shown));
    if (!data || json_is_null(data))
        return alert_fail(c, "missing required field \"data\" (the alert)");
    if (!json_is_object(data))
        return alert_fail(c, "field \"data\" must be an object holding a muster alert");

    /* data is a generic alert; the event's source stands in for its own */
    if (alert_generic_fields(c, data, "data.", attr[1], &f) < 0) return -1;
    if (!f.starts_at || !*f.starts_at) f.starts_at = when;
    if (alert_annotate(c, f.annotations, "muster_event_id", attr[0]) < 0 ||
        alert_annotate(c, f.annotations, "muster_event_source", attr[1]) < 0 ||
        alert_annotate(c, f.annotations, "muster_event_type", attr[2]) < 0 ||
        alert_annotate(c, f.annotations, "muster_event_subject", subject) < 0)
        goto out;
    rc = alert_add(c, &f, "data.");
out:
    json_decref(f.labels);
    json_decref(f.annotations);
    return rc;
}
