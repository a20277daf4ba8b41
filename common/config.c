/* config.c - the one table of settings: defaults, file, environment, --help */
#include "common/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

typedef enum { T_STRING, T_INT, T_DURATION } setting_type;

typedef struct setting {
    const char *key;
    setting_type type;
    size_t offset;
    const char *def;
    int64_t min, max;
    unsigned programs;
    const char *help;
} setting;

#define S(field) offsetof(config, field)
#define D CFG_DISPATCHER
#define W CFG_WORKER
#define C CFG_CLI
#define M CFG_METRICS
#define A CFG_API

/* Every setting muster reads. Parsing, --help and docs/configuration.md all
 * come from this table, so they cannot drift apart. */
static const setting settings[] = {
    {"kafka.brokers", T_STRING, S(kafka_brokers), "127.0.0.1:9092", 0, 0, D | W | C | M,
     "Kafka bootstrap servers, host:port[,host:port...]"},
    {"kafka.alerts_topic", T_STRING, S(kafka_alerts_topic), "muster.alerts", 0, 0, D | C,
     "Topic alerts arrive on"},
    {"kafka.events_topic", T_STRING, S(kafka_events_topic), "muster.events", 0, 0, W | C | M,
     "Topic lifecycle events are published to"},
    {"kafka.dlq_topic", T_STRING, S(kafka_dlq_topic), "muster.alerts.dlq", 0, 0, D,
     "Topic undecodable alerts are written to, with the reason"},
    {"kafka.group", T_STRING, S(kafka_group), "muster-dispatcher", 0, 0, D,
     "Consumer group of the dispatchers"},
    {"kafka.commit_interval", T_DURATION, S(kafka_commit_interval_ms), "1s", 10, 3600000, D | M,
     "How often the dispatcher commits the offsets of alerts Redis holds"},
    {"kafka.session_timeout", T_DURATION, S(kafka_session_timeout_ms), "45s", 1000, 3600000, D | M,
     "How long a silent dispatcher keeps its partitions before the group moves them"},
    {"kafka.security_protocol", T_STRING, S(kafka_security_protocol), "plaintext", 0, 0,
     D | W | C | M, "plaintext, ssl, sasl_plaintext or sasl_ssl"},
    {"kafka.sasl_mechanism", T_STRING, S(kafka_sasl_mechanism), "", 0, 0, D | W | C | M,
     "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (empty: no SASL)"},
    {"kafka.sasl_username", T_STRING, S(kafka_sasl_username), "", 0, 0, D | W | C | M,
     "SASL user name"},
    {"kafka.sasl_password", T_STRING, S(kafka_sasl_password), "", 0, 0, D | W | C | M,
     "SASL password (prefer the environment variable)"},
    {"kafka.ssl_ca", T_STRING, S(kafka_ssl_ca), "", 0, 0, D | W | C | M,
     "CA certificate file for TLS to Kafka"},
    {"kafka.ssl_cert", T_STRING, S(kafka_ssl_cert), "", 0, 0, D | W | C | M,
     "Client certificate file (PEM) muster presents to Kafka (mutual TLS)"},
    {"kafka.ssl_key", T_STRING, S(kafka_ssl_key), "", 0, 0, D | W | C | M,
     "Private key file (PEM) of kafka.ssl_cert"},
    {"redis.host", T_STRING, S(redis_host), "127.0.0.1", 0, 0, D | W | C | M | A, "Redis host"},
    {"redis.port", T_INT, S(redis_port), "6379", 1, 65535, D | W | C | M | A, "Redis port"},
    {"redis.user", T_STRING, S(redis_user), "", 0, 0, D | W | C | M | A,
     "Redis ACL user (AUTH user password); empty for the default user"},
    {"redis.password", T_STRING, S(redis_password), "", 0, 0, D | W | C | M | A,
     "Redis password (AUTH); empty for none"},
    {"redis.prefix", T_STRING, S(redis_prefix), "muster", 0, 0, D | W | C | M | A,
     "Prefix of every Redis key muster writes"},
    {"redis.sentinels", T_STRING, S(redis_sentinels), "", 0, 0, D | W | C | M | A,
     "Comma-separated Sentinel host:port list; when set, the primary is asked of them and "
     "redis.host and redis.port are not used"},
    {"redis.master_name", T_STRING, S(redis_master_name), "mymaster", 0, 0, D | W | C | M | A,
     "Name the sentinels monitor the primary under (sentinel monitor NAME ...)"},
    {"redis.sentinel_password", T_STRING, S(redis_sentinel_password), "", 0, 0, D | W | C | M | A,
     "Password the sentinels require (AUTH); empty for none"},
    {"redis.wait_replicas", T_INT, S(redis_wait_replicas), "0", 0, 16, D | W | C | M | A,
     "Replicas that must hold an alert's record and a task's completion before muster goes on "
     "(WAIT); 0 does not wait"},
    {"redis.wait_timeout", T_DURATION, S(redis_wait_timeout_ms), "500ms", 1, 60000, D | W | C | M | A,
     "Longest wait for redis.wait_replicas; when it passes, muster stops waiting for 5 s"},
    {"workflows.dir", T_STRING, S(workflows_dir), "workflows", 0, 0, D | C,
     "Directory of workflow files (*.yaml, *.yml, *.json)"},
    {"oncall.dir", T_STRING, S(oncall_dir), "oncall", 0, 0, D | C | A,
     "Directory of on-call files: people, schedules, escalation policies (*.yaml, *.yml, *.json)"},
    {"worker.id", T_STRING, S(worker_id), "", 0, 0, W,
     "Name of this worker in the consumer group (default: host-pid)"},
    {"worker.pools", T_STRING, S(worker_pools), "default", 0, 0, W,
     "Comma-separated task pools this worker leases from"},
    {"worker.concurrency", T_INT, S(worker_concurrency), "64", 1, 100000, W,
     "Tasks one worker runs at the same time"},
    {"worker.lease", T_DURATION, S(worker_lease_ms), "30s", 100, 86400000, W,
     "How long a leased task stays invisible to other workers"},
    {"worker.poll", T_DURATION, S(worker_poll_ms), "200ms", 1, 60000, W,
     "Longest wait for new tasks when the worker is idle"},
    {"worker.grace", T_DURATION, S(worker_grace_ms), "10s", 0, 3600000, W,
     "On SIGTERM, how long running tasks may finish before they are handed back"},
    {"worker.relay", T_INT, S(worker_relay), "1", 0, 1, W,
     "1: this worker may relay events from the outbox to Kafka; 0: never"},
    {"exec.timeout", T_DURATION, S(exec_timeout_ms), "30s", 1, 86400000, W,
     "Default run time limit of an exec step"},
    {"exec.output_max", T_INT, S(exec_output_max), "65536", 1024, 16777216, W,
     "Bytes of stdout and of stderr kept from an exec step"},
    {"http.timeout", T_DURATION, S(http_timeout_ms), "10s", 1, 600000, W,
     "Default total time limit of an HTTP step"},
    {"http.body_max", T_INT, S(http_body_max), "1048576", 1024, 67108864, W,
     "Bytes of an HTTP response body kept"},
    {"http.max_redirects", T_INT, S(http_max_redirects), "3", 0, 20, W,
     "Redirects an HTTP step follows (http and https only)"},
    {"http.allow_hosts", T_STRING, S(http_allow_hosts), "", 0, 0, W,
     "Comma-separated hosts HTTP steps may reach (*.example.com for a domain); empty for any"},
    {"http.allow_private", T_INT, S(http_allow_private), "0", 0, 1, W,
     "1: HTTP steps of every workflow may reach private, loopback and link-local addresses"},
    {"http.proxy", T_STRING, S(http_proxy), "", 0, 0, W,
     "Proxy of HTTP steps (http://host:port); empty: none, and http_proxy and the like in the "
     "environment are ignored"},
    {"exec.dirs", T_STRING, S(exec_dirs), "/usr/libexec/muster:/etc/muster/scripts", 0, 0, W,
     "Colon-separated directories exec steps may run programs from"},
    {"secrets.dirs", T_STRING, S(secrets_dirs), "/run/secrets/muster", 0, 0, D | W,
     "Colon-separated directories of secret files, one file per secret (Kubernetes Secret mounts)"},
    {"log.level", T_STRING, S(log_level), "info", 0, 0, D | W | C | M | A,
     "debug, info, warn or error"},
    {"status.address", T_STRING, S(status_address), "127.0.0.1", 0, 0, D | W | M,
     "Address of /healthz, /readyz and /metrics (0.0.0.0 in containers)"},
    {"status.port", T_INT, S(status_port), "0", -1, 65535, D | W | M,
     "Port of /healthz, /readyz and /metrics; 0 picks a free one (logged), -1 turns them off"},
    {"intake.address", T_STRING, S(intake_address), "127.0.0.1", 0, 0, D,
     "Address of the webhook intake POST /api/v1/alerts (0.0.0.0 in containers)"},
    {"intake.port", T_INT, S(intake_port), "-1", -1, 65535, D,
     "Port of the webhook intake; -1 turns it off, 0 picks a free one (logged)"},
    {"intake.token", T_STRING, S(intake_token), "", 0, 0, D,
     "Bearer token senders must present; prefer MUSTER_INTAKE_TOKEN or intake.token_file"},
    {"intake.token_file", T_STRING, S(intake_token_file), "", 0, 0, D,
     "File the intake's bearer token is read from, trimmed (a Kubernetes Secret mount)"},
    {"intake.body_max", T_INT, S(intake_body_max), "1048576", 1024, 16777216, D,
     "Largest webhook body in bytes; a larger one is answered 413"},
    {"intake.max_connections", T_INT, S(intake_max_connections), "32", 2, 4096, D,
     "Connections the webhook intake serves at once; more wait in the listen backlog"},
    {"intake.max_connections_per_ip", T_INT, S(intake_max_connections_per_ip), "8", 0, 4096, D,
     "Connections one client address may hold on the intake; 0: no cap (behind a proxy)"},
    {"intake.header_timeout", T_DURATION, S(intake_header_timeout_ms), "10s", 100, 600000, D,
     "Time an intake connection has for a complete request head, however it trickles in"},
    {"intake.request_timeout", T_DURATION, S(intake_request_timeout_ms), "30s", 100, 600000, D,
     "Time an intake connection has for a complete request, head and body"},
    {"intake.ack_tokens", T_STRING, S(intake_ack_tokens), "", 0, 0, D,
     "name:token,... that may acknowledge over HTTP, as name; prefer MUSTER_INTAKE_ACK_TOKENS"},
    {"intake.ack_tokens_file", T_STRING, S(intake_ack_tokens_file), "", 0, 0, D,
     "File of name:token lines (# comments) that may acknowledge over HTTP, as name"},
    {"dispatcher.stall", T_DURATION, S(dispatcher_stall_ms), "60s", 1000, 86400000, D,
     "How long the dispatcher may fail to get past one message before /readyz says not ready"},
    {"dispatcher.gap_hold", T_DURATION, S(dispatcher_gap_hold_ms), "1h", 0, 2592000000, D,
     "How long /readyz says degraded after unread alerts were deleted by the broker; 0: until "
     "restart"},
    {"dispatcher.dlq_copy_max", T_INT, S(dispatcher_dlq_copy_max), "65536", 1024, 16777216, D,
     "Bytes kept of a message too large for the dead-letter topic (the copy is truncated, and "
     "its headers give the size and SHA-256 of the whole)"},
    {"intake.public_url", T_STRING, S(intake_public_url), "", 0, 0, D | W,
     "The intake's address as vendors and people reach it (https://muster.example.com): the "
     "base of phone-call key presses and acknowledgement links, and the URL Twilio signs"},
    {"ack.link_secret", T_STRING, S(ack_link_secret), "", 0, 0, D | W,
     "Name of the secret that signs acknowledgement links (workers) and checks them (the "
     "intake); empty: no /ack/ links"},
    {"ack.link_ttl", T_DURATION, S(ack_link_ttl_ms), "24h", 60000, 2592000000, W,
     "How long a signed acknowledgement link stays valid"},
    {"slack.signing_secret", T_STRING, S(slack_signing_secret), "", 0, 0, D,
     "Name of the secret holding the Slack app's signing secret; empty: no Slack endpoint"},
    {"slack.response_hosts", T_STRING, S(slack_response_hosts), "hooks.slack.com", 0, 0, D,
     "Comma-separated hosts a Slack response_url may name (https); http://host:port for a test"},
    {"twilio.auth_token", T_STRING, S(twilio_auth_token), "", 0, 0, D,
     "Name of the secret holding the Twilio auth token; empty: no SMS and voice endpoints"},
    {"pagerduty.webhook_secret", T_STRING, S(pagerduty_webhook_secret), "", 0, 0, D,
     "Name of the secret holding the PagerDuty v3 webhook secret; empty: no PagerDuty endpoint"},
    {"kafka.metrics_topic", T_STRING, S(kafka_metrics_topic), "muster.metrics", 0, 0, M,
     "Topic the metrics aggregator (muster-metrics) publishes its rollups to"},
    {"metrics.group", T_STRING, S(metrics_group), "muster-metrics", 0, 0, M,
     "Consumer group of the metrics aggregators (muster-metrics) on the events topic"},
    {"metrics.rollup_interval", T_DURATION, S(metrics_rollup_interval_ms), "60s", 1000, 86400000,
     M, "Window of the rollups muster-metrics publishes on kafka.metrics_topic"},
    {"metrics.kpi_retention", T_DURATION, S(metrics_kpi_retention_ms), "400d", 86400000,
     9000000000000, M, "How long the per-day figures of muster report (by the day an incident opened) are kept"},
    {"metrics.kpi_sample", T_INT, S(metrics_kpi_sample), "200", 1, 10000, M,
     "Times to acknowledge and to resolve kept per day and label set for the p50; past it, a uniform sample"},
    {"metrics.kpi_sets", T_INT, S(metrics_kpi_sets), "500", 1, 100000, M,
     "Label sets (workflow, severity, service) kept per day for muster report; past it, _other"},
    {"retention.incidents", T_DURATION, S(retention_incidents_ms), "336h", 1, 9000000000000, W | C,
     "How long a finished incident (resolved, its runs ended) stays in Redis; its events stay "
     "on kafka.events_topic"},
    {"retention.dead", T_DURATION, S(retention_dead_ms), "720h", 1, 9000000000000, W | C,
     "How long an incident with a dead task is kept after the task died, for muster replay"},
    {"retention.workers", T_DURATION, S(retention_workers_ms), "1h", 1, 9000000000000, W | C,
     "How long a worker that stopped sending heartbeats stays listed in muster status"},
    {"retention.interval", T_DURATION, S(retention_interval_ms), "1m", 10, 86400000, W,
     "How often the workers look for finished incidents to expire (one worker at a time)"},
    {"retention.batch", T_INT, S(retention_batch), "100", 1, 10000, W | C,
     "Most incidents one expiry call deletes (each call is one Redis script)"},
    {"api.address", T_STRING, S(api_address), "127.0.0.1", 0, 0, A,
     "Address muster-api serves the operators' API, the console and its probes on (0.0.0.0 in "
     "containers)"},
    {"api.port", T_INT, S(api_port), "8480", 0, 65535, A,
     "Port of muster-api; 0 picks a free one (logged)"},
    {"api.tokens_file", T_STRING, S(api_tokens_file), "", 0, 0, A | C,
     "File of the API's tokens, one \"NAME sha256:HEX SCOPE,...\" line each (muster token "
     "create appends to it), or a folder of such files (a mounted Secret); empty: every request "
     "is refused"},
    {"api.max_connections", T_INT, S(api_max_connections), "64", 2, 4096, A,
     "Connections muster-api serves at once, live-update streams included"},
    {"api.max_connections_per_ip", T_INT, S(api_max_connections_per_ip), "16", 0, 4096, A,
     "Connections one client address may hold on muster-api; 0: no cap (behind a proxy)"},
    {"api.header_timeout", T_DURATION, S(api_header_timeout_ms), "10s", 100, 600000, A,
     "Time a muster-api connection has for a complete request head, however it trickles in"},
    {"api.request_timeout", T_DURATION, S(api_request_timeout_ms), "30s", 100, 600000, A,
     "Time a muster-api connection has for a complete request, head and body"},
    {"api.body_max", T_INT, S(api_body_max), "65536", 1024, 1048576, A,
     "Largest request body muster-api reads, in bytes; a larger one is answered 413"},
    {"api.url", T_STRING, S(api_url), "", 0, 0, C,
     "muster-api's address (https://muster.example.com); with api.token set, the muster "
     "command goes through it instead of Redis"},
    {"api.token", T_STRING, S(api_token), "", 0, 0, C,
     "The muster command's token for api.url; prefer MUSTER_API_TOKEN"},
    {"audit.max_entries", T_INT, S(audit_max_entries), "100000", 100, 100000000, A | C,
     "Operator actions the audit stream (P:audit, muster audit) keeps; older ones are trimmed "
     "(their operator.action events stay on kafka.events_topic)"},
};

