/* up.c - muster up: the whole pipeline on one machine, nothing installed */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <libgen.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "cli/cli.h"
#include "common/util.h"

extern char **environ;

static volatile sig_atomic_t up_stop = 0;
static void on_signal(int sig) {
    (void)sig;
    up_stop = 1;
}

/* A port the kernel says is free now; a child binds it right after. */
static int free_port(void) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    if (fd < 0) return -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static pid_t spawn(const char *const argv[], const char *log_path) {
    posix_spawn_file_actions_t fa;
    pid_t pid = -1;
    posix_spawn_file_actions_init(&fa);
    if (log_path) posix_spawn_file_actions_addopen(&fa, 1, log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, "muster up: cannot run %s: %s\n", argv[0], strerror(rc));
        return -1;
    }
    return pid;
}

static int wait_redis(int port, int timeout_ms) {
    int64_t end = mono_ms() + timeout_ms;
    struct timeval tv = {0, 200000};
    while (mono_ms() < end) {
        redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
        if (c && !c->err) {
            redisReply *r = redisCommand(c, "PING");
            int ok = r && r->type == REDIS_REPLY_STATUS;
            if (r) freeReplyObject(r);
            redisFree(c);
            if (ok) return 0;
        } else if (c) {
            redisFree(c);
        }
        usleep(50 * 1000);
    }
    return -1;
}

static void stop_child(pid_t pid, const char *name) {
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    for (int i = 0; i < 200; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid) return;
        usleep(50 * 1000);
    }
    fprintf(stderr, "muster up: %s did not stop in 10s; killing it\n", name);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* Where the parts listen, as MUSTER_* lines another shell can source;
 * written whole (rename) so a reader never sees half. port < 0: no Redis. */
static void write_env(const char *path, const char *brokers, int port) {
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return;
    fprintf(f, "MUSTER_KAFKA_BROKERS=%s\n", brokers);
    if (port >= 0) fprintf(f, "MUSTER_REDIS_HOST=127.0.0.1\nMUSTER_REDIS_PORT=%d\n", port);
    fclose(f);
    rename(tmp, path);
}

#define UP_MAX_WORKERS 64

