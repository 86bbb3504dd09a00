/* The evhttp set-up mockprov and refgw share: a server on a loopback port, and the per-request
 * socket tuning both need to stream tokens and see a peer leave at once. */
#ifndef TG_HTTPD_H
#define TG_HTTPD_H

#include <stddef.h>

struct event_base;
struct evhttp;
struct evhttp_bound_socket;
struct evhttp_request;

/* An evhttp server on host:port (0: any free port) where every method reaches 'cb' (so a wrong
 * one gets the caller's JSON 405, not evhttp's HTML). Returns it with *bound and *port_out set,
 * or NULL with err filled. The caller frees it with evhttp_free. */
struct evhttp *httpd_listen(struct event_base *base, const char *host, int port,
                            size_t max_body, size_t max_headers,
                            void (*cb)(struct evhttp_request *, void *), void *arg,
                            struct evhttp_bound_socket **bound, int *port_out, char *err,
                            size_t errlen);

/* Per-request socket set-up, cheap and idempotent: TCP_NODELAY; SO_SNDBUF when sndbuf > 0;
 * with watch_close, reading stays on before any reply starts so a peer that leaves is seen at
 * once (evhttp's close callback fires). */
void httpd_tune(struct evhttp_request *req, int sndbuf, int watch_close);

#endif
