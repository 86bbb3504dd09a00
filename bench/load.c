/* Load client for the mockprov benchmark: opens N concurrent SSE streams over raw sockets on one
 * libevent loop, counts ` tok<i>` tokens as they arrive, and reports the achieved token rate,
 * inter-token gaps, time to first token and (with --admin) disconnect-detection latency read
 * back from the mock's ledger. Prints one machine-readable `result ...` line on stdout. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#define LOAD_MAX_STREAMS 20000
#define LOAD_MAX_HEAD_BYTES 8192
#define LOAD_READ_BYTES 16384
#define LOAD_READS_PER_WAKE 4
#define LOAD_MAX_REPLY_BYTES (4 * 1024 * 1024)
#define LOAD_MAX_TOKEN_INDEX 100000000L
#define LOAD_LEDGER_PASSES 5
#define LOAD_SETTLE_MS 200

/* Log-linear histogram of ns values: exact below HIST_LINEAR, then 2048 buckets per octave, so
 * any percentile is within 0.05% of the true value (25 us at 50 ms). */
#define HIST_SUB_BITS 11
#define HIST_LINEAR (1 << (HIST_SUB_BITS + 1))
#define HIST_BUCKETS (HIST_LINEAR + (64 - HIST_SUB_BITS - 1) * (1 << HIST_SUB_BITS))

struct hist {
    uint64_t count;
    uint64_t max;
    uint64_t buckets[HIST_BUCKETS];
};

enum stream_state {
    ST_IDLE,
    ST_CONNECTING,
    ST_HEAD,
    ST_BODY,
    ST_DONE,    /* the response ended; the socket is closed */
    ST_FAILED,  /* an error ended it; the socket is closed */
    ST_CUT,     /* closed by us as a detection sample */
    ST_STOPPED, /* closed by us at the end of the run */
};

enum chunk_state {
    CH_SIZE,
    CH_DATA,
    CH_DATA_END,
    CH_TRAILER,
};

struct bench;

struct stream {
    struct bench *b;
    int id;
    int fd;
    struct event *ev;
    enum stream_state state;
    char *head;
    size_t head_len;
    int chunked;
    enum chunk_state ch;
    uint64_t chunk_left;
    size_t trailer_line;
    long long body_left; /* Content-Length left, or -1 */
    int tok_match;       /* chars of "tok" matched; 3 = inside the digits */
    int have_digit;
    long tok_index;
    int done_match; /* chars of "[DONE]" matched */
    long tokens;
    long long t_send, t_last, t_close;
};

struct bench_opts {
    char host[64];
    int port;
    int streams;
    double tps;
    long length;
    int ramp_ms;
    int warmup_ms;
    int window_ms;
    int admin;
    int detect_sample;
    int close_every_us;
    pid_t server_pid;
};

struct bench {
    struct bench_opts o;
    struct event_base *base;
    struct sockaddr_in addr;
    char request[1024]; /* printf format; %d is the stream id */
    struct stream *streams;
    int opened;
    long long t_start, t_window_start, t_window_end;
    struct event *ramp_ev, *phase_ev, *close_ev, *lag_ev;
    long long lag_due;
    struct hist *lag; /* the client's own loop lag: a slow client inflates every gap */
    int phase;
    int next_close;
    uint64_t window_tokens;
    struct hist *gap, *ttft, *detect;
    uint64_t connect_errors, send_errors, status_errors, read_errors, eof_errors, parse_errors,
        seq_errors, streams_done;
    uint64_t detect_skipped, detect_missing, detect_negative, close_fin, close_rst, close_other,
        ledger_errors;
    long rss_base_kib, rss_plateau_kib;
    long long cpu_ticks_start, cpu_ticks_end;
    /* the rest of the machine, to flag a run that shared the CPUs with other work */
    long long machine_start, machine_end, self_start, self_end;
};

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int hist_index(uint64_t v)
{
    int k, shift;

    if (v < HIST_LINEAR)
        return (int)v;
    k = 63 - __builtin_clzll(v);
    shift = k - HIST_SUB_BITS;
    return HIST_LINEAR + (k - HIST_SUB_BITS - 1) * (1 << HIST_SUB_BITS) +
           (int)((v >> shift) - (1u << HIST_SUB_BITS));
}

/* Midpoint of bucket i. */
static uint64_t hist_value(int i)
{
    int k, shift;
    uint64_t m;

    if (i < HIST_LINEAR)
        return (uint64_t)i;
    k = (i - HIST_LINEAR) / (1 << HIST_SUB_BITS) + HIST_SUB_BITS + 1;
    m = (uint64_t)((i - HIST_LINEAR) % (1 << HIST_SUB_BITS) + (1 << HIST_SUB_BITS));
    shift = k - HIST_SUB_BITS;
    return (m << shift) + ((1ull << shift) >> 1);
}

