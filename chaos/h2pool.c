/* HTTP/2 client connections on nghttp2 (h2pool.h). nghttp2 frames; this file moves bytes
 * between it and a bufferevent, pools connections per origin, and keeps each stream's reading
 * under its owner's control (a paused stream's window fills while the others flow). */
#include "h2pool.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <nghttp2/nghttp2.h>

#include "sockport.h"
#include "tlsclient.h"

#define H2POOL_OUT_MAX (4u << 20) /* bytes queued for a socket before nghttp2 is told to wait */
#define H2POOL_HEADERS_MAX 64
#define H2POOL_NAME_MAX 128

struct h2c;

struct h2stream {
    struct h2pool *p;
    struct h2c *conn; /* NULL once parked (ended while paused) */
    int32_t id;
    const struct h2pool_stream_cbs *cbs;
    void *arg;
    char *body;
    size_t body_len, body_off;
    int status;
    int cancelled; /* our RST_STREAM went out (or the owner let go): no callback follows */
    int paused;
    int delivering; /* resume_cb is handing held data over: it frees a stream let go meanwhile */
    int closed;     /* off its connection (nghttp2 closed it, or the connection went) */
    struct evbuffer *held; /* data that arrived while paused, not yet consumed */
    int ended;             /* the stream ended while paused: delivered after the held data */
    enum h2pool_end end;
    uint32_t end_code;
    char why[160];
    struct event *timeout_ev;
    struct event *resume_ev;
    struct h2stream *next; /* on its connection's list, or on the pool's parked list */
};

struct h2c {
    struct h2pool *p;
    struct bufferevent *bev;
    nghttp2_session *ng;
    int connected; /* frames may go out: TCP is connecting (cleartext) or TLS agreed on h2 */
    int dead;      /* takes no new streams; torn down from end_ev */
    int goaway;    /* the server sent GOAWAY: no new streams */
    int in_recv;   /* inside nghttp2_session_mem_recv: sending waits until it returns */
    int blocked;   /* the send callback refused bytes: resume when the output drains */
    int local_port;
    size_t nstreams;
    char why[160];
    struct event *end_ev;
    struct event *connect_ev;
    struct h2stream *streams;
    struct h2c *next;
};

struct h2pool {
    struct event_base *base;
    struct h2pool_config cfg;
    int tls;
    char port[8];
    char host[256];      /* for the certificate check and SNI */
    char authority[300]; /* :authority, as the URL spells it */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    struct tls_client *tc;
    nghttp2_session_callbacks *cbs;
    nghttp2_option *opt;
    struct h2c *conns;
    struct h2stream *parked;
};

static void conn_send(struct h2c *c);
static void conn_fail(struct h2c *c, const char *why);

/* ---- streams ------------------------------------------------------------------------------ */

static void stream_free(struct h2stream *s)
{
    if (s == NULL)
        return;
    if (s->timeout_ev)
        event_free(s->timeout_ev);
    if (s->resume_ev)
        event_free(s->resume_ev);
    if (s->held)
        evbuffer_free(s->held);
    free(s->body);
    free(s);
}

static void stream_unlink(struct h2stream **list, struct h2stream *s)
{
    for (struct h2stream **pp = list; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            s->next = NULL;
            return;
        }
}

/* The stream is over for its connection: it leaves the list; what its owner still gets (the
 * end, after held data while paused) follows here or from resume_cb. */
