/* Toxiproxy's HTTP API on evhttp. Routes, status codes, JSON shapes and error messages follow
 * Toxiproxy's api.go: an error is {"error":"<message>","status":<code>} plus a newline, the
 * message starting with Toxiproxy's own text ("proxy not found", "bad request body: ...") and
 * then naming the field that was wrong. */
#include "proxyapi.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "adminguard.h"
#include "httpd.h"
#include "jparse.h"
#include "proxy.h"
#include "strhash.h"
#include "toxic.h"
#include "version.h"

#define PATH_SEGMENTS 5
#define CONN_LIST_MAX 1024 /* connections shown by GET .../connections */
#define API_MAX_BODY (1024 * 1024) /* request bodies: 413 past it */

struct proxyapi {
    struct event_base *base;
    struct httpd httpd; /* the guarded API server */
    int port;
    uint64_t seed;
    struct proxy *proxies[PROXYAPI_MAX_PROXIES]; /* in creation order */
    size_t n;
    const char *token;          /* NULL: none */
    const char *const *hosts;   /* Host names allowed besides loopback ones */
    size_t nhosts;
};

static void request_cb(struct evhttp_request *req, void *arg);
static void reject_cb(struct evhttp_request *req, int status, const char *message,
                      const char *path, void *arg);

struct proxyapi *proxyapi_new(struct event_base *base, const char *addr, uint64_t seed,
                              char *err, size_t errlen)
{
    static const unsigned none[3] = {0, 0, 0};
    return proxyapi_new_timeouts(base, addr, seed, none, err, errlen);
}

struct proxyapi *proxyapi_new_timeouts(struct event_base *base, const char *addr, uint64_t seed,
                                       const unsigned timeouts_ms[3], char *err, size_t errlen)
{
    struct proxyapi *a = calloc(1, sizeof *a);
    if (a == NULL) {
        snprintf(err, errlen, "api: out of memory");
        return NULL;
    }
    a->base = base;
    a->seed = seed;
    char host[128];
    const char *colon = addr ? strrchr(addr, ':') : NULL;
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    if (colon == NULL || colon[1] == '\0' || *end != '\0' || port < 0 || port > 65535 ||
        (size_t)(colon - addr) >= sizeof host) {
        snprintf(err, errlen, "api: '%s' is not host:port", addr ? addr : "");
        goto fail;
    }
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    struct httpd_spec hs = {host[0] ? host : "0.0.0.0", (int)port,
                            httpguard_defaults(API_MAX_BODY), request_cb, reject_cb, NULL, a};
    if (timeouts_ms[0])
        hs.limits.header_timeout_ms = timeouts_ms[0];
    if (timeouts_ms[1])
        hs.limits.body_timeout_ms = timeouts_ms[1];
    if (timeouts_ms[2])
        hs.limits.idle_timeout_ms = timeouts_ms[2];
    char why[256];
    if (httpd_open(base, &hs, &a->httpd, why, sizeof why) != 0) {
        snprintf(err, errlen, "api: listen tcp %s: %s", addr, why);
        goto fail;
    }
    a->port = a->httpd.port;
    return a;
fail:
    proxyapi_free(a);
    return NULL;
}

void proxyapi_free(struct proxyapi *a)
{
    if (a == NULL)
        return;
    httpd_close(&a->httpd);
    for (size_t i = 0; i < a->n; i++)
        proxy_free(a->proxies[i]);
    free(a);
}

int proxyapi_port(const struct proxyapi *a)
{
    return a->port;
}

int proxyapi_set_admin(struct proxyapi *a, const char *token, const char *const *hosts, size_t n,
                       char *err, size_t errlen)
{
    if (n > 0 && token == NULL) {
        snprintf(err, errlen, "api: admin hosts need an admin token");
        return -1;
    }
    if (n > ADMINGUARD_MAX_HOSTS) {
        snprintf(err, errlen, "api: at most %d admin hosts", ADMINGUARD_MAX_HOSTS);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!adminguard_valid_name(hosts[i])) {
            snprintf(err, errlen, "api: '%s' is not a host name or address", hosts[i]);
            return -1;
        }
    }
    a->token = token;
    a->hosts = hosts;
    a->nhosts = n;
    return 0;
}

