/* filters.c - the query of GET /api/v1/incidents: filters, paging, times */
#include "api/filters.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "metrics/aggregate.h"

int filter_time(const char *text, int64_t now, int64_t *ms) {
    size_t n = strlen(text), digits = strspn(text, "0123456789");
    if (n == 0 || n > 64) return -1;
    if (digits == n && n >= 13) { /* epoch ms */
        errno = 0;
        long long v = strtoll(text, NULL, 10);
        if (errno || v <= 0) return -1;
        *ms = v;
        return 0;
    }
    if (digits > 0 && digits == n - 1 && (text[n - 1] == 'd' || text[n - 1] == 'w')) {
        if (digits > 6) return -1;
        long long v = strtoll(text, NULL, 10) * (text[n - 1] == 'd' ? 86400000LL : 604800000LL);
        *ms = now - v;
        return 0;
    }
    int64_t d;
    if (digits > 0 && duration_parse(text, &d) == 0) {
        *ms = now - d;
        return 0;
    }
    return aggregate_parse_time(text, ms);
}

/* Copies a text parameter, refusing control characters and overlong ones. */
static int text_param(const char *key, const char *v, char *out, size_t len, char *err,
                      size_t errlen) {
    size_t n = strlen(v);
    if (n >= len) {
        snprintf(err, errlen, "%s: longer than %zu bytes", key, len - 1);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) {
            snprintf(err, errlen, "%s: a control character at byte %zu", key, i + 1);
            return -1;
        }
    memcpy(out, v, n + 1);
    return 0;
}

static int cursor_parse(incident_filter *f, const char *v) {
    const char *dot = strchr(v, '.');
    size_t digits = strspn(v, "0123456789");
    if (!dot || digits == 0 || digits > 16 || v + digits != dot) return -1;
    size_t idlen = strlen(dot + 1);
    if (idlen == 0 || idlen >= sizeof(f->cursor_id)) return -1;
    for (const char *p = dot + 1; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_') return -1;
    f->cursor_ms = strtoll(v, NULL, 10);
    memcpy(f->cursor_id, dot + 1, idlen + 1);
    f->has_cursor = 1;
    return 0;
}

int filter_parse(incident_filter *f, filter_get_fn get, void *arg, int64_t now, char *err,
                 size_t errlen) {
    static const struct {
        const char *name;
        incident_state state;
    } states[] = {{"open", STATE_OPEN}, {"unacknowledged", STATE_UNACKNOWLEDGED},
                  {"acknowledged", STATE_ACKNOWLEDGED}, {"resolved", STATE_RESOLVED}};
    const char *v;

    memset(f, 0, sizeof(*f));
    f->limit = FILTER_LIMIT_DEFAULT;
    if ((v = get(arg, "state")) && *v) {
        size_t i = 0;
        for (; i < sizeof(states) / sizeof(states[0]); i++)
            if (!strcmp(v, states[i].name)) break;
        if (i == sizeof(states) / sizeof(states[0])) {
            snprintf(err, errlen, "state: \"%.32s\" is not open, unacknowledged, acknowledged "
                     "or resolved", v);
            return -1;
        }
        f->state = states[i].state;
    }
    if ((v = get(arg, "workflow")) && text_param("workflow", v, f->workflow, sizeof(f->workflow), err, errlen) < 0) return -1;
    if ((v = get(arg, "severity")) && text_param("severity", v, f->severity, sizeof(f->severity), err, errlen) < 0) return -1;
    if ((v = get(arg, "service")) && text_param("service", v, f->service, sizeof(f->service), err, errlen) < 0) return -1;
    if ((v = get(arg, "q")) && text_param("q", v, f->q, sizeof(f->q), err, errlen) < 0) return -1;
    static const char *const times[] = {"since", "until"};
    for (int i = 0; i < 2; i++) {
        int64_t *at = i ? &f->until_ms : &f->since_ms;
        if (!(v = get(arg, times[i])) || !*v) continue;
        if (filter_time(v, now, at) < 0 || *at <= 0) {
            snprintf(err, errlen, "%s: \"%.40s\" is not a duration back from now (30d, 12h, "
                     "15m), an RFC 3339 time or epoch milliseconds", times[i], v);
            return -1;
        }
    }
    if (f->since_ms && f->until_ms && f->since_ms >= f->until_ms) {
        snprintf(err, errlen, "since: it is not before until");
        return -1;
    }
    if ((v = get(arg, "limit")) && *v) {
        size_t digits = strspn(v, "0123456789");
        long n = digits && digits == strlen(v) && digits <= 4 ? strtol(v, NULL, 10) : 0;
        if (n < 1 || n > FILTER_LIMIT_MAX) {
            snprintf(err, errlen, "limit: \"%.16s\" is not 1 to %d", v, FILTER_LIMIT_MAX);
            return -1;
        }
        f->limit = (size_t)n;
    }
    if ((v = get(arg, "cursor")) && *v && cursor_parse(f, v) < 0) {
        snprintf(err, errlen, "cursor: \"%.40s\" is not a cursor this API gave (next_cursor)", v);
        return -1;
    }
    return 0;
}

static const char *str(const json_t *o, const char *k) {
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

static int contains(const char *hay, const char *needle) {
    size_t n = strlen(needle), h = strlen(hay);
    for (size_t i = 0; i + n <= h; i++)
        if (!strncasecmp(hay + i, needle, n)) return 1;
    return 0;
}

int filter_match(const incident_filter *f, const json_t *s) {
    const char *status = str(s, "status");
    int acked = json_is_string(json_object_get(s, "acknowledged_by"));
    int resolved = !strcmp(status, "resolved");
    switch (f->state) {
    case STATE_ANY: break;
    case STATE_OPEN: if (resolved) return 0; break;
    case STATE_UNACKNOWLEDGED: if (resolved || acked) return 0; break;
    case STATE_ACKNOWLEDGED: if (resolved || !acked) return 0; break;
    case STATE_RESOLVED: if (!resolved) return 0; break;
    }
    if (*f->workflow && strcmp(str(s, "workflow"), f->workflow) != 0) return 0;
    if (*f->severity && strcmp(str(s, "severity"), f->severity) != 0) return 0;
    if (*f->service && strcmp(str(s, "service"), f->service) != 0) return 0;
    if (*f->q && !contains(str(s, "id"), f->q) && !contains(str(s, "summary"), f->q) &&
        !contains(str(s, "fingerprint"), f->q))
        return 0;
    return 1;
}

void filter_cursor(int64_t ms, const char *id, char *out, size_t len) {
    snprintf(out, len, "%lld.%s", (long long)ms, id);
}
