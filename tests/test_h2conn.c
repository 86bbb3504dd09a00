/* The HTTP/2 transport (common/h2conn.h, common/h2sink.h) of a guarded evhttp server, on this
 * thread's loop, driven by independent clients: nghttp (nghttp2-client) and tests/h2client.py
 * (python3-h2) for what nghttp cannot do (reset one of two streams, a window never updated, a
 * GOAWAY before the close, a silent connection). The server's handler replies, or streams n
 * marked pieces of 10 bytes on a timer and ends with a trailer; every sink's close kind, code,
 * completion and drain counts are exact. Waits poll the loop with a deadline. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "check.h"
#include "clock.h"
#include "exchange.h"
#include "h1exchange.h"
#include "h2conn.h"
#include "harness.h"
#include "httpd.h"
#include "sink.h"
#include "tls.h"

#define SLOTS 8
#define WAIT_MS 20000
#define MAX_BODY 1024
#define PIECE_LEN 10 /* "tok000000\n" */
#define BIG_PIECE 65536
#define PYTHON "/usr/bin/python3"

struct ctx;

struct slot {
    struct ctx *c;
    struct sink *sk;
    struct event *tick;
    int n, written, ms;
    int size;       /* bytes per piece (PIECE_LEN) */
    int cut;        /* after n pieces: sink_cut instead of the end */
    int free_after; /* > 0: the owner frees the sink mid-stream, after this many pieces */
    int closes, completes;
    enum sink_close kind;
    uint32_t code;
};

struct ctx {
    struct event_base *base;
    struct httpd h;
    struct tls_server *tls;
    struct evbuffer *scratch;
    struct slot slots[SLOTS];
    int nslots;
};

static const char *client_script; /* tests/h2client.py */
static const char *no_python;     /* set: the python3-h2 cases SKIP with it */
static const char *no_nghttp;

/* ---- the server ---------------------------------------------------------------------------- */

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct slot *s = arg;
    if (s->sk == NULL || sink_state(s->sk) != SINK_OPEN)
        return;
    static char piece[BIG_PIECE + 1];
    snprintf(piece, PIECE_LEN + 1, "tok%06d\n", s->written);
    s->written++;
    sink_write(s->sk, piece, (size_t)s->size, 1);
    if (s->written == s->free_after) {
        sink_free(s->sk); /* from the owner's own timer: the stream is reset (CANCEL) */
        s->sk = NULL;
        return;
    }
    if (s->written == s->n) {
        if (s->cut)
            sink_cut(s->sk);
        else
            sink_end(s->sk, "x-tail", "done");
        return;
    }
    struct timeval tv = {0, s->ms * 1000};
    evtimer_add(s->tick, &tv);
}

static void close_cb(struct sink *sk, enum sink_close kind, uint32_t code, void *arg)
{
    (void)sk;
    struct slot *s = arg;
    s->closes++;
    s->kind = kind;
    s->code = code;
}

static void complete_cb(struct sink *sk, void *arg)
{
    (void)sk;
    struct slot *s = arg;
    s->completes++;
}

static int query_int(const char *q, const char *key, int dflt)
{
    size_t kl = strlen(key);
    for (const char *p = q; p != NULL && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL)
        if (strncmp(p, key, kl) == 0 && p[kl] == '=')
            return atoi(p + kl + 1);
    return dflt;
}

static void handle(struct exchange *x, void *arg)
{
    struct ctx *c = arg;
    if (strcmp(x->path, "/stream") == 0 && c->nslots < SLOTS) {
        struct slot *s = &c->slots[c->nslots++];
        s->c = c;
        s->n = query_int(x->query, "n", 3);
        s->ms = query_int(x->query, "ms", 5);
        s->cut = query_int(x->query, "cut", 0);
        s->size = query_int(x->query, "size", PIECE_LEN);
        if (s->size < PIECE_LEN || s->size > BIG_PIECE)
            s->size = PIECE_LEN;
        s->free_after = query_int(x->query, "free", 0);
        s->sk = exchange_take_sink(x);
        s->tick = evtimer_new(c->base, tick_cb, s);
        struct sink_callbacks cb = {NULL, close_cb, complete_cb, s};
        sink_set_callbacks(s->sk, &cb);
        sink_header(s->sk, "Content-Type", "text/event-stream");
        sink_start(s->sk, 200);
        struct timeval tv = {0, 1000};
        evtimer_add(s->tick, &tv);
        return;
    }
    if (strcmp(x->path, "/echo") == 0) {
        char b[64];
        int n = snprintf(b, sizeof b, "got %zu", x->body_len);
        exchange_reply(x, 200, b, (size_t)n);
        return;
    }
    exchange_add_header(x, "Content-Type", "text/plain");
    exchange_reply(x, 200, "hello h2", 8);
}

