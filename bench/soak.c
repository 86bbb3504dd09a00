/* Abort soak for `tailgate mock` (alone or behind `tailgate chaos proxy`): N request cycles, each
 * abandoned mid-headers, mid-body or mid-stream with a FIN or an RST, a fixed number in flight,
 * on raw non-blocking sockets and one ppoll loop. Before and after, it reads the watched
 * processes' open fds and VmRSS from /proc and the mock's /metrics, waits for the mock to settle,
 * and checks ledger conservation. Prints `result ...` and `proc ...` lines on stdout. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define SOAK_MAX_CONCURRENCY 1024
#define SOAK_MAX_WATCH 4
#define SOAK_MAX_REQUEST_BYTES 2048
#define SOAK_MAX_HEAD_BYTES 8192
#define SOAK_MAX_METRICS_BYTES (256 * 1024)
#define SOAK_CYCLE_TIMEOUT_NS (10LL * 1000 * 1000 * 1000)
#define SOAK_METRICS_TIMEOUT_S 5
/* an SSE event of the chat stream starts with this; matched byte by byte across reads */
#define SOAK_MARK "data: "
#define SOAK_MARK_LEN 6

enum phase {
    PHASE_HEADERS, /* part of the request head, then the close */
    PHASE_BODY,    /* the whole head (with Content-Length), part of the body, then the close */
    PHASE_STREAM,  /* the whole request, a few SSE events of the stream, then the close */
    PHASE_COUNT,
};

enum kind {
    KIND_FIN, /* close(): what a browser does on tab close or stop */
    KIND_RST, /* SO_LINGER 0: what the kernel does for a killed browser */
    KIND_COUNT,
};

enum slot_state {
    SLOT_IDLE,
    SLOT_CONNECTING,
    SLOT_SENDING,
    SLOT_DWELL,   /* a partial request went out; the close comes at 'due_ns' */
    SLOT_READING, /* mid-stream: waiting for the response head and 'want' events */
};

struct slot {
    int fd;
    enum slot_state state;
    long cycle;
    enum phase phase;
    enum kind kind;
    char req[SOAK_MAX_REQUEST_BYTES];
    size_t req_len, sent, send_to;
    long long due_ns;      /* SLOT_DWELL: when the close is due */
    long long deadline_ns; /* the cycle fails past this */
    int want, events, head_done;
    size_t head_len;
    size_t mark; /* bytes of SOAK_MARK matched so far */
    char head[SOAK_MAX_HEAD_BYTES + 1];
};

struct watch {
    char name[32];
    pid_t pid;
    long fds_before, fds_after, fds_settled;
    long rss_before, rss_after, rss_settled; /* KiB */
};

/* The mock's /metrics, the counters the conservation check reads. */
struct mx {
    uint64_t requests, bad, fin, rst, active, records, dropped, tail;
};

struct soak_opts {
    char label[32];
    int port, admin_port;
    long cycles;
    int concurrency;
    uint64_t seed;
    int max_events;
    int dwell_us;
    int tps;
    int settle_ms;
    int fd_slack;
    struct watch watch[SOAK_MAX_WATCH];
    int nwatch;
};

struct soak {
    struct soak_opts o;
    struct slot *slots;
    long next_cycle, done_cycles;
    uint64_t mix[PHASE_COUNT][KIND_COUNT];
    uint64_t streams_sent, streams_ok;
    uint64_t err_connect, err_send, err_status, err_eof, err_read, err_timeout;
};

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* splitmix64: a cycle's draws depend on (seed, cycle) only, not on the order cycles ran in */
static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* ---- /proc ------------------------------------------------------------------------------- */

static long proc_fds(pid_t pid)
{
    char path[64];
    struct dirent *de;
    long n = 0;
    DIR *d;

    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    d = opendir(path);
    if (!d)
        return -1;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static long proc_rss_kib(pid_t pid)
{
    char path[64], line[256];
    long kib = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kib;
}

/* ---- the mock's /metrics ----------------------------------------------------------------- */

static int connect_loopback(int port, int nonblock)
{
    struct sockaddr_in sa;
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);

    if (fd < 0)
        return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)port);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sum of the values of every sample of metric 'name' (all label sets), or 0 when absent. */
