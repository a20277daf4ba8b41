/* up.c - muster up: the whole pipeline on one machine, nothing installed */
#define _XOPEN_SOURCE 700 /* nftw */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
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
#include "cli/supervise.h"
#include "common/access.h"
#include "common/util.h"

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

/* Where the parts listen, as `export MUSTER_*` lines another shell can
 * source (`. FILE`); written whole (rename) so a reader never sees half.
 * port < 0: no Redis; metrics_port <= 0: no muster-metrics; api_port <= 0: no
 * muster-api. */
static void write_env(const char *path, const char *brokers, int port, int metrics_port,
                      const char *intake_url, const char *intake_token, int api_port,
                      const char *api_token) {
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return;
    fprintf(f, "export MUSTER_KAFKA_BROKERS=%s\n", brokers);
    if (port >= 0) fprintf(f, "export MUSTER_REDIS_HOST=127.0.0.1\nexport MUSTER_REDIS_PORT=%d\n", port);
    if (metrics_port > 0) fprintf(f, "export MUSTER_METRICS_URL=http://127.0.0.1:%d\n", metrics_port);
    if (intake_url && *intake_url)
        fprintf(f, "export MUSTER_INTAKE_URL=%s\nexport MUSTER_INTAKE_TOKEN=%s\n", intake_url,
                intake_token ? intake_token : "");
    /* Not MUSTER_API_URL and MUSTER_API_TOKEN: with those the muster command
     * would go through the API; here it talks to Redis, as it always did. */
    if (api_port > 0)
        fprintf(f, "export MUSTER_CONSOLE_URL=http://127.0.0.1:%d\nexport MUSTER_CONSOLE_TOKEN=%s\n",
                api_port, api_token);
    fclose(f);
    rename(tmp, path);
}

/* A new admin token for this run's muster-api into tok; its line (the hash)
 * written to path, which only this user may read. Returns 0, or -1 (said). */
static int up_api_token(const char *path, char *tok, size_t len) {
    char line[256], err[256];
    if (access_token_new("operator", SCOPE_ADMIN, tok, len, line, sizeof(line), err,
                         sizeof(err)) < 0) {
        fprintf(stderr, "muster up: no token for muster-api: %s\n", err);
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, line, strlen(line)) != (ssize_t)strlen(line)) {
        fprintf(stderr, "muster up: %s: %s\n", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* path as a person in the current directory would type it: relative when
 * it lies below the current directory, else as it is. */
static const char *shown_path(const char *path) {
    static char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof(cwd))) return path;
    size_t n = strlen(cwd);
    if (strncmp(path, cwd, n) == 0 && path[n] == '/') return path + n + 1;
    return path;
}

/* The examples (docs/examples: workflows, alerts, scripts, receiver routes):
 * MUSTER_EXAMPLES_DIR, ./docs/examples, beside the build tree, or where
 * `make install` puts them. Fills out with the real path; -1 if none. */
static int find_examples(const char *bindir, char *out) {
    char cand[4][PATH_MAX + 64], probe[sizeof(cand) + 16];
    const char *env = getenv("MUSTER_EXAMPLES_DIR");
    snprintf(cand[0], sizeof(cand[0]), "%s", env ? env : "");
    snprintf(cand[1], sizeof(cand[1]), "docs/examples");
    snprintf(cand[2], sizeof(cand[2]), "%s/../docs/examples", bindir);
    snprintf(cand[3], sizeof(cand[3]), "%s/../share/muster/examples", bindir);
    for (int i = 0; i < 4; i++) {
        snprintf(probe, sizeof(probe), "%s/workflows", cand[i]);
        if (cand[i][0] && access(probe, R_OK) == 0 && realpath(cand[i], out)) return 0;
    }
    return -1;
}

/* Copies the example workflows into dir/workflows, pointing the receiver's
 * fixed address (127.0.0.1:18080) at the one started on sink_port. */
