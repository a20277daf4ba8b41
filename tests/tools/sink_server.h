/* sink_server.h - muster-sink's HTTP server: answers requests from the route table */
#ifndef MUSTER_SINK_SERVER_H
#define MUSTER_SINK_SERVER_H

#include <stddef.h>
#include <sys/socket.h>

#include "sink_log.h"
#include "sink_routes.h"

#define SINK_BODY_MAX (1024u * 1024u) /* request body bytes; 413 beyond */
#define SINK_STATS_PATH "/_sink/stats"

struct sink_server_config {
    const struct sockaddr *addr; /* loopback address to bind; port 0 = any */
    const char *addr_text;       /* the same, for messages */
    unsigned threads;            /* worker threads, >= 1 */
    struct sink_routes *routes;  /* borrowed; outlives the server */
    struct sink_log *log;        /* borrowed; NULL for no log */
};

struct sink_server;

/* Binds and starts serving on internal threads. Returns 0, or -1 with err
 * filled (libmicrohttpd prints its own reason on stderr first). Caller
 * stops and frees with sink_server_stop(). */
int sink_server_start(const struct sink_server_config *cfg, struct sink_server **out, char *err,
                      size_t errlen);

/* The port actually bound (the kernel's choice when asked for 0). */
unsigned sink_server_port(const struct sink_server *srv);

/* Sends the delayed replies that are still waiting, closes every
 * connection, joins the threads and frees srv. Requests already answered
 * are in the log. sink_server_stop(NULL) is a no-op. */
void sink_server_stop(struct sink_server *srv);

#endif
