/* sink_routes.h - muster-sink's route table: which canned reply a request gets */
#ifndef MUSTER_SINK_ROUTES_H
#define MUSTER_SINK_ROUTES_H

#include <stddef.h>

#include <jansson.h>

struct sink_interact; /* sink_interact.h */

#define SINK_ROUTES_FILE_MAX (4u << 20) /* bytes in a --routes file */
#define SINK_ROUTES_MAX 1024            /* rules in a --routes file */
#define SINK_DELAY_MAX_MS 600000        /* largest delay_ms: ten minutes */
#define SINK_REPLY_MAX (8u << 20)       /* largest rendered reply body */

/* One reply, rendered for one request. Everything in it is owned by it. */
struct sink_reply {
    unsigned status;
    char *body;               /* malloc'd, NUL-terminated, body_len bytes */
    size_t body_len;
    const char *content_type; /* static; NULL when headers carry their own */
    char **headers;           /* 2 * nheaders malloc'd strings: name, value */
    size_t nheaders;
    unsigned long delay_ms;   /* hold the reply this long before sending */
    int injected;             /* the rule's failure reply, not its normal one */
};

struct sink_routes;

/* Loads the JSON array of rules in path (format in docs/sink.md). On
 * failure returns -1 with err naming the file, the rule index and the
 * offending field or the parse position. Caller frees with
 * sink_routes_free(). */
int sink_routes_load(const char *path, struct sink_routes **out, char *err, size_t errlen);

/* The table used without --routes: one catch-all rule, index 0, answering
 * 200 {"ok":true}. Caller frees with sink_routes_free(). */
int sink_routes_default(struct sink_routes **out, char *err, size_t errlen);

/* sink_routes_free(NULL) is a no-op. */
void sink_routes_free(struct sink_routes *routes);

/* Index of the first rule matching method and path (compared exactly, as
 * sent), or -1. */
int sink_routes_match(const struct sink_routes *routes, const char *method, const char *path);

/* Counts a request against rule index and renders its reply into out: the
 * injected failure while the rule's fail_first / fail_until say so,
 * otherwise the normal reply, with {{n}} and {{path}} expanded. now is
 * unix time in seconds. Safe from any thread. Returns 0, or -1 when the
 * reply would pass SINK_REPLY_MAX or memory runs out (out is then empty).
 * Caller clears out with sink_reply_clear(). */
int sink_routes_answer(struct sink_routes *routes, int index, const char *path, double now,
                       struct sink_reply *out);

/* Checks that v is an object whose fields are all in known (NULL-ended).
 * what names v in the message ("" for a rule itself, else e.g.
 * "\"then_interact\": "). Returns 0, or -1 with err naming where. */
int sink_routes_check_object(const json_t *v, const char *const *known, const char *what,
                             const char *where, char *err, size_t errlen);

/* Rule index's then_interact, or NULL. */
struct sink_interact *sink_routes_interaction(const struct sink_routes *routes, int index);

/* Records that a reply for rule index was sent (for sink_routes_stats). */
void sink_routes_note_sent(struct sink_routes *routes, int index);

/* A new JSON array with one object per rule: {"route", "method", "path",
 * "count"}, count being the replies sent. NULL when memory runs out. */
json_t *sink_routes_stats(const struct sink_routes *routes);

/* Fills out with a fixed JSON reply (json_body is copied). Returns 0 or -1. */
int sink_reply_fixed(struct sink_reply *out, unsigned status, const char *json_body);

/* Frees what out holds and zeroes it; safe on a zeroed reply. */
void sink_reply_clear(struct sink_reply *out);

#endif