static int copy_workflows(const char *examples, const char *dir, int sink_port) {
    char src[PATH_MAX + 32], dst[PATH_MAX + 300], err[256], url[32];
    static const char fixed[] = "127.0.0.1:18080";
    int rc = -1;
    snprintf(src, sizeof(src), "%s/workflows", examples);
    snprintf(dst, sizeof(dst), "%s/workflows", dir);
    snprintf(url, sizeof(url), "127.0.0.1:%d", sink_port);
    DIR *d = opendir(src);
    if (!d || mkdir(dst, 0700) < 0) goto out;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len, nlen = strlen(e->d_name);
        if (nlen < 6 || strcmp(e->d_name + nlen - 5, ".yaml") != 0) continue;
        snprintf(src, sizeof(src), "%s/workflows/%s", examples, e->d_name);
        snprintf(dst, sizeof(dst), "%s/workflows/%s", dir, e->d_name);
        char *text = file_read(src, 1 << 20, &len, err, sizeof(err));
        FILE *f = text ? fopen(dst, "w") : NULL;
        if (!f) {
            fprintf(stderr, "muster up: %s: %s\n", text ? dst : src, text ? strerror(errno) : err);
            free(text);
            goto out;
        }
        for (char *p = text, *hit; *p; p = hit + sizeof(fixed) - 1) {
            if (!(hit = strstr(p, fixed))) {
                fputs(p, f);
                break;
            }
            fprintf(f, "%.*s%s", (int)(hit - p), p, url);
        }
        fclose(f);
        free(text);
    }
    rc = 0;
out:
    if (d) closedir(d);
    return rc;
}

/* A random bearer token for the intake: 32 hex digits; "" if the system
 * gives no randomness. */
static void random_token(char *out, size_t len) {
    unsigned char b[16];
    out[0] = '\0';
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    ssize_t n = read(fd, b, sizeof(b));
    close(fd);
    if (n != (ssize_t)sizeof(b) || len < 2 * sizeof(b) + 1) return;
    for (size_t i = 0; i < sizeof(b); i++) snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* Sets what the examples need for the workers, unless already set: the
 * secrets their workflows name ({secret: ...}) from examples/secrets.env,
 * exec.dirs with the example scripts, the example on-call files, and the
 * dispatcher's HTTP intake on intake_port with the Slack endpoint the
 * receiver's button clicks (then_interact) go to. */
static void examples_env(const char *examples, int intake_port, const char *intake_tok) {
    char path[PATH_MAX + 32], line[512];
    snprintf(path, sizeof(path), "%s/secrets.env", examples);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof(line), f)) {
        char *eq = strchr(line, '=');
        if (line[0] == '#' || !eq) continue;
        *eq = '\0';
        eq[strcspn(eq + 1, "\r\n") + 1] = '\0';
        setenv(line, eq + 1, 0);
    }
    if (f) fclose(f);
    snprintf(path, sizeof(path), "%s/scripts:/usr/bin:/bin", examples);
    setenv("MUSTER_EXEC_DIRS", path, 0);
    snprintf(path, sizeof(path), "%s/oncall", examples);
    setenv("MUSTER_ONCALL_DIR", path, 0);
    /* the name of the secret; its demo value is in secrets.env */
    setenv("MUSTER_SLACK_SIGNING_SECRET", "slack_signing_secret", 0);
    snprintf(path, sizeof(path), "%d", intake_port);
    setenv("MUSTER_INTAKE_PORT", path, 0);
    if (*intake_tok) setenv("MUSTER_INTAKE_TOKEN", intake_tok, 0);
    snprintf(path, sizeof(path), "http://127.0.0.1:%d", intake_port);
    setenv("MUSTER_INTAKE_PUBLIC_URL", path, 0);
    /* sink-routes.json's then_interact url_env: read when the sink starts */
    snprintf(path, sizeof(path), "http://127.0.0.1:%d/api/v1/slack/interactions", intake_port);
    setenv("SINK_INTERACT_URL", path, 0);
}

/* Waits for a child to write its port to `file`. Returns the port or -1. */
static int wait_port_file(const char *file, int timeout_ms) {
    for (int64_t end = mono_ms() + timeout_ms; mono_ms() < end; usleep(50 * 1000)) {
        FILE *f = fopen(file, "r");
        int port = -1;
        if (f && fscanf(f, "%d", &port) != 1) port = -1;
        if (f) fclose(f);
        if (port > 0) return port;
    }
    return -1;
}