static uint64_t metric_sum(const char *text, const char *name)
{
    size_t nlen = strlen(name);
    const char *p = text;
    uint64_t sum = 0;

    while (p && *p) {
        if (strncmp(p, name, nlen) == 0 && (p[nlen] == ' ' || p[nlen] == '{')) {
            const char *v = p + nlen;

            if (*v == '{')
                v = strchr(v, '}');
            if (v)
                sum += strtoull(v + 1, NULL, 10);
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return sum;
}

static uint64_t metric_one(const char *text, const char *name, const char *labels)
{
    char key[160];
    const char *p;

    snprintf(key, sizeof(key), "\n%s%s ", name, labels);
    p = strstr(text, key);
    return p ? strtoull(p + strlen(key), NULL, 10) : 0;
}

/* GET /metrics with Connection: close, read to EOF (so the mock has closed its end when this
 * returns and its fd count is not inflated by this call). Returns 0, or -1. */
static int metrics_get(int port, struct mx *x)
{
    static const char req[] = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              "Connection: close\r\n\r\n";
    struct timeval tv = {SOAK_METRICS_TIMEOUT_S, 0};
    char *buf = malloc(SOAK_MAX_METRICS_BYTES + 1);
    size_t len = 0;
    int fd = -1, rc = -1;
    char *body;

    if (!buf)
        return -1;
    fd = connect_loopback(port, 0);
    if (fd < 0)
        goto done;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(req) - 1))
        goto done;
    for (;;) {
        ssize_t n = recv(fd, buf + len, SOAK_MAX_METRICS_BYTES - len, 0);

        if (n == 0)
            break;
        if (n < 0 || len + (size_t)n >= SOAK_MAX_METRICS_BYTES)
            goto done;
        len += (size_t)n;
    }
    buf[len] = '\0';
    body = strstr(buf, "\r\n\r\n");
    if (strncmp(buf, "HTTP/1.1 200", 12) != 0 || !body)
        goto done;
    body += 3; /* keep one '\n' before the first line: metric_one matches "\nname" */
    memset(x, 0, sizeof(*x));
    x->requests = metric_sum(body, "tailgate_mock_requests_total");
    x->bad = metric_sum(body, "tailgate_mock_bad_requests_total");
    x->fin = metric_one(body, "tailgate_mock_peer_closes_total", "{kind=\"fin\"}");
    x->rst = metric_one(body, "tailgate_mock_peer_closes_total", "{kind=\"rst\"}");
    x->active = metric_sum(body, "tailgate_mock_active_generations");
    x->records = metric_sum(body, "tailgate_mock_ledger_records");
    x->dropped = metric_sum(body, "tailgate_mock_ledger_dropped_total");
    x->tail = metric_sum(body, "tailgate_mock_tail_tokens_total");
    rc = strstr(body, "\ntailgate_mock_requests_total") ? 0 : -1;
done:
    if (fd >= 0)
        close(fd);
    free(buf);
    return rc;
}

/* ---- cycles ------------------------------------------------------------------------------ */

