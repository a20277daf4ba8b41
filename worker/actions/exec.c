/* exec.c - the exec action: a program with an argv array, never a shell */
#define _GNU_SOURCE /* memfd_create, posix_spawn_file_actions_addclosefrom_np */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <limits.h>
#include <stdbool.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "worker/worker.h"

extern char **environ;

#define EXEC_MAX_ARGS 256
#define EXEC_MAX_ENV 512

typedef struct stream {
    int fd;
    char *buf;
    size_t len;
    int truncated;
} stream;

typedef struct child {
    pid_t pid;
    int exited;
    int status;
    int timed_out;
    stream out, err;
    size_t max;
} child;

/* Environment names from label names: upper case, [A-Z0-9_] only. */
static void env_name(char *buf, size_t len, const char *prefix, const char *name) {
    size_t n = (size_t)snprintf(buf, len, "%s", prefix);
    for (const char *p = name; *p && n + 1 < len; p++)
        buf[n++] = isalnum((unsigned char)*p) ? (char)toupper((unsigned char)*p) : '_';
    buf[n] = '\0';
}

typedef struct envlist {
    char *items[EXEC_MAX_ENV + 1];
    size_t n;
} envlist;

static void env_add(envlist *e, const char *name, const char *value) {
    if (e->n >= EXEC_MAX_ENV || !value) return;
    size_t len = strlen(name) + strlen(value) + 2;
    char *s = malloc(len);
    if (!s) return;
    snprintf(s, len, "%s=%s", name, value);
    e->items[e->n++] = s;
}

static void env_clear(envlist *e) {
    for (size_t i = 0; i < e->n; i++) free(e->items[i]);
    e->n = 0;
}

/* The child's whole environment. The worker's own is not passed on: it may
 * hold credentials (MUSTER_REDIS_PASSWORD...). */
static void build_env(envlist *e, const task *t) {
    const json_t *alert = json_object_get(t->run.ctx, "alert");
    const json_t *inc = json_object_get(t->run.ctx, "incident");
    const char *k;
    json_t *v;
    char name[256];
    const char *path = getenv("PATH");

    env_add(e, "PATH", path ? path : "/usr/local/bin:/usr/bin:/bin");
    env_add(e, "LANG", "C.UTF-8");
    env_add(e, "MUSTER_INCIDENT_ID", json_string_value(json_object_get(inc, "id")));
    env_add(e, "MUSTER_WORKFLOW", json_string_value(json_object_get(inc, "workflow")));
    env_add(e, "MUSTER_STEP", t->li.step);
    static const char *const fields[] = {"source", "fingerprint", "status", "severity", "summary",
                                         "starts_at", "ends_at"};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        env_name(name, sizeof(name), "MUSTER_ALERT_", fields[i]);
        env_add(e, name, json_string_value(json_object_get(alert, fields[i])));
    }
    json_object_foreach((json_t *)json_object_get(alert, "labels"), k, v) {
        env_name(name, sizeof(name), "MUSTER_LABEL_", k);
        env_add(e, name, json_string_value(v));
    }
    json_object_foreach((json_t *)json_object_get(alert, "annotations"), k, v) {
        env_name(name, sizeof(name), "MUSTER_ANNOTATION_", k);
        env_add(e, name, json_string_value(v));
    }
    json_object_foreach(json_object_get(t->with, "env"), k, v) {
        env_name(name, sizeof(name), "", k);
        env_add(e, name, json_string_value(v));
    }
    e->items[e->n] = NULL;
}

/* stdin is a memfd holding the JSON: the child reads it at its own pace and
 * the loop never blocks on a full pipe. */
static int stdin_fd(const task *t) {
    json_t *in = json_object_get(t->with, "stdin");
    char *text;
    if (in)
        text = json_is_string(in) ? strdup(json_string_value(in)) : json_dumps(in, JSON_COMPACT | JSON_ENCODE_ANY);
    else {
        json_t *doc = json_pack("{s:O, s:O}", "alert", json_object_get(t->run.ctx, "alert"),
                                "incident", json_object_get(t->run.ctx, "incident"));
        text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
        json_decref(doc);
    }
    if (!text) return -1;
    int fd = memfd_create("muster-stdin", MFD_CLOEXEC);
    size_t len = strlen(text), off = 0;
    while (fd >= 0 && off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n <= 0) break;
        off += (size_t)n;
    }
    free(text);
    if (fd >= 0) lseek(fd, 0, SEEK_SET);
    return fd;
}