static void hist_add(struct hist *h, long long v)
{
    uint64_t u = v < 0 ? 0 : (uint64_t)v;

    h->buckets[hist_index(u)]++;
    h->count++;
    if (u > h->max)
        h->max = u;
}

/* Value at quantile q (0..1) divided by 'unit', or -1 when empty. */
static double hist_quantile(const struct hist *h, double q, double unit)
{
    uint64_t rank, seen = 0;
    int i;

    if (h->count == 0)
        return -1;
    rank = (uint64_t)(q * (double)h->count + 0.999999);
    if (rank < 1)
        rank = 1;
    for (i = 0; i < HIST_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank)
            return (double)(hist_value(i) < h->max ? hist_value(i) : h->max) / unit;
    }
    return (double)h->max / unit;
}

static long read_rss_kib(pid_t pid)
{
    char path[64], line[256];
    long kib = -1;
    FILE *fp;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    fp = fopen(path, "r");
    if (!fp)
        return -1;
    while (fgets(line, sizeof(line), fp)) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(fp);
    return kib;
}

/* utime + stime of pid in clock ticks, or -1. */
static long long read_cpu_ticks(pid_t pid)
{
    char path[64], buf[1024];
    unsigned long long ut, st;
    const char *p;
    size_t n;
    FILE *fp;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    fp = fopen(path, "r");
    if (!fp)
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    /* the command name may hold spaces; fields restart after its closing parenthesis */
    p = strrchr(buf, ')');
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (long long)(ut + st);
}

/* Busy time of the whole machine in clock ticks (user, nice, system, irq, softirq), or -1.
 * Interrupt time counts: without IRQ_TIME_ACCOUNTING a process's stime includes the loopback
 * softirq work done in its context, while /proc/stat books it as softirq. */
static long long read_machine_ticks(void)
{
    unsigned long long user, nice, sys, idle, iowait, irq, softirq;
    FILE *fp = fopen("/proc/stat", "r");
    int n;

    if (!fp)
        return -1;
    n = fscanf(fp, "cpu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &sys, &idle, &iowait,
               &irq, &softirq);
    fclose(fp);
    return n == 7 ? (long long)(user + nice + sys + irq + softirq) : -1;
}

static void stream_end(struct stream *s, enum stream_state why)
{
    if (s->fd >= 0) {
        event_del(s->ev);
        close(s->fd);
        s->fd = -1;
    }
    free(s->head);
    s->head = NULL;
    s->state = why;
}

static void token_seen(struct stream *s, long long now)
{
    struct bench *b = s->b;
    int in_window = now >= b->t_window_start && now < b->t_window_end;

    if (s->tok_index != s->tokens) {
        /* a gap, duplicate or reordering; resync so one slip counts once */
        b->seq_errors++;
        s->tokens = s->tok_index;
    }
    if (s->t_last == 0)
        hist_add(b->ttft, now - s->t_send);
    else if (in_window)
        hist_add(b->gap, now - s->t_last);
    if (in_window)
        b->window_tokens++;
    s->t_last = now;
    s->tokens++;
}

/* Scans SSE payload bytes for ` tok<digits>` and `[DONE]`. State carries across calls, so a
 * token split over two reads is counted once, at the arrival of its last byte. */
static void scan_payload(struct stream *s, const char *p, size_t len, long long now)
{
    static const char tok[] = "tok";
    static const char done[] = "[DONE]";
    size_t i;

    for (i = 0; i < len; i++) {
        char c = p[i];

        if (s->tok_match == 3) {
            if (c >= '0' && c <= '9') {
                if (s->tok_index < LOAD_MAX_TOKEN_INDEX)
                    s->tok_index = s->tok_index * 10 + (c - '0');
                s->have_digit = 1;
                continue;
            }
            if (s->have_digit)
                token_seen(s, now);
            s->tok_match = 0;
        }
        if (c == tok[s->tok_match]) {
            s->tok_match++;
            if (s->tok_match == 3) {
                s->tok_index = 0;
                s->have_digit = 0;
            }
        } else {
            s->tok_match = c == 't' ? 1 : 0;
        }
        if (c == done[s->done_match]) {
            s->done_match++;
            if (s->done_match == 6) {
                s->b->streams_done++;
                stream_end(s, ST_DONE);
                return;
            }
        } else {
            s->done_match = c == '[' ? 1 : 0;
        }
    }
}

/* Undoes chunked framing (RFC 9112 section 7.1) and passes the payload on. Returns 0, or -1 on
 * bad framing. */
