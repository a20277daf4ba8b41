/* fuzz_filters.c - libFuzzer target for the query of GET /api/v1/incidents:
 * any parameters are taken or refused with the field named, and what is
 * taken is within its bounds */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/filters.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXP 16

typedef struct params {
    char *key[MAXP], *value[MAXP];
    size_t n;
} params;

static const char *get(void *arg, const char *key) {
    params *p = arg;
    for (size_t i = 0; i < p->n; i++)
        if (!strcmp(p->key[i], key)) return p->value[i];
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 4096) return 0;
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    /* key=value pairs separated by '&', as a query string decodes */
    params p = {0};
    for (char *save = NULL, *pair = strtok_r(text, "&", &save); pair && p.n < MAXP;
         pair = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(pair, '=');
        if (!eq) continue;
        *eq = '\0';
        p.key[p.n] = pair;
        p.value[p.n++] = eq + 1;
    }
    incident_filter f;
    char err[512] = "";
    if (filter_parse(&f, get, &p, 1800000000000LL, err, sizeof(err)) < 0) {
        if (!strchr(err, ':')) abort(); /* "field: what is wrong" */
    } else {
        if (f.limit < 1 || f.limit > FILTER_LIMIT_MAX) abort();
        if (f.since_ms < 0 || f.until_ms < 0) abort();
        if (f.since_ms && f.until_ms && f.since_ms >= f.until_ms) abort();
        if (strlen(f.q) >= FILTER_TEXT_MAX || strlen(f.workflow) >= FILTER_TEXT_MAX) abort();
        json_t *s = json_pack("{s:s, s:s, s:s, s:s}", "id", "inc-1", "status", "open", "summary",
                              "Disk full", "workflow", f.workflow);
        (void)filter_match(&f, s);
        json_decref(s);
        char cur[200];
        filter_cursor(f.cursor_ms, f.has_cursor ? f.cursor_id : "inc-1", cur, sizeof(cur));
    }
    free(text);
    return 0;
}
