/* redis_fixture.h - a throwaway redis-server on a free loopback port */
#ifndef MUSTER_REDIS_FIXTURE_H
#define MUSTER_REDIS_FIXTURE_H

#include <sys/types.h>

typedef struct redis_fixture {
    pid_t pid;
    int port;
    char dir[256];
} redis_fixture;

/* Starts redis-server in a new temp dir and waits until it answers PING.
 * Returns 0, or -1 (message on stderr). */
int redis_fixture_start(redis_fixture *f);

/* A loopback port nothing listens on now (for a server a test starts
 * itself), or -1. */
int redis_fixture_free_port(void);

/* Starts the server and fills cfg with the defaults pointed at it.
 * Returns 0, or -1 (message on stderr). Free cfg with config_free(). */
struct config;
int redis_fixture_start_config(redis_fixture *f, struct config *cfg);

/* Stops it and removes its directory. */
void redis_fixture_stop(redis_fixture *f);

#endif
