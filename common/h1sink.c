/* The HTTP/1.1 sink: one evhttp response. It writes to the socket itself while nothing is
 * queued, frames the chunks itself, counts what left the connection's output buffer, and sees
 * the peer's close at once (TCP_INFO tells a FIN from an RST). */
#include "h1sink.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>

#include "httpd.h"
#include "httpguard.h"
#include "sink.h"

#define H1SINK_DIRECT_MAX 2048 /* framed writes up to this size may skip evhttp's buffer */

struct h1sink {
    struct sink base;               /* first: the ops get this pointer back */
    struct evhttp_request *req;     /* NULL once complete or the peer left */
    struct evhttp_connection *conn; /* NULL once unhooked */
    struct evbuffer *out;           /* the connection's output buffer, for drain counting */
    evutil_socket_t fd;             /* for direct writes while that buffer is empty */
    struct evbuffer_cb_entry *drain;
    struct evbuffer *scratch;
    int chunked;                   /* we frame chunks ourselves, so we can send a trailer */
    struct evhttp_request *orphan; /* detached by evhttp after a peer close; freed with us */
    char *cork;                    /* sink_cork's buffer while corked, else NULL */
    size_t cork_len, cork_cap;
    int cork_marks; /* the marks of the writes gathered there */
};

static void unhook(struct h1sink *h)
{
    h->cork = NULL; /* what it gathered was never accounted for: it just never leaves */
    h->cork_len = 0;
    h->cork_marks = 0;
    if (h->drain && h->out)
        evbuffer_remove_cb_entry(h->out, h->drain);
    h->drain = NULL;
    h->out = NULL;
    h->fd = -1;
    if (h->conn)
        evhttp_connection_set_closecb(h->conn, NULL, NULL);
    h->conn = NULL;
}

static void drain_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    (void)buf;
    struct h1sink *h = arg;
    if (info->n_deleted > 0)
        sink_drained(&h->base, info->n_deleted);
}

static void header_op(struct sink *s, const char *name, const char *value)
{
    struct h1sink *h = (struct h1sink *)s;
    evhttp_add_header(evhttp_request_get_output_headers(h->req), name, value);
}

/* Sends the status line and headers, then takes the framing over and hooks drain counting. */
static void start_op(struct sink *s, int status)
{
    struct h1sink *h = (struct h1sink *)s;
    struct evhttp_request *req = h->req;
    evhttp_send_reply_start(req, status, NULL);
    /* evhttp framed nothing yet; take the framing over so the last chunk can carry a trailer
     * (RFC 9112 7.1.2). HTTP/1.0 peers get a close-delimited body instead. */
    h->chunked = req->chunked;
    req->chunked = 0;
    struct bufferevent *bev = evhttp_connection_get_bufferevent(h->conn);
    h->out = bufferevent_get_output(bev);
    h->fd = httpd_direct_fd(bev); /* -1 under TLS: every byte goes through the session */
    /* the head still waits in the buffer: it drains first, so it counts as queued */
    sink_queued(s, evbuffer_get_length(h->out), 0, 0);
    h->drain = evbuffer_add_cb(h->out, drain_cb, h);
}

/* Whether a write may skip evhttp: a plain socket with nothing queued before it. */
static int can_direct(const struct h1sink *h)
{
    return h->out && h->fd >= 0 && evbuffer_get_length(h->out) == 0;
}

/* Frames one chunk (or not, for a close-delimited body) into dst, which has room for len + 16
 * bytes; returns the framed length. */
static size_t frame_chunk(const struct h1sink *h, char *dst, const char *data, size_t len)
{
    size_t hl = 0;
    if (h->chunked) {
        static const char hex[] = "0123456789abcdef";
        char tmp[16];
        size_t k = 0;
        for (size_t v = len; k == 0 || v; v >>= 4)
            tmp[k++] = hex[v & 15];
        while (k)
            dst[hl++] = tmp[--k];
        dst[hl++] = '\r';
        dst[hl++] = '\n';
    }
    memcpy(dst + hl, data, len);
    hl += len;
    if (h->chunked) {
        dst[hl++] = '\r';
        dst[hl++] = '\n';
    }
    return hl;
}

/* Sends framed bytes: straight to the socket while nothing is queued before them, the rest
 * (or all, when the socket is full or failed) through evhttp, whose path notices errors and
 * tells us through callbacks. */