static void stream_closed(struct h2stream *s, enum h2pool_end end, uint32_t code, const char *why)
{
    struct h2c *c = s->conn;
    size_t held = s->held ? evbuffer_get_length(s->held) : 0;
    if (c) {
        stream_unlink(&c->streams, s);
        c->nstreams--;
        if (c->ng && s->id > 0) {
            nghttp2_session_set_stream_user_data(c->ng, s->id, NULL);
            /* what it held leaves the connection's window with it */
            if (held)
                nghttp2_session_consume_connection(c->ng, held);
        }
        s->conn = NULL;
    }
    s->closed = 1;
    if (s->timeout_ev)
        evtimer_del(s->timeout_ev);
    if (s->cancelled) {
        if (!s->delivering)
            stream_free(s);
        return;
    }
    if (end != H2POOL_END_CONN && (s->paused || held > 0)) {
        /* the owner is not reading: the end waits behind what it has not read (a connection
         * that died takes its streams with it at once, read or not) */
        s->ended = 1;
        s->end = end;
        s->end_code = code;
        snprintf(s->why, sizeof s->why, "%s", why ? why : "");
        s->next = s->p->parked;
        s->p->parked = s;
        if (!s->paused)
            event_active(s->resume_ev, EV_TIMEOUT, 0);
        return;
    }
    s->cbs->on_end(s->arg, end, code, why);
    stream_free(s);
}

/* From the loop after a resume: what was held, in order, then the end if it came meanwhile. */
static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct h2stream *s = arg;
    if (s->cancelled || s->paused)
        return;
    s->delivering = 1;
    while (s->held && evbuffer_get_length(s->held) > 0 && !s->cancelled && !s->paused) {
        unsigned char chunk[16384];
        int n = evbuffer_remove(s->held, chunk, sizeof chunk);
        if (n <= 0)
            break;
        if (!s->closed && s->conn->ng) {
            nghttp2_session_consume(s->conn->ng, s->id, (size_t)n);
            conn_send(s->conn);
        }
        s->cbs->on_data(s->arg, chunk, (size_t)n); /* it may let go of the stream */
    }
    s->delivering = 0;
    if (s->cancelled) {
        if (s->closed) { /* let go while parked, or closed meanwhile: nobody else frees it */
            stream_unlink(&s->p->parked, s);
            stream_free(s);
        }
        return;
    }
    if (s->paused || !s->ended)
        return;
    stream_unlink(&s->p->parked, s);
    s->cbs->on_end(s->arg, s->end, s->end_code, s->why);
    stream_free(s);
}

static void timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct h2stream *s = arg;
    const struct h2pool_stream_cbs *cbs = s->cbs;
    void *owner = s->arg;
    h2stream_cancel(s); /* s may be gone after this */
    cbs->on_end(owner, H2POOL_END_TIMEOUT, 0, "timed out");
}

void h2stream_cancel(struct h2stream *s)
{
    if (s == NULL || s->cancelled)
        return;
    s->cancelled = 1;
    if (s->timeout_ev)
        evtimer_del(s->timeout_ev);
    struct h2c *c = s->conn;
    if (s->closed) { /* parked: nothing is open on the wire any more */
        if (!s->delivering) {
            stream_unlink(&s->p->parked, s);
            stream_free(s);
        }
        return;
    }
    if (c->dead)
        return; /* freed with the connection, from end_cb */
    if (nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_CANCEL) != 0) {
        conn_fail(c, "cannot reset a stream");
        return;
    }
    if (!c->in_recv)
        conn_send(c); /* on the socket now; from inside a read, as soon as it returns */
}

void h2stream_pause(struct h2stream *s, int pause)
{
    if (s == NULL || s->cancelled)
        return;
    s->paused = pause != 0;
    if (!s->paused && s->held)
        event_active(s->resume_ev, EV_TIMEOUT, 0);
}

