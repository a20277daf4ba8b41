/* signature.h - verifying inbound requests: Slack, Twilio, PagerDuty v3 and
 * muster's own signed acknowledgement links, with their replay keys */
#ifndef MUSTER_SIGNATURE_H
#define MUSTER_SIGNATURE_H

#include <stddef.h>
#include <stdint.h>

/* Every verifier works on the raw request, before anything parses it: the
 * body's bytes as received, the header values as received, and (Twilio) the
 * URL as the vendor was told it. Each compares MACs in constant time. Each
 * returns SIG_OK or one of the reasons below; none logs, and none keeps a
 * secret past the call. The implementations are sig_slack.c, sig_twilio.c,
 * sig_pagerduty.c, sig_link.c and sig_replay.c. */
typedef enum sig_result {
    SIG_OK = 0,
    SIG_MISSING = -1,   /* a header, secret or token is absent or empty */
    SIG_MALFORMED = -2, /* a header or token is not in the documented form, or too long */
    SIG_STALE = -3,     /* a timestamp outside the accepted window (either direction) */
    SIG_MISMATCH = -4,  /* well-formed, but no MAC matches: tampered, or another secret */
    SIG_EXPIRED = -5,   /* a link past its expiry */
    SIG_REPLAY = -6,    /* verified, but seen before within the replay window */
    SIG_ERROR = -7,     /* the crypto library or the replay store failed */
} sig_result;

/* The inbound channels, for status codes and replay keys. */
typedef enum sig_channel { SIG_SLACK, SIG_TWILIO, SIG_PAGERDUTY, SIG_LINK } sig_channel;

/* A stable lower-case name for logs and metrics ("mismatch"). */
const char *sig_result_name(sig_result r);

/* The HTTP status to answer a refusal with, as each vendor documents or its
 * official library answers (docs/acknowledgement.md): 200 for SIG_OK; a 4xx
 * for every refusal, so a vendor that retries on 5xx does not resend a
 * forged request; 503 for SIG_ERROR, so a genuine request is retried. */
int sig_http_status(sig_channel c, sig_result r);

/* The longest header value, URL or token a verifier looks at; longer is
 * SIG_MALFORMED. Bodies are bounded by the caller (the HTTP intake). */
#define SIG_HEADER_MAX 4096

/* --- Slack: the v0 scheme ---------------------------------------------
 * HMAC-SHA256 with the signing secret over "v0:" timestamp ":" body, hex,
 * sent as X-Slack-Signature "v0=<hex>" with X-Slack-Request-Timestamp
 * (seconds since the epoch), which must be within SIG_SLACK_WINDOW_S of
 * now_s in either direction. */
#define SIG_SLACK_WINDOW_S 300
#define SIG_SLACK_SIG_LEN 68 /* "v0=" + 64 hex + NUL */

sig_result sig_slack_verify(const char *secret, const char *timestamp, const char *signature,
                            const void *body, size_t len, int64_t now_s);

/* Writes the X-Slack-Signature for a request (for muster-sink and tests).
 * Returns 0, or -1. */
int sig_slack_sign(const char *secret, const char *timestamp, const void *body, size_t len,
                   char out[SIG_SLACK_SIG_LEN]);

/* --- Twilio: X-Twilio-Signature ----------------------------------------
 * HMAC-SHA1 with the auth token, base64. For a form-encoded body the MAC
 * covers the URL followed by every POST parameter's name and value, sorted
 * by name (then value), percent-decoded. When the URL's query has
 * bodySHA256 (Twilio's JSON webhooks), the MAC covers the URL alone and
 * bodySHA256 must be the hex SHA-256 of the body. `url` is the full public
 * URL Twilio was configured with, query included, exactly as Twilio sent
 * it; like Twilio's libraries, the form with the default port (":443",
 * ":80") added or removed is accepted too. */
#define SIG_TWILIO_SIG_LEN 29 /* base64 of 20 bytes + NUL */
#define SIG_TWILIO_PARAMS_MAX 256

sig_result sig_twilio_verify(const char *token, const char *url, const void *body, size_t len,
                             const char *signature);

/* Writes the X-Twilio-Signature Twilio would send for url and body (the
 * URL exactly as given). Returns 0, or -1 (a malformed body, too many
 * parameters, a bodySHA256 that is not the body's). */
int sig_twilio_sign(const char *token, const char *url, const void *body, size_t len,
                    char out[SIG_TWILIO_SIG_LEN]);

