/* alert_alertmanager.c - decodes a Prometheus Alertmanager webhook (version 4) into alerts */
#include "common/alert_formats.h"

#include <stdio.h>
#include <string.h>

/* Alertmanager (Go) writes an unset endsAt as the zero time. */
#define GO_ZERO_TIME "0001-01-01T00:00:00Z"

/* What every alert of the group shares. */
typedef struct group {
    const char *source, *status, *receiver, *group_key, *external_url;
    json_int_t truncated;
    json_t *group_labels, *common_labels, *common_annotations;
} group;

/* Per-alert links copied into annotations (the last three are Grafana's). */
static const char *const alert_links[][2] = {
    {"generatorURL", "muster_generator_url"},
    {"silenceURL", "muster_silence_url"},
    {"dashboardURL", "muster_dashboard_url"},
    {"panelURL", "muster_panel_url"},
};

int alert_alertmanager_claims(const json_t *doc) {
    return json_is_array(json_object_get(doc, "alerts")) &&
           (json_object_get(doc, "version") != NULL || json_object_get(doc, "groupKey") != NULL);
}

static int status_ok(const char *s) {
    return strcmp(s, "firing") == 0 || strcmp(s, "resolved") == 0;
}

static int read_group(alert_ctx *c, const json_t *doc, group *g) {
    char shown[ALERT_SHOWN];
    const char *version;
    json_t *t;

    memset(g, 0, sizeof(*g));
    if (alert_opt_string(c, doc, "", "version", ALERT_MAX_ID, &version) < 0 ||
        alert_opt_string(c, doc, "", "status", ALERT_MAX_ID, &g->status) < 0 ||
        alert_opt_string(c, doc, "", "receiver", ALERT_MAX_ID, &g->receiver) < 0 ||
        alert_opt_string(c, doc, "", "groupKey", ALERT_MAX_TEXT, &g->group_key) < 0 ||
        alert_opt_string(c, doc, "", "externalURL", ALERT_MAX_TEXT, &g->external_url) < 0)
        return -1;
    /* Grafana's webhook is Alertmanager's shape with "version": "1". */
    if (!version || strcmp(version, "4") == 0)
        g->source = "alertmanager";
    else if (strcmp(version, "1") == 0)
        g->source = "grafana";
    else
        return alert_fail(c,
                          "field \"version\" is \"%s\"; expected \"4\" (Alertmanager) or \"1\" "
                          "(Grafana)",
                          alert_shown(version, shown));
    if (g->status && !status_ok(g->status))
        return alert_fail(c, "field \"status\" is \"%s\"; expected firing or resolved",
                          alert_shown(g->status, shown));
    t = json_object_get(doc, "truncatedAlerts");
    if (t && !json_is_null(t)) {
        if (!json_is_integer(t) || json_integer_value(t) < 0)
            return alert_fail(c, "field \"truncatedAlerts\" must be a non-negative integer");
        g->truncated = json_integer_value(t);
    }
    if (!(g->group_labels = alert_string_map(c, json_object_get(doc, "groupLabels"), "groupLabels",
                                             ALERT_MAP_LABELS)) ||
        !(g->common_labels = alert_string_map(c, json_object_get(doc, "commonLabels"),
                                              "commonLabels", ALERT_MAP_LABELS)) ||
        !(g->common_annotations = alert_string_map(c, json_object_get(doc, "commonAnnotations"),
                                                   "commonAnnotations", ALERT_MAP_ANNOTATIONS)))
        return -1;
    return 0;
}

static void group_clear(group *g) {
    json_decref(g->group_labels);
    json_decref(g->common_labels);
    json_decref(g->common_annotations);
}

/* base, then over it each of the others in turn (the last wins). New reference. */
static json_t *merged(alert_ctx *c, json_t *base, json_t *over, json_t *last) {
    json_t *m = json_copy(base);
    if (!m || (over && json_object_update(m, over) < 0) ||
        (last && json_object_update(m, last) < 0)) {
        json_decref(m);
        alert_fail(c, "out of memory");
        return NULL;
    }
    return m;
}

static const char *label_or(const json_t *map, const char *name, const char *def) {
    const char *s = json_string_value(json_object_get(map, name));
    return s && *s ? s : def;
}

