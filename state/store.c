/* store.c - the Redis connection: reconnects, AUTH, Lua scripts by SHA */
#include "state/store.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "common/log.h"
#include "state/sentinel.h"
#include "common/util.h"

extern const char store_lua_expand[];
extern const char store_lua_turn[];
extern const char store_lua_promote[];
extern const char store_lua_extend[];
extern const char store_lua_handback[];
extern const char store_lua_replay[];
extern const char store_lua_ack[];
extern const char store_lua_done[];
extern const char store_lua_aggregate[];
extern const char store_lua_gc[];
extern const char store_lua_resolve[];
extern const char store_lua_page[];
extern const char store_lua_timers[];

/* Bytes of unused read buffer a connection keeps between replies. */
#define STORE_READER_KEEP (1024 * 1024)

/* How long one sentinel may take to connect and to answer. */
#define SENTINEL_TIMEOUT_MS 500

/* After a WAIT that came back short, how long muster writes without
 * waiting before it tries again. */
#define WAIT_PAUSE_MS 5000

static const char *const script_src[SCRIPT_COUNT] = {
    [SCRIPT_EXPAND] = store_lua_expand,
    [SCRIPT_TURN] = store_lua_turn,
    [SCRIPT_PROMOTE] = store_lua_promote,
    [SCRIPT_EXTEND] = store_lua_extend,
    [SCRIPT_HANDBACK] = store_lua_handback,
    [SCRIPT_REPLAY] = store_lua_replay,
    [SCRIPT_ACK] = store_lua_ack,
    [SCRIPT_DONE] = store_lua_done,
    [SCRIPT_AGGREGATE] = store_lua_aggregate,
    [SCRIPT_GC] = store_lua_gc,
    [SCRIPT_RESOLVE] = store_lua_resolve,
    [SCRIPT_PAGE] = store_lua_page,
    [SCRIPT_TIMERS] = store_lua_timers,
};


/* Scripts whose effect a caller acts on outside Redis once they return:
 * the dispatcher stores the alert's Kafka offset, a worker moves on from a
 * finished step. With redis.wait_replicas they return only once replicas
 * hold the write. */
static const int script_waits[SCRIPT_COUNT] = {
    [SCRIPT_EXPAND] = 1,
    [SCRIPT_TURN] = 1,
};

struct store {
    redisContext *c;
    unsigned long generation; /* connections made so far */
    char *host; /* the primary: redis.host, or the sentinels' answer */
    int port;
    char *user;
    char *password;
    char *prefix;
    char *sentinels; /* empty: connect to host:port as configured */
    char *master_name;
    char *sentinel_password;
    int sentinel_first; /* the sentinel that answered last is asked first */
    int demoted;        /* a reply said READONLY: reconnect before the next command */
    int wait_replicas;
    int wait_timeout_ms;
    int64_t wait_paused_until; /* mono_ms; WAIT came back short */
    int wait_short;            /* the last WAIT came back short (logged once) */
    char sha[SCRIPT_COUNT][41];
};

static void drop(store *s) {
    if (s->c) redisFree(s->c);
    s->c = NULL;
    s->demoted = 0;
}

static int is_readonly(const redisReply *r) {
    return r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "READONLY", 8) == 0;
}

/* Asks the sentinels where the primary is now, and logs when it moved. */
static int find_primary(store *s, char *err, size_t errlen) {
    char host[256];
    int port;
    if (sentinel_primary(s->sentinels, s->master_name, s->sentinel_password, SENTINEL_TIMEOUT_MS,
                         &s->sentinel_first, host, sizeof(host), &port, err, errlen) < 0)
        return -1;
    if (s->port == port && strcmp(s->host, host) == 0) return 0;
    char *copy = strdup(host);
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (*s->host)
        mlog(LOG_WARN, NULL, "redis primary \"%s\" moved from %s:%d to %s:%d", s->master_name,
             s->host, s->port, host, port);
    else
        mlog(LOG_INFO, NULL, "redis primary \"%s\" is %s:%d", s->master_name, host, port);
    free(s->host);
    s->host = copy;
    s->port = port;
    return 0;
}

/* A sentinel may name the old primary for a moment after a failover, or a
 * demoted one before it has noticed: write only to a server that says it
 * is a primary. */
