/* spawn.c - bench-spawn: the raw posix_spawn loop that exec steps are measured against */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static int64_t mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void usage(FILE *out) {
    fprintf(out,
            "Usage: bench-spawn --count N [--concurrency C] [--max-ms MS] -- PROGRAM [ARG...]\n\n"
            "Runs PROGRAM N times with posix_spawnp(), at most C (default 64) at once,\n"
            "reaping each with waitpid(): nothing else (no pipes, no environment building),\n"
            "the ceiling for muster's exec action on this machine. Stops early after MS\n"
            "(default 60000) and prints one JSON object with the rate.\n");
}

int main(int argc, char **argv) {
    long long count = 0, conc = 64, max_ms = 60000;
    int prog = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--") == 0) {
            prog = i + 1;
            break;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (!v) {
            usage(stderr);
            return 2;
        }
        i++;
        if (strcmp(a, "--count") == 0) count = atoll(v);
        else if (strcmp(a, "--concurrency") == 0) conc = atoll(v);
        else if (strcmp(a, "--max-ms") == 0) max_ms = atoll(v);
        else {
            usage(stderr);
            return 2;
        }
    }
    if (!prog || prog >= argc || count <= 0 || conc <= 0 || max_ms <= 0) {
        usage(stderr);
        return 2;
    }
    int64_t t0 = mono_us(), deadline = t0 + max_ms * 1000;
    long long started = 0, reaped = 0, failed = 0;
    while (reaped < started || (started < count && mono_us() < deadline)) {
        while (started < count && started - reaped < conc && mono_us() < deadline) {
            pid_t pid;
            int rc = posix_spawnp(&pid, argv[prog], NULL, NULL, argv + prog, environ);
            if (rc != 0) {
                fprintf(stderr, "bench-spawn: %s: %s\n", argv[prog], strerror(rc));
                return 1;
            }
            started++;
        }
        if (reaped < started) {
            int st;
            pid_t p = waitpid(-1, &st, 0);
            if (p < 0 && errno == EINTR) continue;
            if (p < 0) break;
            reaped++;
            if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) failed++;
        }
    }
    double secs = (double)(mono_us() - t0) / 1e6;
    printf("{\"spawned\":%lld,\"failed\":%lld,\"concurrency\":%lld,\"seconds\":%.3f,\"per_s\":%.1f}\n",
           reaped, failed, conc, secs, secs > 0 ? (double)reaped / secs : 0.0);
    return failed ? 1 : 0;
}