int cmd_up(config *cfg, int argc, char **argv) {
    const char *workers_opt = cli_option(argc, argv, "--workers");
    const char *dir_opt = cli_option(argc, argv, "--state-dir");
    const char *env_file = cli_option(argc, argv, "--env-file");
    const char *wf_opt = cli_option(argc, argv, "--workflows");
    const char *kafka_opt = cli_option(argc, argv, "--kafka");
    const char *only = cli_option(argc, argv, "--only");
    char exe[PATH_MAX], bindir[PATH_MAX], dir[PATH_MAX], path[PATH_MAX + 64], err[512];
    char dispatcher[PATH_MAX + 32], worker[PATH_MAX + 32], port_text[16];
    pid_t redis = -1, disp = -1, workers[UP_MAX_WORKERS] = {0};
    rd_kafka_t *rk = NULL;
    rd_kafka_mock_cluster_t *mc = NULL;
    int rc = EXIT_FAIL;

    if (cli_flag(argc, argv, "--help")) {
        printf("Usage: muster up [--workers N] [--workflows DIR] [--state-dir DIR] [--env-file FILE]\n"
               "                 [--kafka BROKERS]\n\n"
               "Runs the whole pipeline on this machine: an embedded Kafka (librdkafka's mock\n"
               "cluster, on loopback), a redis-server child on a free port, the dispatcher and\n"
               "N workers (default 2). Prints where each part listens; --env-file also writes\n"
               "them as MUSTER_* variables for other shells. Stops everything on Ctrl-C.\n"
               "--kafka uses the Kafka at BROKERS instead of the embedded one.\n"
               "--only kafka runs just the embedded Kafka (for tests that start the rest).\n");
        return EXIT_OK;
    }
    int nworkers = workers_opt ? atoi(workers_opt) : 2;
    if (nworkers < 1 || nworkers > UP_MAX_WORKERS) {
        fprintf(stderr, "muster up: --workers wants 1 to %d\n", UP_MAX_WORKERS);
        return EXIT_USAGE;
    }
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) {
        fprintf(stderr, "muster up: cannot find my own binary\n");
        return EXIT_FAIL;
    }
    exe[n] = '\0';
    snprintf(bindir, sizeof(bindir), "%s", dirname(exe));
    snprintf(dispatcher, sizeof(dispatcher), "%s/muster-dispatcher", bindir);
    snprintf(worker, sizeof(worker), "%s/muster-worker", bindir);
    if (dir_opt) {
        snprintf(dir, sizeof(dir), "%s", dir_opt);
        mkdir(dir, 0700);
    } else {
        snprintf(dir, sizeof(dir), "/tmp/muster-up-XXXXXX");
        if (!mkdtemp(dir)) {
            fprintf(stderr, "muster up: mkdtemp: %s\n", strerror(errno));
            return EXIT_FAIL;
        }
    }

    /* Kafka: the mock cluster lives in this process, on loopback. */
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
    if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err)))) {
        fprintf(stderr, "muster up: kafka: %s\n", err);
        return EXIT_FAIL;
    }
    const char *topics[] = {cfg->kafka_alerts_topic, cfg->kafka_events_topic, cfg->kafka_dlq_topic};
    const char *brokers = kafka_opt;
    if (!kafka_opt) {
        if (!(mc = rd_kafka_mock_cluster_new(rk, 1))) {
            fprintf(stderr, "muster up: cannot start the embedded Kafka\n");
            goto out;
        }
        for (int i = 0; i < 3; i++) rd_kafka_mock_topic_create(mc, topics[i], 3, 1);
        brokers = rd_kafka_mock_cluster_bootstraps(mc);
    }

    if (only && strcmp(only, "kafka") == 0 && mc) {
        printf("muster up: embedded kafka at %s\n", brokers);
        fflush(stdout);
        if (env_file) write_env(env_file, brokers, -1);
        struct sigaction ka;
        memset(&ka, 0, sizeof(ka));
        ka.sa_handler = on_signal;
        sigaction(SIGTERM, &ka, NULL);
        sigaction(SIGINT, &ka, NULL);
        while (!up_stop) rd_kafka_poll(rk, 100);
        rc = EXIT_OK;
        goto out;
    } else if (only) {
        fprintf(stderr, "muster up: --only takes \"kafka\" (and not with --kafka)\n");
        rc = EXIT_USAGE;
        goto out;
    }

    /* Redis: a child on a free port, its files in the state directory. */
    int port = free_port();
    snprintf(port_text, sizeof(port_text), "%d", port);
    snprintf(path, sizeof(path), "%s/redis.log", dir);
    const char *redis_argv[] = {"redis-server", "--port", port_text, "--bind", "127.0.0.1",
                                "--dir", dir, "--appendonly", "yes", "--save", "",
                                "--logfile", path, NULL};
    if ((redis = spawn(redis_argv, NULL)) < 0) goto out;
    if (wait_redis(port, 10000) < 0) {
        fprintf(stderr, "muster up: redis-server did not answer on port %d (see %s)\n", port, path);
        goto out;
    }

    setenv("MUSTER_KAFKA_BROKERS", brokers, 1);
    setenv("MUSTER_REDIS_HOST", "127.0.0.1", 1);
    setenv("MUSTER_REDIS_PORT", port_text, 1);
    setenv("MUSTER_WORKFLOWS_DIR", wf_opt ? wf_opt : cfg->workflows_dir, 1);
    setenv("MUSTER_REDIS_PREFIX", cfg->redis_prefix, 1);

    snprintf(path, sizeof(path), "%s/dispatcher.log", dir);
    const char *disp_argv[] = {dispatcher, NULL};
    if ((disp = spawn(disp_argv, NULL)) < 0) goto out;
    for (int i = 0; i < nworkers; i++) {
        const char *w_argv[] = {worker, NULL};
        if ((workers[i] = spawn(w_argv, NULL)) < 0) goto out;
    }
    printf("muster up: embedded pipeline running\n"
           "  kafka       %s (%s; topics %s, %s, %s)\n"
           "  redis       127.0.0.1:%d (state in %s)\n"
           "  dispatcher  pid %d, workflows from %s\n"
           "  workers     %d\n\n"
           "In another terminal:\n"
           "  export MUSTER_KAFKA_BROKERS=%s MUSTER_REDIS_PORT=%d\n"
           "  muster send-alert docs/examples/alerts/disk-full.json\n"
           "  muster status; muster incident list\n",
           brokers, mc ? "embedded mock cluster" : "external", topics[0], topics[1], topics[2], port, dir, (int)disp,
           wf_opt ? wf_opt : cfg->workflows_dir, nworkers, brokers, port);
    fflush(stdout);
    if (env_file) write_env(env_file, brokers, port);

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    rc = EXIT_OK;
    while (!up_stop) {
        int status;
        pid_t done = waitpid(-1, &status, WNOHANG);
        if (done > 0) {
            fprintf(stderr, "muster up: process %d exited (status %d); stopping\n", (int)done,
                    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
            if (done == disp) disp = -1;
            if (done == redis) redis = -1;
            for (int i = 0; i < nworkers; i++)
                if (workers[i] == done) workers[i] = -1;
            rc = EXIT_FAIL;
            break;
        }
        rd_kafka_poll(rk, 100);
    }
out:
    for (int i = 0; i < nworkers; i++) stop_child(workers[i], "a worker");
    stop_child(disp, "the dispatcher");
    stop_child(redis, "redis-server");
    if (mc) rd_kafka_mock_cluster_destroy(mc);
    if (rk) rd_kafka_destroy(rk);
    if (env_file) unlink(env_file);
    return rc;
}
