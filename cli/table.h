/* table.h - text tables whose columns are as wide as their content */
#ifndef MUSTER_CLI_TABLE_H
#define MUSTER_CLI_TABLE_H

#include <stdio.h>

typedef struct table table;

/* A table of ncols columns headed by headers (copied). NULL when out of
 * memory. Free with table_free(). */
table *table_new(size_t ncols, const char *const *headers);

/* table_free(NULL) is a no-op. */
void table_free(table *t);

/* Adds a row of ncols cells (copied; NULL prints as ""). Returns 0 or -1. */
int table_add(table *t, const char *const *cells);

/* Prints the header and the rows, each column padded to its widest cell
 * (the last one not padded), two spaces apart. */
void table_print(const table *t, FILE *out);

/* Formats n with a comma between thousands ("19,800") into buf. */
void table_thousands(long long n, char *buf, size_t len);

#endif