static int find_index(const struct proxyapi *a, const char *name)
{
    /* linear scan: at most PROXYAPI_MAX_PROXIES */
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(proxy_name(a->proxies[i]), name) == 0)
            return (int)i;
    return -1;
}

struct proxy *proxyapi_find(const struct proxyapi *a, const char *name)
{
    int i = find_index(a, name);
    return i < 0 ? NULL : a->proxies[i];
}

int proxyapi_adopt(struct proxyapi *a, struct proxy *p, char *err, size_t errlen)
{
    if (find_index(a, proxy_name(p)) >= 0) {
        snprintf(err, errlen, "proxy already exists: %s", proxy_name(p));
        return -1;
    }
    if (a->n >= PROXYAPI_MAX_PROXIES) {
        snprintf(err, errlen, "proxies: at most %d", PROXYAPI_MAX_PROXIES);
        return -1;
    }
    a->proxies[a->n++] = p;
    return 0;
}

static void remove_index(struct proxyapi *a, size_t i)
{
    proxy_free(a->proxies[i]);
    memmove(&a->proxies[i], &a->proxies[i + 1], (a->n - i - 1) * sizeof a->proxies[0]);
    a->n--;
}

/* ---- replies ----------------------------------------------------------------------------- */

static void reply_text(struct evhttp_request *req, int code, const char *ctype, const char *text)
{
    struct evbuffer *b = evbuffer_new();
    if (b == NULL) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    if (text)
        evbuffer_add(b, text, strlen(text));
    if (ctype)
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
    evhttp_send_reply(req, code, httpguard_reason(code), b);
    evbuffer_free(b);
}

/* Sends 'j' (and frees it). NULL (out of memory building it) becomes a 500. */
static void reply_json(struct evhttp_request *req, int code, cJSON *j)
{
    char *s = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    if (s == NULL) {
        reply_text(req, 500, "application/json",
                   "{\"error\":\"out of memory\",\"status\":500}\n");
        return;
    }
    reply_text(req, code, "application/json", s);
    free(s);
}

/* Toxiproxy's error body: {"error":"...","status":N} and a newline (Go's http.Error). */
static void reply_error(struct evhttp_request *req, int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "error", msg);
    cJSON_AddNumberToObject(j, "status", code);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (s == NULL) {
        reply_text(req, code, "application/json", "{\"error\":\"out of memory\",\"status\":500}\n");
        return;
    }
    size_t n = strlen(s);
    char *line = malloc(n + 2);
    if (line) {
        memcpy(line, s, n);
        memcpy(line + n, "\n", 2);
    }
    reply_text(req, code, "application/json", line ? line : s);
    free(line);
    free(s);
}

/* A request the guard or evhttp would not take, in Toxiproxy's error shape. */
static void reject_cb(struct evhttp_request *req, int status, const char *message,
                      const char *path, void *arg)
{
    (void)path;
    (void)arg;
    reply_error(req, status, "%s", message);
}

/* ---- JSON shapes ------------------------------------------------------------------------- */

/* Toxiproxy lists the upstream chain, then the downstream chain, each in the order added. */
static cJSON *toxics_json(const struct proxy *p)
{
    cJSON *arr = cJSON_CreateArray();
    for (int s = TOXIC_UPSTREAM; arr && s <= TOXIC_DOWNSTREAM; s++) {
        for (size_t i = 0; i < proxy_toxic_count(p); i++) {
            const struct toxic *t = proxy_toxic_at(p, i);
            if ((int)t->stream != s)
                continue;
            cJSON *o = toxic_to_json(t);
            if (o == NULL) {
                cJSON_Delete(arr);
                return NULL;
            }
            cJSON_AddItemToArray(arr, o);
        }
    }
    return arr;
}

static cJSON *proxy_json(const struct proxy *p)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *toxics = toxics_json(p);
    if (o == NULL || toxics == NULL ||
        cJSON_AddStringToObject(o, "name", proxy_name(p)) == NULL ||
        cJSON_AddStringToObject(o, "listen", proxy_listen(p)) == NULL ||
        cJSON_AddStringToObject(o, "upstream", proxy_upstream(p)) == NULL ||
        cJSON_AddBoolToObject(o, "enabled", proxy_enabled(p)) == NULL) {
        cJSON_Delete(o);
        cJSON_Delete(toxics);
        return NULL;
    }
    cJSON_AddItemToObject(o, "toxics", toxics);
    return o;
}

