/* table.c - text tables whose columns are as wide as their content */
#include "cli/table.h"

#include <stdlib.h>
#include <string.h>

struct table {
    size_t ncols, nrows, cap;
    char **cells; /* row-major; row 0 is the header */
};

table *table_new(size_t ncols, const char *const *headers) {
    table *t = calloc(1, sizeof(*t));
    if (!t) return NULL;
    t->ncols = ncols;
    if (table_add(t, headers) < 0) {
        table_free(t);
        return NULL;
    }
    return t;
}

void table_free(table *t) {
    if (!t) return;
    for (size_t i = 0; i < t->nrows * t->ncols; i++) free(t->cells[i]);
    free(t->cells);
    free(t);
}

int table_add(table *t, const char *const *cells) {
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **c = realloc(t->cells, cap * t->ncols * sizeof(*c));
        if (!c) return -1;
        t->cells = c;
        t->cap = cap;
    }
    char **row = t->cells + t->nrows * t->ncols;
    for (size_t j = 0; j < t->ncols; j++) {
        if (!(row[j] = strdup(cells[j] ? cells[j] : ""))) {
            while (j--) free(row[j]);
            return -1;
        }
    }
    t->nrows++;
    return 0;
}

void table_print(const table *t, FILE *out) {
    size_t width[16] = {0};
    size_t n = t->ncols < 16 ? t->ncols : 16;
    for (size_t i = 0; i < t->nrows; i++)
        for (size_t j = 0; j < n; j++) {
            size_t len = strlen(t->cells[i * t->ncols + j]);
            if (len > width[j]) width[j] = len;
        }
    for (size_t i = 0; i < t->nrows; i++) {
        for (size_t j = 0; j < n; j++) {
            const char *cell = t->cells[i * t->ncols + j];
            if (j + 1 < n)
                fprintf(out, "%-*s  ", (int)width[j], cell);
            else
                fprintf(out, "%s\n", cell);
        }
    }
}

void table_thousands(long long n, char *buf, size_t len) {
    char digits[32];
    int nd = snprintf(digits, sizeof(digits), "%lld", n < 0 ? -n : n);
    size_t o = 0;
    if (n < 0 && o + 1 < len) buf[o++] = '-';
    for (int i = 0; i < nd && o + 1 < len; i++) {
        if (i > 0 && (nd - i) % 3 == 0 && o + 2 < len) buf[o++] = ',';
        buf[o++] = digits[i];
    }
    if (len) buf[o < len ? o : len - 1] = '\0';
}
