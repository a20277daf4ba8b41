/* inbound.c - acknowledge and resolve from where the responder is: Slack,
 * Twilio SMS and voice, PagerDuty v3 and signed links */
#include "dispatcher/inbound.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "state/incident.h"
#include "common/log.h"
#include "common/secret.h"
#include "common/sig_crypto.h"
#include "common/signature.h"
#include "common/strbuf.h"
#include "common/util.h"

#define TWIML "text/xml"
#define HTML "text/html; charset=utf-8"
#define JSON "application/json"
#define OPEN_SCAN 200 /* newest incidents an SMS without a code looks through */
#define ID_MAX 80

const char *const inbound_header_names[IH_COUNT] = {
    [IH_SLACK_TS] = "X-Slack-Request-Timestamp",
    [IH_SLACK_SIG] = "X-Slack-Signature",
    [IH_TWILIO_SIG] = "X-Twilio-Signature",
    [IH_TWILIO_IDEMPOTENCY] = "I-Twilio-Idempotency-Token",
    [IH_PAGERDUTY_SIG] = "X-PagerDuty-Signature",
    [IH_WEBHOOK_ID] = "X-Webhook-Id",
};

inbound_route inbound_route_of(const char *path) {
    if (!strcmp(path, "/api/v1/slack/interactions")) return INBOUND_SLACK;
    if (!strcmp(path, "/api/v1/twilio/sms")) return INBOUND_SMS;
    if (!strcmp(path, "/api/v1/twilio/voice")) return INBOUND_VOICE;
    if (!strcmp(path, "/api/v1/pagerduty")) return INBOUND_PAGERDUTY;
    if (!strncmp(path, "/ack/", 5) && path[5] && !strchr(path + 5, '/')) return INBOUND_LINK;
    return INBOUND_NONE;
}

void inbound_answer_clear(inbound_answer *a) {
    free(a->body);
    free(a->followup);
    a->body = a->followup = NULL;
}

/* ---- parts ---- */

long inbound_form_value(const char *body, size_t len, const char *name, char *out,
                        size_t outlen) {
    size_t nlen = strlen(name);
    for (size_t i = 0; i < len;) {
        const char *amp = memchr(body + i, '&', len - i);
        size_t end = amp ? (size_t)(amp - body) : len;
        const char *eq = memchr(body + i, '=', end - i);
        if (eq && (size_t)(eq - body - i) == nlen && !memcmp(body + i, name, nlen)) {
            size_t vn = end - (size_t)(eq + 1 - body);
            char *buf = malloc(vn + 1);
            if (!buf) return -1;
            long d = sig_form_decode(eq + 1, vn, buf);
            if (d < 0 || outlen == 0) {
                free(buf);
                return -1;
            }
            size_t k = (size_t)d < outlen - 1 ? (size_t)d : outlen - 1;
            memcpy(out, buf, k);
            out[k] = '\0';
            free(buf);
            return d;
        }
        i = end + 1;
    }
    return -1;
}

sms_verb inbound_sms_parse(const char *text, char *code, size_t codelen) {
    char word[16];
    size_t n = 0;
    code[0] = '\0';
    while (isspace((unsigned char)*text)) text++;
    while (*text && !isspace((unsigned char)*text)) {
        if (n + 1 >= sizeof(word)) return SMS_UNKNOWN;
        word[n++] = (char)toupper((unsigned char)*text++);
    }
    word[n] = '\0';
    sms_verb v = !strcmp(word, "ACK") || !strcmp(word, "1") ? SMS_ACK
                 : !strcmp(word, "RESOLVE")                 ? SMS_RESOLVE
                                                            : SMS_UNKNOWN;
    if (v == SMS_UNKNOWN) return v;
    while (isspace((unsigned char)*text)) text++;
    n = 0;
    while (*text && !isspace((unsigned char)*text)) {
        if (!isalnum((unsigned char)*text) || n + 1 >= codelen) return SMS_UNKNOWN;
        code[n++] = (char)toupper((unsigned char)*text++);
    }
    code[n] = '\0';
    while (isspace((unsigned char)*text)) text++;
    return *text ? SMS_UNKNOWN : v;
}

