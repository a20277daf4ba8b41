/* util.c - small helpers every module uses: clocks, ids, files */
#include "common/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void format_rfc3339(int64_t ms, char *buf, size_t len) {
    /* Floor division, so times before 1970 keep a positive millisecond. */
    int64_t secs = ms / 1000, frac = ms % 1000;
    if (frac < 0) {
        frac += 1000;
        secs--;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    size_t n = 0;
    if (len == 0) return;
    /* strftime() leaves buf undefined when it does not fit. */
    if (gmtime_r(&t, &tm)) n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    buf[n] = '\0';
    if (n > 0) snprintf(buf + n, len - n, ".%03dZ", (int)frac);
}

void id_new(const char *prefix, char *buf, size_t len) {
    uint64_t rnd = 0;
    if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        /* getrandom() on Linux only fails before the pool is seeded. */
        rnd = (uint64_t)mono_ms() * 6364136223846793005ULL + (uint64_t)clock();
    }
    snprintf(buf, len, "%s%012llx%012llx", prefix,
             (unsigned long long)(now_ms() & 0xffffffffffffLL),
             (unsigned long long)(rnd & 0xffffffffffffULL));
}

char *file_read(const char *path, size_t max, size_t *len, char *err,
                size_t errlen) {
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;

    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, cap);
            if (!nb) {
                snprintf(err, errlen, "%s: out of memory", path);
                goto fail;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (n > max) {
            snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
            goto fail;
        }
        if (got == 0) break;
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    fclose(f);
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
fail:
    fclose(f);
    free(buf);
    return NULL;
}

int duration_parse(const char *text, int64_t *ms) {
    char *end;
    /* Plain decimals only: strtod() would also take blanks, signs, hex,
     * exponents, "inf" and "nan". */
    size_t digits = strspn(text, "0123456789.");
    if (digits == 0 || text[0] == '.') return -1;
    errno = 0;
    double v = strtod(text, &end);
    if (end != text + digits || errno || !(v >= 0)) return -1;
    double mult;
    if (*end == '\0' || strcmp(end, "ms") == 0) mult = 1;
    else if (strcmp(end, "s") == 0) mult = 1000;
    else if (strcmp(end, "m") == 0) mult = 60000;
    else if (strcmp(end, "h") == 0) mult = 3600000;
    else if (strcmp(end, "d") == 0) mult = 86400000;
    else if (strcmp(end, "w") == 0) mult = 7 * 86400000.0;
    else return -1;
    v *= mult;
    if (v > 9e15) return -1;
    *ms = (int64_t)v;
    return 0;
}

void real_shortest(double d, char *out, size_t n) {
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, n, "%.*g", prec, d);
        if (strtod(out, NULL) == d) break;
    }
    if (!strpbrk(out, ".eE")) strncat(out, ".0", n - strlen(out) - 1);
}