static void child_free(child *c) {
    if (!c) return;
    if (c->out.fd >= 0) close(c->out.fd);
    if (c->err.fd >= 0) close(c->err.fd);
    free(c->out.buf);
    free(c->err.buf);
    free(c);
}

/* The program argv[0] names, if it lies in one of the colon-separated
 * directories: a bare name is looked up in each of them in order (never in
 * PATH); a path must resolve, symbolic links followed, to a file inside one
 * of them. Fills out with the absolute path; returns 0, or -1 with why. */
static int allowed_program(const char *dirs, const char *name, char *out, size_t len, char *why,
                           size_t wlen) {
    char real[PATH_MAX], dir[PATH_MAX], rdir[PATH_MAX], cand[PATH_MAX * 2];
    bool bare = strchr(name, '/') == NULL;
    if (!bare && !realpath(name, real)) {
        snprintf(why, wlen, "cannot run %s: %s", name, strerror(errno));
        return -1;
    }
    for (const char *p = dirs ? dirs : ""; *p;) {
        const char *e = strchr(p, ':');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        snprintf(dir, sizeof(dir), "%.*s", (int)n, p);
        p += n + (e ? 1 : 0);
        if (!*dir || !realpath(dir, rdir)) continue;
        if (bare) {
            int cl = snprintf(cand, sizeof(cand), "%s/%s", rdir, name);
            if (cl > 0 && (size_t)cl < len && access(cand, X_OK) == 0) {
                memcpy(out, cand, (size_t)cl + 1);
                return 0;
            }
        } else {
            size_t dl = strlen(rdir);
            if (strncmp(real, rdir, dl) == 0 && (real[dl] == '/' || dl == 1)) {
                snprintf(out, len, "%s", real);
                return 0;
            }
        }
    }
    snprintf(why, wlen, "%s is not a program in exec.dirs (%s)", name, dirs && *dirs ? dirs : "empty");
    return -1;
}

static int start(worker *w, task *t) {
    json_t *cmd = json_object_get(t->with, "command");
    const char *argv[EXEC_MAX_ARGS + 1];
    int out[2] = {-1, -1}, err[2] = {-1, -1}, in = -1;
    envlist env = {.n = 0};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, all;
    char msg[512];
    size_t n = json_array_size(cmd);

    if (n == 0 || n > EXEC_MAX_ARGS) {
        task_finish(t, 0, NULL, "with.command must hold 1 to 256 strings");
        t->res.permanent = 1;
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        argv[i] = json_string_value(json_array_get(cmd, i));
        if (!argv[i]) {
            task_finish(t, 0, NULL, "with.command must hold only strings");
            return 1;
        }
    }
    argv[n] = NULL;
    char program[PATH_MAX];
    if (allowed_program(w->cfg->exec_dirs, argv[0], program, sizeof(program), msg,
                        sizeof(msg)) < 0) {
        task_finish(t, 0, NULL, msg);
        t->res.permanent = 1;
        return 1;
    }
    child *c = calloc(1, sizeof(*c));
    if (!c) {
        task_finish(t, 0, NULL, "out of memory");
        return 1;
    }
    c->out.fd = c->err.fd = -1;
    c->max = (size_t)w->cfg->exec_output_max;
    if (pipe2(out, O_CLOEXEC | O_NONBLOCK) < 0 || pipe2(err, O_CLOEXEC | O_NONBLOCK) < 0 ||
        (in = stdin_fd(t)) < 0) {
        snprintf(msg, sizeof(msg), "cannot make pipes: %s", strerror(errno));
        goto fail;
    }
    build_env(&env, t);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in, 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    /* Nothing else of the worker's: hiredis and curl open their sockets
     * without close-on-exec, and a script that held the Redis connection
     * could act as the worker whatever its environment says. */
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    posix_spawnattr_init(&attr);
    sigemptyset(&none);
    sigfillset(&all);
    /* Its own process group, so a timeout kills everything it started;
     * default signal handling and an empty mask, whatever the worker has. */
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                        POSIX_SPAWN_SETSIGDEF);
    int rc = posix_spawn(&c->pid, program, &fa, &attr, (char *const *)argv, env.items);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    env_clear(&env);
    if (rc != 0) {
        snprintf(msg, sizeof(msg), "cannot run %s: %s", argv[0], strerror(rc));
        goto fail;
    }
    close(out[1]);
    close(err[1]);
    close(in);
    c->out.fd = out[0];
    c->err.fd = err[0];
    t->state = c;
    return 0;
