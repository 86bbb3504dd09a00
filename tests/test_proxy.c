/* The chaos proxy over real loopback sockets. A helper thread runs one event loop with the proxy
 * and a small upstream server (echo, send N bytes, flood); the test thread is the client, with
 * blocking sockets and deadlines, and changes the proxy only through loopthread_call() so
 * libevent is touched from one thread. Each toxic is a table row with its measured effect;
 * timing bounds are generous (a noisy 2-core VM), byte counts exact. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "check.h"
#include "clock.h"
#include "harness.h"
#include "loopthread.h"
#include "proxy.h"
#include "sockport.h"
#include "toxic.h"

#define MAX_FDS 16
#define FLOOD_CHUNK (26 * 2048) /* a whole number of pattern periods */

enum up_mode { UP_ECHO, UP_SEND, UP_FLOOD };

struct upconn {
    struct upsrv *s;
    struct bufferevent *bev;
    struct upconn *next;
};

/* The upstream the proxy connects to; lives on the loop thread, counters read from the test. */
struct upsrv {
    struct event_base *base;
    struct evconnlistener *lev;
    int port;
    enum up_mode mode;
    size_t send_n; /* UP_SEND: bytes written on accept */
    int send_fin;  /* UP_SEND: then a FIN */
    struct upconn *conns;
    _Atomic uint64_t accepted, received, eofs, resets, flood_sent;
};

struct fix {
    struct loopthread *lt;
    struct upsrv up;
    struct proxy *p;
    int pport;
    int fds[MAX_FDS];
    int nfds;
};

/* ---- the upstream server (loop thread) ----------------------------------------------------- */

static void pattern(char *buf, size_t n, size_t off)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)('a' + (off + i) % 26);
}

static void up_close(struct upconn *u)
{
    if (u->bev) {
        bufferevent_free(u->bev);
        u->bev = NULL;
    }
}

static void up_flood_fill(struct upconn *u)
{
    static char chunk[FLOOD_CHUNK];
    if (chunk[0] == 0)
        pattern(chunk, sizeof chunk, 0);
    struct evbuffer *out = bufferevent_get_output(u->bev);
    while (evbuffer_get_length(out) < 2 * FLOOD_CHUNK)
        evbuffer_add(out, chunk, sizeof chunk);
}

static void up_read_cb(struct bufferevent *bev, void *arg)
{
    struct upconn *u = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t n = evbuffer_get_length(in);
    atomic_fetch_add(&u->s->received, n);
    if (u->s->mode == UP_ECHO)
        evbuffer_remove_buffer(in, bufferevent_get_output(bev), n);
    else
        evbuffer_drain(in, n);
}

static void up_write_cb(struct bufferevent *bev, void *arg)
{
    struct upconn *u = arg;
    if (u->s->mode == UP_FLOOD) {
        up_flood_fill(u);
    } else if (u->s->mode == UP_SEND && u->s->send_fin &&
               evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
        shutdown(bufferevent_getfd(bev), SHUT_WR);
    }
}

static void up_event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    struct upconn *u = arg;
    if (what & BEV_EVENT_ERROR) {
        if (EVUTIL_SOCKET_ERROR() == ECONNRESET || EVUTIL_SOCKET_ERROR() == EPIPE)
            atomic_fetch_add(&u->s->resets, 1);
        up_close(u);
    } else if (what & BEV_EVENT_EOF) {
        atomic_fetch_add(&u->s->eofs, 1);
        up_close(u);
    }
}

static void up_count_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    (void)buf;
    struct upconn *u = arg;
    if (u->s->mode == UP_FLOOD)
        atomic_fetch_add(&u->s->flood_sent, info->n_deleted);
}

static void up_accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                         int salen, void *arg)
{
    (void)lev;
    (void)sa;
    (void)salen;
    struct upsrv *s = arg;
    struct upconn *u = calloc(1, sizeof *u);
    if (u == NULL) {
        evutil_closesocket(fd);
        return;
    }
    u->s = s;
    u->next = s->conns;
    s->conns = u;
    atomic_fetch_add(&s->accepted, 1);
    if (s->mode == UP_FLOOD) {
        int small = 16 * 1024; /* so the writer blocks soon after the proxy stops reading */
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    }
    evutil_make_socket_nonblocking(fd);
    u->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(u->bev, up_read_cb, up_write_cb, up_event_cb, u);
    evbuffer_add_cb(bufferevent_get_output(u->bev), up_count_cb, u);
    bufferevent_enable(u->bev, EV_READ | EV_WRITE);
    if (s->mode == UP_SEND) {
        char *buf = malloc(s->send_n + 1);
        pattern(buf, s->send_n, 0);
        bufferevent_write(u->bev, buf, s->send_n);
        free(buf);
        bufferevent_setwatermark(u->bev, EV_WRITE, 0, 0);
        if (s->send_fin && s->send_n == 0)
            shutdown(fd, SHUT_WR);
    } else if (s->mode == UP_FLOOD) {
        bufferevent_setwatermark(u->bev, EV_WRITE, FLOOD_CHUNK, 0);
        up_flood_fill(u);
    }
}

static int up_start(struct upsrv *s, struct event_base *base)
{
    s->base = base;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->lev = evconnlistener_new_bind(base, up_accept_cb, s, LEV_OPT_CLOSE_ON_FREE |
                                     LEV_OPT_REUSEABLE, 64, (struct sockaddr *)&a, sizeof a);
    if (s->lev == NULL)
        return -1;
    struct sockaddr_in b;
    socklen_t bl = sizeof b;
    getsockname(evconnlistener_get_fd(s->lev), (struct sockaddr *)&b, &bl);
    s->port = ntohs(b.sin_port);
    return 0;
}

static void up_stop(struct upsrv *s)
{
    if (s->lev)
        evconnlistener_free(s->lev);
    while (s->conns) {
        struct upconn *u = s->conns;
        s->conns = u->next;
        up_close(u);
        free(u);
    }
}

