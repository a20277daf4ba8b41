/* fuzz_alert.c - libFuzzer target for alert decoding */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/alert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Input: one raw alert message, as it would arrive from Kafka. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    alert_batch b;
    char err[512];

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
        if (strcmp(a->status, "firing") != 0 && strcmp(a->status, "resolved") != 0) abort();

        json_t *j = alert_to_json(a);
        json_t *f = alert_match_fields(a);
        if (!j || !f) abort();
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
    alert_batch_free(&b);
    return 0;
}