int inbound_url_allowed(const char *hosts, const char *url) {
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *pass = NULL;
    int ok = 0;
    if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
        goto out;
    curl_url_get(u, CURLUPART_PORT, &port, 0);
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK)
        goto out; /* never with credentials */
    char origin[512];
    snprintf(origin, sizeof(origin), "%s://%s:%s", scheme, host, port ? port : "");
    for (const char *p = hosts; *p;) {
        size_t n = strcspn(p, ",");
        const char *e = p;
        while (n && *e == ' ') e++, n--;
        while (n && e[n - 1] == ' ') n--;
        if (!strcmp(scheme, "https") && !port && n == strlen(host) && !strncasecmp(e, host, n))
            ok = 1;
        if (!strcmp(scheme, "http") && port && n == strlen(origin) && !strncasecmp(e, origin, n))
            ok = 1;
        p += strcspn(p, ",");
        if (*p) p++;
    }
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(user);
    curl_free(pass);
    curl_url_cleanup(u);
    return ok;
}

void inbound_escape(strbuf *b, const char *s) {
    for (; *s; s++) switch (*s) {
        case '&': strbuf_str(b, "&amp;"); break;
        case '<': strbuf_str(b, "&lt;"); break;
        case '>': strbuf_str(b, "&gt;"); break;
        case '"': strbuf_str(b, "&quot;"); break;
        case '\'': strbuf_str(b, "&#39;"); break;
        default: strbuf_add(b, s, 1);
        }
}

/* ---- answers ---- */

static void set_why(inbound_answer *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_why(inbound_answer *out, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->why, sizeof(out->why), fmt, ap);
    va_end(ap);
}

static void answer_json(inbound_answer *out, unsigned status, const char *key, const char *text) {
    json_t *doc = json_pack("{s:s}", key, text);
    out->status = status;
    out->type = JSON;
    out->body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
}

/* A refusal: the vendor's status for r, and the reason in the log. */
static void refuse(inbound_answer *out, sig_channel c, sig_result r, const char *what) {
    answer_json(out, (unsigned)sig_http_status(c, r), "error", what);
    set_why(out, "%s (%s)", what, sig_result_name(r));
}

/* <Response><VERB>text</VERB></Response> */
static void answer_twiml(inbound_answer *out, const char *verb, const char *text) {
    strbuf b = {0};
    strbuf_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><%s>", verb);
    inbound_escape(&b, text);
    strbuf_printf(&b, "</%s></Response>", verb);
    out->status = 200;
    out->type = TWIML;
    out->body = b.failed ? NULL : b.s;
    if (b.failed) strbuf_free(&b);
}

static void answer_page(inbound_answer *out, unsigned status, const char *title,
                        const char *text, const char *form_action) {
    strbuf b = {0};
    strbuf_str(&b, "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>");
    inbound_escape(&b, title);
    strbuf_str(&b, "</title></head><body><h1>");
    inbound_escape(&b, title);
    strbuf_str(&b, "</h1><p>");
    inbound_escape(&b, text);
    strbuf_str(&b, "</p>");
    if (form_action) {
        strbuf_str(&b, "<form method=\"post\" action=\"");
        inbound_escape(&b, form_action);
        strbuf_str(&b, "\"><button type=\"submit\">Acknowledge</button></form>");
    }
    strbuf_str(&b, "</body></html>\n");
    out->status = status;
    out->type = HTML;
    out->body = b.failed ? NULL : b.s;
    if (b.failed) strbuf_free(&b);
}

/* ---- shared steps ---- */

/* Reads the secret the setting `key` names into a malloc'd string, or
 * answers (404: not configured, 503: unreadable) and returns NULL. */
static char *channel_secret(const config *cfg, const char *key, const char *name,
                            sig_channel c, inbound_answer *out) {
    char err[512];
    if (!name || !*name) {
        answer_json(out, 404, "error", "not found");
        set_why(out, "%s names no secret: the endpoint is off", key);
        return NULL;
    }
    char *v = secret_read(cfg->secrets_dirs, name, err, sizeof(err));
    if (!v) {
        refuse(out, c, SIG_ERROR, "cannot read the secret");
        set_why(out, "%s: %s", key, err);
    }
    return v;
}

static void secret_drop(char *v) {
    if (!v) return;
    explicit_bzero(v, strlen(v));
    free(v);
}

