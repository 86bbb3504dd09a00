/* HTTP/2 server connections on nghttp2 (h2conn.h). nghttp2 frames; this file moves bytes
 * between it and the bufferevent evhttp accepted, and keeps a FIFO of the frames in the
 * output buffer in the order they were packed, so a DATA frame's body bytes count drained (and
 * an END_STREAM completes its response) only once the kernel took that frame. */
#include "h2conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <nghttp2/nghttp2.h>

#include "h1exchange.h"
#include "h2sink.h"
#include "httpguard.h"
#include "tls.h"

struct h2server {
    struct h2server_spec spec;
    struct h2server_stats st;
    nghttp2_session_callbacks *cbs;
};

/* One frame in the output buffer: 'bytes' on the wire, 'payload' of them DATA body bytes. */
struct h2frame {
    struct h2stream *st; /* NULL: a connection frame, or a stream since forgotten */
    size_t bytes;
    size_t payload;
    int ends;
};

struct h2conn {
    struct h2server *srv;
    struct bufferevent *bev;
    struct evhttp_connection *evcon;
    struct evbuffer *out;
    struct evbuffer_cb_entry *out_cb;
    nghttp2_session *ng;
    struct event *kick_ev; /* nghttp2_session_send from the loop, never from its callbacks */
    struct event *idle_ev;
    struct h2frame *fifo;
    size_t fifo_head, fifo_n, fifo_cap;
    size_t head_done; /* bytes of the oldest frame already gone */
    size_t unframed;  /* bytes handed to the buffer since the last frame was reported sent */
    struct h2stream *streams;
    size_t open_streams;
    int goaway;
    uint32_t goaway_code;
    int blocked; /* the send callback refused bytes: the output buffer is at its cap */
    int broken;  /* nghttp2 gave up on the session: drop input, close once GOAWAY is out */
    int freeing; /* our own evhttp_connection_free is running */
    int ended;
};

/* What a stream forgotten by its sink leaves as nghttp2's stream data: counted open, no one. */
static char tomb;

static struct h2stream *stream_of(struct h2conn *c, int32_t id)
{
    void *u = c->ng ? nghttp2_session_get_stream_user_data(c->ng, id) : NULL;
    return u == &tomb ? NULL : u;
}

/* ---- the frame FIFO ------------------------------------------------------------------------ */

static void fifo_push(struct h2conn *c, struct h2stream *st, size_t bytes, size_t payload,
                      int ends)
{
    if (c->fifo_n > 0 && st == NULL) {
        struct h2frame *t = &c->fifo[(c->fifo_head + c->fifo_n - 1) % c->fifo_cap];
        if (t->st == NULL) { /* connection frames only need their size */
            t->bytes += bytes;
            return;
        }
    }
    if (c->fifo_n == c->fifo_cap) {
        size_t cap = c->fifo_cap ? c->fifo_cap * 2 : 64;
        struct h2frame *f = malloc(cap * sizeof *f);
        if (f == NULL) { /* count it as gone rather than lose the order */
            if (st != NULL)
                h2stream_frame_out(st, payload, ends);
            return;
        }
        for (size_t i = 0; i < c->fifo_n; i++)
            f[i] = c->fifo[(c->fifo_head + i) % c->fifo_cap];
        free(c->fifo);
        c->fifo = f;
        c->fifo_cap = cap;
        c->fifo_head = 0;
    }
    struct h2frame *f = &c->fifo[(c->fifo_head + c->fifo_n) % c->fifo_cap];
    f->st = st;
    f->bytes = bytes;
    f->payload = payload;
    f->ends = ends;
    c->fifo_n++;
}

void h2conn_unlink(struct h2conn *c, struct h2stream *st)
{
    for (size_t i = 0; i < c->fifo_n; i++) {
        struct h2frame *f = &c->fifo[(c->fifo_head + i) % c->fifo_cap];
        if (f->st == st)
            f->st = NULL;
    }
    if (st->prev != NULL)
        st->prev->next = st->next;
    else if (c->streams == st)
        c->streams = st->next;
    if (st->next != NULL)
        st->next->prev = st->prev;
    st->prev = st->next = NULL;
    if (!st->ng_closed && c->ng != NULL)
        nghttp2_session_set_stream_user_data(c->ng, st->id, &tomb);
    st->conn = NULL;
    st->ng = NULL;
}

