/* store.c - the Redis connection: reconnects, AUTH, Lua scripts by SHA */
#include "common/store.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "common/log.h"

extern const char store_lua_expand[];
extern const char store_lua_start[];
extern const char store_lua_complete[];
extern const char store_lua_promote[];
extern const char store_lua_extend[];
extern const char store_lua_handback[];
extern const char store_lua_replay[];
extern const char store_lua_ack[];
extern const char store_lua_done[];
extern const char store_lua_aggregate[];
extern const char store_lua_page[];
extern const char store_lua_timers[];

/* Bytes of unused read buffer a connection keeps between replies. */
#define STORE_READER_KEEP (1024 * 1024)

static const char *const script_src[SCRIPT_COUNT] = {
    [SCRIPT_EXPAND] = store_lua_expand,
    [SCRIPT_START] = store_lua_start,
    [SCRIPT_COMPLETE] = store_lua_complete,
    [SCRIPT_PROMOTE] = store_lua_promote,
    [SCRIPT_EXTEND] = store_lua_extend,
    [SCRIPT_HANDBACK] = store_lua_handback,
    [SCRIPT_REPLAY] = store_lua_replay,
    [SCRIPT_ACK] = store_lua_ack,
    [SCRIPT_DONE] = store_lua_done,
    [SCRIPT_AGGREGATE] = store_lua_aggregate,
    [SCRIPT_PAGE] = store_lua_page,
    [SCRIPT_TIMERS] = store_lua_timers,
};


struct store {
    redisContext *c;
    char *host;
    int port;
    char *user;
    char *password;
    char *prefix;
    char sha[SCRIPT_COUNT][41];
};

static void drop(store *s) {
    if (s->c) redisFree(s->c);
    s->c = NULL;
}

static int load_scripts(store *s, char *err, size_t errlen) {
    for (int i = 0; i < SCRIPT_COUNT; i++) {
        redisReply *r = redisCommand(s->c, "SCRIPT LOAD %s", script_src[i]);
        if (!r || r->type != REDIS_REPLY_STRING) {
            snprintf(err, errlen, "redis: SCRIPT LOAD failed: %s",
                     r ? (r->str ? r->str : "unexpected reply") : s->c->errstr);
            if (r) freeReplyObject(r);
            return -1;
        }
        snprintf(s->sha[i], sizeof(s->sha[i]), "%s", r->str);
        freeReplyObject(r);
    }
    return 0;
}

static int connect_now(store *s, char *err, size_t errlen) {
    struct timeval tv = {2, 0};
    redisReply *r = NULL;

    s->c = redisConnectWithTimeout(s->host, s->port, tv);
    if (!s->c || s->c->err) {
        snprintf(err, errlen, "redis %s:%d: %s", s->host, s->port,
                 s->c ? s->c->errstr : "out of memory");
        drop(s);
        return -1;
    }
    /* hiredis opens its socket without close-on-exec: no program the
     * daemon starts may hold the authenticated connection. */
    fcntl(s->c->fd, F_SETFD, FD_CLOEXEC);
    /* Commands never wait longer than this; a blocking XREADGROUP asks for
     * less. */
    struct timeval io = {10, 0};
    redisSetTimeout(s->c, io);
    /* hiredis frees its read buffer whenever more than 16 KiB of it is
     * unused, so after every large reply (an outbox batch, a task's run
     * record) the next reply grows it again from nothing. The benchmark's
     * profile of the worker put 8% of its CPU there (glibc consolidating
     * its fast bins for each large realloc). Keep up to 1 MiB instead. */
    s->c->reader->maxbuf = STORE_READER_KEEP;
    if (*s->password) {
        /* With an ACL user (Redis 6+) AUTH takes two arguments. */
        r = *s->user ? redisCommand(s->c, "AUTH %s %s", s->user, s->password)
                     : redisCommand(s->c, "AUTH %s", s->password);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            /* Never echo the password. */
            snprintf(err, errlen, "redis %s:%d: AUTH refused", s->host, s->port);
            goto fail;
        }
        freeReplyObject(r);
        r = NULL;
    }
    if (load_scripts(s, err, errlen) < 0) goto fail;
    return 0;
fail:
    if (r) freeReplyObject(r);
    drop(s);
    return -1;
}