/* ---- request bodies ---------------------------------------------------------------------- */

cJSON *proxyapi_parse_json(const char *body, size_t n, int *status, char *err, size_t errlen)
{
    if (n > PROXYAPI_MAX_BODY) {
        *status = 413;
        snprintf(err, errlen, "bad request body: larger than %d bytes", PROXYAPI_MAX_BODY);
        return NULL;
    }
    if (n == 0) {
        *status = 400;
        snprintf(err, errlen, "bad request body: empty (expected JSON)");
        return NULL;
    }
    /* exactly one JSON value: no trailing bytes, no NUL, valid UTF-8 */
    struct jparse_error je;
    cJSON *j = jparse_text(body, n, &je);
    if (j == NULL) {
        *status = 400;
        if (je.at_end)
            snprintf(err, errlen, "bad request body: invalid JSON at byte %zu (line %u, column %u): "
                     "%s at end of input", je.offset, je.line, je.column, je.what);
        else
            snprintf(err, errlen, "bad request body: invalid JSON at byte %zu (line %u, column %u): "
                     "%s near '%s'", je.offset, je.line, je.column, je.what, je.near);
    }
    return j;
}

/* The body parsed as JSON; on failure replies (400/413) and returns NULL. */
static cJSON *read_json(struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    char *s = n <= PROXYAPI_MAX_BODY ? malloc(n + 1) : NULL;
    if (s == NULL && n <= PROXYAPI_MAX_BODY) {
        reply_error(req, 500, "out of memory");
        return NULL;
    }
    if (s) {
        evbuffer_copyout(in, s, n);
        s[n] = '\0';
    }
    int status = 400;
    char err[256];
    cJSON *j = proxyapi_parse_json(s, n, &status, err, sizeof err);
    if (j == NULL)
        reply_error(req, status, "%s", err);
    free(s);
    return j;
}

static const char *kind_of(const cJSON *v)
{
    return cJSON_IsString(v)   ? "a string"
           : cJSON_IsNumber(v) ? "a number"
           : cJSON_IsBool(v)   ? "a boolean"
           : cJSON_IsNull(v)   ? "null"
           : cJSON_IsArray(v)  ? "an array"
           : cJSON_IsObject(v) ? "an object"
                               : "nothing";
}

/* Reads {"name","listen","upstream","enabled"} ("toxics", sent back by some clients, is
 * ignored). */
int proxyapi_parse_proxy(const cJSON *j, struct proxyapi_body *b, char *err, size_t errlen)
{
    memset(b, 0, sizeof *b);
    b->enabled = -1;
    if (!cJSON_IsObject(j)) {
        snprintf(err, errlen, "expected a JSON object, got %s", kind_of(j));
        return -1;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, j)
    {
        const char *k = it->string;
        const char **dst = strcmp(k, "name") == 0       ? &b->name
                           : strcmp(k, "listen") == 0   ? &b->listen
                           : strcmp(k, "upstream") == 0 ? &b->upstream
                                                        : NULL;
        if (dst) {
            if (cJSON_IsNull(it))
                continue;
            if (!cJSON_IsString(it)) {
                snprintf(err, errlen, "%s: expected a string, got %s", k, kind_of(it));
                return -1;
            }
            *dst = it->valuestring;
        } else if (strcmp(k, "enabled") == 0) {
            if (!cJSON_IsBool(it)) {
                snprintf(err, errlen, "enabled: expected true or false, got %s", kind_of(it));
                return -1;
            }
            b->enabled = cJSON_IsTrue(it);
        } else if (strcmp(k, "toxics") != 0) {
            snprintf(err, errlen, "%s: unknown field (expected name, listen, upstream, enabled)",
                     k);
            return -1;
        }
    }
    return 0;
}

/* proxy.c names the field first ("upstream: cannot resolve ..."): the caller's mistake, 400;
 * anything else (bind failed, out of memory) is Toxiproxy's 500. */
static int create_status(const char *err)
{
    return strncmp(err, "name:", 5) == 0 || strncmp(err, "listen:", 7) == 0 ||
                   strncmp(err, "upstream:", 9) == 0
               ? 400
               : 500;
}

