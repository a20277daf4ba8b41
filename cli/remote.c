/* remote.c - the muster command through muster-api, when api.url and api.token are set */
#include "cli/remote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#define REMOTE_BODY_MAX (64u * 1024 * 1024)
#define REMOTE_TIMEOUT_MS 30000L

int remote_on(const config *cfg) { return *cfg->api_url && *cfg->api_token; }

typedef struct body_buf {
    char *p;
    size_t n;
    int too_big;
} body_buf;

static size_t take(char *data, size_t size, size_t nmemb, void *arg) {
    body_buf *b = arg;
    size_t n = size * nmemb;
    if (b->n + n > REMOTE_BODY_MAX) {
        b->too_big = 1;
        return 0;
    }
    char *np = realloc(b->p, b->n + n + 1);
    if (!np) return 0;
    b->p = np;
    memcpy(b->p + b->n, data, n);
    b->n += n;
    b->p[b->n] = '\0';
    return n;
}

void remote_escape(const char *s, char *out, size_t len) {
    size_t o = 0;
    for (; *s && o + 4 < len; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~')
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, len - o, "%%%02X", c);
    }
    out[o] = '\0';
}

json_t *remote_call(const config *cfg, const char *cmd, const char *method, const char *path,
                    const json_t *body, long *status) {
    char url[4096], auth[4200], errbuf[CURL_ERROR_SIZE] = "";
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    body_buf b = {0};
    json_t *out = NULL;
    struct curl_slist *h = NULL;
    size_t base = strlen(cfg->api_url);

    *status = 0;
    while (base > 0 && cfg->api_url[base - 1] == '/') base--;
    snprintf(url, sizeof(url), "%.*s%s", (int)base, cfg->api_url, path);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", cfg->api_token);
    CURL *c = curl_easy_init();
    if (!c) {
        fprintf(stderr, "muster %s: cannot start libcurl\n", cmd);
        free(text);
        return NULL;
    }
    h = curl_slist_append(h, auth);
    h = curl_slist_append(h, "Accept: application/json");
    if (text) h = curl_slist_append(h, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, REMOTE_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, take);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    if (text) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(text));
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        fprintf(stderr, "muster %s: %s: %s\n", cmd, cfg->api_url,
                b.too_big ? "answer larger than 64 MiB" : *errbuf ? errbuf : curl_easy_strerror(rc));
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    json_error_t jerr;
    json_t *doc = b.n ? json_loadb(b.p, b.n, 0, &jerr) : NULL;
    if (*status >= 400) {
        const char *e = json_string_value(json_object_get(doc, "error"));
        fprintf(stderr, "muster %s: %s (HTTP %ld from %s)\n", cmd, e ? e : "refused", *status,
                cfg->api_url);
        json_decref(doc);
        goto out;
    }
    if (!doc) {
        fprintf(stderr, "muster %s: %s answered %ld without JSON\n", cmd, cfg->api_url, *status);
        goto out;
    }
    out = doc;
out:
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(b.p);
    free(text);
    return out;
}

int remote_latest(const config *cfg, const char *cmd, char *out, size_t len) {
    long status;
    json_t *doc = remote_call(cfg, cmd, "GET", "/api/v1/incidents?limit=1", NULL, &status);
    const char *id = json_string_value(
        json_object_get(json_array_get(json_object_get(doc, "incidents"), 0), "id"));
    if (id) snprintf(out, len, "%s", id);
    else if (doc) fprintf(stderr, "muster: no incident yet, so none is \"latest\"\n");
    json_decref(doc);
    return id ? 0 : -1;
}

/* Numbers as the text Redis keeps them in, as incident_show() gives them. */
static void as_text(json_t *o) {
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        if (!json_is_integer(v)) continue;
        char num[32];
        snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
        json_object_set_new(o, key, json_string(num));
    }
}

json_t *remote_incident_show(const config *cfg, const char *cmd, const char *id, long *status) {
    char path[512], esc[384];
    remote_escape(id, esc, sizeof(esc));
    snprintf(path, sizeof(path), "/api/v1/incidents/%s", esc);
    json_t *doc = remote_call(cfg, cmd, "GET", path, NULL, status);
    if (!doc) return NULL;
    json_t *inc = json_deep_copy(json_object_get(doc, "incident")), *tasks = json_object();
    json_t *names = json_array(), *step;
    size_t i;
    if (!inc) inc = json_object();
    as_text(inc);
    json_t *first = json_array_get(json_object_get(doc, "alerts"), 0);
    if (first) json_object_set(inc, "alert", first);
    json_array_foreach(json_object_get(doc, "steps"), i, step) {
        const char *sid = json_string_value(json_object_get(step, "id"));
        if (!sid) continue;
        json_t *t = json_deep_copy(step);
        json_object_del(t, "id");
        json_object_del(t, "duration_ms");
        as_text(t);
        json_object_set_new(tasks, sid, t);
        json_array_append_new(names, json_string(sid));
    }
    json_object_set_new(inc, "steps", names);
    json_t *out = json_pack("{s:o, s:o, s:O}", "incident", inc, "tasks", tasks, "timeline",
                            json_object_get(doc, "timeline") ? json_object_get(doc, "timeline")
                                                              : json_array());
    json_decref(doc);
    return out;
}
