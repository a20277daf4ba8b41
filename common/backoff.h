/* backoff.h - retry delays: exponential, capped, with jitter, Retry-After */
#ifndef MUSTER_BACKOFF_H
#define MUSTER_BACKOFF_H

#include <stdint.h>
#include <jansson.h>

typedef struct retry_policy {
    int max_attempts;    /* attempts in all, the first included */
    int64_t initial_ms;  /* delay before the second attempt */
    int64_t max_ms;      /* no computed delay is longer */
    double multiplier;   /* growth per attempt */
    double jitter;       /* up to this fraction of the delay is added at random */
} retry_policy;

#define RETRY_AFTER_MAX_MS (3600 * 1000LL)

/* The defaults: 3 attempts, 1 s, 60 s, x2, 20% jitter. */
retry_policy retry_policy_default(void);

/* Reads {"max_attempts","initial_delay_ms","max_delay_ms","multiplier",
 * "jitter"} (any may be absent) over `base`. */
retry_policy retry_policy_from_json(const json_t *obj, retry_policy base);

json_t *retry_policy_to_json(const retry_policy *p);

/* Delay after failed attempt `attempt` (1-based):
 * min(initial * multiplier^(attempt-1), max) plus up to jitter * that, using
 * `unit` in [0,1) as the random draw. A server's Retry-After (ms, 0 for none)
 * wins when it is longer, up to RETRY_AFTER_MAX_MS. */
int64_t backoff_delay(const retry_policy *p, int attempt, int64_t retry_after_ms, double unit);

/* Parses an HTTP Retry-After value: delta-seconds or an HTTP-date. Returns
 * milliseconds from `now_ms` (0 when in the past), or -1 when unreadable. */
int64_t retry_after_parse(const char *value, int64_t now_ms);

#endif
