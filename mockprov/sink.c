/* A sink: one HTTP response attached to a generation. It writes events to the peer, counts the
 * tokens whose bytes left for the kernel, and sees the peer's close at once (TCP_INFO tells a FIN
 * from an RST). */
#include "sink.h"

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

#include "mock_internal.h"
#include "clock.h"
#include "gen.h"
#include "httpd.h"
#include "reply.h"

#define MOCK_TOKEN_QUEUE_MAX LEDGER_MAX_TOKENS

/* Publishes the sink's written count to its generation and ledger record. The record adds up
 * every sink's tokens: a background response's first stream and each stream that resumed it
 * wrote their own (the largest one alone undercounted a resumed response). */
static void sink_note_written(struct sink *s)
{
    struct gen *g = s->g;
    if (g == NULL)
        return;
    if (s->written > g->written_max) {
        g->written_max = s->written;
        g->t_written_ns = clock_now_ns();
    }
    if (g->rec && s->written > s->written_noted)
        g->rec->written_tokens += s->written - s->written_noted;
    s->written_noted = s->written;
}

static void drain_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    (void)buf;
    struct sink *s = arg;
    if (info->n_deleted == 0)
        return;
    s->drained_bytes += info->n_deleted;
    while (s->tok_n && s->tok_end[s->tok_head] <= s->drained_bytes) {
        s->tok_head++;
        s->tok_n--;
        s->written++;
    }
    if (s->tok_n == 0)
        s->tok_head = 0;
    sink_note_written(s);
}

void sink_detach(struct sink *s)
{
    if (s->drain && s->out)
        evbuffer_remove_cb_entry(s->out, s->drain);
    s->drain = NULL;
    s->out = NULL;
    s->fd = -1;
    if (s->conn)
        evhttp_connection_set_closecb(s->conn, NULL, NULL);
    s->conn = NULL;
    s->live = 0;
}

static int tok_push(struct sink *s, uint64_t end)
{
    if (s->tok_head + s->tok_n == s->tok_cap) {
        if (s->tok_head > 0) {
            memmove(s->tok_end, s->tok_end + s->tok_head, s->tok_n * sizeof *s->tok_end);
            s->tok_head = 0;
        } else {
            size_t cap = s->tok_cap ? s->tok_cap * 2 : 16;
            if (cap > MOCK_TOKEN_QUEUE_MAX)
                return -1;
            uint64_t *tmp = realloc(s->tok_end, cap * sizeof *tmp);
            if (tmp == NULL)
                return -1;
            s->tok_end = tmp;
            s->tok_cap = cap;
        }
    }
    s->tok_end[s->tok_head + s->tok_n++] = end;
    return 0;
}

#define SINK_DIRECT_MAX 2048 /* framed events up to this size may skip evhttp's buffer */

/* Writes bytes to the peer in one HTTP chunk. is_token: counts for written_tokens.
 * While nothing is queued, a small event goes straight to the socket: going through evhttp
 * costs two epoll_ctl calls and a loop pass per token, which at thousands of streams is most of
 * the mock's CPU. Bytes only reach the buffer when the socket is full, so order is kept. */
void sink_write(struct sink *s, const char *data, size_t len, int is_token)
{
    if (!s->live || len == 0)
        return;
    char frame[SINK_DIRECT_MAX];
    size_t flen = 0;
    if (s->out && s->fd >= 0 && evbuffer_get_length(s->out) == 0 && len + 16 <= sizeof frame) {
        int h = s->chunked ? snprintf(frame, sizeof frame, "%zx\r\n", len) : 0;
        memcpy(frame + h, data, len);
        flen = (size_t)h + len;
        if (s->chunked) {
            memcpy(frame + flen, "\r\n", 2);
            flen += 2;
        }
        ssize_t n = send(s->fd, frame, flen, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            s->queued_bytes += (uint64_t)n;
            s->drained_bytes += (uint64_t)n;
            if ((size_t)n == flen) {
                if (is_token)
                    s->written++;
                sink_note_written(s);
                return;
            }
            /* partly sent: the rest waits in the buffer, and drain counting finishes it */
            if (is_token && tok_push(s, s->queued_bytes + (flen - (size_t)n)) != 0)
                s->written++;
            s->queued_bytes += flen - (size_t)n;
            struct evbuffer *b = s->m->scratch;
            evbuffer_drain(b, evbuffer_get_length(b));
            evbuffer_add(b, frame + n, flen - (size_t)n);
            evhttp_send_reply_chunk(s->req, b);
            return;
        }
        /* EAGAIN or an error: evhttp's path notices errors and tells us through callbacks */
    }
    struct evbuffer *b = s->m->scratch;
    evbuffer_drain(b, evbuffer_get_length(b));
    if (s->chunked)
        evbuffer_add_printf(b, "%zx\r\n", len);
    evbuffer_add(b, data, len);
    if (s->chunked)
        evbuffer_add(b, "\r\n", 2);
    s->queued_bytes += evbuffer_get_length(b);
    if (is_token && tok_push(s, s->queued_bytes) != 0)
        s->written++; /* queue cap reached: count it as written rather than lose it */
    evhttp_send_reply_chunk(s->req, b);
}