static int check_role(store *s, char *err, size_t errlen) {
    redisReply *r = redisCommand(s->c, "ROLE");
    int rc = -1;
    if (!r) {
        snprintf(err, errlen, "redis %s:%d: ROLE: %s", s->host, s->port, s->c->errstr);
    } else if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
               r->element[0]->type != REDIS_REPLY_STRING) {
        snprintf(err, errlen, "redis %s:%d: ROLE: %s", s->host, s->port,
                 r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    } else if (strcmp(r->element[0]->str, "master") != 0) {
        snprintf(err, errlen, "redis %s:%d: is a %s, not the primary", s->host, s->port,
                 r->element[0]->str);
    } else {
        rc = 0;
    }
    if (r) freeReplyObject(r);
    return rc;
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

    if (*s->sentinels) {
        if (find_primary(s, err, errlen) < 0) return -1;
        tv.tv_sec = 0;
        tv.tv_usec = SENTINEL_TIMEOUT_MS * 1000;
    }
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
    if (*s->sentinels && check_role(s, err, errlen) < 0) goto fail;
    if (load_scripts(s, err, errlen) < 0) goto fail;
    s->generation++;
    return 0;
fail:
    if (r) freeReplyObject(r);
    drop(s);
    return -1;
}

store *store_open(const config *cfg, char *err, size_t errlen) {
    store *s = calloc(1, sizeof(*s));
    if (!s) return NULL;
    int sentinel = *cfg->redis_sentinels != '\0';
    s->host = strdup(sentinel ? "" : cfg->redis_host);
    s->port = sentinel ? 0 : (int)cfg->redis_port;
    s->user = strdup(cfg->redis_user);
    s->password = strdup(cfg->redis_password);
    s->prefix = strdup(cfg->redis_prefix);
    s->sentinels = strdup(cfg->redis_sentinels);
    s->master_name = strdup(cfg->redis_master_name);
    s->sentinel_password = strdup(cfg->redis_sentinel_password);
    s->wait_replicas = (int)cfg->redis_wait_replicas;
    s->wait_timeout_ms = (int)cfg->redis_wait_timeout_ms;
    if (!s->host || !s->user || !s->password || !s->prefix || !s->sentinels || !s->master_name ||
        !s->sentinel_password) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (sentinel && sentinel_list_check(s->sentinels, err, errlen) < 0) goto fail;
    if (connect_now(s, err, errlen) < 0) goto fail;
    return s;
fail:
    store_close(s);
    return NULL;
}

void store_close(store *s) {
    if (!s) return;
    drop(s);
    free(s->host);
    free(s->user);
    free(s->password);
    free(s->prefix);
    free(s->sentinels);
    free(s->master_name);
    free(s->sentinel_password);
    free(s);
}

unsigned long store_generation(const store *s) { return s->generation; }

int store_fd(const store *s) { return s->c ? s->c->fd : -1; }

const char *store_prefix(const store *s) { return s->prefix; }

int store_connected(const store *s) { return s->c != NULL; }

static int ensure(store *s) {
    char err[512];
    if (s->c && s->demoted) drop(s);
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

/* Sends one formatted command and reads its reply. A READONLY reply means
 * the server was demoted and did nothing: ask again where the primary is and
 * send the command once more. */
static redisReply *run(store *s, const char *cmd, size_t len) {
    void *r = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (ensure(s) < 0) return NULL;
        if (redisAppendFormattedCommand(s->c, cmd, len) != REDIS_OK || redisGetReply(s->c, &r) != REDIS_OK)
            r = NULL;
        if (!checked(s, r) || !is_readonly(r) || attempt == 1) return r;
        mlog(LOG_WARN, NULL, "redis %s:%d: no longer the primary (READONLY); reconnecting", s->host,
             s->port);
        freeReplyObject(r);
        r = NULL;
        drop(s);
    }
    return r;
}

redisReply *store_command(store *s, const char *fmt, ...) {
    va_list ap;
    char *cmd = NULL;
    va_start(ap, fmt);
    int len = redisvFormatCommand(&cmd, fmt, ap);
    va_end(ap);
    if (len < 0) return NULL;
    redisReply *r = run(s, cmd, (size_t)len);
    redisFreeCommand(cmd);
    return r;
}