#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

static const setting *find(const char *key) {
    for (size_t i = 0; i < NSETTINGS; i++)
        if (strcmp(settings[i].key, key) == 0) return &settings[i];
    return NULL;
}

static int apply(config *cfg, const setting *s, const char *value, char *err,
                 size_t errlen) {
    char *base = (char *)cfg + s->offset;
    int64_t n;

    switch (s->type) {
    case T_STRING: {
        char *copy = strdup(value);
        if (!copy) return -1;
        free(*(char **)base);
        *(char **)base = copy;
        return 0;
    }
    case T_INT: {
        char *end;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (end == value || *end || errno) {
            snprintf(err, errlen, "%s: \"%s\" is not a whole number", s->key, value);
            return -1;
        }
        n = v;
        break;
    }
    case T_DURATION:
        if (duration_parse(value, &n) < 0) {
            snprintf(err, errlen, "%s: \"%s\" is not a duration (e.g. 500ms, 10s, 5m)",
                     s->key, value);
            return -1;
        }
        break;
    default:
        return -1;
    }
    if (n < s->min || n > s->max) {
        snprintf(err, errlen, "%s: %s is out of range [%lld, %lld]", s->key, value,
                 (long long)s->min, (long long)s->max);
        return -1;
    }
    *(int64_t *)base = n;
    return 0;
}

