/* An exchange: one request as its transport delivered it (head and whole body) and the way its
 * response goes back. HTTP/1.1 (h1exchange.h, on evhttp) and HTTP/2 (h2conn.h, on nghttp2) hand
 * their requests to their owner as exchanges, so routes, generation and billing never learn which
 * transport carried them. An exchange lives only for the call that delivers it: a route answers
 * it at once (exchange_reply) or takes its response as a stream (exchange_take_sink) and keeps
 * the sink, never the exchange. */
#ifndef TG_EXCHANGE_H
#define TG_EXCHANGE_H

#include <stddef.h>

struct sink;
struct exchange;

/* The transport's half; called only through the exchange_* functions. */
struct exchange_ops {
    /* The first request header named 'name' (case-insensitive), or NULL. */
    const char *(*header)(const struct exchange *x, const char *name);
    /* Adds a response header for the reply or the stream. Borrows the strings until then. */
    void (*add_header)(struct exchange *x, const char *name, const char *value);
    /* Sends the whole response; the exchange is answered. */
    void (*reply)(struct exchange *x, int status, const char *body, size_t len);
    /* The response as a stream: a sink with the headers added so far, owned by the caller from
     * now on (sink_free). NULL: out of memory (the exchange is still unanswered). */
    struct sink *(*take_sink)(struct exchange *x);
    /* Socket set-up for a streamed response (see httpd_tune); NULL where it means nothing. */
    void (*tune)(struct exchange *x, int sndbuf, int watch_close);
};

struct exchange {
    const struct exchange_ops *ops;
    const char *protocol; /* "http/1.1" or "h2" */
    const char *method;   /* as sent: "POST" */
    const char *path;     /* without the query; never NULL or empty */
    const char *query;    /* after '?', or NULL */
    const char *body;     /* NUL-terminated (a NUL inside is the peer's) */
    size_t body_len;
    int lacks_length;     /* HTTP/1.1 only: a body with neither length nor chunked framing */
    int answered;         /* set by exchange_reply and exchange_take_sink */
};

const char *exchange_header(const struct exchange *x, const char *name);
void exchange_add_header(struct exchange *x, const char *name, const char *value);
/* Sends status and body (borrowed, copied by the transport) as the whole response. At most one
 * of exchange_reply and exchange_take_sink per exchange; a second is ignored. */
void exchange_reply(struct exchange *x, int status, const char *body, size_t len);
struct sink *exchange_take_sink(struct exchange *x);
/* No-op for a transport without the knob. */
void exchange_tune(struct exchange *x, int sndbuf, int watch_close);

#endif
