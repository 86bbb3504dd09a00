/* The chaos client. HTTP/1.1 runs on libcurl multi-socket on libevent (common/curlev, after
 * curl's hiperfifo example): curl tells us which sockets to watch and when to wake it; libevent
 * runs its actions. We open and close every socket ourselves (CURLOPT_OPENSOCKETFUNCTION and
 * CLOSESOCKETFUNCTION) so an abort can be a clean FIN, an RST, or nothing at all, exactly as the
 * action says. HTTP/2 runs on nghttp2 (h2pool.c), whose streams we reset ourselves: libcurl 7.88
 * holds a lone stream's RST_STREAM back until its connection's next frame (curl issue 17611),
 * which would make a gateway look slow to cancel when it is not. */
#include "client.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "action.h"
#include "body.h"
#include "clock.h"
#include "config.h"
#include "curlev.h"
#include "h2pool.h"
#include "plan.h"
#include "scanner.h"
#include "unframe.h"
#include "sockdrain.h"
#include "sockport.h"

#define CLIENT_HALF_IDLE_MS 2000   /* half_close: the longest wait between reads for the FIN */
#define CLIENT_HALF_MAX_MS 30000   /* half_close: the longest wait for the peer's FIN in all */
#define CLIENT_DRAIN_MAX (1 << 20) /* a close drains at most this much the kernel holds */
#define CLIENT_SUPERSEDE_WAIT_MS 2000 /* the old stream closes by then if its successor stalls */

/* What fire() asks of the write callback it was called from. */
enum fire_result {
    FIRE_GO_ON, /* keep the chunk */
    FIRE_FAIL,  /* fail the transfer: curl closes the socket through our hook */
    FIRE_PAUSE, /* stop reading; curl keeps the chunk, which nobody will ask for */
    FIRE_DISCARD, /* HTTP/2: take the chunk, count no more of it (the attempt ended or stopped
                   * reading) */
};

struct task;

struct xfer {
    struct chaos_client *c;
    struct task *task;        /* a request of an agent task, or NULL */
    CURL *easy;               /* HTTP/1.1, and cancel calls to another origin */
    struct h2stream *hs;      /* HTTP/2: the stream, until it ends */
    long h2_status;
    struct curl_slist *headers;
    char *body;
    struct chaos_record rec;
    const struct chaos_user *user;
    struct scanner sc;
    struct unframe *uf;       /* Bedrock streams: the event-stream framing around the text */
    size_t uf_skip;           /* bytes curl hands over again after a pause (already framed) */
    uint32_t *trace;          /* arrival times, grown as tokens arrive (CHAOS_TRACE_MAX at most) */
    uint32_t trace_cap;
    curl_socket_t fd;
    enum action_close teardown; /* what our close hook does to the socket */
    enum chaos_end abort_end; /* how the record ends when our abort closes it */
    int fired;                /* the action happened */
    int pause_pending;        /* background: pause on the next chunk */
    int removed;              /* taken out of the multi handle by us */
    int discard;              /* HTTP/2: gone from the user's view; what still comes is dropped */
    int is_cancel_call;       /* a stop_button cancel request, not a user */
    int is_follow_up;         /* a supersede replacement: holds no slot of its own for think */
    struct xfer *owner;       /* for a cancel call: the user request it belongs to */
    int cancel_outstanding;
    uint32_t retries_left;
    char idem_key[CHAOS_ID_MAX + 16];
    struct event *trigger_ev; /* ms trigger, background end, drop give-up */
    struct xfer *next;
};

/* An agent task: a user's several requests, left all at once (chaos_user.task_requests). */
struct task {
    struct chaos_client *c;
    const struct chaos_user *user;
    uint32_t index;
    int64_t trigger_at;
    char cid[CHAOS_ID_MAX];
    uint32_t started;   /* requests started so far */
    uint32_t live;      /* in flight */
    uint32_t pending;   /* a next request waits to start from the loop */
    uint64_t tokens;    /* delivered to all its requests */
    int fired;          /* the user acted */
    int holding;        /* fire_task is walking its requests: it frees the task after */
    struct event *ev;   /* the ms trigger; then the others' fire from a curl callback */
    struct event *next_ev; /* the next request's start, from the loop */
    struct chaos_record last; /* its last request's record, for the slot's think time */
    struct task *next;
};

/* half_close: a socket shut for writing, read and discarded until the peer's FIN. */
struct half_closed {
    struct chaos_client *c;
    evutil_socket_t fd;
    struct event *ev;
    uint64_t deadline_ns;
    struct half_closed *next;
};

/* A slot thinking between two user requests (closed model). */
struct think {
    struct chaos_client *c;
    struct event *ev;
    struct think *next;
};

struct chaos_client {
    struct event_base *base;
    struct chaos_config cfg;
    struct curlev *cv;       /* curl's multi handle on our loop */
    struct event *reap;      /* deferred work outside curl's callbacks */
    struct event *pace;      /* arrival-rate starts */
    struct event *ask;       /* may_start said not yet: ask again */
    uint64_t t_start_ns;
    struct xfer *xfers;      /* in flight */
    struct xfer *dead;       /* finished, freed by reap */
    struct half_closed *half_closed;
    struct think *thinking;
    struct task *tasks;
    uint32_t next_index;     /* next user request to start (its index in the whole run) */
    uint32_t in_flight;      /* user requests in flight (attempts and retry waits) */
    uint32_t pending_retries;
    uint32_t deferred;       /* deferred starts not yet run */
    int started, done_reported;
    struct chaos_stats stats;
    double weight_total;
    struct h2pool *h2;     /* HTTP/2: the connections users share */
};

struct retry {
    struct chaos_client *c;
    struct chaos_record rec; /* the attempt being retried */
    const struct chaos_user *user;
    uint32_t retries_left;
    char idem_key[CHAOS_ID_MAX + 16];
    struct event *ev;
};

static void reap_cb(evutil_socket_t fd, short what, void *arg);
static struct xfer *start_attempt(struct chaos_client *c, uint32_t index, const char *cid,
                                  uint32_t attempt, const struct chaos_user *user,
                                  int64_t trigger_at, uint32_t retries_left,
                                  const char *idem_key, int follow_up, struct task *task);
static void task_fire_others(struct task *t, struct xfer *from, int in_write);
static void task_member_done(struct xfer *x);
static void task_free(struct task *t);
static void release_superseded(struct xfer *k);
static int watch_terminal(struct xfer *x);
static void maybe_done(struct chaos_client *c);
static void pace_cb(evutil_socket_t fd, short what, void *arg);
static void start_cancel_call(struct xfer *x);
static void finish_xfer(struct xfer *x, enum chaos_end end, long status, const char *error);
static void slot_free(struct chaos_client *c, const struct chaos_record *rec);
static void think_free(struct think *t);

/* ---- lifecycle -------------------------------------------------------------------------- */

static void transfer_done_cb(void *arg, CURL *easy, CURLcode rc);
static void curl_pass_cb(void *arg);