/* --- PagerDuty webhooks v3: X-PagerDuty-Signature ------------------------
 * One or more comma-separated "v1=<hex>" (several while a secret rotates),
 * each an HMAC-SHA256 of the raw body with one webhook secret. Accepted if
 * any v1 entry matches; entries of other versions are skipped. */
#define SIG_PAGERDUTY_SIG_LEN 68 /* "v1=" + 64 hex + NUL */
#define SIG_PAGERDUTY_SIGS_MAX 16

sig_result sig_pagerduty_verify(const char *secret, const char *header, const void *body,
                                size_t len);

/* Writes one "v1=<hex>" entry for body. Returns 0, or -1. */
int sig_pagerduty_sign(const char *secret, const void *body, size_t len,
                       char out[SIG_PAGERDUTY_SIG_LEN]);

/* --- Signed acknowledgement links ----------------------------------------
 * A token "v1.<payload>.<mac>", both parts base64url without padding (as a
 * JWS compact serialization): payload is action, incident id, person id and
 * expiry (seconds since the epoch) joined by '\n'; mac is HMAC-SHA256 of
 * "v1.<payload>" with a key derived from the secret for this version only.
 * Ids are 1 to SIG_LINK_ID_MAX bytes of [A-Za-z0-9._:@-]; the action is
 * lower-case letters, e.g. "ack". */
#define SIG_LINK_ID_MAX 128
#define SIG_LINK_MAX 512 /* a token's length, NUL included, is at most this */

/* Writes a token into out (outlen >= SIG_LINK_MAX is always enough).
 * Returns 0, or -1 for an invalid id, action or expiry, or a short out. */
int sig_link_make(const char *secret, const char *action, const char *incident,
                  const char *person, int64_t expires_s, char *out, size_t outlen);

/* Checks token against the action, incident and person the request is for,
 * under any of the n secrets (the current one first, then those being
 * rotated out). SIG_MALFORMED for a token that is not v1 or does not
 * decode, SIG_MISMATCH for a MAC that no secret made or a token made for
 * another action, incident or person, SIG_EXPIRED when now_s >= expiry. */
sig_result sig_link_check(const char *const *secrets, size_t n, const char *token,
                          const char *action, const char *incident, const char *person,
                          int64_t now_s);

/* --- Replay ---------------------------------------------------------------
 * A verified request may still be a copy. After verifying, the endpoint
 * asks a store whether it has seen the request's id within the channel's
 * window: Slack, the signature (its timestamp is signed); Twilio, the
 * signature (or I-Twilio-Idempotency-Token); PagerDuty, X-Webhook-Id; a
 * link, the token. The store remembers `key` for ttl_ms and answers 1 the
 * first time, 0 when it was already there, -1 when it cannot tell. With
 * Redis that is `SET key 1 NX PX ttl_ms` (OK: 1, nil: 0). */
typedef int (*sig_seen_fn)(void *ctx, const char *key, int64_t now_ms, int64_t ttl_ms);

#define SIG_REPLAY_KEY_MAX 128

/* How long a channel's ids are remembered: as long as a copy could still
 * verify (Slack: the timestamp window both ways), or the vendor retries. */
int64_t sig_replay_window_ms(sig_channel c);

/* Writes "<prefix>:replay:<channel>:<hex SHA-256 of id>" into out (at
 * least SIG_REPLAY_KEY_MAX bytes): fixed length, whatever the id holds.
 * Returns 0, or -1 (a prefix too long, an empty id). */
int sig_replay_key(const char *prefix, sig_channel c, const void *id, size_t idlen, char *out,
                   size_t outlen);

/* Derives the key and asks seen(): SIG_OK the first time, SIG_REPLAY after,
 * SIG_ERROR when the store failed (answer 503: the vendor retries). */
sig_result sig_replay_check(const char *prefix, sig_channel c, const void *id, size_t idlen,
                            int64_t now_ms, sig_seen_fn seen, void *ctx);

/* A bounded in-process store for one process (muster-sink, tests): at most
 * cap keys; when full, expired keys go first, then the one closest to
 * expiry. Start from {0} and call sig_memo_init. */
typedef struct sig_memo {
    struct sig_memo_entry {
        char key[SIG_REPLAY_KEY_MAX];
        int64_t until_ms;
    } *e;
    size_t n, cap;
} sig_memo;

int sig_memo_init(sig_memo *m, size_t cap);
void sig_memo_free(sig_memo *m); /* sig_memo_free(NULL) is a no-op */
int sig_memo_seen(void *memo, const char *key, int64_t now_ms, int64_t ttl_ms); /* a sig_seen_fn */

#endif