/* ---- the fixture: the proxy and the upstream on one loop thread ---------------------------- */

/* The proxy's upstream is the fixture's server, or 'up_port' when that is not 0. */
static int fix_start_to(struct fix *f, enum up_mode mode, size_t send_n, int send_fin,
                        uint64_t seed, int up_port);

static int fix_start(struct fix *f, enum up_mode mode, size_t send_n, int send_fin,
                     uint64_t seed)
{
    return fix_start_to(f, mode, send_n, send_fin, seed, 0);
}

static int fix_start_to(struct fix *f, enum up_mode mode, size_t send_n, int send_fin,
                        uint64_t seed, int up_port)
{
    memset(f, 0, sizeof *f);
    f->up.mode = mode;
    f->up.send_n = send_n;
    f->up.send_fin = send_fin;
    f->lt = loopthread_new(1, f);
    if (f->lt == NULL)
        return -1;
    struct event_base *base = loopthread_base(f->lt);
    if (up_start(&f->up, base) != 0)
        return -1;
    char up[64], err[256];
    snprintf(up, sizeof up, "127.0.0.1:%d", up_port ? up_port : f->up.port);
    f->p = proxy_new(base, "test", "127.0.0.1:0", up, err, sizeof err);
    if (f->p == NULL) {
        fprintf(stderr, "  proxy_new: %s\n", err);
        return -1;
    }
    proxy_set_seed(f->p, seed);
    f->pport = proxy_listen_port(f->p);
    return loopthread_start(f->lt);
}

/* Always safe: after a failed start, or a test that returned early. */
static void fix_stop(struct fix *f)
{
    for (int i = 0; i < f->nfds; i++)
        if (f->fds[i] >= 0)
            close(f->fds[i]);
    loopthread_stop(f->lt);
    proxy_free(f->p);
    up_stop(&f->up);
    loopthread_free(f->lt);
}

struct toxic_arg {
    const char *json;
    int rc;
    char err[256];
};

static void do_add_toxic(void *ctx, void *arg)
{
    struct fix *f = ctx;
    struct toxic_arg *a = arg;
    struct toxic t;
    cJSON *j = cJSON_Parse(a->json);
    a->rc = toxic_parse(j, &t, a->err, sizeof a->err);
    cJSON_Delete(j);
    if (a->rc == 0)
        a->rc = proxy_add_toxic(f->p, &t, a->err, sizeof a->err);
}

static int add_toxic(struct fix *f, const char *json)
{
    struct toxic_arg a = {json, -1, ""};
    if (loopthread_call(f->lt, do_add_toxic, &a) != 0)
        return -1;
    if (a.rc != 0)
        fprintf(stderr, "  add_toxic %s: %s\n", json, a.err);
    return a.rc;
}

struct remove_arg {
    const char *name;
    int rc;
};

static void do_remove_toxic(void *ctx, void *arg)
{
    struct fix *f = ctx;
    struct remove_arg *a = arg;
    a->rc = proxy_remove_toxic(f->p, a->name);
}

static int remove_toxic(struct fix *f, const char *name)
{
    struct remove_arg a = {name, -1};
    if (loopthread_call(f->lt, do_remove_toxic, &a) != 0)
        return -1;
    return a.rc;
}

struct conns_arg {
    struct proxy_conn_info info[8];
    size_t n;
    struct proxy_stats st;
};

static void do_conns(void *ctx, void *arg)
{
    struct fix *f = ctx;
    struct conns_arg *a = arg;
    a->n = proxy_list_conns(f->p, a->info, 8);
    proxy_get_stats(f->p, &a->st);
}

/* ---- the client side (test thread) -------------------------------------------------------- */

static int client(struct fix *f, int rcvbuf)
{
    int fd = harness_connect(f->pport, rcvbuf);
    if (fd >= 0 && f->nfds < MAX_FDS)
        f->fds[f->nfds++] = fd;
    return fd;
}

static void client_close(struct fix *f, int fd, int rst)
{
    for (int i = 0; i < f->nfds; i++)
        if (f->fds[i] == fd)
            f->fds[i] = -1;
    if (rst)
        harness_close_rst(fd);
    else
        harness_close_fin(fd);
}

static double ms_since(uint64_t t0)
{
    return (double)(clock_now_ns() - t0) / 1e6;
}

struct rx {
    size_t bytes;
    double first_ms, end_ms; /* since the start; -1 if it did not happen */
    int eof;                 /* recv returned 0 */
    int err;                 /* errno of a failed recv (ECONNRESET), or 0 */
    int reads;
    size_t max_read;
    int corrupt;             /* a byte off the pattern */
};

/* Reads until 'want' bytes, EOF, an error or timeout_ms. */
static void receive(int fd, size_t want, int timeout_ms, uint64_t t0, struct rx *r)
{
    memset(r, 0, sizeof *r);
    r->first_ms = r->end_ms = -1;
    uint64_t deadline = clock_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    char buf[65536];
    while (r->bytes < want) {
        uint64_t now = clock_now_ns();
        if (now >= deadline)
            return;
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, (int)((deadline - now) / 1000000ull) + 1) <= 0)
            continue;
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0) {
            r->err = errno;
            r->end_ms = ms_since(t0);
            return;
        }
        if (n == 0) {
            r->eof = 1;
            r->end_ms = ms_since(t0);
            return;
        }
        if (r->first_ms < 0)
            r->first_ms = ms_since(t0);
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != (char)('a' + (r->bytes + (size_t)i) % 26))
                r->corrupt = 1;
        r->bytes += (size_t)n;
        r->reads++;
        if ((size_t)n > r->max_read)
            r->max_read = (size_t)n;
    }
}

/* One byte out, one byte back: the round trip in ms, or -1. */
static double ping(int fd)
{
    uint64_t t0 = clock_now_ns();
    char c = 'a';
    if (send(fd, &c, 1, MSG_NOSIGNAL) != 1)
        return -1;
    struct rx r;
    receive(fd, 1, 5000, t0, &r);
    return r.bytes == 1 ? r.first_ms : -1;
}