struct chaos_client *chaos_client_new(struct event_base *base, const struct chaos_config *cfg,
                                      char *err, size_t errlen)
{
    if (chaos_config_validate(cfg, err, errlen) != 0)
        return NULL;
    struct chaos_client *c = calloc(1, sizeof *c);
    if (c == NULL) {
        snprintf(err, errlen, "chaos client: out of memory");
        return NULL;
    }
    c->base = base;
    c->cfg = *cfg;
    if (c->cfg.timeout_ms == 0)
        c->cfg.timeout_ms = 60000;
    if (c->cfg.id_prefix == NULL)
        c->cfg.id_prefix = "tg";
    /* a shard starts the indices i with i % count == index, each with the plan (seed, i) it
     * has in the whole run */
    c->next_index = c->cfg.shard_count > 1 ? c->cfg.shard_index : 0;
    const struct curlev_callbacks cbs = {
        .done_cb = transfer_done_cb, .pass_cb = curl_pass_cb, .arg = c};
    c->cv = curlev_new(base, &cbs, err, errlen);
    if (c->cv == NULL)
        goto fail;
    if (c->cfg.http != CHAOS_HTTP_1_1) {
        /* streams share a connection up to the limit, past it another opens, as tabs on one
         * origin share the browser's (CLIENTS.md) */
        if (c->cfg.users_per_connection == 0)
            c->cfg.users_per_connection = CHAOS_USERS_PER_CONNECTION;
        const struct h2pool_config hc = {
            .url = c->cfg.req.url,
            .ca_file = c->cfg.req.ca_file,
            .tls_insecure = c->cfg.req.tls_insecure,
            .streams_per_conn = c->cfg.users_per_connection,
            .rcvbuf = c->cfg.rcvbuf,
            .timeout_ms = c->cfg.timeout_ms,
        };
        c->h2 = h2pool_new(base, &hc, err, errlen);
        if (c->h2 == NULL)
            goto fail;
    }
    c->reap = event_new(base, -1, 0, reap_cb, c);
    c->pace = evtimer_new(base, pace_cb, c);
    c->ask = evtimer_new(base, pace_cb, c);
    if (c->reap == NULL || c->pace == NULL || c->ask == NULL) {
        snprintf(err, errlen, "chaos client: out of memory");
        goto fail;
    }
    return c;
fail:
    chaos_client_free(c);
    return NULL;
}

static void xfer_free(struct xfer *x)
{
    if (x == NULL)
        return;
    if (x->easy)
        curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    free(x->body);
    scanner_cleanup(&x->sc);
    if (x->uf)
        unframe_cleanup(x->uf);
    free(x->uf);
    free(x->trace);
    if (x->trigger_ev)
        event_free(x->trigger_ev);
    free(x);
}

static void half_closed_free(struct half_closed *h)
{
    if (h->ev)
        event_free(h->ev);
    if (h->fd >= 0)
        close(h->fd);
    free(h);
}

static void think_free(struct think *t)
{
    if (t->ev)
        event_free(t->ev);
    free(t);
}

void chaos_client_free(struct chaos_client *c)
{
    if (c == NULL)
        return;
    h2pool_free(c->h2); /* every stream, without a callback */
    struct xfer *lists[2] = {c->xfers, c->dead};
    for (int i = 0; i < 2; i++) {
        struct xfer *x = lists[i];
        while (x) {
            struct xfer *n = x->next;
            if (x->easy && !x->removed)
                curlev_remove(c->cv, x->easy);
            xfer_free(x);
            x = n;
        }
    }
    while (c->half_closed) {
        struct half_closed *n = c->half_closed->next;
        half_closed_free(c->half_closed);
        c->half_closed = n;
    }
    while (c->thinking) {
        struct think *n = c->thinking->next;
        think_free(c->thinking);
        c->thinking = n;
    }
    while (c->tasks) {
        struct task *n = c->tasks->next;
        task_free(c->tasks);
        c->tasks = n;
    }
    curlev_free(c->cv);
    if (c->reap)
        event_free(c->reap);
    if (c->pace)
        event_free(c->pace);
    if (c->ask)
        event_free(c->ask);
    free(c);
}

struct chaos_stats chaos_client_stats(const struct chaos_client *c)
{
    return c->stats;
}

/* ---- sockets we own ---------------------------------------------------------------------- */

static curl_socket_t open_socket_cb(void *arg, curlsocktype purpose, struct curl_sockaddr *addr)
{
    struct xfer *x = arg;
    (void)purpose;
    curl_socket_t fd = socket(addr->family, addr->socktype, addr->protocol);
    if (fd < 0)
        return CURL_SOCKET_BAD;
    if (x->c->cfg.rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &x->c->cfg.rcvbuf, sizeof x->c->cfg.rcvbuf);
    x->fd = fd;
    return fd;
}

/* The local port under the attempt: its socket's, or over HTTP/2 its connection's. */
static int xfer_local_port(const struct xfer *x)
{
    return x->easy ? sock_local_port(x->fd) : h2stream_local_port(x->hs);
}

static void half_closed_cb(evutil_socket_t fd, short what, void *arg)
{
    struct half_closed *h = arg;
    char buf[4096];
    if ((what & EV_READ) && clock_now_ns() < h->deadline_ns) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
            return; /* discard what the peer still sends, until its FIN */
    }
    struct chaos_client *c = h->c;
    struct half_closed **pp = &c->half_closed;
    while (*pp && *pp != h)
        pp = &(*pp)->next;
    if (*pp)
        *pp = h->next;
    half_closed_free(h);
    maybe_done(c);
}

/* A FIN the way a browser sends it: what the kernel already holds is read and dropped (unread
 * bytes at close() would make it an RST), then close(). Bytes arriving later draw an RST. */
static int close_with_fin(struct xfer *x, curl_socket_t fd)
{
    sockdrain(fd, CLIENT_DRAIN_MAX);
    x->rec.t_abort_ns = clock_now_ns();
    return close(fd);
}

/* half_close: FIN by shutdown(SHUT_WR); the socket is ours now, read until the peer's FIN. */
static int close_half(struct xfer *x, curl_socket_t fd)
{
    struct chaos_client *c = x->c;
    x->rec.t_abort_ns = clock_now_ns();
    shutdown(fd, SHUT_WR);
    struct half_closed *h = calloc(1, sizeof *h);
    if (h == NULL)
        return close(fd);
    h->c = c;
    h->fd = fd;
    h->deadline_ns = x->rec.t_abort_ns + (uint64_t)CLIENT_HALF_MAX_MS * 1000000;
    h->ev = event_new(c->base, fd, EV_READ | EV_PERSIST, half_closed_cb, h);
    /* with EV_PERSIST the timeout restarts on every read: an idle bound */
    struct timeval tv = {CLIENT_HALF_IDLE_MS / 1000, (CLIENT_HALF_IDLE_MS % 1000) * 1000};
    if (h->ev == NULL || event_add(h->ev, &tv) != 0) {
        half_closed_free(h);
        return 0;
    }
    h->next = c->half_closed;
    c->half_closed = h;
    return 0;
}

/* curl closes every socket through here; the action's row says how (chaos/action.c). */
static int close_socket_cb(void *arg, curl_socket_t fd)
{
    struct xfer *x = arg;
    if (x->fd == fd)
        x->fd = -1;
    const struct action_row *row = x->fired ? action_row(x->user->action) : NULL;
    switch (x->teardown) {
    case ACTION_CLOSE_NONE:
        break;
    case ACTION_CLOSE_FIN:
        return close_with_fin(x, fd);
    case ACTION_CLOSE_HALF:
        return close_half(x, fd);
    case ACTION_CLOSE_RST:
    case ACTION_CLOSE_SILENT: {
        /* SO_LINGER 0: close() sends an RST at once. Behind a blackhole it goes nowhere. */
        struct linger lg = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        if (row && row->close_is_abort && row->teardown == x->teardown)
            x->rec.t_abort_ns = clock_now_ns();
        break;
    }
    }
    return close(fd);
}

