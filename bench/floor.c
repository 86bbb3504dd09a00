/* The floor for the mockprov benchmark: the least work an SSE token server can do. One epoll
 * loop, one timerfd, one chunked SSE event per stream every 50 ms and nothing else, so that the
 * load client can be measured against it on the same machine in the same run. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define FLOOR_PERIOD_NS (50LL * 1000 * 1000)
/* Timer resolution: streams due within the same millisecond are served by one wake, as a 1 ms
 * timing wheel would. Waking per stream costs three syscalls a token at 5,000 streams. */
#define FLOOR_TICK_NS (1000LL * 1000)
#define FLOOR_DEFAULT_LENGTH 200
#define FLOOR_MAX_LENGTH 1000000
#define FLOOR_MAX_HEADER_BYTES 8192
#define FLOOR_MAX_OUT_BYTES (64 * 1024)
#define FLOOR_MAX_EVENTS 256
#define FLOOR_ACCEPT_BATCH 256
#define FLOOR_BACKLOG 4096

enum conn_state {
    CONN_HEADERS, /* reading the request head */
    CONN_BODY,    /* discarding the request body */
    CONN_STREAMING,
};

struct conn {
    int fd;
    enum conn_state state;
    char *head; /* request head; freed once parsed so a stream costs only this struct */
    size_t head_len;
    long long body_left;
    long length;
    long next_token;
    long long due_ns;
    char *out; /* unsent tail of earlier events, when the socket buffer was full */
    size_t out_len;
    int queued;
    struct conn *prev, *next; /* due queue, or the dead list once closed */
    struct conn *all_prev, *all_next; /* every open connection, to free them at exit */
};

struct floor_server {
    int epfd, lfd, tfd, sfd;
    /* All streams share one period, so appending at the tail keeps the queue sorted by due
     * time: a FIFO is the whole timer wheel. */
    struct conn *head, *tail;
    size_t queued;
    /* Closed connections, freed after the epoll batch: a stream closed by the timer may still
     * have an event further down the same batch. */
    struct conn *dead;
    struct conn *all;
    long long armed_ns;
    uint64_t accepted, streams_done, peer_closed, write_errors, overflows, bad_requests;
    /* how late tokens left, to tell a slow floor from a slow client */
    uint64_t tokens, late_2ms, late_10ms;
    long long late_max_ns;
};

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void queue_remove(struct floor_server *f, struct conn *c)
{
    if (!c->queued)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        f->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        f->tail = c->prev;
    c->prev = c->next = NULL;
    c->queued = 0;
    f->queued--;
}

static void queue_push(struct floor_server *f, struct conn *c)
{
    c->prev = f->tail;
    c->next = NULL;
    if (f->tail)
        f->tail->next = c;
    else
        f->head = c;
    f->tail = c;
    c->queued = 1;
    f->queued++;
}

