/* supervise.c - muster up's children: restarted with backoff when they crash, stopped in order */
#define _GNU_SOURCE /* pipe2 */
#include "cli/supervise.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/backoff.h"
#include "common/util.h"

#define ARGS_MAX 24

typedef struct child {
    char name[48];
    char *argv[ARGS_MAX + 1]; /* owned */
    char *log_path;           /* owned; NULL: inherit stdout */
    int stage;
    pid_t pid;               /* -1 while waiting to be restarted */
    int64_t started_ms;      /* when the current run began */
    int64_t restart_at_ms;   /* when pid is -1: when to start it again */
    int attempt;             /* exits since it last stayed up SUPERVISE_STABLE_MS */
    int64_t exits[SUPERVISE_CRASHES]; /* the last exits' times, a ring */
    int nexits;
} child;

struct supervisor {
    child *children;
    int n, max, stopping;
};

supervisor *supervisor_new(int max) {
    supervisor *s = calloc(1, sizeof(*s));
    if (!s || !(s->children = calloc((size_t)max, sizeof(child)))) {
        free(s);
        return NULL;
    }
    s->max = max;
    return s;
}

void supervisor_free(supervisor *s) {
    if (!s) return;
    supervisor_stop(s, 10000);
    for (int i = 0; i < s->n; i++) {
        for (char **a = s->children[i].argv; *a; a++) free(*a);
        free(s->children[i].log_path);
    }
    free(s->children);
    free(s);
}

/* fork + exec, with a close-on-exec pipe that carries exec's errno back:
 * EOF means the program runs. Between fork and exec only async-signal-safe
 * calls (this process has librdkafka's threads). */
static pid_t launch(const child *c, char *err, size_t errlen) {
    int fds[2], e = 0;
    pid_t parent = getpid();
    if (pipe2(fds, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) _exit(127); /* the supervisor is already gone */
        int fd = c->log_path ? open(c->log_path, O_WRONLY | O_CREAT | O_APPEND, 0644) : -1;
        if (fd >= 0 && fd != 1) dup2(fd, 1), close(fd);
        execvp(c->argv[0], c->argv);
        e = errno;
        (void)!write(fds[1], &e, sizeof(e));
        _exit(127);
    }
    close(fds[1]);
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(fds[0]);
        return -1;
    }
    ssize_t got;
    while ((got = read(fds[0], &e, sizeof(e))) < 0 && errno == EINTR) {
    }
    close(fds[0]);
    if (got == (ssize_t)sizeof(e)) {
        waitpid(pid, NULL, 0);
        snprintf(err, errlen, "cannot run %s: %s", c->argv[0], strerror(e));
        return -1;
    }
    return pid;
}

int supervisor_start(supervisor *s, const char *name, const char *const argv[], const char *log_path,
                     int stage, char *err, size_t errlen) {
    if (s->n == s->max) {
        snprintf(err, errlen, "%s: more than %d children", name, s->max);
        return -1;
    }
    child *c = &s->children[s->n];
    memset(c, 0, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "%s", name);
    for (int i = 0; argv[i]; i++) {
        if (i == ARGS_MAX) {
            snprintf(err, errlen, "%s: more than %d arguments", name, ARGS_MAX);
            goto fail;
        }
        if (!(c->argv[i] = strdup(argv[i]))) goto oom;
    }
    if (log_path && !(c->log_path = strdup(log_path))) goto oom;
    c->stage = stage;
    if ((c->pid = launch(c, err, errlen)) < 0) goto fail;
    c->started_ms = mono_ms();
    return s->n++;
oom:
    snprintf(err, errlen, "%s: out of memory", name);
fail:
    for (char **a = c->argv; *a; a++) free(*a);
    free(c->log_path);
    memset(c, 0, sizeof(*c));
    return -1;
}

pid_t supervisor_pid(const supervisor *s, int i) {
    return i >= 0 && i < s->n ? s->children[i].pid : -1;
}

static void describe(int status, char *buf, size_t len) {
    if (WIFSIGNALED(status))
        snprintf(buf, len, "was killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
}

/* Counts an exit of c at `now`; returns -1 when it is one too many. */
static int exited(child *c, int64_t now, const char *how) {
    static const retry_policy policy = {0, SUPERVISE_FIRST_MS, SUPERVISE_MAX_MS, 2.0, 0.0};
    if (now - c->started_ms >= SUPERVISE_STABLE_MS) c->attempt = 0;
    c->attempt++;
    c->exits[c->nexits++ % SUPERVISE_CRASHES] = now;
    int64_t oldest = c->exits[c->nexits % SUPERVISE_CRASHES];
    if (c->nexits >= SUPERVISE_CRASHES && now - oldest < SUPERVISE_WINDOW_MS) {
        fprintf(stderr, "muster up: %s %s; it stopped %d times within %d s, so muster up gives up\n",
                c->name, how, SUPERVISE_CRASHES, SUPERVISE_WINDOW_MS / 1000);
        return -1;
    }
    int64_t delay = backoff_delay(&policy, c->attempt, 0, 0.0);
    c->restart_at_ms = now + delay;
    fprintf(stderr, "muster up: %s %s; restarting it in %lld ms (restart %d)\n", c->name, how,
            (long long)delay, c->nexits);
    return 0;
}

int supervisor_tick(supervisor *s) {
    char how[160], err[512];
    if (s->stopping) return 0;
    for (int i = 0; i < s->n; i++) {
        child *c = &s->children[i];
        int status;
        int64_t now = mono_ms();
        if (c->pid > 0 && waitpid(c->pid, &status, WNOHANG) == c->pid) {
            char what[96];
            describe(status, what, sizeof(what));
            snprintf(how, sizeof(how), "(pid %d) %s", (int)c->pid, what);
            c->pid = -1;
            if (exited(c, now, how) < 0) return -1;
        }
        if (c->pid < 0 && now >= c->restart_at_ms) {
            if ((c->pid = launch(c, err, sizeof(err))) < 0) {
                c->started_ms = now;
                if (exited(c, now, err) < 0) return -1;
                continue;
            }
            c->started_ms = now;
            fprintf(stderr, "muster up: %s restarted as pid %d\n", c->name, (int)c->pid);
        }
    }
    return 0;
}

void supervisor_stop(supervisor *s, int64_t grace_ms) {
    s->stopping = 1;
    for (;;) {
        int stage = -1;
        for (int i = 0; i < s->n; i++)
            if (s->children[i].pid > 0 && (stage < 0 || s->children[i].stage < stage))
                stage = s->children[i].stage;
        if (stage < 0) return;
        for (int i = 0; i < s->n; i++)
            if (s->children[i].pid > 0 && s->children[i].stage == stage) kill(s->children[i].pid, SIGTERM);
        int64_t end = mono_ms() + grace_ms;
        for (int left = 1; left;) {
            left = 0;
            for (int i = 0; i < s->n; i++) {
                child *c = &s->children[i];
                if (c->pid <= 0 || c->stage != stage) continue;
                if (waitpid(c->pid, NULL, WNOHANG) == c->pid) {
                    c->pid = -1;
                } else if (mono_ms() >= end) {
                    fprintf(stderr, "muster up: %s did not stop in %lld s; killing it\n", c->name,
                            (long long)(grace_ms / 1000));
                    kill(c->pid, SIGKILL);
                    waitpid(c->pid, NULL, 0);
                    c->pid = -1;
                } else {
                    left = 1;
                }
            }
            if (left) usleep(20 * 1000);
        }
    }
}