void config_defaults(config *cfg) {
    char err[256];
    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < NSETTINGS; i++) apply(cfg, &settings[i], settings[i].def, err, sizeof(err));
}

int config_set(config *cfg, const char *key, const char *value, char *err,
               size_t errlen) {
    const setting *s = find(key);
    if (!s) {
        snprintf(err, errlen, "unknown setting \"%s\"", key);
        return -1;
    }
    return apply(cfg, s, value, err, errlen);
}

static char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1])) *--end = '\0';
    return s;
}

int config_load_file(config *cfg, const char *path, char *err, size_t errlen) {
    char line[4096], msg[512];
    int lineno = 0, rc = -1;
    FILE *f = fopen(path, "r");

    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        /* A line fgets() could not hold would otherwise be read as two. */
        size_t n = strlen(line);
        if (n > 0 && line[n - 1] != '\n' && !feof(f) && getc(f) != EOF) {
            snprintf(err, errlen, "%s:%d: line is too long (more than %zu bytes)", path, lineno,
                     sizeof(line) - 2);
            goto out;
        }
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        char *text = trim(line);
        if (!*text) continue;
        char *eq = strchr(text, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d: expected key = value", path, lineno);
            goto out;
        }
        *eq = '\0';
        if (config_set(cfg, trim(text), trim(eq + 1), msg, sizeof(msg)) < 0) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
            goto out;
        }
    }
    rc = 0;
