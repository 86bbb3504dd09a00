/* Shared evhttp set-up. */
#include "httpd.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "h2conn.h"
#include "tls.h"

struct httpd_side {
    struct tls_server *tls;
    struct h2server *h2;
};

struct evhttp *httpd_listen(struct event_base *base, const char *host, int port,
                            size_t max_body, size_t max_headers,
                            void (*cb)(struct evhttp_request *, void *), void *arg,
                            struct evhttp_bound_socket **bound, int *port_out, char *err,
                            size_t errlen)
{
    struct evhttp *http = evhttp_new(base);
    if (http == NULL) {
        snprintf(err, errlen, "evhttp_new: out of memory");
        return NULL;
    }
    evhttp_set_max_body_size(http, max_body);
    evhttp_set_max_headers_size(http, max_headers);
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                         EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH |
                                         EVHTTP_REQ_OPTIONS | EVHTTP_REQ_HEAD);
    evhttp_set_gencb(http, cb, arg);
    *bound = evhttp_bind_socket_with_handle(http, host, (ev_uint16_t)port);
    if (*bound == NULL) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", host, port, strerror(errno));
        goto fail;
    }
    /* evhttp listens with a backlog of 128: a burst of thousands of connections would wait for
     * SYN retries (a second each) and look like a slow gateway. Listening again sets it. */
    if (listen(evhttp_bound_socket_get_fd(*bound), HTTPD_LISTEN_BACKLOG) != 0) {
        snprintf(err, errlen, "listen on %s:%d: %s", host, port, strerror(errno));
        goto fail;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(evhttp_bound_socket_get_fd(*bound), (struct sockaddr *)&ss, &sl) != 0) {
        snprintf(err, errlen, "getsockname: %s", strerror(errno));
        goto fail;
    }
    *port_out = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                         : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return http;
fail:
    evhttp_free(http);
    *bound = NULL;
    return NULL;
}

int httpd_open(struct event_base *base, const struct httpd_spec *spec, struct httpd *h,
               char *err, size_t errlen)
{
    memset(h, 0, sizeof *h);
    h->side = calloc(1, sizeof *h->side);
    if (h->side == NULL) {
        snprintf(err, errlen, "httpd: out of memory");
        return -1;
    }
    /* the guard replaces the callback at once; evhttp_set_gencb needs one to start with */
    h->http = httpd_listen(base, spec->host, spec->port, spec->limits.max_body,
                           spec->limits.max_head, spec->cb, spec->arg, &h->bound, &h->port, err,
                           errlen);
    if (h->http == NULL) {
        httpd_close(h);
        return -1;
    }
    h->guard = httpguard_new(base, h->http, h->bound, &spec->limits, spec->cb, spec->arg,
                             spec->reject, spec->log, spec->arg);
    if (h->guard == NULL) {
        snprintf(err, errlen, "httpd: out of memory");
        httpd_close(h);
        return -1;
    }
    return 0;
}

static struct bufferevent *tls_bev_cb(struct event_base *base, void *arg)
{
    struct httpd_side *side = arg;
    return tls_server_bev_alpn(side->tls, base, side->h2 != NULL);
}

void httpd_set_tls(struct httpd *h, struct tls_server *t)
{
    h->side->tls = t;
    httpguard_set_bev(h->guard, t != NULL ? tls_bev_cb : NULL, h->side);
}

int httpd_set_h2(struct httpd *h, const struct h2server_spec *spec, char *err, size_t errlen)
{
    if (h->side->h2 != NULL) {
        snprintf(err, errlen, "httpd: HTTP/2 is already on");
        return -1;
    }
    h->side->h2 = h2server_new(spec);
    if (h->side->h2 == NULL) {
        snprintf(err, errlen, "httpd: out of memory");
        return -1;
    }
    httpguard_set_h2(h->guard, h2server_take, h2server_upgrade, h2server_gone, h->side->h2);
    return 0;
}

struct h2server_stats httpd_h2_stats(const struct httpd *h)
{
    struct h2server_stats st;
    memset(&st, 0, sizeof st);
    if (h->side != NULL && h->side->h2 != NULL)
        st = h2server_stats(h->side->h2);
    return st;
}

int httpd_direct_fd(struct bufferevent *bev)
{
    return bev == NULL || tls_bev_is_tls(bev) ? -1 : bufferevent_getfd(bev);
}

void httpd_close(struct httpd *h)
{
    if (h->http != NULL)
        evhttp_free(h->http); /* its connections' guards go with them, HTTP/2 ones too */
    httpguard_free(h->guard);
    if (h->side != NULL)
        h2server_free(h->side->h2);
    free(h->side);
    memset(h, 0, sizeof *h);
}

void httpd_tune(struct evhttp_request *req, int sndbuf, int watch_close)
{
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evhttp_request_get_connection(req));
    evutil_socket_t fd = bufferevent_getfd(bev);
    /* one small write per token: without NODELAY, Nagle holds each behind the last ACK */
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    /* a pinned send buffer makes a stalled reader's backpressure reach our buffer sooner */
    if (fd >= 0 && sndbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    if (!watch_close)
        return;
    /* After reading a body evhttp stops reading until a reply starts, so a peer that leaves
     * before then would go unnoticed until we write. Do what evhttp itself does while writing:
     * no read callback (bytes wait in the input buffer), reading on, so EOF and RST reach
     * evhttp's error callback and from there the close callback. */
    bufferevent_data_cb wr = NULL;
    bufferevent_event_cb ev = NULL;
    void *arg = NULL;
    bufferevent_getcb(bev, NULL, &wr, &ev, &arg);
    bufferevent_setcb(bev, NULL, wr, ev, arg);
    bufferevent_enable(bev, EV_READ);
}