static int feed_chunked(struct stream *s, const char *p, size_t len, long long now)
{
    size_t i = 0;

    while (i < len && s->state == ST_BODY) {
        char c = p[i];

        switch (s->ch) {
        case CH_SIZE:
            i++;
            if (c == '\n') {
                if (s->chunk_left == 0) {
                    s->ch = CH_TRAILER;
                    s->trailer_line = 0;
                } else {
                    s->ch = CH_DATA;
                }
            } else if (s->trailer_line == 0) {
                /* trailer_line doubles as "inside a chunk extension" here */
                int v = -1;

                if (c >= '0' && c <= '9')
                    v = c - '0';
                else if (c >= 'a' && c <= 'f')
                    v = c - 'a' + 10;
                else if (c >= 'A' && c <= 'F')
                    v = c - 'A' + 10;
                if (v >= 0) {
                    if (s->chunk_left > (1ull << 40))
                        return -1;
                    s->chunk_left = s->chunk_left * 16 + (uint64_t)v;
                } else if (c == ';') {
                    s->trailer_line = 1;
                } else if (c != '\r' && c != ' ' && c != '\t') {
                    return -1;
                }
            }
            break;
        case CH_DATA: {
            size_t take = len - i;

            if (take > s->chunk_left)
                take = (size_t)s->chunk_left;
            s->chunk_left -= take;
            if (s->chunk_left == 0)
                s->ch = CH_DATA_END;
            scan_payload(s, p + i, take, now);
            i += take;
            break;
        }
        case CH_DATA_END:
            i++;
            if (c == '\n') {
                s->ch = CH_SIZE;
                s->chunk_left = 0;
                s->trailer_line = 0;
            } else if (c != '\r') {
                return -1;
            }
            break;
        case CH_TRAILER:
            i++;
            if (c == '\n') {
                if (s->trailer_line == 0) {
                    s->b->streams_done++;
                    stream_end(s, ST_DONE);
                    return 0;
                }
                s->trailer_line = 0;
            } else if (c != '\r') {
                s->trailer_line++;
            }
            break;
        }
    }
    return 0;
}

static void feed_body(struct stream *s, const char *p, size_t len, long long now)
{
    if (s->chunked) {
        if (feed_chunked(s, p, len, now) != 0) {
            s->b->parse_errors++;
            stream_end(s, ST_FAILED);
        }
        return;
    }
    if (s->body_left >= 0 && (long long)len > s->body_left)
        len = (size_t)s->body_left;
    scan_payload(s, p, len, now);
    if (s->state == ST_BODY && s->body_left >= 0) {
        s->body_left -= (long long)len;
        if (s->body_left == 0) {
            s->b->streams_done++;
            stream_end(s, ST_DONE);
        }
    }
}

/* Value of header 'name' in a NUL-terminated head, or NULL. */
static const char *find_header(const char *head, const char *name)
{
    size_t nlen = strlen(name);
    const char *line = strstr(head, "\r\n");

    /* bounded: the head is at most LOAD_MAX_HEAD_BYTES */
    while (line) {
        line += 2;
        if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
            line += nlen + 1;
            while (*line == ' ' || *line == '\t')
                line++;
            return line;
        }
        line = strstr(line, "\r\n");
    }
    return NULL;
}

/* Collects the response head; passes any bytes after it to the body. */
static void feed_head(struct stream *s, const char *p, size_t len, long long now)
{
    struct bench *b = s->b;
    size_t take = len, before = s->head_len, consumed;
    const char *v;
    char *end;

    if (!s->head) {
        s->head = malloc(LOAD_MAX_HEAD_BYTES + 1);
        if (!s->head) {
            b->read_errors++;
            stream_end(s, ST_FAILED);
            return;
        }
    }
    if (take > LOAD_MAX_HEAD_BYTES - s->head_len)
        take = LOAD_MAX_HEAD_BYTES - s->head_len;
    memcpy(s->head + s->head_len, p, take);
    s->head_len += take;
    s->head[s->head_len] = '\0';
    end = strstr(s->head, "\r\n\r\n");
    if (!end) {
        if (s->head_len == LOAD_MAX_HEAD_BYTES) {
            b->parse_errors++;
            stream_end(s, ST_FAILED);
        }
        return;
    }
    end[2] = '\0';
    if (strncmp(s->head, "HTTP/1.1 200", 12) != 0 && strncmp(s->head, "HTTP/1.0 200", 12) != 0) {
        b->status_errors++;
        stream_end(s, ST_FAILED);
        return;
    }
    v = find_header(s->head, "transfer-encoding");
    s->chunked = v && strncasecmp(v, "chunked", 7) == 0;
    v = find_header(s->head, "content-length");
    s->body_left = v && !s->chunked ? strtoll(v, NULL, 10) : -1;
    s->ch = CH_SIZE;
    s->chunk_left = 0;
    s->trailer_line = 0;
    consumed = (size_t)(end + 4 - s->head) - before;
    free(s->head);
    s->head = NULL;
    s->head_len = 0;
    s->state = ST_BODY;
    if (len > consumed)
        feed_body(s, p + consumed, len - consumed, now);
}

