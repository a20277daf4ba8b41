/* fuzz_alert.c - libFuzzer target for alert decoding */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/alert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int one_of(const char *s, const char *const *set) {
    for (; *set; set++)
        if (strcmp(s, *set) == 0) return 1;
    return 0;
}

/* Every value a string within max bytes, every name within ALERT_MAX_ID, at
 * most ALERT_MAX_PAIRS of them. Returns the text size, or aborts. */
static size_t check_map(const json_t *m, size_t max) {
    const char *k;
    json_t *v;
    size_t bytes = 0;
    if (!json_is_object(m) || json_object_size(m) > ALERT_MAX_PAIRS) abort();
    json_object_foreach((json_t *)m, k, v) {
        if (!json_is_string(v) || json_string_length(v) > max || strlen(k) > ALERT_MAX_ID) abort();
        bytes += strlen(k) + json_string_length(v);
    }
    return bytes;
}

/* Input: one raw alert message, as it would arrive from Kafka. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const formats[] = {"alertmanager", "pagerduty", "cloudevents", "generic",
                                          NULL};
    static const char *const statuses[] = {"firing", "resolved", NULL};
    alert_batch b;
    char err[512];
    size_t total = 0;

    err[0] = '\0';
    if (alert_decode((const char *)data, size, &b, err, sizeof(err)) != 0) {
        /* a refusal always says why, and leaves nothing to free */
        if (!err[0] || b.n != 0 || b.items) abort();
        return 0;
    }
    if (b.n == 0 || b.n > ALERT_MAX_PER_MESSAGE) abort();
    for (size_t i = 0; i < b.n; i++) {
        const alert *a = &b.items[i];
        if (!a->source[0] || !a->summary[0] || strlen(a->fingerprint) == 0) abort();
        if (!one_of(a->format, formats)) abort();
        /* acknowledged only from a sender that has it */
        if (!one_of(a->status, statuses) &&
            !(strcmp(a->status, "acknowledged") == 0 && strcmp(a->format, "pagerduty") == 0))
            abort();
        if (strlen(a->summary) > ALERT_MAX_SUMMARY || strlen(a->source) > ALERT_MAX_ID ||
            strlen(a->fingerprint) > ALERT_MAX_ID || strlen(a->severity) > ALERT_MAX_ID ||
            strlen(a->starts_at) > ALERT_MAX_ID || strlen(a->ends_at) > ALERT_MAX_ID)
            abort();
        total += check_map(a->labels, ALERT_MAX_ID) + check_map(a->annotations, ALERT_MAX_TEXT);

        json_t *j = alert_to_json(a);
        json_t *f = alert_match_fields(a);
        if (!j || !f) abort(); /* also: every string is still valid UTF-8 */
        /* what matchers see: every value a string, the alert's own fields win */
        const char *k;
        json_t *v;
        json_object_foreach(f, k, v) if (!json_is_string(v)) abort();
        if (strcmp(json_string_value(json_object_get(f, "severity")), a->severity) != 0) abort();
        /* a record must survive a round trip through text */
        char *text = json_dumps(j, JSON_COMPACT);
        json_t *back = text ? json_loads(text, 0, NULL) : NULL;
        if (!back || !json_equal(back, j)) abort();
        json_decref(back);
        free(text);
        json_decref(j);
        json_decref(f);
    }
    if (total > ALERT_MAX_DECODED_BYTES) abort();
    alert_batch_free(&b);
    return 0;
}
