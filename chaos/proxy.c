/* The chaos proxy, after libevent's sample/le-proxy.c: each connection is two bufferevents (client
 * and upstream) and two links, one per direction. A link moves bytes from its source's input
 * into a held buffer (the toxic stage, with a due time per chunk) and from there into the
 * destination's output. Backpressure is by bounds at each stage: a full output stops the
 * release, a full held buffer stops reading the source, so a reader that stalls stalls the
 * writer behind it. Every event ends in conn_pump(), which recomputes what the connection may do
 * now; so toxics added, changed or removed mid-stream take effect at once. Each side's close
 * (FIN or RST) reaches the other side at once, so a peer's writes fail where they would without
 * the proxy (see the close watch). */
#include "proxy.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "clock.h"
#include "sockdrain.h"

#define LINK_MAX_CHUNKS 4096   /* due-time records per link; past it the source is not read */
#define LINK_FIRST_CHUNKS 16
#define BW_SLOT_NS 10000000ull /* bandwidth is paced in 10 ms slots */
#define FIN_DRAIN_MAX (1024 * 1024) /* read and dropped before a FIN close, so it stays a FIN */
#define LISTEN_BACKLOG 4096 /* as common/httpd.h's: listen(2) caps it at net.core.somaxconn */
#define PROXY_IO_MAX (64 * 1024) /* bytes per read or write syscall */
#define WATCH_BATCH 64 /* close-watch events taken per wakeup; more stay ready for the next */
#define MS 1000000ull

enum side { SIDE_CLIENT, SIDE_UPSTREAM };
enum close_mode {
    CLOSE_FIN,      /* close() both sockets */
    CLOSE_RST,      /* SO_LINGER 0 on both: an RST each way */
    CLOSE_RST_PEER, /* one side failed (RST or write error): pass an RST to the other */
};

struct chunk {
    uint64_t due_ns;
    size_t len;
};

struct conn;

/* A socket in the proxy's close watch (see watch_set). */
struct watch {
    struct conn *c;
    enum side side;
    int on;     /* in the epoll set */
    int failed; /* epoll_ctl refused: this side is not watched (counted) */
};

/* One direction. UP (TOXIC_UPSTREAM) reads the client and writes the upstream; DOWN the reverse. */
struct link {
    struct conn *c;
    enum toxic_stream dir;
    struct bufferevent *src, *dst;
    struct evbuffer *held;      /* read from src, not yet released to dst */
    struct chunk *q;            /* due time of each held chunk, oldest first */
    size_t q_head, q_n, q_cap;
    uint64_t bw_next_ns;        /* bandwidth: when the next slot starts */
    uint64_t slice_next_ns;     /* slicer: when the next slice may leave */
    uint64_t fin_due_ns;        /* slow_close: when the FIN may leave */
    uint64_t bytes_in, bytes_out;
    struct evbuffer_cb_entry *out_cb;
    int src_eof;                /* the source sent a FIN */
    int fin_sent;               /* we shut down dst for writing */
    int limit_hit;              /* limit_data reached: close once flushed */
    int rd_on;                  /* EV_READ enabled on src */
    int want_empty;             /* dst's write watermark is 0: tell us when it is flushed */
};

/* A toxic's state on one connection (same index as the proxy's toxic). */
struct ctox {
    uint64_t id;     /* the proxy toxic this belongs to */
    int on;          /* the toxicity draw: it applies to this connection */
    int fired;       /* stall: over; reset_peer: triggered by the first data */
    uint64_t t0_ns;  /* when it met this connection */
    uint64_t due_ns; /* 0, or the next action: stall end, timeout close, RST */
    uint64_t count;  /* limit_data: bytes let through */
};

struct conn {
    struct proxy *p;
    struct conn *prev, *next;
    struct conn *reap_next;
    uint64_t id;
    int client_port;
    struct bufferevent *bev[2];
    struct link link[2];
    struct ctox tx[PROXY_MAX_TOXICS];
    struct event *timer;
    uint64_t rng;
    int up_connected;
    struct watch watch[2]; /* by side */
    int wr_on[2];
    int dropped;
    uint64_t drop_due_ns;
    int dead;
};

struct ptoxic {
    struct toxic t;
    uint64_t id;
};

struct proxy {
    struct event_base *base;
    char name[PROXY_NAME_MAX + 1];
    char listen_req[PROXY_ADDR_MAX];  /* as asked */
    char listen_addr[PROXY_ADDR_MAX]; /* as bound */
    char upstream[PROXY_ADDR_MAX];
    struct sockaddr_storage listen_sa, up_sa;
    socklen_t listen_len, up_len;
    int port;
    struct evconnlistener *lev; /* NULL: disabled */
    struct ptoxic tox[PROXY_MAX_TOXICS];
    size_t ntox;
    uint64_t next_toxic_id;
    struct conn *conns, *conns_tail;
    size_t nconns;
    uint64_t next_conn_id;
    uint64_t seed;
    struct event *reap_ev;
    struct conn *reap;
    int watch_fd;           /* epoll set of sockets whose peer sent its FIN */
    struct event *watch_ev; /* watch_fd readable */
    struct proxy_stats st;
};

static int resolve(const char *addr, int passive, struct sockaddr_storage *sa, socklen_t *len,
                   char *err, size_t errlen);
static int check_name(const char *s, char *err, size_t errlen);
static int start_listening(struct proxy *p, char *err, size_t errlen);
static void close_all(struct proxy *p);
static void reap_cb(evutil_socket_t fd, short what, void *arg);
static void reap_now(struct proxy *p);
static void watch_cb(evutil_socket_t fd, short what, void *arg);
static void watch_set(struct conn *c, enum side s, int on);
static void accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg);
static void accept_error_cb(struct evconnlistener *lev, void *arg);
static void ctox_start(struct conn *c, size_t i, uint64_t now);
static void conn_pump(struct conn *c);
static void conn_close(struct conn *c, enum close_mode mode, enum side failed);
static uint64_t mix64(uint64_t x);

/* ---- lifecycle --------------------------------------------------------------------------- */