static void stream_read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct stream *s = arg;
    char buf[LOAD_READ_BYTES];
    int i;

    (void)what;
    for (i = 0; i < LOAD_READS_PER_WAKE; i++) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        long long now;

        if (n == 0) {
            s->b->eof_errors++;
            stream_end(s, ST_FAILED);
            return;
        }
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                s->b->read_errors++;
                stream_end(s, ST_FAILED);
            }
            return;
        }
        now = now_ns();
        if (s->state == ST_HEAD)
            feed_head(s, buf, (size_t)n, now);
        else
            feed_body(s, buf, (size_t)n, now);
        if (s->state != ST_HEAD && s->state != ST_BODY)
            return;
        if ((size_t)n < sizeof(buf))
            return;
    }
}

static void stream_connected_cb(evutil_socket_t fd, short what, void *arg)
{
    struct stream *s = arg;
    struct bench *b = s->b;
    char req[1200];
    int soerr = 0, n;
    socklen_t slen = sizeof(soerr);
    ssize_t sent;

    (void)what;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &slen) != 0 || soerr != 0) {
        b->connect_errors++;
        stream_end(s, ST_FAILED);
        return;
    }
    n = snprintf(req, sizeof(req), b->request, s->id);
    if (n < 0 || (size_t)n >= sizeof(req)) {
        b->send_errors++;
        stream_end(s, ST_FAILED);
        return;
    }
    s->t_send = now_ns();
    /* a fresh socket's send buffer always takes a 400-byte request whole */
    sent = send(fd, req, (size_t)n, MSG_NOSIGNAL);
    if (sent != n) {
        b->send_errors++;
        stream_end(s, ST_FAILED);
        return;
    }
    s->state = ST_HEAD;
    /* the one-shot write event has fired and is no longer pending, so it may be reassigned */
    if (event_assign(s->ev, b->base, fd, EV_READ | EV_PERSIST, stream_read_cb, s) != 0 ||
        event_add(s->ev, NULL) != 0) {
        b->read_errors++;
        stream_end(s, ST_FAILED);
    }
}

static void stream_open(struct bench *b, struct stream *s)
{
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    s->state = ST_CONNECTING;
    if (fd < 0) {
        b->connect_errors++;
        s->state = ST_FAILED;
        return;
    }
    s->fd = fd;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&b->addr, sizeof(b->addr)) != 0 && errno != EINPROGRESS) {
        b->connect_errors++;
        close(fd);
        s->fd = -1;
        s->state = ST_FAILED;
        return;
    }
    s->ev = event_new(b->base, fd, EV_WRITE, stream_connected_cb, s);
    if (!s->ev || event_add(s->ev, NULL) != 0) {
        b->connect_errors++;
        close(fd);
        s->fd = -1;
        s->state = ST_FAILED;
    }
}

/* Opens streams evenly over the ramp: by time t, N * t / ramp of them. */
static void ramp_cb(evutil_socket_t fd, short what, void *arg)
{
    struct bench *b = arg;
    long long elapsed = now_ns() - b->t_start;
    long long want = b->o.streams;

    (void)fd;
    (void)what;
    if (b->o.ramp_ms > 0 && elapsed < (long long)b->o.ramp_ms * 1000000LL)
        want = (long long)b->o.streams * elapsed / ((long long)b->o.ramp_ms * 1000000LL);
    while (b->opened < want) {
        stream_open(b, &b->streams[b->opened]);
        b->opened++;
    }
    if (b->opened >= b->o.streams)
        event_del(b->ramp_ev);
}

/* Drains what the stream has already received, so close() sends a FIN rather than an RST, and
 * closes it, noting the time. */
static void detect_close(struct bench *b, struct stream *s)
{
    char buf[LOAD_READ_BYTES];
    int i;

    for (i = 0; i < 64 && s->state == ST_BODY; i++) {
        ssize_t n = recv(s->fd, buf, sizeof(buf), 0);

        if (n <= 0)
            break;
        feed_body(s, buf, (size_t)n, now_ns());
    }
    if (s->state != ST_BODY) {
        b->detect_skipped++;
        return;
    }
    event_del(s->ev);
    s->t_close = now_ns();
    close(s->fd);
    s->fd = -1;
    s->state = ST_CUT;
}

static void close_cb(evutil_socket_t fd, short what, void *arg)
{
    struct bench *b = arg;
    int n = b->o.detect_sample;

    (void)fd;
    (void)what;
    if (b->next_close < n) {
        /* spread the sample evenly over the stream ids, so early and late starters both count */
        int id = (int)((long long)b->next_close * b->o.streams / n);

        detect_close(b, &b->streams[id]);
        b->next_close++;
        return;
    }
    event_del(b->close_ev);
    event_base_loopexit(b->base, &(struct timeval){0, LOAD_SETTLE_MS * 1000});
}

/* A 10 ms tick that measures how late the client's own loop runs it, during the window. */
#define LOAD_LAG_TICK_NS (10LL * 1000 * 1000)

