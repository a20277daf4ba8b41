/* slowloris.c - holds HTTP connections open by sending a request head one
 * byte at a time, for the intake's tests. Loopback only, bounded in
 * connections and time.
 *
 *   muster-slowloris --port P --from 127.0.0.2[,127.0.0.3...] [--connections 40]
 *                    [--interval 1000] [--duration 10000] [--reconnect 200]
 *                    [--token TOKEN]
 *
 * Opens --connections connections to 127.0.0.1:P, each bound to the next
 * --from address in turn. Each sends the start of a request head and then one
 * more byte every --interval ms, never ending the head. With --token the head is complete,
 * with that bearer token and a Content-Length of 100000, and the body is
 * what trickles. A connection the
 * server closes is opened again --reconnect ms later, as an attacker would.
 * After --duration ms it closes everything and prints one JSON line: how
 * many connections were opened, closed by the server, and how many were
 * still open at the end. Exit 0, or 2 for bad arguments. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONNS_MAX 512
#define FROM_MAX 16
#define DURATION_MAX 120000

static char head[512] = "POST /api/v1/alerts HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";

typedef struct slot {
    int fd;
    int from;
    long long next;  /* when to send the next byte, or to reconnect (fd < 0) */
    int connected;
} slot;

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int loopback(const struct in_addr *a) { return (ntohl(a->s_addr) >> 24) == 127; }

static long number(const char *what, const char *v, long min, long max) {
    char *end;
    long n = strtol(v, &end, 10);
    if (end == v || *end || n < min || n > max) {
        fprintf(stderr, "slowloris: %s \"%s\" is not in %ld..%ld\n", what, v, min, max);
        exit(2);
    }
    return n;
}

/* A non-blocking connect from `from` to the target; -1 when it failed at once. */
static int dial(const struct in_addr *from, int port) {
    struct sockaddr_in src = {.sin_family = AF_INET, .sin_addr = *from};
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
        (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0 && errno != EINPROGRESS)) {
        close(fd);
        return -1;
    }
    return fd;
}

int main(int argc, char **argv) {
    struct in_addr from[FROM_MAX];
    int nfrom = 0, port = 0;
    long conns = 40, interval = 1000, duration = 10000, reconnect = 200;
    unsigned long opened = 0, cut = 0;

    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--port")) port = (int)number(k, v, 1, 65535);
        else if (!strcmp(k, "--connections")) conns = number(k, v, 1, CONNS_MAX);
        else if (!strcmp(k, "--interval")) interval = number(k, v, 10, 60000);
        else if (!strcmp(k, "--duration")) duration = number(k, v, 100, DURATION_MAX);
        else if (!strcmp(k, "--reconnect")) reconnect = number(k, v, 10, 60000);
        else if (!strcmp(k, "--token"))
            snprintf(head, sizeof(head), "POST /api/v1/alerts HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Authorization: Bearer %.256s\r\nContent-Length: 100000\r\n\r\n{", v);
        else if (!strcmp(k, "--from")) {
            char list[256];
            snprintf(list, sizeof(list), "%s", v);
            for (char *save, *a = strtok_r(list, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
                if (nfrom == FROM_MAX || inet_pton(AF_INET, a, &from[nfrom]) != 1 ||
                    !loopback(&from[nfrom])) {
                    fprintf(stderr, "slowloris: --from %s: at most %d addresses in 127.0.0.0/8\n",
                            a, FROM_MAX);
                    return 2;
                }
                nfrom++;
            }
        } else {
            fprintf(stderr, "slowloris: unknown option %s\n", k);
            return 2;
        }
    }
    if (!port || !nfrom || argc % 2 == 0) {
        fprintf(stderr, "usage: muster-slowloris --port P --from ADDR[,ADDR...] "
                "[--connections N] [--interval MS] [--duration MS] [--reconnect MS] "
                "[--token TOKEN]\n");
        return 2;
    }

    slot s[CONNS_MAX];
    struct pollfd p[CONNS_MAX];
    long long start = now_ms(), end = start + duration;
    for (long i = 0; i < conns; i++) s[i] = (slot){.fd = -1, .from = (int)(i % nfrom), .next = start};

    for (long long t; (t = now_ms()) < end;) {
        long long wake = end;
        for (long i = 0; i < conns; i++) {
            slot *k = &s[i];
            if (k->fd < 0 && t >= k->next) {
                if ((k->fd = dial(&from[k->from], port)) >= 0) opened++;
                k->connected = 0;
                k->next = t + (k->fd < 0 ? reconnect : 0);
            }
            if (k->fd >= 0 && k->connected && t >= k->next) {
                if (send(k->fd, "a", 1, MSG_NOSIGNAL) < 0 && errno != EAGAIN) {
                    close(k->fd);
                    k->fd = -1;
                    cut++;
                    k->next = t + reconnect;
                } else {
                    k->next = t + interval;
                }
            }
            if (k->next < wake) wake = k->next;
            p[i].fd = k->fd;
            p[i].events = k->fd < 0 ? 0 : k->connected ? POLLIN : POLLOUT;
            p[i].revents = 0;
        }
        int ms = (int)(wake - t);
        if (ms < 0) ms = 0;
        if (poll(p, (nfds_t)conns, ms) <= 0) continue;
        for (long i = 0; i < conns; i++) {
            slot *k = &s[i];
            if (k->fd < 0 || !p[i].revents) continue;
            char buf[512];
            int err = 0;
            socklen_t el = sizeof(err);
            if (!k->connected && !(p[i].revents & (POLLERR | POLLHUP)) &&
                getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0) {
                /* Connected: the start of a head, then a byte at a time. */
                k->connected = 1;
                if (send(k->fd, head, strlen(head), MSG_NOSIGNAL) >= 0) {
                    k->next = now_ms() + interval;
                    continue;
                }
            } else if (k->connected && !(p[i].revents & (POLLERR | POLLHUP)) &&
                       recv(k->fd, buf, sizeof(buf), 0) > 0) {
                continue; /* an answer; the server closes next */
            }
            close(k->fd);
            k->fd = -1;
            cut++;
            k->next = now_ms() + reconnect;
        }
    }
    unsigned long open_at_end = 0;
    for (long i = 0; i < conns; i++)
        if (s[i].fd >= 0) {
            open_at_end += s[i].connected;
            close(s[i].fd);
        }
    printf("{\"opened\":%lu,\"closed_by_server\":%lu,\"open_at_end\":%lu}\n", opened, cut,
           open_at_end);
    return 0;
}