struct proxy *proxy_new(struct event_base *base, const char *name, const char *listen,
                        const char *upstream, char *err, size_t errlen)
{
    struct proxy *p = calloc(1, sizeof *p);
    if (p == NULL) {
        snprintf(err, errlen, "proxy: out of memory");
        return NULL;
    }
    p->base = base;
    p->seed = 1;
    p->watch_fd = -1;
    if (name == NULL || check_name(name, err, errlen) != 0)
        goto fail;
    if (listen == NULL || *listen == '\0')
        listen = "127.0.0.1:0";
    if (upstream == NULL || *upstream == '\0') {
        snprintf(err, errlen, "upstream: missing");
        goto fail;
    }
    if (strlen(listen) >= PROXY_ADDR_MAX || strlen(upstream) >= PROXY_ADDR_MAX) {
        snprintf(err, errlen, "%s: longer than %d bytes",
                 strlen(listen) >= PROXY_ADDR_MAX ? "listen" : "upstream", PROXY_ADDR_MAX - 1);
        goto fail;
    }
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->listen_req, sizeof p->listen_req, "%s", listen);
    snprintf(p->listen_addr, sizeof p->listen_addr, "%s", listen);
    snprintf(p->upstream, sizeof p->upstream, "%s", upstream);
    if (resolve(upstream, 0, &p->up_sa, &p->up_len, err, errlen) != 0)
        goto fail;
    if (resolve(listen, 1, &p->listen_sa, &p->listen_len, err, errlen) != 0)
        goto fail;
    p->reap_ev = event_new(base, -1, 0, reap_cb, p);
    if (p->reap_ev == NULL) {
        snprintf(err, errlen, "event_new: out of memory");
        goto fail;
    }
    p->watch_fd = epoll_create1(EPOLL_CLOEXEC);
    if (p->watch_fd < 0) {
        snprintf(err, errlen, "epoll_create1: %s", strerror(errno));
        goto fail;
    }
    p->watch_ev = event_new(base, p->watch_fd, EV_READ | EV_PERSIST, watch_cb, p);
    if (p->watch_ev == NULL) {
        snprintf(err, errlen, "event_new: out of memory");
        goto fail;
    }
    if (event_add(p->watch_ev, NULL) != 0) {
        snprintf(err, errlen, "event_add: cannot watch the close-watch set");
        goto fail;
    }
    if (start_listening(p, err, errlen) != 0)
        goto fail;
    return p;
fail:
    proxy_free(p);
    return NULL;
}

void proxy_free(struct proxy *p)
{
    if (p == NULL)
        return;
    if (p->lev)
        evconnlistener_free(p->lev);
    close_all(p);
    reap_now(p);
    if (p->reap_ev)
        event_free(p->reap_ev);
    if (p->watch_ev)
        event_free(p->watch_ev);
    if (p->watch_fd >= 0)
        close(p->watch_fd);
    free(p);
}

void proxy_set_seed(struct proxy *p, uint64_t seed)
{
    p->seed = seed;
}

const char *proxy_name(const struct proxy *p)
{
    return p->name;
}

const char *proxy_listen(const struct proxy *p)
{
    return p->listen_addr;
}

const char *proxy_upstream(const struct proxy *p)
{
    return p->upstream;
}

int proxy_listen_port(const struct proxy *p)
{
    return p->port;
}

int proxy_enabled(const struct proxy *p)
{
    return p->lev != NULL;
}

void proxy_get_stats(const struct proxy *p, struct proxy_stats *out)
{
    *out = p->st;
    out->active = p->nconns;
}

int proxy_enable(struct proxy *p, char *err, size_t errlen)
{
    if (p->lev)
        return 0;
    return start_listening(p, err, errlen);
}

void proxy_disable(struct proxy *p)
{
    if (p->lev) {
        evconnlistener_free(p->lev);
        p->lev = NULL;
    }
    close_all(p);
}

int proxy_set_addresses(struct proxy *p, const char *listen, const char *upstream, char *err,
                        size_t errlen)
{
    struct sockaddr_storage lsa, usa;
    socklen_t llen, ulen;
    if (listen == NULL || *listen == '\0')
        listen = p->listen_addr;
    if (upstream == NULL || *upstream == '\0')
        upstream = p->upstream;
    if (strlen(listen) >= PROXY_ADDR_MAX || strlen(upstream) >= PROXY_ADDR_MAX) {
        snprintf(err, errlen, "%s: longer than %d bytes",
                 strlen(listen) >= PROXY_ADDR_MAX ? "listen" : "upstream", PROXY_ADDR_MAX - 1);
        return -1;
    }
    /* the current bound address counts as unchanged, as does the request it came from */
    int same_listen = strcmp(listen, p->listen_addr) == 0 || strcmp(listen, p->listen_req) == 0;
    int same_up = strcmp(upstream, p->upstream) == 0;
    if (same_listen && same_up)
        return 0;
    if (resolve(upstream, 0, &usa, &ulen, err, errlen) != 0)
        return -1;
    if (resolve(listen, 1, &lsa, &llen, err, errlen) != 0)
        return -1;
    int was_enabled = p->lev != NULL;
    proxy_disable(p);
    char up_copy[PROXY_ADDR_MAX], listen_copy[PROXY_ADDR_MAX];
    snprintf(up_copy, sizeof up_copy, "%s", upstream);
    snprintf(listen_copy, sizeof listen_copy, "%s", listen);
    snprintf(p->upstream, sizeof p->upstream, "%s", up_copy);
    p->up_sa = usa;
    p->up_len = ulen;
    if (!same_listen) {
        snprintf(p->listen_req, sizeof p->listen_req, "%s", listen_copy);
        snprintf(p->listen_addr, sizeof p->listen_addr, "%s", listen_copy);
        p->listen_sa = lsa;
        p->listen_len = llen;
        p->port = 0;
    }
    if (was_enabled)
        return start_listening(p, err, errlen);
    return 0;
}

/* ---- toxics ------------------------------------------------------------------------------ */

size_t proxy_toxic_count(const struct proxy *p)
{
    return p->ntox;
}

const struct toxic *proxy_toxic_at(const struct proxy *p, size_t i)
{
    return i < p->ntox ? &p->tox[i].t : NULL;
}

/* linear scan: at most PROXY_MAX_TOXICS */
static int find_toxic(const struct proxy *p, const char *name)
{
    for (size_t i = 0; i < p->ntox; i++)
        if (strcmp(p->tox[i].t.name, name) == 0)
            return (int)i;
    return -1;
}

const struct toxic *proxy_find_toxic(const struct proxy *p, const char *name)
{
    int i = find_toxic(p, name);
    return i < 0 ? NULL : &p->tox[i].t;
}

int proxy_add_toxic(struct proxy *p, const struct toxic *t, char *err, size_t errlen)
{
    if (toxic_validate(t, err, errlen) != 0)
        return -1;
    if (find_toxic(p, t->name) >= 0) {
        snprintf(err, errlen, "toxic already exists: %s", t->name);
        return -1;
    }
    if (p->ntox >= PROXY_MAX_TOXICS) {
        snprintf(err, errlen, "toxics: at most %d per proxy", PROXY_MAX_TOXICS);
        return -1;
    }
    size_t i = p->ntox++;
    p->tox[i].t = *t;
    p->tox[i].id = ++p->next_toxic_id;
    uint64_t now = clock_now_ns();
    for (struct conn *c = p->conns, *next; c; c = next) {
        next = c->next;
        ctox_start(c, i, now);
        conn_pump(c);
    }
    return 0;
}

