/* One HTTP/2 stream of a server connection (h2conn.h): its request as it arrives, the exchange
 * (exchange.h) that hands it to the owner, and its response, as a whole reply or as a sink
 * (sink.h). The body waits in the stream's own buffer until nghttp2's data provider packs it
 * into DATA frames as flow control allows; a write counts drained when its frame left the
 * connection's output buffer (h2conn tells the stream, h2stream_frame_out).
 *
 * Lifetime: a stream lives while nghttp2 has it or while its owner holds its sink, whichever
 * is longer. A sink outlives its connection (then it is unhooked: conn NULL, SINK_DONE) and
 * the connection outlives a freed sink (sink_free resets a stream still open). This header is
 * for h2conn.c; owners see only sink.h and exchange.h. */
#ifndef TG_H2SINK_H
#define TG_H2SINK_H

#include <stddef.h>
#include <stdint.h>

#include <nghttp2/nghttp2.h>

#include "sink.h"

struct evbuffer;
struct exchange;
struct h2conn;

struct h2field {
    char *name;
    char *value;
};

struct h2fields {
    struct h2field *v;
    size_t n, cap;
};

struct h2stream {
    struct sink base; /* first: the sink ops get this pointer back */
    struct h2conn *conn; /* NULL once the connection is gone */
    nghttp2_session *ng; /* the connection's, while conn is set */
    int32_t id;
    struct h2stream *prev, *next; /* the connection's list */
    /* the request */
    char *method, *path, *authority;
    struct h2fields req;
    size_t head_bytes;
    struct evbuffer *body;
    int reject; /* a status decided while reading (413, 431) */
    char reject_msg[120];
    /* the response */
    struct h2fields resp;
    struct evbuffer *out; /* body bytes not yet packed into DATA frames */
    char *trailer_name, *trailer_value;
    unsigned owned : 1;     /* taken as a sink: freed by sink_free, not at close */
    unsigned submitted : 1; /* HEADERS submitted */
    unsigned ending : 1;    /* END_STREAM (or the trailer) once 'out' is empty */
    unsigned cutting : 1;   /* RST_STREAM(INTERNAL_ERROR) once 'out' is empty */
    unsigned deferred : 1;  /* the data provider said NGHTTP2_ERR_DEFERRED */
    unsigned last_queued : 1;  /* the frame that ends our side (END_STREAM or the cut's RST) */
    unsigned ng_closed : 1;    /* nghttp2 closed the stream */
    unsigned reset_after : 1;  /* a reply sent before the request's end: RST(NO_ERROR) after */
    unsigned head_only : 1;    /* HEAD: no body goes out */
    unsigned delivered : 1;    /* request_cb or reject_cb ran */
    unsigned streaming : 1;    /* sink_start: body bytes are counted (sink_queued) */
    unsigned delivering : 1;   /* inside the owner's request_cb: a free waits for its return */
    unsigned free_pending : 1;
};

/* A new stream for 'id' on 'conn' (not yet listed), or NULL. */
struct h2stream *h2stream_new(struct h2conn *conn, nghttp2_session *ng, int32_t id);
/* One request header field; pseudo-headers fill method, path and authority. 'limit': the
 * header list's cap (431 past it). Returns 0, or -1 when out of memory. */
int h2stream_header(struct h2stream *st, const uint8_t *name, size_t namelen,
                    const uint8_t *value, size_t valuelen, size_t limit);
/* Body bytes; past max_body (> 0) the stream is marked 413 and the rest ignored. */
void h2stream_data(struct h2stream *st, const uint8_t *data, size_t len, size_t max_body);
/* The request is complete (or rejected early): calls request_cb or reject_cb. */
void h2stream_deliver(struct h2stream *st, void (*request_cb)(struct exchange *, void *),
                      void (*reject_cb)(struct exchange *, int, const char *, void *),
                      void *arg);
/* A frame of this stream left the output buffer: 'payload' body bytes of DATA, 'ends' when it
 * carried END_STREAM or was the cut's RST_STREAM. */
void h2stream_frame_out(struct h2stream *st, size_t payload, int ends);
/* nghttp2 closed the stream with error_code. */
void h2stream_closed(struct h2stream *st, uint32_t error_code);
/* The connection is gone: unhooks it; returns 1 when its sink should hear close_cb. */
int h2stream_conn_gone(struct h2stream *st);
/* Frees a stream its owner never took (or the connection's last word on it). */
void h2stream_destroy(struct h2stream *st);

/* From h2conn.c: send what nghttp2 has (soon, from the loop); forget a stream being freed. */
void h2conn_kick(struct h2conn *c);
void h2conn_unlink(struct h2conn *c, struct h2stream *st);

#endif
