/* The sink interface (common/sink.h) over its HTTP/1.1 transport (common/h1sink.h), on a real
 * loopback connection: a guarded evhttp server on this thread's loop hands each request to a
 * sink, and a raw client socket decides when to read, FIN or RST. The close kind, the callback
 * counts and the drained bytes are exact; waits poll the loop with a deadline. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "check.h"
#include "clock.h"
#include "h1sink.h"
#include "harness.h"
#include "httpd.h"
#include "sink.h"

#define PIECES 400     /* marked writes in the drain case */
#define PIECE_LEN 1000 /* each one's body bytes: too many to fit the shrunk socket buffers */
#define WAIT_MS 10000

struct ctx {
    struct event_base *base;
    struct httpd h;
    struct evbuffer *scratch;
    struct sink *sk;
    int pieces; /* how many marked writes the handler makes at once; 0: one */
    int cork;   /* the handler only starts the body (the cork case) */
    int sndbuf;
    int closes, completes, drains;
    enum sink_close kind;
    uint32_t code;
};

static void drain_cb(struct sink *s, void *arg)
{
    (void)s;
    struct ctx *c = arg;
    c->drains++;
}

static void close_cb(struct sink *s, enum sink_close kind, uint32_t code, void *arg)
{
    (void)s;
    struct ctx *c = arg;
    c->closes++;
    c->kind = kind;
    c->code = code;
}

static void complete_cb(struct sink *s, void *arg)
{
    (void)s;
    struct ctx *c = arg;
    c->completes++;
}

static void handle_cb(struct evhttp_request *req, void *arg)
{
    struct ctx *c = arg;
    c->sk = h1sink_new(req, c->scratch);
    if (c->sk == NULL) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    const struct sink_callbacks cbs = {drain_cb, close_cb, complete_cb, c};
    sink_set_callbacks(c->sk, &cbs);
    httpd_tune(req, c->sndbuf, 1);
    sink_header(c->sk, "Content-Type", "text/event-stream");
    sink_start(c->sk, 200);
    char piece[PIECE_LEN];
    memset(piece, 'x', sizeof piece);
    if (c->cork)
        return; /* the test writes, once the head left */
    if (c->pieces == 0) {
        sink_write(c->sk, "data: hello\n\n", 13, 1);
        return;
    }
    for (int i = 0; i < c->pieces; i++)
        sink_write(c->sk, piece, sizeof piece, 1);
    sink_end(c->sk, "x-count", "400");
}

static int ctx_open(struct ctx *c)
{
    memset(c, 0, sizeof *c);
    char err[256];
    c->base = event_base_new();
    c->scratch = evbuffer_new();
    if (c->base == NULL || c->scratch == NULL)
        return -1;
    struct httpd_spec spec = {"127.0.0.1", 0, httpguard_defaults(64 * 1024), handle_cb, NULL,
                              NULL, c};
    if (httpd_open(c->base, &spec, &c->h, err, sizeof err) != 0) {
        fprintf(stderr, "  %s\n", err);
        return -1;
    }
    return 0;
}

static void ctx_close(struct ctx *c)
{
    sink_free(c->sk); /* outside its callbacks, as its owner must */
    httpd_close(&c->h);
    if (c->scratch)
        evbuffer_free(c->scratch);
    if (c->base)
        event_base_free(c->base);
}

/* Runs the loop until *flag is at least 'want' (or the deadline). Returns 0 when it is. */
static int pump_until(struct ctx *c, const int *flag, int want)
{
    uint64_t end = clock_now_ns() + WAIT_MS * 1000000ull;
    while (*flag < want && clock_now_ns() < end) {
        event_base_loop(c->base, EVLOOP_NONBLOCK);
        poll(NULL, 0, 1);
    }
    return *flag >= want ? 0 : -1;
}

/* Reads what arrived, without blocking; returns the bytes read, -1 at EOF or an error. */
static long read_some(int fd, char *last, size_t lastlen)
{
    char buf[16384];
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
        return -1;
    if (n < 0)
        return 0;
    /* keep the tail: the last chunk and its trailer */
    size_t k = (size_t)n < lastlen - 1 ? (size_t)n : lastlen - 1;
    size_t have = strlen(last);
    if (have + k >= lastlen) {
        memmove(last, last + have + k - (lastlen - 1), lastlen - 1 - k);
        have = lastlen - 1 - k;
    }
    memcpy(last + have, buf + n - k, k);
    last[have + k] = '\0';
    return n;
}

