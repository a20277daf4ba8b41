/* fuzz_matcher.c - libFuzzer target for label matcher parsing and matching */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/matcher.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *label_sets[] = {
    "{}",
    "{\"severity\":\"critical\",\"service\":\"db\",\"env\":\"prod\"}",
    ("{\"a\":\"\",\"b\":null,\"c\":3,\"d\":0.25,\"e\":false,\"f\":[1,\"x\"],"
     "\"g\":\"line\\nbreak\",\"h\":\"nul\\u0000byte\",\"i\":\"\\u00e9\"}"),
};

/* Input: a matcher, then optionally a newline and a label value to match. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nl = memchr(data, '\n', size);
    size_t mlen = nl ? (size_t)(nl - data) : size;
    char *text = malloc(mlen + 1), err[256];
    matcher *m = NULL;

    if (!text) return 0;
    memcpy(text, data, mlen);
    text[mlen] = '\0'; /* an embedded NUL simply ends the matcher early */
    if (matcher_parse(text, &m, err, sizeof(err)) != 0) {
        if (m) abort();
        free(text);
        return 0;
    }
    for (size_t k = 0; k < sizeof(label_sets) / sizeof(label_sets[0]); k++) {
        json_t *labels = json_loads(label_sets[k], JSON_ALLOW_NUL, NULL);
        (void)matcher_match(m, labels);
        json_decref(labels);
    }

    /* a label holding exactly the value: = must match, != must not */
    json_t *own = json_object();
    json_object_set_new_nocheck(own, matcher_name(m),
                                json_string_nocheck(matcher_value(m)));
    bool hit = matcher_match(m, own);
    if (matcher_op(m) == MATCH_EQ && !hit) abort();
    if (matcher_op(m) == MATCH_NE && hit) abort();

    /* and the fuzzer's own bytes as the value, NULs included */
    if (nl) {
        json_object_set_new_nocheck(
            own, matcher_name(m),
            json_stringn_nocheck((const char *)nl + 1, size - mlen - 1));
        (void)matcher_match(m, own);
    }
    json_decref(own);
    matcher_free(m);
    free(text);
    return 0;
}