void h2conn_kick(struct h2conn *c)
{
    if (c != NULL && c->kick_ev != NULL)
        event_active(c->kick_ev, EV_WRITE, 0);
}

/* The output buffer drained into the socket (or the TLS session): pop the frames that left. */
static void out_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct h2conn *c = arg;
    size_t n = info->n_deleted;
    while (n > 0 && c->fifo_n > 0) {
        struct h2frame *f = &c->fifo[c->fifo_head];
        size_t left = f->bytes - c->head_done;
        if (n < left) {
            c->head_done += n;
            break;
        }
        n -= left;
        c->head_done = 0;
        struct h2frame fr = *f;
        c->fifo_head = (c->fifo_head + 1) % c->fifo_cap;
        c->fifo_n--;
        if (fr.st != NULL)
            h2stream_frame_out(fr.st, fr.payload, fr.ends);
    }
    size_t len = evbuffer_get_length(buf);
    if (info->n_deleted > 0 && c->ng != NULL &&
        ((c->blocked && len < H2CONN_OUTPUT_CAP / 2) ||
         (len == 0 && !nghttp2_session_want_read(c->ng) && !nghttp2_session_want_write(c->ng)))) {
        c->blocked = 0;
        h2conn_kick(c);
    }
}

/* ---- the end ------------------------------------------------------------------------------- */

/* The session ends: every stream still answering hears 'kind' (after the connection is freed,
 * so a callback finds nothing half torn down); unowned streams go now, owned ones stay their
 * owners' until sink_free. 'by_evhttp': evhttp is freeing the connection itself. */
static void conn_end(struct h2conn *c, enum sink_close kind, uint32_t code, int by_evhttp)
{
    if (c->ended)
        return;
    c->ended = 1;
    c->srv->st.open--;
    evbuffer_remove_cb_entry(c->out, c->out_cb);
    bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
    event_free(c->kick_ev);
    event_free(c->idle_ev);
    c->kick_ev = c->idle_ev = NULL;
    nghttp2_session_del(c->ng);
    c->ng = NULL;
    struct h2stream *notify = NULL;
    for (struct h2stream *st = c->streams, *next; st != NULL; st = next) {
        next = st->next;
        if (h2stream_conn_gone(st)) {
            st->next = notify;
            notify = st;
        } else if (!st->owned) {
            h2stream_destroy(st);
        }
    }
    c->streams = NULL;
    if (!by_evhttp) {
        c->freeing = 1;
        evhttp_connection_free(c->evcon); /* frees the bufferevent and closes the socket */
    }
    for (struct h2stream *st = notify, *next; st != NULL; st = next) {
        next = st->next;
        st->next = NULL;
        sink_closed(&st->base, kind, code);
    }
    free(c->fifo);
    free(c);
}

/* How the peer left, as h1sink tells it: a FIN, a reset, or a GOAWAY before either. */
static enum sink_close close_kind(struct h2conn *c, short what, int err)
{
    if (c->goaway)
        return SINK_CLOSE_GOAWAY;
    if (what & BEV_EVENT_EOF)
        return SINK_CLOSE_FIN;
    if (err == ECONNRESET)
        return SINK_CLOSE_RST;
    if (tls_bev_is_tls(c->bev))
        return SINK_CLOSE_FIN; /* a TLS session's unclean end carries no errno */
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    if (fd >= 0 && getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
        ti.tcpi_state == TCP_CLOSE_WAIT)
        return SINK_CLOSE_FIN;
    return SINK_CLOSE_RST;
}

/* Sends what nghttp2 has; closes once it wants nothing more and the buffer is empty. Runs only
 * from the loop (it may free 'c'): the last thing a callback does. */