static void reject(struct exchange *x, int status, const char *message, void *arg)
{
    (void)arg;
    char b[300];
    int n = snprintf(b, sizeof b, "{\"error\":\"%s\",\"status\":%d}", message, status);
    exchange_reply(x, status, b, (size_t)n);
}

static void h1_cb(struct evhttp_request *req, void *arg)
{
    struct ctx *c = arg;
    struct h1exchange hx;
    if (h1exchange_init(&hx, req, c->scratch) != 0) {
        evhttp_send_reply(req, 500, "Internal Server Error", NULL);
        return;
    }
    handle(&hx.x, c);
    h1exchange_done(&hx);
}

/* h2 on; tls: the order set_h2 then set_tls (the other order is the mock's) */
static int srv_open(struct ctx *c, int tls, unsigned idle_ms)
{
    memset(c, 0, sizeof *c);
    c->base = event_base_new();
    c->scratch = evbuffer_new();
    struct httpd_spec spec = {"127.0.0.1", 0, httpguard_defaults(MAX_BODY), h1_cb, NULL, NULL, c};
    char err[256];
    if (httpd_open(c->base, &spec, &c->h, err, sizeof err) != 0) {
        fprintf(stderr, "  %s\n", err);
        return -1;
    }
    struct h2server_spec h2 = {handle, reject, c, MAX_BODY, 0, idle_ms};
    if (httpd_set_h2(&c->h, &h2, err, sizeof err) != 0) {
        fprintf(stderr, "  %s\n", err);
        return -1;
    }
    if (tls) {
        c->tls = tls_server_new(NULL, NULL, err, sizeof err);
        if (c->tls == NULL) {
            fprintf(stderr, "  %s\n", err);
            return -1;
        }
        httpd_set_tls(&c->h, c->tls);
    }
    return 0;
}

static void srv_close(struct ctx *c)
{
    for (int i = 0; i < c->nslots; i++) {
        if (c->slots[i].tick)
            event_free(c->slots[i].tick);
        sink_free(c->slots[i].sk);
    }
    httpd_close(&c->h);
    tls_server_free(c->tls);
    evbuffer_free(c->scratch);
    event_base_free(c->base);
}

static void pump(struct ctx *c, int ms)
{
    event_base_loop(c->base, EVLOOP_NONBLOCK);
    poll(NULL, 0, ms);
}

static int pump_until(struct ctx *c, int (*pred)(struct ctx *), int ms)
{
    uint64_t end = clock_now_ns() + (uint64_t)ms * 1000000ull;
    while (!pred(c)) {
        if (clock_now_ns() > end)
            return -1;
        pump(c, 1);
    }
    return 0;
}

/* ---- clients ------------------------------------------------------------------------------- */

/* Runs argv with the loop turning until it exits (20 s at most); its stdout (and stderr unless
 * quiet) into out. When its output says READY, on_ready runs (turning the loop itself), then
 * its stdin closes. Returns the exit status, or -1. */
