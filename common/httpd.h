/* httpd.h - the health and metrics endpoints a daemon serves (libmicrohttpd) */
#ifndef MUSTER_HTTPD_H
#define MUSTER_HTTPD_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>

#include <microhttpd.h>

#include "common/metrics.h"

/*
 * GET (or HEAD):
 *   /healthz  200 "ok\n" while the process is alive
 *   /readyz   200 "ready\n" when ready() returns non-zero, else 503 with the
 *             reason ready() wrote (or "not ready") and a "\n"; when it
 *             returns HTTPD_DEGRADED, 200 with the reason (ready, but
 *             something needs a person)
 *   /metrics  200 metrics_render(m), Content-Type
 *             "text/plain; version=0.0.4; charset=utf-8"
 * Other paths answer 404; other methods on these paths 405 with
 * "Allow: GET, HEAD". Bodies are text/plain; every answer carries
 * "Cache-Control: no-store".
 *
 * Threading: one libmicrohttpd thread serves every request, so ready() and
 * metrics_render() (with any metrics_gauge_fn() callbacks) run on it,
 * concurrently with the caller's threads. ready() must therefore be
 * thread-safe (read atomics or sig_atomic_t flags the main loop sets, never
 * the main loop's plain data) and quick, since requests are served one at a
 * time. The thread starts with the asynchronous signals blocked, so SIGTERM
 * and SIGINT keep interrupting the threads that wait for them.
 *
 * Bounds: at most HTTPD_MAX_CONNECTIONS connections at once and
 * HTTPD_MAX_PER_IP from one address, each closed after HTTPD_TIMEOUT_S idle
 * seconds; a request whose head is not complete HTTPD_HEAD_MS after it
 * began is cut (deadline.h), so a client trickling bytes cannot hold the
 * probes' and the scraper's slots.
 */

#define HTTPD_MAX_CONNECTIONS 16
#define HTTPD_MAX_PER_IP 4
#define HTTPD_HEAD_MS 5000
#define HTTPD_TIMEOUT_S 10
#define HTTPD_REASON_MAX 256 /* bytes ready() may write, with the NUL */
#define HTTPD_DEGRADED 2      /* ready() result: serving, reason in the body */

typedef struct httpd httpd;

/* Called for /readyz: returns non-zero when ready; otherwise may write a
 * NUL-terminated reason of at most len bytes (len is HTTPD_REASON_MAX) to
 * why, e.g. "redis: connection refused". Runs on the HTTP thread. */
typedef int (*httpd_ready_fn)(void *arg, char *why, size_t len);

/* Starts serving on addr (a numeric IPv4 or IPv6 address, "[::1]" style
 * brackets allowed, or "localhost" for 127.0.0.1; NULL, "" or "*" mean
 * every IPv4 address) and port (0: the kernel picks one, see httpd_port()).
 * m may be NULL (then /metrics is 404) and ready may be NULL (then always
 * ready); both must outlive the server.
 * Returns the server (stop with httpd_stop()), or NULL with err filled, e.g.
 * "httpd: 127.0.0.1:9464: Address already in use". */
httpd *httpd_start(const char *addr, int port, metrics *m, httpd_ready_fn ready, void *arg,
                   char *err, size_t errlen);

/* The port the server listens on (the chosen one when started on port 0). */
int httpd_port(const httpd *h);

/* Stops the thread, closes every connection and frees h. When it returns,
 * ready() and the metrics are no longer used. httpd_stop(NULL) is a no-op. */
void httpd_stop(httpd *h);

/* Turns a numeric listen address ("127.0.0.1", "[::1]", "0.0.0.0"; "",
 * "*" and "localhost" too; never a DNS lookup, so start-up cannot hang)
 * and a port into a socket address. Errors name `what` ("intake.address").
 * Returns 0, or -1 with err filled. */
struct sockaddr_storage;
int httpd_resolve(const char *what, const char *addr, int port, struct sockaddr_storage *ss,
                  int *v6, char *err, size_t errlen);


/* For a server of its own (muster-api) that serves the probes beside its
 * routes: when url is /healthz, /readyz or /metrics (m not NULL), answers
 * it as above into *ret and returns 1; else returns 0 and answers nothing.
 * Runs on the caller's libmicrohttpd thread. */
int httpd_probe(struct MHD_Connection *c, const char *url, const char *method, metrics *m,
                httpd_ready_fn ready, void *arg, enum MHD_Result *ret);

/* While MHD_start_daemon() runs, what libmicrohttpd logs on the thread that
 * starts it says why it could not (a bind error): kept for the caller's err
 * instead of logged. begin() and end() go around MHD_start_daemon() on the
 * starting thread; httpd_log_text() is for the server's logger, on any
 * thread. */
typedef struct httpd_starting {
    atomic_int on;
    pthread_t thread;
    char why[512];
} httpd_starting;

void httpd_starting_begin(httpd_starting *s);
void httpd_starting_end(httpd_starting *s);

/* Formats libmicrohttpd's message into msg (trailing newlines dropped).
 * Returns 1 when it was kept as the start error (then log nothing), else 0. */
int httpd_log_text(httpd_starting *s, char *msg, size_t len, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

/* err for a server that did not start: "what: [ADDR]:PORT: why". Call
 * after httpd_starting_end(), when no server thread is left. */
void httpd_start_failed(const httpd_starting *s, const char *what, const char *addr, int v6,
                        int port, char *err, size_t errlen);

/* Blocks the asynchronous signals in the calling thread, saving the mask
 * in *old (restore with pthread_sigmask(SIG_SETMASK, old, NULL)): threads
 * started meanwhile (libmicrohttpd's, librdkafka's) inherit it, so a
 * SIGTERM interrupts the thread that waits for it. */
#include <signal.h>
void httpd_block_signals(sigset_t *old);

/* Writes a connection's peer as "10.1.2.3:51234" or "[::1]:51234" ("?:?"
 * when libmicrohttpd does not know it) to buf. */
void httpd_peer(struct MHD_Connection *c, char *buf, size_t len);

#endif