/* Starts a supervised child, or says on stderr why it cannot run. */
static int up_start(supervisor *sup, const char *name, const char *const argv[], const char *log_path,
                    int stage) {
    char err[512];
    int i = supervisor_start(sup, name, argv, log_path, stage, err, sizeof(err));
    if (i < 0) fprintf(stderr, "muster up: %s: %s\n", name, err);
    return i;
}

#define UP_MAX_WORKERS 64

static const char up_usage[] =
    "Usage: muster up [--examples] [--workers N] [--workflows DIR] [--state-dir DIR] [--keep]\n"
    "                 [--env-file FILE] [--kafka BROKERS] [--only kafka]\n"
    "\n"
    "Runs the whole pipeline on this machine: an embedded Kafka (librdkafka's mock\n"
    "cluster, on loopback), a redis-server child on a free port, the dispatcher,\n"
    "N workers, muster-metrics and muster-api (the console and the operators' API,\n"
    "with an admin token made for the run: MUSTER_CONSOLE_URL and\n"
    "MUSTER_CONSOLE_TOKEN in --env-file). Prints where each part listens and what to\n"
    "type next. A part that exits is started again (after 100 ms, doubling to 5 s);\n"
    "one that exits 5 times within 60 s stops it all, with a non-zero exit. Stops\n"
    "everything on Ctrl-C or SIGTERM.\n"
    "\n"
    "Options:\n"
    "  --examples        serve docs/examples as they are: start the local receiver\n"
    "                    (muster-sink) with the example routes, point the example\n"
    "                    workflows at it, set the example secrets, put the example\n"
    "                    scripts in exec.dirs, use the example on-call files, and open\n"
    "                    the dispatcher's HTTP intake on a free loopback port with a\n"
    "                    random token (the receiver presses Slack buttons there)\n"
    "  --workers N       workers to run (1..64, default 2)\n"
    "  --workflows DIR   workflow files (default workflows.dir; with --examples, the\n"
    "                    example workflows)\n"
    "  --state-dir DIR   where Redis and the receiver keep their files (default: a new\n"
    "                    folder in /tmp, removed on exit)\n"
    "  --keep            keep that new state folder on exit\n"
    "  --env-file FILE   write `export MUSTER_*` lines for other shells ('. FILE');\n"
    "                    removed on exit\n"
    "  --kafka BROKERS   use the Kafka at BROKERS instead of the embedded one\n"
    "  --only kafka      run just the embedded Kafka (for tests that start the rest)\n";

/* The commands a newcomer types next, with the paths they really have. */
static void print_next(const char *exe, const char *examples, const char *env_file,
                       const char *brokers, int port) {
    char muster[PATH_MAX + 8], alerts[PATH_MAX + 64], resolved[PATH_MAX + 64];
    snprintf(muster, sizeof(muster), "%s", shown_path(exe));
    if (!strchr(muster, '/')) snprintf(muster, sizeof(muster), "./%s", shown_path(exe));
    printf("In another terminal (in this directory):\n");
    if (env_file)
        printf("  . %s%s\n", strchr(env_file, '/') ? "" : "./", env_file);
    else
        printf("  export MUSTER_KAFKA_BROKERS=%s MUSTER_REDIS_PORT=%d\n", brokers, port);
    if (!examples) {
        printf("  %s send-alert FILE.json\n  %s status; %s incident list\n", muster, muster, muster);
        return;
    }
    snprintf(alerts, sizeof(alerts), "%s/alerts/checkout-down.json", shown_path(examples));
    snprintf(resolved, sizeof(resolved), "%s/resolved/checkout-down.json", shown_path(examples));
    printf("  %s send-alert %s\n"
           "  %s wait --incidents 1\n"
           "  %s incident show latest\n"
           "  %s ack latest\n"
           "  %s send-alert %s\n"
           "  %s wait --incidents 1 --resolved 1\n"
           "  %s report\n",
           muster, alerts, muster, muster, muster, muster, resolved, muster, muster);
}