/* Creates, seeds and (if asked) disables a proxy. Returns it, or NULL with *status and err. */
static struct proxy *create_proxy(struct proxyapi *a, const struct proxyapi_body *b, int *status,
                                  char *err, size_t errlen)
{
    struct proxy *p = proxy_new(a->base, b->name, b->listen, b->upstream, err, errlen);
    if (p == NULL) {
        *status = create_status(err);
        return NULL;
    }
    proxy_set_seed(p, a->seed ^ strhash(b->name));
    if (b->enabled == 0)
        proxy_disable(p);
    return p;
}

/* ---- handlers ---------------------------------------------------------------------------- */

static void h_version(struct evhttp_request *req)
{
    reply_text(req, 200, "application/json;charset=utf-8",
               "{\"version\": \"" PROXYAPI_VERSION "\"}\n");
}

/* A Prometheus label value: backslash, double quote and newline escaped (exposition format). */
static void label_value(struct evbuffer *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            evbuffer_add_printf(b, "\\%c", *v);
        else if (*v == '\n')
            evbuffer_add(b, "\\n", 2);
        else
            evbuffer_add(b, v, 1);
    }
}

/* Toxiproxy's proxy byte counters (its METRICS.md: families, labels and the meaning of
 * direction), one series per proxy and direction; a deleted proxy's series go with it. */
static void byte_family(struct evbuffer *b, const struct proxyapi *a, int sent)
{
    const char *name = sent ? "toxiproxy_proxy_sent_bytes_total"
                            : "toxiproxy_proxy_received_bytes_total";
    evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s counter\n", name,
                        sent ? "Bytes the proxy sent on its link in a direction (after toxics)."
                             : "Bytes the proxy received on its link in a direction (before "
                               "toxics).",
                        name);
    for (size_t i = 0; i < a->n; i++) {
        const struct proxy *p = a->proxies[i];
        struct proxy_stats st;
        proxy_get_stats(p, &st);
        for (int d = 0; d < 2; d++) {
            evbuffer_add_printf(b, "%s{direction=\"%s\",listener=\"", name,
                                toxic_stream_name((enum toxic_stream)d));
            label_value(b, proxy_listen(p));
            evbuffer_add_printf(b, "\",proxy=\"");
            label_value(b, proxy_name(p));
            evbuffer_add_printf(b, "\",upstream=\"");
            label_value(b, proxy_upstream(p));
            evbuffer_add_printf(b, "\"} %llu\n",
                                (unsigned long long)(sent ? st.sent_bytes[d]
                                                          : st.received_bytes[d]));
        }
    }
}

static void h_metrics(struct proxyapi *a, struct evhttp_request *req)
{
    struct evbuffer *b = evbuffer_new();
    if (b == NULL) {
        reply_error(req, 500, "out of memory");
        return;
    }
    evbuffer_add_printf(b,
                        "# HELP tailgate_build_info The build's version (VERSION) and source "
                        "revision; always 1.\n"
                        "# TYPE tailgate_build_info gauge\n"
                        "tailgate_build_info{version=\"");
    label_value(b, version_number());
    evbuffer_add_printf(b, "\",revision=\"");
    label_value(b, version_revision());
    evbuffer_add_printf(b, "\"} 1\n");
    byte_family(b, a, 0);
    byte_family(b, a, 1);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4; charset=utf-8");
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

static void h_proxy_index(struct proxyapi *a, struct evhttp_request *req)
{
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; o && i < a->n; i++) {
        cJSON *pj = proxy_json(a->proxies[i]);
        if (pj == NULL) {
            cJSON_Delete(o);
            o = NULL;
            break;
        }
        cJSON_AddItemToObject(o, proxy_name(a->proxies[i]), pj);
    }
    reply_json(req, 200, o);
}

