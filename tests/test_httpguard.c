/* The guard of the evhttp servers over real loopback sockets: a guarded server on a loop thread
 * (a plain reply, a reply that streams until the client leaves), and raw clients that send what
 * hostile or broken peers send. Statuses, bodies and byte bounds are exact; the timeouts are
 * small so a case waits for the server's answer, never for a fixed sleep. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "check.h"
#include "clock.h"
#include "harness.h"
#include "httpd.h"
#include "loopthread.h"

#define CAP (64u * 1024)

struct srv {
    struct loopthread *lt;
    struct httpd h;
    struct event *tick;
    struct evhttp_request *streaming;
    int chunks_left;
    _Atomic size_t max_input; /* the most the stream's connection held unread */
    _Atomic int stream_closed;
    _Atomic int stream_done;
};

static void stream_close_cb(struct evhttp_connection *conn, void *arg)
{
    (void)conn;
    struct srv *s = arg;
    /* evhttp has let go of the request; the reply's owner frees it */
    evhttp_send_reply_end(s->streaming);
    s->streaming = NULL;
    evtimer_del(s->tick);
    s->stream_closed = 1;
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct srv *s = arg;
    if (s->streaming == NULL)
        return;
    struct evhttp_connection *conn = evhttp_request_get_connection(s->streaming);
    size_t in = evbuffer_get_length(bufferevent_get_input(evhttp_connection_get_bufferevent(conn)));
    if (in > s->max_input)
        s->max_input = in;
    struct evbuffer *b = evbuffer_new();
    evbuffer_add_printf(b, "data: tick\n\n");
    evhttp_send_reply_chunk(s->streaming, b);
    evbuffer_free(b);
    if (s->chunks_left > 0 && --s->chunks_left == 0) {
        evhttp_connection_set_closecb(conn, NULL, NULL);
        evhttp_send_reply_end(s->streaming);
        s->streaming = NULL;
        s->stream_done = 1;
        return;
    }
    struct timeval tv = {0, 5000};
    evtimer_add(s->tick, &tv);
}

static void reject_cb(struct evhttp_request *req, int status, const char *message,
                      const char *path, void *arg);

static void request_cb(struct evhttp_request *req, void *arg)
{
    struct srv *s = arg;
    const char *uri = evhttp_request_get_uri(req);
    if (strncmp(uri, "/stream", 7) == 0) {
        s->chunks_left = strcmp(uri, "/stream?n=200") == 0 ? 200 : 0;
        s->streaming = req;
        evhttp_connection_set_closecb(evhttp_request_get_connection(req), stream_close_cb, s);
        httpd_tune(req, 0, 0);
        evhttp_send_reply_start(req, 200, "OK");
        struct timeval tv = {0, 5000};
        evtimer_add(s->tick, &tv);
        return;
    }
    if (evhttp_request_get_command(req) == EVHTTP_REQ_POST && httpguard_lacks_length(req)) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
        reject_cb(req, 411, HTTPGUARD_LENGTH_REQUIRED, uri, s);
        return;
    }
    struct evbuffer *b = evbuffer_new();
    evbuffer_add_printf(b, "ok");
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

static void reject_cb(struct evhttp_request *req, int status, const char *message,
                      const char *path, void *arg)
{
    (void)arg;
    cJSON *o = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "message", message);
    cJSON_AddNumberToObject(e, "code", status);
    cJSON_AddStringToObject(e, "path", path ? path : "");
    char *txt = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, txt, strlen(txt));
    free(txt);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_send_reply(req, status, NULL, b);
    evbuffer_free(b);
}