/* Nothing arrives (no data, no FIN, no RST) within ms. */
static int quiet_for(int fd, int ms)
{
    struct pollfd pfd = {fd, POLLIN, 0};
    return poll(&pfd, 1, ms) == 0;
}

/* Waits (bounded) until *counter >= want. */
static int wait_count(_Atomic uint64_t *counter, uint64_t want, int timeout_ms)
{
    uint64_t t0 = clock_now_ns();
    while (atomic_load(counter) < want) {
        if (ms_since(t0) > timeout_ms)
            return -1;
        harness_sleep_ms(5);
    }
    return 0;
}

/* ---- the toxic table ---------------------------------------------------------------------- */

enum measure { M_RTT, M_RECEIVE, M_HOLD };

struct row {
    const char *name;
    const char *toxic;
    enum measure how;
    enum up_mode mode;
    size_t send_n;
    int send_fin;
    /* expectations */
    double lo_ms, hi_ms; /* M_RTT: every round trip; M_RECEIVE: the end (EOF/error/all bytes) */
    size_t bytes;        /* M_RECEIVE: exactly this many arrive */
    int end;             /* M_RECEIVE: 0 all bytes, 'F' EOF, 'R' ECONNRESET */
    double first_hi_ms;  /* M_RECEIVE: first byte no later than this (0: no check) */
    int min_reads;       /* M_RECEIVE: at least this many recv() calls returned data */
    size_t max_read;     /* M_RECEIVE: no recv() returned more (0: no check) */
};

static const struct row ROWS[] = {
    {.name = "latency", .toxic = "{\"type\":\"latency\",\"attributes\":{\"latency\":100}}",
     .how = M_RTT, .mode = UP_ECHO, .lo_ms = 99, .hi_ms = 600},
    {.name = "latency_upstream",
     .toxic = "{\"type\":\"latency\",\"stream\":\"upstream\",\"attributes\":{\"latency\":100}}",
     .how = M_RTT, .mode = UP_ECHO, .lo_ms = 99, .hi_ms = 600},
    {.name = "jitter",
     .toxic = "{\"type\":\"latency\",\"attributes\":{\"latency\":60,\"jitter\":40}}",
     .how = M_RTT, .mode = UP_ECHO, .lo_ms = 19, .hi_ms = 500},
    {.name = "toxicity_zero",
     .toxic = "{\"type\":\"latency\",\"toxicity\":0,\"attributes\":{\"latency\":400}}",
     .how = M_RTT, .mode = UP_ECHO, .lo_ms = 0, .hi_ms = 200},
    /* 200 KB/s: 200,000 bytes take about a second */
    {.name = "bandwidth", .toxic = "{\"type\":\"bandwidth\",\"attributes\":{\"rate\":200}}",
     .how = M_RECEIVE, .mode = UP_SEND, .send_n = 200000, .send_fin = 1, .lo_ms = 850,
     .hi_ms = 6000, .bytes = 200000},
    /* slices of 6..14 bytes, 3 ms apart: 600 bytes arrive in many small reads; two slices may
     * meet in the receive buffer when this thread is late */
    {.name = "slicer",
     .toxic = "{\"type\":\"slicer\",\"attributes\":{\"average_size\":10,\"size_variation\":4,"
              "\"delay\":3000}}",
     .how = M_RECEIVE, .mode = UP_SEND, .send_n = 600, .lo_ms = 100, .hi_ms = 5000,
     .bytes = 600, .min_reads = 30, .max_read = 28},
    {.name = "limit_data", .toxic = "{\"type\":\"limit_data\",\"attributes\":{\"bytes\":1000}}",
     .how = M_RECEIVE, .mode = UP_SEND, .send_n = 5000, .lo_ms = 0, .hi_ms = 3000,
     .bytes = 1000, .end = 'F'},
    {.name = "reset_peer", .toxic = "{\"type\":\"reset_peer\",\"attributes\":{\"timeout\":100}}",
     .how = M_RECEIVE, .mode = UP_SEND, .send_n = 100, .lo_ms = 99, .hi_ms = 3000, .bytes = 0,
     .end = 'R'},
    {.name = "timeout", .toxic = "{\"type\":\"timeout\",\"attributes\":{\"timeout\":300}}",
     .how = M_RECEIVE, .mode = UP_SEND, .send_n = 100, .lo_ms = 299, .hi_ms = 3000,
     .bytes = 0, .end = 'F'},
    {.name = "slow_close", .toxic = "{\"type\":\"slow_close\",\"attributes\":{\"delay\":300}}",
     .how = M_RECEIVE, .mode = UP_SEND, .send_n = 100, .send_fin = 1, .lo_ms = 299,
     .hi_ms = 3000, .bytes = 100, .end = 'F', .first_hi_ms = 200},
    {.name = "stall", .toxic = "{\"type\":\"stall\",\"attributes\":{\"duration_ms\":300}}",
     .how = M_RECEIVE, .mode = UP_SEND, .send_n = 100, .lo_ms = 299, .hi_ms = 3000,
     .bytes = 100},
    {.name = "blackhole",
     .toxic = "{\"type\":\"blackhole\",\"attributes\":{\"rst_after_ms\":0}}", .how = M_HOLD,
     .mode = UP_ECHO},
    {.name = "blackhole_rst",
     .toxic = "{\"type\":\"blackhole\",\"attributes\":{\"rst_after_ms\":300}}",
     .how = M_RECEIVE, .mode = UP_ECHO, .lo_ms = 299, .hi_ms = 3000, .bytes = 0, .end = 'R'},
};

