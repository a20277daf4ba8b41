/* log.c - one JSON object per line on stderr, level checked before formatting */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

log_level log_min_level = LOG_INFO;
static const char *program = "muster";

static const char *level_names[] = {"debug", "info", "warn", "error"};

int log_set_level(const char *name) {
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(name, level_names[i]) == 0) {
            log_min_level = (log_level)i;
            return 0;
        }
    }
    return -1;
}

void log_set_program(const char *name) { program = name; }

void log_write(log_level level, const log_ctx *ctx, const char *fmt, ...) {
    char msg[2048];
    char ts[40];
    struct timespec now;
    struct tm tm;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    size_t n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof(ts) - n, ".%03ldZ", now.tv_nsec / 1000000);

    /* jansson escapes the message, so a hostile alert field cannot forge a
     * second log line. */
    json_t *line = json_pack("{s:s, s:s, s:s, s:s}", "time", ts, "level",
                             level_names[level], "program", program, "msg", msg);
    if (!line) {
        /* Not UTF-8: keep the line, lose the odd bytes. */
        for (char *p = msg; *p; p++)
            if ((unsigned char)*p >= 0x80) *p = '?';
        line = json_pack("{s:s, s:s, s:s, s:s}", "time", ts, "level",
                         level_names[level], "program", program, "msg", msg);
        if (!line) return;
    }
    if (ctx) {
        if (ctx->incident) json_object_set_new(line, "incident", json_string(ctx->incident));
        if (ctx->task) json_object_set_new(line, "task", json_string(ctx->task));
        if (ctx->step) json_object_set_new(line, "step", json_string(ctx->step));
    }
    char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (text) {
        fprintf(stderr, "%s\n", text);
        free(text);
    }
    json_decref(line);
}