static struct srv *srv_start(unsigned header_ms, unsigned body_ms, unsigned idle_ms)
{
    struct srv *s = calloc(1, sizeof *s);
    s->lt = loopthread_new(0, s);
    struct event_base *base = loopthread_base(s->lt);
    s->tick = evtimer_new(base, tick_cb, s);
    struct httpd_spec spec = {"127.0.0.1", 0, httpguard_defaults(1024 * 1024), request_cb,
                              reject_cb, NULL, s};
    spec.limits.max_head = 8 * 1024;
    spec.limits.max_headers = 50;
    spec.limits.max_pending = CAP;
    spec.limits.header_timeout_ms = header_ms;
    spec.limits.body_timeout_ms = body_ms;
    spec.limits.idle_timeout_ms = idle_ms;
    char err[256];
    if (httpd_open(base, &spec, &s->h, err, sizeof err) != 0) {
        fprintf(stderr, "  %s\n", err);
        exit(1);
    }
    loopthread_start(s->lt);
    return s;
}

static void stats_call(void *ctx, void *arg)
{
    struct srv *s = ctx;
    *(struct httpguard_stats *)arg = httpguard_stats(s->h.guard);
}

static struct httpguard_stats srv_stats(struct srv *s)
{
    struct httpguard_stats st;
    memset(&st, 0, sizeof st);
    loopthread_call(s->lt, stats_call, &st);
    return st;
}

static void srv_stop(struct srv *s)
{
    loopthread_stop(s->lt);
    httpd_close(&s->h);
    event_free(s->tick);
    loopthread_free(s->lt);
    free(s);
}

/* Reads until the server closes or the deadline; returns 1 if it closed, 0 if not. */
static int read_to_close(int fd, int timeout_ms, char *buf, size_t cap, size_t *len)
{
    uint64_t deadline = clock_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    *len = 0;
    for (;;) {
        int64_t left = (int64_t)(deadline - clock_now_ns()) / 1000000;
        if (left <= 0)
            return 0;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        char tmp[4096];
        ssize_t n = recv(fd, tmp, sizeof tmp, 0);
        if (n == 0)
            return 1;
        if (n < 0)
            return errno == ECONNRESET ? 1 : 0;
        size_t k = (size_t)n < cap - 1 - *len ? (size_t)n : cap - 1 - *len;
        memcpy(buf + *len, tmp, k);
        *len += k;
        buf[*len] = '\0';
    }
}

/* One raw request; the reply's status, its JSON error (code and message), and whether the
 * connection then closed. */
struct answer {
    int status;
    int closed;
    int json_code;
    char ctype[64];
    char conn_hdr[32];
    char message[200];
    char path[64];
};

static void parse_answer(const char *buf, struct answer *a)
{
    if (sscanf(buf, "HTTP/1.1 %d", &a->status) != 1)
        a->status = -1;
    const char *ct = strcasestr(buf, "\r\nContent-Type: ");
    if (ct)
        sscanf(ct + 16, "%63[^\r]", a->ctype);
    const char *cn = strcasestr(buf, "\r\nConnection: ");
    if (cn)
        sscanf(cn + 14, "%31[^\r]", a->conn_hdr);
    const char *body = strstr(buf, "\r\n\r\n");
    cJSON *o = body ? cJSON_Parse(body + 4) : NULL;
    cJSON *e = cJSON_GetObjectItem(o, "error");
    if (cJSON_IsNumber(cJSON_GetObjectItem(e, "code")))
        a->json_code = cJSON_GetObjectItem(e, "code")->valueint;
    if (cJSON_IsString(cJSON_GetObjectItem(e, "message")))
        snprintf(a->message, sizeof a->message, "%s", cJSON_GetObjectItem(e, "message")->valuestring);
    if (cJSON_IsString(cJSON_GetObjectItem(e, "path")))
        snprintf(a->path, sizeof a->path, "%s", cJSON_GetObjectItem(e, "path")->valuestring);
    cJSON_Delete(o);
}

static struct answer ask(int port, const char *req, size_t len, int timeout_ms)
{
    struct answer a;
    memset(&a, 0, sizeof a);
    int fd = harness_connect(port, 0);
    if (fd < 0)
        return a;
    harness_send_all(fd, req, len);
    static char buf[65536];
    size_t n = 0;
    a.closed = read_to_close(fd, timeout_ms, buf, sizeof buf, &n);
    close(fd);
    parse_answer(buf, &a);
    return a;
}

