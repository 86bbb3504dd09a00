/* The HTTP/1.1 exchange (exchange.h) over an evhttp request: its head and body as evhttp read
 * them, the reply through evhttp, the stream through an HTTP/1.1 sink (h1sink.h). */
#ifndef TG_H1EXCHANGE_H
#define TG_H1EXCHANGE_H

#include "exchange.h"

struct evbuffer;
struct evhttp_request;

struct h1exchange {
    struct exchange x; /* first */
    struct evhttp_request *req;
    struct evbuffer *scratch; /* borrowed: the owner's buffer for replies and sink framing */
    char *body;               /* the copy x.body points to */
    char *path;               /* decoded path (evhttp_uri) copy, "/" when absent */
};

/* Fills 'hx' from 'req' (body copied). Returns 0, or -1 when out of memory (nothing to free). */
int h1exchange_init(struct h1exchange *hx, struct evhttp_request *req, struct evbuffer *scratch);
/* Frees the copies; the request itself stays evhttp's (or the sink's). */
void h1exchange_done(struct h1exchange *hx);
/* evhttp's method as its name ("POST"); "OTHER" for one evhttp has no name for. 'type' is an
 * enum evhttp_cmd_type (an int here, so callers need no evhttp header). */
const char *h1exchange_method_name(int type);
/* The request, for what only HTTP/1.1 has (the admin API's origin checks). */
struct evhttp_request *h1exchange_request(const struct exchange *x);

#endif