int proxy_update_toxic(struct proxy *p, const struct toxic *t, char *err, size_t errlen)
{
    int i = find_toxic(p, t->name);
    if (i < 0) {
        snprintf(err, errlen, "toxic not found: %s", t->name);
        return -1;
    }
    struct toxic *cur = &p->tox[i].t;
    if (cur->type != t->type || cur->stream != t->stream) {
        snprintf(err, errlen, "toxic %s: type and stream cannot change", t->name);
        return -1;
    }
    if (toxic_validate(t, err, errlen) != 0)
        return -1;
    int redraw = cur->toxicity != t->toxicity;
    *cur = *t;
    uint64_t now = clock_now_ns();
    for (struct conn *c = p->conns, *next; c; c = next) {
        next = c->next;
        struct ctox *x = &c->tx[i];
        if (redraw) {
            ctox_start(c, (size_t)i, now);
        } else if (x->on) {
            /* deadlines count from when the toxic met the connection */
            switch (t->type) {
            case TOXIC_TIMEOUT:
                x->due_ns = t->a.timeout.timeout ? x->t0_ns + (uint64_t)t->a.timeout.timeout * MS
                                                 : 0;
                break;
            case TOXIC_STALL:
                if (!x->fired)
                    x->due_ns = x->t0_ns + (uint64_t)t->a.stall.duration_ms * MS;
                break;
            case TOXIC_BLACKHOLE:
                x->due_ns = t->a.blackhole.rst_after_ms
                                ? x->t0_ns + (uint64_t)t->a.blackhole.rst_after_ms * MS
                                : 0;
                break;
            default:
                break;
            }
        }
        conn_pump(c);
    }
    return 0;
}

static void remove_at(struct proxy *p, size_t i)
{
    int closes = p->tox[i].t.type == TOXIC_TIMEOUT;
    for (struct conn *c = p->conns, *next; c; c = next) {
        next = c->next;
        int was_on = c->tx[i].on;
        memmove(&c->tx[i], &c->tx[i + 1], (p->ntox - i - 1) * sizeof c->tx[0]);
        memset(&c->tx[p->ntox - 1], 0, sizeof c->tx[0]);
        if (closes && was_on)
            conn_close(c, CLOSE_FIN, SIDE_CLIENT);
    }
    memmove(&p->tox[i], &p->tox[i + 1], (p->ntox - i - 1) * sizeof p->tox[0]);
    p->ntox--;
    for (struct conn *c = p->conns, *next; c; c = next) {
        next = c->next;
        conn_pump(c);
    }
}

int proxy_remove_toxic(struct proxy *p, const char *name)
{
    int i = find_toxic(p, name);
    if (i < 0)
        return -1;
    remove_at(p, (size_t)i);
    return 0;
}

void proxy_reset(struct proxy *p)
{
    while (p->ntox > 0)
        remove_at(p, p->ntox - 1);
}

/* ---- connections: queries and the drop hook ---------------------------------------------- */

static size_t link_buffered(const struct link *l)
{
    return evbuffer_get_length(bufferevent_get_input(l->src)) + evbuffer_get_length(l->held) +
           evbuffer_get_length(bufferevent_get_output(l->dst));
}

static int conn_frozen(const struct conn *c)
{
    if (c->dropped)
        return 1;
    for (size_t i = 0; i < c->p->ntox; i++)
        if (c->tx[i].on && c->p->tox[i].t.type == TOXIC_BLACKHOLE)
            return 1;
    return 0;
}

size_t proxy_list_conns(const struct proxy *p, struct proxy_conn_info *out, size_t max)
{
    size_t n = 0;
    for (const struct conn *c = p->conns; c; c = c->next, n++) {
        if (n >= max)
            continue;
        struct proxy_conn_info *o = &out[n];
        o->id = c->id;
        o->client_port = c->client_port;
        o->bytes_up = c->link[TOXIC_UPSTREAM].bytes_out;
        o->bytes_down = c->link[TOXIC_DOWNSTREAM].bytes_out;
        o->buffered_up = link_buffered(&c->link[TOXIC_UPSTREAM]);
        o->buffered_down = link_buffered(&c->link[TOXIC_DOWNSTREAM]);
        o->blackholed = conn_frozen(c);
    }
    return n;
}

int proxy_drop_connection(struct proxy *p, int client_port, uint32_t rst_after_ms)
{
    /* linear scan: at most PROXY_MAX_CONNS, and a drop is a rare control call */
    for (struct conn *c = p->conns; c; c = c->next) {
        if (c->client_port != client_port)
            continue;
        c->dropped = 1;
        c->drop_due_ns = rst_after_ms ? clock_now_ns() + (uint64_t)rst_after_ms * MS : 0;
        conn_pump(c);
        return 0;
    }
    return -1;
}

/* ---- listening and accepting ------------------------------------------------------------- */

static int start_listening(struct proxy *p, char *err, size_t errlen)
{
    struct sockaddr_storage sa = p->listen_sa;
    /* re-enabling keeps the port it had, as Toxiproxy keeps its bound listen address */
    if (p->port > 0) {
        if (sa.ss_family == AF_INET)
            ((struct sockaddr_in *)&sa)->sin_port = htons((uint16_t)p->port);
        else
            ((struct sockaddr_in6 *)&sa)->sin6_port = htons((uint16_t)p->port);
    }
    p->lev = evconnlistener_new_bind(p->base, accept_cb, p,
                                     LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
                                         LEV_OPT_CLOSE_ON_EXEC,
                                     LISTEN_BACKLOG, (struct sockaddr *)&sa, (int)p->listen_len);
    if (p->lev == NULL) {
        snprintf(err, errlen, "listen tcp %s: bind: %s", p->listen_addr, strerror(errno));
        return -1;
    }
    evconnlistener_set_error_cb(p->lev, accept_error_cb);
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    if (getsockname(evconnlistener_get_fd(p->lev), (struct sockaddr *)&bound, &blen) != 0) {
        snprintf(err, errlen, "getsockname: %s", strerror(errno));
        evconnlistener_free(p->lev);
        p->lev = NULL;
        return -1;
    }
    char host[64];
    if (bound.ss_family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&bound;
        p->port = ntohs(s6->sin6_port);
        getnameinfo((struct sockaddr *)&bound, blen, host, sizeof host, NULL, 0, NI_NUMERICHOST);
        snprintf(p->listen_addr, sizeof p->listen_addr, "[%s]:%d", host, p->port);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&bound;
        p->port = ntohs(s4->sin_port);
        getnameinfo((struct sockaddr *)&bound, blen, host, sizeof host, NULL, 0, NI_NUMERICHOST);
        snprintf(p->listen_addr, sizeof p->listen_addr, "%s:%d", host, p->port);
    }
    return 0;
}

static void accept_error_cb(struct evconnlistener *lev, void *arg)
{
    /* EMFILE and friends: the listener keeps going; the client sees a refused connect */
    (void)lev;
    struct proxy *p = arg;
    p->st.refused++;
}