static void slot_close(struct soak *s, struct slot *sl, enum kind kind)
{
    if (sl->fd >= 0) {
        if (kind == KIND_RST) {
            struct linger lg = {1, 0};

            setsockopt(sl->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        }
        close(sl->fd);
    }
    sl->fd = -1;
    sl->state = SLOT_IDLE;
    s->done_cycles++;
}

/* A FIN as a browser sends it: whatever already arrived is read first, so close() does not
 * turn into an RST (a close with unread data is one); the FIN leaves with shutdown() so that a
 * token landing between the last read and the close cannot change the kind the peer sees. */
static void slot_close_fin_after_read(struct soak *s, struct slot *sl)
{
    char buf[16384];

    while (recv(sl->fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
        ;
    shutdown(sl->fd, SHUT_WR);
    slot_close(s, sl, KIND_FIN);
}

static void slot_fail(struct soak *s, struct slot *sl, uint64_t *counter)
{
    (*counter)++;
    slot_close(s, sl, KIND_FIN);
}

static int build_request(struct soak *s, struct slot *sl, size_t *head_len)
{
    char body[256];
    int blen, hlen;

    blen = snprintf(body, sizeof(body),
                    "{\"model\":\"soak\",\"stream\":true,\"messages\":[{\"role\":\"user\","
                    "\"content\":\"soak cycle %ld\"}]}",
                    sl->cycle);
    if (blen < 0 || (size_t)blen >= sizeof(body))
        return -1;
    /* stop-at-once and a natural length no cycle reaches: every stream ends because the soak
     * left, and the mock's peer-close counters must account for each one */
    hlen = snprintf(sl->req, sizeof(sl->req),
                    "POST /v1/chat/completions HTTP/1.1\r\n"
                    "Host: 127.0.0.1:%d\r\n"
                    "Content-Type: application/json\r\n"
                    "X-Request-Id: soak-%s-%ld\r\n"
                    "x-tailgate-profile: stop-at-once\r\n"
                    "x-tailgate-ttft-ms: 0\r\n"
                    "x-tailgate-tps: %d\r\n"
                    "x-tailgate-jitter: 0\r\n"
                    "x-tailgate-length: 100000\r\n"
                    "Content-Length: %d\r\n\r\n",
                    s->o.port, s->o.label, sl->cycle, s->o.tps, blen);
    if (hlen < 0 || (size_t)(hlen + blen) >= sizeof(sl->req))
        return -1;
    memcpy(sl->req + hlen, body, (size_t)blen);
    sl->req_len = (size_t)(hlen + blen);
    *head_len = (size_t)hlen;
    return 0;
}

static void slot_start(struct soak *s, struct slot *sl)
{
    uint64_t r = mix64(s->o.seed * 1000003ULL + (uint64_t)s->next_cycle);
    size_t head_len;

    sl->fd = -1;
    sl->state = SLOT_IDLE;
    sl->sent = 0;
    sl->want = sl->events = sl->head_done = 0;
    sl->head_len = 0;
    sl->mark = 0;
    sl->cycle = s->next_cycle++;
    sl->phase = (enum phase)(r % PHASE_COUNT);
    sl->kind = (enum kind)((r >> 8) % KIND_COUNT);
    s->mix[sl->phase][sl->kind]++;
    if (build_request(s, sl, &head_len) != 0) {
        s->err_send++;
        s->done_cycles++;
        return;
    }
    switch (sl->phase) {
    case PHASE_HEADERS: /* 1 .. head_len-1 bytes: never the blank line that ends the head */
        sl->send_to = 1 + (size_t)((r >> 16) % (head_len - 1));
        break;
    case PHASE_BODY: /* the head and 0 .. body_len-1 bytes of the body */
        sl->send_to = head_len + (size_t)((r >> 16) % (sl->req_len - head_len));
        break;
    default:
        sl->send_to = sl->req_len;
        sl->want = 1 + (int)((r >> 16) % (uint64_t)s->o.max_events);
        break;
    }
    sl->due_ns = (long long)((r >> 40) % (uint64_t)(s->o.dwell_us + 1)) * 1000;
    sl->deadline_ns = now_ns() + SOAK_CYCLE_TIMEOUT_NS;
    sl->fd = connect_loopback(s->o.port, 1);
    if (sl->fd < 0) {
        s->err_connect++;
        s->done_cycles++;
        return;
    }
    sl->state = SLOT_CONNECTING;
}

static void slot_sent_all(struct soak *s, struct slot *sl)
{
    if (sl->phase == PHASE_STREAM) {
        s->streams_sent++;
        sl->state = SLOT_READING;
        return;
    }
    sl->state = SLOT_DWELL;
    sl->due_ns += now_ns();
}

static void slot_send(struct soak *s, struct slot *sl)
{
    while (sl->sent < sl->send_to) {
        ssize_t n = send(sl->fd, sl->req + sl->sent, sl->send_to - sl->sent, MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            slot_fail(s, sl, &s->err_send);
            return;
        }
        sl->sent += (size_t)n;
    }
    slot_sent_all(s, sl);
}

/* Counts SOAK_MARK in 'buf', a mark split across two reads included. No proper prefix of the
 * mark is also its suffix, so a mismatch restarts the match at this byte. */
static int count_events(struct slot *sl, const char *buf, size_t len)
{
    size_t i;
    int n = 0;

    for (i = 0; i < len; i++) {
        if (buf[i] == SOAK_MARK[sl->mark])
            sl->mark++;
        else
            sl->mark = buf[i] == SOAK_MARK[0] ? 1 : 0;
        if (sl->mark == SOAK_MARK_LEN) {
            n++;
            sl->mark = 0;
        }
    }
    return n;
}

static void slot_read(struct soak *s, struct slot *sl)
{
    char buf[16384];

    for (;;) {
        ssize_t n = recv(sl->fd, buf, sizeof(buf), 0);
        const char *data = buf;
        size_t len;

        if (n == 0) {
            slot_fail(s, sl, &s->err_eof);
            return;
        }
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                slot_fail(s, sl, &s->err_read);
            return;
        }
        len = (size_t)n;
        if (!sl->head_done) {
            size_t take = len;
            char *end;

            if (sl->head_len + take > SOAK_MAX_HEAD_BYTES)
                take = SOAK_MAX_HEAD_BYTES - sl->head_len;
            memcpy(sl->head + sl->head_len, buf, take);
            sl->head_len += take;
            sl->head[sl->head_len] = '\0';
            end = strstr(sl->head, "\r\n\r\n");
            if (!end) {
                if (sl->head_len == SOAK_MAX_HEAD_BYTES)
                    slot_fail(s, sl, &s->err_status);
                continue;
            }
            if (strncmp(sl->head, "HTTP/1.1 200", 12) != 0) {
                slot_fail(s, sl, &s->err_status);
                return;
            }
            sl->head_done = 1;
            s->streams_ok++;
            /* what followed the head in this read is the start of the body */
            data = buf + (take - (sl->head_len - (size_t)(end + 4 - sl->head)));
            len = (size_t)(buf + len - data);
        }
        sl->events += count_events(sl, data, len);
        if (sl->events >= sl->want) {
            if (sl->kind == KIND_FIN)
                slot_close_fin_after_read(s, sl);
            else
                slot_close(s, sl, KIND_RST);
            return;
        }
    }
}

static void slot_connected(struct soak *s, struct slot *sl)
{
    int soerr = 0;
    socklen_t sl_len = sizeof(soerr);

    if (getsockopt(sl->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl_len) != 0 || soerr != 0) {
        slot_fail(s, sl, &s->err_connect);
        return;
    }
    sl->state = SLOT_SENDING;
    slot_send(s, sl);
}

/* Runs every cycle, 'concurrency' at a time. Returns 0, or -1 when ppoll itself fails. */
static int run_cycles(struct soak *s)
{
    int c = s->o.concurrency, i;
    struct pollfd *pfd = calloc((size_t)c, sizeof(*pfd));

    if (!pfd)
        return -1;
    for (i = 0; i < c; i++)
        s->slots[i].fd = -1;
    while (s->done_cycles < s->o.cycles) {
        long long now = now_ns(), next = now + 1000000000LL;
        struct timespec ts;
        int n;

        for (i = 0; i < c; i++) {
            struct slot *sl = &s->slots[i];

            if (sl->state == SLOT_DWELL && sl->due_ns <= now)
                slot_close(s, sl, sl->kind);
            else if (sl->state != SLOT_IDLE && sl->deadline_ns <= now)
                slot_fail(s, sl, &s->err_timeout);
            /* a slot whose start failed is idle again at once: bounded by the cycles left */
            while (sl->state == SLOT_IDLE && s->next_cycle < s->o.cycles)
                slot_start(s, sl);
            pfd[i].fd = -1;
            pfd[i].events = 0;
            pfd[i].revents = 0;
            switch (sl->state) {
            case SLOT_CONNECTING:
            case SLOT_SENDING:
                pfd[i].fd = sl->fd;
                pfd[i].events = POLLOUT;
                break;
            case SLOT_READING:
                pfd[i].fd = sl->fd;
                pfd[i].events = POLLIN;
                break;
            case SLOT_DWELL:
                if (sl->due_ns < next)
                    next = sl->due_ns;
                break;
            default:
                break;
            }
            if (sl->state != SLOT_IDLE && sl->deadline_ns < next)
                next = sl->deadline_ns;
        }
        if (s->done_cycles >= s->o.cycles)
            break;
        if (next < now)
            next = now;
        ts.tv_sec = (next - now) / 1000000000LL;
        ts.tv_nsec = (next - now) % 1000000000LL;
        n = ppoll(pfd, (nfds_t)c, &ts, NULL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("soak: ppoll");
            free(pfd);
            return -1;
        }
        for (i = 0; i < c && n > 0; i++) {
            struct slot *sl = &s->slots[i];

            if (pfd[i].fd < 0 || pfd[i].revents == 0)
                continue;
            if (sl->state == SLOT_CONNECTING)
                slot_connected(s, sl);
            else if (sl->state == SLOT_SENDING)
                slot_send(s, sl);
            else if (sl->state == SLOT_READING)
                slot_read(s, sl);
        }
    }
    free(pfd);
    return 0;
}

/* ---- measurements ------------------------------------------------------------------------ */

static void snap(struct soak *s, int which);

/* Waits (bounded by settle_ms) until the mock has no generation left and every watched process
 * is back to its fd count from before. The fds are read before each /metrics call, so that
 * call's own connection is never counted; the last metrics read is left in 'x'. */
static void settle(struct soak *s, struct mx *x, long long *settle_ms)
{
    long long t0 = now_ns(), deadline = t0 + (long long)s->o.settle_ms * 1000000LL;

    for (;;) {
        int ok = 1, i;

        snap(s, 2);
        for (i = 0; i < s->o.nwatch; i++)
            if (s->o.watch[i].fds_settled < 0 ||
                s->o.watch[i].fds_settled > s->o.watch[i].fds_before)
                ok = 0;
        if (metrics_get(s->o.admin_port, x) != 0 || x->active != 0)
            ok = 0;
        if (ok || now_ns() >= deadline)
            break;
        poll(NULL, 0, 20); /* a condition with no event to wait on: re-read it every 20 ms */
    }
    *settle_ms = (now_ns() - t0) / 1000000LL;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: soak --port P [--admin-port A] [--cycles 10000] [--concurrency 32]\n"
            "            [--label NAME] [--seed S] [--max-events 4] [--dwell-us 2000] [--tps 200]\n"
            "            [--settle-ms 10000] [--fd-slack 4] [--watch NAME:PID]...\n"
            "--port is where the cycles go (the mock or a proxy in front of it); --admin-port is\n"
            "the mock's own port, for /metrics (default: --port).\n");
}

static int parse_watch(const char *arg, struct soak_opts *o)
{
    const char *colon = strrchr(arg, ':');
    struct watch *w;
    size_t nlen;

    if (!colon || o->nwatch >= SOAK_MAX_WATCH)
        return -1;
    nlen = (size_t)(colon - arg);
    w = &o->watch[o->nwatch];
    if (nlen == 0 || nlen >= sizeof(w->name))
        return -1;
    memcpy(w->name, arg, nlen);
    w->name[nlen] = '\0';
    w->pid = (pid_t)atoi(colon + 1);
    if (w->pid <= 0)
        return -1;
    o->nwatch++;
    return 0;
}

static int parse_args(int argc, char **argv, struct soak_opts *o)
{
    static const struct option longopts[] = {
        {"port", required_argument, NULL, 'p'},
        {"admin-port", required_argument, NULL, 'a'},
        {"cycles", required_argument, NULL, 'n'},
        {"concurrency", required_argument, NULL, 'c'},
        {"label", required_argument, NULL, 'l'},
        {"seed", required_argument, NULL, 's'},
        {"max-events", required_argument, NULL, 'e'},
        {"dwell-us", required_argument, NULL, 'd'},
        {"tps", required_argument, NULL, 't'},
        {"settle-ms", required_argument, NULL, 'S'},
        {"fd-slack", required_argument, NULL, 'f'},
        {"watch", required_argument, NULL, 'w'},
        {NULL, 0, NULL, 0},
    };
    int opt;

    memset(o, 0, sizeof(*o));
    snprintf(o->label, sizeof(o->label), "soak");
    o->cycles = 10000;
    o->concurrency = 32;
    o->seed = 1;
    o->max_events = 4;
    o->dwell_us = 2000;
    o->tps = 200;
    o->settle_ms = 10000;
    o->fd_slack = 4;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'p':
            o->port = atoi(optarg);
            break;
        case 'a':
            o->admin_port = atoi(optarg);
            break;
        case 'n':
            o->cycles = atol(optarg);
            break;
        case 'c':
            o->concurrency = atoi(optarg);
            break;
        case 'l':
            snprintf(o->label, sizeof(o->label), "%s", optarg);
            break;
        case 's':
            o->seed = strtoull(optarg, NULL, 10);
            break;
        case 'e':
            o->max_events = atoi(optarg);
            break;
        case 'd':
            o->dwell_us = atoi(optarg);
            break;
        case 't':
            o->tps = atoi(optarg);
            break;
        case 'S':
            o->settle_ms = atoi(optarg);
            break;
        case 'f':
            o->fd_slack = atoi(optarg);
            break;
        case 'w':
            if (parse_watch(optarg, o) != 0)
                return -1;
            break;
        default:
            return -1;
        }
    }
    if (o->admin_port == 0)
        o->admin_port = o->port;
    if (o->port <= 0 || o->port > 65535 || o->admin_port <= 0 || o->admin_port > 65535 ||
        o->cycles < 1 || o->concurrency < 1 || o->concurrency > SOAK_MAX_CONCURRENCY ||
        o->max_events < 1 || o->dwell_us < 0 || o->dwell_us > 1000000 || o->tps < 1 ||
        o->settle_ms < 0 || o->fd_slack < 0)
        return -1;
    return 0;
}