/* ---- actions ------------------------------------------------------------------------------ */

static void schedule_reap(struct chaos_client *c)
{
    event_active(c->reap, EV_TIMEOUT, 0);
}


/* HTTP/2: a FIN-kind close is this stream's RST_STREAM(CANCEL), which leaves the connection
 * to the others; an RST-kind one resets the whole connection, as a killed browser does, and
 * every stream on it ends (this one in h2_end_cb, as its action says). */
static void abort_h2(struct xfer *x, enum action_close how, enum chaos_end end)
{
    const struct action_row *row = x->fired ? action_row(x->user->action) : NULL;
    int is_abort = row && row->close_is_abort && row->teardown == how;
    if (x->hs == NULL)
        return; /* ended already */
    /* t_abort is the instant before the frame or the reset reaches the kernel, as a close()
     * over HTTP/1.1 */
    if (is_abort)
        x->rec.t_abort_ns = clock_now_ns();
    if (how == ACTION_CLOSE_RST || how == ACTION_CLOSE_SILENT) {
        x->teardown = how;
        x->abort_end = end;
        h2stream_kill_connection(x->hs);
        return;
    }
    x->rec.local_port = h2stream_local_port(x->hs);
    h2stream_cancel(x->hs);
    x->hs = NULL;
    finish_xfer(x, end, x->h2_status, NULL);
}

/* Takes the attempt out and ends its record; for curl, safe outside its callbacks only. */
static void abort_now(struct xfer *x, enum action_close how, enum chaos_end end)
{
    if (x->easy == NULL) {
        abort_h2(x, how, end);
        return;
    }
    x->teardown = how;
    x->removed = 1;
    curlev_remove(x->c->cv, x->easy); /* closes the socket through our callback */
    long status = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    finish_xfer(x, end, status, NULL);
}

static void trigger_ev_cb(evutil_socket_t fd, short what, void *arg);

static void arm(struct xfer *x, uint32_t ms)
{
    /* libevent measures timeouts from the loop's cached time, which can be a little stale */
    event_base_update_cache_time(x->c->base);
    struct timeval tv = {ms / 1000, (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(x->trigger_ev, &tv);
}

/* A request started from the loop, never from inside curl's callbacks. */
struct deferred {
    struct chaos_client *c;
    struct xfer *owner; /* cancel call: held by cancel_outstanding until it answers */
    int cancel;
    uint32_t index;
    char cid[CHAOS_ID_MAX];
};

static void deferred_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct deferred *d = arg;
    struct chaos_client *c = d->c;
    c->deferred--;
    if (d->cancel) {
        start_cancel_call(d->owner);
    } else {
        static const struct chaos_user follow = {.action = CHAOS_COMPLETE, .weight = 1};
        c->in_flight++;
        if (start_attempt(c, d->index, d->cid, 1, &follow, -1, 0, NULL, 1, NULL) == NULL) {
            c->in_flight--;
            c->stats.errors++;
        }
    }
    free(d);
    maybe_done(c);
}

static void defer_start(struct xfer *x, int cancel)
{
    struct chaos_client *c = x->c;
    struct deferred *d = calloc(1, sizeof *d);
    struct timeval now = {0, 0};
    if (d) {
        d->c = c;
        d->cancel = cancel;
        d->owner = x;
        d->index = x->rec.index;
        snprintf(d->cid, sizeof d->cid, "%s", x->rec.superseded_by);
        if (cancel)
            x->cancel_outstanding = 1;
        if (event_base_once(c->base, -1, EV_TIMEOUT, deferred_cb, d, &now) == 0) {
            c->deferred++;
            return;
        }
        free(d);
    }
    if (cancel) {
        x->cancel_outstanding = 0;
        x->rec.cancel_status = -1;
    }
}

/* The action, at its trigger; what it does to the socket is its row in chaos/action.c.
 * in_write: called from inside curl's write callback, where the transfer cannot be removed. */
static enum fire_result fire(struct xfer *x, int in_write)
{
    struct chaos_client *c = x->c;
    const struct chaos_user *u = x->user;
    const struct action_row *row = action_row(u->action);
    x->fired = 1;
    x->rec.t_abort_ns = clock_now_ns(); /* a close that is the abort stamps it again */
    if (x->task && !x->task->fired) {
        x->task->fired = 1; /* the whole task goes with this one */
        task_fire_others(x->task, x, in_write);
    }
    x->rec.delivered_tokens = x->sc.tokens;
    x->abort_end = row->end;
    c->stats.aborted++;
    if (u->action == CHAOS_STOP_BUTTON && u->cancel_call)
        defer_start(x, 1);
    switch (u->action) {
    case CHAOS_COMPLETE:
        return FIRE_GO_ON;
    case CHAOS_TAB_CLOSE:
    case CHAOS_RESET:
    case CHAOS_HALF_CLOSE:
    case CHAOS_STOP_BUTTON:
        if (in_write && x->easy) {
            x->teardown = row->teardown;
            return FIRE_FAIL;
        }
        abort_now(x, row->teardown, row->end); /* HTTP/2: from its data callback too */
        return in_write ? FIRE_DISCARD : FIRE_GO_ON;
    case CHAOS_SUPERSEDE:
        /* The replacement goes out first, as an edit-resend or a barge-in does: this stream
         * stops being read now and is closed when the replacement's request is about to be
         * sent (prereq_cb), or at the bound if it never gets that far. */
        snprintf(x->rec.superseded_by, sizeof x->rec.superseded_by, "%.80s-s%u",
                 x->rec.correlation_id, x->rec.attempt);
        defer_start(x, 0);
        arm(x, CLIENT_SUPERSEDE_WAIT_MS);
        if (x->easy == NULL) {
            /* HTTP/2: read and dropped until the reset, so the stream's window stays open as
             * a browser's does for a tab it is about to cancel */
            x->discard = 1;
            return in_write ? FIRE_DISCARD : FIRE_GO_ON;
        }
        if (in_write)
            return FIRE_PAUSE;
        curl_easy_pause(x->easy, CURLPAUSE_RECV);
        return FIRE_GO_ON;
    case CHAOS_NETWORK_DROP: {
        char err[128];
        if (c->cfg.drop(c->cfg.drop_arg, xfer_local_port(x), u->drop_rst_after_ms, err,
                        sizeof err) != 0) {
            c->stats.drops_failed++;
            snprintf(x->rec.error, sizeof x->rec.error, "drop: %.100s", err);
        }
        /* the user waits on a dead connection, then gives up on it */
        arm(x, u->drop_give_up_ms ? u->drop_give_up_ms : 2000);
        return FIRE_GO_ON;
    }
    case CHAOS_BACKGROUND:
        if (x->easy == NULL)
            h2stream_pause(x->hs, 1); /* its window fills; the other streams flow */
        else if (in_write)
            x->pause_pending = 1; /* pausing happens on the next chunk, which curl then keeps */
        else
            curl_easy_pause(x->easy, CURLPAUSE_RECV);
        arm(x, u->background_ms);
        return FIRE_GO_ON;
    case CHAOS_ACTION_COUNT:
        break;
    }
    return FIRE_GO_ON;
}

/* Timer: an ms trigger, the end of a background stall, a drop's give-up, or the close of a
 * superseded stream. */
static void trigger_ev_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct xfer *x = arg;
    const struct chaos_user *u = x->user;
    const struct action_row *row = action_row(u->action);
    if (!x->fired) {
        fire(x, 0);
        return;
    }
    if (u->action == CHAOS_NETWORK_DROP || u->action == CHAOS_SUPERSEDE) {
        abort_now(x, row->teardown, row->end);
    } else if (u->action == CHAOS_BACKGROUND && u->background_kill) {
        abort_now(x, row->kill, row->kill_end);
    } else if (u->action == CHAOS_BACKGROUND && x->easy == NULL) {
        h2stream_pause(x->hs, 0);
    } else if (u->action == CHAOS_BACKGROUND) {
        x->pause_pending = 0;
        curl_easy_pause(x->easy, CURLPAUSE_CONT);
        curlev_check(x->c->cv);
    }
}