static int decode_one(alert_ctx *c, const group *g, const json_t *item, size_t i) {
    char path[48], where[64], shown[ALERT_SHOWN], count[32];
    json_t *own_labels = NULL, *own_annotations = NULL;
    const char *starts, *ends, *link;
    alert_fields f;
    int rc = -1;

    memset(&f, 0, sizeof(f));
    snprintf(path, sizeof(path), "alerts[%zu].", i);
    if (!json_is_object(item)) return alert_fail(c, "field \"alerts[%zu]\" must be an object", i);
    if (alert_opt_string(c, item, path, "status", ALERT_MAX_ID, &f.status) < 0 ||
        alert_opt_string(c, item, path, "fingerprint", ALERT_MAX_ID, &f.fingerprint) < 0 ||
        alert_opt_string(c, item, path, "startsAt", ALERT_MAX_ID, &starts) < 0 ||
        alert_opt_string(c, item, path, "endsAt", ALERT_MAX_ID, &ends) < 0)
        goto out;
    if (!f.status) f.status = g->status;
    if (!f.status) {
        alert_fail(c, "missing required field \"%sstatus\"", path);
        goto out;
    }
    if (!status_ok(f.status)) {
        alert_fail(c, "field \"%sstatus\" is \"%s\"; expected firing or resolved", path,
                   alert_shown(f.status, shown));
        goto out;
    }
    snprintf(where, sizeof(where), "%slabels", path);
    if (!(own_labels =
              alert_string_map(c, json_object_get(item, "labels"), where, ALERT_MAP_LABELS)))
        goto out;
    snprintf(where, sizeof(where), "%sannotations", path);
    if (!(own_annotations = alert_string_map(c, json_object_get(item, "annotations"), where,
                                             ALERT_MAP_ANNOTATIONS)))
        goto out;
    /* the group's labels under the alert's own: the alert's win */
    if (!(f.labels = merged(c, g->group_labels, g->common_labels, own_labels)) ||
        !(f.annotations = merged(c, g->common_annotations, own_annotations, NULL)))
        goto out;

    f.source = g->source;
    f.severity = label_or(f.labels, "severity", "warning");
    f.summary = label_or(f.annotations, "summary", NULL);
    if (!f.summary) f.summary = label_or(f.annotations, "description", NULL);
    if (!f.summary)
        f.summary =
            label_or(f.labels, "alertname", "alert without summary, description or alertname");
    f.starts_at = starts && strcmp(starts, GO_ZERO_TIME) != 0 ? starts : "";
    f.ends_at = ends && strcmp(ends, GO_ZERO_TIME) != 0 ? ends : "";

    /* where it came from, for people and templates; ours win over the sender's */
    for (size_t k = 0; k < sizeof(alert_links) / sizeof(alert_links[0]); k++) {
        if (alert_opt_string(c, item, path, alert_links[k][0], ALERT_MAX_TEXT, &link) < 0 ||
            alert_annotate(c, f.annotations, alert_links[k][1], link) < 0)
            goto out;
    }
    /* what max_alerts left out of this message, told on every alert that came */
    snprintf(count, sizeof(count), "%lld", (long long)g->truncated);
    if (alert_annotate(c, f.annotations, "muster_receiver", g->receiver) < 0 ||
        alert_annotate(c, f.annotations, "muster_group_key", g->group_key) < 0 ||
        alert_annotate(c, f.annotations, "muster_external_url", g->external_url) < 0 ||
        (g->truncated && alert_annotate(c, f.annotations, "muster_truncated_alerts", count) < 0))
        goto out;
    rc = alert_add(c, &f, path);
out:
    json_decref(own_labels);
    json_decref(own_annotations);
    json_decref(f.labels);
    json_decref(f.annotations);
    return rc;
}

int alert_alertmanager_decode(const json_t *doc, alert_ctx *c) {
    const json_t *alerts = json_object_get(doc, "alerts");
    size_t n = json_array_size(alerts);
    group g;
    int rc = -1;

    if (n == 0) return alert_fail(c, "field \"alerts\" is empty");
    if (n > ALERT_MAX_PER_MESSAGE)
        return alert_fail(c,
                          "field \"alerts\" holds %zu alerts; at most %d per message (set "
                          "max_alerts in the webhook_config)",
                          n, ALERT_MAX_PER_MESSAGE);
    if (read_group(c, doc, &g) == 0) {
        size_t i;
        for (i = 0; i < n; i++)
            if (decode_one(c, &g, json_array_get(alerts, i), i) < 0) break;
        if (i == n) rc = 0;
    }
    group_clear(&g);
    return rc;
}