static int redis_seen(void *ctx, const char *key, int64_t now_ms, int64_t ttl_ms) {
    redisReply *r = store_command(ctx, "SET %s 1 NX PX %lld", key, (long long)ttl_ms);
    if (!r) return -1;
    int v = r->type == REDIS_REPLY_STATUS ? 1 : r->type == REDIS_REPLY_NIL ? 0 : -1;
    freeReplyObject(r);
    return v;
}

/* Refuses a copy of a verified request: 0 when it is new. */
static int replayed(store *s, sig_channel c, const char *id, inbound_answer *out) {
    if (!s) {
        refuse(out, c, SIG_ERROR, "redis is not reachable");
        return -1;
    }
    sig_result r = sig_replay_check(store_prefix(s), c, id, strlen(id), now_ms(), redis_seen, s);
    if (r == SIG_OK) return 0;
    refuse(out, c, r, r == SIG_REPLAY ? "replayed request" : "redis is not reachable");
    return -1;
}

static int id_ok(const char *id) {
    size_t n = strlen(id);
    if (n == 0 || n >= ID_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= '0' && id[i] <= '9') || id[i] == '-'))
            return 0;
    return 1;
}

/* Acknowledges or resolves; fills text with what happened, for the person.
 * Returns 0, or -1 (Redis failed: answered 503). */
static int act(store *s, sig_channel c, int resolve, const char *id, const person *who,
               const char *by, const char *via, char *text, size_t tlen, inbound_answer *out) {
    char outcome[32], first[128], err[512];
    int rc = !s ? -1
         : resolve ? incident_resolve(s, id, by, via, outcome, sizeof(outcome), first,
                                      sizeof(first), err, sizeof(err))
                   : incident_ack(s, id, by, via, outcome, sizeof(outcome), first, sizeof(first),
                                  err, sizeof(err));
    if (rc < 0) {
        refuse(out, c, SIG_ERROR, "redis is not reachable");
        return -1;
    }
    const char *name = who && who->name ? who->name : by;
    if (!strcmp(outcome, "missing"))
        snprintf(text, tlen, "No incident %s.", id);
    else if (!strcmp(outcome, "already"))
        snprintf(text, tlen, resolve ? "Incident %s was already resolved%s%s."
                                     : "Incident %s was already acknowledged by %s.",
                 id, resolve && *first ? " by " : "", first);
    else
        snprintf(text, tlen, "Incident %s %s by %s.", id, resolve ? "resolved" : "acknowledged",
                 name);
    set_why(out, "incident %s: %s as %s via %s", id, outcome, by, via);
    return 0;
}

/* ---- Slack ---- */

static void slack(const config *cfg, const oncall_set *people, store *s, const inbound_request *rq,
                  inbound_answer *out) {
    char *secret = channel_secret(cfg, "slack.signing_secret", cfg->slack_signing_secret,
                                  SIG_SLACK, out);
    if (!secret) return;
    sig_result v = sig_slack_verify(secret, rq->headers[IH_SLACK_TS], rq->headers[IH_SLACK_SIG],
                                    rq->body, rq->len, (int64_t)(now_ms() / 1000));
    secret_drop(secret);
    if (v != SIG_OK) {
        refuse(out, SIG_SLACK, v, "the Slack signature does not verify");
        return;
    }
    char *payload = malloc(rq->len + 1);
    json_t *doc = NULL;
    if (!payload || inbound_form_value(rq->body, rq->len, "payload", payload, rq->len + 1) < 0 ||
        !(doc = json_loads(payload, 0, NULL))) {
        answer_json(out, 400, "error", "no payload");
        set_why(out, "slack: the body has no JSON payload");
        goto out;
    }
    json_t *action = json_array_get(json_object_get(doc, "actions"), 0);
    const char *aid = json_string_value(json_object_get(action, "action_id"));
    const char *id = json_string_value(json_object_get(action, "value"));
    const char *user = json_string_value(json_object_get(json_object_get(doc, "user"), "id"));
    const char *url = json_string_value(json_object_get(doc, "response_url"));
    if (!aid || !id || !id_ok(id) || (strcmp(aid, "muster_ack") && strcmp(aid, "muster_resolve"))) {
        answer_json(out, 400, "error", "not a muster button");
        set_why(out, "slack: the interaction is not a muster_ack or muster_resolve button");
        goto out;
    }
    const person *who = oncall_person_by_contact(people, CH_SLACK, user);
    if (!who) {
        refuse(out, SIG_SLACK, SIG_MISMATCH, "unknown Slack user");
        set_why(out, "slack: user %.32s is nobody in oncall.dir", user ? user : "(none)");
        goto out;
    }
    if (replayed(s, SIG_SLACK, rq->headers[IH_SLACK_SIG], out) < 0) goto out;
    char text[256];
    if (act(s, SIG_SLACK, !strcmp(aid, "muster_resolve"), id, who, who->id, "slack", text,
            sizeof(text), out) < 0)
        goto out;
    out->status = 200;
    out->type = JSON;
    out->body = strdup("");
    if (url && inbound_url_allowed(cfg->slack_response_hosts, url) &&
        strlen(url) < sizeof(out->followup_url)) {
        json_t *msg = json_pack("{s:b, s:s}", "replace_original", 1, "text", text);
        snprintf(out->followup_url, sizeof(out->followup_url), "%s", url);
        out->followup = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
        json_decref(msg);
    } else if (url) {
        mlog(LOG_WARN, NULL, "slack: response_url not in slack.response_hosts (or not https): "
             "the message is not updated");
    }
out:
    free(payload);
    json_decref(doc);
}