/* The replacement 'k' is about to send its request (or ended without): close the stream it
 * supersedes now, from the loop. Linear scan: once per replacement, over requests in flight. */
static void release_superseded(struct xfer *k)
{
    for (struct xfer *x = k->c->xfers; x; x = x->next) {
        if (x == k || !x->fired || x->user->action != CHAOS_SUPERSEDE ||
            strcmp(x->rec.superseded_by, k->rec.correlation_id) != 0)
            continue;
        struct timeval now = {0, 0};
        evtimer_del(x->trigger_ev);
        evtimer_add(x->trigger_ev, &now);
    }
}

/* curl: the connection is up and the request goes out as this returns. */
static int prereq_cb(void *arg, char *primary_ip, char *local_ip, int primary_port,
                     int local_port_)
{
    (void)primary_ip;
    (void)local_ip;
    (void)primary_port;
    (void)local_port_;
    release_superseded(arg);
    return CURL_PREREQFUNC_OK;
}

/* Notes the arrival of tokens counted since the last call (one time per chunk). */
static void trace(struct xfer *x)
{
    uint32_t us = (uint32_t)((clock_now_ns() - x->rec.t_send_ns) / 1000);
    while (x->rec.ntrace < x->sc.tokens && x->rec.ntrace < CHAOS_TRACE_MAX) {
        if (x->rec.ntrace == x->trace_cap) {
            /* sized to what arrives: a record costs 4 bytes per token it traces */
            uint32_t cap = x->trace_cap ? x->trace_cap * 2 : 64;
            if (cap > CHAOS_TRACE_MAX)
                cap = CHAOS_TRACE_MAX;
            uint32_t *tmp = realloc(x->trace, cap * sizeof *tmp);
            if (tmp == NULL)
                return; /* the trace stops short; ntrace says how far it got */
            x->trace = tmp;
            x->trace_cap = cap;
            x->rec.trace_us = tmp;
        }
        x->rec.trace_us[x->rec.ntrace++] = us;
    }
}

static size_t take(struct xfer *x, char *data, size_t len);
static size_t take_framed(struct xfer *x, char *data, size_t len);

static size_t write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * nmemb;
    if (x->is_cancel_call)
        return len;
    if (x->discard || x->teardown == ACTION_CLOSE_RST || x->teardown == ACTION_CLOSE_SILENT)
        return len; /* HTTP/2: read by nobody (a stream about to be reset, a dead connection) */
    if (x->pause_pending) {
        x->pause_pending = 0;
        return CURL_WRITEFUNC_PAUSE; /* curl keeps this chunk and hands it over on resume */
    }
    if (x->uf)
        return take_framed(x, data, len);
    uint64_t before = x->sc.tokens;
    size_t taken = take(x, data, len);
    if (x->sc.tokens > before)
        x->rec.arrivals++;
    return taken;
}

/* A Bedrock stream's chunk: each whole event-stream message's text goes to take() as an SSE
 * chunk would, so a trigger acts within the message that brings the K-th token. A pause keeps
 * the messages not yet taken in the decoder; curl then hands this chunk over again, and those
 * bytes are skipped. Broken framing counts nothing more (the stream reads on to its end). */
static size_t take_framed(struct xfer *x, char *data, size_t len)
{
    size_t skip = x->uf_skip < len ? x->uf_skip : len;
    x->uf_skip -= skip;
    if (len > skip && unframe_feed(x->uf, data + skip, len - skip) != 0)
        return len;
    uint64_t before = x->sc.tokens;
    const char *t;
    size_t tl, ret = len;
    while (ret == len && unframe_next(x->uf, &t, &tl) == 1) {
        if (tl == 0)
            continue;
        size_t r = take(x, (char *)t, tl);
        if (r == 0) {
            ret = 0; /* the action failed the transfer */
        } else if (r == CURL_WRITEFUNC_PAUSE) {
            x->uf_skip = len;
            ret = CURL_WRITEFUNC_PAUSE;
        }
    }
    if (x->sc.tokens > before)
        x->rec.arrivals++;
    return ret;
}

/* What write_cb returns for an action's wish. */
static size_t fire_return(enum fire_result f, size_t len)
{
    /* FIRE_FAIL: curl fails the transfer and closes the socket through our hook */
    return f == FIRE_FAIL ? 0 : f == FIRE_PAUSE ? CURL_WRITEFUNC_PAUSE : len; /* DISCARD: len */
}

/* Counts the chunk's tokens, acting at the trigger. Returns what write_cb returns. */
/* Counts a chunk's tokens, for the attempt and its task. */
static void feed(struct xfer *x, const char *data, size_t len)
{
    uint64_t before = x->sc.tokens;
    scanner_feed(&x->sc, data, len);
    if (x->task)
        x->task->tokens += x->sc.tokens - before;
    trace(x);
}

static size_t take(struct xfer *x, char *data, size_t len)
{
    /* a task's requests share its trigger: whoever reaches it acts for all */
    int acted = x->task ? x->task->fired : x->fired;
    if (x->task && acted && !x->fired)
        return len; /* its task was left: what comes before its own close is read by nobody */
    if (x->rec.t_first_byte_ns == 0) {
        x->rec.t_first_byte_ns = clock_now_ns();
        x->rec.local_port = xfer_local_port(x);
        if (!acted && x->user->action != CHAOS_COMPLETE &&
            x->user->trigger == CHAOS_AT_FIRST_BYTE) {
            enum fire_result f = fire(x, 1);
            if (f != FIRE_GO_ON)
                return fire_return(f, len);
            acted = 1;
        }
    }
    if (!acted && x->user->action != CHAOS_COMPLETE && x->user->trigger == CHAOS_AT_TOKENS) {
        uint64_t want = (uint64_t)x->rec.trigger_at;
        uint64_t have = x->task ? x->task->tokens : x->sc.tokens;
        uint64_t need = want > have ? want - have : 0;
        size_t off = scanner_offset_of(&x->sc, data, len, need);
        if (off <= len) {
            /* count exactly up to the K-th token, act there */
            feed(x, data, off);
            enum fire_result f = fire(x, 1);
            if (f != FIRE_GO_ON)
                return fire_return(f, len);
            feed(x, data + off, len - off);
            return len;
        }
    }
    feed(x, data, len);
    return len;
}

/* ---- attempts ------------------------------------------------------------------------------ */

