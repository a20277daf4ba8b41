/* log.h - one JSON object per line on stderr, level checked before formatting */
#ifndef MUSTER_LOG_H
#define MUSTER_LOG_H

typedef enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

/* Where a line belongs; any field may be NULL. */
typedef struct log_ctx {
    const char *incident;
    const char *task;
    const char *step;
} log_ctx;

extern log_level log_min_level;

/* Sets the minimum level from its name (debug, info, warn, error).
 * Returns 0, or -1 when the name is unknown. */
int log_set_level(const char *name);

/* Names the program in every line ("dispatcher", "worker", ...). */
void log_set_program(const char *name);

void log_write(log_level level, const log_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The one logging macro: arguments are not evaluated below the level. */
#define mlog(level, ctx, ...)                                                  \
    do {                                                                       \
        if ((level) >= log_min_level) log_write((level), (ctx), __VA_ARGS__);  \
    } while (0)

#endif