static void h_proxy_create(struct proxyapi *a, struct evhttp_request *req)
{
    cJSON *j = read_json(req);
    if (j == NULL)
        return;
    struct proxyapi_body b;
    char err[256];
    if (proxyapi_parse_proxy(j, &b, err, sizeof err) != 0) {
        reply_error(req, 400, "bad request body: %s", err);
    } else if (b.name == NULL || b.name[0] == '\0') {
        reply_error(req, 400, "missing required field: name");
    } else if (b.upstream == NULL || b.upstream[0] == '\0') {
        reply_error(req, 400, "missing required field: upstream");
    } else if (find_index(a, b.name) >= 0) {
        reply_error(req, 409, "proxy already exists");
    } else if (a->n >= PROXYAPI_MAX_PROXIES) {
        reply_error(req, 400, "bad request body: proxies: at most %d", PROXYAPI_MAX_PROXIES);
    } else {
        int status = 500;
        struct proxy *p = create_proxy(a, &b, &status, err, sizeof err);
        if (p == NULL) {
            reply_error(req, status, status == 400 ? "bad request body: %s" : "%s", err);
        } else {
            a->proxies[a->n++] = p;
            reply_json(req, 201, proxy_json(p));
        }
    }
    cJSON_Delete(j);
}

static void h_proxy_update(struct evhttp_request *req, struct proxy *p)
{
    cJSON *j = read_json(req);
    if (j == NULL)
        return;
    struct proxyapi_body b;
    char err[256];
    if (proxyapi_parse_proxy(j, &b, err, sizeof err) != 0) {
        reply_error(req, 400, "bad request body: %s", err);
        cJSON_Delete(j);
        return;
    }
    /* as Toxiproxy: a missing field keeps its value; a new address restarts the proxy */
    if (proxy_set_addresses(p, b.listen, b.upstream, err, sizeof err) != 0) {
        int st = create_status(err);
        reply_error(req, st, st == 400 ? "bad request body: %s" : "%s", err);
        cJSON_Delete(j);
        return;
    }
    if (b.enabled == 1 && proxy_enable(p, err, sizeof err) != 0) {
        reply_error(req, 500, "%s", err);
        cJSON_Delete(j);
        return;
    }
    if (b.enabled == 0)
        proxy_disable(p);
    cJSON_Delete(j);
    reply_json(req, 200, proxy_json(p));
}

static void h_toxic_create(struct evhttp_request *req, struct proxy *p)
{
    cJSON *j = read_json(req);
    if (j == NULL)
        return;
    struct toxic t;
    char err[256];
    int rc = toxic_parse(j, &t, err, sizeof err);
    cJSON_Delete(j);
    if (rc == TOXIC_ETYPE) {
        reply_error(req, 400, "invalid toxic type: %s", err);
    } else if (rc == TOXIC_ESTREAM) {
        reply_error(req, 400, "stream was invalid, can be either upstream or downstream: %s",
                    err);
    } else if (rc != 0) {
        reply_error(req, 400, "bad request body: %s", err);
    } else if (proxy_find_toxic(p, t.name) != NULL) {
        reply_error(req, 409, "toxic already exists");
    } else if (proxy_add_toxic(p, &t, err, sizeof err) != 0) {
        reply_error(req, 400, "bad request body: %s", err);
    } else {
        reply_json(req, 200, toxic_to_json(proxy_find_toxic(p, t.name)));
    }
}

static void h_toxic_update(struct evhttp_request *req, struct proxy *p, const struct toxic *cur)
{
    cJSON *j = read_json(req);
    if (j == NULL)
        return;
    struct toxic t = *cur;
    char err[256];
    int rc = toxic_update(&t, j, err, sizeof err);
    cJSON_Delete(j);
    if (rc != 0 || proxy_update_toxic(p, &t, err, sizeof err) != 0) {
        reply_error(req, 400, "bad request body: %s", err);
        return;
    }
    reply_json(req, 200, toxic_to_json(proxy_find_toxic(p, t.name)));
}

static void h_reset(struct proxyapi *a, struct evhttp_request *req)
{
    /* Toxiproxy: enable every proxy and remove every toxic */
    char err[256];
    for (size_t i = 0; i < a->n; i++) {
        if (proxy_enable(a->proxies[i], err, sizeof err) != 0) {
            reply_error(req, 500, "%s", err);
            return;
        }
        proxy_reset(a->proxies[i]);
    }
    reply_text(req, 204, NULL, NULL);
}

