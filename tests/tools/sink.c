/* sink.c - muster-sink: local HTTP receiver standing in for vendor APIs in tests */
#include "sink_log.h"
#include "sink_routes.h"
#include "sink_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <curl/curl.h>

#define THREADS_MAX 64
#define NOFILE_WANTED (1u << 16) /* room for the 20000-connection limit */

struct options {
    const char *host;
    unsigned long port;
    const char *port_file;
    const char *log;
    const char *routes;
    unsigned long threads;
};

enum opt_type { OPT_STRING, OPT_UINT };

/* The one table of options: it drives parsing, defaults and --help. */
static const struct opt_spec {
    const char *name;
    enum opt_type type;
    const char *metavar;
    const char *def; /* NULL: unset */
    unsigned long min, max;
    size_t offset;
    const char *help;
} opt_specs[] = {
    {"host", OPT_STRING, "ADDR", "127.0.0.1", 0, 0, offsetof(struct options, host),
     "loopback address to bind: 127.0.0.0/8, ::1 or localhost"},
    {"port", OPT_UINT, "N", "0", 0, 65535, offsetof(struct options, port),
     "TCP port; 0 lets the kernel choose"},
    {"port-file", OPT_STRING, "FILE", NULL, 0, 0, offsetof(struct options, port_file),
     "write the bound port to FILE (temp file, then rename)"},
    {"log", OPT_STRING, "FILE", NULL, 0, 0, offsetof(struct options, log),
     "append every request to FILE as one JSON line"},
    {"routes", OPT_STRING, "FILE", NULL, 0, 0, offsetof(struct options, routes),
     "JSON array of reply rules (docs/sink.md); default: 200 {\"ok\":true} to all"},
    {"threads", OPT_UINT, "N", "2", 1, THREADS_MAX, offsetof(struct options, threads),
     "HTTP worker threads"},
};

#define OPT_COUNT (sizeof opt_specs / sizeof opt_specs[0])

static void print_help(FILE *f) {
    fprintf(f, "Usage: muster-sink [OPTION]...\n"
               "\n"
               "A local HTTP receiver that stands in for vendor APIs (Jira, Slack, Twilio...)\n"
               "in muster's demo, end-to-end tests and benchmarks. It answers each request\n"
               "from a table of canned replies, logs it as one JSON line, and reports its\n"
               "counters at GET " SINK_STATS_PATH ". SIGTERM or SIGINT stops it.\n"
               "\n"
               "Options:\n");
    for (size_t i = 0; i < OPT_COUNT; i++) {
        const struct opt_spec *o = &opt_specs[i];
        char left[64];
        snprintf(left, sizeof left, "--%s %s", o->name, o->metavar);
        fprintf(f, "  %-18s %s", left, o->help);
        if (o->type == OPT_UINT)
            fprintf(f, " (%lu..%lu)", o->min, o->max);
        if (o->def)
            fprintf(f, " [default %s]", o->def);
        fputc('\n', f);
    }
    fprintf(f, "  %-18s %s\n", "-h, --help", "show this help and exit");
    fprintf(f, "\n"
               "Once listening it prints \"listening ADDR:PORT\" on stdout. Request bodies are\n"
               "capped at %u bytes (413 beyond). Exit status: 0 after --help or on\n"
               "SIGTERM/SIGINT, 1 when it cannot start, 2 on bad usage.\n",
            SINK_BODY_MAX);
}

/* Reports bad usage on stderr. Returns -1. */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...) {
    va_list ap;

    fputs("muster-sink: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\ntry 'muster-sink --help'\n", stderr);
    return -1;
}

/* Stores text as the value of option o. Returns 0, or -1 after a message. */
static int set_option(struct options *opts, const struct opt_spec *o, const char *text) {
    char *field = (char *)opts + o->offset, *end;
    unsigned long n;

    if (o->type == OPT_STRING) {
        if (!*text)
            return usage_error("--%s: needs a non-empty %s", o->name, o->metavar);
        *(const char **)(void *)field = text;
        return 0;
    }
    errno = 0;
    n = strtoul(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end || errno || n < o->min || n > o->max)
        return usage_error("--%s %s: must be an integer in %lu..%lu", o->name, text, o->min,
                           o->max);
    *(unsigned long *)(void *)field = n;
    return 0;
}

/* Fills opts from the defaults and argv. Returns 0, 1 when --help was
 * given (help printed), or -1 on bad usage (message printed). */
static int parse_args(int argc, char **argv, struct options *opts) {
    memset(opts, 0, sizeof *opts);
    for (size_t i = 0; i < OPT_COUNT; i++)
        if (opt_specs[i].def && set_option(opts, &opt_specs[i], opt_specs[i].def) != 0)
            return -1;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *value, *eq;
        const struct opt_spec *o = NULL;
        size_t name_len;

        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            print_help(stdout);
            return 1;
        }
        if (strncmp(arg, "--", 2) != 0)
            return usage_error("unexpected argument \"%s\"", arg);
        eq = strchr(arg + 2, '=');
        name_len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        for (size_t k = 0; k < OPT_COUNT && !o; k++)
            if (strlen(opt_specs[k].name) == name_len &&
                strncmp(opt_specs[k].name, arg + 2, name_len) == 0)
                o = &opt_specs[k];
        if (!o)
            return usage_error("unknown option \"%s\"", arg);
        if (eq) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            return usage_error("%s needs a value", arg);
        }
        if (set_option(opts, o, value) != 0)
            return -1;
    }
    return 0;
}

