/* sentinel.c - finding the Redis primary by asking Redis Sentinel */
#include "state/sentinel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

typedef struct entry {
    char host[256];
    int port;
} entry;

/* Splits "host:port" or "[v6]:port" of len bytes. Returns 0 or -1. */
static int parse_entry(const char *text, size_t len, entry *e) {
    char buf[300], *colon, *end;
    const char *host;
    size_t hlen;

    while (len && (*text == ' ' || *text == '\t')) text++, len--;
    while (len && (text[len - 1] == ' ' || text[len - 1] == '\t')) len--;
    if (len == 0 || len >= sizeof(buf)) return -1;
    memcpy(buf, text, len);
    buf[len] = '\0';
    if (!(colon = strrchr(buf, ':')) || colon == buf) return -1;
    *colon = '\0';
    host = buf;
    hlen = (size_t)(colon - buf);
    if (buf[0] == '[') {
        if (hlen < 3 || buf[hlen - 1] != ']') return -1;
        buf[hlen - 1] = '\0';
        host = buf + 1;
        hlen -= 2;
    }
    if (hlen >= sizeof(e->host)) return -1;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end || errno || port < 1 || port > 65535) return -1;
    memcpy(e->host, host, hlen + 1);
    e->port = (int)port;
    return 0;
}

/* Parses the list into at most SENTINEL_MAX entries. Returns how many, or
 * -1 with err naming the offending entry. */
static int parse_list(const char *list, entry *out, char *err, size_t errlen) {
    int n = 0;
    const char *p = list;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (n == SENTINEL_MAX) {
            snprintf(err, errlen, "redis.sentinels: more than %d sentinels", SENTINEL_MAX);
            return -1;
        }
        if (parse_entry(p, len, &out[n]) < 0) {
            snprintf(err, errlen, "redis.sentinels: \"%.*s\" is not host:port", (int)(len > 200 ? 200 : len), p);
            return -1;
        }
        n++;
        if (!comma) return n;
        p = comma + 1;
    }
}

int sentinel_list_check(const char *list, char *err, size_t errlen) {
    entry e[SENTINEL_MAX];
    return parse_list(list, e, err, errlen);
}

/* One sentinel's answer. Returns 0 with host and port filled, or -1 with
 * err saying what it said instead. */
static int ask(const entry *e, const char *name, const char *password, int timeout_ms, char *host,
               size_t hostlen, int *port, char *err, size_t errlen) {
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisReply *r = NULL;
    int rc = -1;
    redisContext *c = redisConnectWithTimeout(e->host, e->port, tv);

    if (!c || c->err) {
        snprintf(err, errlen, "sentinel %s:%d: %s", e->host, e->port, c ? c->errstr : "out of memory");
        goto out;
    }
    redisSetTimeout(c, tv);
    if (*password) {
        r = redisCommand(c, "AUTH %s", password);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            /* Never echo the password. */
            snprintf(err, errlen, "sentinel %s:%d: AUTH refused", e->host, e->port);
            goto out;
        }
        freeReplyObject(r);
    }
    r = redisCommand(c, "SENTINEL get-master-addr-by-name %s", name);
    if (!r) {
        snprintf(err, errlen, "sentinel %s:%d: %s", e->host, e->port, c->errstr);
        goto out;
    }
    if (r->type == REDIS_REPLY_NIL) {
        snprintf(err, errlen, "sentinel %s:%d: no primary named \"%s\"", e->host, e->port, name);
        goto out;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "sentinel %s:%d: %s", e->host, e->port, r->str);
        goto out;
    }
    char *end = NULL;
    long p = 0;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_STRING && r->element[1]->type == REDIS_REPLY_STRING &&
        r->element[0]->len > 0 && r->element[0]->len < hostlen)
        p = strtol(r->element[1]->str, &end, 10);
    if (p < 1 || p > 65535 || *end) {
        snprintf(err, errlen, "sentinel %s:%d: unexpected reply to get-master-addr-by-name", e->host,
                 e->port);
        goto out;
    }
    memcpy(host, r->element[0]->str, r->element[0]->len + 1);
    *port = (int)p;
    rc = 0;
out:
    if (r) freeReplyObject(r);
    if (c) redisFree(c);
    return rc;
}

int sentinel_primary(const char *list, const char *name, const char *password, int timeout_ms,
                     int *first, char *host, size_t hostlen, int *port, char *err, size_t errlen) {
    entry e[SENTINEL_MAX];
    int n = parse_list(list, e, err, errlen);
    if (n < 0) return -1;
    int start = (*first >= 0 && *first < n) ? *first : 0;
    for (int k = 0; k < n; k++) {
        int i = (start + k) % n;
        if (ask(&e[i], name, password, timeout_ms, host, hostlen, port, err, errlen) == 0) {
            *first = i;
            return 0;
        }
    }
    return -1;
}