static void lag_cb(evutil_socket_t fd, short what, void *arg)
{
    struct bench *b = arg;
    long long now = now_ns();

    (void)fd;
    (void)what;
    if (b->lag_due > 0 && now >= b->t_window_start && now < b->t_window_end)
        hist_add(b->lag, now - b->lag_due);
    b->lag_due = now + LOAD_LAG_TICK_NS;
}

enum {
    PHASE_WINDOW_START,
    PHASE_WINDOW_END,
};

static void schedule_at(struct event *ev, long long at_ns)
{
    long long d = at_ns - now_ns();
    struct timeval tv;

    if (d < 0)
        d = 0;
    tv.tv_sec = (time_t)(d / 1000000000LL);
    tv.tv_usec = (suseconds_t)((d % 1000000000LL) / 1000);
    event_add(ev, &tv);
}

static void phase_cb(evutil_socket_t fd, short what, void *arg)
{
    struct bench *b = arg;
    long rss;

    (void)fd;
    (void)what;
    if (b->o.server_pid > 0) {
        rss = read_rss_kib(b->o.server_pid);
        if (rss > b->rss_plateau_kib)
            b->rss_plateau_kib = rss;
    }
    if (b->phase == PHASE_WINDOW_START) {
        if (b->o.server_pid > 0)
            b->cpu_ticks_start = read_cpu_ticks(b->o.server_pid);
        b->machine_start = read_machine_ticks();
        b->self_start = read_cpu_ticks(getpid());
        b->phase = PHASE_WINDOW_END;
        schedule_at(b->phase_ev, b->t_window_end);
        return;
    }
    if (b->o.server_pid > 0)
        b->cpu_ticks_end = read_cpu_ticks(b->o.server_pid);
    b->machine_end = read_machine_ticks();
    b->self_end = read_cpu_ticks(getpid());
    if (b->o.admin && b->o.detect_sample > 0) {
        struct timeval every = {0, b->o.close_every_us};

        b->close_ev = event_new(b->base, -1, EV_PERSIST, close_cb, b);
        if (b->close_ev && event_add(b->close_ev, &every) == 0)
            return;
    }
    event_base_loopexit(b->base, NULL);
}

/* One blocking HTTP/1.1 GET on a fresh connection, for the admin API after the load phase.
 * Returns the (de-chunked) body as a malloc'd string, or NULL. */
static char *http_get(const struct bench *b, const char *path, int *status)
{
    struct timeval tmo = {2, 0};
    char req[512], *buf = NULL, *body, *end, *out = NULL;
    size_t len = 0, cap = 65536;
    int fd, n;

    *status = 0;
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo));
    if (connect(fd, (const struct sockaddr *)&b->addr, sizeof(b->addr)) != 0)
        goto fail;
    n = snprintf(req, sizeof(req),
                 "GET %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n", path, b->o.host,
                 b->o.port);
    if (n < 0 || (size_t)n >= sizeof(req) || send(fd, req, (size_t)n, MSG_NOSIGNAL) != n)
        goto fail;
    buf = malloc(cap + 1);
    if (!buf)
        goto fail;
    /* bounded by LOAD_MAX_REPLY_BYTES and the receive timeout */
    for (;;) {
        ssize_t r;

        if (len == cap) {
            char *bigger;

            if (cap >= LOAD_MAX_REPLY_BYTES)
                goto fail;
            bigger = realloc(buf, cap * 2 + 1);
            if (!bigger)
                goto fail;
            buf = bigger;
            cap *= 2;
        }
        r = recv(fd, buf + len, cap - len, 0);
        if (r < 0)
            goto fail;
        if (r == 0)
            break;
        len += (size_t)r;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
        if (end) {
            const char *cl;

            *end = '\0';
            cl = find_header(buf, "content-length");
            *end = '\r';
            if (cl && len - (size_t)(end + 4 - buf) >= (size_t)strtoull(cl, NULL, 10))
                break;
            if (!cl && len >= 5 && memcmp(buf + len - 5, "0\r\n\r\n", 5) == 0)
                break;
        }
    }
    buf[len] = '\0';
    end = strstr(buf, "\r\n\r\n");
    if (!end || sscanf(buf, "HTTP/1.%*d %d", status) != 1)
        goto fail;
    *end = '\0';
    body = end + 4;
    {
        const char *te = find_header(buf, "transfer-encoding");

        if (te && strncasecmp(te, "chunked", 7) == 0) {
            /* de-chunk in place; the output never outruns the input */
            char *rd = body, *wr = body;

            for (;;) {
                char *after;
                unsigned long long sz = strtoull(rd, &after, 16);
                char *line_end = strstr(rd, "\r\n");

                if (after == rd || !line_end || sz == 0)
                    break;
                rd = line_end + 2;
                if ((size_t)(buf + len - rd) < sz)
                    break;
                memmove(wr, rd, (size_t)sz);
                wr += sz;
                rd += sz + 2;
                if (rd > buf + len)
                    break;
            }
            *wr = '\0';
        }
    }
    out = strdup(body);