static void read_cb(struct bufferevent *bev, void *arg);
static void write_cb(struct bufferevent *bev, void *arg);
static void event_cb(struct bufferevent *bev, short what, void *arg);
static void timer_cb(evutil_socket_t fd, short what, void *arg);
static void out_count_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg);

static void set_nodelay(evutil_socket_t fd)
{
    /* SSE events are small and must not wait for Nagle */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void set_linger0(evutil_socket_t fd)
{
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

static void link_init(struct conn *c, enum toxic_stream dir)
{
    struct link *l = &c->link[dir];
    l->c = c;
    l->dir = dir;
    l->src = c->bev[dir == TOXIC_UPSTREAM ? SIDE_CLIENT : SIDE_UPSTREAM];
    l->dst = c->bev[dir == TOXIC_UPSTREAM ? SIDE_UPSTREAM : SIDE_CLIENT];
}

static void accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    (void)lev;
    (void)salen;
    struct proxy *p = arg;
    if (p->nconns >= PROXY_MAX_CONNS) {
        p->st.refused++;
        set_linger0(fd);
        evutil_closesocket(fd);
        return;
    }
    struct conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        goto fail_fd;
    c->p = p;
    c->id = ++p->next_conn_id;
    c->client_port = sa->sa_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)sa)->sin6_port)
                                                : ntohs(((struct sockaddr_in *)sa)->sin_port);
    c->rng = mix64(p->seed ^ mix64(c->id));
    evutil_make_socket_nonblocking(fd);
    set_nodelay(fd);
    c->bev[SIDE_CLIENT] = bufferevent_socket_new(p->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (c->bev[SIDE_CLIENT] == NULL)
        goto fail_conn;
    c->bev[SIDE_UPSTREAM] = bufferevent_socket_new(p->base, -1, BEV_OPT_CLOSE_ON_FREE);
    c->link[0].held = evbuffer_new();
    c->link[1].held = evbuffer_new();
    c->timer = evtimer_new(p->base, timer_cb, c);
    if (c->bev[SIDE_UPSTREAM] == NULL || c->link[0].held == NULL || c->link[1].held == NULL ||
        c->timer == NULL)
        goto fail_all;
    link_init(c, TOXIC_UPSTREAM);
    link_init(c, TOXIC_DOWNSTREAM);
    for (int s = 0; s < 2; s++) {
        c->watch[s].c = c;
        c->watch[s].side = (enum side)s;
    }
    for (int d = 0; d < 2; d++) {
        struct link *l = &c->link[d];
        l->out_cb = evbuffer_add_cb(bufferevent_get_output(l->dst), out_count_cb, l);
        if (l->out_cb == NULL)
            goto fail_all;
    }
    for (int s = 0; s < 2; s++) {
        bufferevent_setcb(c->bev[s], read_cb, write_cb, event_cb, c);
        /* reads stop once the input holds a stage's worth (libevent's read high watermark) */
        bufferevent_setwatermark(c->bev[s], EV_READ, 0, PROXY_BUF_MAX);
        bufferevent_setwatermark(c->bev[s], EV_WRITE, PROXY_BUF_MAX / 2, 0);
        /* libevent moves 16 KiB per syscall by default; bulk transfers want bigger steps */
        bufferevent_set_max_single_read(c->bev[s], PROXY_IO_MAX);
        bufferevent_set_max_single_write(c->bev[s], PROXY_IO_MAX);
        c->wr_on[s] = 1;
    }
    if (bufferevent_socket_connect(c->bev[SIDE_UPSTREAM], (struct sockaddr *)&p->up_sa,
                                   (int)p->up_len) != 0) {
        p->st.upstream_errors++;
        goto fail_all;
    }
    /* link in before anything can close it */
    c->prev = p->conns_tail;
    if (p->conns_tail)
        p->conns_tail->next = c;
    else
        p->conns = c;
    p->conns_tail = c;
    p->nconns++;
    p->st.accepted++;
    uint64_t now = clock_now_ns();
    for (size_t i = 0; i < p->ntox; i++)
        ctox_start(c, i, now);
    conn_pump(c);
    return;
fail_all:
    /* the client bufferevent owns fd now */
    for (int d = 0; d < 2; d++) {
        if (c->link[d].out_cb)
            evbuffer_remove_cb_entry(bufferevent_get_output(c->link[d].dst), c->link[d].out_cb);
        if (c->link[d].held)
            evbuffer_free(c->link[d].held);
    }
    if (c->timer)
        event_free(c->timer);
    if (c->bev[SIDE_UPSTREAM])
        bufferevent_free(c->bev[SIDE_UPSTREAM]);
    bufferevent_free(c->bev[SIDE_CLIENT]);
    free(c);
    return;
fail_conn:
    free(c);
fail_fd:
    evutil_closesocket(fd);
}

/* ---- per-connection toxic state ---------------------------------------------------------- */

static double unit_draw(uint64_t x)
{
    return (double)(x >> 11) * (1.0 / 9007199254740992.0);
}

static uint64_t conn_rand(struct conn *c)
{
    c->rng += 0x9e3779b97f4a7c15ull;
    return mix64(c->rng);
}

/* The toxic at index i meets connection c: draw whether it applies, start its clock. The draw
 * depends only on (seed, connection id, toxic id), so it is reproducible whatever the order. */
static void ctox_start(struct conn *c, size_t i, uint64_t now)
{
    const struct ptoxic *pt = &c->p->tox[i];
    struct ctox *x = &c->tx[i];
    memset(x, 0, sizeof *x);
    x->id = pt->id;
    x->t0_ns = now;
    double draw = unit_draw(mix64(c->p->seed ^ mix64(c->id ^ mix64(pt->id + 0x51))));
    x->on = draw < pt->t.toxicity;
    if (!x->on)
        return;
    const struct toxic *t = &pt->t;
    switch (t->type) {
    case TOXIC_TIMEOUT:
        x->due_ns = t->a.timeout.timeout ? now + (uint64_t)t->a.timeout.timeout * MS : 0;
        break;
    case TOXIC_STALL:
        x->due_ns = now + (uint64_t)t->a.stall.duration_ms * MS;
        break;
    case TOXIC_BLACKHOLE:
        x->due_ns = t->a.blackhole.rst_after_ms
                        ? now + (uint64_t)t->a.blackhole.rst_after_ms * MS
                        : 0;
        break;
    default:
        break;
    }
}

/* The applied toxic of 'type' on link 'l' at or after index *i, or NULL. */
static const struct toxic *next_on(const struct link *l, enum toxic_type type, size_t *i)
{
    const struct conn *c = l->c;
    for (; *i < c->p->ntox; (*i)++) {
        const struct toxic *t = &c->p->tox[*i].t;
        if (c->tx[*i].on && t->type == type && t->stream == l->dir)
            return t;
    }
    return NULL;
}

