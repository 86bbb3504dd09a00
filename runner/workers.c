/* Worker processes for a scenario's chaos client (workers.h): the fork, each worker's own loop
 * and pipe of JSON lines, and the runner's side that reads, parses and reaps them. */
#include "workers.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "shard.h"

#define WORKER_FD 3 /* the pipe's write end in a worker; every other inherited fd is closed */

struct workers;

struct worker {
    struct workers *ws;
    uint32_t index;
    pid_t pid; /* 0 once reaped */
    struct bufferevent *bev;
    int ended; /* its pipe reached EOF (or failed) and it was reaped */
};

struct workers {
    struct worker w[WORKERS_MAX];
    uint32_t n, live;
    void (*on_record)(void *arg, const struct chaos_record *r);
    void *record_arg;
    void (*on_done)(void *arg);
    void *done_arg;
    int done_called;
    char error[256]; /* the first failure */
};

int workers_parse(const char *text, uint32_t *out, char *err, size_t errlen)
{
    if (strcmp(text, "auto") == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        *out = n < 1 ? 1 : n > WORKERS_MAX ? WORKERS_MAX : (uint32_t)n;
        return 0;
    }
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end || errno || v < 1 || v > WORKERS_MAX) {
        snprintf(err, errlen,
                 "--workers: expected a number of worker processes, 1 to %d, or "
                 "'auto' (one per online CPU), got '%.64s'",
                 WORKERS_MAX, text);
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

/* ---- a worker ---- */

struct child {
    struct event_base *base;
    int fd;
    int abort_after; /* tests: die after the first record */
    int failed;
};

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static void child_record_cb(void *arg, const struct chaos_record *rec)
{
    struct child *c = arg;
    cJSON *j = chaos_record_json(rec);
    cJSON *tr = j ? cJSON_AddArrayToObject(j, "trace_us") : NULL;
    for (uint32_t i = 0; tr && i < rec->ntrace; i++)
        cJSON_AddItemToArray(tr, cJSON_CreateNumber(rec->trace_us[i]));
    char *line = tr ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    /* a line is written whole or the worker fails: the runner never judges a partial record */
    if (line == NULL || write_all(c->fd, line, strlen(line)) != 0 || write_all(c->fd, "\n", 1)) {
        c->failed = 1;
        event_base_loopbreak(c->base);
    }
    free(line);
    if (c->abort_after)
        raise(SIGKILL); /* as a worker the OS killed mid-run */
}

static void child_done_cb(void *arg)
{
    struct child *c = arg;
    event_base_loopbreak(c->base);
}

static void child_say(int fd, const char *why)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "worker_error", why);
    char *line = cJSON_PrintUnformatted(j);
    if (line) {
        write_all(fd, line, strlen(line));
        write_all(fd, "\n", 1);
    }
    free(line);
    cJSON_Delete(j);
}

static void close_inherited(void)
{
    /* the runner's sockets (the proxies' connections, the mock's) must not stay open here: a
     * copy would hold a connection the runner closes, and its peer would never see the FIN */
    if (close_range(WORKER_FD + 1, ~0U, 0) == 0)
        return;
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536)
        max = 65536;
    for (int fd = WORKER_FD + 1; fd < max; fd++)
        close(fd);
}

static void worker_run(const struct chaos_config *base_cfg, uint32_t w, uint32_t n, int fd,
                       pid_t parent)
{
    signal(SIGINT, SIG_IGN); /* the runner decides, and kills its workers by PID */
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_IGN); /* a write to a closed pipe fails; the worker then exits 1 */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1);
    if (dup2(fd, WORKER_FD) < 0)
        _exit(1);
    close_inherited();
    fd = WORKER_FD;
    const char *ab = getenv(WORKERS_ABORT_ENV);
    struct child c = {.fd = fd, .abort_after = ab && ab[0] && (uint32_t)atoi(ab) == w};
    struct event_config *ec = event_config_new();
    if (ec)
        event_config_set_flag(ec, EVENT_BASE_FLAG_PRECISE_TIMER);
    c.base = ec ? event_base_new_with_config(ec) : NULL;
    event_config_free(ec);
    if (c.base == NULL) {
        child_say(fd, "event_base_new: out of memory");
        _exit(1);
    }
    struct chaos_config cfg = *base_cfg;
    uint32_t si = base_cfg->shard_count > 0 ? base_cfg->shard_index : 0;
    uint32_t sn = base_cfg->shard_count > 0 ? base_cfg->shard_count : 1;
    cfg.shard_index = si + sn * w;
    cfg.shard_count = sn * n;
    cfg.concurrency = shard_concurrency(base_cfg->concurrency, w, n);
    cfg.may_start = NULL;
    cfg.drop = NULL;
    cfg.on_record = child_record_cb;
    cfg.record_arg = &c;
    cfg.on_done = child_done_cb;
    cfg.done_arg = &c;
    char err[256];
    struct chaos_client *cl = chaos_client_new(c.base, &cfg, err, sizeof err);
    if (cl == NULL || chaos_client_start(cl, err, sizeof err) != 0) {
        child_say(fd, err);
        _exit(1);
    }
    event_base_dispatch(c.base);
    chaos_client_free(cl);
    event_base_free(c.base);
    /* _exit: the runner's stdio buffers, copied at the fork, are the runner's to flush */
    _exit(c.failed ? 1 : 0);
}

/* ---- the runner's side ---- */

static void fail(struct workers *ws, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct workers *ws, const char *fmt, ...)
{
    if (ws->error[0] == '\0') {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ws->error, sizeof ws->error, fmt, ap);
        va_end(ap);
    }
    if (!ws->done_called) {
        ws->done_called = 1;
        ws->on_done(ws->done_arg); /* the scenario cannot be judged: no point waiting on it */
    }
}