static void measure_rtt(struct fix *f, const struct row *w)
{
    int fd = client(f, 0);
    CHECK(fd >= 0);
    for (int i = 0; i < 5; i++) {
        double rtt = ping(fd);
        if (rtt < w->lo_ms || rtt > w->hi_ms)
            fprintf(stderr, "  %s: round trip %d took %.1f ms, expected %.0f..%.0f\n", w->name,
                    i, rtt, w->lo_ms, w->hi_ms);
        CHECK(rtt >= w->lo_ms && rtt <= w->hi_ms);
    }
}

static void measure_receive(struct fix *f, const struct row *w)
{
    uint64_t t0 = clock_now_ns();
    int fd = client(f, 0);
    CHECK(fd >= 0);
    if (w->mode == UP_ECHO) { /* something for the toxic to act on */
        CHECK(send(fd, "ping", 4, MSG_NOSIGNAL) == 4);
    }
    struct rx r;
    size_t want = w->end ? (size_t)-1 : w->bytes;
    receive(fd, want, (int)w->hi_ms + 2000, t0, &r);
    double end = w->end ? r.end_ms : r.bytes == w->bytes ? ms_since(t0) : -1;
    fprintf(stderr, "  %s: %zu bytes, first %.1f ms, end %.1f ms, eof %d, err %d\n", w->name,
            r.bytes, r.first_ms, end, r.eof, r.err);
    CHECK_EQ_INT(r.bytes, w->bytes);
    CHECK(!r.corrupt);
    if (w->end == 'F') {
        CHECK(r.eof);
    } else if (w->end == 'R') {
        CHECK_EQ_INT(r.err, ECONNRESET);
    }
    CHECK(end >= w->lo_ms && end <= w->hi_ms);
    if (w->first_hi_ms > 0) {
        CHECK(r.first_ms >= 0);
        CHECK_TIMING(r.first_ms <= w->first_hi_ms);
    }
    if (w->min_reads) {
        fprintf(stderr, "  %s: %d reads, largest %zu bytes\n", w->name, r.reads, r.max_read);
        /* slices 3 ms apart stay apart only while this thread reads within 3 ms */
        CHECK_TIMING(r.reads >= w->min_reads);
        CHECK_TIMING(r.max_read <= w->max_read);
    }
    if (w->end == 'R') { /* both sides get the RST */
        CHECK_EQ_INT(wait_count(&f->up.resets, 1, 3000), 0);
    }
}

/* The connection is held: no data, no FIN, no RST, and the upstream got nothing; removing the
 * toxic lets the held bytes through. */
static void measure_hold(struct fix *f, const struct row *w)
{
    int fd = client(f, 0);
    CHECK(fd >= 0);
    CHECK(send(fd, "pong", 4, MSG_NOSIGNAL) == 4);
    CHECK(quiet_for(fd, 400));
    CHECK_EQ_INT(atomic_load(&f->up.received), 0);
    struct conns_arg a;
    CHECK_EQ_INT(loopthread_call(f->lt, do_conns, &a), 0);
    CHECK_EQ_INT(a.n, 1);
    CHECK(a.info[0].blackholed);
    struct toxic t;
    char err[256];
    cJSON *j = cJSON_Parse(w->toxic);
    CHECK_EQ_INT(toxic_parse(j, &t, err, sizeof err), 0);
    cJSON_Delete(j);
    CHECK_EQ_INT(remove_toxic(f, t.name), 0);
    struct rx r;
    receive(fd, 4, 3000, clock_now_ns(), &r);
    CHECK_EQ_INT(r.bytes, 4);
}

static void run_row(const char *name)
{
    const struct row *w = NULL;
    for (size_t i = 0; i < sizeof ROWS / sizeof ROWS[0]; i++)
        if (strcmp(ROWS[i].name, name) == 0)
            w = &ROWS[i];
    CHECK(w != NULL);
    struct fix f;
    int ok = fix_start(&f, w->mode, w->send_n, w->send_fin, 1) == 0 &&
             add_toxic(&f, w->toxic) == 0;
    if (ok) {
        if (w->how == M_RTT)
            measure_rtt(&f, w);
        else if (w->how == M_RECEIVE)
            measure_receive(&f, w);
        else
            measure_hold(&f, w);
    } else {
        check_failed = 1;
    }
    fix_stop(&f);
}

static void proxy_should_add_latency(void)
{
    run_row("latency");
}

static void proxy_should_add_latency_upstream(void)
{
    run_row("latency_upstream");
}

static void proxy_should_keep_jitter_within_bounds(void)
{
    run_row("jitter");
}

static void proxy_should_never_apply_toxicity_zero(void)
{
    run_row("toxicity_zero");
}

static void proxy_should_cap_bandwidth(void)
{
    run_row("bandwidth");
}

static void proxy_should_slice_into_small_reads(void)
{
    run_row("slicer");
}

static void proxy_should_close_after_limit_data(void)
{
    run_row("limit_data");
}

static void proxy_should_reset_peer(void)
{
    run_row("reset_peer");
}

/* A raw-socket upstream for one connection: reads the request head, answers and closes at
 * once, as an HTTP/1.0 server does. */
struct rawup {
    int lfd;
    _Atomic uint64_t answered_ns; /* just before the answer was written */
    _Atomic int done;
};

static void *rawup_main(void *arg)
{
    struct rawup *u = arg;
    struct pollfd pfd = {u->lfd, POLLIN, 0};
    if (poll(&pfd, 1, 5000) == 1) {
        int fd = accept(u->lfd, NULL, NULL);
        char buf[2048];
        size_t n = 0;
        uint64_t deadline = clock_now_ns() + 5000 * 1000000ull;
        while (fd >= 0 && !harness_request_complete(buf, n) && n < sizeof buf &&
               clock_now_ns() < deadline) {
            struct pollfd q = {fd, POLLIN, 0};
            if (poll(&q, 1, 100) != 1)
                continue;
            ssize_t r = recv(fd, buf + n, sizeof buf - n, 0);
            if (r <= 0)
                break;
            n += (size_t)r;
        }
        static const char answer[] = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok";
        atomic_store(&u->answered_ns, clock_now_ns());
        if (fd >= 0) {
            harness_send_all(fd, answer, sizeof answer - 1);
            close(fd);
        }
    }
    atomic_store(&u->done, 1);
    return NULL;
}