/* ---- malformed requests ---------------------------------------------------------------- */

struct bad {
    const char *name;
    const char *head; /* sent as is, then 'extra' filler bytes of 'fill' */
    size_t extra;
    char fill;
    int status;
    const char *message_has;
    const char *path;
};

static char *build(const struct bad *b, size_t *len)
{
    size_t hl = strlen(b->head);
    char *p = malloc(hl + b->extra + 8);
    memcpy(p, b->head, hl);
    memset(p + hl, b->fill, b->extra);
    *len = hl + b->extra;
    return p;
}

static void guard_should_answer_each_malformed_request_in_json_with_the_status_of_its_cause(void)
{
    /* 60 header lines */
    static char many[4096];
    char *w = many;
    w += sprintf(w, "GET /many HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 60; i++)
        w += sprintf(w, "X-H%d: v\r\n", i);
    sprintf(w, "\r\n");
    const struct bad cases[] = {
        {"head over the cap", "GET /big HTTP/1.1\r\nHost: a\r\nX-Big: ", 9000, 'a', 431,
         "larger than 8192 bytes", "/big"},
        {"request line over the cap", "GET /", 9000, 'a', 431, "larger than 8192", NULL},
        {"too many header fields", many, 0, 0, 431, "more than 50 header fields", "/many"},
        {"body over the cap", "POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 10000000000\r\n\r\n",
         0, 0, 413, "larger than 1048576 bytes", "/b"},
        {"Content-Length and Transfer-Encoding",
         "POST /cl HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
         "5\r\nhello\r\n0\r\n\r\n",
         0, 0, 400, "both Content-Length and Transfer-Encoding", "/cl"},
        {"Transfer-Encoding gzip", "POST /te HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
         0, 0, 501, "other than chunked", "/te"},
        {"unknown method", "BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n", 0, 0, 501,
         "method is not supported", "/pot"},
        {"bad chunk size",
         "POST /ch HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n", 0, 0,
         400, "chunked request body is malformed", "/ch"},
        {"garbage request line", "hello there\r\n\r\n", 0, 0, 400, "malformed", NULL},
        {"header line without a colon", "GET /nc HTTP/1.1\r\nHost a\r\n\r\n", 0, 0, 400,
         "malformed", "/nc"},
        {"bad Content-Length", "POST /bcl HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n", 0, 0,
         400, "malformed", "/bcl"},
        {"POST with no length", "POST /nl HTTP/1.1\r\nHost: a\r\n\r\n", 0, 0, 411,
         "Content-Length or chunked", "/nl"},
        {"unsupported Expect",
         "POST /ex HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nExpect: 200-ok\r\n\r\nhi", 0, 0,
         417, "100-continue", "/ex"},
    };
    struct srv *s = srv_start(5000, 5000, 5000);
    int failed = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len;
        char *req = build(&cases[i], &len);
        struct answer a = ask(s->h.port, req, len, 5000);
        free(req);
        int ok = a.status == cases[i].status && a.json_code == cases[i].status && a.closed &&
                 strcmp(a.ctype, "application/json") == 0 && strcmp(a.conn_hdr, "close") == 0 &&
                 strstr(a.message, cases[i].message_has) != NULL &&
                 (cases[i].path == NULL || strcmp(a.path, cases[i].path) == 0);
        if (!ok) {
            fprintf(stderr, "  %s: status %d code %d closed %d ctype '%s' conn '%s' msg '%s' path '%s'\n",
                    cases[i].name, a.status, a.json_code, a.closed, a.ctype, a.conn_hdr,
                    a.message, a.path);
            failed = 1;
        }
    }
    /* and a well-formed request still gets its reply on the same server */
    const char *good = "GET /ok HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    struct answer a = ask(s->h.port, good, strlen(good), 5000);
    struct httpguard_stats st = srv_stats(s);
    srv_stop(s);
    CHECK(!failed);
    CHECK_EQ_INT(a.status, 200);
    CHECK_EQ_INT(st.rejected, sizeof cases / sizeof cases[0] - 1); /* the 411 is the route's */
}