void h2stream_kill_connection(struct h2stream *s)
{
    if (s == NULL || s->closed)
        return;
    struct h2c *c = s->conn;
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    if (fd >= 0) {
        /* connect(AF_UNSPEC) is Linux's tcp_disconnect: the kernel sends the RST now, and the
         * socket stays ours to close (quietly: SO_LINGER 0) */
        struct sockaddr sa = {.sa_family = AF_UNSPEC};
        (void)connect(fd, &sa, sizeof sa);
        struct linger lg = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    conn_fail(c, "connection reset by the client");
}

int h2stream_local_port(const struct h2stream *s)
{
    return s && !s->closed ? s->conn->local_port : 0;
}

/* ---- nghttp2 callbacks -------------------------------------------------------------------- */

static ssize_t send_cb(nghttp2_session *ng, const uint8_t *data, size_t len, int flags,
                       void *arg)
{
    (void)ng;
    (void)flags;
    struct h2c *c = arg;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (evbuffer_get_length(out) >= H2POOL_OUT_MAX) {
        c->blocked = 1;
        return NGHTTP2_ERR_WOULDBLOCK;
    }
    if (bufferevent_write(c->bev, data, len) != 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    return (ssize_t)len;
}

static ssize_t body_read_cb(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t len,
                            uint32_t *flags, nghttp2_data_source *src, void *arg)
{
    (void)ng;
    (void)id;
    (void)arg;
    struct h2stream *s = src->ptr;
    size_t n = s->body_len - s->body_off;
    if (n > len)
        n = len;
    memcpy(buf, s->body + s->body_off, n);
    s->body_off += n;
    if (s->body_off == s->body_len)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static struct h2stream *stream_of(nghttp2_session *ng, int32_t id)
{
    return id > 0 ? nghttp2_session_get_stream_user_data(ng, id) : NULL;
}

static int header_cb(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *arg)
{
    (void)flags;
    (void)arg;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_RESPONSE)
        return 0;
    struct h2stream *s = stream_of(ng, frame->hd.stream_id);
    if (s && namelen == 7 && memcmp(name, ":status", 7) == 0 && valuelen == 3)
        s->status = (value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0');
    return 0;
}

static int frame_recv_cb(nghttp2_session *ng, const nghttp2_frame *frame, void *arg)
{
    struct h2c *c = arg;
    if (frame->hd.type == NGHTTP2_GOAWAY) {
        c->goaway = 1;
        return 0;
    }
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_RESPONSE)
        return 0;
    struct h2stream *s = stream_of(ng, frame->hd.stream_id);
    if (s && !s->cancelled && s->status >= 200 && s->cbs->on_status)
        s->cbs->on_status(s->arg, s->status);
    return 0;
}

static int frame_send_cb(nghttp2_session *ng, const nghttp2_frame *frame, void *arg)
{
    (void)arg;
    if (frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    struct h2stream *s = stream_of(ng, frame->hd.stream_id);
    if (s && !s->cancelled && s->cbs->on_sent)
        s->cbs->on_sent(s->arg);
    return 0;
}

static int data_cb(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data,
                   size_t len, void *arg)
{
    (void)flags;
    (void)arg;
    /* windows are given back as the owner reads, as Chromium does: a stopped stream holds its
     * own window and its share of the connection's (H2POOL_CONN_WINDOW bounds what a
     * connection's stopped streams hold in all) */
    struct h2stream *s = stream_of(ng, id);
    if (s == NULL || s->cancelled) {
        nghttp2_session_consume_connection(ng, len);
        nghttp2_session_consume_stream(ng, id, len);
        return 0;
    }
    if (s->paused || (s->held && evbuffer_get_length(s->held) > 0)) {
        if (s->held == NULL)
            s->held = evbuffer_new();
        if (s->held == NULL || evbuffer_add(s->held, data, len) != 0)
            return NGHTTP2_ERR_CALLBACK_FAILURE;
        return 0;
    }
    nghttp2_session_consume(ng, id, len);
    s->cbs->on_data(s->arg, data, len); /* s may be cancelled now, never freed before close */
    return 0;
}

static int stream_close_cb(nghttp2_session *ng, int32_t id, uint32_t code, void *arg)
{
    (void)arg;
    struct h2stream *s = stream_of(ng, id);
    if (s == NULL)
        return 0;
    char why[64];
    if (code != NGHTTP2_NO_ERROR)
        snprintf(why, sizeof why, "stream reset by the server (%s)",
                 nghttp2_http2_strerror(code));
    else
        why[0] = '\0';
    stream_closed(s, code == NGHTTP2_NO_ERROR ? H2POOL_END_OK : H2POOL_END_RESET, code,
                  code == NGHTTP2_NO_ERROR ? NULL : why);
    return 0;
}

/* ---- connections -------------------------------------------------------------------------- */

static void conn_free(struct h2c *c)
{
    while (c->streams) {
        struct h2stream *s = c->streams;
        c->streams = s->next;
        stream_free(s);
    }
    if (c->ng)
        nghttp2_session_del(c->ng);
    if (c->bev)
        bufferevent_free(c->bev); /* closes the socket */
    if (c->end_ev)
        event_free(c->end_ev);
    if (c->connect_ev)
        event_free(c->connect_ev);
    free(c);
}

/* Every stream on a dead connection ends, in the order they were opened; then it goes. */
static void end_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct h2c *c = arg;
    struct h2pool *p = c->p;
    for (struct h2c **pp = &p->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    /* the list is newest first: reverse it so the oldest stream hears first */
    struct h2stream *rev = NULL;
    while (c->streams) {
        struct h2stream *s = c->streams;
        c->streams = s->next;
        s->next = rev;
        rev = s;
    }
    nghttp2_session_del(c->ng); /* no callbacks from here on */
    c->ng = NULL;
    c->nstreams = 0;
    while (rev) {
        struct h2stream *s = rev;
        rev = s->next;
        s->next = NULL;
        s->conn = NULL; /* already off the list */
        stream_closed(s, H2POOL_END_CONN, 0, c->why);
    }
    conn_free(c);
}

static void conn_fail(struct h2c *c, const char *why)
{
    if (c->dead)
        return;
    c->dead = 1;
    snprintf(c->why, sizeof c->why, "%s", why);
    bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    event_active(c->end_ev, EV_TIMEOUT, 0);
}

static void conn_send(struct h2c *c)
{
    if (c->dead || !c->connected || c->in_recv)
        return;
    c->blocked = 0;
    int rv = nghttp2_session_send(c->ng);
    if (rv != 0) {
        conn_fail(c, nghttp2_strerror(rv));
        return;
    }
    if (c->nstreams == 0 && !nghttp2_session_want_read(c->ng) &&
        !nghttp2_session_want_write(c->ng))
        conn_fail(c, "the connection ended"); /* after a GOAWAY, with nothing left on it */
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    struct h2c *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t n = evbuffer_get_length(in);
    if (c->dead || n == 0)
        return;
    evtimer_del(c->connect_ev); /* the server spoke: the connection is up */
    unsigned char *data = evbuffer_pullup(in, -1);
    c->in_recv = 1;
    ssize_t rv = nghttp2_session_mem_recv(c->ng, data, n);
    c->in_recv = 0;
    evbuffer_drain(in, n);
    if (rv < 0) {
        conn_fail(c, nghttp2_strerror((int)rv));
        return;
    }
    conn_send(c);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    struct h2c *c = arg;
    if (c->blocked)
        conn_send(c);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct h2c *c = arg;
    if (what & BEV_EVENT_CONNECTED) {
        evtimer_del(c->connect_ev);
        if (c->p->tls && !tls_client_alpn_h2(bev)) {
            conn_fail(c, "the server did not agree on h2 by ALPN (it speaks HTTP/1.1 only)");
            return;
        }
        c->connected = 1;
        conn_send(c);
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        read_cb(bev, c); /* what came with the close first: libevent's OpenSSL bufferevent
                          * reports the EOF before the read callback of the last bytes */
    if (what & BEV_EVENT_EOF) {
        conn_fail(c, "the server closed the connection");
        return;
    }
    if (what & BEV_EVENT_ERROR) {
        char why[160];
        int e = EVUTIL_SOCKET_ERROR();
        if (!c->p->tls || tls_client_bev_error(bev, why, sizeof why) != 0)
            snprintf(why, sizeof why, "%s", e ? strerror(e) : "connection error");
        conn_fail(c, why);
    }
}

static void connect_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn_fail(arg, "connect timed out");
}

static struct h2c *conn_open(struct h2pool *p, char *err, size_t errlen)
{
    struct h2c *c = calloc(1, sizeof *c);
    if (c == NULL) {
        snprintf(err, errlen, "HTTP/2: out of memory");
        return NULL;
    }
    c->p = p;
    int fd = socket(p->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        free(c);
        return NULL;
    }
    int one = 1;
    /* a lone RST_STREAM must not wait for an ACK behind Nagle */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (p->cfg.rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &p->cfg.rcvbuf, sizeof p->cfg.rcvbuf);
    if (connect(fd, (struct sockaddr *)&p->addr, p->addrlen) != 0 && errno != EINPROGRESS) {
        snprintf(err, errlen, "connect: %s", strerror(errno));
        close(fd);
        free(c);
        return NULL;
    }
    c->local_port = sock_local_port(fd);
    if (p->tls)
        c->bev = tls_client_bev(p->tc, p->base, fd, p->host, err, errlen);
    else if ((c->bev = bufferevent_socket_new(p->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL)
        snprintf(err, errlen, "HTTP/2: out of memory");
    if (c->bev == NULL) {
        close(fd);
        free(c);
        return NULL;
    }
    c->end_ev = event_new(p->base, -1, 0, end_cb, c);
    c->connect_ev = evtimer_new(p->base, connect_timeout_cb, c);
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2POOL_STREAM_WINDOW},
    };
    if (c->end_ev == NULL || c->connect_ev == NULL ||
        nghttp2_session_client_new2(&c->ng, p->cbs, c, p->opt) != 0 ||
        nghttp2_submit_settings(c->ng, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof iv[0]) != 0 ||
        nghttp2_session_set_local_window_size(c->ng, NGHTTP2_FLAG_NONE, 0,
                                              H2POOL_CONN_WINDOW) != 0) {
        snprintf(err, errlen, "HTTP/2: out of memory");
        conn_free(c);
        return NULL;
    }
    bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    uint32_t ms = p->cfg.connect_timeout_ms ? p->cfg.connect_timeout_ms : 10000;
    struct timeval tv = {ms / 1000, (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(c->connect_ev, &tv);
    /* cleartext: prior knowledge, the preface goes out as TCP connects; TLS: after the
     * handshake agreed on h2 (event_cb) */
    c->connected = !p->tls;
    c->next = p->conns;
    p->conns = c;
    return c;
}

/* The oldest connection with room, as a browser keeps to the one it has. */
static struct h2c *conn_with_room(struct h2pool *p)
{
    struct h2c *best = NULL;
    for (struct h2c *c = p->conns; c; c = c->next)
        if (!c->dead && !c->goaway && c->nstreams < p->cfg.streams_per_conn)
            best = c; /* the list is newest first */
    return best;
}

/* ---- the pool ----------------------------------------------------------------------------- */

static int is_connection_header(const char *name, size_t len)
{
    static const char *const drop[] = {"host", "connection", "keep-alive", "proxy-connection",
                                       "transfer-encoding", "upgrade", "te", "content-length"};
    for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++)
        if (strlen(drop[i]) == len && strncasecmp(drop[i], name, len) == 0)
            return 1;
    return 0;
}

struct h2stream *h2pool_request(struct h2pool *p, const char *method, const char *path,
                                const char *const *headers, size_t nheaders, const char *body,
                                size_t body_len, const struct h2pool_stream_cbs *cbs, void *arg,
                                char *err, size_t errlen)
{
    if (nheaders > H2POOL_HEADERS_MAX) {
        snprintf(err, errlen, "HTTP/2: at most %d headers", H2POOL_HEADERS_MAX);
        return NULL;
    }
    struct h2c *c = conn_with_room(p);
    if (c == NULL && (c = conn_open(p, err, errlen)) == NULL)
        return NULL;
    struct h2stream *s = calloc(1, sizeof *s);
    if (s == NULL) {
        snprintf(err, errlen, "HTTP/2: out of memory");
        return NULL;
    }
    s->p = p;
    s->cbs = cbs;
    s->arg = arg;
    s->timeout_ev = evtimer_new(p->base, timeout_cb, s);
    s->resume_ev = event_new(p->base, -1, 0, resume_cb, s);
    if (body_len && (s->body = malloc(body_len)) != NULL)
        memcpy(s->body, body, body_len);
    if (s->timeout_ev == NULL || s->resume_ev == NULL || (body_len && s->body == NULL)) {
        snprintf(err, errlen, "HTTP/2: out of memory");
        stream_free(s);
        return NULL;
    }
    s->body_len = body_len;
    char clen[24];
    snprintf(clen, sizeof clen, "%zu", body_len);
    char names[H2POOL_HEADERS_MAX][H2POOL_NAME_MAX];
    nghttp2_nv nva[H2POOL_HEADERS_MAX + 5];
    size_t n = 0;
#define NV(nm, nl, v, vl)                                                                     \
    (nva[n++] = (nghttp2_nv){(uint8_t *)(nm), (uint8_t *)(v), (nl), (vl), NGHTTP2_NV_FLAG_NONE})
    NV(":method", 7, method, strlen(method));
    NV(":scheme", 7, p->tls ? "https" : "http", p->tls ? 5u : 4u);
    NV(":authority", 10, p->authority, strlen(p->authority));
    NV(":path", 5, path, strlen(path));
    if (body_len)
        NV("content-length", 14, clen, strlen(clen));
    for (size_t i = 0; i < nheaders; i++) {
        const char *colon = strchr(headers[i], ':');
        if (colon == NULL || colon == headers[i] ||
            (size_t)(colon - headers[i]) >= H2POOL_NAME_MAX)
            continue;
        size_t nl = (size_t)(colon - headers[i]);
        const char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        if (*v == '\0' || is_connection_header(headers[i], nl))
            continue; /* "Name:" drops a header, as curl's lists do */
        for (size_t k = 0; k < nl; k++)
            names[i][k] = (char)tolower((unsigned char)headers[i][k]);
        NV(names[i], nl, v, strlen(v));
    }
#undef NV
    nghttp2_data_provider prd = {.source = {.ptr = s}, .read_callback = body_read_cb};
    /* nghttp2 copies the header fields before this returns */
    int32_t id = nghttp2_submit_request(c->ng, NULL, nva, n, body_len ? &prd : NULL, s);
    if (id < 0) {
        snprintf(err, errlen, "HTTP/2: cannot submit the request (%s)", nghttp2_strerror(id));
        stream_free(s);
        return NULL;
    }
    s->id = id;
    s->conn = c;
    s->next = c->streams;
    c->streams = s;
    c->nstreams++;
    if (p->cfg.timeout_ms) {
        struct timeval tv = {p->cfg.timeout_ms / 1000,
                             (suseconds_t)(p->cfg.timeout_ms % 1000) * 1000};
        evtimer_add(s->timeout_ev, &tv);
    }
    conn_send(c);
    return s;
}

int h2pool_path_of(const struct h2pool *p, const char *url, char *path, size_t len)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *pq = NULL;
    int rc = -1;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
        strcmp(scheme, p->tls ? "https" : "http") == 0 && strcmp(port, p->port) == 0 &&
        strncmp(p->authority, host, strlen(host)) == 0 &&
        (p->authority[strlen(host)] == '\0' || p->authority[strlen(host)] == ':')) {
        char *q = NULL;
        if (curl_url_get(u, CURLUPART_PATH, &pq, 0) == CURLUE_OK) {
            if (curl_url_get(u, CURLUPART_QUERY, &q, 0) == CURLUE_OK && q)
                rc = snprintf(path, len, "%s?%s", pq, q) < (int)len ? 0 : -1;
            else
                rc = snprintf(path, len, "%s", pq) < (int)len ? 0 : -1;
        }
        curl_free(q);
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(pq);
    curl_url_cleanup(u);
    return rc;
}

struct h2pool *h2pool_new(struct event_base *base, const struct h2pool_config *cfg, char *err,
                          size_t errlen)
{
    struct h2pool *p = calloc(1, sizeof *p);
    if (p == NULL) {
        snprintf(err, errlen, "HTTP/2: out of memory");
        return NULL;
    }
    p->base = base;
    p->cfg = *cfg;
    if (p->cfg.streams_per_conn == 0)
        p->cfg.streams_per_conn = 1;
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    if (u == NULL || curl_url_set(u, CURLUPART_URL, cfg->url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
        (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0)) {
        snprintf(err, errlen, "request.url: expected http://HOST:PORT or https://HOST:PORT");
        goto fail;
    }
    p->tls = strcmp(scheme, "https") == 0;
    snprintf(p->port, sizeof p->port, "%s", port);
    /* curl keeps IPv6 literals in brackets: the address and the certificate want them bare */
    size_t hl = strlen(host);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']')
        snprintf(p->host, sizeof p->host, "%.*s", (int)(hl - 2), host + 1);
    else
        snprintf(p->host, sizeof p->host, "%s", host);
    char *explicit_port = NULL;
    if (curl_url_get(u, CURLUPART_PORT, &explicit_port, 0) == CURLUE_OK)
        snprintf(p->authority, sizeof p->authority, "%s:%s", host, explicit_port);
    else
        snprintf(p->authority, sizeof p->authority, "%s", host);
    curl_free(explicit_port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *ai = NULL, *pick = NULL;
    int gai = getaddrinfo(p->host, port, &hints, &ai);
    for (struct addrinfo *a = ai; gai == 0 && a; a = a->ai_next)
        if (pick == NULL || (a->ai_family == AF_INET && pick->ai_family != AF_INET))
            pick = a; /* IPv4 first: loopback gateways listen on 127.0.0.1 */
    if (gai != 0 || pick == NULL || pick->ai_addrlen > sizeof p->addr) {
        snprintf(err, errlen, "request.url: %s does not resolve (%s)", p->host,
                 gai ? gai_strerror(gai) : "no address");
        if (ai)
            freeaddrinfo(ai);
        goto fail;
    }
    memcpy(&p->addr, pick->ai_addr, pick->ai_addrlen);
    p->addrlen = pick->ai_addrlen;
    freeaddrinfo(ai);
    if (p->tls && (p->tc = tls_client_new(cfg->ca_file, cfg->tls_insecure, err, errlen)) == NULL)
        goto fail;
    if (nghttp2_session_callbacks_new(&p->cbs) != 0 || nghttp2_option_new(&p->opt) != 0) {
        snprintf(err, errlen, "HTTP/2: out of memory");
        goto fail;
    }
    nghttp2_session_callbacks_set_send_callback(p->cbs, send_cb);
    nghttp2_session_callbacks_set_on_header_callback(p->cbs, header_cb);
    nghttp2_session_callbacks_set_on_frame_recv_callback(p->cbs, frame_recv_cb);
    nghttp2_session_callbacks_set_on_frame_send_callback(p->cbs, frame_send_cb);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(p->cbs, data_cb);
    nghttp2_session_callbacks_set_on_stream_close_callback(p->cbs, stream_close_cb);
    /* windows are given back as the owners read (data_cb, resume_cb) */
    nghttp2_option_set_no_auto_window_update(p->opt, 1);
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return p;
fail:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    h2pool_free(p);
    return NULL;
}

void h2pool_free(struct h2pool *p)
{
    if (p == NULL)
        return;
    while (p->conns) {
        struct h2c *c = p->conns;
        p->conns = c->next;
        conn_free(c);
    }
    while (p->parked) {
        struct h2stream *s = p->parked;
        p->parked = s->next;
        stream_free(s);
    }
    tls_client_free(p->tc);
    if (p->cbs)
        nghttp2_session_callbacks_del(p->cbs);
    if (p->opt)
        nghttp2_option_del(p->opt);
    free(p);
}
