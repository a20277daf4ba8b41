/* sink_log.c - muster-sink's request log: one JSON object per line, appended */
#include "sink_log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sink_log {
    char *path;
    int fd;
    pthread_mutex_t lock; /* one line at a time */
};

int sink_log_open(const char *path, struct sink_log **out, char *err, size_t errlen) {
    int rc = -1;
    struct sink_log *log = NULL;

    *out = NULL;
    if (!(log = calloc(1, sizeof *log)) || !(log->path = strdup(path))) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    log->fd = -1;
    if (pthread_mutex_init(&log->lock, NULL) != 0) {
        snprintf(err, errlen, "%s: cannot create log mutex", path);
        goto out;
    }
    log->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log->fd < 0) {
        snprintf(err, errlen, "%s: cannot open log: %s", path, strerror(errno));
        pthread_mutex_destroy(&log->lock);
        goto out;
    }
    *out = log;
    log = NULL;
    rc = 0;
out:
    if (log) {
        free(log->path);
        free(log);
    }
    return rc;
}

/* Writes all len bytes, riding out short writes and signals. */
static int write_all(int fd, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int sink_log_write(struct sink_log *log, const json_t *entry) {
    int rc = -1;
    char *line = NULL;
    size_t len;

    /* Encode outside the lock: a 1 MiB body takes a while to escape. */
    if (!(line = json_dumps(entry, JSON_COMPACT))) {
        fprintf(stderr, "muster-sink: %s: cannot encode a log entry\n", log->path);
        goto out;
    }
    len = strlen(line);
    line[len] = '\n'; /* replaces the NUL; the length is known */
    pthread_mutex_lock(&log->lock);
    /* One write(2) on an O_APPEND descriptor: the line reaches the file
     * whole and unbuffered, so there is nothing left to flush. */
    if (write_all(log->fd, line, len + 1) != 0) {
        int e = errno;
        pthread_mutex_unlock(&log->lock);
        fprintf(stderr, "muster-sink: %s: cannot write log: %s\n", log->path, strerror(e));
        goto out;
    }
    pthread_mutex_unlock(&log->lock);
    rc = 0;
out:
    free(line);
    return rc;
}

void sink_log_close(struct sink_log *log) {
    if (!log)
        return;
    if (close(log->fd) != 0)
        fprintf(stderr, "muster-sink: %s: cannot close log: %s\n", log->path, strerror(errno));
    pthread_mutex_destroy(&log->lock);
    free(log->path);
    free(log);
}