static void conn_pump(struct h2conn *c)
{
    if (nghttp2_session_send(c->ng) != 0 && !c->broken) {
        c->broken = 1;
        nghttp2_session_terminate_session(c->ng, NGHTTP2_INTERNAL_ERROR);
        nghttp2_session_send(c->ng);
    }
    if (!nghttp2_session_want_read(c->ng) && !nghttp2_session_want_write(c->ng) &&
        evbuffer_get_length(c->out) == 0)
        conn_end(c, c->goaway ? SINK_CLOSE_GOAWAY : SINK_CLOSE_FIN, c->goaway_code, 0);
}

static void read_input(struct h2conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t len = evbuffer_get_length(in);
    if (len == 0)
        return;
    if (!c->broken) {
        unsigned char *p = evbuffer_pullup(in, (ev_ssize_t)len);
        ssize_t rv = p ? nghttp2_session_mem_recv(c->ng, p, len) : -1;
        if (rv < 0) { /* a bad preface, or a failure of ours: GOAWAY and close */
            c->broken = 1;
            nghttp2_session_terminate_session(c->ng, NGHTTP2_PROTOCOL_ERROR);
        }
    }
    evbuffer_drain(in, len);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    struct h2conn *c = arg;
    read_input(c);
    conn_pump(c);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    struct h2conn *c = arg;
    int err = EVUTIL_SOCKET_ERROR();
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        /* what arrived with the close comes first: libevent's OpenSSL bufferevent reports an
         * EOF read in the same pass as the last bytes before it runs the read callback for
         * them, and those bytes may be the peer's GOAWAY */
        read_input(c);
        conn_end(c, close_kind(c, what, err), c->goaway ? c->goaway_code : 0, 0);
    }
}

static void kick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct h2conn *c = arg;
    read_input(c); /* the preface the guard saw, if the read callback has not run yet */
    conn_pump(c);
}

static void arm_idle(struct h2conn *c)
{
    unsigned ms = c->srv->spec.idle_timeout_ms;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(c->idle_ev, &tv);
}

static void idle_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct h2conn *c = arg;
    if (c->open_streams > 0)
        return;
    c->srv->st.idle_closed++;
    /* GOAWAY(NO_ERROR); the connection closes once it is out */
    nghttp2_session_terminate_session(c->ng, NGHTTP2_NO_ERROR);
    conn_pump(c);
}

/* ---- nghttp2 callbacks --------------------------------------------------------------------- */

static ssize_t send_cb(nghttp2_session *ng, const uint8_t *data, size_t len, int flags,
                       void *user)
{
    (void)ng;
    (void)flags;
    struct h2conn *c = user;
    size_t have = evbuffer_get_length(c->out);
    if (have >= H2CONN_OUTPUT_CAP) {
        if (!c->blocked)
            c->srv->st.output_capped++;
        c->blocked = 1;
        return NGHTTP2_ERR_WOULDBLOCK;
    }
    if (evbuffer_add(c->out, data, len) != 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    if (have + len > c->srv->st.output_peak)
        c->srv->st.output_peak = have + len;
    c->unframed += len;
    return (ssize_t)len;
}

static int frame_send_cb(nghttp2_session *ng, const nghttp2_frame *frame, void *user)
{
    struct h2conn *c = user;
    int32_t id = frame->hd.stream_id;
    struct h2stream *st = id != 0 ? stream_of(c, id) : NULL;
    size_t payload = 0;
    int ends = 0;
    if (frame->hd.type == NGHTTP2_DATA)
        payload = frame->hd.length - frame->data.padlen;
    if (frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS)
        ends = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (frame->hd.type == NGHTTP2_RST_STREAM && st != NULL && st->cutting)
        ends = 1;
    if (st != NULL && ends) {
        st->last_queued = 1;
        /* a reply sent before the request's end (413, 431): stop the upload (RFC 9113 8.1) */
        if (st->reset_after && !nghttp2_session_get_stream_remote_close(ng, id))
            nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, id, NGHTTP2_NO_ERROR);
    }
    fifo_push(c, st, c->unframed, payload, ends);
    c->unframed = 0;
    return 0;
}