static void xfer_unlink(struct xfer *x)
{
    struct xfer **pp = &x->c->xfers;
    while (*pp && *pp != x)
        pp = &(*pp)->next;
    if (*pp)
        *pp = x->next;
    x->next = NULL;
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct retry *r = arg;
    struct chaos_client *c = r->c;
    c->pending_retries--;
    c->stats.retries++;
    char key[CHAOS_ID_MAX + 16];
    if (r->user->retry_new_key)
        snprintf(key, sizeof key, "%.90s-k%u", r->rec.correlation_id, r->rec.attempt + 1);
    else
        snprintf(key, sizeof key, "%s", r->idem_key);
    /* the retried request is the same request, and this time the user waits for it */
    static const struct chaos_user waiter = {.action = CHAOS_COMPLETE, .weight = 1};
    if (start_attempt(c, r->rec.index, r->rec.correlation_id, r->rec.attempt + 1, &waiter, -1,
                      r->retries_left - 1, key, 0, NULL) == NULL)
        c->in_flight--;
    event_free(r->ev);
    free(r);
    maybe_done(c);
}

static int schedule_retry(struct xfer *x)
{
    struct chaos_client *c = x->c;
    struct retry *r = calloc(1, sizeof *r);
    if (r == NULL)
        return -1;
    r->c = c;
    r->rec = x->rec;
    r->rec.trace_us = NULL; /* the attempt's trace stays with it */
    r->rec.ntrace = 0;
    r->user = x->user;
    r->retries_left = x->retries_left;
    snprintf(r->idem_key, sizeof r->idem_key, "%s", x->idem_key);
    r->ev = evtimer_new(c->base, retry_cb, r);
    if (r->ev == NULL) {
        free(r);
        return -1;
    }
    uint32_t ms = x->user->retry_delay_ms;
    struct timeval tv = {ms / 1000, (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(r->ev, &tv);
    c->pending_retries++;
    return 0;
}

static void finish_xfer(struct xfer *x, enum chaos_end end, long status, const char *error)
{
    struct chaos_client *c = x->c;
    if (x->trigger_ev)
        evtimer_del(x->trigger_ev);
    if (!x->is_cancel_call && x->rec.t_end_ns == 0) {
        scanner_finish(&x->sc);
        x->rec.t_end_ns = clock_now_ns();
        x->rec.end = end;
        x->rec.http_status = status;
        if (error)
            snprintf(x->rec.error, sizeof x->rec.error, "%s", error);
        x->rec.total_tokens = x->sc.tokens;
        if (!x->rec.t_abort_ns)
            x->rec.delivered_tokens = x->sc.tokens;
        x->rec.gaps = x->sc.gaps;
        x->rec.duplicates = x->sc.dups;
        x->rec.reorders = x->sc.reorders;
        if (x->sc.nmarkers)
            x->rec.terminal_seen = x->sc.marker_seen;
        long port = 0;
        if (x->rec.local_port == 0 && x->easy &&
            curl_easy_getinfo(x->easy, CURLINFO_LOCAL_PORT, &port) == CURLE_OK)
            x->rec.local_port = (int)port;
    }
    xfer_unlink(x);
    if (x->is_follow_up)
        release_superseded(x); /* it ended before its request went out */
    if (x->cancel_outstanding)
        return; /* held until its cancel call answers; the record goes out then */
    x->next = c->dead;
    c->dead = x;
    schedule_reap(c);
    if (x->is_cancel_call) {
        struct xfer *owner = x->owner;
        if (owner) {
            owner->rec.cancel_status = status ? status : -1;
            owner->cancel_outstanding = 0;
            if (owner->rec.t_end_ns)
                finish_xfer(owner, owner->rec.end, owner->rec.http_status, NULL);
        }
        return;
    }
    c->stats.finished++;
    if (end == CHAOS_END_HTTP_ERROR)
        c->stats.http_errors++;
    else if (end == CHAOS_END_ERROR)
        c->stats.errors++;
    else if (end == CHAOS_END_TIMEOUT)
        c->stats.timeouts++;
    if (c->cfg.on_record)
        c->cfg.on_record(c->cfg.record_arg, &x->rec);
    int dropped = end == CHAOS_END_DROP || end == CHAOS_END_RST || end == CHAOS_END_FIN ||
                  end == CHAOS_END_ERROR || end == CHAOS_END_TIMEOUT;
    if (x->retries_left > 0 && dropped && schedule_retry(x) == 0)
        return; /* still in flight: its retry carries it */
    if (x->task) {
        task_member_done(x); /* the task holds the slot until its last request ends */
        return;
    }
    slot_free(c, x->is_follow_up ? NULL : &x->rec);
}

static void think_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct think *t = arg;
    struct chaos_client *c = t->c;
    struct think **pp = &c->thinking;
    while (*pp && *pp != t)
        pp = &(*pp)->next;
    if (*pp)
        *pp = t->next;
    think_free(t);
    c->in_flight--;
    maybe_done(c);
}

/* A user request ended ('rec' NULL: a follow-up, which thinks not): in the closed model its
 * slot thinks for the drawn time before the next request may take it (not after the last). */
static void slot_free(struct chaos_client *c, const struct chaos_record *rec)
{
    uint32_t ms = 0;
    if (rec && c->cfg.rate_per_s <= 0 && c->cfg.think_ms.hi > 0 &&
        c->next_index < c->cfg.requests)
        ms = plan_think_draw(&c->cfg, rec->index);
    struct think *t = ms ? calloc(1, sizeof *t) : NULL;
    if (t) {
        t->c = c;
        t->ev = evtimer_new(c->base, think_cb, t);
        /* libevent measures timeouts from the loop's cached time, which can be a little stale */
        event_base_update_cache_time(c->base);
        struct timeval tv = {ms / 1000, (suseconds_t)(ms % 1000) * 1000};
        if (t->ev && evtimer_add(t->ev, &tv) == 0) {
            t->next = c->thinking;
            c->thinking = t;
            return; /* the slot stays taken until think_cb */
        }
        think_free(t);
    }
    c->in_flight--;
}

/* A transfer the server ended without error: complete, an HTTP error, or cut short. */
static void finish_ended(struct xfer *x, long status)
{
    if (status >= 400) {
        finish_xfer(x, CHAOS_END_HTTP_ERROR, status, NULL);
        return;
    }
    /* Without the vendor's terminal event it was cut short somewhere (a user who left still
     * ends as the action says; one who came back, a resumed background, read on to the end and
     * is judged like a complete one). No marker to look for: OK is all we know. */
    x->rec.terminal_seen = x->sc.nmarkers ? x->sc.marker_seen : 1;
    int left = x->fired && x->abort_end != CHAOS_END_COMPLETE;
    enum chaos_end e = left                   ? x->abort_end
                       : x->rec.terminal_seen ? CHAOS_END_COMPLETE
                                              : CHAOS_END_TRUNCATED;
    finish_xfer(x, e, status, NULL);
}

/* A finished transfer, still in the multi handle (curlev's contract). */
static void transfer_done_cb(void *arg, CURL *easy, CURLcode rc)
{
    (void)arg;
    struct xfer *x = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
    /* the port before the removal: that can close the socket */
    if (x->rec.local_port == 0)
        x->rec.local_port = sock_local_port(x->fd);
    x->removed = 1;
    curlev_remove(x->c->cv, x->easy);
    long status = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    /* Once the user acted, the attempt ends as the action says, however curl saw it go: our
     * own abort from the write callback, or a dropped link that reset us first. */
    if (x->fired && x->abort_end != CHAOS_END_COMPLETE && rc != CURLE_OK)
        finish_xfer(x, x->abort_end, status, NULL);
    else if (rc == CURLE_OPERATION_TIMEDOUT)
        finish_xfer(x, CHAOS_END_TIMEOUT, status, curl_easy_strerror(rc));
    else if (rc != CURLE_OK)
        finish_xfer(x, CHAOS_END_ERROR, status, curl_easy_strerror(rc));
    else
        finish_ended(x, status);
}

/* HTTP/2: the stream ended (h2pool's on_end), as transfer_done_cb for a curl transfer. */
static void h2_end_cb(void *arg, enum h2pool_end end, uint32_t code, const char *why)
{
    (void)code;
    struct xfer *x = arg;
    x->hs = NULL;
    long status = x->h2_status;
    if (x->fired && x->abort_end != CHAOS_END_COMPLETE && end != H2POOL_END_OK)
        finish_xfer(x, x->abort_end, status, NULL);
    else if (end == H2POOL_END_TIMEOUT)
        finish_xfer(x, CHAOS_END_TIMEOUT, status, "Timeout was reached");
    else if (end != H2POOL_END_OK)
        finish_xfer(x, CHAOS_END_ERROR, status, why);
    else
        finish_ended(x, status);
}

static void h2_sent_cb(void *arg)
{
    struct xfer *x = arg;
    if (x->is_follow_up)
        release_superseded(x); /* the replacement's request is going out */
}

static void h2_status_cb(void *arg, int status)
{
    ((struct xfer *)arg)->h2_status = status;
}

static void h2_data_cb(void *arg, const uint8_t *data, size_t len)
{
    write_cb((char *)data, 1, len, arg);
}

static const struct h2pool_stream_cbs h2_cbs = {
    .on_sent = h2_sent_cb, .on_status = h2_status_cb, .on_data = h2_data_cb, .on_end = h2_end_cb};

/* After every pass of curl's socket actions: free what finished and refill, from the loop. */
static void curl_pass_cb(void *arg)
{
    schedule_reap(arg);
}

/* A new attempt; with a URL, a curl transfer to it (HTTP/1.1 on a connection of its own),
 * without one an HTTP/2 stream to be sent by send_xfer. */
static struct xfer *xfer_new(struct chaos_client *c, const char *url, const char *method)
{
    struct xfer *x = calloc(1, sizeof *x);
    if (x == NULL)
        return NULL;
    x->c = c;
    x->fd = -1;
    scanner_init(&x->sc);
    enum chaos_style st = c->cfg.req.style;
    if ((st == CHAOS_STYLE_BEDROCK || st == CHAOS_STYLE_BEDROCK_INVOKE) &&
        !c->cfg.req.non_streaming) {
        x->uf = malloc(sizeof *x->uf);
        if (x->uf == NULL) {
            xfer_free(x);
            return NULL;
        }
        unframe_init(x->uf, st == CHAOS_STYLE_BEDROCK_INVOKE);
    }
    x->trigger_ev = evtimer_new(c->base, trigger_ev_cb, x);
    if (x->trigger_ev == NULL || (url && (x->easy = curl_easy_init()) == NULL)) {
        xfer_free(x);
        return NULL;
    }
    if (url == NULL)
        return x;
    CURL *e = x->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket_cb);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, x);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, close_socket_cb);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, x);
    /* one connection per attempt: what a close or a reset does must hit this request only */
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    if (c->cfg.req.ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, c->cfg.req.ca_file);
    if (c->cfg.req.tls_insecure) { /* the description's "tls": {"insecure": true} */
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)c->cfg.timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    return x;
}