static const struct toxic *first_on(const struct link *l, enum toxic_type type)
{
    size_t i = 0;
    return next_on(l, type, &i);
}

/* Data that reaches this link is dropped: a timeout, or a reset_peer (triggered by it). */
static int link_dropping(const struct link *l)
{
    return first_on(l, TOXIC_TIMEOUT) != NULL || first_on(l, TOXIC_RESET_PEER) != NULL;
}

static int link_stalled(const struct link *l)
{
    size_t i = 0;
    for (; next_on(l, TOXIC_STALL, &i); i++)
        if (!l->c->tx[i].fired)
            return 1;
    return 0;
}

/* Returns -1 if the connection was closed. */
static int conn_deadlines(struct conn *c, uint64_t now)
{
    if (c->dropped && c->drop_due_ns && c->drop_due_ns <= now) {
        conn_close(c, CLOSE_RST, SIDE_CLIENT);
        return -1;
    }
    for (size_t i = 0; i < c->p->ntox; i++) {
        struct ctox *x = &c->tx[i];
        if (!x->on || x->due_ns == 0 || x->due_ns > now)
            continue;
        switch (c->p->tox[i].t.type) {
        case TOXIC_STALL:
            x->fired = 1;
            x->due_ns = 0;
            break;
        case TOXIC_TIMEOUT:
            conn_close(c, CLOSE_FIN, SIDE_CLIENT);
            return -1;
        case TOXIC_BLACKHOLE:
        case TOXIC_RESET_PEER:
            conn_close(c, CLOSE_RST, SIDE_CLIENT);
            return -1;
        default:
            x->due_ns = 0;
            break;
        }
    }
    return 0;
}

/* ---- the links --------------------------------------------------------------------------- */

static int64_t latency_ns(struct link *l)
{
    int64_t total = 0;
    size_t i = 0;
    for (const struct toxic *t; (t = next_on(l, TOXIC_LATENCY, &i)) != NULL; i++) {
        int64_t d = t->a.latency.latency;
        int64_t j = t->a.latency.jitter;
        if (j > 0) /* latency +/- jitter, uniform, as Toxiproxy */
            d += (int64_t)(conn_rand(l->c) % (uint64_t)(2 * j + 1)) - j;
        if (d > 0)
            total += d;
    }
    return total * (int64_t)MS;
}

static int queue_push(struct link *l, size_t len, uint64_t due, uint64_t now)
{
    if (l->q_n > 0) {
        struct chunk *tail = &l->q[(l->q_head + l->q_n - 1) % l->q_cap];
        if (due < tail->due_ns) /* jitter must not reorder the byte stream */
            due = tail->due_ns;
        /* both releasable now: one record is enough, and keeps the queue short under
         * backpressure */
        if (due <= now || due == tail->due_ns) {
            tail->len += len;
            return 0;
        }
    }
    if (l->q_n == l->q_cap) {
        size_t cap = l->q_cap ? l->q_cap * 2 : LINK_FIRST_CHUNKS;
        if (cap > LINK_MAX_CHUNKS)
            return -1;
        struct chunk *q = malloc(cap * sizeof *q);
        if (q == NULL)
            return -1;
        for (size_t k = 0; k < l->q_n; k++)
            q[k] = l->q[(l->q_head + k) % l->q_cap];
        free(l->q);
        l->q = q;
        l->q_head = 0;
        l->q_cap = cap;
    }
    l->q[(l->q_head + l->q_n) % l->q_cap] = (struct chunk){due, len};
    l->q_n++;
    return 0;
}

static int queue_full(const struct link *l)
{
    return l->q_n >= LINK_MAX_CHUNKS;
}

/* The link's and the proxy's byte counters: plain additions on the data path. */
static void count_in(struct link *l, size_t n)
{
    l->bytes_in += n;
    l->c->p->st.received_bytes[l->dir] += n;
}

static void count_out(struct link *l, size_t n)
{
    l->bytes_out += n;
    l->c->p->st.sent_bytes[l->dir] += n;
}

/* Starts each reset_peer on the link that has not started: Toxiproxy's RST comes 'timeout' ms
 * after the first data or the source's close, whichever is first. Returns how many reset_peer
 * toxics the link has. */
static int reset_arm(struct link *l, uint64_t now)
{
    struct conn *c = l->c;
    int n = 0;
    size_t i = 0;
    for (; next_on(l, TOXIC_RESET_PEER, &i); i++, n++) {
        struct ctox *x = &c->tx[i];
        if (!x->fired) {
            x->fired = 1;
            x->due_ns = now + (uint64_t)c->p->tox[i].t.a.reset_peer.timeout * MS;
        }
    }
    return n;
}

/* Moves what the source delivered into the toxic stage (or drops it). */
static void link_ingest(struct link *l, uint64_t now)
{
    struct conn *c = l->c;
    struct evbuffer *in = bufferevent_get_input(l->src);
    size_t n = evbuffer_get_length(in);
    if (n == 0 || l->limit_hit)
        return;
    if (link_dropping(l)) {
        reset_arm(l, now);
        evbuffer_drain(in, n);
        count_in(l, n);
        return;
    }
    if (link_stalled(l) || queue_full(l))
        return;
    size_t held = evbuffer_get_length(l->held);
    if (held >= PROXY_BUF_MAX)
        return;
    size_t take = n < PROXY_BUF_MAX - held ? n : PROXY_BUF_MAX - held;
    /* limit_data: the smallest remaining allowance among the applied ones */
    size_t i = 0;
    int limited = 0;
    uint64_t allow = UINT64_MAX;
    for (const struct toxic *t; (t = next_on(l, TOXIC_LIMIT_DATA, &i)) != NULL; i++) {
        uint64_t lim = (uint64_t)t->a.limit_data.bytes;
        uint64_t left = c->tx[i].count >= lim ? 0 : lim - c->tx[i].count;
        if (left < allow)
            allow = left;
        limited = 1;
    }
    if (limited && allow <= take) {
        take = (size_t)allow;
        l->limit_hit = 1;
    }
    if (take > 0) {
        if (queue_push(l, take, now + (uint64_t)latency_ns(l), now) != 0)
            return;
        evbuffer_remove_buffer(in, l->held, take);
        count_in(l, take);
        i = 0;
        while (next_on(l, TOXIC_LIMIT_DATA, &i))
            c->tx[i++].count += take;
    }
    if (l->limit_hit) { /* the rest would never be sent: the connection closes once flushed */
        count_in(l, evbuffer_get_length(in));
        evbuffer_drain(in, evbuffer_get_length(in));
    }
}

static int can_write_now(const struct link *l)
{
    const struct conn *c = l->c;
    int s = l->dst == c->bev[SIDE_CLIENT] ? SIDE_CLIENT : SIDE_UPSTREAM;
    return c->wr_on[s] && (s == SIDE_CLIENT || c->up_connected);
}

