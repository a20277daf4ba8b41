/* fuzz_yaml.c - libFuzzer target for YAML/JSON parsing with positions */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every pointer in positions must place itself, and lie inside the input. */
static void check_positions(const json_t *positions, size_t size) {
    const char *ptr;
    json_t *p;
    json_object_foreach((json_t *)positions, ptr, p) {
        int line, col;
        if (ptr[0] != '\0' && ptr[0] != '/') abort();
        yaml_position(positions, ptr, &line, &col);
        /* an empty scalar at the end may sit just past the last byte */
        if (line < 1 || col < 1 || (size_t)line > size + 2 || (size_t)col > size + 2) abort();
    }
}

/* Input: a document, parsed once with positions and once without. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[512], err2[512];
    json_t *positions = NULL;

    err[0] = err2[0] = '\0';
    json_t *doc = yaml_parse("fuzz.yaml", (const char *)data, size, &positions, err, sizeof(err));
    json_t *plain = yaml_parse("fuzz.yaml", (const char *)data, size, NULL, err2, sizeof(err2));
    /* positions never change the outcome */
    if (!doc != !plain) abort();
    if (doc) {
        if (!positions || !json_equal(doc, plain)) abort();
        check_positions(positions, size);
        /* whatever was read must serialise as JSON */
        char *text = json_dumps(doc, JSON_ENCODE_ANY | JSON_COMPACT);
        if (!text) abort();
        free(text);
    } else {
        if (positions || strncmp(err, "fuzz.yaml", 9) != 0 || strcmp(err, err2) != 0) abort();
    }
    json_decref(doc);
    json_decref(plain);
    json_decref(positions);
    return 0;
}
