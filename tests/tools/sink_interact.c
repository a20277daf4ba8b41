/* sink_interact.c - muster-sink's then_interact: a signed Slack button click sent after a hit */
#include "sink_interact.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/signature.h"
#include "sink_routes.h"
#include "sink_utf8.h"

#define URL_MAX 2048
#define ID_MAX 256        /* bytes in user, username, action, only_channel */
#define ENV_NAME_MAX 128
#define HITS_MAX 1000000000
#define ANSWER_LOG_MAX 4096 /* bytes of the dispatcher's answer kept in the log */

struct sink_interact {
    char *url;
    char *user, *username, *action, *only_channel; /* only_channel may be NULL */
    char *secret_env;                              /* the variable's name, never its value */
    unsigned long delay_ms;
    unsigned long after_hits; /* 0: every hit */
    atomic_ulong hits;        /* hits that passed only_channel and held the button */
};

struct sink_interact_job {
    const struct sink_interact *ia; /* borrowed: the routes outlive the timer */
    struct sink_interact_ctx ctx;
    int route;
    char *value;     /* the button's value: the incident id */
    json_t *payload; /* all but action_ts and trigger_id, set when sent */
};

static const char *const known_fields[] = {
    "url", "url_env", "user", "username", "action", "delay_ms", "signing_secret_env",
    "only_channel", "after_hits", NULL,
};

/* ---- loading ---------------------------------------------------------- */

/* Only loopback, so the sink can never be pointed off the machine. */
static int is_loopback_host(const char *host) {
    unsigned char addr[sizeof(struct in6_addr)];
    char bare[INET6_ADDRSTRLEN + 1];
    size_t len = strlen(host);

    if (strcmp(host, "localhost") == 0)
        return 1;
    if (inet_pton(AF_INET, host, addr) == 1)
        return addr[0] == 127;
    if (len < 2 || len - 2 >= sizeof bare || host[0] != '[' || host[len - 1] != ']')
        return 0;
    memcpy(bare, host + 1, len - 2);
    bare[len - 2] = '\0';
    return inet_pton(AF_INET6, bare, addr) == 1 && IN6_IS_ADDR_LOOPBACK((struct in6_addr *)addr);
}

/* 0 when url is an http URL on a loopback host; else -1 with why. */
static int check_url(const char *url, const char **why) {
    int rc = -1;
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;

    *why = "is not an absolute http URL";
    if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || strcmp(scheme, "http") != 0)
        goto out;
    *why = "is not on a loopback host (127.0.0.0/8, [::1] or localhost)";
    if (!is_loopback_host(host))
        goto out;
    rc = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

static int is_env_name(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > ENV_NAME_MAX || isdigit((unsigned char)s[0]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_')
            return 0;
    return 1;
}

/* Copies the string field name of spec into *out; absent leaves it NULL
 * unless required. */
static int get_string(const json_t *spec, const char *name, int required, size_t max, char **out,
                      const char *where, char *err, size_t errlen) {
    const json_t *v = json_object_get(spec, name);
    const char *s = json_string_value(v);

    if (!v && !required)
        return 0;
    if (!s || !*s || strlen(s) > max || strlen(s) != json_string_length(v)) {
        snprintf(err, errlen, "%s: \"then_interact\": \"%s\" must be a non-empty string of at most "
                 "%zu bytes", where, name, max);
        return -1;
    }
    if (!(*out = strdup(s))) {
        snprintf(err, errlen, "%s: out of memory", where);
        return -1;
    }
    return 0;
}

static int get_count(const json_t *spec, const char *name, long long max, unsigned long *out,
                     const char *where, char *err, size_t errlen) {
    const json_t *v = json_object_get(spec, name);

    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max) {
        snprintf(err, errlen, "%s: \"then_interact\": \"%s\" must be an integer in 0..%lld", where,
                 name, max);
        return -1;
    }
    *out = (unsigned long)json_integer_value(v);
    return 0;
}

/* Fills ia->url from "url", or from the variable "url_env" names. */
static int load_url(const json_t *spec, struct sink_interact *ia, const char *where, char *err,
                    size_t errlen) {
    char *env = NULL;
    const char *field = "url", *text, *why;
    int rc = -1;

    if (!json_object_get(spec, "url") == !json_object_get(spec, "url_env")) {
        snprintf(err, errlen, "%s: \"then_interact\": give exactly one of \"url\" and \"url_env\"",
                 where);
        return -1;
    }
    if (json_object_get(spec, "url")) {
        if (get_string(spec, "url", 1, URL_MAX, &ia->url, where, err, errlen) != 0)
            return -1;
        text = ia->url;
    } else {
        field = "url_env";
        if (get_string(spec, "url_env", 1, ENV_NAME_MAX, &env, where, err, errlen) != 0)
            return -1;
        if (!is_env_name(env) || !(text = getenv(env)) || !*text || strlen(text) > URL_MAX) {
            snprintf(err, errlen, "%s: \"then_interact\": \"url_env\": %s is not set to a URL",
                     where, env);
            goto out;
        }
        if (!(ia->url = strdup(text))) {
            snprintf(err, errlen, "%s: out of memory", where);
            goto out;
        }
    }
    if (check_url(ia->url, &why) != 0) {
        snprintf(err, errlen, "%s: \"then_interact\": \"%s\": \"%.200s\" %s", where, field,
                 ia->url, why);
        goto out;
    }
    rc = 0;
out:
    free(env);
    return rc;
}