/* Toxiproxy's reset toxic waits for data or the input's close, then 'timeout' ms, then closes
 * with SO_LINGER 0 (toxics/reset_peer.go): the FIN the upstream sends right after its answer is
 * dropped like the answer, and the client's recv fails with ECONNRESET after the timeout. It used
 * to get recv() == 0 at once. */
static void proxy_should_reset_peer_after_the_timeout_when_the_upstream_closed_at_once(void)
{
    struct rawup u = {.lfd = -1};
    int raw_port = 0;
    u.lfd = harness_listen(&raw_port);
    CHECK(u.lfd >= 0);
    pthread_t th;
    if (pthread_create(&th, NULL, rawup_main, &u) != 0) {
        close(u.lfd);
        CHECK(0);
    }
    struct fix f;
    int ok = fix_start_to(&f, UP_ECHO, 0, 0, 1, raw_port) == 0 &&
             add_toxic(&f, "{\"type\":\"reset_peer\",\"attributes\":{\"timeout\":300}}") == 0;
    struct rx r = {0};
    uint64_t t_end = 0;
    int fd = ok ? client(&f, 0) : -1;
    static const char req[] = "GET / HTTP/1.0\r\nHost: up\r\n\r\n";
    if (fd >= 0 && harness_send_all(fd, req, sizeof req - 1) == 0) {
        uint64_t t0 = clock_now_ns();
        receive(fd, (size_t)-1, 6000, t0, &r);
        t_end = t0 + (uint64_t)(r.end_ms * 1e6);
    }
    fix_stop(&f);
    pthread_join(th, NULL);
    close(u.lfd);
    uint64_t answered = atomic_load(&u.answered_ns);
    fprintf(stderr, "  %zu bytes, eof %d, err %d, end %.1f ms after the upstream answered\n",
            r.bytes, r.eof, r.err, answered && t_end ? (double)(t_end - answered) / 1e6 : -1.0);
    CHECK(ok && fd >= 0);
    CHECK(atomic_load(&u.done) && answered > 0);
    CHECK_EQ_INT(r.bytes, 0); /* the answer is dropped */
    CHECK_EQ_INT(r.eof, 0);   /* no FIN */
    CHECK_EQ_INT(r.err, ECONNRESET);
    /* the RST comes no earlier than the timeout after the answer left the upstream (a lower
     * bound: a loaded machine only makes it later) */
    CHECK(r.end_ms >= 0 && t_end >= answered + 300 * 1000000ull);
}

static void proxy_should_time_out(void)
{
    run_row("timeout");
}

static void proxy_should_slow_the_close(void)
{
    run_row("slow_close");
}

static void proxy_should_stall_reading(void)
{
    run_row("stall");
}

static void proxy_should_blackhole_and_hold_open(void)
{
    run_row("blackhole");
}

static void proxy_should_blackhole_then_reset(void)
{
    run_row("blackhole_rst");
}

/* ---- other behaviour ---------------------------------------------------------------------- */

static void passthrough(struct fix *f)
{
    int fd = client(f, 0);
    CHECK(fd >= 0);
    enum { TOTAL = 1 << 20 };
    char *out = malloc(TOTAL);
    CHECK(out != NULL);
    pattern(out, TOTAL, 0);
    size_t sent = 0;
    struct rx r;
    memset(&r, 0, sizeof r);
    char buf[65536];
    uint64_t t0 = clock_now_ns();
    while (r.bytes < TOTAL && ms_since(t0) < 10000) {
        struct pollfd pfd = {fd, (short)(POLLIN | (sent < TOTAL ? POLLOUT : 0)), 0};
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        if ((pfd.revents & POLLOUT) && sent < TOTAL) {
            ssize_t n = send(fd, out + sent, TOTAL - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n > 0)
                sent += (size_t)n;
        }
        if (pfd.revents & POLLIN) {
            ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
            if (n <= 0)
                break;
            if (memcmp(buf, out + r.bytes, (size_t)n) != 0)
                r.corrupt = 1;
            r.bytes += (size_t)n;
        }
    }
    free(out);
    CHECK_EQ_INT(r.bytes, TOTAL);
    CHECK(!r.corrupt);
    struct conns_arg a;
    CHECK_EQ_INT(loopthread_call(f->lt, do_conns, &a), 0);
    CHECK_EQ_INT(a.n, 1);
    CHECK_EQ_INT(a.info[0].bytes_up, TOTAL);
    CHECK_EQ_INT(a.info[0].bytes_down, TOTAL);
    CHECK_EQ_INT(a.info[0].client_port, sock_local_port(fd));
    CHECK_EQ_INT(a.info[0].buffered_up + a.info[0].buffered_down, 0);
    /* a half close travels as a FIN: the echo server sees it and closes, we see that */
    shutdown(fd, SHUT_WR);
    CHECK_EQ_INT(wait_count(&f->up.eofs, 1, 3000), 0);
    receive(fd, 1, 3000, clock_now_ns(), &r);
    CHECK(r.eof);
    CHECK_EQ_INT(atomic_load(&f->up.resets), 0);
    CHECK_EQ_INT(loopthread_call(f->lt, do_conns, &a), 0);
    CHECK_EQ_INT(a.n, 0);
}

static void proxy_should_pass_bytes_both_ways_untouched(void)
{
    struct fix f;
    if (fix_start(&f, UP_ECHO, 0, 0, 1) == 0)
        passthrough(&f);
    else
        check_failed = 1;
    fix_stop(&f);
}

static void pass_rst(struct fix *f)
{
    int a = client(f, 0);
    CHECK(a >= 0);
    CHECK(ping(a) >= 0);
    client_close(f, a, 1);
    CHECK_EQ_INT(wait_count(&f->up.resets, 1, 3000), 0);
    int b = client(f, 0);
    CHECK(b >= 0);
    CHECK(ping(b) >= 0);
    client_close(f, b, 0);
    CHECK_EQ_INT(wait_count(&f->up.eofs, 1, 3000), 0);
    CHECK_EQ_INT(atomic_load(&f->up.resets), 1);
}