int proxyapi_parse_populate(const cJSON *j, struct proxyapi_body *bodies, int *count, char *err,
                            size_t errlen)
{
    int n = cJSON_GetArraySize(j);
    *count = 0;
    if (!cJSON_IsArray(j)) {
        snprintf(err, errlen, "bad request body: expected an array of proxies, got %s",
                 kind_of(j));
        return -1;
    }
    if (n > PROXYAPI_MAX_PROXIES) {
        snprintf(err, errlen, "bad request body: at most %d proxies", PROXYAPI_MAX_PROXIES);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        char e[200];
        if (proxyapi_parse_proxy(cJSON_GetArrayItem(j, i), &bodies[i], e, sizeof e) != 0) {
            snprintf(err, errlen, "bad request body: %s at proxy %d", e, i + 1);
            return -1;
        }
        if (bodies[i].name == NULL || bodies[i].name[0] == '\0') {
            snprintf(err, errlen, "missing required field: name at proxy %d", i + 1);
            return -1;
        }
        if (bodies[i].upstream == NULL || bodies[i].upstream[0] == '\0') {
            snprintf(err, errlen, "missing required field: upstream at proxy %d", i + 1);
            return -1;
        }
        for (int k = 0; k < i; k++) {
            if (strcmp(bodies[k].name, bodies[i].name) == 0) {
                snprintf(err, errlen, "duplicate proxy name \"%.64s\"", bodies[i].name);
                return -1;
            }
        }
    }
    *count = n;
    return 0;
}

/* Toxiproxy's /populate: validate the whole list, then create or replace each proxy whose
 * listen or upstream differs; answer 201 {"proxies":[...]} in the order given. */
static void h_populate(struct proxyapi *a, struct evhttp_request *req)
{
    cJSON *j = read_json(req);
    if (j == NULL)
        return;
    char err[256];
    struct proxyapi_body bodies[PROXYAPI_MAX_PROXIES];
    int n = 0;
    int status = proxyapi_parse_populate(j, bodies, &n, err, sizeof err) != 0 ? 400 : 0;
    cJSON *out = cJSON_CreateArray();
    for (int i = 0; status == 0 && i < n; i++) {
        struct proxyapi_body *b = &bodies[i];
        int at = find_index(a, b->name);
        if (at >= 0) {
            struct proxy *p = a->proxies[at];
            const char *l = b->listen ? b->listen : "127.0.0.1:0";
            if (strcmp(b->upstream, proxy_upstream(p)) == 0 &&
                (strcmp(l, proxy_listen(p)) == 0 || b->listen == NULL)) {
                cJSON_AddItemToArray(out, proxy_json(p));
                continue;
            }
            remove_index(a, (size_t)at);
        }
        if (a->n >= PROXYAPI_MAX_PROXIES) {
            snprintf(err, sizeof err, "bad request body: proxies: at most %d",
                     PROXYAPI_MAX_PROXIES);
            status = 400;
            break;
        }
        char e[200];
        struct proxy *p = create_proxy(a, b, &status, e, sizeof e);
        if (p == NULL) {
            snprintf(err, sizeof err, "%s%s", status == 400 ? "bad request body: " : "", e);
            break;
        }
        a->proxies[a->n++] = p;
        cJSON_AddItemToArray(out, proxy_json(p));
    }
    cJSON_Delete(j);
    cJSON *o = cJSON_CreateObject();
    if (status) {
        cJSON_AddStringToObject(o, "error", err);
        cJSON_AddNumberToObject(o, "status", status);
    }
    cJSON_AddItemToObject(o, "proxies", out);
    reply_json(req, status ? status : 201, o);
}

int proxyapi_parse_drop(const cJSON *j, int *port, uint32_t *rst_after_ms, char *err,
                        size_t errlen)
{
    /* an object first: the members of an array have no names to compare */
    if (!cJSON_IsObject(j)) {
        snprintf(err, errlen, "expected a JSON object, got %s", kind_of(j));
        return -1;
    }
    const cJSON *pj = cJSON_GetObjectItemCaseSensitive(j, "client_port");
    const cJSON *rj = cJSON_GetObjectItemCaseSensitive(j, "rst_after_ms");
    const cJSON *it;
    const char *bad = NULL;
    cJSON_ArrayForEach(it, j)
    {
        if (strcmp(it->string, "client_port") && strcmp(it->string, "rst_after_ms"))
            bad = it->string;
    }
    double pv = cJSON_IsNumber(pj) ? pj->valuedouble : -1;
    double rv = rj == NULL ? 0 : cJSON_IsNumber(rj) ? rj->valuedouble : -1;
    if (bad) {
        snprintf(err, errlen, "%s: unknown field (expected client_port, rst_after_ms)", bad);
        return -1;
    }
    if (pv < 1 || pv > 65535 || pv != (double)(int)pv) {
        snprintf(err, errlen, "client_port: expected an integer 1..65535");
        return -1;
    }
    if (rv < 0 || rv > TOXIC_MAX_MS || rv != (double)(int64_t)rv) {
        snprintf(err, errlen, "rst_after_ms: expected an integer 0..%d", TOXIC_MAX_MS);
        return -1;
    }
    *port = (int)pv;
    *rst_after_ms = (uint32_t)rv;
    return 0;
}

