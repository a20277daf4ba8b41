/* sink_log.h - muster-sink's request log: one JSON object per line, appended */
#ifndef MUSTER_SINK_LOG_H
#define MUSTER_SINK_LOG_H

#include <stddef.h>

#include <jansson.h>

struct sink_log;

/* Opens (creating, appending) the log at path. On failure returns -1 and
 * fills err with the path and the reason. Caller frees with sink_log_close(). */
int sink_log_open(const char *path, struct sink_log **out, char *err, size_t errlen);

/* Appends entry as one compact JSON line and flushes it to the file before
 * returning, so a client that has its response can already read the line.
 * Safe from any thread; lines never interleave. Returns 0, or -1 (reported
 * on stderr) when the entry cannot be encoded or written. */
int sink_log_write(struct sink_log *log, const json_t *entry);

/* Closes the log; sink_log_close(NULL) is a no-op. */
void sink_log_close(struct sink_log *log);

#endif