/* Sends the attempt, its headers and body set: a curl transfer, or a stream on 'path' of the
 * HTTP/2 pool's origin. 0, or -1 with err filled (the attempt is not linked then). */
static int send_xfer(struct xfer *x, const char *method, const char *path, char *err,
                     size_t errlen)
{
    struct chaos_client *c = x->c;
    if (x->easy) {
        curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
        if (x->body)
            curl_easy_setopt(x->easy, CURLOPT_POSTFIELDS, x->body);
        return curlev_add(c->cv, x->easy, err, errlen);
    }
    const char *hv[CHAOS_MAX_HEADERS + 8];
    size_t nh = 0;
    for (struct curl_slist *l = x->headers; l && nh < sizeof hv / sizeof hv[0]; l = l->next)
        hv[nh++] = l->data;
    x->hs = h2pool_request(c->h2, method, path, hv, nh, x->body, x->body ? strlen(x->body) : 0,
                           &h2_cbs, x, err, errlen);
    if (x->hs == NULL)
        return -1;
    x->rec.local_port = h2stream_local_port(x->hs);
    return 0;
}

/* Starts one attempt; NULL if it could not be. follow_up: a supersede replacement. */
static struct xfer *start_attempt(struct chaos_client *c, uint32_t index, const char *cid,
                                  uint32_t attempt, const struct chaos_user *user,
                                  int64_t trigger_at, uint32_t retries_left,
                                  const char *idem_key, int follow_up, struct task *task)
{
    const struct chaos_request_spec *req = &c->cfg.req;
    char url[2048], path[2048];
    char vpath[160];
    snprintf(url, sizeof url, "%s%s", req->url,
             req->path ? req->path : body_default_path(req, vpath, sizeof vpath));
    const char *method = req->style == CHAOS_STYLE_CUSTOM && req->method ? req->method : "POST";
    int h2 = c->h2 && h2pool_path_of(c->h2, url, path, sizeof path) == 0;
    struct xfer *x = xfer_new(c, h2 ? NULL : url, method);
    if (x == NULL)
        return NULL;
    char err[128];
    x->body = chaos_request_body(req, cid, err, sizeof err);
    if (x->body == NULL) {
        xfer_free(x);
        return NULL;
    }
    if (watch_terminal(x) != 0) {
        xfer_free(x);
        return NULL;
    }
    x->is_follow_up = follow_up;
    x->task = task;
    if (follow_up && x->easy) {
        curl_easy_setopt(x->easy, CURLOPT_PREREQFUNCTION, prereq_cb);
        curl_easy_setopt(x->easy, CURLOPT_PREREQDATA, x);
    }
    x->user = user;
    x->retries_left = retries_left;
    x->abort_end = CHAOS_END_COMPLETE;
    snprintf(x->idem_key, sizeof x->idem_key, "%s", idem_key ? idem_key : cid);
    struct chaos_record *r = &x->rec;
    snprintf(r->correlation_id, sizeof r->correlation_id, "%s", cid);
    r->style = req->style;
    r->action = user->action;
    r->trigger = user->trigger;
    r->attempt = attempt;
    r->index = index;
    r->trigger_at = trigger_at;
    char h[256];
    snprintf(h, sizeof h, "X-Request-Id: %s", cid);
    x->headers = curl_slist_append(x->headers, h);
    x->headers = curl_slist_append(x->headers, "Content-Type: application/json");
    x->headers = curl_slist_append(x->headers, "Expect:");
    if (user->retries || attempt > 1) {
        snprintf(h, sizeof h, "Idempotency-Key: %s", x->idem_key);
        x->headers = curl_slist_append(x->headers, h);
    }
    for (size_t i = 0; i < req->nheaders; i++)
        x->headers = curl_slist_append(x->headers, req->headers[i]);
    x->next = c->xfers;
    c->xfers = x;
    r->t_send_ns = clock_now_ns();
    c->stats.started++;
    if (send_xfer(x, method, path, err, sizeof err) != 0) {
        xfer_unlink(x);
        xfer_free(x);
        return NULL;
    }
    if (task)
        task->live++; /* its ms trigger is the task's (task_start) */
    else if (user->action != CHAOS_COMPLETE && user->trigger == CHAOS_AT_MS)
        arm(x, (uint32_t)trigger_at);
    return x;
}

