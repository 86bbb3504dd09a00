/* mockprov's routes: each request to the vendor endpoints (generate.c, store.c), the admin API
 * (admin.c) or /metrics (metrics.c), and each request a transport refused, answered in the shape
 * of the API its path names. Requests arrive as exchanges (exchange.h) from either transport;
 * the HTTP/1.1 entry points wrap evhttp's requests into one. */
#include "route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "mock_internal.h"
#include "admin.h"
#include "exchange.h"
#include "generate.h"
#include "h1exchange.h"
#include "metrics.h"
#include "reply.h"
#include "store.h"

/* After Gemini's models prefix (/v1beta/models/ or /v1/models/), or NULL. */
static const char *gemini_models_rest(const char *path)
{
    if (strncmp(path, "/v1beta/models/", 15) == 0)
        return path + 15;
    if (strncmp(path, "/v1/models/", 11) == 0)
        return path + 11;
    return NULL;
}

static enum api api_of_path(const char *path)
{
    if (path != NULL && strncmp(path, "/model/", 7) == 0)
        return strstr(path, "/invoke") ? API_BEDROCK_INVOKE : API_BEDROCK;
    if (path != NULL && (strncmp(path, "/v1beta/", 8) == 0 || gemini_models_rest(path) != NULL))
        return API_GEMINI;
    if (path != NULL && strncmp(path, "/v1/messages", 12) == 0)
        return API_MESSAGES;
    if (path != NULL && strncmp(path, "/api/", 5) == 0)
        return API_OLLAMA;
    if (path != NULL && strncmp(path, "/openai/", 8) == 0)
        return API_AZURE;
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

/* A model id as Gemini's paths carry it: letters, digits, '.', '-', '_'. */
static int gemini_model_ok(const char *s, size_t len)
{
    if (len == 0 || len >= REQUEST_MODEL_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

/* streamGenerateContent's framing from the query: alt=sse is SSE; no alt (or alt=json) is one
 * JSON array, as Google sends it. Returns 1 (array), 0 (SSE), or -1 answered 400. */
static int gemini_alt(struct mock *m, struct exchange *x)
{
    if (x->query == NULL)
        return 1;
    struct evkeyvalq q;
    TAILQ_INIT(&q);
    if (evhttp_parse_query_str(x->query, &q) != 0) {
        reply_error(m, x, API_GEMINI, 400, NULL, NULL, NULL, "Malformed query string.");
        return -1;
    }
    const char *alt = evhttp_find_header(&q, "alt");
    int rc = alt == NULL || strcmp(alt, "json") == 0 ? 1 : strcmp(alt, "sse") == 0 ? 0 : -1;
    if (rc < 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "Invalid value at 'alt' (%.64s): use alt=sse or alt=json.",
                 alt);
        reply_error(m, x, API_GEMINI, 400, NULL, NULL, NULL, msg);
    }
    evhttp_clear_headers(&q);
    return rc;
}

/* POST {prefix}{model}:generateContent or :streamGenerateContent. The API key (x-goog-api-key
 * or ?key=) is not checked, as no API's key is. */
static void gemini_route(struct mock *m, struct exchange *x, const char *rest)
{
    char msg[256];
    const char *colon = strrchr(rest, ':');
    size_t mlen = colon ? (size_t)(colon - rest) : strlen(rest);
    if (!gemini_model_ok(rest, mlen)) {
        snprintf(msg, sizeof msg, "models/%.*s is not found for API version v1beta, or is not "
                                  "supported for generateContent.",
                 (int)(mlen > 128 ? 128 : mlen), rest);
        reply_error(m, x, API_GEMINI, 404, NULL, NULL, NULL, msg);
        return;
    }
    int stream = colon && strcmp(colon + 1, "streamGenerateContent") == 0;
    if (colon == NULL || (!stream && strcmp(colon + 1, "generateContent") != 0)) {
        snprintf(msg, sizeof msg, "Method not found: '%.64s' (the mock serves generateContent "
                                  "and streamGenerateContent).", colon ? colon + 1 : "");
        reply_error(m, x, API_GEMINI, 404, NULL, NULL, NULL, msg);
        return;
    }
    if (strcmp(x->method, "POST") != 0) {
        /* Google routes by method and path: another method finds no route */
        reply_error(m, x, API_GEMINI, 404, NULL, NULL, NULL,
                    "Method not found: use POST for this route.");
        return;
    }
    int json_stream = gemini_alt(m, x);
    if (json_stream < 0)
        return;
    char model[REQUEST_MODEL_MAX];
    memcpy(model, rest, mlen);
    model[mlen] = '\0';
    generate_handle_gemini(m, x, model, stream, json_stream);
}

/* Azure's api-version: a date (2024-10-21), with -preview after it, or preview/latest/v1 on the
 * /openai/v1/ route. Returns 1 when one was given and usable, 0 when none was, -1 when it is
 * not one Azure knows the shape of. */
static int azure_version(const struct exchange *x, int v1)
{
    if (x->query == NULL)
        return 0;
    struct evkeyvalq q;
    TAILQ_INIT(&q);
    if (evhttp_parse_query_str(x->query, &q) != 0)
        return -1;
    const char *v = evhttp_find_header(&q, "api-version");
    int rc = v == NULL ? 0 : -1;
    if (v != NULL) {
        size_t n = strlen(v);
        int date = n >= 10 && v[4] == '-' && v[7] == '-';
        for (size_t i = 0; date && i < 10; i++)
            if (i != 4 && i != 7 && (v[i] < '0' || v[i] > '9'))
                date = 0;
        if (date && (n == 10 || strcmp(v + 10, "-preview") == 0))
            rc = 1;
        if (v1 && (strcmp(v, "preview") == 0 || strcmp(v, "latest") == 0 || strcmp(v, "v1") == 0))
            rc = 1;
    }
    evhttp_clear_headers(&q);
    return rc;
}

/* /openai/deployments/{deployment}/chat/completions?api-version=... and
 * /openai/v1/chat/completions. The api-key header is not checked, as no API's key is. */
static void azure_route(struct mock *m, struct exchange *x, const char *rest)
{
    static const char tail[] = "/chat/completions";
    char deployment[REQUEST_MODEL_MAX];
    int v1 = strcmp(rest, "v1/chat/completions") == 0;
    if (!v1) {
        size_t n = 0;
        if (strncmp(rest, "deployments/", 12) == 0) {
            const char *d = rest + 12, *slash = strchr(d, '/');
            n = slash ? (size_t)(slash - d) : 0;
            for (size_t i = 0; i < n; i++)
                if (!((d[i] >= 'a' && d[i] <= 'z') || (d[i] >= 'A' && d[i] <= 'Z') ||
                      (d[i] >= '0' && d[i] <= '9') || d[i] == '.' || d[i] == '-' || d[i] == '_'))
                    n = 0;
            if (n == 0 || n >= sizeof deployment || strcmp(slash, tail) != 0)
                n = 0;
            else
                memcpy(deployment, d, n);
        }
        if (n == 0) {
            reply_error(m, x, API_AZURE, 404, NULL, "404", NULL, "Resource not found");
            return;
        }
        deployment[n] = '\0';
    }
    int version = azure_version(x, v1);
    if (version == 0 && !v1) {
        /* Azure's routing finds no resource without an api-version */
        reply_error(m, x, API_AZURE, 404, NULL, "404", NULL, "Resource not found");
        return;
    }
    if (version < 0) {
        reply_error(m, x, API_AZURE, 400, NULL, "BadRequest", NULL, "API version not supported");
        return;
    }
    if (strcmp(x->method, "POST") != 0) {
        reply_error(m, x, API_AZURE, 405, NULL, NULL, NULL, "Method not allowed: use POST.");
        return;
    }
    generate_handle_azure(m, x, v1 ? NULL : deployment);
}

/* A Bedrock model id once percent-decoded: a foundation model id
 * (anthropic.claude-3-5-haiku-20241022-v1:0), an inference profile or an ARN. */
static int bedrock_model_ok(const char *s, size_t len)
{
    if (len == 0 || len >= REQUEST_MODEL_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr(".-_:/", c) != NULL))
            return 0;
    }
    return 1;
}