store *store_open(const config *cfg, char *err, size_t errlen) {
    store *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    s->host = strdup(cfg->redis_host);
    s->port = (int)cfg->redis_port;
    s->user = strdup(cfg->redis_user);
    s->password = strdup(cfg->redis_password);
    s->prefix = strdup(cfg->redis_prefix);
    if (!s->host || !s->user || !s->password || !s->prefix || connect_now(s, err, errlen) < 0) {
        store_close(s);
        return NULL;
    }
    return s;
}

void store_close(store *s) {
    if (!s) return;
    drop(s);
    free(s->host);
    free(s->user);
    free(s->password);
    free(s->prefix);
    free(s);
}

const char *store_prefix(const store *s) { return s->prefix; }

int store_connected(const store *s) { return s->c != NULL; }

static int ensure(store *s) {
    char err[256];
    if (s->c) return 0;
    if (connect_now(s, err, sizeof(err)) < 0) {
        mlog(LOG_DEBUG, NULL, "%s", err);
        return -1;
    }
    mlog(LOG_INFO, NULL, "redis %s:%d: connected", s->host, s->port);
    return 0;
}

static redisReply *checked(store *s, void *reply) {
    if (!reply) {
        mlog(LOG_WARN, NULL, "redis %s:%d: %s", s->host, s->port,
             s->c && s->c->errstr[0] ? s->c->errstr : "connection lost");
        drop(s);
    }
    return reply;
}

redisReply *store_command(store *s, const char *fmt, ...) {
    va_list ap;
    void *r;
    if (ensure(s) < 0) return NULL;
    va_start(ap, fmt);
    r = redisvCommand(s->c, fmt, ap);
    va_end(ap);
    return checked(s, r);
}

redisReply *store_command_argv(store *s, int argc, const char **argv, const size_t *lens) {
    if (ensure(s) < 0) return NULL;
    return checked(s, redisCommandArgv(s->c, argc, argv, lens));
}

int store_append(store *s, const char *fmt, ...) {
    va_list ap;
    int rc;
    if (ensure(s) < 0) return -1;
    va_start(ap, fmt);
    rc = redisvAppendCommand(s->c, fmt, ap);
    va_end(ap);
    return rc == REDIS_OK ? 0 : -1;
}

int store_reply(store *s, redisReply **reply) {
    void *r = NULL;
    if (!s->c) return -1;
    if (redisGetReply(s->c, &r) != REDIS_OK || !r) {
        checked(s, NULL);
        return -1;
    }
    *reply = r;
    return 0;
}

#define EVAL_MAX_ARGS 32

redisReply *store_eval(store *s, store_script script, int argc, const char **argv,
                       char *err, size_t errlen) {
    const char *args[EVAL_MAX_ARGS + 4];
    size_t lens[EVAL_MAX_ARGS + 4];
    redisReply *r = NULL;

    if (argc > EVAL_MAX_ARGS) {
        snprintf(err, errlen, "too many script arguments");
        return NULL;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        if (ensure(s) < 0) {
            snprintf(err, errlen, "redis %s:%d: not reachable", s->host, s->port);
            return NULL;
        }
        args[0] = "EVALSHA";
        args[1] = s->sha[script];
        args[2] = "0";
        args[3] = s->prefix;
        for (int i = 0; i < 4; i++) lens[i] = strlen(args[i]);
        for (int i = 0; i < argc; i++) {
            args[4 + i] = argv[i];
            lens[4 + i] = strlen(argv[i]);
        }
        r = store_command_argv(s, argc + 4, args, lens);
        if (!r) {
            snprintf(err, errlen, "redis %s:%d: connection lost", s->host, s->port);
            return NULL;
        }
        if (r->type != REDIS_REPLY_ERROR) return r;
        if (strncmp(r->str, "NOSCRIPT", 8) == 0 && attempt == 0) {
            /* Redis restarted without its script cache: load again. */
            freeReplyObject(r);
            if (load_scripts(s, err, errlen) < 0) return NULL;
            continue;
        }
        snprintf(err, errlen, "redis script: %s", r->str);
        freeReplyObject(r);
        return NULL;
    }
    return NULL;
}

int store_group_create(store *s, const char *stream, const char *group) {
    redisReply *r = store_command(s, "XGROUP CREATE %s %s 0 MKSTREAM", stream, group);
    if (!r) return -1;
    int rc = (r->type != REDIS_REPLY_ERROR || strncmp(r->str, "BUSYGROUP", 9) == 0) ? 0 : -1;
    if (rc < 0) mlog(LOG_ERROR, NULL, "redis XGROUP CREATE %s %s: %s", stream, group, r->str);
    freeReplyObject(r);
    return rc;
}