static int run_client(struct ctx *c, char *const argv[], char *out, size_t outlen,
                      int (*on_ready)(struct ctx *))
{
    int po[2], pi[2];
    if (pipe(po) != 0 || pipe(pi) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pi[0], 0);
        dup2(po[1], 1);
        close(pi[1]);
        close(po[0]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(pi[0]);
    close(po[1]);
    fcntl(po[0], F_SETFL, O_NONBLOCK);
    size_t len = 0;
    out[0] = '\0';
    int ready_done = on_ready == NULL, eof = 0, status = -1;
    uint64_t end = clock_now_ns() + (uint64_t)WAIT_MS * 1000000ull;
    while (clock_now_ns() < end) {
        event_base_loop(c->base, EVLOOP_NONBLOCK);
        struct pollfd pf = {po[0], POLLIN, 0};
        if (!eof && poll(&pf, 1, 1) > 0) {
            ssize_t n = read(po[0], out + len, outlen - 1 - len);
            if (n > 0) {
                len += (size_t)n;
                out[len] = '\0';
            } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                eof = 1;
            }
        } else if (eof) {
            poll(NULL, 0, 1);
        }
        if (!ready_done && strstr(out, "READY\n") != NULL) {
            ready_done = 1;
            if (on_ready(c) != 0)
                fprintf(stderr, "  the server did not reach the expected state\n");
            close(pi[1]);
            pi[1] = -1;
        }
        int st;
        if (eof && waitpid(pid, &st, WNOHANG) == pid) {
            status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
            pid = -1;
            break;
        }
    }
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    close(po[0]);
    if (pi[1] >= 0)
        close(pi[1]);
    return status;
}

static int py(struct ctx *c, const char *mode, const char *arg, char *out, size_t outlen,
              int (*on_ready)(struct ctx *))
{
    char port[16];
    snprintf(port, sizeof port, "%d", c->h.port);
    char *argv[] = {PYTHON, (char *)client_script, (char *)mode, port, (char *)arg, NULL};
    return run_client(c, argv, out, outlen, on_ready);
}

static int nghttp_opts(struct ctx *c, const char *opts, const char *url_path, int tls, char *out,
                       size_t outlen)
{
    char url[200];
    snprintf(url, sizeof url, "%s://127.0.0.1:%d%s", tls ? "https" : "http", c->h.port, url_path);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "nghttp %s '%s' 2>&1", opts, url);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    return run_client(c, argv, out, outlen, NULL);
}

static int nghttp(struct ctx *c, const char *url_path, int tls, char *out, size_t outlen)
{
    char url[200];
    snprintf(url, sizeof url, "%s://127.0.0.1:%d%s", tls ? "https" : "http", c->h.port, url_path);
    char *argv[] = {"/bin/sh", "-c", NULL, NULL};
    char cmd[300];
    snprintf(cmd, sizeof cmd, "nghttp -v '%s' 2>&1", url);
    argv[2] = cmd;
    return run_client(c, argv, out, outlen, NULL);
}

#define NEED_PYTHON()                                                                        \
    do {                                                                                     \
        if (no_python) {                                                                     \
            check_skip(no_python);                                                           \
            return;                                                                          \
        }                                                                                    \
    } while (0)

#define NEED_NGHTTP()                                                                        \
    do {                                                                                     \
        if (no_nghttp) {                                                                     \
            check_skip(no_nghttp);                                                           \
            return;                                                                          \
        }                                                                                    \
    } while (0)

static int all_closed(struct ctx *c)
{
    for (int i = 0; i < c->nslots; i++)
        if (c->slots[i].closes == 0)
            return 0;
    return c->nslots > 0;
}

/* ---- cases --------------------------------------------------------------------------------- */

static struct ctx C;
static char out[65536];

static void h2_should_reply_by_prior_knowledge(void)
{
    NEED_PYTHON();
    CHECK(srv_open(&C, 0, 0) == 0);
    int rc = py(&C, "reply", NULL, out, sizeof out, NULL);
    struct h2server_stats st = httpd_h2_stats(&C.h);
    srv_close(&C);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_STR(out, "status 200 body hello h2 type text/plain\n");
    CHECK_EQ_INT(st.connections, 1);
    CHECK_EQ_INT(st.streams, 1);
}