out:
    fclose(f);
    return rc;
}

static void env_name(const char *key, char *buf, size_t len) {
    size_t n = (size_t)snprintf(buf, len, "MUSTER_");
    for (const char *p = key; *p && n + 1 < len; p++)
        buf[n++] = (*p == '.') ? '_' : (char)toupper((unsigned char)*p);
    buf[n] = '\0';
}

int config_load_env(config *cfg, char *err, size_t errlen) {
    char name[128], msg[512];
    for (size_t i = 0; i < NSETTINGS; i++) {
        env_name(settings[i].key, name, sizeof(name));
        const char *v = getenv(name);
        if (!v) continue;
        if (apply(cfg, &settings[i], v, msg, sizeof(msg)) < 0) {
            snprintf(err, errlen, "environment %s: %s", name, msg);
            return -1;
        }
    }
    return 0;
}

int config_init(config *cfg, const char *path, char *err, size_t errlen) {
    config_defaults(cfg);
    if (!path) path = getenv("MUSTER_CONFIG");
    if (path && *path && config_load_file(cfg, path, err, errlen) < 0) return -1;
    return config_load_env(cfg, err, errlen);
}

static const char *type_name(setting_type t) {
    return t == T_INT ? "int" : t == T_DURATION ? "duration" : "string";
}

