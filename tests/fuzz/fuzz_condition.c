/* fuzz_condition.c - condition_parse and condition_eval on arbitrary text */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/condition.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[256];
    char *text = malloc(size + 1);
    condition *c = NULL;
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (condition_parse(text, &c, err, sizeof(err)) == 0) {
        json_t *ctx = json_loads("{\"alert\":{\"labels\":{\"env\":\"prod\"}},\"steps\":{\"a\":{\"status\":\"succeeded\"}}}", 0, NULL);
        (void)condition_eval(c, ctx);
        json_decref(ctx);
        condition_free(c);
    }
    free(text);
    return 0;
}
