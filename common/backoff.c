/* backoff.c - retry delays: exponential, capped, with jitter, Retry-After */
#define _XOPEN_SOURCE 700 /* strptime */
#include "common/backoff.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

retry_policy retry_policy_default(void) {
    retry_policy p = {3, 1000, 60000, 2.0, 0.2};
    return p;
}

retry_policy retry_policy_from_json(const json_t *obj, retry_policy p) {
    json_t *v;
    if ((v = json_object_get(obj, "max_attempts")) && json_is_integer(v))
        p.max_attempts = (int)json_integer_value(v);
    if ((v = json_object_get(obj, "initial_delay_ms")) && json_is_integer(v))
        p.initial_ms = json_integer_value(v);
    if ((v = json_object_get(obj, "max_delay_ms")) && json_is_integer(v))
        p.max_ms = json_integer_value(v);
    if ((v = json_object_get(obj, "multiplier")) && json_is_number(v))
        p.multiplier = json_number_value(v);
    if ((v = json_object_get(obj, "jitter")) && json_is_number(v)) p.jitter = json_number_value(v);
    return p;
}

json_t *retry_policy_to_json(const retry_policy *p) {
    return json_pack("{s:i, s:I, s:I, s:f, s:f}", "max_attempts", p->max_attempts,
                     "initial_delay_ms", (json_int_t)p->initial_ms, "max_delay_ms",
                     (json_int_t)p->max_ms, "multiplier", p->multiplier, "jitter", p->jitter);
}

int64_t backoff_delay(const retry_policy *p, int attempt, int64_t retry_after_ms, double unit) {
    double d = (double)p->initial_ms;
    for (int i = 1; i < attempt && d < (double)p->max_ms; i++) d *= p->multiplier;
    if (d > (double)p->max_ms) d = (double)p->max_ms;
    if (d < 0) d = 0;
    if (unit < 0) unit = 0;
    if (unit >= 1) unit = 0.999999;
    d += d * p->jitter * unit;
    int64_t ms = (int64_t)d;
    if (retry_after_ms > RETRY_AFTER_MAX_MS) retry_after_ms = RETRY_AFTER_MAX_MS;
    return retry_after_ms > ms ? retry_after_ms : ms;
}

int64_t retry_after_parse(const char *value, int64_t now_ms) {
    while (value && isspace((unsigned char)*value)) value++;
    if (!value || !*value) return -1;
    if (isdigit((unsigned char)*value)) {
        char *end;
        long long secs = strtoll(value, &end, 10);
        while (isspace((unsigned char)*end)) end++;
        if (*end || secs < 0) return -1;
        if (secs > RETRY_AFTER_MAX_MS / 1000) secs = RETRY_AFTER_MAX_MS / 1000;
        return (int64_t)secs * 1000;
    }
    /* IMF-fixdate, the form RFC 9110 requires senders to use. */
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end) return -1;
    time_t at = timegm(&tm);
    int64_t ms = (int64_t)at * 1000 - now_ms;
    return ms > 0 ? (ms > RETRY_AFTER_MAX_MS ? RETRY_AFTER_MAX_MS : ms) : 0;
}