fail:
    free(buf);
    close(fd);
    return out;
}

/* Reads the sampled streams' ledger records back and fills the detection histogram. */
static void fetch_detection(struct bench *b)
{
    int pass, i;
    int pending = 1;

    for (pass = 0; pass < LOAD_LEDGER_PASSES && pending; pass++) {
        pending = 0;
        if (pass > 0)
            usleep(100 * 1000);
        for (i = 0; i < b->o.streams; i++) {
            struct stream *s = &b->streams[i];
            char path[128];
            int status;
            char *body;
            cJSON *root, *recs, *rec, *tpc, *kind;

            if (s->state != ST_CUT || s->t_close == 0)
                continue;
            snprintf(path, sizeof(path), "/_tailgate/ledger?id=bench-%d", s->id);
            body = http_get(b, path, &status);
            root = body && status == 200 ? cJSON_Parse(body) : NULL;
            free(body);
            recs = cJSON_GetObjectItemCaseSensitive(root, "records");
            rec = cJSON_GetArrayItem(recs, cJSON_GetArraySize(recs) - 1);
            if (!rec) {
                if (pass == LOAD_LEDGER_PASSES - 1)
                    b->ledger_errors++;
                pending = 1;
                cJSON_Delete(root);
                continue;
            }
            tpc = cJSON_GetObjectItemCaseSensitive(rec, "t_peer_closed_ns");
            if (!cJSON_IsNumber(tpc)) {
                if (pass == LOAD_LEDGER_PASSES - 1)
                    b->detect_missing++;
                pending = 1;
                cJSON_Delete(root);
                continue;
            }
            /* ns stamps below 2^53 (104 days of uptime) are exact in a double */
            if ((long long)tpc->valuedouble < s->t_close)
                b->detect_negative++;
            else
                hist_add(b->detect, (long long)tpc->valuedouble - s->t_close);
            kind = cJSON_GetObjectItemCaseSensitive(rec, "close_kind");
            if (cJSON_IsString(kind) && strcmp(kind->valuestring, "fin") == 0)
                b->close_fin++;
            else if (cJSON_IsString(kind) && strcmp(kind->valuestring, "rst") == 0)
                b->close_rst++;
            else
                b->close_other++;
            s->t_close = 0; /* resolved */
            cJSON_Delete(root);
        }
    }
}

static int parse_url(const char *url, struct bench_opts *o)
{
    const char *p = url, *colon;
    size_t hlen;

    if (strncmp(p, "http://", 7) != 0)
        return -1;
    p += 7;
    colon = strchr(p, ':');
    if (!colon)
        return -1;
    hlen = (size_t)(colon - p);
    if (hlen == 0 || hlen >= sizeof(o->host))
        return -1;
    memcpy(o->host, p, hlen);
    o->host[hlen] = '\0';
    o->port = atoi(colon + 1);
    return o->port > 0 && o->port < 65536 ? 0 : -1;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: load --url http://127.0.0.1:PORT --streams N [--tps 20] [--length L]\n"
            "            [--ramp-ms R] [--warmup-ms W] [--window-ms W] [--admin]\n"
            "            [--detect-sample S] [--close-every-us U] [--server-pid PID]\n");
}

static int parse_args(int argc, char **argv, struct bench_opts *o)
{
    static const struct option longopts[] = {
        {"url", required_argument, NULL, 'u'},
        {"streams", required_argument, NULL, 'n'},
        {"tps", required_argument, NULL, 't'},
        {"length", required_argument, NULL, 'l'},
        {"ramp-ms", required_argument, NULL, 'r'},
        {"warmup-ms", required_argument, NULL, 'w'},
        {"window-ms", required_argument, NULL, 'W'},
        {"admin", no_argument, NULL, 'a'},
        {"detect-sample", required_argument, NULL, 's'},
        {"close-every-us", required_argument, NULL, 'c'},
        {"server-pid", required_argument, NULL, 'p'},
        {NULL, 0, NULL, 0},
    };
    int opt, have_url = 0;

    memset(o, 0, sizeof(*o));
    o->streams = 100;
    o->tps = 20;
    o->length = 0;
    o->ramp_ms = 2000;
    o->warmup_ms = 1000;
    o->window_ms = 5000;
    o->detect_sample = 200;
    o->close_every_us = 2000;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'u':
            if (parse_url(optarg, o) != 0)
                return -1;
            have_url = 1;
            break;
        case 'n':
            o->streams = atoi(optarg);
            break;
        case 't':
            o->tps = atof(optarg);
            break;
        case 'l':
            o->length = atol(optarg);
            break;
        case 'r':
            o->ramp_ms = atoi(optarg);
            break;
        case 'w':
            o->warmup_ms = atoi(optarg);
            break;
        case 'W':
            o->window_ms = atoi(optarg);
            break;
        case 'a':
            o->admin = 1;
            break;
        case 's':
            o->detect_sample = atoi(optarg);
            break;
        case 'c':
            o->close_every_us = atoi(optarg);
            break;
        case 'p':
            o->server_pid = (pid_t)atoi(optarg);
            break;
        default:
            return -1;
        }
    }
    if (!have_url || o->streams < 1 || o->streams > LOAD_MAX_STREAMS || o->tps <= 0 ||
        o->ramp_ms < 0 || o->warmup_ms < 0 || o->window_ms < 100 || o->detect_sample < 0 ||
        o->close_every_us < 1 || o->close_every_us >= 1000000)
        return -1;
    if (o->detect_sample > o->streams)
        o->detect_sample = o->streams;
    if (o->length <= 0) {
        /* long enough to outlive the ramp, the window and the detection phase, plus slack */
        double secs = (o->ramp_ms + o->warmup_ms + o->window_ms) / 1000.0 +
                      o->detect_sample * (o->close_every_us / 1e6) + 5.0;

        o->length = (long)(secs * o->tps) + 1;
    }
    return 0;
}