static void h2_should_send_the_trailer_as_a_headers_frame(void)
{
    NEED_NGHTTP();
    CHECK(srv_open(&C, 0, 0) == 0);
    int rc = nghttp(&C, "/stream?n=3&ms=2", 0, out, sizeof out);
    struct slot s = C.slots[0];
    uint64_t marks = C.nslots ? sink_marks_done(s.sk) : 0;
    uint64_t unsent = C.nslots ? sink_unsent(s.sk) : 1;
    srv_close(&C);
    CHECK_EQ_INT(rc, 0);
    /* nghttp writes the body between its frame lines: one DATA frame per piece */
    CHECK(strstr(out, "tok000000\n") && strstr(out, "tok000001\n") && strstr(out, "tok000002\n"));
    int frames = 0;
    for (const char *p = out; (p = strstr(p, "recv DATA frame <length=10, flags=0x00, stream_id=13>"));
         p++)
        frames++;
    CHECK_EQ_INT(frames, 3);
    /* the trailer field, then its HEADERS frame ending the stream, after the last DATA */
    const char *tr = strstr(out, "recv (stream_id=13) x-tail: done");
    CHECK(tr != NULL);
    const char *hf = strstr(tr, "recv HEADERS frame <");
    CHECK(hf != NULL);
    CHECK(strstr(hf, "; END_STREAM | END_HEADERS") != NULL);
    CHECK(strstr(hf, "recv DATA frame") == NULL);
    CHECK_EQ_INT(s.completes, 1);
    CHECK_EQ_INT(s.closes, 0);
    CHECK_EQ_INT(marks, 3);
    CHECK_EQ_INT(unsent, 0);
}

static void h2_should_close_only_the_stream_the_peer_reset(void)
{
    NEED_PYTHON();
    CHECK(srv_open(&C, 0, 0) == 0);
    int rc = py(&C, "cancel", NULL, out, sizeof out, NULL);
    struct slot a = C.slots[0], b = C.slots[1];
    int n = C.nslots;
    uint64_t bmarks = n == 2 ? sink_marks_done(b.sk) : 0;
    struct h2server_stats st = httpd_h2_stats(&C.h);
    srv_close(&C);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_STR(out, "sibling status 200 pieces 20 trailer done\n");
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(a.closes, 1);
    CHECK_EQ_INT(a.kind, SINK_CLOSE_RST_STREAM);
    CHECK_EQ_INT(a.code, 8); /* CANCEL */
    CHECK_EQ_INT(a.completes, 0);
    CHECK_EQ_INT(b.closes, 0);
    CHECK_EQ_INT(b.completes, 1);
    CHECK_EQ_INT(bmarks, 20);
    /* python3-h2 answers DATA still arriving on the stream it reset with RST_STREAM(STREAM_CLOSED) */
    CHECK(st.rst_received >= 1);
}

static void close_case(const char *mode, enum sink_close kind)
{
    NEED_PYTHON();
    CHECK(srv_open(&C, 0, 0) == 0);
    int rc = py(&C, mode, NULL, out, sizeof out, NULL);
    int waited = pump_until(&C, all_closed, WAIT_MS);
    struct slot a = C.slots[0], b = C.slots[1];
    int n = C.nslots;
    struct h2server_stats st = httpd_h2_stats(&C.h);
    srv_close(&C);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_STR(out, "both streaming\n");
    CHECK_EQ_INT(waited, 0);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(a.closes, 1);
    CHECK_EQ_INT(b.closes, 1);
    CHECK_EQ_INT(a.kind, kind);
    CHECK_EQ_INT(b.kind, kind);
    CHECK_EQ_INT(a.code, 0);
    CHECK_EQ_INT(b.code, 0);
    CHECK_EQ_INT(st.open, 0);
    CHECK_EQ_INT(st.goaway_received, kind == SINK_CLOSE_GOAWAY);
}

static void h2_should_close_every_stream_with_fin_on_tcp_close(void)
{
    close_case("fin", SINK_CLOSE_FIN);
}

static void h2_should_close_every_stream_with_rst_on_tcp_reset(void)
{
    close_case("rst", SINK_CLOSE_RST);
}

static void h2_should_close_every_stream_with_goaway_before_the_close(void)
{
    close_case("goaway", SINK_CLOSE_GOAWAY);
}

static int stream_written(struct ctx *c)
{
    return c->nslots == 1 && c->slots[0].written == c->slots[0].n;
}

static uint64_t stall_marks, stall_unsent;
static int stall_ready(struct ctx *c)
{
    int rc = pump_until(c, stream_written, WAIT_MS);
    /* a few loop turns more: nothing may leave while the window stays shut */
    for (int i = 0; i < 20; i++)
        pump(c, 2);
    stall_marks = c->nslots ? sink_marks_done(c->slots[0].sk) : 0;
    stall_unsent = c->nslots ? sink_unsent(c->slots[0].sk) : 0;
    return rc;
}