static int begin_headers_cb(nghttp2_session *ng, const nghttp2_frame *frame, void *user)
{
    struct h2conn *c = user;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    struct h2stream *st = h2stream_new(c, ng, frame->hd.stream_id);
    if (st == NULL) {
        nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, frame->hd.stream_id,
                                  NGHTTP2_INTERNAL_ERROR);
        return 0;
    }
    st->next = c->streams;
    if (c->streams != NULL)
        c->streams->prev = st;
    c->streams = st;
    nghttp2_session_set_stream_user_data(ng, frame->hd.stream_id, st);
    c->open_streams++;
    c->srv->st.streams++;
    evtimer_del(c->idle_ev);
    return 0;
}

static int header_cb(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user)
{
    (void)ng;
    (void)flags;
    struct h2conn *c = user;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0; /* a request's trailers: nothing here reads them */
    struct h2stream *st = stream_of(c, frame->hd.stream_id);
    if (st == NULL)
        return 0;
    if (h2stream_header(st, name, namelen, value, valuelen, HTTPGUARD_MAX_HEAD) != 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets the stream */
    return 0;
}

static void deliver(struct h2conn *c, struct h2stream *st)
{
    const struct h2server_spec *sp = &c->srv->spec;
    if (st->reject != 0)
        c->srv->st.rejected++;
    h2stream_deliver(st, sp->request_cb, sp->reject_cb, sp->arg); /* 'st' may be gone now */
}

static int data_chunk_cb(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data,
                         size_t len, void *user)
{
    (void)ng;
    (void)flags;
    struct h2conn *c = user;
    struct h2stream *st = stream_of(c, id);
    if (st == NULL || st->delivered)
        return 0;
    h2stream_data(st, data, len, c->srv->spec.max_body);
    if (st->reject != 0) { /* answer now; the rest of the upload is reset after the reply */
        st->reset_after = 1;
        deliver(c, st);
    }
    return 0;
}

static int frame_recv_cb(nghttp2_session *ng, const nghttp2_frame *frame, void *user)
{
    (void)ng;
    struct h2conn *c = user;
    struct h2stream *st = NULL;
    switch (frame->hd.type) {
    case NGHTTP2_HEADERS:
    case NGHTTP2_DATA:
        st = stream_of(c, frame->hd.stream_id);
        if (st == NULL || st->delivered)
            break;
        if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) {
            deliver(c, st);
        } else if (st->reject != 0 && frame->hd.type == NGHTTP2_HEADERS) {
            st->reset_after = 1; /* 431 with a body still to come */
            deliver(c, st);
        }
        break;
    case NGHTTP2_RST_STREAM:
        c->srv->st.rst_received++;
        break;
    case NGHTTP2_GOAWAY:
        c->srv->st.goaway_received++;
        c->goaway = 1;
        c->goaway_code = frame->goaway.error_code;
        break;
    default:
        break;
    }
    return 0;
}

static int stream_close_cb(nghttp2_session *ng, int32_t id, uint32_t error_code, void *user)
{
    struct h2conn *c = user;
    void *u = nghttp2_session_get_stream_user_data(ng, id);
    if (u == NULL)
        return 0;
    if (c->open_streams > 0 && --c->open_streams == 0)
        arm_idle(c);
    if (u == &tomb)
        return 0;
    struct h2stream *st = u;
    h2stream_closed(st, error_code);
    if (!st->owned) {
        h2conn_unlink(c, st);
        h2stream_destroy(st);
    }
    return 0;
}

/* ---- the server ---------------------------------------------------------------------------- */

struct h2server *h2server_new(const struct h2server_spec *spec)
{
    struct h2server *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->spec = *spec;
    if (s->spec.max_concurrent_streams == 0)
        s->spec.max_concurrent_streams = H2CONN_DEFAULT_STREAMS;
    if (s->spec.idle_timeout_ms == 0)
        s->spec.idle_timeout_ms = H2CONN_DEFAULT_IDLE_MS;
    if (nghttp2_session_callbacks_new(&s->cbs) != 0) {
        free(s);
        return NULL;
    }
    nghttp2_session_callbacks_set_send_callback(s->cbs, send_cb);
    nghttp2_session_callbacks_set_on_frame_send_callback(s->cbs, frame_send_cb);
    nghttp2_session_callbacks_set_on_frame_recv_callback(s->cbs, frame_recv_cb);
    nghttp2_session_callbacks_set_on_begin_headers_callback(s->cbs, begin_headers_cb);
    nghttp2_session_callbacks_set_on_header_callback(s->cbs, header_cb);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(s->cbs, data_chunk_cb);
    nghttp2_session_callbacks_set_on_stream_close_callback(s->cbs, stream_close_cb);
    return s;
}

