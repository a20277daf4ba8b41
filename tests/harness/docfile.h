/* docfile.h - test documents on disk, and problems expected at a place in them */
#ifndef MUSTER_DOCFILE_H
#define MUSTER_DOCFILE_H

#include "common/diag.h"

/* Writes text to dir/sub/name (making dir/sub); returns the path (caller
 * frees). Fails the test when it cannot. */
char *docfile_write(const char *dir, const char *sub, const char *name, const char *text);

/* Fails the test unless d holds a problem "path:L:C: ...needle...", where
 * L:C is the first place of `marker` in text. */
void docfile_expect(const wf_diag *d, const char *path, const char *text, const char *marker,
                    const char *needle);

#endif
