/* The chaos client's HTTP/2: nghttp2 client sessions on libevent bufferevents (OpenSSL ones for
 * TLS, h2 by ALPN; plain ones for cleartext with prior knowledge), pooled per origin the way a
 * browser's tabs share a connection. A stream that leaves sends RST_STREAM(CANCEL) at once and
 * leaves the connection to the others; a killed client resets the whole TCP connection. */
#ifndef CHAOS_H2POOL_H
#define CHAOS_H2POOL_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

/* Chromium's receive windows: a stream 6 MiB, the connection 15 MiB. */
#define H2POOL_STREAM_WINDOW (6 * 1024 * 1024)
#define H2POOL_CONN_WINDOW (15 * 1024 * 1024)

struct h2pool_config {
    const char *url;          /* the origin: https://HOST:PORT (TLS) or http://HOST:PORT (h2c) */
    const char *ca_file;      /* TLS: trust this CA file (PEM); NULL the system's roots */
    int tls_insecure;         /* TLS: no certificate check at all */
    uint32_t streams_per_conn; /* a new connection opens past this many open streams */
    int rcvbuf;               /* >0: SO_RCVBUF of each socket */
    uint32_t timeout_ms;      /* per stream, from its request; 0: none */
    uint32_t connect_timeout_ms; /* TCP and TLS set-up; 0: 10 s */
};

enum h2pool_end {
    H2POOL_END_OK,      /* the server's END_STREAM */
    H2POOL_END_RESET,   /* the server reset the stream (the code says why) */
    H2POOL_END_CONN,    /* the connection under it ended: EOF, an error, our own kill */
    H2POOL_END_TIMEOUT, /* timeout_ms passed: we reset the stream (CANCEL) */
};

/* What a stream tells its owner. After on_end the stream is gone. */
struct h2pool_stream_cbs {
    void (*on_sent)(void *arg);             /* the request's HEADERS left for the socket */
    void (*on_status)(void *arg, int status); /* the final (non-1xx) response status */
    void (*on_data)(void *arg, const uint8_t *data, size_t len);
    void (*on_end)(void *arg, enum h2pool_end end, uint32_t code, const char *why);
};

struct h2pool;
struct h2stream;

/* NULL with err filled (a bad URL, a CA file that does not load, an address that does not
 * resolve). */
struct h2pool *h2pool_new(struct event_base *base, const struct h2pool_config *cfg, char *err,
                          size_t errlen);
/* Closes every connection (a FIN) and frees every stream without a callback. NULL is fine. */
void h2pool_free(struct h2pool *p);

/* 0 with 'path' filled (the path and query of 'url') when 'url' is on the pool's origin
 * (scheme, host and port), else -1. */
int h2pool_path_of(const struct h2pool *p, const char *url, char *path, size_t len);

/* Sends a request on a connection with room (opening one if none has); 'path' may hold a
 * query. headers: "Name: value" strings; an empty value drops the header; names are sent in
 * lower case, and HTTP/1.1's connection headers are left out. 'body' is copied. NULL with err. */
struct h2stream *h2pool_request(struct h2pool *p, const char *method, const char *path,
                                const char *const *headers, size_t nheaders, const char *body,
                                size_t body_len, const struct h2pool_stream_cbs *cbs, void *arg,
                                char *err, size_t errlen);

/* RST_STREAM(CANCEL) on the stream, queued for the socket before this returns (from inside one
 * of the stream's callbacks, as the read that called it ends) and written on the loop's next
 * turn; no callback follows. */
void h2stream_cancel(struct h2stream *s);
/* Stops (1) or resumes (0) reading the stream: while stopped its data is held unconsumed, so
 * its window fills and the server stalls, while the others flow (until the stopped streams of
 * a connection hold its whole window, as in a browser). A resume hands over what was
 * held, in order, from the loop, then the end if it came meanwhile. */
void h2stream_pause(struct h2stream *s, int pause);
/* Resets the stream's whole TCP connection now (the kernel's RST), as a killed browser does:
 * no RST_STREAM, no GOAWAY. Every stream on it then ends with H2POOL_END_CONN, this one too. */
void h2stream_kill_connection(struct h2stream *s);
/* The local port of the stream's connection, 0 before its socket exists. */
int h2stream_local_port(const struct h2stream *s);

#endif
