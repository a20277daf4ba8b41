/* fuzz_kpi.c - libFuzzer target for what muster report reads: the per-day
 * fields and samples of times from Redis, and its options (--by, --since
 * durations with d and w, --until times) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "metrics/aggregate.h"
#include "metrics/kpi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* The sample as Redis hands it: len bytes, no NUL after them. */
    char *exact = malloc(size ? size : 1);
    int64_t out[64];
    if (!exact) return 0;
    memcpy(exact, data, size);
    size_t n = kpi_sample_parse(exact, size, out, 64);
    if (n > 64) abort();
    for (size_t i = 0; i < n; i++)
        if (out[i] < 0) abort();
    free(exact);

    char *text = malloc(size + 1), *labels[3], *figure;
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    kpi_by by;
    if (kpi_by_parse(text, &by) == 0 && by != KPI_BY_NONE && strcmp(kpi_by_name(by), text) != 0) abort();
    if (kpi_field_parse(text, labels, &figure) == 0) {
        if (!*figure || strchr(figure, '\t')) abort();
        for (int i = 0; i < 3; i++)
            if (strchr(labels[i], '\t')) abort();
    }
    int64_t ms = -1;
    if (duration_parse(text, &ms) == 0 && ms < 0) abort();
    aggregate_parse_time(text, &ms);
    free(text);
    return 0;
}