/* tailgate extension: POST /proxies/{name}/drop {"client_port":N,"rst_after_ms":M} */
static void h_drop(struct evhttp_request *req, struct proxy *p)
{
    cJSON *j = read_json(req);
    if (j == NULL)
        return;
    int port;
    uint32_t rst;
    char err[256];
    if (proxyapi_parse_drop(j, &port, &rst, err, sizeof err) != 0) {
        reply_error(req, 400, "bad request body: %s", err);
    } else if (proxy_drop_connection(p, port, rst) != 0) {
        reply_error(req, 404, "connection not found: no client on port %d", port);
    } else {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "client_port", port);
        cJSON_AddNumberToObject(o, "rst_after_ms", rst);
        cJSON_AddBoolToObject(o, "dropped", 1);
        reply_json(req, 200, o);
    }
    cJSON_Delete(j);
}

/* tailgate extension: GET /proxies/{name}/connections */
static void h_connections(struct evhttp_request *req, const struct proxy *p)
{
    struct proxy_conn_info *info = calloc(CONN_LIST_MAX, sizeof *info);
    if (info == NULL) {
        reply_error(req, 500, "out of memory");
        return;
    }
    size_t n = proxy_list_conns(p, info, CONN_LIST_MAX);
    if (n > CONN_LIST_MAX)
        n = CONN_LIST_MAX;
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", (double)info[i].id);
        cJSON_AddNumberToObject(o, "client_port", info[i].client_port);
        cJSON_AddNumberToObject(o, "bytes_up", (double)info[i].bytes_up);
        cJSON_AddNumberToObject(o, "bytes_down", (double)info[i].bytes_down);
        cJSON_AddNumberToObject(o, "buffered_up", (double)info[i].buffered_up);
        cJSON_AddNumberToObject(o, "buffered_down", (double)info[i].buffered_down);
        cJSON_AddBoolToObject(o, "blackholed", info[i].blackholed);
        cJSON_AddItemToArray(arr, o);
    }
    free(info);
    reply_json(req, 200, arr);
}

/* ---- routing ----------------------------------------------------------------------------- */

/* Splits the decoded path into at most PATH_SEGMENTS segments (malloc'd). Returns the count, or
 * -1 if there are more or the path does not start with '/'. */
static int split_path(const char *path, char *seg[PATH_SEGMENTS])
{
    int n = 0;
    if (path == NULL || path[0] != '/')
        return -1;
    const char *s = path + 1;
    while (*s) {
        const char *e = strchr(s, '/');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (n == PATH_SEGMENTS)
            return -1;
        char raw[256];
        if (len >= sizeof raw)
            return -1;
        memcpy(raw, s, len);
        raw[len] = '\0';
        seg[n] = evhttp_uridecode(raw, 0, NULL);
        if (seg[n] == NULL)
            return -1;
        n++;
        if (e == NULL)
            break;
        s = e + 1;
    }
    return n;
}

static int is(const char *a, const char *b)
{
    return a && strcmp(a, b) == 0;
}