void inbound_followup(const inbound_answer *a, long timeout_ms) {
    if (!a->followup || !a->followup_url[0]) return;
    CURL *h = curl_easy_init();
    struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
    if (!h || !hd) goto out;
    curl_easy_setopt(h, CURLOPT_URL, a->followup_url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, a->followup);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_PROXY, ""); /* not the environment's */
    CURLcode rc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    if (rc != CURLE_OK || code < 200 || code > 299)
        mlog(LOG_WARN, NULL, "slack: updating the message failed: %s (HTTP %ld)",
             rc != CURLE_OK ? curl_easy_strerror(rc) : "refused", code);
out:
    curl_slist_free_all(hd);
    if (h) curl_easy_cleanup(h);
}

/* ---- Twilio ---- */

/* Verifies a Twilio request to path (plus query): refuses and returns -1. */
static int twilio_verify(const config *cfg, const inbound_request *rq, const char *query,
                         inbound_answer *out) {
    char *token = channel_secret(cfg, "twilio.auth_token", cfg->twilio_auth_token, SIG_TWILIO, out);
    if (!token) return -1;
    if (!*cfg->intake_public_url) {
        secret_drop(token);
        answer_json(out, 404, "error", "not found");
        set_why(out, "intake.public_url is not set: Twilio's signature cannot be checked");
        return -1;
    }
    char url[SIG_HEADER_MAX];
    size_t n = strlen(cfg->intake_public_url);
    while (n && cfg->intake_public_url[n - 1] == '/') n--;
    snprintf(url, sizeof(url), "%.*s%s%s", (int)n, cfg->intake_public_url, rq->path, query);
    sig_result v = sig_twilio_verify(token, url, rq->body, rq->len, rq->headers[IH_TWILIO_SIG]);
    secret_drop(token);
    if (v != SIG_OK) {
        refuse(out, SIG_TWILIO, v, "the Twilio signature does not verify");
        return -1;
    }
    return 0;
}

static const char *twilio_id(const inbound_request *rq) {
    const char *t = rq->headers[IH_TWILIO_IDEMPOTENCY];
    return t && *t ? t : rq->headers[IH_TWILIO_SIG];
}

/* The incident an SMS names: the open one whose code is code, or without a
 * code the newest open one. Fills id; returns 0, 1 (none), -1 (Redis). */
static int sms_incident(store *s, const char *code, char *id, size_t idlen) {
    json_t *list = s ? incident_list(s, OPEN_SCAN) : NULL, *v;
    size_t i;
    if (!list) return -1;
    int rc = 1;
    json_array_foreach(list, i, v) {
        const char *inc = json_string_value(json_object_get(v, "id"));
        const char *st = json_string_value(json_object_get(v, "status"));
        char c[INCIDENT_CODE_LEN + 1];
        if (!inc || !st || strcmp(st, "open")) continue;
        incident_code(inc, c);
        if (*code && strcmp(code, c)) continue;
        snprintf(id, idlen, "%s", inc);
        rc = 0;
        break;
    }
    json_decref(list);
    return rc;
}