/* ---- timeouts ------------------------------------------------------------------------------ */

static void guard_should_answer_408_to_a_head_that_does_not_arrive_in_time(void)
{
    struct srv *s = srv_start(300, 5000, 5000);
    const char *part = "POST /slow HTTP/1.1\r\nHost: a\r\n";
    struct answer a = ask(s->h.port, part, strlen(part), 5000);
    struct httpguard_stats st = srv_stats(s);
    srv_stop(s);
    CHECK_EQ_INT(a.status, 408);
    CHECK_EQ_INT(a.json_code, 408);
    CHECK(a.closed);
    CHECK(strstr(a.message, "did not arrive within 300 ms") != NULL);
    CHECK_EQ_STR(a.path, "/slow");
    CHECK_EQ_INT(st.timeouts_header, 1);
}

static void guard_should_answer_408_to_a_head_that_trickles_in(void)
{
    /* a byte every 50 ms keeps any per-read timeout happy; the head deadline is total */
    struct srv *s = srv_start(1000, 5000, 5000);
    int fd = harness_connect(s->h.port, 0);
    const char *head = "GET /trickle HTTP/1.1\r\nHost: a\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    char buf[4096];
    size_t n = 0;
    int closed = 0;
    for (size_t i = 0; head[i] != '\0' && !closed; i++) {
        if (send(fd, head + i, 1, MSG_NOSIGNAL) != 1)
            break;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 50) > 0)
            closed = read_to_close(fd, 5000, buf, sizeof buf, &n);
    }
    if (!closed)
        closed = read_to_close(fd, 5000, buf, sizeof buf, &n);
    close(fd);
    struct answer a;
    memset(&a, 0, sizeof a);
    parse_answer(buf, &a);
    srv_stop(s);
    CHECK(closed);
    CHECK_EQ_INT(a.status, 408);
    CHECK_EQ_STR(a.path, "/trickle");
}

static void guard_should_answer_408_to_a_body_that_pauses(void)
{
    struct srv *s = srv_start(5000, 300, 5000);
    const char *part = "POST /body HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123456789";
    struct answer a = ask(s->h.port, part, strlen(part), 5000);
    struct httpguard_stats st = srv_stats(s);
    srv_stop(s);
    CHECK_EQ_INT(a.status, 408);
    CHECK(a.closed);
    CHECK(strstr(a.message, "paused for more than 300 ms") != NULL);
    CHECK_EQ_INT(st.timeouts_body, 1);
}

static void guard_should_close_an_idle_connection_without_a_reply(void)
{
    struct srv *s = srv_start(5000, 5000, 300);
    /* one that never spoke */
    int fd = harness_connect(s->h.port, 0);
    char buf[4096];
    size_t n = 0;
    int closed1 = read_to_close(fd, 5000, buf, sizeof buf, &n);
    size_t n1 = n;
    close(fd);
    /* one kept alive after a reply */
    fd = harness_connect(s->h.port, 0);
    const char *req = "GET /ok HTTP/1.1\r\nHost: a\r\n\r\n";
    harness_send_all(fd, req, strlen(req));
    int closed2 = read_to_close(fd, 5000, buf, sizeof buf, &n);
    close(fd);
    struct answer a;
    memset(&a, 0, sizeof a);
    parse_answer(buf, &a);
    struct httpguard_stats st = srv_stats(s);
    srv_stop(s);
    CHECK(closed1);
    CHECK_EQ_INT(n1, 0);
    CHECK(closed2);
    CHECK_EQ_INT(a.status, 200);
    CHECK(strstr(buf, "ok") != NULL);
    CHECK_EQ_INT(st.timeouts_idle, 1);
    CHECK_EQ_INT(st.open, 0);
}

