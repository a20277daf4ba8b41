/* redis_fixture.c - a throwaway redis-server on a free loopback port */
#include "tests/harness/redis_fixture.h"
#include "common/config.h"

#include "tests/harness/tmpdir.h"

#include <netinet/in.h>
#include <signal.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>


int redis_fixture_free_port(void) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

int redis_fixture_start(redis_fixture *f) {
    char port[16];
    memset(f, 0, sizeof(*f));
    if (tmpdir_make(f->dir, sizeof(f->dir), "redis") < 0) return -1;
    f->port = redis_fixture_free_port();
    snprintf(port, sizeof(port), "%d", f->port);
    const char *argv[] = {"redis-server", "--port", port, "--bind", "127.0.0.1", "--dir", f->dir,
                          "--save", "", "--appendonly", "no", "--loglevel", "warning", NULL};
    /* The server dies with the test: a test that aborts (an assertion, a
     * sanitizer report) never reaches redis_fixture_stop(). */
    pid_t parent = getpid();
    if ((f->pid = fork()) == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);
        execvp("redis-server", (char *const *)argv);
        _exit(127);
    }
    if (f->pid < 0) {
        fprintf(stderr, "redis_fixture: cannot run redis-server\n");
        return -1;
    }
    for (int i = 0; i < 200; i++) {
        struct timeval tv = {0, 100000};
        redisContext *c = redisConnectWithTimeout("127.0.0.1", f->port, tv);
        int ok = 0;
        if (c && !c->err) {
            redisReply *r = redisCommand(c, "PING");
            ok = r != NULL;
            if (r) freeReplyObject(r);
        }
        if (c) redisFree(c);
        if (ok) return 0;
        usleep(25000);
    }
    fprintf(stderr, "redis_fixture: redis-server did not answer on %d\n", f->port);
    redis_fixture_stop(f);
    return -1;
}

void redis_fixture_stop(redis_fixture *f) {
    if (f->pid > 0) {
        kill(f->pid, SIGKILL);
        waitpid(f->pid, NULL, 0);
        f->pid = 0;
    }
    if (f->dir[0]) {
        if (tmpdir_remove(f->dir) < 0) fprintf(stderr, "redis_fixture: cannot remove %s\n", f->dir);
        f->dir[0] = '\0';
    }
}

int redis_fixture_start_config(redis_fixture *f, struct config *cfg) {
    char port[16], err[256];
    if (redis_fixture_start(f) < 0) return -1;
    config_defaults(cfg);
    snprintf(port, sizeof(port), "%d", f->port);
    if (config_set(cfg, "redis.port", port, err, sizeof(err)) < 0) {
        fprintf(stderr, "redis fixture: %s\n", err);
        return -1;
    }
    return 0;
}