static int client_request(struct ctx *c, int rcvbuf)
{
    int fd = harness_connect(c->h.port, rcvbuf);
    if (fd < 0)
        return -1;
    const char *rq = "GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    if (send(fd, rq, strlen(rq), MSG_NOSIGNAL) != (ssize_t)strlen(rq)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads until the text 'want' has arrived, pumping the loop. Returns the bytes read, or -1. */
static long read_until(struct ctx *c, int fd, const char *want)
{
    char last[256] = "";
    long total = 0;
    uint64_t end = clock_now_ns() + WAIT_MS * 1000000ull;
    while (strstr(last, want) == NULL && clock_now_ns() < end) {
        event_base_loop(c->base, EVLOOP_NONBLOCK);
        long n = read_some(fd, last, sizeof last);
        if (n < 0)
            return -1;
        total += n;
        if (n == 0)
            poll(NULL, 0, 1);
    }
    return strstr(last, want) ? total : -1;
}

static void close_case(int rst, enum sink_close want)
{
    struct ctx c;
    int fd = -1;
    if (ctx_open(&c) != 0) {
        ctx_close(&c);
        CHECK(!"server");
    }
    fd = client_request(&c, 0);
    CHECK(fd >= 0);
    long got = read_until(&c, fd, "data: hello\n\n\r\n");
    CHECK(got > 0);
    CHECK(c.sk != NULL);
    CHECK_EQ_INT(sink_state(c.sk), SINK_OPEN);
    CHECK_EQ_INT(sink_marks_done(c.sk), 1);
    if (rst)
        harness_close_rst(fd);
    else
        harness_close_fin(fd);
    int ok = pump_until(&c, &c.closes, 1);
    int closes = c.closes, completes = c.completes;
    enum sink_close kind = c.kind;
    uint32_t code = c.code;
    enum sink_state st = sink_state(c.sk);
    ctx_close(&c);
    CHECK_EQ_INT(ok, 0);
    CHECK_EQ_INT(closes, 1);
    CHECK_EQ_INT(completes, 0);
    CHECK_EQ_INT(kind, want);
    CHECK_EQ_INT(code, 0);
    CHECK_EQ_INT(st, SINK_DONE);
}

static void sink_should_report_a_fin_close_as_fin(void)
{
    close_case(0, SINK_CLOSE_FIN);
}

static void sink_should_report_an_rst_close_as_rst(void)
{
    close_case(1, SINK_CLOSE_RST);
}

/* Every byte the sink says drained is one the client read, and a marked write counts once its
 * last byte left: fewer while the client does not read, all of them after. */
static void sink_should_count_drained_bytes_exactly(void)
{
    struct ctx c;
    if (ctx_open(&c) != 0) {
        ctx_close(&c);
        CHECK(!"server");
    }
    c.pieces = PIECES;
    c.sndbuf = 4096;
    int fd = client_request(&c, 4096);
    CHECK(fd >= 0);
    /* the handler runs and queues everything; the small buffers hold most of it back */
    uint64_t end = clock_now_ns() + WAIT_MS * 1000000ull;
    while (c.sk == NULL && clock_now_ns() < end) {
        event_base_loop(c.base, EVLOOP_NONBLOCK);
        poll(NULL, 0, 1);
    }
    CHECK(c.sk != NULL);
    for (int i = 0; i < 20; i++) {
        event_base_loop(c.base, EVLOOP_NONBLOCK);
        poll(NULL, 0, 1);
    }
    uint64_t queued = c.sk->queued;
    uint64_t early = sink_marks_done(c.sk);
    CHECK(early < PIECES);
    CHECK(sink_unsent(c.sk) > 0);
    CHECK_EQ_INT(sink_state(c.sk), SINK_FLUSHING);
    long got = read_until(&c, fd, "0\r\nx-count: 400\r\n\r\n");
    CHECK(got > 0);
    int ok = pump_until(&c, &c.completes, 1);
    CHECK_EQ_INT(ok, 0);
    /* each piece is framed as "3e8\r\n" + 1000 bytes + "\r\n"; the head and the last chunk
     * with its trailer come on top */
    size_t last = strlen("0\r\nx-count: 400\r\n\r\n");
    CHECK_EQ_INT(queued, (uint64_t)got);
    CHECK_EQ_INT(c.sk->drained, (uint64_t)got);
    CHECK((uint64_t)got > (uint64_t)PIECES * (PIECE_LEN + 7) + last);
    CHECK_EQ_INT(sink_marks_done(c.sk), PIECES);
    CHECK_EQ_INT(sink_unsent(c.sk), 0);
    CHECK_EQ_INT(sink_state(c.sk), SINK_DONE);
    CHECK(c.drains > 0);
    CHECK_EQ_INT(c.closes, 0);
    close(fd);
    ctx_close(&c);
}

/* Corked writes reach the peer as the same bytes in the same order as uncorked ones; they
 * count as queued, drained and marked only once sent, and what a full cork or the end finds
 * gathered is sent first. */
static void sink_should_send_corked_writes_unchanged(void)
{
    struct ctx c;
    if (ctx_open(&c) != 0) {
        ctx_close(&c);
        CHECK(!"server");
    }
    c.cork = 1;
    int fd = client_request(&c, 0);
    CHECK(fd >= 0);
    /* once the head left, three small events in one cork; then four of 100 bytes, more than
     * the buffer holds, ended while still corked */
    CHECK_EQ_INT(pump_until(&c, &c.drains, 1), 0);
    CHECK_EQ_INT(sink_unsent(c.sk), 0);
    char buf[256], piece[100];
    sink_cork(c.sk, buf, sizeof buf);
    for (int i = 0; i < 3; i++)
        sink_write(c.sk, "data: a\n\n", 9, 1);
    CHECK_EQ_INT(sink_marks_done(c.sk), 0);
    CHECK_EQ_INT(sink_unsent(c.sk), 3 * 14);
    uint64_t queued = c.sk->queued;
    sink_uncork(c.sk);
    CHECK_EQ_INT(c.sk->queued, queued + 3 * 14);
    CHECK_EQ_INT(sink_marks_done(c.sk), 3);
    CHECK_EQ_INT(sink_unsent(c.sk), 0);
    sink_cork(c.sk, buf, sizeof buf);
    memset(piece, 'y', sizeof piece);
    for (int i = 0; i < 4; i++)
        sink_write(c.sk, piece, sizeof piece, 1);
    CHECK_EQ_INT(sink_marks_done(c.sk), 5); /* the third write found the cork full: 3 + 2 */
    sink_end(c.sk, NULL, NULL);
    sink_uncork(c.sk);
    static char got[8192];
    size_t have = 0;
    const char *tail = "0\r\n\r\n";
    uint64_t end = clock_now_ns() + WAIT_MS * 1000000ull;
    while (clock_now_ns() < end &&
           (have < strlen(tail) || memcmp(got + have - strlen(tail), tail, strlen(tail)) != 0)) {
        event_base_loop(c.base, EVLOOP_NONBLOCK);
        ssize_t n = recv(fd, got + have, sizeof got - 1 - have, MSG_DONTWAIT);
        if (n > 0)
            have += (size_t)n;
        else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) || have == sizeof got - 1)
            break;
        else
            poll(NULL, 0, 1);
    }
    got[have] = '\0';
    int ok = pump_until(&c, &c.completes, 1);
    char want[2048];
    size_t w = 0;
    for (int i = 0; i < 3; i++)
        w += (size_t)snprintf(want + w, sizeof want - w, "9\r\ndata: a\n\n\r\n");
    for (int i = 0; i < 4; i++) {
        w += (size_t)snprintf(want + w, sizeof want - w, "64\r\n");
        memset(want + w, 'y', 100);
        w += 100;
        w += (size_t)snprintf(want + w, sizeof want - w, "\r\n");
    }
    w += (size_t)snprintf(want + w, sizeof want - w, "0\r\n\r\n");
    const char *body = strstr(got, "\r\n\r\n");
    CHECK(body != NULL);
    body += 4;
    size_t head = (size_t)(body - got);
    CHECK_EQ_INT(ok, 0);
    CHECK_EQ_INT(have - head, w);
    CHECK(memcmp(body, want, w) == 0);
    CHECK_EQ_INT(sink_marks_done(c.sk), 7);
    CHECK_EQ_INT(c.sk->queued, (uint64_t)have);
    CHECK_EQ_INT(c.sk->drained, (uint64_t)have);
    CHECK_EQ_INT(sink_state(c.sk), SINK_DONE);
    CHECK_EQ_INT(c.closes, 0);
    close(fd);
    ctx_close(&c);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    static const struct check_case cases[] = {
        CASE(sink_should_report_a_fin_close_as_fin),
        CASE(sink_should_report_an_rst_close_as_rst),
        CASE(sink_should_count_drained_bytes_exactly),
        CASE(sink_should_send_corked_writes_unchanged),
    };
    return check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
}