int sink_interact_load(const json_t *spec, const char *where, struct sink_interact **out,
                       char *err, size_t errlen) {
    int rc = -1;
    struct sink_interact *ia = NULL;

    *out = NULL;
    if (sink_routes_check_object(spec, known_fields, "\"then_interact\": ", where, err, errlen) != 0)
        return -1;
    if (!(ia = calloc(1, sizeof *ia))) {
        snprintf(err, errlen, "%s: out of memory", where);
        return -1;
    }
    atomic_init(&ia->hits, 0);
    ia->delay_ms = 1000;
    if (load_url(spec, ia, where, err, errlen) != 0 ||
        get_string(spec, "user", 1, ID_MAX, &ia->user, where, err, errlen) != 0 ||
        get_string(spec, "username", 0, ID_MAX, &ia->username, where, err, errlen) != 0 ||
        get_string(spec, "action", 0, ID_MAX, &ia->action, where, err, errlen) != 0 ||
        get_string(spec, "only_channel", 0, ID_MAX, &ia->only_channel, where, err, errlen) != 0 ||
        get_string(spec, "signing_secret_env", 1, ENV_NAME_MAX, &ia->secret_env, where, err,
                   errlen) != 0 ||
        get_count(spec, "delay_ms", 600000, &ia->delay_ms, where, err, errlen) != 0 ||
        get_count(spec, "after_hits", HITS_MAX, &ia->after_hits, where, err, errlen) != 0)
        goto out;
    if (!ia->username && !(ia->username = strdup(ia->user)))
        goto oom;
    if (!ia->action && !(ia->action = strdup("muster_ack")))
        goto oom;
    if (!is_env_name(ia->secret_env) || !getenv(ia->secret_env) || !*getenv(ia->secret_env)) {
        snprintf(err, errlen, "%s: \"then_interact\": \"signing_secret_env\": %.128s is not set",
                 where, ia->secret_env);
        goto out;
    }
    *out = ia;
    ia = NULL;
    rc = 0;
    goto out;
oom:
    snprintf(err, errlen, "%s: out of memory", where);
out:
    sink_interact_free(ia);
    return rc;
}

void sink_interact_free(struct sink_interact *ia) {
    if (!ia)
        return;
    free(ia->url);
    free(ia->user);
    free(ia->username);
    free(ia->action);
    free(ia->only_channel);
    free(ia->secret_env);
    free(ia);
}

unsigned long sink_interact_delay(const struct sink_interact *ia) {
    return ia->delay_ms;
}

/* ---- the log line ------------------------------------------------------ */

static double unix_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Appends {"time", "interaction": {...}} for one click or skipped hit;
 * status 0 is written as null. Never holds the secret. */
static void log_click(const struct sink_interact_ctx *ctx, const struct sink_interact *ia,
                      int route, const char *value, long status, const char *error,
                      const char *answer) {
    json_t *entry;

    if (!ctx->log)
        return;
    entry = json_pack("{s:f, s:{s:i, s:s, s:s, s:s, s:s?, s:o, s:s?, s:s?}}", "time", unix_now(),
                      "interaction", "route", route, "url", ia->url, "user", ia->user, "action",
                      ia->action, "value", value, "status",
                      status ? json_integer(status) : json_null(), "error", error, "answer",
                      answer);
    if (entry)
        sink_log_write(ctx->log, entry);
    else
        fprintf(stderr, "muster-sink: route %d: out of memory logging an interaction\n", route);
    json_decref(entry);
}

/* ---- building the click ------------------------------------------------ */

/* The button of the actions blocks in blocks whose action_id is action, or
 * NULL; *block_id is its block's block_id (or NULL). */
static const json_t *find_button(const json_t *blocks, const char *action,
                                 const char **block_id) {
    size_t i, j;
    const json_t *block, *el;

    json_array_foreach((json_t *)blocks, i, block) {
        if (!json_is_string(json_object_get(block, "type")) ||
            strcmp(json_string_value(json_object_get(block, "type")), "actions") != 0)
            continue;
        json_array_foreach(json_object_get(block, "elements"), j, el) {
            const char *id = json_string_value(json_object_get(el, "action_id"));
            if (id && strcmp(id, action) == 0 &&
                json_is_string(json_object_get(el, "value"))) {
                *block_id = json_string_value(json_object_get(block, "block_id"));
                return el;
            }
        }
    }
    return NULL;
}