/* Moves due chunks into the destination's output, paced by bandwidth and slicer. Returns the
 * time it wants to run again, or 0 (nothing due, or the output is full: write_cb wakes us). */
static uint64_t link_release(struct link *l, uint64_t now)
{
    if (link_dropping(l))
        return 0;
    struct evbuffer *out = bufferevent_get_output(l->dst);
    const struct toxic *bw = first_on(l, TOXIC_BANDWIDTH);
    if (bw && bw->a.bandwidth.rate == 0)
        bw = NULL; /* rate 0: unlimited, as Toxiproxy */
    const struct toxic *sl = first_on(l, TOXIC_SLICER);
    while (l->q_n > 0) {
        struct chunk *head = &l->q[l->q_head];
        if (head->due_ns > now)
            return head->due_ns;
        size_t queued = evbuffer_get_length(out);
        if (queued >= PROXY_BUF_MAX)
            return 0;
        size_t n = head->len < PROXY_BUF_MAX - queued ? head->len : PROXY_BUF_MAX - queued;
        if (sl) {
            if (now < l->slice_next_ns)
                return l->slice_next_ns;
            int64_t var = sl->a.slicer.size_variation;
            int64_t size = sl->a.slicer.average_size;
            if (var > 0)
                size += (int64_t)(conn_rand(l->c) % (uint64_t)(2 * var + 1)) - var;
            if ((size_t)size < n)
                n = (size_t)size;
        }
        if (bw) {
            if (now < l->bw_next_ns)
                return l->bw_next_ns;
            uint64_t rate = (uint64_t)bw->a.bandwidth.rate * 1000; /* bytes/s */
            uint64_t slot = rate * BW_SLOT_NS / 1000000000ull;     /* bytes per slot */
            if (slot == 0)
                slot = 1;
            if (n > slot)
                n = (size_t)slot;
            /* a timer that fires late keeps its slot, so the average rate holds; an idle link
             * does not bank credit beyond one slot */
            uint64_t start = l->bw_next_ns + BW_SLOT_NS < now ? now : l->bw_next_ns;
            l->bw_next_ns = start + (uint64_t)n * 1000000000ull / rate;
        }
        size_t direct = 0;
        if (evbuffer_get_length(out) == 0 && can_write_now(l)) {
            /* nothing queued: write now rather than a loop turn later through the write
             * event (one epoll round less per SSE event); what the socket does not take, or
             * an error, is left to the bufferevent */
            int w = evbuffer_write_atmost(l->held, bufferevent_getfd(l->dst), (ev_ssize_t)n);
            if (w > 0) {
                direct = (size_t)w;
                count_out(l, direct);
            }
        }
        if (n > direct)
            evbuffer_remove_buffer(l->held, out, n - direct);
        head->len -= n;
        if (head->len == 0) {
            l->q_head = (l->q_head + 1) % l->q_cap;
            l->q_n--;
        }
        if (sl && sl->a.slicer.delay > 0)
            l->slice_next_ns = now + (uint64_t)sl->a.slicer.delay * 1000;
    }
    return 0;
}

static void want_empty(struct link *l)
{
    if (!l->want_empty) {
        l->want_empty = 1;
        bufferevent_setwatermark(l->dst, EV_WRITE, 0, 0);
    }
}

/* Passes the source's FIN on once everything before it left. Returns the time it wants to run
 * again (slow_close), or 0. */
static uint64_t link_fin(struct link *l, uint64_t now)
{
    struct conn *c = l->c;
    if (!l->src_eof || l->fin_sent || l->q_n > 0 ||
        evbuffer_get_length(bufferevent_get_input(l->src)) > 0 || link_dropping(l))
        return 0; /* a dropping link (reset_peer) drops the FIN too */
    size_t i = 0;
    int64_t delay = 0;
    for (const struct toxic *t; (t = next_on(l, TOXIC_SLOW_CLOSE, &i)) != NULL; i++)
        delay += t->a.slow_close.delay;
    if (delay > 0) {
        if (l->fin_due_ns == 0)
            l->fin_due_ns = now + (uint64_t)delay * MS;
        if (now < l->fin_due_ns)
            return l->fin_due_ns;
    }
    if (l->dst == c->bev[SIDE_UPSTREAM] && !c->up_connected)
        return 0;
    if (evbuffer_get_length(bufferevent_get_output(l->dst)) > 0) {
        want_empty(l); /* flush before the FIN: write_cb brings us back */
        return 0;
    }
    shutdown(bufferevent_getfd(l->dst), SHUT_WR);
    l->fin_sent = 1;
    return 0;
}

static void set_read(struct link *l, int on)
{
    if (l->rd_on == on)
        return;
    l->rd_on = on;
    if (on)
        bufferevent_enable(l->src, EV_READ);
    else
        bufferevent_disable(l->src, EV_READ);
}

static void set_write(struct conn *c, int s, int on)
{
    if (c->wr_on[s] == on)
        return;
    c->wr_on[s] = on;
    if (on)
        bufferevent_enable(c->bev[s], EV_WRITE);
    else
        bufferevent_disable(c->bev[s], EV_WRITE);
}