static void snap(struct soak *s, int which)
{
    int i;

    for (i = 0; i < s->o.nwatch; i++) {
        struct watch *w = &s->o.watch[i];
        long fds = proc_fds(w->pid), rss = proc_rss_kib(w->pid);

        if (which == 0) {
            w->fds_before = fds;
            w->rss_before = rss;
        } else if (which == 1) {
            w->fds_after = fds;
            w->rss_after = rss;
        } else {
            w->fds_settled = fds;
            w->rss_settled = rss;
        }
    }
}

int main(int argc, char **argv)
{
    struct soak s;
    struct mx m0, m1;
    long long t0, elapsed_ns, settle_ms = 0;
    uint64_t accepted, recorded, dropped, errors, fin, rst, sent_fin, sent_rst;
    int conserved, leak = 0, i, ok;

    memset(&s, 0, sizeof(s));
    if (parse_args(argc, argv, &s.o) != 0) {
        usage();
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    s.slots = calloc((size_t)s.o.concurrency, sizeof(*s.slots));
    if (!s.slots) {
        fprintf(stderr, "soak: out of memory\n");
        return 1;
    }
    /* fds first: the /metrics call's connection may still be open in the mock for a moment */
    snap(&s, 0);
    if (metrics_get(s.o.admin_port, &m0) != 0) {
        fprintf(stderr, "soak: GET /metrics on port %d failed\n", s.o.admin_port);
        free(s.slots);
        return 1;
    }
    t0 = now_ns();
    if (run_cycles(&s) != 0) {
        free(s.slots);
        return 1;
    }
    elapsed_ns = now_ns() - t0;
    snap(&s, 1);
    memset(&m1, 0, sizeof(m1));
    settle(&s, &m1, &settle_ms);

    accepted = m1.requests - m0.requests;
    recorded = m1.records - m0.records;
    dropped = m1.dropped - m0.dropped;
    fin = m1.fin - m0.fin;
    rst = m1.rst - m0.rst;
    sent_fin = s.mix[PHASE_STREAM][KIND_FIN];
    sent_rst = s.mix[PHASE_STREAM][KIND_RST];
    errors = s.err_connect + s.err_send + s.err_status + s.err_eof + s.err_read + s.err_timeout;
    /* The ledger holds or reports every request the mock accepted; the mock accepted exactly the
     * requests the soak completed (no partial head or body became a request, good or bad); every
     * one of them ended as a peer close the mock saw; none is still generating. */
    ok = accepted == recorded + dropped;
    conserved = ok && accepted == s.streams_sent && m1.bad == m0.bad && fin + rst == accepted &&
                m1.active == 0 && errors == 0;

    printf("result path=%s cycles=%ld elapsed_ms=%.0f cycles_per_s=%.0f"
           " mid_headers_fin=%" PRIu64 " mid_headers_rst=%" PRIu64 " mid_body_fin=%" PRIu64
           " mid_body_rst=%" PRIu64 " mid_stream_fin=%" PRIu64 " mid_stream_rst=%" PRIu64
           " streams_sent=%" PRIu64 " streams_ok=%" PRIu64 " accepted=%" PRIu64 " recorded=%" PRIu64
           " dropped=%" PRIu64 " bad_requests=%" PRIu64 " closes_fin=%" PRIu64
           " closes_rst=%" PRIu64 " tail_tokens=%" PRIu64 " active_after=%" PRIu64
           " settle_ms=%lld errors=%" PRIu64 " ledger_ok=%d"
           " conserved=%d\n",
           s.o.label, s.o.cycles, elapsed_ns / 1e6, s.o.cycles / (elapsed_ns / 1e9),
           s.mix[PHASE_HEADERS][KIND_FIN], s.mix[PHASE_HEADERS][KIND_RST],
           s.mix[PHASE_BODY][KIND_FIN], s.mix[PHASE_BODY][KIND_RST], sent_fin, sent_rst,
           s.streams_sent, s.streams_ok, accepted, recorded, dropped, m1.bad - m0.bad, fin, rst,
           m1.tail - m0.tail, m1.active, settle_ms, errors, ok, conserved);
    for (i = 0; i < s.o.nwatch; i++) {
        struct watch *w = &s.o.watch[i];
        int wleak = w->fds_settled < 0 || w->fds_settled > w->fds_before + s.o.fd_slack;

        leak |= wleak;
        printf("proc path=%s name=%s pid=%d fds_before=%ld fds_after=%ld fds_settled=%ld"
               " rss_before_kib=%ld rss_after_kib=%ld rss_settled_kib=%ld fd_slack=%d"
               " fd_leak=%d\n",
               s.o.label, w->name, (int)w->pid, w->fds_before, w->fds_after, w->fds_settled,
               w->rss_before, w->rss_after, w->rss_settled, s.o.fd_slack, wleak);
    }
    fprintf(stderr,
            "soak %s: errors connect=%" PRIu64 " send=%" PRIu64 " status=%" PRIu64 " eof=%" PRIu64
            " read=%" PRIu64 " timeout=%" PRIu64 "; closes seen fin=%" PRIu64 "/%" PRIu64
            " rst=%" PRIu64 "/%" PRIu64 " (seen/sent)\n",
            s.o.label, s.err_connect, s.err_send, s.err_status, s.err_eof, s.err_read,
            s.err_timeout, fin, sent_fin, rst, sent_rst);
    free(s.slots);
    return conserved && !leak ? 0 : 1;
}