static void raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            perror("setrlimit");
    }
}

static void report(struct bench *b)
{
    double window_s = b->o.window_ms / 1000.0;
    double target = b->o.streams * b->o.tps;
    double achieved = (double)b->window_tokens / window_s;
    double kib_per_stream = -1, cpu_pct = -1, others_pct = -1;
    long ticks = sysconf(_SC_CLK_TCK);
    struct rusage ru;
    double self_cpu;

    if (b->rss_base_kib > 0 && b->rss_plateau_kib > 0)
        kib_per_stream = (double)(b->rss_plateau_kib - b->rss_base_kib) / b->o.streams;
    if (b->cpu_ticks_start >= 0 && b->cpu_ticks_end > 0 && ticks > 0)
        cpu_pct = 100.0 * (double)(b->cpu_ticks_end - b->cpu_ticks_start) / (double)ticks /
                  window_s;
    if (cpu_pct >= 0 && b->machine_start >= 0 && b->machine_end > 0 && b->self_start >= 0 &&
        b->self_end > 0) {
        long long others = (b->machine_end - b->machine_start) - (b->self_end - b->self_start) -
                           (b->cpu_ticks_end - b->cpu_ticks_start);

        others_pct = 100.0 * (double)(others > 0 ? others : 0) / (double)ticks / window_s;
    }
    getrusage(RUSAGE_SELF, &ru);
    self_cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
               (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    printf("result streams=%d target_tps=%.0f achieved_tps=%.1f achieved_pct=%.2f"
           " gap_p50_ms=%.3f gap_p99_ms=%.3f gap_max_ms=%.3f ttft_p50_ms=%.3f ttft_p99_ms=%.3f"
           " detect_n=%" PRIu64 " detect_p50_us=%.1f detect_p99_us=%.1f"
           " rss_base_kib=%ld rss_plateau_kib=%ld kib_per_stream=%.2f server_cpu_pct=%.1f"
           " client_cpu_s=%.2f client_lag_p99_ms=%.3f others_cpu_pct=%.1f errors=%" PRIu64 "\n",
           b->o.streams, target, achieved, 100.0 * achieved / target,
           hist_quantile(b->gap, 0.50, 1e6), hist_quantile(b->gap, 0.99, 1e6),
           (double)b->gap->max / 1e6, hist_quantile(b->ttft, 0.50, 1e6),
           hist_quantile(b->ttft, 0.99, 1e6), b->detect->count,
           hist_quantile(b->detect, 0.50, 1e3), hist_quantile(b->detect, 0.99, 1e3),
           b->rss_base_kib, b->rss_plateau_kib, kib_per_stream, cpu_pct, self_cpu,
           hist_quantile(b->lag, 0.99, 1e6), others_pct,
           b->connect_errors + b->send_errors + b->status_errors + b->read_errors +
               b->eof_errors + b->parse_errors + b->seq_errors + b->ledger_errors);
    fprintf(stderr,
            "load: streams=%d length=%ld first_tokens=%" PRIu64 " done=%" PRIu64
            " window_tokens=%" PRIu64 " gaps=%" PRIu64 "\n"
            "load: errors connect=%" PRIu64 " send=%" PRIu64 " status=%" PRIu64 " read=%" PRIu64
            " eof=%" PRIu64 " parse=%" PRIu64 " seq=%" PRIu64 " ledger=%" PRIu64 "\n",
            b->o.streams, b->o.length, b->ttft->count, b->streams_done, b->window_tokens,
            b->gap->count, b->connect_errors, b->send_errors, b->status_errors, b->read_errors,
            b->eof_errors, b->parse_errors, b->seq_errors, b->ledger_errors);
    if (b->o.admin)
        fprintf(stderr,
                "load: detect n=%" PRIu64 " max_us=%.1f skipped=%" PRIu64 " missing=%" PRIu64
                " negative=%" PRIu64 " fin=%" PRIu64 " rst=%" PRIu64 " other=%" PRIu64 "\n",
                b->detect->count, (double)b->detect->max / 1e3, b->detect_skipped,
                b->detect_missing, b->detect_negative, b->close_fin, b->close_rst,
                b->close_other);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    static const char body[] =
        "{\"model\":\"bench\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    struct bench b;
    struct timeval tick = {0, 1000};
    int i, rc = 1, n;

    memset(&b, 0, sizeof(b));
    if (parse_args(argc, argv, &b.o) != 0) {
        usage();
        return 2;
    }
    raise_nofile();
    b.addr.sin_family = AF_INET;
    b.addr.sin_port = htons((uint16_t)b.o.port);
    if (inet_pton(AF_INET, b.o.host, &b.addr.sin_addr) != 1) {
        fprintf(stderr, "load: host must be a numeric IPv4 address: %s\n", b.o.host);
        return 2;
    }
    /* %%d is left for the stream id; the rest is fixed for the run */
    n = snprintf(b.request, sizeof(b.request),
                 "POST /v1/chat/completions HTTP/1.1\r\n"
                 "Host: %s:%d\r\n"
                 "Content-Type: application/json\r\n"
                 "Accept: text/event-stream\r\n"
                 "Content-Length: %zu\r\n"
                 "x-tailgate-tps: %g\r\n"
                 "x-tailgate-length: %ld\r\n"
                 "x-tailgate-ttft-ms: 0\r\n"
                 "x-tailgate-jitter: 0\r\n"
                 "X-Request-Id: bench-%%d\r\n"
                 "\r\n%s",
                 b.o.host, b.o.port, sizeof(body) - 1, b.o.tps, b.o.length, body);
    if (n < 0 || (size_t)n >= sizeof(b.request)) {
        fprintf(stderr, "load: request too long\n");
        return 2;
    }
    b.streams = calloc((size_t)b.o.streams, sizeof(*b.streams));
    b.gap = calloc(1, sizeof(*b.gap));
    b.ttft = calloc(1, sizeof(*b.ttft));
    b.detect = calloc(1, sizeof(*b.detect));
    b.lag = calloc(1, sizeof(*b.lag));
    b.base = event_base_new();
    if (!b.streams || !b.gap || !b.ttft || !b.detect || !b.lag || !b.base) {
        fprintf(stderr, "load: calloc/event_base_new: out of memory\n");
        goto out;
    }
    for (i = 0; i < b.o.streams; i++) {
        b.streams[i].b = &b;
        b.streams[i].id = i;
        b.streams[i].fd = -1;
    }
    if (b.o.server_pid > 0)
        b.rss_base_kib = read_rss_kib(b.o.server_pid);
    b.cpu_ticks_start = -1;
    b.ramp_ev = event_new(b.base, -1, EV_PERSIST, ramp_cb, &b);
    b.phase_ev = event_new(b.base, -1, 0, phase_cb, &b);
    b.lag_ev = event_new(b.base, -1, EV_PERSIST, lag_cb, &b);
    if (!b.ramp_ev || !b.phase_ev || !b.lag_ev) {
        fprintf(stderr, "load: event_new: out of memory\n");
        goto out;
    }
    b.t_start = now_ns();
    b.t_window_start = b.t_start + ((long long)b.o.ramp_ms + b.o.warmup_ms) * 1000000LL;
    b.t_window_end = b.t_window_start + (long long)b.o.window_ms * 1000000LL;
    b.phase = PHASE_WINDOW_START;
    event_add(b.ramp_ev, &tick);
    event_add(b.lag_ev, &(struct timeval){0, LOAD_LAG_TICK_NS / 1000});
    schedule_at(b.phase_ev, b.t_window_start);
    ramp_cb(-1, 0, &b);
    if (event_base_dispatch(b.base) < 0) {
        fprintf(stderr, "load: event_base_dispatch failed\n");
        goto out;
    }
    /* stop the load before reading the ledger, so the admin calls do not queue behind it */
    for (i = 0; i < b.o.streams; i++) {
        struct stream *s = &b.streams[i];

        if (s->fd >= 0)
            stream_end(s, ST_STOPPED);
    }
    if (b.o.admin)
        fetch_detection(&b);
    report(&b);
    rc = 0;
out:
    if (b.streams) {
        for (i = 0; i < b.o.streams; i++) {
            if (b.streams[i].ev)
                event_free(b.streams[i].ev);
            free(b.streams[i].head);
        }
    }
    if (b.ramp_ev)
        event_free(b.ramp_ev);
    if (b.phase_ev)
        event_free(b.phase_ev);
    if (b.close_ev)
        event_free(b.close_ev);
    if (b.lag_ev)
        event_free(b.lag_ev);
    if (b.base)
        event_base_free(b.base);
    free(b.streams);
    free(b.gap);
    free(b.ttft);
    free(b.detect);
    free(b.lag);
    return rc;
}
