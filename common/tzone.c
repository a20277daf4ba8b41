/* tzone.c - wall-clock time in IANA time zones, from the system tz database */
#include "common/tzone.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool tz_valid(const char *zone) {
    char path[512], magic[4];
    const char *dir = getenv("TZDIR");
    size_t n = strlen(zone);
    if (n == 0 || n > 200 || zone[0] == '/' || zone[0] == ':' || strstr(zone, "..")) return false;
    if (strncmp(zone, "right/", 6) == 0) return false; /* counts leap seconds: not wall clocks */
    for (const char *p = zone; *p; p++)
        if (!(*p == '/' || *p == '_' || *p == '-' || *p == '+' || (*p >= '0' && *p <= '9') ||
              (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')))
            return false;
    snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", zone);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    ssize_t got = read(fd, magic, sizeof(magic));
    close(fd);
    return got == 4 && memcmp(magic, "TZif", 4) == 0;
}

/* The zone file is read by tzset() through the C library, never parsed here. */
void tz_enter(tz_scope *scope, const char *zone) {
    const char *old = getenv("TZ");
    scope->changed = !old || strcmp(old, zone) != 0;
    scope->saved = scope->changed && old ? strdup(old) : NULL;
    if (!scope->changed) return;
    setenv("TZ", zone, 1);
    tzset();
}

void tz_leave(tz_scope *scope) {
    if (scope->changed) {
        if (scope->saved) setenv("TZ", scope->saved, 1);
        else unsetenv("TZ");
        tzset();
    }
    free(scope->saved);
    scope->saved = NULL;
    scope->changed = false;
}

/* Offset east of UTC at t in the zone now in use. */
static long offset_at(time_t t, char *abbr, size_t len) {
    struct tm tm;
    if (!localtime_r(&t, &tm)) return 0;
    if (abbr) snprintf(abbr, len, "%s", tm.tm_zone ? tm.tm_zone : "");
    return tm.tm_gmtoff;
}

long tz_offset(const char *zone, time_t t, char *abbr, size_t len) {
    tz_scope scope;
    tz_enter(&scope, zone);
    long off = offset_at(t, abbr, len);
    tz_leave(&scope);
    return off;
}

civil_t tz_civil(const char *zone, time_t t) {
    tz_scope scope;
    tz_enter(&scope, zone);
    long off = offset_at(t, NULL, 0);
    tz_leave(&scope);
    return (civil_t)t + off;
}

time_t tz_instant(const char *zone, civil_t c) {
    tz_scope scope;
    tz_enter(&scope, zone);
    /* A zone changes its offset at most once within a day or so, so the
     * offsets a day before and a day after are the only candidates. */
    long before = offset_at((time_t)(c - 86400), NULL, 0);
    long after = offset_at((time_t)(c + 86400), NULL, 0);
    time_t a = (time_t)(c - before), b = (time_t)(c - after), t;
    bool a_ok = (civil_t)a + offset_at(a, NULL, 0) == c;
    bool b_ok = (civil_t)b + offset_at(b, NULL, 0) == c;
    if (a_ok && b_ok) {
        t = a < b ? a : b; /* read twice: the first */
    } else if (a_ok || b_ok) {
        t = a_ok ? a : b;
    } else {
        /* Skipped: the jump happens at the instant where the old offset's
         * reading meets the skipped stretch; it is the earliest instant
         * whose reading is past c, between c - before and c - after. */
        time_t lo = a < b ? a : b, hi = a < b ? b : a;
        while (lo + 1 < hi) {
            time_t mid = lo + (hi - lo) / 2;
            if ((civil_t)mid + offset_at(mid, NULL, 0) > c) hi = mid;
            else lo = mid;
        }
        t = hi;
    }
    tz_leave(&scope);
    return t;
}

void civil_fields(civil_t c, struct tm *out) {
    time_t t = (time_t)c;
    memset(out, 0, sizeof(*out));
    gmtime_r(&t, out);
}
