/* memfile.h - one in-memory file for fuzz targets whose parser reads a path */
#ifndef MUSTER_FUZZ_MEMFILE_H
#define MUSTER_FUZZ_MEMFILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Writes data to a memfd made on the first call and rewritten in place
 * after (a file on disk would make the disk, not the parser, the
 * bottleneck); returns its path, /proc/self/fd/N. Aborts when it cannot. */
static inline const char *memfile_write(const char *name, const uint8_t *data, size_t size) {
    static char path[64];
    static int fd = -1;
    if (fd < 0) {
        if ((fd = memfd_create(name, 0)) < 0) abort();
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size) abort();
    return path;
}

#endif