/* The mock cluster keeps only the newest ~5 MB of each partition (a fixed
 * limit in librdkafka 2.0: rd_kafka_mock_* offers no segment or retention
 * setting), and deletes older batches even if nobody read them. Capacity
 * therefore comes from partitions: 64 of them hold ~320 MB of alerts, and
 * as much of events, about a million small alerts, so that a storm is read
 * before it is deleted. Memory grows with what was sent, up to that. */
#define UP_PARTITIONS 64
#define UP_DLQ_PARTITIONS 4

int cmd_up(config *cfg, int argc, char **argv) {
    const char *workers_opt = cli_option(argc, argv, "--workers");
    const char *dir_opt = cli_option(argc, argv, "--state-dir");
    const char *env_file = cli_option(argc, argv, "--env-file");
    const char *wf_opt = cli_option(argc, argv, "--workflows");
    const char *kafka_opt = cli_option(argc, argv, "--kafka");
    const char *only = cli_option(argc, argv, "--only");
    int examples = cli_flag(argc, argv, "--examples"), keep = cli_flag(argc, argv, "--keep");
    char exe[PATH_MAX], bindir[PATH_MAX], dir[PATH_MAX], path[PATH_MAX + 64], err[512];
    char program[PATH_MAX + 32], port_text[16], ex[PATH_MAX], wf[PATH_MAX + 32], sink_file[PATH_MAX + 32];
    char metrics_set[48], api_set[48], api_tokens[PATH_MAX + 64], api_token[128] = "";
    /* Stop order: intake first, the workers then hand back and flush, Redis last. */
    enum { STAGE_API, STAGE_DISPATCHER, STAGE_WORKERS, STAGE_METRICS, STAGE_SINK, STAGE_REDIS };
    supervisor *sup = NULL;
    int disp = -1;
    rd_kafka_t *rk = NULL;
    rd_kafka_mock_cluster_t *mc = NULL;
    int rc = EXIT_FAIL, made_dir = 0;

    if (cli_flag(argc, argv, "--help")) {
        fputs(up_usage, stdout);
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
    snprintf(bindir, sizeof(bindir), "%s", exe);
    *strrchr(bindir, '/') = '\0'; /* /proc/self/exe is absolute */
    if (examples && find_examples(bindir, ex) < 0) {
        fprintf(stderr, "muster up: --examples: no docs/examples here, beside %s or in "
                        "MUSTER_EXAMPLES_DIR; run it from the source tree\n", bindir);
        return EXIT_USAGE;
    }
    if (dir_opt) {
        snprintf(dir, sizeof(dir), "%s", dir_opt);
        mkdir(dir, 0700);
    } else {
        snprintf(dir, sizeof(dir), "/tmp/muster-up-XXXXXX");
        if (!mkdtemp(dir)) {
            fprintf(stderr, "muster up: mkdtemp: %s\n", strerror(errno));
            return EXIT_FAIL;
        }
        made_dir = !keep;
    }

    /* From here on a signal stops what has started and cleans up. */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    /* Kafka: the mock cluster lives in this process, on loopback. */
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
    if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err)))) {
        fprintf(stderr, "muster up: kafka: %s\n", err);
        goto out;
    }
    const char *topics[] = {cfg->kafka_alerts_topic, cfg->kafka_events_topic, cfg->kafka_dlq_topic};
    const char *brokers = kafka_opt;
    if (!kafka_opt) {
        if (!(mc = rd_kafka_mock_cluster_new(rk, 1))) {
            fprintf(stderr, "muster up: cannot start the embedded Kafka\n");
            goto out;
        }
        for (int i = 0; i < 3; i++)
            rd_kafka_mock_topic_create(mc, topics[i], i == 2 ? UP_DLQ_PARTITIONS : UP_PARTITIONS, 1);
        brokers = rd_kafka_mock_cluster_bootstraps(mc);
    }

    if (only && strcmp(only, "kafka") == 0 && mc) {
        printf("muster up: embedded kafka at %s\n", brokers);
        fflush(stdout);
        if (env_file) write_env(env_file, brokers, -1, 0, NULL, NULL, -1, NULL);
        while (!up_stop) rd_kafka_poll(rk, 100);
        rc = EXIT_OK;
        goto out;
    } else if (only) {
        fprintf(stderr, "muster up: --only takes \"kafka\" (and not with --kafka)\n");
        rc = EXIT_USAGE;
        goto out;
    }

    if (!(sup = supervisor_new(UP_MAX_WORKERS + 4))) goto out;

    /* The examples' receiver, on a free port the workflows are pointed at;
     * the same port when it is restarted. */
    snprintf(wf, sizeof(wf), "%s", wf_opt ? wf_opt : cfg->workflows_dir);
    int sink_port = -1, intake_port = -1;
    char intake_url[64] = "", intake_token[128] = "";
    if (examples) {
        /* The intake: the port and token already configured, else new ones;
         * set before the sink starts, which reads where to click. */
        intake_port = cfg->intake_port > 0 ? cfg->intake_port : free_port();
        if (cfg->intake_token && *cfg->intake_token)
            snprintf(intake_token, sizeof(intake_token), "%s", cfg->intake_token);
        else
            random_token(intake_token, sizeof(intake_token));
        snprintf(intake_url, sizeof(intake_url), "http://127.0.0.1:%d", intake_port);
        examples_env(ex, intake_port, intake_token);
        char routes[PATH_MAX + 32], sink_port_text[16];
        snprintf(program, sizeof(program), "%s/muster-sink", bindir);
        snprintf(sink_file, sizeof(sink_file), "%s/sink.port", dir);
        snprintf(path, sizeof(path), "%s/sink.log", dir);
        snprintf(routes, sizeof(routes), "%s/sink-routes.json", ex);
        snprintf(sink_port_text, sizeof(sink_port_text), "%d", free_port());
        const char *sink_argv[] = {program, "--port", sink_port_text, "--port-file", sink_file,
                                   "--log", path, "--routes", routes, NULL};
        if (up_start(sup, "muster-sink", sink_argv, "/dev/null", STAGE_SINK) < 0) goto out;
        if ((sink_port = wait_port_file(sink_file, 10000)) < 0) {
            fprintf(stderr, "muster up: muster-sink did not start\n");
            goto out;
        }
        if (!wf_opt) {
            if (copy_workflows(ex, dir, sink_port) < 0) goto out;
            snprintf(wf, sizeof(wf), "%s/workflows", dir);
        }
        /* the receiver answers the Slack button's response_url itself */
        snprintf(path, sizeof(path), "http://127.0.0.1:%d", sink_port);
        setenv("MUSTER_SLACK_RESPONSE_HOSTS", path, 0);
    }

    /* Redis: a child on a free port, its files in the state directory. A
     * restarted one reads its append-only file back: every write it
     * acknowledged was in that file (the OS's cache) before the reply. */
    int port = free_port();
    snprintf(port_text, sizeof(port_text), "%d", port);
    snprintf(path, sizeof(path), "%s/redis.log", dir);
    const char *redis_argv[] = {"redis-server", "--port", port_text, "--bind", "127.0.0.1",
                                "--dir", dir, "--appendonly", "yes", "--save", "",
                                "--logfile", path, NULL};
    if (up_start(sup, "redis-server", redis_argv, NULL, STAGE_REDIS) < 0) goto out;
    if (wait_redis(port, 10000) < 0) {
        fprintf(stderr, "muster up: redis-server did not answer on port %d (see %s)\n", port, path);
        goto out;
    }

    setenv("MUSTER_KAFKA_BROKERS", brokers, 1);
    setenv("MUSTER_REDIS_HOST", "127.0.0.1", 1);
    setenv("MUSTER_REDIS_PORT", port_text, 1);
    setenv("MUSTER_WORKFLOWS_DIR", wf, 1);
    setenv("MUSTER_REDIS_PREFIX", cfg->redis_prefix, 1);

    snprintf(program, sizeof(program), "%s/muster-dispatcher", bindir);
    const char *disp_argv[] = {program, NULL};
    if ((disp = up_start(sup, "dispatcher", disp_argv, NULL, STAGE_DISPATCHER)) < 0) goto out;
    snprintf(program, sizeof(program), "%s/muster-worker", bindir);
    for (int i = 0; i < nworkers; i++) {
        char name[32];
        const char *w_argv[] = {program, NULL};
        snprintf(name, sizeof(name), "worker %d", i + 1);
        if (up_start(sup, name, w_argv, NULL, STAGE_WORKERS) < 0) goto out;
    }
    /* MTTA, MTTR and the automation figures (`muster report`). */
    int metrics_port = free_port();
    snprintf(program, sizeof(program), "%s/muster-metrics", bindir);
    snprintf(metrics_set, sizeof(metrics_set), "status.port=%d", metrics_port);
    const char *m_argv[] = {program, "-s", metrics_set, NULL};
    if (up_start(sup, "muster-metrics", m_argv, NULL, STAGE_METRICS) < 0) goto out;
    /* muster-api and the console, with one admin token made for this run
     * (its hash in the state directory). */
    int api_port = free_port();
    snprintf(program, sizeof(program), "%s/muster-api", bindir);
    snprintf(api_tokens, sizeof(api_tokens), "%s/api-tokens", dir);
    if (access(program, X_OK) == 0 && up_api_token(api_tokens, api_token, sizeof(api_token)) == 0) {
        char tokens_set[PATH_MAX + 96];
        snprintf(api_set, sizeof(api_set), "api.port=%d", api_port);
        snprintf(tokens_set, sizeof(tokens_set), "api.tokens_file=%s", api_tokens);
        const char *a_argv[] = {program, "-s", api_set, "-s", tokens_set, NULL};
        if (up_start(sup, "muster-api", a_argv, NULL, STAGE_API) < 0) goto out;
    } else {
        api_port = -1;
    }

    printf("muster up: embedded pipeline running\n"
           "  kafka       %s (%s; topics %s, %s, %s)\n"
           "  redis       127.0.0.1:%d (state in %s%s)\n"
           "  dispatcher  pid %d, workflows from %s\n"
           "  workers     %d\n"
           "  metrics     http://127.0.0.1:%d/metrics (muster-metrics)\n",
           brokers, mc ? "embedded mock cluster" : "external", topics[0], topics[1], topics[2], port, dir,
           made_dir ? ", removed on exit; --keep keeps it" : "", (int)supervisor_pid(sup, disp), wf,
           nworkers, metrics_port);
    if (api_port > 0)
        printf("  api         http://127.0.0.1:%d/ (muster-api: the console, /api/v1/; an admin "
               "token for it: %s)\n",
               api_port, env_file ? "$MUSTER_CONSOLE_TOKEN" : api_token);
    if (examples)
        printf("  receiver    http://127.0.0.1:%d (muster-sink as Jira, Slack, Twilio; requests in "
               "%s/sink.log)\n  examples    %s\n",
               sink_port, dir, shown_path(ex));
    if (examples)
        printf("  intake      %s (post an alert: curl -H \"Authorization: Bearer %s\" --data-binary "
               "@ALERT.json %s/api/v1/alerts)\n",
               intake_url, env_file ? "$MUSTER_INTAKE_TOKEN" : intake_token, intake_url);
    printf("\n");
    print_next(exe, examples ? ex : NULL, env_file, brokers, port);
    fflush(stdout);
    if (env_file)
        write_env(env_file, brokers, port, metrics_port, intake_url, intake_token, api_port,
                  api_token);

    /* Children that exit are started again; the Kafka they read lives in
     * this process and keeps what they had not read yet. */
    rc = EXIT_OK;
    while (!up_stop) {
        if (supervisor_tick(sup) < 0) {
            rc = EXIT_FAIL;
            break;
        }
        rd_kafka_poll(rk, 100);
    }
out:
    if (sup) supervisor_stop(sup, 20000); /* a worker's grace (10 s) and its flush */
    supervisor_free(sup);
    if (mc) rd_kafka_mock_cluster_destroy(mc);
    if (rk) rd_kafka_destroy(rk);
    if (env_file) unlink(env_file);
    if (made_dir) nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
