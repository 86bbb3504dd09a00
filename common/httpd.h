/* The evhttp set-up mockprov and refgw share: a server on a loopback port, and the per-request
 * socket tuning both need to stream tokens and see a peer leave at once. */
#ifndef TG_HTTPD_H
#define TG_HTTPD_H

#include <stddef.h>

#include "httpguard.h"

struct bufferevent;
struct event_base;
struct evhttp;
struct evhttp_bound_socket;
struct evhttp_request;

/* Every listener's backlog; listen(2) caps it at net.core.somaxconn (4096 on current Linux). */
#define HTTPD_LISTEN_BACKLOG 4096

/* An evhttp server on host:port (0: any free port) where every method reaches 'cb' (so a wrong
 * one gets the caller's JSON 405, not evhttp's HTML), listening with HTTPD_LISTEN_BACKLOG.
 * Returns it with *bound and *port_out set, or NULL with err filled. The caller frees it with
 * evhttp_free. */
struct evhttp *httpd_listen(struct event_base *base, const char *host, int port,
                            size_t max_body, size_t max_headers,
                            void (*cb)(struct evhttp_request *, void *), void *arg,
                            struct evhttp_bound_socket **bound, int *port_out, char *err,
                            size_t errlen);

/* A guarded server (httpguard.h): what to listen on, the limits, and where requests and
 * rejections go. */
struct httpd_spec {
    const char *host;
    int port; /* 0: any free port */
    struct httpguard_limits limits;
    void (*cb)(struct evhttp_request *, void *);
    httpguard_reject_cb reject; /* NULL: a generic JSON error */
    httpguard_log_cb log;       /* NULL: accept errors are counted, not logged */
    void *arg;                  /* for all three */
};

struct httpd_side; /* TLS and HTTP/2 settings the accept path reads (httpd.c) */

struct httpd {
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    struct httpguard *guard;
    struct httpd_side *side;
    int port;
};

/* Listens as 'spec' says, every method reaching spec->cb. Returns 0 with *h filled, or -1 with
 * err filled and *h zeroed. */
int httpd_open(struct event_base *base, const struct httpd_spec *spec, struct httpd *h,
               char *err, size_t errlen);
/* Serves TLS (tls.h) on every connection accepted from now on; 't' is borrowed and must outlive
 * the server. Call before the loop runs. */
struct tls_server;
void httpd_set_tls(struct httpd *h, struct tls_server *t);
/* Serves HTTP/2 (h2conn.h) on this server's port too: by prior knowledge or the h2c upgrade in
 * cleartext, and by ALPN h2 over TLS (httpd_set_tls, before or after this call). Requests reach spec's
 * callbacks as exchanges. Call before the loop runs. Returns 0, or -1 with err filled. */
struct h2server_spec;
struct h2server_stats;
int httpd_set_h2(struct httpd *h, const struct h2server_spec *spec, char *err, size_t errlen);
/* The HTTP/2 side's counts (all zero when HTTP/2 is off), for /metrics. */
struct h2server_stats httpd_h2_stats(const struct httpd *h);
/* The descriptor a response may write to directly, bypassing the bufferevent: -1 for a TLS
 * connection, whose bufferevent holds plaintext. */
int httpd_direct_fd(struct bufferevent *bev);
/* Closes the server and every connection it has, then its guard. Safe on a zeroed one. */
void httpd_close(struct httpd *h);

/* Per-request socket set-up, cheap and idempotent: TCP_NODELAY; SO_SNDBUF when sndbuf > 0;
 * with watch_close, reading stays on before any reply starts so a peer that leaves is seen at
 * once (evhttp's close callback fires). */
void httpd_tune(struct evhttp_request *req, int sndbuf, int watch_close);

#endif