static void guard_should_not_time_out_a_reply_in_progress(void)
{
    /* a stream of 200 ticks (about a second) outlives every timeout of 100 ms */
    struct srv *s = srv_start(100, 100, 100);
    const char *req = "GET /stream?n=200 HTTP/1.1\r\nHost: a\r\n\r\n";
    int fd = harness_connect(s->h.port, 0);
    harness_send_all(fd, req, strlen(req));
    static char buf[65536];
    size_t n = 0;
    int closed = read_to_close(fd, 10000, buf, sizeof buf, &n);
    close(fd);
    int ticks = 0;
    for (const char *p = buf; (p = strstr(p, "data: tick")) != NULL; p++)
        ticks++;
    srv_stop(s);
    CHECK(closed); /* the idle timeout after the reply */
    CHECK_EQ_INT(ticks, 200);
}

/* ---- input while a reply streams --------------------------------------------------------- */

static void guard_should_bound_an_upload_during_a_stream_and_still_see_the_client_leave(void)
{
    struct srv *s = srv_start(5000, 5000, 5000);
    int fd = harness_connect(s->h.port, 0);
    const char *req = "GET /stream HTTP/1.1\r\nHost: a\r\n\r\n";
    harness_send_all(fd, req, strlen(req));
    char buf[4096];
    ssize_t r = recv(fd, buf, sizeof buf, 0); /* the stream has started */
    fcntl(fd, F_SETFL, O_NONBLOCK);
    static char junk[65536];
    memset(junk, 'j', sizeof junk);
    size_t sent = 0;
    uint64_t until = clock_now_ns() + 1500000000ull;
    while (sent < 64u * 1024 * 1024 && clock_now_ns() < until) {
        ssize_t w = send(fd, junk, sizeof junk, MSG_NOSIGNAL);
        if (w > 0)
            sent += (size_t)w;
        else {
            struct pollfd p = {fd, POLLOUT, 0};
            poll(&p, 1, 20);
        }
        while (recv(fd, buf, sizeof buf, 0) > 0) {
        }
    }
    close(fd); /* FIN: the server must still see it */
    uint64_t deadline = clock_now_ns() + 5000000000ull;
    while (!s->stream_closed && clock_now_ns() < deadline)
        harness_sleep_ms(5);
    struct httpguard_stats st = srv_stats(s);
    size_t max_in = s->max_input;
    int closed = s->stream_closed;
    srv_stop(s);
    CHECK(r > 0);
    CHECK(sent > 4u * CAP); /* the client really pushed past the cap */
    CHECK(closed);
    CHECK_EQ_INT(st.inputs_capped, 1);
    CHECK(max_in <= CAP + 64 * 1024); /* the cap plus at most one read */
}

static void guard_should_close_after_the_reply_when_pipelined_requests_pass_the_cap(void)
{
    struct srv *s = srv_start(5000, 5000, 5000);
    int fd = harness_connect(s->h.port, 0);
    /* a stream of 200 ticks, then 100,000 pipelined requests (about 3 MB) behind it */
    const char *first = "GET /stream?n=200 HTTP/1.1\r\nHost: a\r\n\r\n";
    harness_send_all(fd, first, strlen(first));
    const char *one = "GET /ok HTTP/1.1\r\nHost: a\r\n\r\n";
    size_t ol = strlen(one);
    char *many = malloc(ol * 1000);
    for (int i = 0; i < 1000; i++)
        memcpy(many + (size_t)i * ol, one, ol);
    int wrote = 0;
    for (int i = 0; i < 100; i++)
        if (harness_send_all(fd, many, ol * 1000) == 0)
            wrote++;
    free(many);
    static char buf[65536];
    size_t n = 0;
    int closed = read_to_close(fd, 10000, buf, sizeof buf, &n);
    close(fd);
    int ticks = 0;
    for (const char *p = buf; (p = strstr(p, "data: tick")) != NULL; p++)
        ticks++;
    struct httpguard_stats st = srv_stats(s);
    srv_stop(s);
    CHECK(wrote > 0);
    CHECK(closed);
    CHECK_EQ_INT(ticks, 200);
    CHECK(strstr(buf, "\r\n\r\nok") == NULL); /* no pipelined reply after the cap */
    CHECK_EQ_INT(st.inputs_capped, 1);
}