static void sms(const config *cfg, const oncall_set *people, store *s, const inbound_request *rq,
                inbound_answer *out) {
    char from[64], text[512], code[16], id[ID_MAX], reply[256];
    if (twilio_verify(cfg, rq, "", out) < 0) return;
    if (inbound_form_value(rq->body, rq->len, "From", from, sizeof(from)) < 0) from[0] = '\0';
    if (inbound_form_value(rq->body, rq->len, "Body", text, sizeof(text)) < 0) text[0] = '\0';
    const person *who = oncall_person_by_contact(people, CH_SMS, from);
    if (!who) {
        refuse(out, SIG_TWILIO, SIG_MISMATCH, "unknown sender");
        set_why(out, "sms: the sender is nobody in oncall.dir");
        return;
    }
    sms_verb verb = inbound_sms_parse(text, code, sizeof(code));
    if (verb == SMS_UNKNOWN) {
        answer_twiml(out, "Message", "Reply ACK (or 1) or RESOLVE, with the incident's code "
                                     "when you have several pages.");
        set_why(out, "sms from %s: not a command", who->id);
        return;
    }
    if (replayed(s, SIG_TWILIO, twilio_id(rq), out) < 0) return;
    int found = sms_incident(s, code, id, sizeof(id));
    if (found < 0) {
        refuse(out, SIG_TWILIO, SIG_ERROR, "redis is not reachable");
        return;
    }
    if (found > 0) {
        snprintf(reply, sizeof(reply), *code ? "No open incident has the code %s."
                                             : "No open incident.", code);
        answer_twiml(out, "Message", reply);
        set_why(out, "sms from %s: no open incident%s%s", who->id, *code ? " with code " : "", code);
        return;
    }
    if (act(s, SIG_TWILIO, verb == SMS_RESOLVE, id, who, who->id, "sms", reply, sizeof(reply),
            out) < 0)
        return;
    answer_twiml(out, "Message", reply);
}

static void voice(const config *cfg, const oncall_set *people, store *s, const inbound_request *rq,
                  inbound_answer *out) {
    char to[64], digits[16], query[ID_MAX + 16], reply[256];
    const char *id = rq->incident;
    if (!id || !id_ok(id)) {
        answer_json(out, 400, "error", "no incident");
        set_why(out, "voice: no valid ?incident= in the URL");
        return;
    }
    /* The action URL the call's <Gather> was given: exactly this query. */
    snprintf(query, sizeof(query), "?incident=%s", id);
    if (twilio_verify(cfg, rq, query, out) < 0) return;
    if (inbound_form_value(rq->body, rq->len, "To", to, sizeof(to)) < 0) to[0] = '\0';
    if (inbound_form_value(rq->body, rq->len, "Digits", digits, sizeof(digits)) < 0) digits[0] = '\0';
    const person *who = oncall_person_by_contact(people, CH_PHONE, to);
    if (!who) {
        refuse(out, SIG_TWILIO, SIG_MISMATCH, "unknown callee");
        set_why(out, "voice: the number called is nobody in oncall.dir");
        return;
    }
    if (strcmp(digits, "1")) {
        answer_twiml(out, "Say", "Not acknowledged. Goodbye.");
        set_why(out, "voice: %s pressed no 1", who->id);
        return;
    }
    if (replayed(s, SIG_TWILIO, twilio_id(rq), out) < 0) return;
    if (act(s, SIG_TWILIO, 0, id, who, who->id, "phone", reply, sizeof(reply), out) < 0) return;
    answer_twiml(out, "Say", reply);
}

/* ---- PagerDuty ---- */

/* Reads "2024-05-01T10:00:00.123Z" or with a "+02:00" offset; the
 * fraction is dropped. Returns 0, or -1. */
