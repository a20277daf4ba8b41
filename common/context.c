/* context.c - the template context of a step: what its templates may read */
#include "common/context.h"

#include <string.h>

json_t *json_or_string(const char *text, size_t len) {
    if (!text || len == 0) return NULL;
    json_t *v = json_loadb(text, len, 0, NULL);
    return v ? v : json_stringn(text, len);
}

json_t *task_context(const char *incident, const char *workflow, const char *fingerprint,
                     const char *opened_at, const char *step, int attempt,
                     const char *alert_text, json_t *steps) {
    json_t *alert = alert_text ? json_or_string(alert_text, strlen(alert_text)) : NULL;
    return json_pack("{s:o, s:{s:s, s:s, s:s, s:s}, s:{s:s}, s:{s:s, s:i}, s:o}",
                     "alert", alert ? alert : json_object(),
                     "incident", "id", incident, "workflow", workflow,
                     "fingerprint", fingerprint ? fingerprint : "",
                     "opened_at", opened_at ? opened_at : "",
                     "workflow", "name", workflow,
                     "step", "id", step, "attempt", attempt,
                     "steps", steps ? steps : json_object());
}