/* The message ts Slack would have answered with: the reply's "ts" when it
 * is a JSON object holding one, else now. */
static json_t *message_ts(const char *reply, size_t reply_len) {
    json_t *doc = json_loadb(reply, reply_len, 0, NULL), *ts = NULL;
    char text[32];

    if (json_is_string(json_object_get(doc, "ts")))
        ts = json_copy(json_object_get(doc, "ts"));
    json_decref(doc);
    if (ts)
        return ts;
    snprintf(text, sizeof text, "%.6f", unix_now());
    return json_string(text);
}

int sink_interact_prepare(struct sink_interact *ia, int route, const char *body, size_t len,
                          const char *reply, size_t reply_len, const struct sink_interact_ctx *ctx,
                          struct sink_interact_job **job) {
    int rc = -1;
    json_t *req = json_loadb(body, len, 0, NULL), *ts = NULL;
    const json_t *button = NULL;
    const char *channel = json_string_value(json_object_get(req, "channel")), *block_id = NULL;
    struct sink_interact_job *j = NULL;

    *job = NULL;
    if (ia->only_channel && (!channel || strcmp(channel, ia->only_channel) != 0)) {
        rc = 0;
        goto out;
    }
    if (!(button = find_button(json_object_get(req, "blocks"), ia->action, &block_id))) {
        atomic_fetch_add(&ctx->stats->skipped, 1);
        log_click(ctx, ia, route, NULL, 0,
                  req ? "the request's blocks hold no button with this action_id and a value"
                      : "the request body is not JSON",
                  NULL);
        rc = 0;
        goto out;
    }
    if (ia->after_hits && atomic_fetch_add(&ia->hits, 1) + 1 != ia->after_hits) {
        rc = 0;
        goto out;
    }
    if (!(j = calloc(1, sizeof *j)) || !(ts = message_ts(reply, reply_len)) ||
        !(j->value = strdup(json_string_value(json_object_get(button, "value")))))
        goto out;
    j->ia = ia;
    j->ctx = *ctx;
    j->route = route;
    /* What Slack sends for a block_actions click on a message, with the
     * fields the sink cannot know filled with fixed stand-ins. */
    j->payload = json_pack(
        "{s:s, s:{s:s, s:s, s:s, s:s}, s:s, s:s, s:{s:s, s:O, s:s?, s:b}, s:{s:s, s:s},"
        " s:n, s:b, s:{s:s?, s:s?}, s:{s:s, s:O, s:s?, s:O?}, s:{s:{}}, s:s,"
        " s:[{s:s, s:s?, s:O?, s:s, s:s, s:s?}]}",
        "type", "block_actions", "user", "id", ia->user, "username", ia->username, "name",
        ia->username, "team_id", "T0SINK", "api_app_id", "A0SINK", "token", "sink", "container",
        "type", "message", "message_ts", ts, "channel_id", channel, "is_ephemeral", 0, "team",
        "id", "T0SINK", "domain", "muster-sink", "enterprise", "is_enterprise_install", 0,
        "channel", "id", channel, "name", channel, "message", "type", "message", "ts", ts, "text",
        json_string_value(json_object_get(req, "text")), "blocks", json_object_get(req, "blocks"),
        "state", "values", "response_url", ctx->response_url, "actions", "action_id", ia->action,
        "block_id", block_id, "text", json_object_get(button, "text"), "value", j->value, "type",
        "button", "style", json_string_value(json_object_get(button, "style")));
    if (!j->payload)
        goto out;
    *job = j;
    j = NULL;
    atomic_fetch_add(&ctx->stats->scheduled, 1);
    rc = 0;
out:
    sink_interact_job_free(j);
    json_decref(ts);
    json_decref(req);
    return rc;
}

void sink_interact_job_free(struct sink_interact_job *job) {
    if (!job)
        return;
    free(job->value);
    json_decref(job->payload);
    free(job);
}

/* ---- sending ----------------------------------------------------------- */

struct answer {
    char buf[ANSWER_LOG_MAX + 1];
    size_t len;
};

/* CURLOPT_WRITEFUNCTION: keeps the first ANSWER_LOG_MAX bytes, reads on. */
static size_t keep_answer(char *data, size_t size, size_t n, void *arg) {
    struct answer *a = arg;
    size_t take = size * n;

    if (take > ANSWER_LOG_MAX - a->len)
        take = ANSWER_LOG_MAX - a->len;
    memcpy(a->buf + a->len, data, take);
    a->len += take;
    a->buf[a->len] = '\0';
    return size * n;
}