static void h2_should_stall_a_stream_at_its_flow_control_window(void)
{
    NEED_PYTHON();
    CHECK(srv_open(&C, 0, 0) == 0);
    stall_marks = stall_unsent = 0;
    int rc = py(&C, "stall", "100", out, sizeof out, stall_ready);
    int waited = pump_until(&C, all_closed, WAIT_MS);
    struct slot s = C.slots[0];
    srv_close(&C);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_STR(out, "received 100\nREADY\n");
    CHECK_EQ_INT(s.written, 30);
    CHECK_EQ_INT(stall_marks, 100 / PIECE_LEN);
    CHECK_EQ_INT(stall_unsent, (30 - 100 / PIECE_LEN) * PIECE_LEN);
    CHECK_EQ_INT(waited, 0);
    CHECK_EQ_INT(s.kind, SINK_CLOSE_FIN);
    CHECK_EQ_INT(s.completes, 0);
}

static void h2_should_refuse_a_body_over_max_body_with_413(void)
{
    NEED_PYTHON();
    CHECK(srv_open(&C, 0, 0) == 0);
    char size[16];
    snprintf(size, sizeof size, "%u", MAX_BODY * 4);
    int rc = py(&C, "upload", size, out, sizeof out, NULL);
    char small[16];
    snprintf(small, sizeof small, "%u", MAX_BODY);
    static char out2[1024];
    int rc2 = py(&C, "upload", small, out2, sizeof out2, NULL);
    struct h2server_stats st = httpd_h2_stats(&C.h);
    srv_close(&C);
    CHECK_EQ_INT(rc, 0);
    const char *want =
        "status 413 body {\"error\":\"The request body is larger than 1024 bytes.\",\"status\":413}";
    CHECK(strncmp(out, want, strlen(want)) == 0);
    CHECK_EQ_INT(rc2, 0);
    CHECK_EQ_STR(out2, "status 200 body got 1024 reset None\n");
    CHECK_EQ_INT(st.rejected, 1);
}

static void h2_should_close_an_idle_connection_with_goaway(void)
{
    NEED_PYTHON();
    CHECK(srv_open(&C, 0, 200) == 0);
    int rc = py(&C, "idle", NULL, out, sizeof out, NULL);
    struct h2server_stats st = httpd_h2_stats(&C.h);
    srv_close(&C);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_STR(out, "goaway 0 closed\n");
    CHECK_EQ_INT(st.idle_closed, 1);
    CHECK_EQ_INT(st.open, 0);
}

static void h2_should_serve_alpn_h2_and_http1_on_one_tls_port(void)
{
    NEED_PYTHON();
    CHECK(srv_open(&C, 1, 0) == 0);
    int rc = py(&C, "tls", NULL, out, sizeof out, NULL);
    static char o1[4096];
    int rc1 = py(&C, "h1tls", NULL, o1, sizeof o1, NULL);
    static char o2[65536];
    int rc2 = no_nghttp ? 0 : nghttp(&C, "/reply", 1, o2, sizeof o2);
    struct h2server_stats st = httpd_h2_stats(&C.h);
    srv_close(&C);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_STR(out, "alpn h2\nstatus 200 body hello h2 type text/plain\n");
    CHECK_EQ_INT(rc1, 0);
    CHECK_EQ_STR(o1, "alpn http/1.1\nHTTP/1.1 200 OK body hello h2\n");
    CHECK_EQ_INT(rc2, 0);
    if (!no_nghttp) {
        CHECK(strstr(o2, "The negotiated protocol: h2") != NULL);
        CHECK(strstr(o2, "hello h2") != NULL);
    }
    CHECK_EQ_INT(st.connections, no_nghttp ? 1 : 2);
}

static void h2_should_leave_http1_on_the_same_plain_port(void)
{
    CHECK(srv_open(&C, 0, 0) == 0);
    /* the raw client blocks: the server runs on a child loop meanwhile */
    char *argv[] = {"/bin/sh", "-c", NULL, NULL};
    char cmd[300];
    snprintf(cmd, sizeof cmd,
             "exec 3<>/dev/tcp/127.0.0.1/%d; printf 'GET /reply HTTP/1.1\\r\\nHost: x\\r\\n"
             "Connection: close\\r\\n\\r\\n' >&3; cat <&3",
             C.h.port);
    argv[0] = "/bin/bash";
    argv[1] = "-c";
    argv[2] = cmd;
    int rc = run_client(&C, argv, out, sizeof out, NULL);
    struct h2server_stats st = httpd_h2_stats(&C.h);
    srv_close(&C);
    CHECK_EQ_INT(rc, 0);
    CHECK(strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0);
    const char *body = strstr(out, "\r\n\r\n");
    CHECK(body != NULL);
    CHECK_EQ_STR(body + 4, "hello h2");
    CHECK_EQ_INT(st.connections, 0);
}

