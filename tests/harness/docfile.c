/* docfile.c - test documents on disk, and problems expected at a place in them */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/harness/docfile.h"

char *docfile_write(const char *dir, const char *sub, const char *name, const char *text) {
    char *path = malloc(512);
    assert_non_null(path);
    snprintf(path, 512, "%s/%s", dir, sub);
    mkdir(path, 0700);
    snprintf(path, 512, "%s/%s/%s", dir, sub, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    return path;
}

void docfile_expect(const wf_diag *d, const char *path, const char *text, const char *marker,
                    const char *needle) {
    char want[1024];
    const char *at = strstr(text, marker);
    if (!at) fail_msg("marker \"%s\" is not in the text", marker);
    int line = 1, col = 1;
    for (const char *p = text; p < at; p++) {
        if (*p == '\n') line++, col = 1;
        else col++;
    }
    snprintf(want, sizeof(want), "%s:%d:%d: ", path, line, col);
    bool found = false;
    for (size_t i = 0; i < d->n && !found; i++)
        found = strncmp(d->msgs[i], want, strlen(want)) == 0 && strstr(d->msgs[i], needle);
    if (!found) {
        for (size_t i = 0; i < d->n; i++) print_error("  got: %s\n", d->msgs[i]);
        fail_msg("no problem \"%s...%s...\"", want, needle);
    }
}
