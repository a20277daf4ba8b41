/* tmpdir.h - a temporary directory for one test program */
#ifndef MUSTER_TMPDIR_H
#define MUSTER_TMPDIR_H

#include <stddef.h>

/* Makes /tmp/muster-test-NAME-XXXXXX into dir (at least 64 bytes).
 * Returns 0 or -1. */
int tmpdir_make(char *dir, size_t len, const char *name);

/* Removes it and everything in it. Returns 0 or -1. */
int tmpdir_remove(const char *dir);

#endif
