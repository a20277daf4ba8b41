/* sentinel.h - finding the Redis primary by asking Redis Sentinel */
#ifndef MUSTER_SENTINEL_H
#define MUSTER_SENTINEL_H

#include <stddef.h>

/* Most sentinels one list may name. */
#define SENTINEL_MAX 16

/* Checks that `list` is one or more comma-separated host:port entries
 * ([v6addr]:port for IPv6), at most SENTINEL_MAX. Returns the number of
 * entries, or -1 with err naming the bad entry. */
int sentinel_list_check(const char *list, char *err, size_t errlen);

/* Asks the sentinels of `list` in turn, starting with entry *first, for the
 * address of the primary they call `name` (SENTINEL get-master-addr-by-name),
 * sending AUTH `password` first unless it is empty. Each connect and each
 * reply waits at most timeout_ms. On success fills host (hostlen bytes) and
 * port, sets *first to the entry that answered (so it is asked first next
 * time) and returns 0. Returns -1 with err holding why the last sentinel
 * did not answer when none did. */
int sentinel_primary(const char *list, const char *name, const char *password, int timeout_ms,
                     int *first, char *host, size_t hostlen, int *port, char *err, size_t errlen);

#endif
