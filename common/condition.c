/* condition.c - a step's if: a path into the run's context, a matcher op, a value */
#include "common/condition.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/matcher.h"
#include "common/template.h"

struct condition {
    char path[CONDITION_MAX_PATH];
    matcher *m; /* over the single label "v" */
};

int condition_parse(const char *text, condition **out, char *err, size_t errlen) {
    char synth[4096], merr[256];
    const char *p = text;
    size_t n = 0;
    condition *c = NULL;

    *out = NULL;
    while (isspace((unsigned char)*p)) p++;
    const char *start = p;
    while (*p && (isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '.')) p++;
    n = (size_t)(p - start);
    const char *dots = strstr(start, "..");
    if (n == 0 || start[0] == '.' || start[n - 1] == '.' || (dots && dots < p)) {
        snprintf(err, errlen, "expected a path such as steps.diag.status before the operator");
        return -1;
    }
    if (n >= CONDITION_MAX_PATH) {
        snprintf(err, errlen, "path longer than %d bytes", CONDITION_MAX_PATH - 1);
        return -1;
    }
    /* The rest is a matcher on a stand-in label: `v OP "value"`. */
    if (snprintf(synth, sizeof(synth), "v%s", p) >= (int)sizeof(synth)) {
        snprintf(err, errlen, "condition too long");
        return -1;
    }
    if (!(c = calloc(1, sizeof(*c)))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(c->path, start, n);
    c->path[n] = '\0';
    if (matcher_parse(synth, &c->m, merr, sizeof(merr)) < 0) {
        snprintf(err, errlen, "after \"%s\": %s", c->path, merr);
        free(c);
        return -1;
    }
    *out = c;
    return 0;
}

const char *condition_path(const condition *c) { return c->path; }

bool condition_eval(const condition *c, const json_t *ctx) {
    char tmpl[CONDITION_MAX_PATH + 8], err[256];
    snprintf(tmpl, sizeof(tmpl), "{{ %s }}", c->path);
    char *value = template_render(tmpl, ctx, 65536, err, sizeof(err));
    json_t *fields = json_pack("{s:s}", "v", value ? value : "");
    bool ok = fields && matcher_match(c->m, fields);
    json_decref(fields);
    free(value);
    return ok;
}

void condition_free(condition *c) {
    if (!c) return;
    matcher_free(c->m);
    free(c);
}