/* ---- agent tasks ---------------------------------------------------------------------------- */

static void task_free(struct task *t)
{
    if (t->pending)
        t->c->deferred--;
    if (t->ev)
        event_free(t->ev);
    if (t->next_ev)
        event_free(t->next_ev);
    free(t);
}

/* Starts the task's next request (the first, or the one after a completed one). */
static int task_next(struct task *t)
{
    struct chaos_client *c = t->c;
    char cid[CHAOS_ID_MAX];
    uint32_t k = t->started++;
    if (k == 0)
        snprintf(cid, sizeof cid, "%s", t->cid);
    else
        snprintf(cid, sizeof cid, "%.80s-t%u", t->cid, k);
    if (start_attempt(c, t->index, cid, 1, t->user, t->trigger_at, 0, NULL, 0, t) == NULL) {
        c->stats.errors++;
        return -1;
    }
    return 0;
}

/* The task is over once nothing of it runs or waits: its slot goes (and thinks) then. */
static void task_maybe_end(struct task *t)
{
    if (t->live || t->pending || t->holding)
        return;
    struct chaos_client *c = t->c;
    for (struct task **pp = &c->tasks; *pp; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    struct chaos_record last = t->last;
    task_free(t);
    slot_free(c, last.correlation_id[0] ? &last : NULL);
}

static void task_next_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct task *t = arg;
    struct chaos_client *c = t->c;
    t->pending = 0;
    c->deferred--;
    if (!t->fired && t->started < t->user->task_requests)
        task_next(t);
    task_maybe_end(t);
    maybe_done(c);
}

/* Acts on every request of the task in flight except 'from' (NULL: all of them). */
static void fire_task(struct task *t, struct xfer *from)
{
    struct xfer *live[CHAOS_TASK_MAX];
    size_t n = 0;
    for (struct xfer *y = t->c->xfers; y && n < CHAOS_TASK_MAX; y = y->next)
        if (y->task == t && y != from && !y->fired && !y->is_cancel_call)
            live[n++] = y;
    t->holding = 1; /* a request ending under fire() must not free the task here */
    for (size_t i = 0; i < n; i++)
        fire(live[i], 0);
    t->holding = 0;
    task_maybe_end(t);
}

/* The task's timer: its ms trigger, or the rest of its fire (see task_fire_others). */
static void task_ev_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct task *t = arg;
    t->fired = 1;
    fire_task(t, NULL);
}

/* 'from' acted for its task: the others follow at once, or, from inside curl's write
 * callback (where no other transfer may be taken out), from the loop right after. */
static void task_fire_others(struct task *t, struct xfer *from, int in_write)
{
    if (in_write && from->easy) {
        struct timeval now = {0, 0};
        evtimer_del(t->ev);
        evtimer_add(t->ev, &now);
        return;
    }
    evtimer_del(t->ev);
    fire_task(t, from);
}

/* One of the task's requests ended: a tool loop sends the next once one completes. */
static void task_member_done(struct xfer *x)
{
    struct task *t = x->task;
    struct chaos_client *c = t->c;
    t->live--;
    t->last = x->rec;
    t->last.trace_us = NULL;
    t->last.ntrace = 0;
    if (!t->fired && !t->user->task_parallel && t->started < t->user->task_requests &&
        x->rec.end == CHAOS_END_COMPLETE) {
        struct timeval now = {0, 0};
        if (evtimer_add(t->next_ev, &now) == 0) {
            t->pending = 1;
            c->deferred++;
        }
    }
    if (!t->live && !t->pending)
        evtimer_del(t->ev); /* nothing left to act on */
    task_maybe_end(t);
}

/* A user with a task: its first request (all of them for a fan-out), the task's ms trigger. */
static int task_start(struct chaos_client *c, uint32_t index, const char *cid,
                      const struct chaos_user *user, int64_t trigger_at)
{
    struct task *t = calloc(1, sizeof *t);
    if (t == NULL)
        return -1;
    t->c = c;
    t->user = user;
    t->index = index;
    t->trigger_at = trigger_at;
    snprintf(t->cid, sizeof t->cid, "%s", cid);
    t->ev = evtimer_new(c->base, task_ev_cb, t);
    t->next_ev = evtimer_new(c->base, task_next_cb, t);
    if (t->ev == NULL || t->next_ev == NULL) {
        task_free(t);
        return -1;
    }
    t->next = c->tasks;
    c->tasks = t;
    uint32_t n = user->task_parallel ? user->task_requests : 1;
    int started = 0;
    t->holding = 1;
    for (uint32_t k = 0; k < n; k++)
        started += task_next(t) == 0;
    t->holding = 0;
    if (started && user->action != CHAOS_COMPLETE && user->trigger == CHAOS_AT_MS) {
        event_base_update_cache_time(c->base);
        struct timeval tv = {(time_t)(trigger_at / 1000), (suseconds_t)(trigger_at % 1000) * 1000};
        evtimer_add(t->ev, &tv);
    }
    if (started == 0) {
        c->tasks = t->next;
        task_free(t);
        return -1;
    }
    task_maybe_end(t);
    return 0;
}

/* The vendor's terminal event, as each style's stream ends properly (WIRE.md); custom: the
 * configured marker, or none. */
