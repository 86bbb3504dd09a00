/* What mockprov sends back outside a stream: a JSON body, an error in each API's shape, the
 * vendor's common headers (on an exchange, or on a sink). */
#include "reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exchange.h"
#include "mock_internal.h"
#include "sink.h"
#include "utf8.h"

/* The one list of common headers, for either way of adding them. */
static void put_headers(void (*add)(void *, const char *, const char *), void *arg, enum api api,
                        const char *rid, const char *content_type)
{
    if (content_type != NULL)
        add(arg, "Content-Type", content_type);
    if (api == API_MESSAGES) {
        add(arg, "request-id", rid);
    } else if (api == API_AZURE) {
        /* Azure's gateway names each request twice; its region is the mock's own */
        add(arg, "x-request-id", rid);
        add(arg, "apim-request-id", rid);
        add(arg, "x-ms-region", "tailgate");
    } else if (api == API_BEDROCK || api == API_BEDROCK_INVOKE) {
        add(arg, "x-amzn-RequestId", rid);
        add(arg, "x-request-id", rid); /* the mock's own, as for Gemini */
    } else if (api == API_GEMINI || api == API_OLLAMA) {
        /* Google sends no request id; the mock's own lets a test find the ledger record */
        add(arg, "x-request-id", rid);
    } else {
        add(arg, "x-request-id", rid);
        add(arg, "openai-version", "2020-10-01");
        add(arg, "openai-processing-ms", "1");
    }
}

static void add_exchange(void *arg, const char *name, const char *value)
{
    exchange_add_header(arg, name, value);
}

static void add_sink(void *arg, const char *name, const char *value)
{
    sink_header(arg, name, value);
}

void reply_headers(struct exchange *x, enum api api, const char *rid, const char *content_type)
{
    put_headers(add_exchange, x, api, rid, content_type);
}

void reply_sink_headers(struct sink *sk, enum api api, const char *rid, const char *content_type)
{
    put_headers(add_sink, sk, api, rid, content_type);
}

void reply_json(struct exchange *x, int code, const char *json)
{
    size_t n = strlen(json);
    char *b = malloc(n + 1);
    exchange_add_header(x, "Content-Type", "application/json");
    if (b == NULL) {
        exchange_reply(x, 500, "", 0);
        return;
    }
    memcpy(b, json, n);
    b[n] = '\n';
    exchange_reply(x, code, b, n + 1);
    free(b);
}

void reply_sink_json(struct sink *sk, int code, const char *json)
{
    size_t n = strlen(json);
    char *b = malloc(n + 1);
    if (b == NULL) {
        sink_abort(sk); /* no memory for the body: the peer sees the connection drop */
        return;
    }
    memcpy(b, json, n);
    b[n] = '\n';
    sink_reply(sk, code, b, n + 1);
    free(b);
}

/* An HTTP error in the API's shape. */
void reply_error(struct mock *m, struct exchange *x, enum api api, int code, const char *type,
                 const char *ecode, const char *param, const char *msg)
{
    char rid[48];
    snprintf(rid, sizeof rid, "req_tgerr%08llx", (unsigned long long)++m->nreq);
    /* a message may quote what the peer sent (a header, the URL, a cut-off field) as raw bytes;
     * the reply must stay valid UTF-8 JSON, so each invalid byte becomes U+FFFD */
    char safe_msg[1024], safe_param[128];
    utf8_repair(safe_msg, sizeof safe_msg, msg ? msg : "");
    if (param)
        utf8_repair(safe_param, sizeof safe_param, param);
    char *body = wire_error_body(api, code, type, ecode, param ? safe_param : NULL, safe_msg, rid);
    exchange_add_header(x, api == API_MESSAGES ? "request-id" : "x-request-id", rid);
    if (api == API_BEDROCK || api == API_BEDROCK_INVOKE) {
        /* the AWS SDKs take the error's name from this header; the body is {"message"} */
        exchange_add_header(x, "x-amzn-errortype", type ? type : wire_error_type(api, code));
        exchange_add_header(x, "x-amzn-RequestId", rid);
    }
    if (code >= 400 && code < 500)
        m->mx.bad_requests++;
    reply_json(x, code, body ? body : "{}");
    free(body);
}