void config_print_help(FILE *out, unsigned programs) {
    char name[128];
    int kw = 0, ew = 0;
    /* Columns as wide as the longest key and variable name. */
    for (size_t i = 0; i < NSETTINGS; i++) {
        if (!(settings[i].programs & programs)) continue;
        env_name(settings[i].key, name, sizeof(name));
        if ((int)strlen(settings[i].key) > kw) kw = (int)strlen(settings[i].key);
        if ((int)strlen(name) > ew) ew = (int)strlen(name);
    }
    fprintf(out, "Settings (config file key / environment variable, default):\n");
    for (size_t i = 0; i < NSETTINGS; i++) {
        const setting *s = &settings[i];
        if (!(s->programs & programs)) continue;
        env_name(s->key, name, sizeof(name));
        fprintf(out, "  %-*s  %-*s  %s\n  %*s  %-*s  default: \"%s\"\n", kw, s->key, ew, name, s->help,
                kw, "", ew, "", s->def);
    }
}

void config_print_markdown(FILE *out) {
    char name[128];
    fprintf(out, "| key | environment | type | default | range | used by | meaning |\n");
    fprintf(out, "| --- | --- | --- | --- | --- | --- | --- |\n");
    for (size_t i = 0; i < NSETTINGS; i++) {
        const setting *s = &settings[i];
        char range[64] = "";
        env_name(s->key, name, sizeof(name));
        if (s->type != T_STRING)
            snprintf(range, sizeof(range), "%lld..%lld", (long long)s->min, (long long)s->max);
        fprintf(out, "| `%s` | `%s` | %s | %s%s%s | %s | %s%s%s%s%s | %s |\n", s->key, name,
                type_name(s->type), *s->def ? "`" : "", *s->def ? s->def : "(empty)",
                *s->def ? "`" : "", range, (s->programs & D) ? "D" : "",
                (s->programs & W) ? "W" : "", (s->programs & C) ? "C" : "",
                (s->programs & M) ? "M" : "", (s->programs & A) ? "A" : "", s->help);
    }
}