/* Arms the timerfd for the tick holding the queue head; a no-op when it already is. */
static void arm_timer(struct floor_server *f)
{
    struct itimerspec its;
    long long due = f->head ? (f->head->due_ns + FLOOR_TICK_NS - 1) / FLOOR_TICK_NS * FLOOR_TICK_NS
                            : 0;

    if (due == f->armed_ns)
        return;
    memset(&its, 0, sizeof(its));
    if (due > 0) {
        its.it_value.tv_sec = due / 1000000000LL;
        its.it_value.tv_nsec = due % 1000000000LL;
    }
    if (timerfd_settime(f->tfd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
        f->armed_ns = due;
}

static void conn_close(struct floor_server *f, struct conn *c)
{
    if (c->fd < 0)
        return;
    queue_remove(f, c);
    if (c->all_prev)
        c->all_prev->all_next = c->all_next;
    else
        f->all = c->all_next;
    if (c->all_next)
        c->all_next->all_prev = c->all_prev;
    close(c->fd);
    c->fd = -1;
    c->next = f->dead;
    f->dead = c;
}

static void free_dead(struct floor_server *f)
{
    while (f->dead) {
        struct conn *c = f->dead;

        f->dead = c->next;
        free(c->head);
        free(c->out);
        free(c);
    }
}

static int set_events(struct floor_server *f, struct conn *c, uint32_t events)
{
    struct epoll_event ev;

    ev.events = events;
    ev.data.ptr = c;
    return epoll_ctl(f->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Sends 'buf' after whatever is already pending. Returns 0, or -1 when the connection must go. */
static int conn_write(struct floor_server *f, struct conn *c, const char *buf, size_t len)
{
    ssize_t n = 0;

    if (c->out_len == 0) {
        n = send(c->fd, buf, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                f->write_errors++;
                return -1;
            }
            n = 0;
        }
        if ((size_t)n == len)
            return 0;
    }
    if (c->out_len + (len - (size_t)n) > FLOOR_MAX_OUT_BYTES) {
        f->overflows++;
        return -1;
    }
    if (!c->out) {
        c->out = malloc(FLOOR_MAX_OUT_BYTES);
        if (!c->out)
            return -1;
    }
    memcpy(c->out + c->out_len, buf + n, len - (size_t)n);
    if (c->out_len == 0 && set_events(f, c, EPOLLIN | EPOLLRDHUP | EPOLLOUT) != 0)
        return -1;
    c->out_len += len - (size_t)n;
    return 0;
}

static int conn_flush(struct floor_server *f, struct conn *c)
{
    ssize_t n;

    if (c->out_len == 0)
        return 0;
    n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        f->write_errors++;
        return -1;
    }
    memmove(c->out, c->out + n, c->out_len - (size_t)n);
    c->out_len -= (size_t)n;
    if (c->out_len == 0) {
        free(c->out);
        c->out = NULL;
        return set_events(f, c, EPOLLIN | EPOLLRDHUP);
    }
    return 0;
}

/* Appends one chunk holding 'data' to buf at *off. */
static void put_chunk(char *buf, size_t cap, size_t *off, const char *data, size_t len)
{
    int n = snprintf(buf + *off, cap - *off, "%zx\r\n%s\r\n", len, data);

    if (n > 0 && (size_t)n < cap - *off)
        *off += (size_t)n;
}

/* Sends token next_token, plus the terminal event when it is the last one. Returns 0, or -1
 * when the connection must go. */
static int send_token(struct floor_server *f, struct conn *c)
{
    char event[256], buf[512];
    size_t off = 0;
    int n;

    n = snprintf(event, sizeof(event),
                 "data: {\"id\":\"chatcmpl-floor\",\"object\":\"chat.completion.chunk\","
                 "\"created\":0,\"model\":\"bench\",\"choices\":[{\"index\":0,\"delta\":"
                 "{\"content\":\" tok%ld\"},\"finish_reason\":null}]}\n\n",
                 c->next_token);
    if (n < 0 || (size_t)n >= sizeof(event))
        return -1;
    put_chunk(buf, sizeof(buf), &off, event, (size_t)n);
    c->next_token++;
    if (c->next_token >= c->length) {
        put_chunk(buf, sizeof(buf), &off, "data: [DONE]\n\n", 14);
        n = snprintf(buf + off, sizeof(buf) - off, "0\r\n\r\n");
        if (n > 0)
            off += (size_t)n;
    }
    return conn_write(f, c, buf, off);
}

/* Value of header 'name' in the head, or NULL. Header names are case-insensitive (RFC 9110
 * section 5.1). */
static const char *find_header(const char *head, const char *name)
{
    size_t nlen = strlen(name);
    const char *line = strstr(head, "\r\n");

    /* bounded: the head is at most FLOOR_MAX_HEADER_BYTES */
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

static void start_stream(struct floor_server *f, struct conn *c)
{
    static const char reply[] = "HTTP/1.1 200 OK\r\n"
                                "Content-Type: text/event-stream\r\n"
                                "Transfer-Encoding: chunked\r\n\r\n";

    c->state = CONN_STREAMING;
    c->next_token = 0;
    /* ttft 0: the head and the first token leave together, then one token per period */
    if (conn_write(f, c, reply, sizeof(reply) - 1) != 0 || send_token(f, c) != 0) {
        conn_close(f, c);
        return;
    }
    if (c->next_token >= c->length) {
        f->streams_done++;
        c->state = CONN_HEADERS;
        return;
    }
    c->due_ns = now_ns() + FLOOR_PERIOD_NS;
    queue_push(f, c);
    arm_timer(f);
}

/* Parses a complete head; returns 0, or -1 on a malformed one. */
static int parse_head(struct conn *c, size_t head_end)
{
    const char *v;
    long long cl = 0;
    long len = FLOOR_DEFAULT_LENGTH;

    c->head[head_end] = '\0';
    v = find_header(c->head, "content-length");
    if (v) {
        cl = strtoll(v, NULL, 10);
        if (cl < 0)
            return -1;
    }
    v = find_header(c->head, "x-tailgate-length");
    if (v) {
        len = strtol(v, NULL, 10);
        if (len < 1 || len > FLOOR_MAX_LENGTH)
            return -1;
    }
    c->length = len;
    c->body_left = cl;
    return 0;
}

static void on_readable(struct floor_server *f, struct conn *c)
{
    char buf[4096];
    ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
    size_t used = 0;
    char *end;

    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
        f->peer_closed++;
        conn_close(f, c);
        return;
    }
    if (n < 0)
        return;
    if (c->state == CONN_HEADERS) {
        if (!c->head) {
            c->head = malloc(FLOOR_MAX_HEADER_BYTES + 1);
            if (!c->head) {
                conn_close(f, c);
                return;
            }
        }
        used = (size_t)n;
        if (c->head_len + used > FLOOR_MAX_HEADER_BYTES)
            used = FLOOR_MAX_HEADER_BYTES - c->head_len;
        memcpy(c->head + c->head_len, buf, used);
        c->head_len += used;
        c->head[c->head_len] = '\0';
        end = strstr(c->head, "\r\n\r\n");
        if (!end) {
            if (c->head_len == FLOOR_MAX_HEADER_BYTES) {
                f->bad_requests++;
                conn_close(f, c);
            }
            return;
        }
        if (parse_head(c, (size_t)(end - c->head) + 2) != 0) {
            f->bad_requests++;
            conn_close(f, c);
            return;
        }
        /* bytes of this read past the head belong to the body */
        used = (size_t)(end + 4 - c->head) - (c->head_len - used);
        free(c->head);
        c->head = NULL;
        c->head_len = 0;
        c->state = CONN_BODY;
    }
    if (c->state == CONN_BODY) {
        long long rest = (long long)((size_t)n - used);

        c->body_left -= rest < c->body_left ? rest : c->body_left;
        if (c->body_left == 0)
            start_stream(f, c);
    }
    /* while streaming, anything the peer sends is ignored; only its EOF matters */
}

static void on_accept(struct floor_server *f)
{
    int i;

    for (i = 0; i < FLOOR_ACCEPT_BATCH; i++) {
        int fd = accept4(f->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        struct epoll_event ev;
        struct conn *c;
        int one = 1;

        if (fd < 0)
            return;
        c = calloc(1, sizeof(*c));
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        c->state = CONN_HEADERS;
        c->all_next = f->all;
        if (f->all)
            f->all->all_prev = c;
        f->all = c;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        ev.events = EPOLLIN | EPOLLRDHUP;
        ev.data.ptr = c;
        if (epoll_ctl(f->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            conn_close(f, c);
            continue;
        }
        f->accepted++;
    }
}

static void on_timer(struct floor_server *f)
{
    uint64_t expirations;
    long long now = now_ns();
    size_t budget = f->queued;
    struct conn *c;

    if (read(f->tfd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
        return;
    f->armed_ns = 0;
    /* bounded by the queue length at entry: a stream more than one period late is served
     * again on the next wake rather than spun on here */
    while (budget-- > 0 && f->head && f->head->due_ns <= now) {
        c = f->head;
        queue_remove(f, c);
        f->tokens++;
        if (now - c->due_ns > 2000000LL)
            f->late_2ms++;
        if (now - c->due_ns > 10000000LL)
            f->late_10ms++;
        if (now - c->due_ns > f->late_max_ns)
            f->late_max_ns = now - c->due_ns;
        if (send_token(f, c) != 0) {
            conn_close(f, c);
            continue;
        }
        if (c->next_token >= c->length) {
            f->streams_done++;
            c->state = CONN_HEADERS;
            continue;
        }
        /* absolute schedule: lateness of one token does not delay the next */
        c->due_ns += FLOOR_PERIOD_NS;
        queue_push(f, c);
    }
    arm_timer(f);
}

static int floor_listen(struct floor_server *f)
{
    struct sockaddr_in sa;
    socklen_t salen = sizeof(sa);
    struct epoll_event ev;
    sigset_t mask;
    int one = 1;

    f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (f->lfd < 0) {
        perror("socket");
        return -1;
    }
    setsockopt(f->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    if (bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        perror("bind");
        return -1;
    }
    if (listen(f->lfd, FLOOR_BACKLOG) != 0) {
        perror("listen");
        return -1;
    }
    if (getsockname(f->lfd, (struct sockaddr *)&sa, &salen) != 0) {
        perror("getsockname");
        return -1;
    }
    f->epfd = epoll_create1(EPOLL_CLOEXEC);
    f->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0) {
        perror("sigprocmask");
        return -1;
    }
    f->sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (f->epfd < 0 || f->tfd < 0 || f->sfd < 0) {
        perror("epoll_create1/timerfd_create/signalfd");
        return -1;
    }
    /* the three non-connection fds are told apart by the address of their field */
    ev.events = EPOLLIN;
    ev.data.ptr = &f->lfd;
    if (epoll_ctl(f->epfd, EPOLL_CTL_ADD, f->lfd, &ev) != 0)
        return -1;
    ev.data.ptr = &f->tfd;
    if (epoll_ctl(f->epfd, EPOLL_CTL_ADD, f->tfd, &ev) != 0)
        return -1;
    ev.data.ptr = &f->sfd;
    if (epoll_ctl(f->epfd, EPOLL_CTL_ADD, f->sfd, &ev) != 0)
        return -1;
    printf("http://127.0.0.1:%d\n", ntohs(sa.sin_port));
    fflush(stdout);
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

int main(void)
{
    struct floor_server f;
    struct epoll_event events[FLOOR_MAX_EVENTS];
    int running = 1;

    memset(&f, 0, sizeof(f));
    raise_nofile();
    if (floor_listen(&f) != 0)
        return 1;
    while (running) {
        int i, n = epoll_wait(f.epfd, events, FLOOR_MAX_EVENTS, -1);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("epoll_wait");
            return 1;
        }
        for (i = 0; i < n; i++) {
            void *p = events[i].data.ptr;
            struct conn *c = p;

            if (p == &f.lfd) {
                on_accept(&f);
            } else if (p == &f.tfd) {
                on_timer(&f);
            } else if (p == &f.sfd) {
                running = 0;
            } else if (c->fd < 0) {
                continue; /* closed earlier in this batch */
            } else if (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
                /* EOF shows as a 0-byte read; on_readable closes the stream there */
                on_readable(&f, c);
            } else if (events[i].events & EPOLLOUT) {
                if (conn_flush(&f, c) != 0)
                    conn_close(&f, c);
            }
        }
        free_dead(&f);
    }
    while (f.all)
        conn_close(&f, f.all);
    free_dead(&f);
    close(f.sfd);
    close(f.tfd);
    close(f.lfd);
    close(f.epfd);
    fprintf(stderr,
            "floor: accepted=%" PRIu64 " done=%" PRIu64 " peer_closed=%" PRIu64
            " write_errors=%" PRIu64 " overflows=%" PRIu64 " bad_requests=%" PRIu64 "\n"
            "floor: timed_tokens=%" PRIu64 " late_over_2ms=%" PRIu64 " late_over_10ms=%" PRIu64
            " late_max_ms=%.3f\n",
            f.accepted, f.streams_done, f.peer_closed, f.write_errors, f.overflows,
            f.bad_requests, f.tokens, f.late_2ms, f.late_10ms, f.late_max_ns / 1e6);
    return 0;
}