void h2server_free(struct h2server *s)
{
    if (s == NULL)
        return;
    nghttp2_session_callbacks_del(s->cbs);
    free(s);
}

struct h2server_stats h2server_stats(const struct h2server *s)
{
    return s->st;
}

/* A session on 'bev' with our SETTINGS queued; not yet reading. NULL when out of memory. */
static struct h2conn *conn_new(struct h2server *s, struct bufferevent *bev,
                               struct evhttp_connection *evcon)
{
    struct h2conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->srv = s;
    c->bev = bev;
    c->evcon = evcon;
    c->out = bufferevent_get_output(bev);
    struct event_base *base = bufferevent_get_base(bev);
    c->kick_ev = event_new(base, -1, 0, kick_cb, c);
    c->idle_ev = evtimer_new(base, idle_cb, c);
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, s->spec.max_concurrent_streams},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, HTTPGUARD_MAX_HEAD},
    };
    if (c->kick_ev == NULL || c->idle_ev == NULL ||
        nghttp2_session_server_new(&c->ng, s->cbs, c) != 0 ||
        nghttp2_submit_settings(c->ng, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof iv[0]) != 0) {
        if (c->ng != NULL)
            nghttp2_session_del(c->ng);
        if (c->kick_ev != NULL)
            event_free(c->kick_ev);
        if (c->idle_ev != NULL)
            event_free(c->idle_ev);
        free(c);
        return NULL;
    }
    return c;
}

static void conn_free_unstarted(struct h2conn *c)
{
    nghttp2_session_del(c->ng);
    event_free(c->kick_ev);
    event_free(c->idle_ev);
    free(c);
}

/* Takes the bufferevent: from now on no evhttp callback runs for it (evhttp's idle connection
 * only owns it, and has no timer on it: the guard cleared the timeouts). */
static int conn_start(struct h2conn *c)
{
    c->out_cb = evbuffer_add_cb(c->out, out_cb, c);
    if (c->out_cb == NULL)
        return -1;
    bufferevent_setcb(c->bev, read_cb, NULL, event_cb, c);
    bufferevent_set_timeouts(c->bev, NULL, NULL);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    int one = 1;
    if (fd >= 0) /* one small DATA frame per token: Nagle would hold each behind an ACK */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->srv->st.connections++;
    c->srv->st.open++;
    if (c->open_streams == 0)
        arm_idle(c);
    h2conn_kick(c); /* our SETTINGS, and the preface already read */
    return 0;
}

void *h2server_take(struct bufferevent *bev, struct evhttp_connection *evcon, void *arg)
{
    struct h2conn *c = conn_new(arg, bev, evcon);
    if (c != NULL && conn_start(c) != 0) {
        conn_free_unstarted(c);
        c = NULL;
    }
    return c;
}