static void proxy_should_pass_fin_as_fin_and_rst_as_rst(void)
{
    struct fix f;
    if (fix_start(&f, UP_ECHO, 0, 0, 1) == 0)
        pass_rst(&f);
    else
        check_failed = 1;
    fix_stop(&f);
}

/* A client that does not read: the proxy's own buffers stay bounded and the upstream writer
 * blocks; once the client reads, the writer moves again. */
static void backpressure(struct fix *f)
{
    int fd = client(f, 4096);
    CHECK(fd >= 0);
    uint64_t t0 = clock_now_ns(), last = 0, stable_since = clock_now_ns();
    while (ms_since(t0) < 10000) {
        harness_sleep_ms(50);
        uint64_t now_sent = atomic_load(&f->up.flood_sent);
        if (now_sent != last) {
            last = now_sent;
            stable_since = clock_now_ns();
        } else if (ms_since(stable_since) >= 500) {
            break;
        }
    }
    uint64_t blocked_at = atomic_load(&f->up.flood_sent);
    struct conns_arg a;
    CHECK_EQ_INT(loopthread_call(f->lt, do_conns, &a), 0);
    fprintf(stderr, "  writer blocked after %llu bytes; proxy holds %zu down, %zu up\n",
            (unsigned long long)blocked_at, a.info[0].buffered_down, a.info[0].buffered_up);
    CHECK(ms_since(stable_since) >= 500); /* it did block */
    CHECK(blocked_at < 64ull * 1024 * 1024);
    CHECK_EQ_INT(a.n, 1);
    CHECK(a.info[0].buffered_down <= 3 * PROXY_BUF_MAX); /* input, toxic stage, output */
    struct rx r;
    receive(fd, 2u << 20, 10000, clock_now_ns(), &r);
    CHECK_EQ_INT(r.bytes, 2u << 20);
    CHECK(!r.corrupt);
    CHECK(atomic_load(&f->up.flood_sent) > blocked_at);
}

static void proxy_should_stop_reading_when_the_reader_stalls(void)
{
    struct fix f;
    if (fix_start(&f, UP_FLOOD, 0, 0, 1) == 0)
        backpressure(&f);
    else
        check_failed = 1;
    fix_stop(&f);
}

struct drop_arg {
    int port;
    uint32_t rst_ms;
    int rc;
};

static void do_drop(void *ctx, void *arg)
{
    struct fix *f = ctx;
    struct drop_arg *d = arg;
    d->rc = proxy_drop_connection(f->p, d->port, d->rst_ms);
}

static void drop(struct fix *f)
{
    int a = client(f, 0), b = client(f, 0);
    CHECK(a >= 0 && b >= 0);
    CHECK(ping(a) >= 0 && ping(b) >= 0);
    struct drop_arg d = {sock_local_port(a), 0, -1};
    CHECK_EQ_INT(loopthread_call(f->lt, do_drop, &d), 0);
    CHECK_EQ_INT(d.rc, 0);
    uint64_t before = atomic_load(&f->up.received);
    CHECK(send(a, "x", 1, MSG_NOSIGNAL) == 1);
    CHECK(quiet_for(a, 300)); /* no data, no FIN, no RST */
    CHECK_EQ_INT(atomic_load(&f->up.received), before);
    CHECK(ping(b) >= 0); /* the other connection is untouched */
    struct conns_arg c;
    CHECK_EQ_INT(loopthread_call(f->lt, do_conns, &c), 0);
    CHECK_EQ_INT(c.n, 2);
    CHECK(c.info[0].blackholed && !c.info[1].blackholed);
    struct drop_arg none = {1, 0, 0};
    CHECK_EQ_INT(loopthread_call(f->lt, do_drop, &none), 0);
    CHECK_EQ_INT(none.rc, -1);
    /* b with a NAT-like expiry: RST both ways after 200 ms */
    struct drop_arg db = {sock_local_port(b), 200, -1};
    uint64_t t0 = clock_now_ns();
    CHECK_EQ_INT(loopthread_call(f->lt, do_drop, &db), 0);
    CHECK_EQ_INT(db.rc, 0);
    struct rx r;
    receive(b, 1, 3000, t0, &r);
    CHECK_EQ_INT(r.err, ECONNRESET);
    CHECK(r.end_ms >= 199);
    CHECK_EQ_INT(wait_count(&f->up.resets, 1, 3000), 0);
    CHECK(quiet_for(a, 50)); /* a is still held */
}

static void proxy_should_drop_one_connection_by_client_port(void)
{
    struct fix f;
    if (fix_start(&f, UP_ECHO, 0, 0, 1) == 0)
        drop(&f);
    else
        check_failed = 1;
    fix_stop(&f);
}

static void live_toxics(struct fix *f)
{
    int fd = client(f, 0);
    CHECK(fd >= 0);
    double fast = ping(fd);
    CHECK(fast >= 0 && fast < 100);
    CHECK_EQ_INT(add_toxic(f, "{\"type\":\"latency\",\"name\":\"lat\",\"attributes\":"
                              "{\"latency\":150}}"),
                 0);
    double slow = ping(fd);
    CHECK(slow >= 149);
    CHECK_EQ_INT(remove_toxic(f, "lat"), 0);
    CHECK(ping(fd) < 100);
    /* Toxiproxy: removing a timeout closes what it held (its data was dropped) */
    CHECK_EQ_INT(add_toxic(f, "{\"type\":\"timeout\",\"attributes\":{\"timeout\":0}}"), 0);
    CHECK(send(fd, "y", 1, MSG_NOSIGNAL) == 1);
    CHECK(quiet_for(fd, 200));
    CHECK_EQ_INT(remove_toxic(f, "timeout_downstream"), 0);
    struct rx r;
    receive(fd, 1, 3000, clock_now_ns(), &r);
    CHECK(r.eof);
    CHECK_EQ_INT(r.bytes, 0);
    CHECK_EQ_INT(remove_toxic(f, "timeout_downstream"), -1);
}

