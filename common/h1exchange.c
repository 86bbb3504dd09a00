/* The HTTP/1.1 exchange: evhttp's request seen through exchange.h. */
#include "h1exchange.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "h1sink.h"
#include "httpd.h"
#include "httpguard.h"

const char *h1exchange_method_name(int type)
{
    switch ((enum evhttp_cmd_type)type) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    case EVHTTP_REQ_TRACE: return "TRACE";
    case EVHTTP_REQ_CONNECT: return "CONNECT";
    case EVHTTP_REQ_PATCH: return "PATCH";
    }
    return "OTHER";
}

static const char *header_op(const struct exchange *x, const char *name)
{
    const struct h1exchange *hx = (const struct h1exchange *)x;
    return evhttp_find_header(evhttp_request_get_input_headers(hx->req), name);
}

static void add_header_op(struct exchange *x, const char *name, const char *value)
{
    struct h1exchange *hx = (struct h1exchange *)x;
    evhttp_add_header(evhttp_request_get_output_headers(hx->req), name, value);
}

static void reply_op(struct exchange *x, int status, const char *body, size_t len)
{
    struct h1exchange *hx = (struct h1exchange *)x;
    evbuffer_drain(hx->scratch, evbuffer_get_length(hx->scratch));
    evbuffer_add(hx->scratch, body, len);
    evhttp_send_reply(hx->req, status, httpguard_reason(status), hx->scratch);
}

static struct sink *take_sink_op(struct exchange *x)
{
    struct h1exchange *hx = (struct h1exchange *)x;
    return h1sink_new(hx->req, hx->scratch);
}

static void tune_op(struct exchange *x, int sndbuf, int watch_close)
{
    struct h1exchange *hx = (struct h1exchange *)x;
    httpd_tune(hx->req, sndbuf, watch_close);
}

static const struct exchange_ops h1_ops = {header_op, add_header_op, reply_op, take_sink_op,
                                           tune_op};

int h1exchange_init(struct h1exchange *hx, struct evhttp_request *req, struct evbuffer *scratch)
{
    memset(hx, 0, sizeof *hx);
    hx->req = req;
    hx->scratch = scratch;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    hx->body = malloc(len + 1);
    if (hx->body == NULL)
        return -1;
    evbuffer_copyout(in, hx->body, len);
    hx->body[len] = '\0';
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    hx->path = strdup(path != NULL && *path != '\0' ? path : "/");
    if (hx->path == NULL) {
        free(hx->body);
        return -1;
    }
    hx->x.ops = &h1_ops;
    hx->x.protocol = "http/1.1";
    hx->x.method = h1exchange_method_name(evhttp_request_get_command(req));
    hx->x.path = hx->path;
    hx->x.query = uri ? evhttp_uri_get_query(uri) : NULL;
    hx->x.body = hx->body;
    hx->x.body_len = len;
    hx->x.lacks_length = httpguard_lacks_length(req);
    return 0;
}

void h1exchange_done(struct h1exchange *hx)
{
    free(hx->body);
    free(hx->path);
    hx->body = hx->path = NULL;
}

struct evhttp_request *h1exchange_request(const struct exchange *x)
{
    return x->ops == &h1_ops ? ((const struct h1exchange *)x)->req : NULL;
}
