/* What mockprov sends back outside a stream: a JSON body, an error in each API's shape, the
 * vendor's common headers (on an evhttp request, or on a sink); and the request body it
 * answers. */
#include "reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "mock_internal.h"
#include "sink.h"
#include "utf8.h"

/* The one list of common headers, for either way of adding them. */
static void put_headers(void (*add)(void *, const char *, const char *), void *arg, enum api api,
                        const char *rid, const char *content_type)
{
    add(arg, "Content-Type", content_type);
    if (api == API_MESSAGES) {
        add(arg, "request-id", rid);
    } else {
        add(arg, "x-request-id", rid);
        add(arg, "openai-version", "2020-10-01");
        add(arg, "openai-processing-ms", "1");
    }
}

static void add_evhttp(void *arg, const char *name, const char *value)
{
    evhttp_add_header(arg, name, value);
}

static void add_sink(void *arg, const char *name, const char *value)
{
    sink_header(arg, name, value);
}

void reply_headers(struct evhttp_request *req, enum api api, const char *rid,
                   const char *content_type)
{
    put_headers(add_evhttp, evhttp_request_get_output_headers(req), api, rid, content_type);
}

void reply_sink_headers(struct sink *sk, enum api api, const char *rid, const char *content_type)
{
    put_headers(add_sink, sk, api, rid, content_type);
}

void reply_json(struct mock *m, struct evhttp_request *req, int code, const char *json)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    if (evhttp_find_header(h, "Content-Type") == NULL)
        evhttp_add_header(h, "Content-Type", "application/json");
    evbuffer_drain(m->scratch, evbuffer_get_length(m->scratch));
    evbuffer_add(m->scratch, json, strlen(json));
    evbuffer_add(m->scratch, "\n", 1);
    const char *reason = httpguard_reason(code);
    evhttp_send_reply(req, code, reason, m->scratch);
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
void reply_error(struct mock *m, struct evhttp_request *req, enum api api, int code,
                 const char *type, const char *ecode, const char *param, const char *msg)
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
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, api == API_MESSAGES ? "request-id" : "x-request-id", rid);
    if (code >= 400 && code < 500)
        m->mx.bad_requests++;
    reply_json(m, req, code, body ? body : "{}");
    free(body);
}

char *reply_request_body(struct evhttp_request *req, size_t *len)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    *len = evbuffer_get_length(in);
    char *s = malloc(*len + 1);
    if (s == NULL)
        return NULL;
    evbuffer_copyout(in, s, *len);
    s[*len] = '\0';
    return s;
}