static void proxy_should_apply_toxics_to_live_connections(void)
{
    struct fix f;
    if (fix_start(&f, UP_ECHO, 0, 0, 1) == 0)
        live_toxics(&f);
    else
        check_failed = 1;
    fix_stop(&f);
}

/* Which of 12 sequential connections a toxicity-0.5 latency hits, as a bit mask. */
static int toxicity_pattern(uint64_t seed, unsigned *mask)
{
    struct fix f;
    int rc = -1;
    *mask = 0;
    if (fix_start(&f, UP_ECHO, 0, 0, seed) == 0 &&
        add_toxic(&f, "{\"type\":\"latency\",\"toxicity\":0.5,\"attributes\":{\"latency\":80}}")
            == 0) {
        rc = 0;
        for (int i = 0; i < 12 && rc == 0; i++) {
            int fd = client(&f, 0);
            double rtt = fd >= 0 ? ping(fd) : -1;
            if (rtt < 0)
                rc = -1;
            if (rtt >= 79)
                *mask |= 1u << i;
            if (fd >= 0)
                client_close(&f, fd, 0);
        }
    }
    fix_stop(&f);
    return rc;
}

static void proxy_should_decide_toxicity_per_connection_reproducibly(void)
{
    unsigned m1, m2, m3;
    CHECK_EQ_INT(toxicity_pattern(42, &m1), 0);
    CHECK_EQ_INT(toxicity_pattern(42, &m2), 0);
    CHECK_EQ_INT(toxicity_pattern(7, &m3), 0);
    int hits = __builtin_popcount(m1);
    fprintf(stderr, "  seed 42: %03x (%d of 12), seed 7: %03x\n", m1, hits, m3);
    CHECK_EQ_INT(m1, m2);
    CHECK(hits >= 1 && hits <= 11);
    CHECK(m1 != m3);
}

static void do_disable(void *ctx, void *arg)
{
    struct fix *f = ctx;
    (void)arg;
    proxy_disable(f->p);
}

static void do_enable(void *ctx, void *arg)
{
    struct fix *f = ctx;
    char err[256];
    *(int *)arg = proxy_enable(f->p, err, sizeof err);
}

static void disable_enable(struct fix *f)
{
    int fd = client(f, 0);
    CHECK(fd >= 0);
    CHECK(ping(fd) >= 0);
    CHECK_EQ_INT(loopthread_call(f->lt, do_disable, NULL), 0);
    struct rx r;
    receive(fd, 1, 3000, clock_now_ns(), &r);
    CHECK(r.eof); /* Toxiproxy closes the connections of a disabled proxy */
    CHECK(harness_connect(f->pport, 0) < 0);
    int rc = -1;
    CHECK_EQ_INT(loopthread_call(f->lt, do_enable, &rc), 0);
    CHECK_EQ_INT(rc, 0);
    int fd2 = client(f, 0); /* same port */
    CHECK(fd2 >= 0);
    CHECK(ping(fd2) >= 0);
}

static void proxy_should_close_when_disabled_and_listen_again_on_enable(void)
{
    struct fix f;
    if (fix_start(&f, UP_ECHO, 0, 0, 1) == 0)
        disable_enable(&f);
    else
        check_failed = 1;
    fix_stop(&f);
}

struct addr_arg {
    const char *listen, *upstream;
    int rc;
};

static void do_set_addresses(void *ctx, void *arg)
{
    struct fix *f = ctx;
    struct addr_arg *a = arg;
    char err[256];
    a->rc = proxy_set_addresses(f->p, a->listen, a->upstream, err, sizeof err);
}

static void upstream_refused(struct fix *f)
{
    /* a port nobody listens on */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    CHECK(bind(s, (struct sockaddr *)&a, sizeof a) == 0);
    getsockname(s, (struct sockaddr *)&a, &l);
    char up[64];
    snprintf(up, sizeof up, "127.0.0.1:%d", ntohs(a.sin_port));
    close(s);
    struct addr_arg aa = {NULL, up, -1};
    CHECK_EQ_INT(loopthread_call(f->lt, do_set_addresses, &aa), 0);
    CHECK_EQ_INT(aa.rc, 0);
    int fd = client(f, 0);
    CHECK(fd >= 0);
    struct rx r;
    receive(fd, 1, 3000, clock_now_ns(), &r);
    CHECK(r.eof || r.err == ECONNRESET);
    struct conns_arg c;
    CHECK_EQ_INT(loopthread_call(f->lt, do_conns, &c), 0);
    CHECK_EQ_INT(c.st.upstream_errors, 1);
    CHECK_EQ_INT(c.n, 0);
}

static void proxy_should_close_the_client_when_the_upstream_refuses(void)
{
    struct fix f;
    if (fix_start(&f, UP_ECHO, 0, 0, 1) == 0)
        upstream_refused(&f);
    else
        check_failed = 1;
    fix_stop(&f);
}

