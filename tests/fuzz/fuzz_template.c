/* fuzz_template.c - libFuzzer target for template parsing and rendering */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXLEN 65536

/* Used when the input carries no context of its own, so that every run
 * still renders against something with depth, arrays and odd values. */
static const char *fallback_ctx =
    "{\"alert\":{\"labels\":{\"service\":\"db\",\"severity\":\"critical\","
    "\"quote\":\"a\\\"b\\\\c\\nd\",\"n\":3,\"r\":0.5,\"t\":true,\"z\":null},"
    "\"items\":[\"zero\",{\"one\":1},[2]]},\"steps\":{\"diag\":{\"output\":"
    "{\"stdout\":\"h\\u00e9llo w\\u00f6rld\"}}}}";

static int count_paths(const char *path, void *arg) {
    (void)path;
    (*(size_t *)arg)++;
    return 0;
}

/* Input: template, then optionally a NUL byte and a JSON context. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nul = memchr(data, 0, size);
    size_t tlen = nul ? (size_t)(nul - data) : size;
    char *tmpl = malloc(tlen + 1), err[256];
    json_t *ctx = NULL, *tree = NULL, *out = NULL;
    size_t paths = 0;
    /* a small cap on every third input reaches the size-limit paths */
    size_t maxlen = size % 3 ? MAXLEN : 64;

    if (!tmpl) return 0;
    memcpy(tmpl, data, tlen);
    tmpl[tlen] = '\0';
    if (nul)
        ctx = json_loadb((const char *)nul + 1, size - tlen - 1,
                         JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (!ctx) ctx = json_loads(fallback_ctx, 0, NULL);

    int checked = template_check(tmpl, count_paths, &paths, err, sizeof(err));
    char *text = template_render(tmpl, ctx, maxlen, err, sizeof(err));
    /* a template the checker rejects must never render */
    if (text && checked != 0) abort();
    if (text && strlen(text) > maxlen) abort();
    free(text);

    /* as a JSON tree when the template is one, else as a lone string */
    tree = json_loads(tmpl, JSON_DECODE_ANY, NULL);
    if (!tree) tree = json_string(tmpl);
    if (tree) out = template_render_json(tree, ctx, maxlen, err, sizeof(err));
    if (out) {
        /* whatever the context held, the result must serialise and parse */
        char *body = json_dumps(out, JSON_ENCODE_ANY | JSON_COMPACT);
        json_t *back = body ? json_loads(body, JSON_DECODE_ANY | JSON_ALLOW_NUL,
                                         NULL)
                            : NULL;
        if (!back || !json_equal(back, out)) abort();
        json_decref(back);
        free(body);
    }
    json_decref(out);
    json_decref(tree);
    json_decref(ctx);
    free(tmpl);
    return 0;
}
