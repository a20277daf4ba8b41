/* deadline.c - libmicrohttpd connections that must send their request in time */
#include "common/deadline.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common/httpd.h"
#include "common/log.h"
#include "common/util.h"

#define WATCH_MAX_MS 1000 /* the watcher looks at least this often */

/* One connection, from libmicrohttpd's STARTED to its CLOSED: the socket
 * context. Fields from phase on change under the watcher's mu. */
typedef struct conn {
    deadline_watch *d;
    MHD_socket fd;
    char peer[64];
    enum { HEAD, BODY, DONE } phase;
    int64_t start; /* mono_ms() when the current request began */
    int cut;       /* shut down for being late */
    unsigned served; /* requests answered on this connection */
    struct conn *prev, *next;
} conn;

struct deadline_watch {
    char what[48];
    int64_t head_ms, request_ms;
    pthread_mutex_t mu;
    pthread_cond_t cv;     /* a connection with an earlier deadline, or stopping */
    conn *conns;
    int64_t wake;          /* when the watcher looks next */
    int stopping;
    pthread_t thread;
};

static int64_t due(const deadline_watch *d, const conn *k) {
    return k->start + (k->phase == HEAD ? d->head_ms : d->request_ms);
}

/* Shuts down what is late and sleeps until the next deadline. The fd is
 * still open while its conn is listed: libmicrohttpd sends CLOSED (which
 * takes mu) before it closes the socket. */
static void *watch(void *arg) {
    deadline_watch *d = arg;
    pthread_mutex_lock(&d->mu);
    while (!d->stopping) {
        int64_t now = mono_ms(), next = now + WATCH_MAX_MS;
        for (conn *k = d->conns; k; k = k->next) {
            if (k->phase == DONE || k->cut) continue;
            int64_t t = due(d, k);
            if (t > now) {
                if (t < next) next = t;
                continue;
            }
            k->cut = 1;
            shutdown(k->fd, SHUT_RDWR);
            /* A kept-alive connection that goes quiet after its answers is
             * what HTTP clients do, not news. */
            mlog(k->served ? LOG_DEBUG : LOG_WARN, NULL, "%s: closed the connection from %s "
                 "unanswered: no complete request %s within %lld ms%s", d->what, k->peer,
                 k->phase == HEAD ? "head" : "(head and body)",
                 (long long)(k->phase == HEAD ? d->head_ms : d->request_ms),
                 k->served ? " (kept alive after an answer)" : "");
        }
        d->wake = next;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t ms = next - now;
        ts.tv_sec += (time_t)(ms / 1000);
        ts.tv_nsec += (long)(ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&d->cv, &d->mu, &ts);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

deadline_watch *deadline_new(const char *what, int64_t head_ms, int64_t request_ms, char *err,
                       size_t errlen) {
    pthread_condattr_t ca;
    deadline_watch *d;

    if (head_ms <= 0 || request_ms < head_ms) {
        snprintf(err, errlen, "%s: the request deadline (%lld ms) is shorter than the head's "
                 "(%lld ms)", what, (long long)request_ms, (long long)head_ms);
        return NULL;
    }
    if (!(d = calloc(1, sizeof(*d)))) {
        snprintf(err, errlen, "%s: out of memory", what);
        return NULL;
    }
    snprintf(d->what, sizeof(d->what), "%s", what);
    d->head_ms = head_ms;
    d->request_ms = request_ms;
    pthread_mutex_init(&d->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&d->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&d->thread, NULL, watch, d) != 0) {
        snprintf(err, errlen, "%s: cannot start a thread", what);
        pthread_cond_destroy(&d->cv);
        pthread_mutex_destroy(&d->mu);
        free(d);
        return NULL;
    }
    return d;
}

void deadline_free(deadline_watch *d) {
    if (!d) return;
    pthread_mutex_lock(&d->mu);
    d->stopping = 1;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->thread, NULL);
    /* Normally empty by now; whatever is left, libmicrohttpd no longer uses. */
    for (conn *k = d->conns, *next; k; k = next) {
        next = k->next;
        free(k);
    }
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

void deadline_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                     enum MHD_ConnectionNotificationCode code) {
    deadline_watch *d = cls;
    conn *k = *socket_context;

    if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        if (!k) return;
        pthread_mutex_lock(&d->mu);
        if (k->prev) k->prev->next = k->next;
        else d->conns = k->next;
        if (k->next) k->next->prev = k->prev;
        pthread_mutex_unlock(&d->mu);
        free(k);
        *socket_context = NULL;
        return;
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    /* Without its socket it cannot be cut; without memory it cannot be
     * tracked. Either way the idle timeout still applies. */
    if (!ci || !(k = calloc(1, sizeof(*k)))) return;
    k->d = d;
    k->fd = ci->connect_fd;
    httpd_peer(c, k->peer, sizeof(k->peer));
    k->start = mono_ms();
    pthread_mutex_lock(&d->mu);
    k->next = d->conns;
    if (d->conns) d->conns->prev = k;
    d->conns = k;
    if (due(d, k) < d->wake) pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
    *socket_context = k;
}

static conn *of(struct MHD_Connection *c) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* Moves the connection's request to phase; returns whether it was cut. */
static int move(struct MHD_Connection *c, int phase, int restart) {
    conn *k = of(c);
    if (!k) return 0;
    pthread_mutex_lock(&k->d->mu);
    int cut = k->cut;
    k->phase = phase;
    if (restart) {
        k->start = mono_ms();
        k->served++;
        if (due(k->d, k) < k->d->wake) pthread_cond_signal(&k->d->cv);
    }
    pthread_mutex_unlock(&k->d->mu);
    return cut;
}

void deadline_head_done(struct MHD_Connection *c) { move(c, BODY, 0); }

int deadline_body_done(struct MHD_Connection *c) { return move(c, DONE, 0) ? -1 : 0; }

void deadline_request_done(struct MHD_Connection *c) { move(c, HEAD, 1); }
