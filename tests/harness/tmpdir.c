/* tmpdir.c - a temporary directory for one test program */
#include "tests/harness/tmpdir.h"

#include <stdio.h>
#include <stdlib.h>

int tmpdir_make(char *dir, size_t len, const char *name) {
    snprintf(dir, len, "/tmp/muster-test-%s-XXXXXX", name);
    return mkdtemp(dir) ? 0 : -1;
}

int tmpdir_remove(const char *dir) {
    char cmd[512];
    if (!dir[0]) return 0;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}