/* The form body Slack sends: payload=<the JSON, percent-encoded>. */
static char *form_body(CURL *curl, json_t *payload, double now) {
    char stamp[48], *json = NULL, *escaped = NULL, *form = NULL;

    snprintf(stamp, sizeof stamp, "%.6f", now);
    json_object_set_new(json_array_get(json_object_get(payload, "actions"), 0), "action_ts",
                        json_string(stamp));
    snprintf(stamp, sizeof stamp, "%ld.%06ld.sink", (long)now, (long)((now - (double)(long)now) * 1e6));
    json_object_set_new(payload, "trigger_id", json_string(stamp));
    if ((json = json_dumps(payload, JSON_COMPACT)) && (escaped = curl_easy_escape(curl, json, 0)) &&
        (form = malloc(strlen(escaped) + sizeof "payload=")))
        sprintf(form, "payload=%s", escaped);
    curl_free(escaped);
    free(json);
    return form;
}

void sink_interact_send(void *arg, int cancelled) {
    struct sink_interact_job *job = arg;
    const struct sink_interact *ia = job->ia;
    const char *secret = getenv(ia->secret_env), *error = NULL;
    CURL *curl = NULL;
    struct curl_slist *headers = NULL;
    char *form = NULL, *shown = NULL, stamp[32], line[128], sig[SIG_SLACK_SIG_LEN], curl_err[CURL_ERROR_SIZE] = "";
    struct answer answer = {.len = 0};
    double now = unix_now();
    long status = 0;

    if (cancelled) {
        error = "not sent: the sink is stopping";
        goto out;
    }
    if (!secret || !*secret) {
        error = "not sent: the signing secret's variable is not set";
        goto out;
    }
    /* A person whose press got no answer, or an error, presses again: up
     * to SINK_INTERACT_PRESSES times, a second apart, each signed anew. */
    for (int press = 1;; press++) {
    error = "not sent: out of memory";
    snprintf(stamp, sizeof stamp, "%" PRId64, (int64_t)now);
    if (!(curl = curl_easy_init()) || !(form = form_body(curl, job->payload, now)) ||
        sig_slack_sign(secret, stamp, form, strlen(form), sig) != 0)
        goto out;
    headers = curl_slist_append(headers, "Content-Type: application/x-www-form-urlencoded");
    snprintf(line, sizeof line, "X-Slack-Request-Timestamp: %s", stamp);
    headers = curl_slist_append(headers, line);
    snprintf(line, sizeof line, "X-Slack-Signature: %s", sig);
    headers = curl_slist_append(headers, line);
    headers = curl_slist_append(headers, "User-Agent: Slackbot 1.0 (+https://api.slack.com/robots)");
    headers = curl_slist_append(headers, "Expect:");
    if (!headers)
        goto out;
    curl_easy_setopt(curl, CURLOPT_URL, ia->url);
    /* The URL was checked to be loopback: no proxy from the environment
     * and no redirect may take the click anywhere else. */
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(form));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)SINK_INTERACT_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, keep_answer);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
    status = 0;
    if (curl_easy_perform(curl) != CURLE_OK) {
        error = curl_err[0] ? curl_err : "not sent: libcurl failed";
    } else {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        error = NULL;
    }
    if ((status > 0 && status < 500) || press == SINK_INTERACT_PRESSES) break;
    curl_slist_free_all(headers);
    headers = NULL;
    curl_easy_cleanup(curl);
    curl = NULL;
    free(form);
    form = NULL;
    answer.len = 0;
    answer.buf[0] = '\0';
    curl_err[0] = '\0';
    sleep(1);
    now = unix_now();
    }
    if (!status) goto out;
out:
    if (status) {
        atomic_fetch_add(&job->ctx.stats->answered, 1);
        atomic_store(&job->ctx.stats->last_status, (int)status);
    } else {
        atomic_fetch_add(&job->ctx.stats->failed, 1);
    }
    if (status)
        shown = sink_utf8_repair(answer.buf, answer.len, &answer.len);
    log_click(&job->ctx, ia, job->route, job->value, status, error, shown);
    free(shown);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    free(form);
    sink_interact_job_free(job);
}

json_t *sink_interact_stats_json(struct sink_interact_stats *s) {
    return json_pack("{s:I, s:I, s:I, s:I, s:i}", "scheduled",
                     (json_int_t)atomic_load(&s->scheduled), "answered",
                     (json_int_t)atomic_load(&s->answered), "failed",
                     (json_int_t)atomic_load(&s->failed), "skipped",
                     (json_int_t)atomic_load(&s->skipped), "last_status",
                     atomic_load(&s->last_status));
}
