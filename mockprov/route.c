/* mockprov's routes: each request to the vendor endpoints (generate.c, store.c), the admin API
 * (admin.c) or /metrics (metrics.c), and each request the guard refused, answered in the shape
 * of the API its path names. */
#include "route.h"

#include <stdio.h>
#include <string.h>

#include <event2/http.h>

#include "mock_internal.h"
#include "admin.h"
#include "generate.h"
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

/* A request the guard or evhttp would not take: in the shape of the API its path names. */
void route_reject_cb(struct evhttp_request *req, int status, const char *message,
                     const char *path, void *arg)
{
    struct mock *m = arg;
    reply_error(m, req, api_of_path(path), status, NULL, NULL, NULL, message);
}

void route_cb(struct evhttp_request *req, void *arg)
{
    struct mock *m = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    if (path == NULL || *path == '\0')
        path = "/";
    if (strncmp(path, "/_tailgate/", 11) == 0) {
        admin_handle(m, req, path + 11, method);
        return;
    }
    if (strcmp(path, "/metrics") == 0 && method == EVHTTP_REQ_GET) {
        if (admin_allowed(m, req))
            metrics_reply(m, req);
        return;
    }
    enum api api = strncmp(path, "/v1/messages", 12) == 0 ? API_MESSAGES : API_CHAT;
    struct {
        const char *path;
        enum api api;
    } gens[] = {{"/v1/chat/completions", API_CHAT},
                {"/v1/responses", API_RESPONSES},
                {"/v1/messages", API_MESSAGES}};
    for (size_t i = 0; i < sizeof gens / sizeof gens[0]; i++) {
        if (strcmp(path, gens[i].path) != 0)
            continue;
        if (method != EVHTTP_REQ_POST) {
            reply_error(m, req, gens[i].api, 405, NULL, NULL, NULL,
                        "Method not allowed: use POST.");
            return;
        }
        generate_handle(m, req, gens[i].api);
        return;
    }
    if (strncmp(path, "/v1/responses/", 14) == 0) {
        char id[128];
        const char *rest = path + 14;
        const char *slash = strchr(rest, '/');
        size_t idlen = slash ? (size_t)(slash - rest) : strlen(rest);
        if (idlen == 0 || idlen >= sizeof id) {
            reply_error(m, req, API_RESPONSES, 404, NULL, NULL, NULL, "Unknown response id.");
            return;
        }
        memcpy(id, rest, idlen);
        id[idlen] = '\0';
        if (slash == NULL && method == EVHTTP_REQ_GET) {
            store_retrieve(m, req, id);
            return;
        }
        if (slash && strcmp(slash, "/cancel") == 0 && method == EVHTTP_REQ_POST) {
            store_cancel(m, req, id);
            return;
        }
        reply_error(m, req, API_RESPONSES, slash && strcmp(slash, "/cancel") != 0 ? 404 : 405, NULL,
                    NULL, NULL, "Unknown route or method for /v1/responses/{id}.");
        return;
    }
    char msg[200];
    snprintf(msg, sizeof msg, "Unknown request URL: %.32s %.120s.",
             method == EVHTTP_REQ_GET    ? "GET"
             : method == EVHTTP_REQ_POST ? "POST"
                                         : "other",
             path);
    reply_error(m, req, api, 404, NULL, api == API_MESSAGES ? NULL : "unknown_url", NULL, msg);
}