/* ---- out of descriptors ------------------------------------------------------------------ */

static void log_cb(const char *line, void *arg)
{
    (void)arg;
    fprintf(stderr, "%s\n", line);
}

static void guard_should_pause_accepting_when_out_of_descriptors(void)
{
    SKIP_UNDER_VALGRIND("it runs out of RLIMIT_NOFILE, which valgrind emulates with descriptors "
                        "of its own, and measures CPU use, which valgrind multiplies");
    int errp[2], portp[2];
    CHECK(pipe(errp) == 0 && pipe(portp) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit rl = {32, 32};
        setrlimit(RLIMIT_NOFILE, &rl);
        dup2(errp[1], 2);
        struct event_base *base = event_base_new();
        struct httpd h;
        struct httpd_spec spec = {"127.0.0.1", 0, httpguard_defaults(1024), request_cb, NULL,
                                  log_cb, NULL};
        char err[200];
        if (httpd_open(base, &spec, &h, err, sizeof err) != 0)
            _exit(3);
        if (write(portp[1], &h.port, sizeof h.port) != (ssize_t)sizeof h.port)
            _exit(4);
        event_base_dispatch(base);
        _exit(0);
    }
    close(errp[1]);
    close(portp[1]);
    int port = 0;
    CHECK(read(portp[0], &port, sizeof port) == (ssize_t)sizeof port);
    close(portp[0]);
    int fds[100];
    for (int i = 0; i < 100; i++)
        fds[i] = harness_connect(port, 0); /* the kernel completes them; the server cannot take
                                               them all */
    long hz = sysconf(_SC_CLK_TCK);
    long cpu0 = harness_cpu_ticks(pid);
    uint64_t t0 = clock_now_ns();
    harness_sleep_ms(2000); /* what is measured is the server's use of these two seconds */
    long cpu1 = harness_cpu_ticks(pid);
    double wall = (double)(clock_now_ns() - t0) / 1e9;
    for (int i = 0; i < 100; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    char logbuf[65536];
    size_t logn = 0;
    ssize_t r;
    while ((r = read(errp[0], logbuf + logn, sizeof logbuf - 1 - logn)) > 0)
        logn += (size_t)r;
    close(errp[0]);
    logbuf[logn] = '\0';
    int lines = 0;
    for (const char *p = logbuf; *p; p++)
        lines += *p == '\n';
    double cpu = (double)(cpu1 - cpu0) / (double)hz / wall;
    fprintf(stderr, "  out of descriptors: %.1f%% of a core, %d log lines in %.1f s\n",
            cpu * 100.0, lines, wall);
    CHECK(cpu0 >= 0 && cpu1 >= 0);
    CHECK(strstr(logbuf, "Too many open files") != NULL);
    CHECK(lines >= 1 && lines <= 4); /* at most one a second */
    CHECK(cpu < 0.25);               /* spinning costs a whole core */
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    static const struct check_case cases[] = {
        CASE(guard_should_answer_each_malformed_request_in_json_with_the_status_of_its_cause),
        CASE(guard_should_answer_408_to_a_head_that_does_not_arrive_in_time),
        CASE(guard_should_answer_408_to_a_head_that_trickles_in),
        CASE(guard_should_answer_408_to_a_body_that_pauses),
        CASE(guard_should_close_an_idle_connection_without_a_reply),
        CASE(guard_should_not_time_out_a_reply_in_progress),
        CASE(guard_should_bound_an_upload_during_a_stream_and_still_see_the_client_leave),
        CASE(guard_should_close_after_the_reply_when_pipelined_requests_pass_the_cap),
        CASE(guard_should_pause_accepting_when_out_of_descriptors),
    };
    return check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
}
