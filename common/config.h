/* config.h - the one table of settings: defaults, file, environment, --help */
#ifndef MUSTER_CONFIG_H
#define MUSTER_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct config {
    char *kafka_brokers;
    char *kafka_alerts_topic;
    char *kafka_events_topic;
    char *kafka_dlq_topic;
    char *kafka_group;
    char *kafka_security_protocol;
    char *kafka_sasl_mechanism;
    char *kafka_sasl_username;
    char *kafka_sasl_password;
    char *kafka_ssl_ca;
    char *kafka_ssl_cert;
    char *kafka_ssl_key;
    char *redis_host;
    int64_t redis_port;
    char *redis_user;
    char *redis_password;
    char *redis_prefix;
    char *redis_sentinels;
    char *redis_master_name;
    char *redis_sentinel_password;
    int64_t redis_wait_replicas;
    int64_t redis_wait_timeout_ms;
    char *workflows_dir;
    char *oncall_dir;
    char *worker_id;
    char *worker_pools;
    int64_t worker_concurrency;
    int64_t worker_lease_ms;
    int64_t worker_poll_ms;
    int64_t worker_grace_ms;
    int64_t worker_relay;
    int64_t kafka_commit_interval_ms;
    int64_t kafka_session_timeout_ms;
    int64_t exec_timeout_ms;
    int64_t exec_output_max;
    int64_t http_timeout_ms;
    int64_t http_body_max;
    int64_t http_max_redirects;
    char *http_allow_hosts;
    int64_t http_allow_private;
    char *http_proxy;
    char *exec_dirs;
    char *secrets_dirs;
    char *log_level;
    char *status_address;
    int64_t status_port;
    char *intake_address;
    int64_t intake_port;
    char *intake_token;
    char *intake_token_file;
    int64_t intake_body_max;
    int64_t intake_max_connections;
    int64_t intake_max_connections_per_ip;
    int64_t intake_header_timeout_ms;
    int64_t intake_request_timeout_ms;
    char *intake_ack_tokens;
    char *intake_ack_tokens_file;
    int64_t dispatcher_stall_ms;
    int64_t dispatcher_gap_hold_ms;
    int64_t dispatcher_dlq_copy_max;
    char *intake_public_url;
    char *ack_link_secret;
    int64_t ack_link_ttl_ms;
    char *slack_signing_secret;
    char *slack_response_hosts;
    char *twilio_auth_token;
    char *pagerduty_webhook_secret;
    char *kafka_metrics_topic;
    char *metrics_group;
    int64_t metrics_rollup_interval_ms;
    int64_t metrics_kpi_retention_ms;
    int64_t metrics_kpi_sample;
    int64_t metrics_kpi_sets;
    int64_t retention_incidents_ms;
    int64_t retention_dead_ms;
    int64_t retention_workers_ms;
    int64_t retention_interval_ms;
    int64_t retention_batch;
    char *api_address;
    int64_t api_port;
    char *api_tokens_file;
    int64_t api_max_connections;
    int64_t api_max_connections_per_ip;
    int64_t api_header_timeout_ms;
    int64_t api_request_timeout_ms;
    int64_t api_body_max;
    char *api_url;
    char *api_token;
    int64_t audit_max_entries;
} config;

/* Which program a setting concerns; a program's --help lists its own. */
enum {
    CFG_DISPATCHER = 1,
    CFG_WORKER = 2,
    CFG_CLI = 4,
    CFG_METRICS = 8,
    CFG_API = 16,
    CFG_ALL = 31
};

/* Fills cfg with the table's defaults. Free with config_free(). */
void config_defaults(config *cfg);

/* Reads `key = value` lines (# starts a comment) from path. Unknown keys and
 * bad values are errors naming file:line. Returns 0 or -1 with err filled. */
int config_load_file(config *cfg, const char *path, char *err, size_t errlen);

/* Applies MUSTER_<KEY> environment variables (dots become underscores,
 * upper case: kafka.brokers -> MUSTER_KAFKA_BROKERS). They override the file.
 * Returns 0 or -1 with err naming the variable. */
int config_load_env(config *cfg, char *err, size_t errlen);

/* Sets one key from text (for the file, the environment and --set). */
int config_set(config *cfg, const char *key, const char *value, char *err,
               size_t errlen);

/* The usual order: defaults, then the file (if path is not NULL, or
 * MUSTER_CONFIG names one), then the environment. */
int config_init(config *cfg, const char *path, char *err, size_t errlen);

/* Prints the settings that concern `programs` as --help text. */
void config_print_help(FILE *out, unsigned programs);

/* Prints the table as Markdown (docs/configuration.md is generated from it). */
void config_print_markdown(FILE *out);

/* Prints the table as a settings file that config_load_file() reads: each
 * setting's help, environment variable and users, then the setting with its
 * default, commented out (the installed etc/muster/muster.conf). */
void config_print_file(FILE *out);

void config_free(config *cfg);

#endif