static void line_take(struct worker *wk, const char *line, size_t len)
{
    struct workers *ws = wk->ws;
    cJSON *j = cJSON_ParseWithLength(line, len);
    const cJSON *why = cJSON_GetObjectItemCaseSensitive(j, "worker_error");
    struct chaos_record rec;
    if (j == NULL) {
        fail(ws, "client worker %u sent a line that is not JSON", wk->index);
    } else if (cJSON_IsString(why)) {
        fail(ws, "client worker %u: %.200s", wk->index, why->valuestring);
    } else if (chaos_record_from_json(j, &rec) != 0) {
        free(rec.trace_us);
        fail(ws, "client worker %u sent a record the runner cannot read", wk->index);
    } else {
        ws->on_record(ws->record_arg, &rec);
        free(rec.trace_us);
    }
    cJSON_Delete(j);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    struct worker *wk = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    char *line;
    size_t len;
    while (!wk->ws->error[0] && (line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) != NULL) {
        line_take(wk, line, len);
        free(line);
    }
    if (evbuffer_get_length(in) > WORKERS_LINE_MAX_BYTES)
        fail(wk->ws, "client worker %u sent a line over %d bytes", wk->index,
             WORKERS_LINE_MAX_BYTES);
}

static void reap(struct worker *wk)
{
    int st;
    pid_t p;
    do
        p = waitpid(wk->pid, &st, 0);
    while (p < 0 && errno == EINTR);
    pid_t pid = wk->pid;
    wk->pid = 0;
    if (p != pid)
        fail(wk->ws, "client worker %u (pid %d): waitpid: %s", wk->index, (int)pid,
             strerror(errno));
    else if (WIFSIGNALED(st))
        fail(wk->ws, "client worker %u (pid %d) was killed by signal %d (%s)", wk->index, (int)pid,
             WTERMSIG(st), strsignal(WTERMSIG(st)));
    else if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
        fail(wk->ws, "client worker %u (pid %d) exited with status %d", wk->index, (int)pid,
             WEXITSTATUS(st));
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct worker *wk = arg;
    if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) || wk->ended)
        return;
    read_cb(bev, wk); /* whatever came with the EOF */
    if (evbuffer_get_length(bufferevent_get_input(bev)) > 0)
        fail(wk->ws, "client worker %u ended in the middle of a line (a torn record)", wk->index);
    bufferevent_disable(bev, EV_READ); /* freed in workers_free, not inside its own callback */
    wk->ended = 1;
    reap(wk); /* its pipe closed: it has exited, or is exiting */
    struct workers *ws = wk->ws;
    if (--ws->live == 0 && !ws->done_called) {
        ws->done_called = 1;
        ws->on_done(ws->done_arg);
    }
}

struct workers *workers_start(struct event_base *base, const struct chaos_config *cfg, uint32_t n,
                              char *err, size_t errlen)
{
    if (n < 1 || n > WORKERS_MAX) {
        snprintf(err, errlen, "workers: %u workers, expected 1 to %d", n, WORKERS_MAX);
        return NULL;
    }
    struct workers *ws = calloc(1, sizeof *ws);
    if (ws == NULL) {
        snprintf(err, errlen, "workers: out of memory");
        return NULL;
    }
    ws->on_record = cfg->on_record;
    ws->record_arg = cfg->record_arg;
    ws->on_done = cfg->on_done;
    ws->done_arg = cfg->done_arg;
    pid_t self = getpid();
    fflush(NULL); /* nothing buffered is copied into the workers */
    for (uint32_t w = 0; w < n; w++) {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) != 0) {
            snprintf(err, errlen, "pipe2: %s", strerror(errno));
            goto fail;
        }
        pid_t pid = fork();
        if (pid < 0) {
            snprintf(err, errlen, "fork: %s", strerror(errno));
            close(fds[0]);
            close(fds[1]);
            goto fail;
        }
        if (pid == 0) {
            close(fds[0]);
            worker_run(cfg, w, n, fds[1], self); /* does not return */
        }
        close(fds[1]);
        struct worker *wk = &ws->w[w];
        wk->ws = ws;
        wk->index = w;
        wk->pid = pid;
        ws->n++;
        ws->live++;
        evutil_make_socket_nonblocking(fds[0]);
        wk->bev = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
        if (wk->bev == NULL) {
            close(fds[0]);
            snprintf(err, errlen, "bufferevent_socket_new: out of memory");
            goto fail;
        }
        bufferevent_setcb(wk->bev, read_cb, NULL, event_cb, wk);
        if (bufferevent_enable(wk->bev, EV_READ) != 0) {
            snprintf(err, errlen, "bufferevent_enable: failed");
            goto fail;
        }
    }
    return ws;
fail:
    workers_free(ws);
    return NULL;
}

int workers_error(const struct workers *ws, char *why, size_t len)
{
    if (ws == NULL || ws->error[0] == '\0')
        return 0;
    snprintf(why, len, "%s", ws->error);
    return -1;
}

void workers_free(struct workers *ws)
{
    if (ws == NULL)
        return;
    for (uint32_t w = 0; w < ws->n; w++) {
        struct worker *wk = &ws->w[w];
        if (wk->pid > 0) {
            kill(wk->pid, SIGKILL);
            int st;
            while (waitpid(wk->pid, &st, 0) < 0 && errno == EINTR)
                ;
        }
        if (wk->bev)
            bufferevent_free(wk->bev);
    }
    free(ws);
}