/* Resolves host to a loopback socket address with port, refusing any
 * other address: the sink must never be reachable from off the machine.
 * Fills text with the numeric host as it goes before ":PORT" in a URL. */
static int loopback_address(const char *host, unsigned port, struct sockaddr_storage *ss,
                            char *text, size_t textlen) {
    struct sockaddr_in *in4 = (struct sockaddr_in *)(void *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)ss;
    char bare[INET6_ADDRSTRLEN + 1];
    size_t len = strlen(host);

    memset(ss, 0, sizeof *ss);
    if (strcmp(host, "localhost") == 0)
        host = "127.0.0.1";
    if (len >= 2 && len - 2 < sizeof bare && host[0] == '[' && host[len - 1] == ']') {
        memcpy(bare, host + 1, len - 2); /* [::1] */
        bare[len - 2] = '\0';
        host = bare;
    }
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        if ((ntohl(in4->sin_addr.s_addr) >> 24) != 127)
            goto refuse;
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        snprintf(text, textlen, "%s", host);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        if (!IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            goto refuse;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        snprintf(text, textlen, "[::1]");
        return 0;
    }
    return usage_error("--host %s: not an IP address (use 127.0.0.1, ::1 or localhost)", host);
refuse:
    return usage_error("--host %s: not a loopback address; muster-sink binds only 127.0.0.0/8 "
                       "or ::1",
                       host);
}

/* Writes "PORT\n" to a temporary file beside path, then renames it over
 * path, so a reader never sees a partial number. */
static int write_port_file(const char *path, unsigned port, char *err, size_t errlen) {
    int rc = -1, fd = -1;
    char *tmp = NULL, line[16];
    int len = snprintf(line, sizeof line, "%u\n", port);

    if (!(tmp = malloc(strlen(path) + 32))) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    snprintf(tmp, strlen(path) + 32, "%s.tmp.%ld", path, (long)getpid());
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
        snprintf(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
        goto out;
    }
    if (write(fd, line, (size_t)len) != len) {
        snprintf(err, errlen, "%s: cannot write: %s", tmp, strerror(errno));
        goto out;
    }
    if (close(fd) != 0) {
        fd = -1;
        snprintf(err, errlen, "%s: cannot close: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (rc != 0 && tmp)
        unlink(tmp);
    free(tmp);
    return rc;
}

/* Lifts the soft descriptor limit toward the hard one so the connection
 * limit can be reached; failure only lowers that limit. */
static void raise_nofile(void) {
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= NOFILE_WANTED)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > NOFILE_WANTED ? NOFILE_WANTED
                                                                              : rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
}

int main(int argc, char **argv) {
    int rc = 1, sig = 0;
    unsigned port;
    struct options opts;
    struct sockaddr_storage addr;
    char host_text[INET6_ADDRSTRLEN + 8], addr_text[INET6_ADDRSTRLEN + 16], err[1024];
    struct sink_routes *routes = NULL;
    struct sink_log *log = NULL;
    struct sink_server *srv = NULL;
    struct sink_server_config cfg;
    sigset_t stop_signals;

    switch (parse_args(argc, argv, &opts)) {
    case 1:
        return 0;
    case 0:
        break;
    default:
        return 2;
    }
    if (loopback_address(opts.host, (unsigned)opts.port, &addr, host_text, sizeof host_text) != 0)
        return 2;
    snprintf(addr_text, sizeof addr_text, "%s:%lu", host_text, opts.port);

    /* Before any thread: then_interact clicks are sent with libcurl. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, sizeof err, "cannot initialise libcurl");
        goto fail;
    }
    if ((opts.routes ? sink_routes_load(opts.routes, &routes, err, sizeof err)
                     : sink_routes_default(&routes, err, sizeof err)) != 0)
        goto fail;
    if (opts.log && sink_log_open(opts.log, &log, err, sizeof err) != 0)
        goto fail;

    /* Block the stop signals before any thread starts so that every thread
     * inherits the mask and only sigwait() below receives them. */
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);
    raise_nofile();

    cfg = (struct sink_server_config){
        .addr = (const struct sockaddr *)&addr,
        .addr_text = addr_text,
        .threads = (unsigned)opts.threads,
        .routes = routes,
        .log = log,
    };
    if (sink_server_start(&cfg, &srv, err, sizeof err) != 0)
        goto fail;
    port = sink_server_port(srv);
    if (port == 0) {
        snprintf(err, sizeof err, "%s: cannot read the bound port", addr_text);
        goto fail;
    }
    if (opts.port_file && write_port_file(opts.port_file, port, err, sizeof err) != 0)
        goto fail;
    printf("listening %s:%u\n", host_text, port);
    fflush(stdout);

    if (sigwait(&stop_signals, &sig) != 0) {
        snprintf(err, sizeof err, "sigwait failed");
        goto fail;
    }
    fprintf(stderr, "muster-sink: %s: stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "muster-sink: %s\n", err);
out:
    sink_server_stop(srv);
    sink_log_close(log);
    sink_routes_free(routes);
    curl_global_cleanup();
    return rc;
}