static void sink_complete_cb(struct evhttp_request *req, void *arg)
{
    (void)req;
    struct sink *s = arg;
    sink_detach(s);
    s->req = NULL;
    if (s->g)
        gen_maybe_finish(s->g);
}

/* Ends a streaming response: the chunked body's last chunk, with the trailer if any. */
void sink_end(struct sink *s, int64_t trailer)
{
    if (!s->live)
        return;
    if (s->chunked) {
        char last[96];
        int n = trailer >= 0
                    ? snprintf(last, sizeof last, "0\r\n" MOCK_TRAILER_NAME ": %lld\r\n\r\n",
                               (long long)trailer)
                    : snprintf(last, sizeof last, "0\r\n\r\n");
        struct evbuffer *b = s->m->scratch;
        evbuffer_drain(b, evbuffer_get_length(b));
        evbuffer_add(b, last, (size_t)n);
        s->queued_bytes += (uint64_t)n;
        evhttp_send_reply_chunk(s->req, b);
    }
    s->live = 0;
    s->handed = 1;
    evhttp_send_reply_end(s->req); /* completion (or a close) arrives through callbacks */
}

static int peer_close_kind(struct evhttp_connection *conn)
{
    struct bufferevent *bev = evhttp_connection_get_bufferevent(conn);
    evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
        return LEDGER_CLOSE_RST;
    /* After a FIN our side sits in CLOSE_WAIT. Under TLS a peer's close_notify ends the session
     * before its FIN may have arrived: an orderly close all the same. */
    if (ti.tcpi_state == TCP_CLOSE_WAIT ||
        (ti.tcpi_state == TCP_ESTABLISHED && httpd_direct_fd(bev) < 0))
        return LEDGER_CLOSE_FIN;
    /* CLOSED: either the peer reset, or it sent a FIN and a token we wrote after it drew an RST
     * from its kernel. In the second case our read saw the end of stream first and left the
     * reset's error pending; a reset read first leaves no error behind. */
    int soerr = 0;
    len = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 &&
        (soerr == ECONNRESET || soerr == EPIPE))
        return LEDGER_CLOSE_FIN;
    return LEDGER_CLOSE_RST;
}

/* evhttp calls this from inside its connection teardown: record, then defer every free. */
static void peer_close_cb(struct evhttp_connection *conn, void *arg)
{
    struct sink *s = arg;
    uint64_t now = clock_now_ns();
    int kind = peer_close_kind(conn);
    struct mock *m = s->m;
    struct gen *g = s->g;
    /* A request whose reply we had not ended was detached by evhttp and is ours to free; one
     * whose reply we ended is freed by evhttp itself. */
    s->orphan = s->handed ? NULL : s->req;
    s->req = NULL;
    sink_detach(s);
    s->reap_next = m->reap_sinks;
    m->reap_sinks = s;
    mock_schedule_reap(m);
    if (g == NULL)
        return;
    if (s->creator && !g->cancelled)
        gen_peer_gone(g, now, (enum ledger_close)kind);
    else if (s->streaming && g->rq.background && !g->cancelled && g->rec &&
             g->rec->t_peer_closed_ns == LEDGER_NO_TIME) {
        /* a background response's stream dropped: generation goes on for a later resume (or
         * cancel), but the record keeps the first close, as it does for any other stream */
        g->rec->t_peer_closed_ns = now;
        g->rec->close_kind = (enum ledger_close)kind;
    }
    gen_maybe_finish(g);
}

struct sink *sink_new(struct gen *g, struct evhttp_request *req, int streaming, int creator)
{
    struct sink *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->m = g->m;
    s->g = g;
    s->req = req;
    s->conn = evhttp_request_get_connection(req);
    s->streaming = streaming;
    s->creator = creator;
    s->starting_after = -1;
    s->fd = -1;
    s->live = 1;
    s->next = g->sinks;
    g->sinks = s;
    evhttp_connection_set_closecb(s->conn, peer_close_cb, s);
    httpguard_on_complete(req, sink_complete_cb, s);
    return s;
}

/* Sends the status line and headers of a stream, then hooks drain counting. */
void sink_start_stream(struct sink *s, const struct gen *g)
{
    struct evhttp_request *req = s->req;
    reply_headers(req, g->rq.api, g->rec ? g->rec->request_id : g->w.id,
                  "text/event-stream; charset=utf-8");
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Cache-Control", "no-cache");
    if (g->prof->report == PROFILE_REPORT_TRAILER)
        evhttp_add_header(h, "Trailer", MOCK_TRAILER_NAME);
    if (g->fault.truncate_after >= 0)
        evhttp_add_header(h, "Connection", "close"); /* so ending early really drops the link */
    evhttp_send_reply_start(req, 200, "OK");
    /* evhttp framed nothing yet; take the framing over so the last chunk can carry a trailer
     * (RFC 9112 7.1.2). HTTP/1.0 peers get a close-delimited body instead. */
    s->chunked = req->chunked;
    req->chunked = 0;
    struct bufferevent *bev = evhttp_connection_get_bufferevent(s->conn);
    s->out = bufferevent_get_output(bev);
    s->fd = httpd_direct_fd(bev); /* -1 under TLS: every byte goes through the session */
    s->queued_bytes = evbuffer_get_length(s->out);
    s->drain = evbuffer_add_cb(s->out, drain_cb, s);
}