/* Recomputes what the connection does now; every callback ends here. */
static void conn_pump(struct conn *c)
{
    if (c->dead)
        return;
    uint64_t now = clock_now_ns();
    if (conn_deadlines(c, now) != 0)
        return;
    int frozen = conn_frozen(c);
    uint64_t wake = 0;
    for (int d = 0; d < 2; d++) {
        struct link *l = &c->link[d];
        uint64_t w = 0;
        if (!frozen) {
            link_ingest(l, now);
            w = link_release(l, now);
        }
        if (w && (wake == 0 || w < wake))
            wake = w;
    }
    for (int d = 0; d < 2; d++) {
        struct link *l = &c->link[d];
        if (l->src_eof && link_dropping(l) && !frozen) {
            /* reset_peer drops the FIN like the data: Toxiproxy's reset toxic takes a closed
             * input as its trigger too, and resets 'timeout' ms later (toxics/reset_peer.go),
             * so an upstream that answers and closes at once still gives an RST, not an EOF */
            if (reset_arm(l, now) > 0)
                continue;
            /* Toxiproxy's timeout passes a close on at once, dropped data and all */
            conn_close(c, CLOSE_FIN, SIDE_CLIENT);
            return;
        }
        if (l->limit_hit && l->q_n == 0 && !frozen) {
            if (evbuffer_get_length(bufferevent_get_output(l->dst)) == 0 &&
                (l->dst != c->bev[SIDE_UPSTREAM] || c->up_connected)) {
                conn_close(c, CLOSE_FIN, SIDE_CLIENT);
                return;
            }
            want_empty(l);
        }
        uint64_t w = frozen ? 0 : link_fin(l, now);
        if (w && (wake == 0 || w < wake))
            wake = w;
    }
    if (c->link[0].fin_sent && c->link[1].fin_sent) {
        conn_close(c, CLOSE_FIN, SIDE_CLIENT);
        return;
    }
    for (int d = 0; d < 2; d++) {
        struct link *l = &c->link[d];
        int rd = !frozen && !l->src_eof && !l->limit_hit;
        if (rd && !link_dropping(l))
            rd = !link_stalled(l) && !queue_full(l) &&
                 evbuffer_get_length(l->held) < PROXY_BUF_MAX;
        set_read(l, rd);
    }
    /* a side that sent its FIN is read no more: watch it for the RST instead. A blackholed
     * connection shows nothing, so it watches nothing either. */
    watch_set(c, SIDE_CLIENT, !frozen && c->link[TOXIC_UPSTREAM].src_eof);
    watch_set(c, SIDE_UPSTREAM, !frozen && c->link[TOXIC_DOWNSTREAM].src_eof);
    set_write(c, SIDE_CLIENT, !frozen);
    set_write(c, SIDE_UPSTREAM, !frozen);
    if (c->dropped && c->drop_due_ns && (wake == 0 || c->drop_due_ns < wake))
        wake = c->drop_due_ns;
    for (size_t i = 0; i < c->p->ntox; i++) {
        uint64_t due = c->tx[i].on ? c->tx[i].due_ns : 0;
        if (due && (wake == 0 || due < wake))
            wake = due;
    }
    if (wake) {
        uint64_t dt = wake > now ? wake - now : 0;
        struct timeval tv = {(time_t)(dt / 1000000000ull),
                             (suseconds_t)(dt % 1000000000ull / 1000)};
        evtimer_add(c->timer, &tv);
    } else {
        evtimer_del(c->timer);
    }
}

/* ---- callbacks --------------------------------------------------------------------------- */

/* libevent 2.1 reads at most 4 KiB per wakeup (EVBUFFER_MAX_READ in buffer.c); a bulk transfer
 * then costs five syscalls per 4 KiB. When a read came back full, take what else is queued in one
 * more recv, straight into the input buffer. Returns -1 if that found the peer gone (handled). */
static int read_more(struct conn *c, struct bufferevent *bev)
{
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t have = evbuffer_get_length(in);
    if (have < 4096 || have >= PROXY_BUF_MAX)
        return 0;
    size_t want = PROXY_BUF_MAX - have < PROXY_IO_MAX ? PROXY_BUF_MAX - have : PROXY_IO_MAX;
    struct evbuffer_iovec v[2];
    /* bufferevent freezes the input's end against writers other than itself; we stand in for
     * its read for this one call */
    evbuffer_unfreeze(in, 0);
    int nv = evbuffer_reserve_space(in, (ev_ssize_t)want, v, 2);
    if (nv <= 0) {
        evbuffer_freeze(in, 0);
        return 0;
    }
    size_t room = 0;
    for (int i = 0; i < nv; i++) {
        if (v[i].iov_len > want - room)
            v[i].iov_len = want - room;
        room += v[i].iov_len;
    }
    struct msghdr mh = {0};
    mh.msg_iov = (struct iovec *)v;
    mh.msg_iovlen = (size_t)nv;
    ssize_t r = recvmsg(bufferevent_getfd(bev), &mh, MSG_DONTWAIT);
    size_t got = r > 0 ? (size_t)r : 0;
    for (int i = 0; i < nv; i++) {
        size_t take = got < v[i].iov_len ? got : v[i].iov_len;
        v[i].iov_len = take;
        got -= take;
    }
    evbuffer_commit_space(in, v, nv);
    evbuffer_freeze(in, 0);
    if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        /* as event_cb would have seen it on the next read */
        conn_close(c, CLOSE_RST_PEER, bev == c->bev[SIDE_CLIENT] ? SIDE_CLIENT : SIDE_UPSTREAM);
        return -1;
    }
    if (r == 0) { /* the FIN: the next read would have reported it */
        struct link *l = &c->link[bev == c->bev[SIDE_CLIENT] ? TOXIC_UPSTREAM : TOXIC_DOWNSTREAM];
        l->src_eof = 1;
        l->rd_on = 0;
        bufferevent_disable(bev, EV_READ);
    }
    return 0;
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    c->p->st.wakeups++;
    if (read_more(c, bev) == 0)
        conn_pump(c);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    struct conn *c = arg;
    c->p->st.wakeups++;
    conn_pump(c);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct conn *c = arg;
    c->p->st.wakeups++;
    conn_pump(c);
}

static void out_count_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    (void)buf;
    struct link *l = arg;
    count_out(l, info->n_deleted);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    c->p->st.wakeups++;
    enum side s = bev == c->bev[SIDE_CLIENT] ? SIDE_CLIENT : SIDE_UPSTREAM;
    if (what & BEV_EVENT_CONNECTED) {
        c->up_connected = 1;
        set_nodelay(bufferevent_getfd(bev));
        conn_pump(c);
        return;
    }
    if (what & BEV_EVENT_ERROR) {
        if (s == SIDE_UPSTREAM && !c->up_connected) {
            /* Toxiproxy closes the client when the upstream dial fails */
            c->p->st.upstream_errors++;
            conn_close(c, CLOSE_FIN, SIDE_CLIENT);
            return;
        }
        /* an RST (or a write into a reset socket) on one side: reset the other, as the peer
         * would have seen without us */
        conn_close(c, CLOSE_RST_PEER, s);
        return;
    }
    if (what & BEV_EVENT_EOF) {
        struct link *l = &c->link[s == SIDE_CLIENT ? TOXIC_UPSTREAM : TOXIC_DOWNSTREAM];
        l->src_eof = 1;
        l->rd_on = 0; /* libevent stopped reading it */
        conn_pump(c);
    }
}

/* ---- the close watch --------------------------------------------------------------------- */

/* Each side's close state is mirrored on the other at once, so the peer's next write fails
 * exactly where it would with no proxy in the path. A FIN is passed on by link_fin. An RST
 * that arrives while libevent reads the socket shows up as a read error (event_cb). But after
 * a FIN libevent reads that socket no more, and the RST its kernel sends when our data arrives
 * after its close (or at any later time) would only show on our next write to it: one write, one
 * token, one flush period late. So a socket whose peer sent its FIN goes into this watch.
 *
 * Why a separate epoll set, registered in libevent as one EV_READ|EV_PERSIST event: after a FIN
 * the socket is readable for ever, so a level-triggered EV_READ on it would fire on every loop
 * turn; libevent refuses to mix edge- and level-triggered events on one fd, and a dup()'d fd with
 * EV_ET would cost a descriptor per half-closed socket and still report EOF edges. Here the
 * socket is added with events = EPOLLET alone: epoll always reports EPOLLERR and EPOLLHUP and
 * nothing else was asked for, so the FIN's readability never wakes us; edge-triggered because a
 * socket shut both ways keeps EPOLLHUP set while the connection waits for its other FIN (e.g.
 * slow_close), and must report it once per change, not on every turn. An RST (tcp_reset sets
 * sk_err, then the state change and error report wake the socket) always reports, and a socket
 * that was reset before it was added reports at once (epoll polls it on EPOLL_CTL_ADD). Linux
 * only, as TCP_INFO already is. Bounded: at most 2 x PROXY_MAX_CONNS entries, and one wakeup per
 * state change of a watched socket. */