redisReply *store_command_argv(store *s, int argc, const char **argv, const size_t *lens) {
    char *cmd = NULL;
    int len = redisFormatCommandArgv(&cmd, argc, argv, lens);
    if (len < 0) return NULL;
    redisReply *r = run(s, cmd, (size_t)len);
    redisFreeCommand(cmd);
    return r;
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

int store_append_argv(store *s, int argc, const char **argv, const size_t *lens) {
    if (ensure(s) < 0) return -1;
    return redisAppendCommandArgv(s->c, argc, argv, lens) == REDIS_OK ? 0 : -1;
}

int store_reply(store *s, redisReply **reply) {
    void *r = NULL;
    if (!s->c) return -1;
    if (redisGetReply(s->c, &r) != REDIS_OK || !r) {
        checked(s, NULL);
        return -1;
    }
    /* The replies queued behind this one are still read from this
     * connection; the next command reconnects. */
    if (is_readonly(r)) s->demoted = 1;
    *reply = r;
    return 0;
}

int store_wait_replicas(store *s) {
    if (s->wait_replicas <= 0 || mono_ms() < s->wait_paused_until) return 0;
    redisReply *r = store_command(s, "WAIT %d %d", s->wait_replicas, s->wait_timeout_ms);
    if (!r) return -1;
    long long n = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (r->type == REDIS_REPLY_ERROR)
        mlog(LOG_WARN, NULL, "redis %s:%d: WAIT: %s", s->host, s->port, r->str);
    freeReplyObject(r);
    if (n >= s->wait_replicas) {
        if (s->wait_short)
            mlog(LOG_INFO, NULL, "redis %s:%d: %d replica(s) confirm writes again", s->host, s->port,
                 s->wait_replicas);
        s->wait_short = 0;
        return 0;
    }
    /* Fewer replicas than asked (one is down, or a failover left the new
     * primary alone): write without waiting for a while rather than add the
     * timeout to every write. */
    s->wait_paused_until = mono_ms() + WAIT_PAUSE_MS;
    if (!s->wait_short)
        mlog(LOG_WARN, NULL,
             "redis %s:%d: %lld of %d replica(s) confirmed within %d ms; writes go on unconfirmed "
             "(asking again every %d s)",
             s->host, s->port, n < 0 ? 0 : n, s->wait_replicas, s->wait_timeout_ms,
             WAIT_PAUSE_MS / 1000);
    s->wait_short = 1;
    return 0;
}

#define EVAL_MAX_ARGS 32

static redisReply *eval_with(store *s, store_script script, int argc, const char **argv,
                             const char **args, size_t *lens, char *err, size_t errlen);

redisReply *store_eval(store *s, store_script script, int argc, const char **argv,
                       char *err, size_t errlen) {
    const char *small_args[EVAL_MAX_ARGS + 4];
    size_t small_lens[EVAL_MAX_ARGS + 4];
    const char **args = small_args;
    size_t *lens = small_lens;
    redisReply *r = NULL;

    /* A worker's turn carries a batch: its arguments go on the heap. */
    if (argc > EVAL_MAX_ARGS) {
        args = malloc(((size_t)argc + 4) * sizeof(*args));
        lens = malloc(((size_t)argc + 4) * sizeof(*lens));
        if (!args || !lens) {
            free(args);
            free(lens);
            snprintf(err, errlen, "out of memory for %d script arguments", argc);
            return NULL;
        }
    }
    r = eval_with(s, script, argc, argv, args, lens, err, errlen);
    if (args != small_args) {
        free(args);
        free(lens);
    }
    return r;
}

static redisReply *eval_with(store *s, store_script script, int argc, const char **argv,
                             const char **args, size_t *lens, char *err, size_t errlen) {
    redisReply *r = NULL;
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
        if (r->type != REDIS_REPLY_ERROR) {
            if (script_waits[script] && store_wait_replicas(s) < 0) {
                /* Done on a primary that is now gone: whether a replica
                 * has it is unknown, so the caller tries again. */
                snprintf(err, errlen, "redis %s:%d: connection lost before replicas confirmed",
                         s->host, s->port);
                freeReplyObject(r);
                return NULL;
            }
            return r;
        }
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

int store_eval_append(store *s, store_script script, int argc, const char **argv) {
    const char *head[4] = {"EVALSHA", s->sha[script], "0", s->prefix};
    const char **args = malloc(((size_t)argc + 4) * sizeof(*args));
    if (!args) return -1;
    memcpy(args, head, sizeof(head));
    memcpy(args + 4, argv, (size_t)argc * sizeof(*argv));
    int rc = store_append_argv(s, argc + 4, args, NULL);
    free(args);
    return rc;
}

int store_eval_reply(store *s, redisReply **reply, char *err, size_t errlen) {
    redisReply *r = NULL;
    *reply = NULL;
    if (store_reply(s, &r) < 0) {
        snprintf(err, errlen, "redis %s:%d: connection lost", s->host, s->port);
        return -1;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        int noscript = strncmp(r->str, "NOSCRIPT", 8) == 0;
        snprintf(err, errlen, "redis script: %s", r->str);
        freeReplyObject(r);
        return noscript ? -2 : -3;
    }
    *reply = r;
    return 0;
}

int store_group_create(store *s, const char *stream, const char *group) {
    redisReply *r = store_command(s, "XGROUP CREATE %s %s 0 MKSTREAM", stream, group);
    if (!r) return -1;
    int rc = (r->type != REDIS_REPLY_ERROR || strncmp(r->str, "BUSYGROUP", 9) == 0) ? 0 : -1;
    if (rc < 0) mlog(LOG_ERROR, NULL, "redis XGROUP CREATE %s %s: %s", stream, group, r->str);
    freeReplyObject(r);
    return rc;
}
