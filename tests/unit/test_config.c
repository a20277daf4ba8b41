/* test_config.c - unit tests for the settings table: defaults, file, env */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness/tmpdir.h"
#include "common/config.h"

/* Every key of the table, as documented in docs/configuration.md. */
static const char *const keys[] = {
    "kafka.brokers",      "kafka.alerts_topic",  "kafka.events_topic",
    "kafka.dlq_topic",    "kafka.group",         "kafka.security_protocol",
    "kafka.sasl_mechanism", "kafka.sasl_username", "kafka.sasl_password",
    "kafka.ssl_ca",       "redis.host",          "redis.port",
    "redis.password",     "redis.prefix",        "workflows.dir",       "oncall.dir",
    "worker.id",          "worker.pools",        "worker.concurrency",
    "worker.lease",       "worker.poll",         "worker.grace",
    "worker.relay",       "kafka.commit_interval", "kafka.session_timeout", "exec.timeout",
    "exec.output_max",    "http.timeout",        "http.body_max", "http.max_redirects",
    "http.allow_hosts", "http.allow_private", "http.proxy", "exec.dirs", "secrets.dirs",
    "log.level",          "status.address",      "status.port",
    "retention.incidents", "retention.dead",     "retention.workers",
    "retention.interval",  "retention.batch",
    "intake.address",     "intake.port",         "intake.token",
    "intake.token_file",  "intake.body_max",
    "kafka.ssl_cert",     "kafka.ssl_key",       "redis.user",
    "kafka.metrics_topic", "metrics.group",      "metrics.rollup_interval",
    "metrics.kpi_retention", "metrics.kpi_sample", "metrics.kpi_sets",
    "intake.max_connections", "intake.max_connections_per_ip", "intake.header_timeout",
    "intake.request_timeout", "intake.ack_tokens", "intake.ack_tokens_file",
    "redis.sentinels",    "redis.master_name",   "redis.sentinel_password",
    "redis.wait_replicas", "redis.wait_timeout",
    "dispatcher.stall",   "dispatcher.gap_hold", "dispatcher.dlq_copy_max",
    "intake.public_url",  "ack.link_secret",     "ack.link_ttl",
    "slack.signing_secret", "slack.response_hosts", "twilio.auth_token",
    "pagerduty.webhook_secret",
    "api.address",        "api.port",            "api.tokens_file",
    "api.max_connections", "api.max_connections_per_ip", "api.header_timeout",
    "api.request_timeout", "api.body_max",       "api.url",             "api.token",
    "audit.max_entries",
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static char dir[64];
static char err[512];

static int setup(void **state) {
    (void)state;
    return tmpdir_make(dir, sizeof(dir), "config");
}

static int teardown(void **state) {
    (void)state;
    return tmpdir_remove(dir);
}

/* Each test starts without MUSTER_* variables from the caller's shell. */
static int clear_env(void **state) {
    (void)state;
    char name[128];
    for (size_t i = 0; i < NKEYS; i++) {
        size_t n = (size_t)snprintf(name, sizeof(name), "MUSTER_");
        for (const char *p = keys[i]; *p; p++)
            name[n++] = *p == '.' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
        name[n] = '\0';
        unsetenv(name);
    }
    unsetenv("MUSTER_CONFIG");
    err[0] = '\0';
    return 0;
}

static const char *write_file(const char *name, const char *text) {
    static char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    return path;
}

static void expect_error(config *cfg, const char *key, const char *value, const char *needle) {
    err[0] = '\0';
    if (config_set(cfg, key, value, err, sizeof(err)) == 0)
        fail_msg("%s = %s was accepted", key, value);
    if (!strstr(err, needle)) fail_msg("error for %s = %s is \"%s\", wanted \"%s\"", key, value, err, needle);
}

static void test_defaults(void **state) {
    (void)state;
    config cfg;
    config_defaults(&cfg);
    assert_string_equal(cfg.kafka_brokers, "127.0.0.1:9092");
    assert_string_equal(cfg.kafka_alerts_topic, "muster.alerts");
    assert_string_equal(cfg.kafka_events_topic, "muster.events");
    assert_string_equal(cfg.kafka_dlq_topic, "muster.alerts.dlq");
    assert_string_equal(cfg.kafka_group, "muster-dispatcher");
    assert_string_equal(cfg.kafka_security_protocol, "plaintext");
    assert_string_equal(cfg.kafka_sasl_mechanism, "");
    assert_string_equal(cfg.kafka_sasl_password, "");
    assert_string_equal(cfg.redis_host, "127.0.0.1");
    assert_int_equal(cfg.redis_port, 6379);
    assert_string_equal(cfg.redis_password, "");
    assert_string_equal(cfg.redis_user, "");
    assert_string_equal(cfg.kafka_ssl_cert, "");
    assert_string_equal(cfg.kafka_ssl_key, "");
    assert_string_equal(cfg.redis_prefix, "muster");
    assert_string_equal(cfg.workflows_dir, "workflows");
    assert_string_equal(cfg.worker_id, "");
    assert_string_equal(cfg.worker_pools, "default");
    assert_int_equal(cfg.worker_concurrency, 64);
    assert_int_equal(cfg.worker_lease_ms, 30000);
    assert_int_equal(cfg.worker_poll_ms, 200);
    assert_int_equal(cfg.exec_timeout_ms, 30000);
    assert_int_equal(cfg.exec_output_max, 65536);
    assert_int_equal(cfg.http_timeout_ms, 10000);
    assert_int_equal(cfg.http_body_max, 1048576);
    assert_string_equal(cfg.log_level, "info");
    assert_string_equal(cfg.intake_address, "127.0.0.1");
    assert_int_equal(cfg.intake_port, -1);
    assert_string_equal(cfg.intake_token, "");
    assert_string_equal(cfg.intake_token_file, "");
    assert_int_equal(cfg.intake_body_max, 1048576);
    assert_int_equal(cfg.intake_max_connections, 32);
    assert_int_equal(cfg.intake_max_connections_per_ip, 8);
    assert_int_equal(cfg.intake_header_timeout_ms, 10000);
    assert_int_equal(cfg.intake_request_timeout_ms, 30000);
    assert_string_equal(cfg.intake_ack_tokens, "");
    assert_string_equal(cfg.intake_ack_tokens_file, "");
    config_free(&cfg);
    assert_null(cfg.kafka_brokers);
    config_free(&cfg); /* twice is harmless */
    config_free(NULL);
}

static void test_set_each_type(void **state) {
    (void)state;
    config cfg;
    config_defaults(&cfg);
    assert_int_equal(config_set(&cfg, "kafka.brokers", "k1:9092,k2:9092", err, sizeof(err)), 0);
    assert_string_equal(cfg.kafka_brokers, "k1:9092,k2:9092");
    assert_int_equal(config_set(&cfg, "redis.password", "", err, sizeof(err)), 0);
    assert_string_equal(cfg.redis_password, "");
    assert_int_equal(config_set(&cfg, "redis.port", "6380", err, sizeof(err)), 0);
    assert_int_equal(cfg.redis_port, 6380);
    assert_int_equal(config_set(&cfg, "worker.lease", "5m", err, sizeof(err)), 0);
    assert_int_equal(cfg.worker_lease_ms, 300000);
    assert_int_equal(config_set(&cfg, "worker.poll", "50", err, sizeof(err)), 0);
    assert_int_equal(cfg.worker_poll_ms, 50);
    assert_int_equal(config_set(&cfg, "exec.timeout", "1h", err, sizeof(err)), 0);
    assert_int_equal(cfg.exec_timeout_ms, 3600000);
    assert_int_equal(config_set(&cfg, "http.timeout", "2.5s", err, sizeof(err)), 0);
    assert_int_equal(cfg.http_timeout_ms, 2500);
    config_free(&cfg);
}

static void test_range_errors(void **state) {
    (void)state;
    config cfg;
    config_defaults(&cfg);
    expect_error(&cfg, "redis.port", "0", "redis.port: 0 is out of range [1, 65535]");
    expect_error(&cfg, "redis.port", "65536", "out of range");
    expect_error(&cfg, "worker.concurrency", "-1", "out of range [1, 100000]");
    expect_error(&cfg, "worker.lease", "50ms", "worker.lease: 50ms is out of range [100, 86400000]");
    expect_error(&cfg, "worker.lease", "2y", "is not a duration");
    expect_error(&cfg, "worker.poll", "2m", "out of range");
    expect_error(&cfg, "exec.output_max", "1023", "out of range [1024, 16777216]");
    expect_error(&cfg, "redis.port", "63 79", "\"63 79\" is not a whole number");
    expect_error(&cfg, "redis.port", "", "is not a whole number");
    expect_error(&cfg, "redis.port", "6379x", "is not a whole number");
    expect_error(&cfg, "redis.port", "99999999999999999999", "is not a whole number");
    expect_error(&cfg, "http.timeout", "-1s", "http.timeout: \"-1s\" is not a duration");
    expect_error(&cfg, "intake.port", "-2", "intake.port: -2 is out of range [-1, 65535]");
    expect_error(&cfg, "intake.port", "65536", "out of range");
    expect_error(&cfg, "intake.body_max", "1023", "out of range [1024, 16777216]");
    expect_error(&cfg, "intake.body_max", "16777217", "out of range");
    expect_error(&cfg, "intake.max_connections", "1", "out of range [2, 4096]");
    expect_error(&cfg, "intake.max_connections_per_ip", "-1", "out of range [0, 4096]");
    expect_error(&cfg, "intake.header_timeout", "50ms", "out of range [100, 600000]");
    expect_error(&cfg, "intake.request_timeout", "11m", "out of range [100, 600000]");
    /* a failed set leaves the old value */
    assert_int_equal(cfg.redis_port, 6379);
    assert_int_equal(cfg.worker_lease_ms, 30000);
    config_free(&cfg);
}

static void test_unknown_key(void **state) {
    (void)state;
    config cfg;
    config_defaults(&cfg);
    expect_error(&cfg, "redis.hots", "x", "unknown setting \"redis.hots\"");
    expect_error(&cfg, "REDIS.HOST", "x", "unknown setting");
    expect_error(&cfg, "", "x", "unknown setting \"\"");
    config_free(&cfg);
}

static void test_file(void **state) {
    (void)state;
    config cfg;
    const char *path = write_file("good.conf",
                                  "# muster settings\n"
                                  "\n"
                                  "kafka.brokers = kafka-0:9092   # the first broker\n"
                                  "   \t\n"
                                  "redis.port=6390\n"
                                  "  worker.lease =  45s  \n"
                                  "log.level = debug\n"
                                  "redis.prefix = a=b\n"
                                  "worker.id =\n"
                                  "# kafka.group = never\n");
    config_defaults(&cfg);
    assert_int_equal(config_load_file(&cfg, path, err, sizeof(err)), 0);
    assert_string_equal(cfg.kafka_brokers, "kafka-0:9092");
    assert_int_equal(cfg.redis_port, 6390);
    assert_int_equal(cfg.worker_lease_ms, 45000);
    assert_string_equal(cfg.log_level, "debug");
    assert_string_equal(cfg.redis_prefix, "a=b");
    assert_string_equal(cfg.worker_id, "");
    assert_string_equal(cfg.kafka_group, "muster-dispatcher");
    config_free(&cfg);
}

static void test_file_errors(void **state) {
    (void)state;
    config cfg;
    char want[512];
    config_defaults(&cfg);

    const char *path = write_file("bad_value.conf", "# c\n\nredis.host = r\nredis.port = many\n");
    assert_int_equal(config_load_file(&cfg, path, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:4: redis.port: \"many\" is not a whole number", path);
    assert_string_equal(err, want);

    path = write_file("bad_key.conf", "redis.host = r\n\n\nredis.hots = x\n");
    assert_int_equal(config_load_file(&cfg, path, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:4: unknown setting \"redis.hots\"", path);
    assert_string_equal(err, want);

    path = write_file("no_equals.conf", "redis.host = r\nredis.port 6379\n");
    assert_int_equal(config_load_file(&cfg, path, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:2: expected key = value", path);
    assert_string_equal(err, want);

    snprintf(want, sizeof(want), "%s/absent.conf", dir);
    assert_int_equal(config_load_file(&cfg, want, err, sizeof(err)), -1);
    assert_non_null(strstr(err, want));
    assert_non_null(strstr(err, "No such file"));
    config_free(&cfg);
}

/* Regression: a line longer than the read buffer was split in two, the first
 * part applied with a cut-off value and the rest parsed as the next line. */
static void test_file_long_line(void **state) {
    (void)state;
    config cfg;
    char want[512];
    size_t n = 6000;
    char *text = malloc(n + 64);
    assert_non_null(text);
    int off = snprintf(text, n + 64, "redis.host = r\nkafka.brokers = ");
    memset(text + off, 'k', n);
    snprintf(text + off + n, 64, "\nredis.port = 1\n");
    const char *path = write_file("long.conf", text);
    free(text);

    config_defaults(&cfg);
    assert_int_equal(config_load_file(&cfg, path, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:2: ", path);
    assert_memory_equal(err, want, strlen(want));
    assert_non_null(strstr(err, "too long"));
    assert_string_equal(cfg.kafka_brokers, "127.0.0.1:9092");
    config_free(&cfg);
}

static void test_env_overrides_file(void **state) {
    (void)state;
    config cfg;
    const char *path = write_file("env.conf", "kafka.brokers = from-file:9092\n"
                                              "redis.port = 7000\n"
                                              "redis.host = file-host\n");
    setenv("MUSTER_KAFKA_BROKERS", "from-env:9092", 1);
    setenv("MUSTER_REDIS_PORT", "7001", 1);
    setenv("MUSTER_WORKER_LEASE", "1m", 1);
    setenv("MUSTER_KAFKA_SASL_PASSWORD", "s3cret", 1);
    assert_int_equal(config_init(&cfg, path, err, sizeof(err)), 0);
    assert_string_equal(cfg.kafka_brokers, "from-env:9092");
    assert_int_equal(cfg.redis_port, 7001);
    assert_string_equal(cfg.redis_host, "file-host");
    assert_int_equal(cfg.worker_lease_ms, 60000);
    assert_string_equal(cfg.kafka_sasl_password, "s3cret");
    config_free(&cfg);

    /* MUSTER_CONFIG names the file when no path is given */
    unsetenv("MUSTER_KAFKA_BROKERS");
    setenv("MUSTER_CONFIG", path, 1);
    assert_int_equal(config_init(&cfg, NULL, err, sizeof(err)), 0);
    assert_string_equal(cfg.kafka_brokers, "from-file:9092");
    assert_int_equal(cfg.redis_port, 7001);
    config_free(&cfg);
}

static void test_env_errors(void **state) {
    (void)state;
    config cfg;
    setenv("MUSTER_REDIS_PORT", "seventy", 1);
    assert_int_equal(config_init(&cfg, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "MUSTER_REDIS_PORT"));
    assert_non_null(strstr(err, "\"seventy\" is not a whole number"));
    config_free(&cfg);

    unsetenv("MUSTER_REDIS_PORT");
    setenv("MUSTER_HTTP_TIMEOUT", "20m", 1);
    assert_int_equal(config_init(&cfg, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "MUSTER_HTTP_TIMEOUT"));
    assert_non_null(strstr(err, "out of range"));
    config_free(&cfg);

    /* a bad file stops before the environment is read */
    unsetenv("MUSTER_HTTP_TIMEOUT");
    const char *path = write_file("bad.conf", "nope\n");
    assert_int_equal(config_init(&cfg, path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":1: expected key = value"));
    config_free(&cfg);
}

static char *capture(void (*print)(FILE *, unsigned), unsigned programs, int markdown) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    if (markdown) config_print_markdown(f);
    else print(f, programs);
    assert_int_equal(fclose(f), 0);
    return text;
}

static void test_markdown(void **state) {
    (void)state;
    char *md = capture(NULL, 0, 1), needle[160];
    assert_non_null(strstr(md, "| key | environment | type | default | range | used by | meaning |"));
    for (size_t i = 0; i < NKEYS; i++) {
        snprintf(needle, sizeof(needle), "| `%s` | `MUSTER_", keys[i]);
        if (!strstr(md, needle)) fail_msg("markdown lacks %s", keys[i]);
    }
    assert_non_null(strstr(md, "| `redis.port` | `MUSTER_REDIS_PORT` | int | `6379` | 1..65535 | DWCMA |"));
    assert_non_null(strstr(md, "| `redis.master_name` | `MUSTER_REDIS_MASTER_NAME` | string | `mymaster` |  | DWCMA |"));
    assert_non_null(strstr(md, "| `worker.lease` | `MUSTER_WORKER_LEASE` | duration | `30s` | 100..86400000 | W |"));
    assert_non_null(strstr(md, "| `kafka.dlq_topic` | `MUSTER_KAFKA_DLQ_TOPIC` | string | `muster.alerts.dlq` |  | D |"));
    assert_non_null(strstr(md, "| `intake.port` | `MUSTER_INTAKE_PORT` | int | `-1` | -1..65535 | D |"));
    assert_non_null(strstr(md, "| `intake.token` | `MUSTER_INTAKE_TOKEN` | string | (empty) |  | D |"));
    /* one header, one rule and one row per key */
    size_t rows = 0;
    for (const char *p = md; (p = strchr(p, '\n')); p++) rows++;
    assert_int_equal(rows, NKEYS + 2);
    free(md);
}

static void test_help_by_program(void **state) {
    (void)state;
    char *worker = capture(config_print_help, CFG_WORKER, 0);
    char *disp = capture(config_print_help, CFG_DISPATCHER, 0);
    assert_non_null(strstr(worker, "worker.concurrency"));
    assert_non_null(strstr(worker, "MUSTER_WORKER_CONCURRENCY"));
    assert_null(strstr(worker, "kafka.dlq_topic"));
    assert_null(strstr(worker, "intake.token"));
    assert_non_null(strstr(disp, "MUSTER_INTAKE_TOKEN"));
    assert_non_null(strstr(disp, "kafka.dlq_topic"));
    assert_null(strstr(disp, "worker.concurrency"));
    assert_non_null(strstr(disp, "redis.host"));
    /* muster-metrics keeps its aggregates in Redis too. */
    char *metrics = capture(config_print_help, CFG_METRICS, 0);
    assert_non_null(strstr(metrics, "redis.host"));
    assert_non_null(strstr(metrics, "redis.sentinels"));
    free(metrics);
    free(worker);
    free(disp);
}

/* The installed muster.conf: every key commented out at its default, and
 * with the comment marks taken off it loads as the defaults. */
static void test_conf_file(void **state) {
    (void)state;
    char *text = NULL, needle[160];
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    config_print_file(f);
    assert_int_equal(fclose(f), 0);
    for (size_t i = 0; i < NKEYS; i++) {
        snprintf(needle, sizeof(needle), "\n#%s = ", keys[i]);
        if (!strstr(text, needle)) fail_msg("muster.conf lacks %s", keys[i]);
    }
    assert_non_null(strstr(text, "\n#redis.port = 6379\n"));
    assert_non_null(strstr(text, "\n# (MUSTER_REDIS_PORT;\n#  muster-dispatcher, muster-worker, muster, muster-metrics, muster-api)\n"));

    config cfg;
    assert_int_equal(config_init(&cfg, write_file("all-commented.conf", text), err, sizeof(err)), 0);
    config_free(&cfg);
    /* "\n#key" to "\nkey": each setting becomes a line of its own. */
    for (char *p = text; (p = strstr(p, "\n#")); p++)
        if (p[2] >= 'a' && p[2] <= 'z') memmove(p + 1, p + 2, strlen(p + 2) + 1);
    for (const char *line = text; *line; line = strchr(line, '\n') + 1) {
        size_t n = strcspn(line, "\n");
        if (n > 78 && *line == '#') fail_msg("comment wider than 78 columns: %.*s", (int)n, line);
        if (!line[n]) break;
    }
    if (config_init(&cfg, write_file("uncommented.conf", text), err, sizeof(err)) != 0) fail_msg("%s", err);
    assert_int_equal(cfg.redis_port, 6379);
    assert_int_equal(cfg.intake_port, -1);
    assert_int_equal(cfg.worker_lease_ms, 30000);
    assert_string_equal(cfg.kafka_brokers, "127.0.0.1:9092");
    assert_string_equal(cfg.kafka_sasl_mechanism, "");
    assert_string_equal(cfg.exec_dirs, "/usr/libexec/muster:/etc/muster/scripts");
    config_free(&cfg);
    free(text);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, clear_env),
        cmocka_unit_test_setup(test_set_each_type, clear_env),
        cmocka_unit_test_setup(test_range_errors, clear_env),
        cmocka_unit_test_setup(test_unknown_key, clear_env),
        cmocka_unit_test_setup(test_file, clear_env),
        cmocka_unit_test_setup(test_file_errors, clear_env),
        cmocka_unit_test_setup(test_file_long_line, clear_env),
        cmocka_unit_test_setup(test_env_overrides_file, clear_env),
        cmocka_unit_test_setup(test_env_errors, clear_env),
        cmocka_unit_test_setup(test_markdown, clear_env),
        cmocka_unit_test_setup(test_help_by_program, clear_env),
        cmocka_unit_test_setup(test_conf_file, clear_env),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