static void h2_should_reset_a_cut_stream_after_its_last_byte(void)
{
    NEED_PYTHON();
    CHECK(srv_open(&C, 0, 0) == 0);
    int rc = py(&C, "get", "/stream?n=4&ms=2&cut=1", out, sizeof out, NULL);
    struct slot s = C.slots[0];
    uint64_t marks = C.nslots ? sink_marks_done(s.sk) : 0;
    srv_close(&C);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_STR(out, "status 200 pieces 4 trailer None reset 2 ended False\n"); /* INTERNAL_ERROR */
    CHECK_EQ_INT(s.completes, 1);
    CHECK_EQ_INT(s.closes, 0);
    CHECK_EQ_INT(marks, 4);
}

static void h2_should_reset_a_stream_whose_sink_is_freed(void)
{
    NEED_PYTHON();
    CHECK(srv_open(&C, 0, 0) == 0);
    int rc = py(&C, "get", "/stream?n=100&ms=2&free=5", out, sizeof out, NULL);
    srv_close(&C);
    CHECK_EQ_INT(rc, 0);
    /* CANCEL; the 5th piece was still in the stream's buffer, dropped with it */
    CHECK_EQ_STR(out, "status 200 pieces 4 trailer None reset 8 ended False\n");
}

static void h2_should_refuse_a_header_list_over_32k_with_431(void)
{
    NEED_PYTHON();
    CHECK(srv_open(&C, 0, 0) == 0);
    char port[16];
    snprintf(port, sizeof port, "%d", C.h.port);
    char *argv[] = {PYTHON, (char *)client_script, "bighead", port, "40000", NULL};
    int rc = run_client(&C, argv, out, sizeof out, NULL);
    struct h2server_stats st = httpd_h2_stats(&C.h);
    srv_close(&C);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_STR(out, "status 431 pieces 0 trailer None reset None ended True\n"
                      "body {\"error\":\"The request header list is larger than 32768 bytes.\","
                      "\"status\":431}\n");
    CHECK_EQ_INT(st.rejected, 1);
}

static void h2_should_upgrade_an_http1_request_with_h2c(void)
{
    NEED_NGHTTP();
    CHECK(srv_open(&C, 0, 0) == 0);
    int rc = nghttp_opts(&C, "-uv", "/stream?n=3&ms=2", 0, out, sizeof out);
    struct slot s = C.slots[0];
    int n = C.nslots;
    uint64_t marks = n ? sink_marks_done(s.sk) : 0;
    struct h2server_stats st = httpd_h2_stats(&C.h);
    srv_close(&C);
    CHECK_EQ_INT(rc, 0);
    CHECK(strstr(out, "HTTP Upgrade response") != NULL);
    CHECK(strstr(out, "HTTP Upgrade success") != NULL);
    /* the request went as HTTP/1.1; its response comes on stream 1 */
    CHECK(strstr(out, "recv (stream_id=1) x-tail: done") != NULL);
    CHECK(strstr(out, "tok000000\n") && strstr(out, "tok000002\n"));
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(s.completes, 1);
    CHECK_EQ_INT(marks, 3);
    CHECK_EQ_INT(st.connections, 1);
    CHECK_EQ_INT(st.streams, 1);
}

static void h2_should_upgrade_a_request_with_a_body(void)
{
    if (system("command -v curl >/dev/null 2>&1") != 0) {
        check_skip("curl is missing");
        return;
    }
    CHECK(srv_open(&C, 0, 0) == 0);
    char cmd[300];
    snprintf(cmd, sizeof cmd,
             "curl -sv --http2 --data-binary hello http://127.0.0.1:%d/echo 2>&1; echo", C.h.port);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    int rc = run_client(&C, argv, out, sizeof out, NULL);
    struct h2server_stats st = httpd_h2_stats(&C.h);
    srv_close(&C);
    CHECK_EQ_INT(rc, 0);
    CHECK(strstr(out, "< HTTP/1.1 101 Switching Protocols") != NULL);
    CHECK(strstr(out, "< HTTP/2 200") != NULL);
    CHECK(strstr(out, "\ngot 5\n") != NULL);
    CHECK_EQ_INT(st.streams, 1);
}