static void bad_addresses(struct event_base *base)
{
    static const struct {
        const char *name, *listen, *upstream, *err;
    } rows[] = {
        {"p", "127.0.0.1:0", "nohost", "upstream: 'nohost' is not host:port"},
        {"p", "127.0.0.1:0", "127.0.0.1:0", "upstream: port '0' is not 1..65535"},
        {"p", "127.0.0.1:0", "127.0.0.1:99999", "upstream: port '99999'"},
        {"p", "127.0.0.1:0", "", "upstream: missing"},
        {"p", "127.0.0.1:x", "127.0.0.1:1", "listen: port 'x'"},
        {"p", "no.such.host.invalid:0", "127.0.0.1:1", "listen: cannot resolve"},
        {"a/b", "127.0.0.1:0", "127.0.0.1:1", "name: 'a/b' has"},
        {"", "127.0.0.1:0", "127.0.0.1:1", "name: expected 1..64 bytes"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char err[256] = "";
        struct proxy *p = proxy_new(base, rows[i].name, rows[i].listen, rows[i].upstream, err,
                                    sizeof err);
        if (p != NULL || strncmp(err, rows[i].err, strlen(rows[i].err)) != 0)
            fprintf(stderr, "  row %zu: err '%s'\n", i, err);
        proxy_free(p);
        CHECK(p == NULL);
        CHECK(strncmp(err, rows[i].err, strlen(rows[i].err)) == 0);
    }
}

static void port_taken(struct event_base *base, const struct proxy *a)
{
    char err[256], taken[64];
    snprintf(taken, sizeof taken, "127.0.0.1:%d", proxy_listen_port(a));
    struct proxy *b = proxy_new(base, "b", taken, "127.0.0.1:1", err, sizeof err);
    proxy_free(b);
    CHECK(b == NULL);
    CHECK(strstr(err, "bind: Address already in use") != NULL);
}

static void proxy_should_reject_bad_addresses_naming_the_field(void)
{
    struct event_base *base = event_base_new();
    char err[256];
    struct proxy *a = proxy_new(base, "a", "127.0.0.1:0", "127.0.0.1:1", err, sizeof err);
    if (base && a) {
        bad_addresses(base);
        if (!check_failed)
            port_taken(base, a);
    } else {
        check_failed = 1;
    }
    proxy_free(a);
    if (base)
        event_base_free(base);
}

static int add_named(struct proxy *p, const char *name, enum toxic_type type, char *err,
                     size_t errlen)
{
    struct toxic t;
    memset(&t, 0, sizeof t);
    snprintf(t.name, sizeof t.name, "%s", name);
    t.type = type;
    t.toxicity = 1;
    return proxy_add_toxic(p, &t, err, errlen);
}

static void bound_toxics(struct proxy *p)
{
    char err[256], name[16];
    CHECK(strncmp(proxy_listen(p), "127.0.0.1:", 10) == 0); /* localhost prefers IPv4 */
    for (int i = 0; i < PROXY_MAX_TOXICS; i++) {
        snprintf(name, sizeof name, "lat%d", i);
        CHECK_EQ_INT(add_named(p, name, TOXIC_LATENCY, err, sizeof err), 0);
    }
    CHECK_EQ_INT(add_named(p, "one_more", TOXIC_STALL, err, sizeof err), -1);
    CHECK_EQ_STR(err, "toxics: at most 16 per proxy");
    CHECK_EQ_INT(proxy_remove_toxic(p, "lat3"), 0);
    CHECK_EQ_INT(proxy_remove_toxic(p, "lat3"), -1);
    CHECK_EQ_INT(proxy_toxic_count(p), 15);
    CHECK_EQ_STR(proxy_toxic_at(p, 3)->name, "lat4"); /* order kept */
    CHECK_EQ_INT(add_named(p, "lat4", TOXIC_STALL, err, sizeof err), -1);
    CHECK_EQ_STR(err, "toxic already exists: lat4");
    struct toxic t = *proxy_find_toxic(p, "lat4");
    t.a.latency.latency = 5;
    CHECK_EQ_INT(proxy_update_toxic(p, &t, err, sizeof err), 0);
    CHECK_EQ_INT(proxy_find_toxic(p, "lat4")->a.latency.latency, 5);
    t.type = TOXIC_STALL;
    CHECK_EQ_INT(proxy_update_toxic(p, &t, err, sizeof err), -1);
    t.type = TOXIC_LATENCY;
    t.a.latency.latency = -1;
    CHECK_EQ_INT(proxy_update_toxic(p, &t, err, sizeof err), -1);
    CHECK(strncmp(err, "attributes.latency", 18) == 0);
    proxy_reset(p);
    CHECK_EQ_INT(proxy_toxic_count(p), 0);
}

static void proxy_should_bound_the_toxics(void)
{
    struct event_base *base = event_base_new();
    char err[256];
    struct proxy *p = base ? proxy_new(base, "p", "localhost:0", "127.0.0.1:1", err, sizeof err)
                           : NULL;
    if (p)
        bound_toxics(p);
    else
        check_failed = 1;
    proxy_free(p);
    if (base)
        event_base_free(base);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN); /* as the proxy's contract asks */
    static const struct check_case cases[] = {
        CASE(proxy_should_pass_bytes_both_ways_untouched),
        CASE(proxy_should_pass_fin_as_fin_and_rst_as_rst),
        CASE(proxy_should_add_latency),
        CASE(proxy_should_add_latency_upstream),
        CASE(proxy_should_keep_jitter_within_bounds),
        CASE(proxy_should_never_apply_toxicity_zero),
        CASE(proxy_should_cap_bandwidth),
        CASE(proxy_should_slice_into_small_reads),
        CASE(proxy_should_close_after_limit_data),
        CASE(proxy_should_reset_peer),
        CASE(proxy_should_reset_peer_after_the_timeout_when_the_upstream_closed_at_once),
        CASE(proxy_should_time_out),
        CASE(proxy_should_slow_the_close),
        CASE(proxy_should_stall_reading),
        CASE(proxy_should_blackhole_and_hold_open),
        CASE(proxy_should_blackhole_then_reset),
        CASE(proxy_should_stop_reading_when_the_reader_stalls),
        CASE(proxy_should_drop_one_connection_by_client_port),
        CASE(proxy_should_apply_toxics_to_live_connections),
        CASE(proxy_should_decide_toxicity_per_connection_reproducibly),
        CASE(proxy_should_close_when_disabled_and_listen_again_on_enable),
        CASE(proxy_should_close_the_client_when_the_upstream_refuses),
        CASE(proxy_should_reject_bad_addresses_naming_the_field),
        CASE(proxy_should_bound_the_toxics),
    };
    return check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
}