static int rfc3339_ms(const char *s, int64_t *ms) {
    struct tm tm = {0};
    int n = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
        return -1;
    s += n;
    if (*s == '.')
        for (s++; isdigit((unsigned char)*s); s++) {}
    int off = 0, oh, om;
    if (*s == 'Z' && !s[1]) {
    } else if ((*s == '+' || *s == '-') && sscanf(s + 1, "%2d:%2d", &oh, &om) == 2 && !s[6]) {
        off = (*s == '+' ? 1 : -1) * (oh * 60 + om) * 60;
    } else {
        return -1;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    if (t == (time_t)-1) return -1;
    *ms = ((int64_t)t - off) * 1000;
    return 0;
}

static void pagerduty(const config *cfg, const oncall_set *people, store *s,
                      const inbound_request *rq, inbound_answer *out) {
    char *secret = channel_secret(cfg, "pagerduty.webhook_secret", cfg->pagerduty_webhook_secret,
                                  SIG_PAGERDUTY, out);
    if (!secret) return;
    sig_result v = sig_pagerduty_verify(secret, rq->headers[IH_PAGERDUTY_SIG], rq->body, rq->len);
    secret_drop(secret);
    if (v != SIG_OK) {
        refuse(out, SIG_PAGERDUTY, v, "the PagerDuty signature does not verify");
        return;
    }
    json_t *doc = json_loadb(rq->body, rq->len, 0, NULL);
    json_t *ev = json_object_get(doc, "event");
    const char *type = json_string_value(json_object_get(ev, "event_type"));
    const char *at = json_string_value(json_object_get(ev, "occurred_at"));
    json_t *data = json_object_get(ev, "data");
    const char *id = json_string_value(json_object_get(data, "incident_key"));
    const char *email = json_string_value(json_object_get(json_object_get(ev, "agent"), "email"));
    int64_t when;
    char text[256];
    if (!type) {
        answer_json(out, 400, "error", "not a webhooks v3 event");
        set_why(out, "pagerduty: no event.event_type");
        goto out;
    }
    /* Its signature holds no time: a copy older than the replay window
     * would no longer be remembered. */
    if (!at || rfc3339_ms(at, &when) < 0 ||
        now_ms() - when > sig_replay_window_ms(SIG_PAGERDUTY)) {
        refuse(out, SIG_PAGERDUTY, SIG_STALE, "event.occurred_at is missing or too old");
        goto out;
    }
    int resolve = !strcmp(type, "incident.resolved");
    if (!resolve && strcmp(type, "incident.acknowledged")) {
        answer_json(out, 200, "status", "ignored");
        set_why(out, "pagerduty: %.64s is not acknowledged or resolved: ignored", type);
        goto out;
    }
    if (!id || !id_ok(id)) {
        answer_json(out, 200, "status", "ignored");
        set_why(out, "pagerduty: %.64s of an incident muster did not trigger: ignored", type);
        goto out;
    }
    const char *wid = rq->headers[IH_WEBHOOK_ID] && *rq->headers[IH_WEBHOOK_ID]
                          ? rq->headers[IH_WEBHOOK_ID]
                          : rq->headers[IH_PAGERDUTY_SIG];
    if (replayed(s, SIG_PAGERDUTY, wid, out) < 0) goto out;
    /* The agent is a person when PagerDuty names one muster knows;
     * otherwise the verified integration itself. */
    const person *who = oncall_person_by_contact(people, CH_EMAIL, email);
    if (act(s, SIG_PAGERDUTY, resolve, id, who, who ? who->id : "pagerduty", "pagerduty", text,
            sizeof(text), out) < 0)
        goto out;
    answer_json(out, 200, "status", text);
out:
    json_decref(doc);
}

/* ---- links ---- */

/* The action, incident and person a token claims (checked afterwards). */
static int link_claims(const char *token, char *action, char *incident, char *pid, size_t n) {
    unsigned char buf[SIG_LINK_MAX];
    size_t len;
    const char *a = strchr(token, '.'), *b = a ? strchr(a + 1, '.') : NULL;
    if (strncmp(token, "v1.", 3) || !b ||
        sig_unb64url(a + 1, (size_t)(b - a - 1), buf, sizeof(buf) - 1, &len) < 0)
        return -1;
    buf[len] = '\0';
    char *f1 = (char *)buf, *f2 = strchr(f1, '\n'), *f3 = f2 ? strchr(f2 + 1, '\n') : NULL;
    char *f4 = f3 ? strchr(f3 + 1, '\n') : NULL;
    if (!f4) return -1;
    *f2 = *f3 = *f4 = '\0';
    if (strlen(f1) >= n || strlen(f2 + 1) >= n || strlen(f3 + 1) >= n) return -1;
    memcpy(action, f1, strlen(f1) + 1);
    memcpy(incident, f2 + 1, strlen(f2 + 1) + 1);
    memcpy(pid, f3 + 1, strlen(f3 + 1) + 1);
    return 0;
}

static void signed_link(const config *cfg, const oncall_set *people, store *s, const inbound_request *rq,
                 inbound_answer *out) {
    const char *token = rq->path + 5;
    char action[SIG_LINK_ID_MAX + 1], id[SIG_LINK_ID_MAX + 1], pid[SIG_LINK_ID_MAX + 1];
    char text[256];
    char *secret = channel_secret(cfg, "ack.link_secret", cfg->ack_link_secret, SIG_LINK, out);
    if (!secret) return;
    sig_result v = SIG_MALFORMED;
    if (strlen(token) < SIG_LINK_MAX && link_claims(token, action, id, pid, sizeof(id)) == 0) {
        const char *secrets[] = {secret};
        v = sig_link_check(secrets, 1, token, "ack", id, pid, (int64_t)(now_ms() / 1000));
    }
    secret_drop(secret);
    static const char *const pages[] = {[-SIG_MALFORMED] = "This link is broken.",
                                        [-SIG_MISMATCH] = "This link is not valid.",
                                        [-SIG_EXPIRED] = "This link has expired.",
                                        [-SIG_REPLAY] = "This link was used already.",
                                        [-SIG_ERROR] = "Please try again in a moment."};
    const person *who = v == SIG_OK && people ? oncall_person(people, pid) : NULL;
    if (v == SIG_OK && !who) v = SIG_MISMATCH; /* someone no longer in oncall.dir */
    if (v == SIG_OK && rq->get) {
        /* Only a look: a GET (a mail scanner prefetching links) changes nothing. */
        char key[SIG_REPLAY_KEY_MAX];
        redisReply *r = NULL;
        if (!s || sig_replay_key(store_prefix(s), SIG_LINK, token, strlen(token), key,
                                 sizeof(key)) < 0 ||
            !(r = store_command(s, "EXISTS %s", key)))
            v = SIG_ERROR;
        else if (r->type == REDIS_REPLY_INTEGER && r->integer > 0)
            v = SIG_REPLAY;
        if (r) freeReplyObject(r);
        if (v == SIG_OK) {
            snprintf(text, sizeof(text), "Acknowledge incident %s as %s?", id,
                     who->name ? who->name : who->id);
            answer_page(out, 200, "Acknowledge", text, rq->path);
            set_why(out, "link: confirm page for incident %s, %s", id, who->id);
            return;
        }
    }
    if (v == SIG_OK && replayed(s, SIG_LINK, token, out) < 0) {
        inbound_answer_clear(out);
        v = out->status == 503 ? SIG_ERROR : SIG_REPLAY;
    }
    if (v != SIG_OK) {
        int i = -(int)v;
        const char *msg = i > 0 && i < (int)(sizeof(pages) / sizeof(pages[0])) && pages[i]
                              ? pages[i] : "This link is not valid.";
        answer_page(out, (unsigned)sig_http_status(SIG_LINK, v), "Not acknowledged", msg, NULL);
        set_why(out, "link: %s", sig_result_name(v));
        return;
    }
    if (act(s, SIG_LINK, 0, id, who, who->id, "link", text, sizeof(text), out) < 0) return;
    answer_page(out, 200, "Acknowledged", text, NULL);
}

void inbound_handle(const config *cfg, const oncall_set *people, store *s,
                    const inbound_request *rq, inbound_answer *out) {
    memset(out, 0, sizeof(*out));
    switch (rq->route) {
    case INBOUND_SLACK: slack(cfg, people, s, rq, out); break;
    case INBOUND_SMS: sms(cfg, people, s, rq, out); break;
    case INBOUND_VOICE: voice(cfg, people, s, rq, out); break;
    case INBOUND_PAGERDUTY: pagerduty(cfg, people, s, rq, out); break;
    case INBOUND_LINK: signed_link(cfg, people, s, rq, out); break;
    default: answer_json(out, 404, "error", "not found"); break;
    }
    if (!out->body) { /* out of memory on the way: an empty answer of the status */
        out->body = strdup("");
        if (!out->status) out->status = 500;
        if (!out->type) out->type = JSON;
    }
}