static void send_framed(struct h1sink *h, const char *frame, size_t flen, int mark)
{
    struct sink *s = &h->base;
    struct evbuffer *b = h->scratch;
    size_t off = 0;
    if (can_direct(h)) {
        ssize_t n = send(h->fd, frame, flen, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            sink_queued(s, flen, (size_t)n, mark);
            if ((size_t)n == flen)
                return;
            /* partly sent: the rest waits in the buffer, and drain counting finishes it */
            off = (size_t)n;
        }
    }
    evbuffer_drain(b, evbuffer_get_length(b));
    evbuffer_add(b, frame + off, flen - off);
    if (off == 0)
        sink_queued(s, flen, 0, mark);
    evhttp_send_reply_chunk(h->req, b);
}

/* Sends what the cork gathered, and ends the cork. */
static void flush_cork(struct h1sink *h)
{
    char *buf = h->cork;
    size_t len = h->cork_len;
    int marks = h->cork_marks;
    h->cork = NULL;
    h->cork_len = 0;
    h->cork_marks = 0;
    if (buf && len > 0 && h->req)
        send_framed(h, buf, len, marks);
}

/* While nothing is queued, a small write goes straight to the socket: going through evhttp
 * costs two epoll_ctl calls and a loop pass per token, which at thousands of streams is most of
 * the CPU. Bytes only reach the buffer when the socket is full, so order is kept. Corked, it
 * joins the cork's buffer, which is sent when full and at uncork. */
static void write_op(struct sink *s, const char *data, size_t len, int mark)
{
    struct h1sink *h = (struct h1sink *)s;
    if (h->cork && h->cork_len + len + 16 > h->cork_cap) {
        char *buf = h->cork;
        size_t cap = h->cork_cap;
        flush_cork(h);
        if (can_direct(h) && len + 16 <= cap) {
            h->cork = buf;
            h->cork_cap = cap;
        }
    }
    if (h->cork) {
        h->cork_len += frame_chunk(h, h->cork + h->cork_len, data, len);
        h->cork_marks += mark;
        return;
    }
    char frame[H1SINK_DIRECT_MAX];
    if (can_direct(h) && len + 16 <= sizeof frame) {
        send_framed(h, frame, frame_chunk(h, frame, data, len), mark);
        return;
    }
    struct evbuffer *b = h->scratch;
    evbuffer_drain(b, evbuffer_get_length(b));
    if (h->chunked)
        evbuffer_add_printf(b, "%zx\r\n", len);
    evbuffer_add(b, data, len);
    if (h->chunked)
        evbuffer_add(b, "\r\n", 2);
    sink_queued(s, evbuffer_get_length(b), 0, mark);
    evhttp_send_reply_chunk(h->req, b);
}

/* Only over a plain socket with nothing queued: anything else goes through evhttp anyway. */
static void cork_op(struct sink *s, char *buf, size_t cap)
{
    struct h1sink *h = (struct h1sink *)s;
    flush_cork(h);
    if (can_direct(h) && cap > 16) {
        h->cork = buf;
        h->cork_cap = cap;
    }
}

static void uncork_op(struct sink *s)
{
    flush_cork((struct h1sink *)s);
}

/* The chunked body's last chunk, with the trailer if any; completion (or a close) arrives
 * through callbacks. */
static void end_op(struct sink *s, const char *trailer_name, const char *trailer_value)
{
    struct h1sink *h = (struct h1sink *)s;
    struct evhttp_request *req = h->req;
    flush_cork(h);
    if (h->chunked) {
        char last[160];
        int n = trailer_name ? snprintf(last, sizeof last, "0\r\n%.64s: %.64s\r\n\r\n",
                                        trailer_name, trailer_value ? trailer_value : "")
                             : snprintf(last, sizeof last, "0\r\n\r\n");
        struct evbuffer *b = h->scratch;
        evbuffer_drain(b, evbuffer_get_length(b));
        evbuffer_add(b, last, (size_t)n);
        sink_queued(s, (size_t)n, 0, 0);
        evhttp_send_reply_chunk(req, b);
    }
    evhttp_send_reply_end(req);
}