/* base64url without padding (RFC 7540 3.2.1's HTTP2-Settings); returns the length, or -1. */
static long b64url_decode(const char *in, unsigned char *out, size_t cap)
{
    size_t n = 0;
    unsigned acc = 0;
    int bits = 0;
    for (const char *p = in; *p && *p != '='; p++) {
        int v;
        if (*p >= 'A' && *p <= 'Z')
            v = *p - 'A';
        else if (*p >= 'a' && *p <= 'z')
            v = *p - 'a' + 26;
        else if (*p >= '0' && *p <= '9')
            v = *p - '0' + 52;
        else if (*p == '-' || *p == '+')
            v = 62;
        else if (*p == '_' || *p == '/')
            v = 63;
        else
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n == cap)
                return -1;
            out[n++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return (long)n;
}

/* The HTTP/1.1 request as stream 1's: pseudo-headers from its line and Host, its fields
 * without the hop-by-hop ones of the upgrade, its body. */
static int upgrade_stream(struct h2stream *st, struct evhttp_request *req)
{
    const char *m = h1exchange_method_name(evhttp_request_get_command(req));
    const char *uri = evhttp_request_get_uri(req);
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    const char *host = evhttp_find_header(in, "Host");
    if (h2stream_header(st, (const uint8_t *)":method", 7, (const uint8_t *)m, strlen(m),
                        HTTPGUARD_MAX_HEAD) != 0 ||
        h2stream_header(st, (const uint8_t *)":path", 5, (const uint8_t *)uri, strlen(uri),
                        HTTPGUARD_MAX_HEAD) != 0 ||
        (host != NULL && h2stream_header(st, (const uint8_t *)":authority", 10,
                                         (const uint8_t *)host, strlen(host),
                                         HTTPGUARD_MAX_HEAD) != 0))
        return -1;
    static const char *const hop[] = {"connection", "upgrade", "http2-settings", "keep-alive",
                                      "transfer-encoding", "host", "te", "proxy-connection"};
    for (struct evkeyval *kv = in->tqh_first; kv != NULL; kv = kv->next.tqe_next) {
        int skip = 0;
        for (size_t i = 0; i < sizeof hop / sizeof hop[0]; i++)
            skip |= strcasecmp(kv->key, hop[i]) == 0;
        if (!skip && h2stream_header(st, (const uint8_t *)kv->key, strlen(kv->key),
                                     (const uint8_t *)kv->value, strlen(kv->value),
                                     HTTPGUARD_MAX_HEAD) != 0)
            return -1;
    }
    return evbuffer_add_buffer(st->body, evhttp_request_get_input_buffer(req));
}

void *h2server_upgrade(struct bufferevent *bev, struct evhttp_connection *evcon,
                       struct evhttp_request *req, void *arg)
{
    struct h2server *s = arg;
    const char *hs = evhttp_find_header(evhttp_request_get_input_headers(req), "HTTP2-Settings");
    unsigned char settings[256];
    long n = hs != NULL ? b64url_decode(hs, settings, sizeof settings) : -1;
    if (n < 0 || n % 6 != 0 || tls_bev_is_tls(bev)) /* h2c is cleartext only (RFC 7540 3.2) */
        return NULL;
    struct h2conn *c = conn_new(s, bev, evcon);
    if (c == NULL)
        return NULL;
    struct h2stream *st = h2stream_new(c, c->ng, 1);
    int head = evhttp_request_get_command(req) == EVHTTP_REQ_HEAD;
    if (st == NULL || upgrade_stream(st, req) != 0 ||
        nghttp2_session_upgrade2(c->ng, settings, (size_t)n, head, NULL) != 0 ||
        /* upgrade2 keeps its stream_user_data for clients only */
        nghttp2_session_set_stream_user_data(c->ng, 1, st) != 0) {
        h2stream_destroy(st);
        conn_free_unstarted(c);
        return NULL;
    }
    st->next = c->streams;
    c->streams = st;
    c->open_streams++;
    if (conn_start(c) != 0) {
        h2stream_destroy(st);
        conn_free_unstarted(c);
        return NULL;
    }
    s->st.streams++;
    /* before any frame: conn_start only scheduled the first send */
    static const char switching[] = "HTTP/1.1 101 Switching Protocols\r\n"
                                    "Connection: Upgrade\r\nUpgrade: h2c\r\n\r\n";
    evbuffer_add(c->out, switching, sizeof switching - 1);
    fifo_push(c, NULL, sizeof switching - 1, 0, 0);
    deliver(c, st);
    return c;
}

void h2server_gone(void *conn)
{
    struct h2conn *c = conn;
    if (c->freeing)
        return;
    conn_end(c, c->goaway ? SINK_CLOSE_GOAWAY : SINK_CLOSE_FIN, c->goaway_code, 1);
}