static struct h2server_stats hog_stats;
static uint64_t hog_unsent;
#define HOG_PIECES 512 /* of 64 KiB: 32 MiB, far past the cap and the loopback socket buffers */

static int hog_ready(struct ctx *c)
{
    int rc = pump_until(c, stream_written, WAIT_MS);
    for (int i = 0; i < 20; i++)
        pump(c, 2);
    hog_stats = httpd_h2_stats(&c->h);
    hog_unsent = c->nslots ? sink_unsent(c->slots[0].sk) : 0;
    return rc;
}

static void h2_should_cap_the_output_held_for_a_peer_that_never_reads(void)
{
    NEED_PYTHON();
    CHECK(srv_open(&C, 0, 0) == 0);
    char path[80];
    snprintf(path, sizeof path, "/stream?n=%d&ms=1&size=%d", HOG_PIECES, BIG_PIECE);
    memset(&hog_stats, 0, sizeof hog_stats);
    int rc = py(&C, "hog", path, out, sizeof out, hog_ready);
    int waited = pump_until(&C, all_closed, WAIT_MS);
    struct slot s = C.slots[0];
    srv_close(&C);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_STR(out, "READY\n");
    CHECK_EQ_INT(s.written, HOG_PIECES);
    CHECK(hog_stats.output_capped >= 1);
    /* at most one frame (9 + 16384 bytes) past the cap: a frame goes whole or waits */
    CHECK(hog_stats.output_peak >= H2CONN_OUTPUT_CAP);
    CHECK(hog_stats.output_peak < H2CONN_OUTPUT_CAP + 9 + 16384);
    /* the rest waits, unpacked, in the stream's own buffer, and counts unsent */
    CHECK(hog_unsent > (uint64_t)HOG_PIECES * BIG_PIECE / 2);
    CHECK_EQ_INT(waited, 0);
    CHECK_EQ_INT(s.closes, 1);
    CHECK_EQ_INT(s.kind, SINK_CLOSE_RST);
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    client_script = getenv("H2CLIENT");
    if (client_script == NULL)
        client_script = "tests/h2client.py";
    if (access(client_script, R_OK) != 0)
        no_python = "tests/h2client.py not found (run from the checkout, or set H2CLIENT)";
    else if (system(PYTHON " -c 'import h2' >/dev/null 2>&1") != 0)
        no_python = "python3-h2 is missing (scripts/deps.sh h2)";
    if (system("command -v nghttp >/dev/null 2>&1") != 0)
        no_nghttp = "nghttp is missing (scripts/deps.sh h2: nghttp2-client)";
    static const struct check_case cases[] = {
        CASE(h2_should_reply_by_prior_knowledge),
        CASE(h2_should_send_the_trailer_as_a_headers_frame),
        CASE(h2_should_close_only_the_stream_the_peer_reset),
        CASE(h2_should_close_every_stream_with_fin_on_tcp_close),
        CASE(h2_should_close_every_stream_with_rst_on_tcp_reset),
        CASE(h2_should_close_every_stream_with_goaway_before_the_close),
        CASE(h2_should_stall_a_stream_at_its_flow_control_window),
        CASE(h2_should_cap_the_output_held_for_a_peer_that_never_reads),
        CASE(h2_should_refuse_a_body_over_max_body_with_413),
        CASE(h2_should_refuse_a_header_list_over_32k_with_431),
        CASE(h2_should_reset_a_cut_stream_after_its_last_byte),
        CASE(h2_should_reset_a_stream_whose_sink_is_freed),
        CASE(h2_should_close_an_idle_connection_with_goaway),
        CASE(h2_should_serve_alpn_h2_and_http1_on_one_tls_port),
        CASE(h2_should_leave_http1_on_the_same_plain_port),
        CASE(h2_should_upgrade_an_http1_request_with_h2c),
        CASE(h2_should_upgrade_a_request_with_a_body),
    };
    return check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
}