static void watch_set(struct conn *c, enum side s, int on)
{
    struct watch *w = &c->watch[s];
    if (w->on == on || (on && w->failed))
        return;
    evutil_socket_t fd = bufferevent_getfd(c->bev[s]);
    if (fd < 0)
        return;
    struct epoll_event ev = {0};
    ev.events = EPOLLET;
    ev.data.ptr = w;
    if (epoll_ctl(c->p->watch_fd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, &ev) != 0 && on) {
        /* ENOMEM or max_user_watches: this side falls back to seeing the RST on our next write */
        w->failed = 1;
        c->p->st.watch_errors++;
        return;
    }
    w->on = on;
}

static void watch_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct proxy *p = arg;
    struct epoll_event ev[WATCH_BATCH];
    int n = epoll_wait(fd, ev, WATCH_BATCH, 0);
    /* conn_close only marks a connection dead and takes it out of the set; the reap frees it
     * after this callback, so every pointer in this batch stays valid */
    for (int i = 0; i < n; i++) {
        struct watch *w = ev[i].data.ptr;
        struct conn *c = w->c;
        p->st.wakeups++;
        if (c->dead || !w->on)
            continue;
        int soerr = 0;
        socklen_t len = sizeof soerr;
        if (getsockopt(bufferevent_getfd(c->bev[w->side]), SOL_SOCKET, SO_ERROR, &soerr, &len) !=
                0 ||
            soerr == 0)
            continue; /* EPOLLHUP of an orderly close both ways: nothing to pass on */
        /* ECONNRESET, or EPIPE for a socket in CLOSE_WAIT (Linux's tcp_reset): the peer reset */
        conn_close(c, CLOSE_RST_PEER, w->side);
    }
}

/* ---- closing ----------------------------------------------------------------------------- */

/* Silences the connection now; the reap, later in this same loop turn, closes the sockets (so
 * the FIN or RST leaves then) and frees it: we may be deep in one of its own callbacks. */
static void conn_close(struct conn *c, enum close_mode mode, enum side failed)
{
    if (c->dead)
        return;
    c->dead = 1;
    struct proxy *p = c->p;
    if (c->prev)
        c->prev->next = c->next;
    else
        p->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        p->conns_tail = c->prev;
    p->nconns--;
    for (int s = 0; s < 2; s++) {
        struct bufferevent *bev = c->bev[s];
        watch_set(c, (enum side)s, 0);
        bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
        bufferevent_disable(bev, EV_READ | EV_WRITE);
        evutil_socket_t fd = bufferevent_getfd(bev);
        if (fd < 0)
            continue;
        if (mode == CLOSE_RST || (mode == CLOSE_RST_PEER && s != (int)failed))
            set_linger0(fd);
        else if (mode == CLOSE_FIN)
            sockdrain(fd, FIN_DRAIN_MAX); /* so the close is a FIN */
    }
    evtimer_del(c->timer);
    c->reap_next = p->reap;
    p->reap = c;
    event_active(p->reap_ev, EV_TIMEOUT, 1);
}

static void conn_free(struct conn *c)
{
    for (int d = 0; d < 2; d++) {
        struct link *l = &c->link[d];
        evbuffer_remove_cb_entry(bufferevent_get_output(l->dst), l->out_cb);
        evbuffer_free(l->held);
        free(l->q);
    }
    bufferevent_free(c->bev[SIDE_CLIENT]);
    bufferevent_free(c->bev[SIDE_UPSTREAM]);
    event_free(c->timer);
    free(c);
}

static void reap_now(struct proxy *p)
{
    while (p->reap) {
        struct conn *c = p->reap;
        p->reap = c->reap_next;
        conn_free(c);
    }
}

static void reap_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    reap_now(arg);
}

static void close_all(struct proxy *p)
{
    while (p->conns)
        conn_close(p->conns, CLOSE_FIN, SIDE_CLIENT);
}

/* ---- helpers ----------------------------------------------------------------------------- */

/* "host:port", "[v6]:port" or ":port". passive: a listen address (empty host: any). */
static int resolve(const char *addr, int passive, struct sockaddr_storage *sa, socklen_t *len,
                   char *err, size_t errlen)
{
    const char *what = passive ? "listen" : "upstream";
    char host[PROXY_ADDR_MAX];
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || colon[1] == '\0') {
        snprintf(err, errlen, "%s: '%s' is not host:port", what, addr);
        return -1;
    }
    size_t hl = (size_t)(colon - addr);
    if (hl >= sizeof host) {
        snprintf(err, errlen, "%s: host too long", what);
        return -1;
    }
    memcpy(host, addr, hl);
    host[hl] = '\0';
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    const char *port = colon + 1;
    char *end;
    long pn = strtol(port, &end, 10);
    if (*end != '\0' || pn < 0 || pn > 65535 || (!passive && pn == 0)) {
        snprintf(err, errlen, "%s: port '%s' is not %s..65535", what, port, passive ? "0" : "1");
        return -1;
    }
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (rc != 0 || res == NULL) {
        snprintf(err, errlen, "%s: cannot resolve '%s': %s", what, addr,
                 rc ? gai_strerror(rc) : "no address");
        return -1;
    }
    /* "localhost" gives ::1 and 127.0.0.1; take IPv4 first, as Go's resolver does */
    const struct addrinfo *pick = res;
    for (const struct addrinfo *a = res; a; a = a->ai_next) {
        if (a->ai_family == AF_INET) {
            pick = a;
            break;
        }
    }
    memcpy(sa, pick->ai_addr, pick->ai_addrlen);
    *len = (socklen_t)pick->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static int check_name(const char *s, char *err, size_t errlen)
{
    size_t n = strlen(s);
    if (n == 0 || n > PROXY_NAME_MAX) {
        snprintf(err, errlen, "name: expected 1..%d bytes, got %zu", PROXY_NAME_MAX, n);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x21 || ch == 0x7f || ch == '/' || ch == '?' || ch == '#' || ch == '%') {
            snprintf(err, errlen, "name: '%.64s' has a space, control character or one of / ? # %%",
                     s);
            return -1;
        }
    }
    return 0;
}

/* splitmix64's finaliser */
static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}
