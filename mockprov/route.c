/* mockprov's routes: each request to the vendor endpoints (generate.c, store.c), the admin API
 * (admin.c) or /metrics (metrics.c), and each request a transport refused, answered in the shape
 * of the API its path names. Requests arrive as exchanges (exchange.h) from either transport;
 * the HTTP/1.1 entry points wrap evhttp's requests into one. */
#include "route.h"

#include <stdio.h>
#include <string.h>

#include <event2/http.h>

#include "mock_internal.h"
#include "admin.h"
#include "exchange.h"
#include "generate.h"
#include "h1exchange.h"
#include "metrics.h"
#include "reply.h"
#include "store.h"

static enum api api_of_path(const char *path)
{
    if (path != NULL && strncmp(path, "/v1/messages", 12) == 0)
        return API_MESSAGES;
    if (path != NULL && strncmp(path, "/v1/responses", 13) == 0)
        return API_RESPONSES;
    return API_CHAT;
}

void route_reject(struct mock *m, struct exchange *x, int status, const char *message,
                  const char *path)
{
    reply_error(m, x, api_of_path(path ? path : x->path), status, NULL, NULL, NULL, message);
}

static void responses_id_route(struct mock *m, struct exchange *x, const char *rest)
{
    char id[128];
    const char *slash = strchr(rest, '/');
    size_t idlen = slash ? (size_t)(slash - rest) : strlen(rest);
    if (idlen == 0 || idlen >= sizeof id) {
        reply_error(m, x, API_RESPONSES, 404, NULL, NULL, NULL, "Unknown response id.");
        return;
    }
    memcpy(id, rest, idlen);
    id[idlen] = '\0';
    if (slash == NULL && strcmp(x->method, "GET") == 0) {
        store_retrieve(m, x, id);
        return;
    }
    if (slash && strcmp(slash, "/cancel") == 0 && strcmp(x->method, "POST") == 0) {
        store_cancel(m, x, id);
        return;
    }
    reply_error(m, x, API_RESPONSES, slash && strcmp(slash, "/cancel") != 0 ? 404 : 405, NULL,
                NULL, NULL, "Unknown route or method for /v1/responses/{id}.");
}

void route_request(struct mock *m, struct exchange *x)
{
    const char *path = x->path;
    if (strncmp(path, "/_tailgate/", 11) == 0) {
        admin_handle(m, x, path + 11);
        return;
    }
    if (strcmp(path, "/metrics") == 0 && strcmp(x->method, "GET") == 0) {
        if (admin_allowed(m, x))
            metrics_reply(m, x);
        return;
    }
    static const struct {
        const char *path;
        enum api api;
    } gens[] = {{"/v1/chat/completions", API_CHAT},
                {"/v1/responses", API_RESPONSES},
                {"/v1/messages", API_MESSAGES}};
    for (size_t i = 0; i < sizeof gens / sizeof gens[0]; i++) {
        if (strcmp(path, gens[i].path) != 0)
            continue;
        if (strcmp(x->method, "POST") != 0) {
            reply_error(m, x, gens[i].api, 405, NULL, NULL, NULL,
                        "Method not allowed: use POST.");
            return;
        }
        generate_handle(m, x, gens[i].api);
        return;
    }
    if (strncmp(path, "/v1/responses/", 14) == 0) {
        responses_id_route(m, x, path + 14);
        return;
    }
    enum api api = strncmp(path, "/v1/messages", 12) == 0 ? API_MESSAGES : API_CHAT;
    const char *method = strcmp(x->method, "GET") == 0 || strcmp(x->method, "POST") == 0
                             ? x->method
                             : "other";
    char msg[200];
    snprintf(msg, sizeof msg, "Unknown request URL: %.32s %.120s.", method, path);
    reply_error(m, x, api, 404, NULL, api == API_MESSAGES ? NULL : "unknown_url", NULL, msg);
}

void route_h2_cb(struct exchange *x, void *arg)
{
    route_request(arg, x);
}

void route_h2_reject_cb(struct exchange *x, int status, const char *message, void *arg)
{
    route_reject(arg, x, status, message, NULL);
}

/* ---- HTTP/1.1 entry points ------------------------------------------------------------------ */

void route_reject_cb(struct evhttp_request *req, int status, const char *message,
                     const char *path, void *arg)
{
    struct mock *m = arg;
    struct h1exchange hx;
    if (h1exchange_init(&hx, req, m->scratch) != 0) {
        evhttp_send_reply(req, 500, "Internal Server Error", NULL);
        return;
    }
    /* the guard's path: a head it refused may have no request line evhttp parsed */
    route_reject(m, &hx.x, status, message, path);
    h1exchange_done(&hx);
}

void route_cb(struct evhttp_request *req, void *arg)
{
    struct mock *m = arg;
    struct h1exchange hx;
    if (h1exchange_init(&hx, req, m->scratch) != 0) {
        evhttp_send_reply(req, 500, "Internal Server Error", NULL);
        return;
    }
    route_request(m, &hx.x);
    h1exchange_done(&hx);
}
