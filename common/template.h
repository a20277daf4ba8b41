/* template.h - {{ expression | filter }} rendering over a JSON context */
#ifndef MUSTER_TEMPLATE_H
#define MUSTER_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

/* Upper bound on what one render may produce, whatever the caller asks. */
#define TEMPLATE_MAX_OUTPUT (1024 * 1024)

/* Renders `tmpl` against `ctx` (a JSON object such as
 * {"alert":{...},"incident":{...},"steps":{...}}).
 *
 * An expression is a dotted path into ctx (`alert.labels.service`,
 * `steps.diag.output.stdout`, `items.0` indexes arrays) followed by zero or
 * more filters: `default("x")`, `json`, `urlencode`, `upper`, `lower`,
 * `truncate(N)`. A path that resolves to nothing renders as "" unless a
 * `default` filter supplies a value. Strings render as themselves, numbers
 * and booleans in JSON form, null as "", objects and arrays as compact JSON.
 *
 * Output longer than `maxlen` (capped at TEMPLATE_MAX_OUTPUT) is an error.
 * Returns a malloc'd string the caller frees, or NULL with `err` filled. */
char *template_render(const char *tmpl, const json_t *ctx, size_t maxlen,
                      char *err, size_t errlen);

/* Renders every string inside `tree` (objects and arrays are walked, keys are
 * left alone). A string that is exactly one `{{ expr }}` (surrounding blanks
 * allowed) becomes the expression's JSON value itself, so types survive; any
 * other string is interpolated with template_render(). Because the result is
 * a JSON tree, a value later serialised into a JSON body is escaped by
 * construction. Returns a new reference, or NULL with `err` filled. */
json_t *template_render_json(const json_t *tree, const json_t *ctx,
                             size_t maxlen, char *err, size_t errlen);

/* Checks the syntax of `tmpl` without rendering. For each expression calls
 * `cb(path, arg)` with the expression's path (e.g. "steps.diag.output");
 * a non-zero return from cb stops the walk and is returned. Returns 0 when
 * the template is well formed, -1 with `err` filled (naming the column) when
 * it is not. */
int template_check(const char *tmpl, int (*cb)(const char *path, void *arg),
                   void *arg, char *err, size_t errlen);

/* Whether a URL template lets an expression decide its origin: an
 * expression before the end of the scheme, host and port (the first '/',
 * '?' or '#' after "://"), or anywhere in a template without "://". */
bool template_url_origin_templated(const char *tmpl);

/* Renders a URL template as template_render() does, except that each
 * expression after the origin (in the path, query or fragment) is
 * percent-encoded as one URL component (RFC 3986 unreserved characters
 * stay), unless its last filter already is urlencode. So a label holding
 * "a&admin=1" or "../x" cannot add a query parameter or a path segment.
 * Expressions in the origin are rendered as they are. */
char *template_render_url(const char *tmpl, const json_t *ctx, size_t maxlen,
                          char *err, size_t errlen);

/* Whether tmpl is exactly one {{ expr }} (blanks around it allowed), the
 * form template_render_json() turns into the expression's value. */
bool template_is_whole(const char *tmpl);

/* How many expressions of tmpl do not end with the filter `filter_name`
 * (such as "json"); -1 with err filled on a syntax error. */
int template_unescaped(const char *tmpl, const char *filter_name, char *err, size_t errlen);

#endif