static void reply_op(struct sink *s, int status, const char *body, size_t len)
{
    struct h1sink *h = (struct h1sink *)s;
    struct evbuffer *b = h->scratch;
    evbuffer_drain(b, evbuffer_get_length(b));
    evbuffer_add(b, body, len);
    evhttp_send_reply(h->req, status, httpguard_reason(status), b);
}

/* No last chunk: the body just stops, and the connection's close (Connection: close, sent at
 * the start) tells the peer it is cut. */
static void cut_op(struct sink *s)
{
    struct h1sink *h = (struct h1sink *)s;
    flush_cork(h);
    h->chunked = 0;
    evhttp_send_reply_end(h->req);
}

static void abort_op(struct sink *s)
{
    struct h1sink *h = (struct h1sink *)s;
    struct evhttp_connection *conn = evhttp_request_get_connection(h->req);
    unhook(h); /* evhttp_connection_free calls the close callback */
    h->req = NULL;
    evhttp_connection_free(conn); /* frees the request with it */
}

static void detach_op(struct sink *s)
{
    struct h1sink *h = (struct h1sink *)s;
    unhook(h);
    /* still ours or still flushing: evhttp must not call back into a freed sink */
    if (h->req && s->state != SINK_DONE)
        httpguard_on_complete(h->req, NULL, NULL);
    h->req = NULL;
}

static uint64_t unsent_op(const struct sink *s)
{
    const struct h1sink *h = (const struct h1sink *)s;
    return (h->out ? evbuffer_get_length(h->out) : 0) + h->cork_len;
}

static void free_op(struct sink *s)
{
    struct h1sink *h = (struct h1sink *)s;
    if (h->orphan)
        evhttp_request_free(h->orphan);
    free(h);
}

static const struct sink_ops h1sink_ops = {
    .name = "http/1.1",
    .header = header_op,
    .start = start_op,
    .write = write_op,
    .end = end_op,
    .reply = reply_op,
    .cut = cut_op,
    .abort = abort_op,
    .detach = detach_op,
    .cork = cork_op,
    .uncork = uncork_op,
    .unsent = unsent_op,
    .free = free_op,
};

static void complete_cb(struct evhttp_request *req, void *arg)
{
    (void)req;
    struct h1sink *h = arg;
    unhook(h);
    h->req = NULL;
    sink_completed(&h->base);
}

static enum sink_close peer_close_kind(struct evhttp_connection *conn)
{
    struct bufferevent *bev = evhttp_connection_get_bufferevent(conn);
    evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
        return SINK_CLOSE_RST;
    /* After a FIN our side sits in CLOSE_WAIT. Under TLS a peer's close_notify ends the session
     * before its FIN may have arrived: an orderly close all the same. */
    if (ti.tcpi_state == TCP_CLOSE_WAIT ||
        (ti.tcpi_state == TCP_ESTABLISHED && httpd_direct_fd(bev) < 0))
        return SINK_CLOSE_FIN;
    /* CLOSED: either the peer reset, or it sent a FIN and a token we wrote after it drew an RST
     * from its kernel. In the second case our read saw the end of stream first and left the
     * reset's error pending; a reset read first leaves no error behind. */
    int soerr = 0;
    len = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 &&
        (soerr == ECONNRESET || soerr == EPIPE))
        return SINK_CLOSE_FIN;
    return SINK_CLOSE_RST;
}

/* evhttp calls this from inside its connection teardown: the owner hears of it, and frees the
 * sink later. A request whose reply we had not ended was detached by evhttp and is ours to
 * free; one whose reply we ended is freed by evhttp itself. */
static void close_cb(struct evhttp_connection *conn, void *arg)
{
    struct h1sink *h = arg;
    enum sink_close kind = peer_close_kind(conn);
    h->orphan = h->base.state == SINK_OPEN ? h->req : NULL;
    h->req = NULL;
    unhook(h);
    sink_closed(&h->base, kind, 0);
}

struct sink *h1sink_new(struct evhttp_request *req, struct evbuffer *scratch)
{
    struct h1sink *h = calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    sink_init(&h->base, &h1sink_ops);
    h->req = req;
    h->conn = evhttp_request_get_connection(req);
    h->fd = -1;
    h->scratch = scratch;
    evhttp_connection_set_closecb(h->conn, close_cb, h);
    httpguard_on_complete(req, complete_cb, h);
    return &h->base;
}
