/* vendor_mock.h - a local HTTP server that plays a vendor's API in tests
 *
 * The test gives a handler. For every request the handler checks it against
 * the vendor's documented API (method, path, auth, content type, body
 * fields and their types), notes each mismatch with mock_problem(), and
 * fills the reply with the vendor's documented response or error shape.
 * The test then asserts that no problem was noted and looks at what was
 * asked. The server runs on its own thread on 127.0.0.1, a free port. */
#ifndef MUSTER_VENDOR_MOCK_H
#define MUSTER_VENDOR_MOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#define MOCK_MAX_REQUESTS 64

typedef struct mock_request {
    char method[16];
    char path[1024];  /* without the query */
    json_t *query;    /* name -> value (decoded) */
    json_t *headers;  /* lower-case name -> value */
    char *body;       /* NUL-terminated, "" when none */
    size_t len;
    json_t *json;     /* body parsed when it is JSON, else NULL */
    json_t *form;     /* body parsed when it is form-encoded, else NULL */
} mock_request;

typedef struct mock_reply {
    int status;             /* 200 when left 0 */
    const char *content_type; /* "application/json" when NULL */
    char *body;             /* malloc'd, taken; "" when NULL */
    json_t *headers;        /* extra headers, name -> string (taken); may be NULL */
} mock_reply;

typedef struct vendor_mock vendor_mock;

/* A handler: n is the request's number (0 first). It may note problems and
 * must fill the reply. Runs on the server's thread, one request at a time. */
typedef void (*mock_handler)(vendor_mock *m, void *arg, int n, const mock_request *rq,
                             mock_reply *rp);

vendor_mock *vendor_mock_start(mock_handler h, void *arg);
void vendor_mock_stop(vendor_mock *m);

/* "http://127.0.0.1:PORT" */
const char *vendor_mock_url(const vendor_mock *m);

/* Requests served so far, and the n-th one (kept until stop). */
int vendor_mock_count(vendor_mock *m);
const mock_request *vendor_mock_request(vendor_mock *m, int n);

/* Notes that a request does not match the vendor's API. */
void mock_problem(vendor_mock *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Every problem noted, one per line, or NULL when there is none (caller
 * frees). Tests assert this is NULL and print it otherwise. */
char *vendor_mock_problems(vendor_mock *m);

/* Whether no problem was noted; when some were, prints them on stderr.
 * Tests assert it: assert_true(vendor_mock_clean(m)). */
bool vendor_mock_clean(vendor_mock *m);

/* Checks, each noting a problem on mismatch; they return whether it held. */
bool mock_expect(vendor_mock *m, const mock_request *rq, const char *method, const char *path);
bool mock_expect_header(vendor_mock *m, const mock_request *rq, const char *name,
                        const char *value);
/* Content-Type's media type (parameters like charset ignored). */
bool mock_expect_type(vendor_mock *m, const mock_request *rq, const char *media_type);
/* Authorization: Basic base64(user:password). */
bool mock_expect_basic(vendor_mock *m, const mock_request *rq, const char *user,
                       const char *password);
bool mock_expect_bearer(vendor_mock *m, const mock_request *rq, const char *token);
/* A member at a dotted path ("fields.project.key") of the JSON body, of
 * json type `type` (JSON_STRING, JSON_OBJECT, JSON_ARRAY, JSON_INTEGER,
 * JSON_TRUE for a boolean...). Returns the member or NULL. */
json_t *mock_expect_field(vendor_mock *m, const mock_request *rq, const char *path, json_type type);

/* The member of v at a dotted path ("fields.project.key"), or NULL. */
json_t *json_dotted(json_t *v, const char *path);

/* Sets the reply: status and a JSON body given as jansson pack format. */
void mock_reply_json(mock_reply *rp, int status, json_t *body);
void mock_reply_text(mock_reply *rp, int status, const char *content_type, const char *text);
void mock_reply_header(mock_reply *rp, const char *name, const char *value);

/* Decodes an application/x-www-form-urlencoded body into name -> value
 * (a repeated name keeps its last value). */
json_t *mock_form_decode(const char *body, size_t len);

#endif