/* POST /model/{modelId}/{operation}: Converse, ConverseStream, InvokeModel and
 * InvokeModelWithResponseStream. The SDKs percent-encode the model id's ':' (and an ARN's
 * '/'), so the id is decoded before it is checked. */
static void bedrock_route(struct mock *m, struct exchange *x, const char *rest)
{
    static const struct {
        const char *op;
        enum api api;
        int stream;
    } ops[] = {{"converse-stream", API_BEDROCK, 1},
               {"converse", API_BEDROCK, 0},
               {"invoke-with-response-stream", API_BEDROCK_INVOKE, 1},
               {"invoke", API_BEDROCK_INVOKE, 0}};
    const char *slash = strrchr(rest, '/');
    size_t n = sizeof ops / sizeof ops[0], i = 0;
    while (slash && i < n && strcmp(slash + 1, ops[i].op) != 0)
        i++;
    if (slash == NULL || i == n) {
        reply_error(m, x, API_BEDROCK, 404, "UnknownOperationException", NULL, NULL,
                    "Unknown operation: the mock serves /model/{modelId}/converse, "
                    "converse-stream, invoke and invoke-with-response-stream.");
        return;
    }
    if (strcmp(x->method, "POST") != 0) {
        reply_error(m, x, ops[i].api, 405, "UnknownOperationException", NULL, NULL,
                    "Method not allowed: use POST.");
        return;
    }
    char enc[3 * REQUEST_MODEL_MAX];
    size_t elen = (size_t)(slash - rest);
    char *model = NULL;
    if (elen > 0 && elen < sizeof enc) {
        memcpy(enc, rest, elen);
        enc[elen] = '\0';
        size_t mlen = 0;
        model = evhttp_uridecode(enc, 0, &mlen);
        if (model && !bedrock_model_ok(model, mlen)) {
            free(model);
            model = NULL;
        }
    }
    if (model == NULL) {
        reply_error(m, x, ops[i].api, 400, NULL, NULL, NULL,
                    "The provided model identifier is invalid.");
        return;
    }
    generate_handle_bedrock(m, x, ops[i].api, model, ops[i].stream);
    free(model);
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
                {"/v1/messages", API_MESSAGES},
                {"/v1/completions", API_COMPLETIONS}};
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
    if (strncmp(path, "/openai/", 8) == 0) {
        azure_route(m, x, path + 8);
        return;
    }
    if (strcmp(path, "/api/chat") == 0 || strcmp(path, "/api/generate") == 0) {
        if (strcmp(x->method, "POST") != 0) {
            reply_error(m, x, API_OLLAMA, 405, NULL, NULL, NULL, "method not allowed: use POST");
            return;
        }
        generate_handle_ollama(m, x, path[5] == 'g');
        return;
    }
    if (strncmp(path, "/model/", 7) == 0) {
        bedrock_route(m, x, path + 7);
        return;
    }
    const char *gemini = gemini_models_rest(path);
    if (gemini != NULL) {
        gemini_route(m, x, gemini);
        return;
    }
    enum api api = api_of_path(path);
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