fail:
    for (int i = 0; i < 2; i++) {
        if (out[i] >= 0) close(out[i]);
        if (err[i] >= 0) close(err[i]);
    }
    if (in >= 0) close(in);
    child_free(c);
    task_finish(t, 0, NULL, msg);
    t->res.permanent = 1; /* no such program, no pipes: a retry fails the same way */
    return 1;
}

static int waitfds(task *t, struct curl_waitfd *fds, int max) {
    child *c = t->state;
    int n = 0;
    if (!c) return 0;
    if (c->out.fd >= 0 && n < max) fds[n++] = (struct curl_waitfd){c->out.fd, CURL_WAIT_POLLIN, 0};
    if (c->err.fd >= 0 && n < max) fds[n++] = (struct curl_waitfd){c->err.fd, CURL_WAIT_POLLIN, 0};
    return n;
}

/* Reads what is there; past the cap the bytes are read and dropped so the
 * child never blocks on a full pipe. */
static void drain(stream *s, size_t max) {
    char buf[16384];
    while (s->fd >= 0) {
        ssize_t n = read(s->fd, buf, sizeof(buf));
        if (n > 0) {
            size_t keep = (size_t)n;
            if (s->len + keep > max) {
                keep = max - s->len;
                s->truncated = 1;
            }
            if (keep) {
                char *nb = realloc(s->buf, s->len + keep + 1);
                if (!nb) return;
                s->buf = nb;
                memcpy(s->buf + s->len, buf, keep);
                s->len += keep;
                s->buf[s->len] = '\0';
            }
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        close(s->fd);
        s->fd = -1;
    }
}

static json_t *text_value(const stream *s) {
    return json_stringn_nocheck(s->buf ? s->buf : "", s->len);
}

static void service(worker *w, task *t) {
    child *c = t->state;
    (void)w;
    if (!c) return;
    drain(&c->out, c->max);
    drain(&c->err, c->max);
    if (!c->exited && waitpid(c->pid, &c->status, WNOHANG) == c->pid) c->exited = 1;
    int64_t limit = t->timeout_ms > 0 ? t->timeout_ms : w->cfg->exec_timeout_ms;
    if (!c->exited && !c->timed_out && mono_ms() - t->started_ms > limit) {
        kill(-c->pid, SIGKILL);
        c->timed_out = 1;
    }
    /* Done when it exited and its pipes are closed, or when it was killed
     * (a grandchild may hold the pipes open). */
    if (!c->exited || ((c->out.fd >= 0 || c->err.fd >= 0) && !c->timed_out)) return;
    if (c->timed_out) kill(-c->pid, SIGKILL);
    int code = WIFEXITED(c->status) ? WEXITSTATUS(c->status) : -1;
    int sig = WIFSIGNALED(c->status) ? WTERMSIG(c->status) : 0;
    json_t *out = json_pack("{s:i, s:o, s:o, s:b, s:b}", "exit_code", code, "stdout",
                            text_value(&c->out), "stderr", text_value(&c->err), "timed_out",
                            c->timed_out, "truncated", c->out.truncated || c->err.truncated);
    if (sig) json_object_set_new(out, "signal", json_integer(sig));
    char msg[256];
    if (c->timed_out)
        snprintf(msg, sizeof(msg), "timed out after %lld ms", (long long)limit);
    else if (sig)
        snprintf(msg, sizeof(msg), "killed by signal %d", sig);
    else
        snprintf(msg, sizeof(msg), "exit code %d", code);
    task_finish(t, code == 0 && !c->timed_out, out, code == 0 && !c->timed_out ? NULL : msg);
    child_free(c);
    t->state = NULL;
}

static void abort_it(worker *w, task *t) {
    child *c = t->state;
    (void)w;
    if (!c) return;
    if (!c->exited) {
        kill(-c->pid, SIGKILL);
        waitpid(c->pid, NULL, 0);
    }
    child_free(c);
    t->state = NULL;
}

const action_impl action_exec = {
    .name = "exec",
    .start = start,
    .waitfds = waitfds,
    .service = service,
    .abort = abort_it,
};