/* Writes `# text` lines no wider than 78 columns, broken between words. */
static void comment_wrapped(FILE *out, const char *text) {
    while (*text) {
        size_t n = strlen(text);
        if (n > 76) {
            n = 76;
            while (n > 0 && text[n] != ' ') n--;
            if (n == 0) n = strcspn(text, " ");
        }
        fprintf(out, "# %.*s\n", (int)n, text);
        text += n;
        while (*text == ' ') text++;
    }
}

void config_print_file(FILE *out) {
    static const struct {
        unsigned bit;
        const char *name;
    } users[] = {{D, "muster-dispatcher"}, {W, "muster-worker"}, {C, "muster"}, {M, "muster-metrics"}, {A, "muster-api"}};
    char name[128], used[128];
    fprintf(out, "# muster.conf - settings of muster, muster-dispatcher, muster-worker and\n"
                 "# muster-metrics, one `key = value` per line; `#` starts a comment.\n#\n"
                 "# A program reads this file when given `-c FILE` or when MUSTER_CONFIG names\n"
                 "# it. MUSTER_* environment variables win over the file, and -s KEY=VALUE\n"
                 "# over both. Every setting below is commented out and shows its default.\n"
                 "# Generated from the settings table (`muster config --conf`);\n"
                 "# docs/configuration.md says more.\n");
    for (size_t i = 0; i < NSETTINGS; i++) {
        const setting *s = &settings[i];
        size_t n = 0;
        used[0] = '\0';
        for (size_t u = 0; u < sizeof(users) / sizeof(users[0]); u++)
            if (s->programs & users[u].bit)
                n += (size_t)snprintf(used + n, sizeof(used) - n, "%s%s", n ? ", " : "", users[u].name);
        env_name(s->key, name, sizeof(name));
        fprintf(out, "\n");
        comment_wrapped(out, s->help);
        /* Within 78 columns: the programs go on their own line when needed. */
        if (strlen(name) + strlen(used) + 6 > 78)
            fprintf(out, "# (%s;\n#  %s)\n#%s = %s\n", name, used, s->key, s->def);
        else
            fprintf(out, "# (%s; %s)\n#%s = %s\n", name, used, s->key, s->def);
    }
}

void config_free(config *cfg) {
    if (!cfg) return;
    for (size_t i = 0; i < NSETTINGS; i++)
        if (settings[i].type == T_STRING) {
            char **p = (char **)((char *)cfg + settings[i].offset);
            free(*p);
            *p = NULL;
        }
}
