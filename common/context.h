/* context.h - the template context of a step: what its templates may read */
#ifndef MUSTER_CONTEXT_H
#define MUSTER_CONTEXT_H

#include <stddef.h>

#include <jansson.h>

/* {"alert", "incident": {"id", "workflow", "fingerprint", "opened_at"},
 *  "workflow": {"name"}, "step": {"id", "attempt"}, "steps"} from what the
 * start transition read. alert_text is the alert as JSON text (NULL or ""
 * gives {}); steps is taken over (NULL gives {}). Returns a new object or
 * NULL when out of memory. */
json_t *task_context(const char *incident, const char *workflow, const char *fingerprint,
                     const char *opened_at, const char *step, int attempt,
                     const char *alert_text, json_t *steps);

/* JSON text as a value: the parsed document, or the text as a string when
 * it is not JSON; NULL for NULL or "". */
json_t *json_or_string(const char *text, size_t len);

#endif
