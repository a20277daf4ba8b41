/* store.h - the Redis connection: reconnects, AUTH, Lua scripts by SHA */
#ifndef MUSTER_STORE_H
#define MUSTER_STORE_H

#include <stddef.h>
#include <hiredis/hiredis.h>

#include "common/config.h"

typedef enum {
    SCRIPT_EXPAND,
    SCRIPT_TURN,
    SCRIPT_PROMOTE,
    SCRIPT_EXTEND,
    SCRIPT_HANDBACK,
    SCRIPT_REPLAY,
    SCRIPT_ACK,
    SCRIPT_DONE,
    SCRIPT_AGGREGATE,
    SCRIPT_GC,
    SCRIPT_RESOLVE,
    SCRIPT_PAGE,
    SCRIPT_TIMERS,
    SCRIPT_COUNT
} store_script;

typedef struct store store;

/* Connects to the Redis that cfg names and loads the scripts. With
 * redis.sentinels set, the primary is the one the sentinels name and that
 * says so itself (ROLE); it is asked for again whenever the connection is
 * lost or a reply says READONLY. Returns the store (caller frees with
 * store_close()) or NULL with err filled. The store copies what it needs
 * from cfg. Not thread-safe: one thread uses a store. */
store *store_open(const config *cfg, char *err, size_t errlen);

void store_close(store *s);

/* The key prefix ("muster"). */
const char *store_prefix(const store *s);

/* How many connections this store has made: a caller that must know what
 * Redis holds (the step definitions the dispatcher wrote) starts again when
 * it changes, since the server may be another one, or have restarted. */
unsigned long store_generation(const store *s);
/* The connection's socket, to wait for a pipelined reply; -1 when not
 * connected. */
int store_fd(const store *s);
/* Whether the last command reached Redis. */
int store_connected(const store *s);

/* Runs one command (hiredis format). Returns the reply (caller frees with
 * freeReplyObject()), or NULL when Redis cannot be reached; the connection is
 * then dropped and made again by the next call. A READONLY reply (the server
 * was demoted) reconnects and sends the command once more. Any other error
 * reply is returned as a reply of type REDIS_REPLY_ERROR. */
redisReply *store_command(store *s, const char *fmt, ...);

/* Same with an argument vector (binary safe). */
redisReply *store_command_argv(store *s, int argc, const char **argv, const size_t *lens);

/* Runs a script with no KEYS and the prefix as ARGV[1] followed by argv.
 * Reloads the script when Redis has forgotten it. The scripts that record an
 * alert and complete a task then call store_wait_replicas(). Returns the
 * reply or NULL with err filled (connection lost, or the script raised an
 * error). */
redisReply *store_eval(store *s, store_script script, int argc, const char **argv,
                       char *err, size_t errlen);

/* store_eval() in a pipeline: store_eval_append() queues a call,
 * store_eval_reply() reads the next reply. Returns 0 (reply set), -1 when
 * the connection broke, -2 when Redis has forgotten the script (nothing
 * ran: call store_eval() for it, which loads it), -3 when the script
 * raised an error (err filled). Replicas are not waited for: the caller
 * calls store_wait_replicas() after the last reply. */
int store_eval_append(store *s, store_script script, int argc, const char **argv);
int store_eval_reply(store *s, redisReply **reply, char *err, size_t errlen);
/* With redis.wait_replicas N > 0: WAIT until N replicas hold every write
 * made on this connection, for at most redis.wait_timeout. When fewer
 * confirm in time, it logs once and does not wait for the next 5 s, so a
 * primary left without replicas slows nothing for long. Returns 0, or -1
 * when the connection was lost (whether replicas hold the writes is then
 * unknown). */
int store_wait_replicas(store *s);

/* Creates a stream's consumer group if it does not exist (MKSTREAM).
 * Returns 0 or -1. */
int store_group_create(store *s, const char *stream, const char *group);

/* Appends queued commands and reads their replies in one round trip:
 * store_append() queues, store_reply() returns replies in order
 * (caller frees each). Returns -1 when the connection broke. */
int store_append(store *s, const char *fmt, ...);
int store_reply(store *s, redisReply **reply);
/* store_append() with an argument vector (binary safe; lens may be NULL). */
int store_append_argv(store *s, int argc, const char **argv, const size_t *lens);

#endif