/* Returns 0 when a handler answered, -1 for a known path with the wrong method. */
static int route_proxy(struct proxyapi *a, struct evhttp_request *req, char **seg, int n,
                       int get, int post, int update, int del)
{
    int at = find_index(a, seg[1]);
    if (at < 0) {
        reply_error(req, 404, "proxy not found");
        return 0;
    }
    struct proxy *p = a->proxies[at];
    if (n == 2 && get)
        reply_json(req, 200, proxy_json(p));
    else if (n == 2 && update)
        h_proxy_update(req, p);
    else if (n == 2 && del) {
        remove_index(a, (size_t)at);
        reply_text(req, 204, NULL, NULL);
    } else if (n == 3 && is(seg[2], "toxics") && get)
        reply_json(req, 200, toxics_json(p));
    else if (n == 3 && is(seg[2], "toxics") && post)
        h_toxic_create(req, p);
    else if (n == 3 && is(seg[2], "drop") && post)
        h_drop(req, p);
    else if (n == 3 && is(seg[2], "connections") && get)
        h_connections(req, p);
    else if (n == 4 && is(seg[2], "toxics")) {
        const struct toxic *t = proxy_find_toxic(p, seg[3]);
        if (t == NULL)
            reply_error(req, 404, "toxic not found");
        else if (get)
            reply_json(req, 200, toxic_to_json(t));
        else if (update)
            h_toxic_update(req, p, t);
        else if (del) {
            proxy_remove_toxic(p, seg[3]);
            reply_text(req, 204, NULL, NULL);
        } else
            return -1;
    } else if (n == 2 || (n == 3 && (is(seg[2], "toxics") || is(seg[2], "drop") ||
                                     is(seg[2], "connections"))))
        return -1;
    else
        reply_error(req, 404, "not found");
    return 0;
}

static void route(struct proxyapi *a, struct evhttp_request *req, char **seg, int n)
{
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    int get = m == EVHTTP_REQ_GET || m == EVHTTP_REQ_HEAD;
    int post = m == EVHTTP_REQ_POST;
    int update = post || m == EVHTTP_REQ_PATCH; /* Toxiproxy takes both for updates */
    int del = m == EVHTTP_REQ_DELETE;
    int wrong_method = 0;
    if (n == 1 && is(seg[0], "version") && get)
        h_version(req);
    else if (n == 1 && is(seg[0], "metrics") && get)
        h_metrics(a, req);
    else if (n == 1 && is(seg[0], "reset") && post)
        h_reset(a, req);
    else if (n == 1 && is(seg[0], "populate") && post)
        h_populate(a, req);
    else if (n == 1 && is(seg[0], "proxies") && get)
        h_proxy_index(a, req);
    else if (n == 1 && is(seg[0], "proxies") && post)
        h_proxy_create(a, req);
    else if (n == 1 && (is(seg[0], "version") || is(seg[0], "metrics") || is(seg[0], "reset") ||
                        is(seg[0], "populate") || is(seg[0], "proxies")))
        wrong_method = 1;
    else if (n >= 2 && n <= 4 && is(seg[0], "proxies"))
        wrong_method = route_proxy(a, req, seg, n, get, post, update, del) != 0;
    else
        reply_error(req, 404, "not found");
    if (wrong_method)
        reply_error(req, 405, "method not allowed");
}

/* Returns 1 when the caller may use the API; else 0 after replying 403 or 401. */
static int admin_allowed(const struct proxyapi *a, struct evhttp_request *req)
{
    /* Toxiproxy refuses browsers, so a web page cannot drive the API (DNS rebinding, CSRF) */
    const char *ua = evhttp_find_header(evhttp_request_get_input_headers(req), "User-Agent");
    if (ua && strncmp(ua, "Mozilla/", 8) == 0) {
        reply_error(req, 403, "User agent not allowed");
        return 0;
    }
    /* a User-Agent is only a claim: Host, Origin and Content-Type give a web page's request
     * away whatever it claims */
    struct adminguard_request rq;
    char msg[256];
    adminguard_read(req, &rq);
    if (adminguard_check(&rq, a->hosts, a->nhosts, msg, sizeof msg) != ADMINGUARD_OK) {
        reply_error(req, 403, "%s", msg);
        return 0;
    }
    const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    if (a->token && !adminguard_bearer_ok(auth, a->token)) {
        reply_error(req, 401, "admin API: needs 'Authorization: Bearer <token>'");
        return 0;
    }
    return 1;
}

static void request_cb(struct evhttp_request *req, void *arg)
{
    struct proxyapi *a = arg;
    if (!admin_allowed(a, req))
        return;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    char *seg[PATH_SEGMENTS] = {0};
    int n = split_path(path, seg);
    if (n < 0)
        reply_error(req, 404, "not found");
    else
        route(a, req, seg, n);
    for (int i = 0; i < PATH_SEGMENTS; i++)
        free(seg[i]);
}
