/* HTTP/2 server connections with nghttp2, on the port of an evhttp server (httpd_set_h2): the
 * guard (httpguard.h) hands over a connection whose first bytes are the client preface, in
 * cleartext or inside TLS after ALPN h2, and from then on nghttp2 does all framing, HPACK and
 * flow control. Every complete request (END_STREAM seen) reaches the owner as an exchange
 * (exchange.h, protocol "h2"); a streamed response is a sink (h2sink.h) whose drain counting
 * follows the DATA frames out of the connection's output buffer.
 *
 * Bounds: SETTINGS_MAX_CONCURRENT_STREAMS, a header list of HTTPGUARD_MAX_HEAD bytes (431), a
 * body of max_body bytes (413, then RST_STREAM), an idle timeout (GOAWAY and close when no
 * stream is open), and an output cap: past H2CONN_OUTPUT_CAP bytes waiting for the kernel no
 * more frames are packed, so a peer that never reads holds at most that much of ours (reading
 * goes on, so its close or reset is still seen at once). */
#ifndef TG_H2CONN_H
#define TG_H2CONN_H

#include <stddef.h>
#include <stdint.h>

struct bufferevent;
struct evhttp_connection;
struct exchange;

#define H2CONN_DEFAULT_STREAMS 1000u
#define H2CONN_OUTPUT_CAP (1024u * 1024)
#define H2CONN_DEFAULT_IDLE_MS 75000u

struct h2server_spec {
    /* One complete request; 'x' lives for the call (exchange.h). */
    void (*request_cb)(struct exchange *x, void *arg);
    /* A request the transport refuses (413 body over max_body, 431 header list too big, 400
     * malformed): the owner answers it in its own shape with exchange_reply. NULL: a generic
     * {"error":{"message","code"}}. */
    void (*reject_cb)(struct exchange *x, int status, const char *message, void *arg);
    void *arg;
    size_t max_body;                 /* 0: no limit */
    uint32_t max_concurrent_streams; /* 0: H2CONN_DEFAULT_STREAMS */
    unsigned idle_timeout_ms;        /* no open stream for this long: GOAWAY, close; 0: default */
};

struct h2server_stats {
    uint64_t connections; /* handed to HTTP/2 */
    uint64_t open;        /* HTTP/2 connections open now */
    uint64_t streams;     /* requests begun */
    uint64_t rst_received;    /* RST_STREAM frames from peers */
    uint64_t goaway_received; /* GOAWAY frames from peers */
    uint64_t rejected;        /* 413, 431, 400 */
    uint64_t idle_closed;     /* connections closed by the idle timeout */
    uint64_t output_capped;   /* times a connection's output buffer reached H2CONN_OUTPUT_CAP */
    uint64_t output_peak;     /* the most bytes one connection's output buffer held */
};

/* The HTTP/2 side of one server: the spec and the stats of its connections. */
struct h2server;

/* NULL when out of memory. */
struct h2server *h2server_new(const struct h2server_spec *spec);
/* After evhttp_free of the server it serves (which ends its connections). NULL-safe. */
void h2server_free(struct h2server *s);
struct h2server_stats h2server_stats(const struct h2server *s);

/* The guard's hand-off (httpguard_set_h2 with arg = the h2server): starts a session on 'bev'
 * (its input may already hold the preface). Returns the connection, or NULL. */
void *h2server_take(struct bufferevent *bev, struct evhttp_connection *evcon, void *arg);
/* The guard's h2c upgrade (RFC 7540 3.2): a cleartext HTTP/1.1 request with 'Upgrade: h2c' and
 * HTTP2-Settings is answered 101 and becomes stream 1 of a new session (half-closed: its
 * response goes out as HTTP/2). NULL: declined (TLS, no or bad HTTP2-Settings). */
struct evhttp_request;
void *h2server_upgrade(struct bufferevent *bev, struct evhttp_connection *evcon,
                       struct evhttp_request *req, void *arg);
/* The guard's 'gone': evhttp is freeing the connection (evhttp_free): every stream's sink is
 * unhooked without a callback and the session ends. */
void h2server_gone(void *conn);

#endif