static int watch_terminal(struct xfer *x)
{
    static const char *const chat[] = {"[DONE]"};
    static const char *const responses[] = {"response.completed", "response.incomplete"};
    static const char *const anthropic[] = {"message_stop"};
    /* a whole body: the field its end carries (WIRE.md) */
    static const char *const chat_body[] = {"\"finish_reason\":\""};
    static const char *const responses_body[] = {"\"status\":\"completed\"",
                                                 "\"status\":\"incomplete\""};
    static const char *const anthropic_body[] = {"\"stop_reason\":\""};
    /* Gemini ends a stream at EOF, no sentinel: the last chunk (or the body) says why */
    static const char *const gemini[] = {"\"finishReason\":\""};
    /* Ollama's last line, streamed or the whole stream:false body, says done */
    static const char *const ollama[] = {"\"done\":true"};
    /* Bedrock: Converse's stopReason (messageStop, or the body); InvokeModel's Anthropic end */
    static const char *const bedrock[] = {"\"stopReason\":\""};
    static const char *const invoke[] = {"\"message_stop\""};
    const char *custom[] = {x->c->cfg.req.terminal_marker};
    if (x->c->cfg.req.style == CHAOS_STYLE_GEMINI)
        return scanner_watch(&x->sc, gemini, 1);
    if (x->c->cfg.req.style == CHAOS_STYLE_OLLAMA)
        return scanner_watch(&x->sc, ollama, 1);
    if (x->c->cfg.req.style == CHAOS_STYLE_BEDROCK)
        return scanner_watch(&x->sc, bedrock, 1);
    if (x->c->cfg.req.style == CHAOS_STYLE_BEDROCK_INVOKE)
        return x->c->cfg.req.non_streaming ? scanner_watch(&x->sc, anthropic_body, 1)
                                           : scanner_watch(&x->sc, invoke, 1);
    if (x->c->cfg.req.non_streaming && x->c->cfg.req.style != CHAOS_STYLE_CUSTOM) {
        enum chaos_style st = x->c->cfg.req.style;
        return st == CHAOS_STYLE_OPENAI_CHAT || st == CHAOS_STYLE_COMPLETIONS ||
                       st == CHAOS_STYLE_AZURE
                   ? scanner_watch(&x->sc, chat_body, 1)
               : st == CHAOS_STYLE_RESPONSES ? scanner_watch(&x->sc, responses_body, 2)
                                             : scanner_watch(&x->sc, anthropic_body, 1);
    }
    switch (x->c->cfg.req.style) {
    case CHAOS_STYLE_OPENAI_CHAT:
    case CHAOS_STYLE_COMPLETIONS:
    case CHAOS_STYLE_AZURE:
        return scanner_watch(&x->sc, chat, 1);
    case CHAOS_STYLE_RESPONSES:
        return scanner_watch(&x->sc, responses, 2);
    case CHAOS_STYLE_ANTHROPIC:
        return scanner_watch(&x->sc, anthropic, 1);
    case CHAOS_STYLE_CUSTOM:
        /* the string is borrowed from the config, which outlives every transfer */
        return custom[0] ? scanner_watch(&x->sc, custom, 1) : 0;
    case CHAOS_STYLE_GEMINI:
    case CHAOS_STYLE_OLLAMA:
    case CHAOS_STYLE_BEDROCK:
    case CHAOS_STYLE_BEDROCK_INVOKE:
    case CHAOS_STYLE_COUNT:
        break;
    }
    return 0;
}

/* Sends the stop button's cancel call. 'x' is held (cancel_outstanding) until it answers. */
static void start_cancel_call(struct xfer *x)
{
    struct chaos_client *c = x->c;
    const struct chaos_request_spec *req = &c->cfg.req;
    char *url = body_fill(req->cancel_url, "", x->rec.correlation_id, 0, 0);
    const char *method = req->cancel_method ? req->cancel_method : "POST";
    char path[2048];
    /* over HTTP/2 a new stream on the users' connections when it goes to their origin */
    int h2 = url && c->h2 && h2pool_path_of(c->h2, url, path, sizeof path) == 0;
    struct xfer *k = url ? xfer_new(c, h2 ? NULL : url, method) : NULL;
    free(url);
    if (k) {
        static const struct chaos_user none = {.action = CHAOS_COMPLETE, .weight = 1};
        k->user = &none;
        k->is_cancel_call = 1;
        k->owner = x;
        if (req->cancel_body)
            k->body = body_fill(req->cancel_body, "", x->rec.correlation_id, 0, 1);
        char h[256];
        snprintf(h, sizeof h, "X-Request-Id: %s", x->rec.correlation_id);
        k->headers = curl_slist_append(k->headers, h);
        k->headers = curl_slist_append(k->headers, "Content-Type: application/json");
        k->next = c->xfers;
        c->xfers = k;
        char err[128];
        if (send_xfer(k, method, path, err, sizeof err) == 0)
            return;
        xfer_unlink(k);
        xfer_free(k);
    }
    x->rec.cancel_status = -1;
    x->cancel_outstanding = 0;
    if (x->rec.t_end_ns) /* the user request already ended: release its record now */
        finish_xfer(x, x->rec.end, x->rec.http_status, NULL);
}

/* Keeps 'concurrency' user requests in flight; with an arrival rate, no more than the rate has
 * allowed so far (an open model: arrivals do not wait for earlier answers, up to the cap). */
static void fill(struct chaos_client *c)
{
    uint64_t allowed = c->cfg.requests;
    if (c->cfg.rate_per_s > 0) {
        double elapsed = (double)(clock_now_ns() - c->t_start_ns) / 1e9;
        allowed = (uint64_t)(elapsed * c->cfg.rate_per_s) + 1;
        if (allowed > c->cfg.requests)
            allowed = c->cfg.requests;
    }
    while (c->next_index < allowed && c->in_flight < c->cfg.concurrency) {
        if (c->cfg.may_start && !c->cfg.may_start(c->cfg.may_start_arg, c->next_index)) {
            /* not yet: ask again on a timer, never blocking the loop */
            if (!evtimer_pending(c->ask, NULL)) {
                struct timeval tv = {0, CHAOS_MAY_START_POLL_MS * 1000};
                evtimer_add(c->ask, &tv);
            }
            break;
        }
        uint32_t i = c->next_index;
        c->next_index += c->cfg.shard_count > 1 ? c->cfg.shard_count : 1;
        int64_t at;
        size_t u = chaos_plan(&c->cfg, i, &at);
        char cid[CHAOS_ID_MAX];
        snprintf(cid, sizeof cid, "%.60s-%u", c->cfg.id_prefix, i);
        c->in_flight++;
        const struct chaos_user *user = &c->cfg.users[u];
        int ok = user->task_requests > 1
                     ? task_start(c, i, cid, user, at) == 0
                     : start_attempt(c, i, cid, 1, user, at, user->retries, NULL, 0, NULL) != NULL;
        if (!ok) {
            c->in_flight--;
            c->stats.errors++;
        }
    }
    if (c->cfg.rate_per_s > 0 && c->next_index < c->cfg.requests &&
        !evtimer_pending(c->pace, NULL)) {
        double due = (double)c->next_index / c->cfg.rate_per_s; /* s after the start */
        double now = (double)(clock_now_ns() - c->t_start_ns) / 1e9;
        double wait = due > now ? due - now : 0.001;
        struct timeval tv = {(time_t)wait, (suseconds_t)((wait - (double)(time_t)wait) * 1e6)};
        evtimer_add(c->pace, &tv);
    }
}

static void pace_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct chaos_client *c = arg;
    fill(c);
    maybe_done(c);
}

static void maybe_done(struct chaos_client *c)
{
    if (!c->started || c->done_reported)
        return;
    fill(c);
    if (c->next_index < c->cfg.requests || c->in_flight || c->pending_retries || c->xfers ||
        c->half_closed || c->thinking || c->deferred || c->tasks)
        return;
    c->done_reported = 1;
    if (c->cfg.on_done)
        c->cfg.on_done(c->cfg.done_arg);
}

/* Frees finished transfers and refills, outside curl's callbacks. */
static void reap_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct chaos_client *c = arg;
    while (c->dead) {
        struct xfer *x = c->dead;
        c->dead = x->next;
        xfer_free(x);
    }
    maybe_done(c);
}

int chaos_client_start(struct chaos_client *c, char *err, size_t errlen)
{
    if (c->started) {
        snprintf(err, errlen, "chaos client: already started");
        return -1;
    }
    c->started = 1;
    c->t_start_ns = clock_now_ns();
    if (c->next_index >= c->cfg.requests) {
        /* a shard whose share is empty (more shards than requests): done from the loop */
        struct timeval now = {0, 0};
        evtimer_add(c->ask, &now);
        return 0;
    }
    fill(c);
    if (c->in_flight == 0 && !evtimer_pending(c->ask, NULL)) {
        snprintf(err, errlen, "chaos client: no request could be started");
        return -1;
    }
    return 0;
}
