/* mockprov's HTTP server. One libevent loop: evhttp parses requests; each generation ("gen")
 * runs on its own timer, independent of whether any peer reads; each HTTP response attached to
 * a gen is a "sink". A peer close is seen at once through the connection's close callback, and
 * TCP_INFO tells a FIN from an RST. */
#include "server.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>

#include "clock.h"
#include "engine.h"
#include "fault.h"
#include "httpd.h"
#include "ledger.h"
#include "profile.h"
#include "request.h"
#include "wheel.h"
#include "wire.h"

#define MOCK_VERSION "0.1.0"
#define MOCK_HARD_MAX_BODY (64u * 1024 * 1024) /* evhttp's own 413 above this */
#define MOCK_MAX_HEADERS (64u * 1024)
#define MOCK_TICK_BATCH 256 /* tokens per pass of the wheel before I/O gets a turn */
#define MOCK_STORE_MAX 1024 /* finished background responses kept for retrieve/cancel */
#define MOCK_TOKEN_QUEUE_MAX LEDGER_MAX_TOKENS
#define TRAILER_NAME "x-emitted-tokens-on-cancel"

struct gen;

struct sink {
    struct mock *m;
    struct gen *g;
    struct sink *next;
    struct evhttp_request *req;
    struct evhttp_connection *conn;
    struct evbuffer *out;             /* the connection's output buffer, for drain counting */
    evutil_socket_t fd;               /* for direct writes while that buffer is empty */
    struct evbuffer_cb_entry *drain;  /* NULL once detached */
    int streaming;                    /* SSE; else a JSON body at the end */
    int creator;                      /* its close cancels the gen */
    int chunked;                      /* we frame chunks ourselves, so we can send a trailer */
    int live;                         /* HTTP response still open to the peer */
    int handed;                       /* reply ended: evhttp owns and frees the request */
    int64_t starting_after;           /* Responses: replay cursor */
    uint64_t next_index;              /* next token index to write */
    uint64_t queued_bytes, drained_bytes;
    uint64_t *tok_end; /* cumulative end offset of each token written, oldest first */
    size_t tok_head, tok_n, tok_cap;
    uint64_t written; /* tokens whose last byte left our buffer for the kernel */
    struct evhttp_request *orphan; /* detached by evhttp after a peer close; freed by reap */
    struct sink *reap_next;
};

struct gen {
    struct wheel_node timer; /* first member: the wheel hands back this pointer */
    struct mock *m;
    struct gen *prev, *next; /* all gens */
    struct ledger_record *rec; /* NULL once finished (the ledger may drop it) */
    const struct profile *prof;
    struct request rq;
    struct wire_gen w;
    struct engine eng;
    struct fault fault;
    uint64_t limit;      /* min(natural length, cap) */
    int limit_is_cap;
    uint64_t generated;
    uint64_t written_max;
    uint64_t next_due_ns; /* when the pending token timer fires */
    int stalled;          /* the pending token is held back by a stall fault */
    int stopping;        /* peer gone or cancelled: the profile's stop policy runs */
    uint64_t stop_at_n;  /* stop once this many tokens exist (lag in tokens) */
    uint64_t stop_deadline_ns; /* 0: none (lag in ms) */
    int stopped;         /* generation over */
    int cancelled;
    uint64_t emitted;    /* billing's "emitted before the cancel" */
    int terminal;        /* the wire's ending is fixed */
    uint64_t final_n;
    enum wire_end final_end;
    int64_t final_usage;
    int64_t trailer_value; /* -1: no trailer */
    int stored;          /* background: kept for retrieve/cancel */
    int finished;        /* ledger record finished */
    int reaping;
    struct sink *sinks;
    struct gen *reap_next;
};

struct mock_metrics {
    uint64_t requests[3];
    uint64_t http_errors;
    uint64_t tokens_generated;
    uint64_t tokens_tail;
    uint64_t closes_fin, closes_rst, closes_cancel;
    uint64_t billed_output;
    uint64_t bad_requests;
};

/* Profiles with per-run overrides. Kept until the mock ends: running generations point at them. */
struct profile_set {
    struct profile p[SCHEDULE_MAX_STEPS];
    struct profile_set *next;
};

#define MOCK_MAX_PROFILE_SETS 4096

struct mock {
    struct event_base *base;
    struct profile_set *sets;
    size_t nsets;
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    int port;
    struct ledger *ledger;
    struct mock_config cfg;
    struct schedule sched;
    uint64_t sched_start_ns;
    uint64_t t_start_ns;
    uint64_t nreq;
    struct gen *gens;
    size_t active;
    size_t stored;
    char queued_fault[FAULT_TEXT_MAX];
    uint64_t queued_fault_count;
    struct event *reap_ev;
    struct event *tick;  /* drives the token wheel while it holds timers */
    struct event *tick_more; /* the rest of a batch that did not fit one pass */
    struct wheel wheel;
    struct sink *reap_sinks;
    struct gen *reap_gens;
    struct evbuffer *scratch;
    struct mock_metrics mx;
};

static void handle_cb(struct evhttp_request *req, void *arg);
static void token_timer_cb(evutil_socket_t fd, short what, void *arg);
static void reap_cb(evutil_socket_t fd, short what, void *arg);
static void tick_cb(evutil_socket_t fd, short what, void *arg);
static void gen_maybe_finish(struct gen *g);

/* ---- lifecycle --------------------------------------------------------------------------- */

struct mock *mock_new(struct event_base *base, const struct mock_config *cfg, char *err,
                      size_t errlen)
{
    struct mock *m = calloc(1, sizeof *m);
    if (m == NULL) {
        snprintf(err, errlen, "mock: out of memory");
        return NULL;
    }
    m->base = base;
    m->cfg = *cfg;
    if (m->cfg.host == NULL)
        m->cfg.host = "127.0.0.1";
    if (m->cfg.max_body == 0)
        m->cfg.max_body = MOCK_DEFAULT_MAX_BODY;
    m->t_start_ns = m->sched_start_ns = clock_now_ns();

    char spec[128];
    if (cfg->schedule) {
        if (schedule_parse(cfg->schedule, &m->sched, err, errlen) != 0)
            goto fail;
    } else {
        const char *name = cfg->profile ? cfg->profile : PROFILE_DEFAULT;
        snprintf(spec, sizeof spec, "0s:%s", name);
        if (profile_find(name) == NULL) {
            snprintf(err, errlen, "unknown profile '%s' (see 'tailgate profiles')", name);
            goto fail;
        }
        if (schedule_parse(spec, &m->sched, err, errlen) != 0)
            goto fail;
    }
    m->ledger = ledger_new(cfg->ledger_max, cfg->ledger_file, err, errlen);
    if (m->ledger == NULL)
        goto fail;
    m->scratch = evbuffer_new();
    m->reap_ev = event_new(base, -1, 0, reap_cb, m);
    m->tick = event_new(base, -1, EV_PERSIST, tick_cb, m);
    m->tick_more = evtimer_new(base, tick_cb, m);
    wheel_init(&m->wheel, clock_now_ns());
    if (m->scratch == NULL || m->reap_ev == NULL || m->tick == NULL || m->tick_more == NULL) {
        snprintf(err, errlen, "mock: out of memory");
        goto fail;
    }
    m->http = httpd_listen(base, m->cfg.host, cfg->port, MOCK_HARD_MAX_BODY, MOCK_MAX_HEADERS,
                           handle_cb, m, &m->bound, &m->port, err, errlen);
    if (m->http == NULL)
        goto fail;
    return m;
fail:
    mock_free(m);
    return NULL;
}

int mock_port(const struct mock *m)
{
    return m->port;
}

static void sink_detach(struct sink *s);

static void gen_free(struct gen *g)
{
    if (g == NULL)
        return;
    struct sink *s = g->sinks;
    while (s) {
        struct sink *n = s->next;
        sink_detach(s);
        if (s->orphan)
            evhttp_send_reply_end(s->orphan); /* frees a request evhttp let go of */
        free(s->tok_end);
        free(s);
        s = n;
    }
    wheel_remove(&g->m->wheel, &g->timer);
    wire_gen_cleanup(&g->w);
    free(g);
}

void mock_free(struct mock *m)
{
    if (m == NULL)
        return;
    /* evhttp_free closes live connections and calls their close callbacks: unhook ours first */
    for (struct gen *g = m->gens; g; g = g->next)
        for (struct sink *s = g->sinks; s; s = s->next)
            if (s->conn)
                evhttp_connection_set_closecb(s->conn, NULL, NULL);
    struct gen *g = m->gens;
    while (g) {
        struct gen *n = g->next;
        for (struct sink *s = g->sinks; s; s = s->next) {
            sink_detach(s);
            s->req = NULL; /* evhttp_free owns them */
        }
        gen_free(g);
        g = n;
    }
    if (m->http)
        evhttp_free(m->http);
    if (m->reap_ev)
        event_free(m->reap_ev);
    if (m->tick)
        event_free(m->tick);
    if (m->tick_more)
        event_free(m->tick_more);
    if (m->scratch)
        evbuffer_free(m->scratch);
    while (m->sets) {
        struct profile_set *n = m->sets->next;
        free(m->sets);
        m->sets = n;
    }
    ledger_free(m->ledger);
    free(m);
}

static void schedule_reap(struct mock *m)
{
    event_active(m->reap_ev, EV_TIMEOUT, 0);
}

static void gen_unlink(struct gen *g)
{
    struct mock *m = g->m;
    if (g->prev)
        g->prev->next = g->next;
    else
        m->gens = g->next;
    if (g->next)
        g->next->prev = g->prev;
    g->prev = g->next = NULL;
}

/* Frees what evhttp callbacks could not: orphaned requests and finished gens. */
static void reap_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct mock *m = arg;
    while (m->reap_sinks) {
        struct sink *s = m->reap_sinks;
        m->reap_sinks = s->reap_next;
        s->reap_next = NULL;
        if (s->orphan) {
            evhttp_send_reply_end(s->orphan);
            s->orphan = NULL;
        }
    }
    while (m->reap_gens) {
        struct gen *g = m->reap_gens;
        m->reap_gens = g->reap_next;
        gen_unlink(g);
        gen_free(g);
    }
}

/* ---- small helpers ------------------------------------------------------------------------ */

static const struct profile *current_profile(struct mock *m)
{
    return schedule_at(&m->sched, (clock_now_ns() - m->sched_start_ns) / 1000000ull);
}

static void add_common_headers(struct evhttp_request *req, enum api api, const char *rid,
                               const char *content_type)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", content_type);
    if (api == API_MESSAGES) {
        evhttp_add_header(h, "request-id", rid);
    } else {
        evhttp_add_header(h, "x-request-id", rid);
        evhttp_add_header(h, "openai-version", "2020-10-01");
        evhttp_add_header(h, "openai-processing-ms", "1");
    }
}

static void send_json(struct mock *m, struct evhttp_request *req, int code, const char *json)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    if (evhttp_find_header(h, "Content-Type") == NULL)
        evhttp_add_header(h, "Content-Type", "application/json");
    evbuffer_drain(m->scratch, evbuffer_get_length(m->scratch));
    evbuffer_add(m->scratch, json, strlen(json));
    evbuffer_add(m->scratch, "\n", 1);
    const char *reason = code == 200 ? "OK" : code == 429 ? "Too Many Requests" : NULL;
    evhttp_send_reply(req, code, reason, m->scratch);
}

/* An HTTP error in the API's shape. */
static void send_error(struct mock *m, struct evhttp_request *req, enum api api, int code,
                       const char *type, const char *ecode, const char *param, const char *msg)
{
    char rid[48];
    snprintf(rid, sizeof rid, "req_tgerr%08llx", (unsigned long long)++m->nreq);
    char *body = wire_error_body(api, code, type, ecode, param, msg, rid);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, api == API_MESSAGES ? "request-id" : "x-request-id", rid);
    if (code >= 400 && code < 500)
        m->mx.bad_requests++;
    send_json(m, req, code, body ? body : "{}");
    free(body);
}

static char *body_string(struct evhttp_request *req, size_t *len)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    *len = evbuffer_get_length(in);
    char *s = malloc(*len + 1);
    if (s == NULL)
        return NULL;
    evbuffer_copyout(in, s, *len);
    s[*len] = '\0';
    return s;
}

/* ---- sinks: writing to a peer and counting what left for the kernel ------------------------ */

/* Publishes the sink's written count to its generation and ledger record. */
static void sink_note_written(struct sink *s)
{
    struct gen *g = s->g;
    if (g && s->written > g->written_max) {
        g->written_max = s->written;
        if (g->rec)
            g->rec->written_tokens = g->written_max;
    }
}

static void drain_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    (void)buf;
    struct sink *s = arg;
    if (info->n_deleted == 0)
        return;
    s->drained_bytes += info->n_deleted;
    while (s->tok_n && s->tok_end[s->tok_head] <= s->drained_bytes) {
        s->tok_head++;
        s->tok_n--;
        s->written++;
    }
    if (s->tok_n == 0)
        s->tok_head = 0;
    sink_note_written(s);
}

static void sink_detach(struct sink *s)
{
    if (s->drain && s->out)
        evbuffer_remove_cb_entry(s->out, s->drain);
    s->drain = NULL;
    s->out = NULL;
    s->fd = -1;
    if (s->conn)
        evhttp_connection_set_closecb(s->conn, NULL, NULL);
    s->conn = NULL;
    s->live = 0;
}

static int tok_push(struct sink *s, uint64_t end)
{
    if (s->tok_head + s->tok_n == s->tok_cap) {
        if (s->tok_head > 0) {
            memmove(s->tok_end, s->tok_end + s->tok_head, s->tok_n * sizeof *s->tok_end);
            s->tok_head = 0;
        } else {
            size_t cap = s->tok_cap ? s->tok_cap * 2 : 16;
            if (cap > MOCK_TOKEN_QUEUE_MAX)
                return -1;
            uint64_t *tmp = realloc(s->tok_end, cap * sizeof *tmp);
            if (tmp == NULL)
                return -1;
            s->tok_end = tmp;
            s->tok_cap = cap;
        }
    }
    s->tok_end[s->tok_head + s->tok_n++] = end;
    return 0;
}

#define SINK_DIRECT_MAX 2048 /* framed events up to this size may skip evhttp's buffer */

/* Writes bytes to the peer in one HTTP chunk. is_token: counts for written_tokens.
 * While nothing is queued, a small event goes straight to the socket: going through evhttp
 * costs two epoll_ctl calls and a loop pass per token, which at thousands of streams is most of
 * the mock's CPU. Bytes only reach the buffer when the socket is full, so order is kept. */
static void sink_write(struct sink *s, const char *data, size_t len, int is_token)
{
    if (!s->live || len == 0)
        return;
    char frame[SINK_DIRECT_MAX];
    size_t flen = 0;
    if (s->out && s->fd >= 0 && evbuffer_get_length(s->out) == 0 && len + 16 <= sizeof frame) {
        int h = s->chunked ? snprintf(frame, sizeof frame, "%zx\r\n", len) : 0;
        memcpy(frame + h, data, len);
        flen = (size_t)h + len;
        if (s->chunked) {
            memcpy(frame + flen, "\r\n", 2);
            flen += 2;
        }
        ssize_t n = send(s->fd, frame, flen, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            s->queued_bytes += (uint64_t)n;
            s->drained_bytes += (uint64_t)n;
            if ((size_t)n == flen) {
                if (is_token)
                    s->written++;
                sink_note_written(s);
                return;
            }
            /* partly sent: the rest waits in the buffer, and drain counting finishes it */
            if (is_token && tok_push(s, s->queued_bytes + (flen - (size_t)n)) != 0)
                s->written++;
            s->queued_bytes += flen - (size_t)n;
            struct evbuffer *b = s->m->scratch;
            evbuffer_drain(b, evbuffer_get_length(b));
            evbuffer_add(b, frame + n, flen - (size_t)n);
            evhttp_send_reply_chunk(s->req, b);
            return;
        }
        /* EAGAIN or an error: evhttp's path notices errors and tells us through callbacks */
    }
    struct evbuffer *b = s->m->scratch;
    evbuffer_drain(b, evbuffer_get_length(b));
    if (s->chunked)
        evbuffer_add_printf(b, "%zx\r\n", len);
    evbuffer_add(b, data, len);
    if (s->chunked)
        evbuffer_add(b, "\r\n", 2);
    s->queued_bytes += evbuffer_get_length(b);
    if (is_token && tok_push(s, s->queued_bytes) != 0)
        s->written++; /* queue cap reached: count it as written rather than lose it */
    evhttp_send_reply_chunk(s->req, b);
}

static void sink_complete_cb(struct evhttp_request *req, void *arg)
{
    (void)req;
    struct sink *s = arg;
    sink_detach(s);
    s->req = NULL;
    if (s->g)
        gen_maybe_finish(s->g);
}

/* Ends a streaming response: the chunked body's last chunk, with the trailer if any. */
static void sink_end(struct sink *s, int64_t trailer)
{
    if (!s->live)
        return;
    if (s->chunked) {
        char last[96];
        int n = trailer >= 0 ? snprintf(last, sizeof last, "0\r\n" TRAILER_NAME ": %lld\r\n\r\n",
                                        (long long)trailer)
                             : snprintf(last, sizeof last, "0\r\n\r\n");
        struct evbuffer *b = s->m->scratch;
        evbuffer_drain(b, evbuffer_get_length(b));
        evbuffer_add(b, last, (size_t)n);
        s->queued_bytes += (uint64_t)n;
        evhttp_send_reply_chunk(s->req, b);
    }
    s->live = 0;
    s->handed = 1;
    evhttp_send_reply_end(s->req); /* completion (or a close) arrives through callbacks */
}

static int peer_close_kind(struct evhttp_connection *conn)
{
    struct bufferevent *bev = evhttp_connection_get_bufferevent(conn);
    evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
        return LEDGER_CLOSE_RST;
    /* After a FIN our side sits in CLOSE_WAIT. */
    if (ti.tcpi_state == TCP_CLOSE_WAIT)
        return LEDGER_CLOSE_FIN;
    /* CLOSED: either the peer reset, or it sent a FIN and a token we wrote after it drew an RST
     * from its kernel. In the second case our read saw the end of stream first and left the
     * reset's error pending; a reset read first leaves no error behind. */
    int soerr = 0;
    len = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 &&
        (soerr == ECONNRESET || soerr == EPIPE))
        return LEDGER_CLOSE_FIN;
    return LEDGER_CLOSE_RST;
}

static void gen_peer_gone(struct gen *g, uint64_t now, enum ledger_close kind);

/* evhttp calls this from inside its connection teardown: record, then defer every free. */
static void peer_close_cb(struct evhttp_connection *conn, void *arg)
{
    struct sink *s = arg;
    uint64_t now = clock_now_ns();
    int kind = peer_close_kind(conn);
    struct mock *m = s->m;
    struct gen *g = s->g;
    /* A request whose reply we had not ended was detached by evhttp and is ours to free; one
     * whose reply we ended is freed by evhttp itself. */
    s->orphan = s->handed ? NULL : s->req;
    s->req = NULL;
    sink_detach(s);
    s->reap_next = m->reap_sinks;
    m->reap_sinks = s;
    schedule_reap(m);
    if (g == NULL)
        return;
    if (s->creator && !g->cancelled)
        gen_peer_gone(g, now, (enum ledger_close)kind);
    gen_maybe_finish(g);
}

static struct sink *sink_new(struct gen *g, struct evhttp_request *req, int streaming,
                             int creator)
{
    struct sink *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->m = g->m;
    s->g = g;
    s->req = req;
    s->conn = evhttp_request_get_connection(req);
    s->streaming = streaming;
    s->creator = creator;
    s->starting_after = -1;
    s->fd = -1;
    s->live = 1;
    s->next = g->sinks;
    g->sinks = s;
    evhttp_connection_set_closecb(s->conn, peer_close_cb, s);
    evhttp_request_set_on_complete_cb(req, sink_complete_cb, s);
    return s;
}

/* Sends the status line and headers of a stream, then hooks drain counting. */
static void sink_start_stream(struct sink *s, const struct gen *g)
{
    struct evhttp_request *req = s->req;
    add_common_headers(req, g->rq.api, g->rec ? g->rec->request_id : g->w.id,
                       "text/event-stream; charset=utf-8");
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Cache-Control", "no-cache");
    if (g->prof->report == PROFILE_REPORT_TRAILER)
        evhttp_add_header(h, "Trailer", TRAILER_NAME);
    if (g->fault.truncate_after >= 0)
        evhttp_add_header(h, "Connection", "close"); /* so ending early really drops the link */
    evhttp_send_reply_start(req, 200, "OK");
    /* evhttp framed nothing yet; take the framing over so the last chunk can carry a trailer
     * (RFC 9112 7.1.2). HTTP/1.0 peers get a close-delimited body instead. */
    s->chunked = req->chunked;
    req->chunked = 0;
    struct bufferevent *bev = evhttp_connection_get_bufferevent(s->conn);
    s->out = bufferevent_get_output(bev);
    s->fd = bufferevent_getfd(bev);
    s->queued_bytes = evbuffer_get_length(s->out);
    s->drain = evbuffer_add_cb(s->out, drain_cb, s);
}

/* ---- generation ------------------------------------------------------------------------- */

static void rec_set_usage(struct gen *g, int64_t usage, const char *via)
{
    if (g->rec == NULL)
        return;
    g->rec->usage_reported = usage;
    g->rec->usage_via = via;
}

/* The ledger record is final once generation stopped and no sink is still flushing. */
static void gen_maybe_finish(struct gen *g)
{
    if (!g->stopped || g->finished)
        goto reap;
    for (struct sink *s = g->sinks; s; s = s->next)
        if (s->live || s->req)
            return;
    struct ledger_record *r = g->rec;
    if (r) {
        if (!g->cancelled)
            r->billed_output_tokens =
                r->stop_reason == LEDGER_STOP_ERROR_FAULT ||
                        r->stop_reason == LEDGER_STOP_TRUNCATE_FAULT
                    ? 0 /* a provider-side failure is not billed */
                    : g->generated;
        else
            r->billed_output_tokens =
                profile_billed_output(g->prof, 1, g->emitted, g->generated);
        g->m->mx.billed_output += r->billed_output_tokens;
        g->m->mx.tokens_tail += r->tail_tokens;
        ledger_finish(g->m->ledger, r);
        g->rec = NULL;
    }
    g->finished = 1;
    g->m->active--;
reap:
    if (g->finished && !g->stored && !g->reaping) {
        for (struct sink *s = g->sinks; s; s = s->next)
            if (s->live || s->req)
                return;
        g->reaping = 1;
        g->reap_next = g->m->reap_gens;
        g->m->reap_gens = g;
        schedule_reap(g->m);
    }
}

static void gen_stop(struct gen *g, enum ledger_stop reason)
{
    if (g->stopped)
        return;
    g->stopped = 1;
    wheel_remove(&g->m->wheel, &g->timer);
    if (g->rec) {
        g->rec->t_gen_stop_ns = clock_now_ns();
        g->rec->stop_reason = reason;
    }
}

/* Fixes the wire's ending and sends it to every live reader. */
static void gen_terminate(struct gen *g, enum wire_end end, int64_t usage, int64_t trailer)
{
    if (g->terminal)
        return;
    g->terminal = 1;
    g->final_n = g->generated;
    g->final_end = end;
    g->final_usage = usage;
    g->trailer_value = trailer;
    /* what the wire tells a reader: a chat stream without include_usage carries no usage */
    int silent = g->rq.api == API_CHAT && g->rq.stream && !g->rq.include_usage;
    if (usage >= 0 && !silent)
        rec_set_usage(g, usage, "usage");
    else if (trailer >= 0)
        rec_set_usage(g, trailer, "trailer");
    for (struct sink *s = g->sinks; s; s = s->next) {
        if (!s->live)
            continue;
        if (s->streaming) {
            int64_t wire_usage = usage;
            if (g->rq.api == API_CHAT && !g->rq.include_usage)
                wire_usage = -1;
            char *tail = wire_stream_close(&g->w, g->final_n, end, wire_usage, s->starting_after);
            if (tail)
                sink_write(s, tail, strlen(tail), 0);
            free(tail);
            sink_end(s, trailer);
        } else {
            char *body = wire_body(&g->w, g->final_n, end, usage);
            add_common_headers(s->req, g->rq.api, g->rec ? g->rec->request_id : g->w.id,
                               "application/json");
            s->live = 0;
            s->handed = 1;
            send_json(g->m, s->req, 200, body ? body : "{}");
            free(body);
        }
    }
}

/* A natural end or the request's cap. */
static void gen_complete(struct gen *g)
{
    enum ledger_stop why = g->limit_is_cap ? LEDGER_STOP_MAX_TOKENS : LEDGER_STOP_NATURAL;
    gen_stop(g, why);
    if (!g->cancelled)
        gen_terminate(g, g->limit_is_cap ? WIRE_END_LENGTH : WIRE_END_STOP,
                      (int64_t)g->generated, -1);
    gen_maybe_finish(g);
}

static void gen_fail(struct gen *g, enum ledger_stop why)
{
    gen_stop(g, why);
    g->terminal = 1;
    g->final_n = g->generated;
    for (struct sink *s = g->sinks; s; s = s->next) {
        if (!s->live)
            continue;
        if (why == LEDGER_STOP_TRUNCATE_FAULT && s->streaming) {
            /* no terminal event and no last chunk: the connection just ends (Connection: close) */
            s->chunked = 0;
            s->live = 0;
            s->handed = 1;
            evhttp_send_reply_end(s->req);
        } else if (why == LEDGER_STOP_TRUNCATE_FAULT) {
            /* nothing was sent: drop the connection (it frees the request with it) */
            struct evhttp_connection *conn = s->conn;
            sink_detach(s);
            s->req = NULL;
            evhttp_connection_free(conn);
        } else if (s->streaming) {
            char *e = wire_stream_error(&g->w, g->generated);
            if (e)
                sink_write(s, e, strlen(e), 0);
            free(e);
            sink_end(s, -1);
        } else {
            s->live = 0;
            s->handed = 1;
            char *body = wire_error_body(g->rq.api, 500, NULL, NULL, NULL,
                                         "The server had an error while processing your "
                                         "request.", g->w.id);
            send_json(g->m, s->req, 500, body ? body : "{}");
            free(body);
        }
    }
    gen_maybe_finish(g);
}

/* Arms the timer for an absolute time. */
static void gen_arm_at(struct gen *g, uint64_t due_ns)
{
    if (g->stopping && g->stop_deadline_ns && due_ns > g->stop_deadline_ns)
        due_ns = g->stop_deadline_ns;
    g->next_due_ns = due_ns;
    struct mock *m = g->m;
    wheel_add(&m->wheel, &g->timer, due_ns);
    if (!event_pending(m->tick, EV_TIMEOUT, NULL)) {
        struct timeval tv = {0, 1000};
        event_add(m->tick, &tv);
    }
}

/* Every millisecond while timers are armed: fire the tokens that are due. */
static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct mock *m = arg;
    uint64_t now = clock_now_ns();
    int more = 0;
    /* a bounded batch, then I/O gets its turn: a peer's close is noticed between batches,
     * not behind thousands of token writes */
    struct wheel_node *n = wheel_expire(&m->wheel, now, MOCK_TICK_BATCH, &more);
    while (n) {
        struct wheel_node *next = n->next;
        struct gen *g = (struct gen *)n;
        token_timer_cb(-1, EV_TIMEOUT, g);
        /* above 1,000 tokens/s a stream has several tokens due per tick: catch up now
         * (bounded, so one fast stream cannot starve the loop) */
        for (int k = 0; k < 256 && g->timer.armed && g->timer.due_ns <= now; k++) {
            wheel_remove(&m->wheel, &g->timer);
            token_timer_cb(-1, EV_TIMEOUT, g);
        }
        n = next;
    }
    if (more) {
        /* a zero timeout, not event_active: libevent runs activated events before it polls
         * again, timeouts only after, so sockets get their turn first */
        struct timeval zero = {0, 0};
        evtimer_add(m->tick_more, &zero);
    }
    else if (m->wheel.count == 0)
        event_del(m->tick); /* idle: no wake-ups */
}

/* Token i is due 'delay_ns' after token i-1 was due (after the accept for token 0): a fixed
 * timetable, so the time spent in our own callbacks never stretches the gaps. */
static void gen_arm(struct gen *g, uint64_t delay_ns)
{
    uint64_t base = g->next_due_ns ? g->next_due_ns : (g->rec ? g->rec->t_accept_ns : 0);
    if (base == 0)
        base = clock_now_ns();
    gen_arm_at(g, base + delay_ns);
}

/* The peer left (FIN/RST), or the cancel API was called: the profile decides what happens. */
static void gen_peer_gone(struct gen *g, uint64_t now, enum ledger_close kind)
{
    struct mock *m = g->m;
    g->cancelled = 1;
    if (g->rec) {
        g->rec->t_peer_closed_ns = now;
        g->rec->close_kind = kind;
    }
    if (kind == LEDGER_CLOSE_FIN)
        m->mx.closes_fin++;
    else if (kind == LEDGER_CLOSE_RST)
        m->mx.closes_rst++;
    else
        m->mx.closes_cancel++;
    g->emitted = kind == LEDGER_CLOSE_CANCEL_API ? g->generated : g->written_max;
    if (g->stopped)
        return;
    enum ledger_stop why =
        kind == LEDGER_CLOSE_CANCEL_API ? LEDGER_STOP_CANCEL : LEDGER_STOP_DISCONNECT;
    if (g->prof->on_disconnect == PROFILE_CONTINUE)
        return; /* the runaway vendor: generation goes on to the natural end */
    g->stopping = 1;
    g->stop_at_n = g->prof->stop_lag_tokens ? g->generated + g->prof->stop_lag_tokens : 0;
    g->stop_deadline_ns = g->prof->stop_lag_ms ? now + g->prof->stop_lag_ms * 1000000ull : 0;
    /* a lag counted in tokens is the engine noticing at its next step; a stalled engine is
     * not stepping, so it notices now */
    if ((g->stop_at_n == 0 || g->stalled) && g->stop_deadline_ns == 0) {
        gen_stop(g, why);
        return;
    }
    if (g->stop_deadline_ns && g->timer.armed && g->next_due_ns > g->stop_deadline_ns) {
        /* e.g. mid-stall: stop at the deadline, not at the next token */
        gen_arm_at(g, g->stop_deadline_ns);
    }
}

static void token_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct gen *g = arg;
    uint64_t now = clock_now_ns();
    enum ledger_stop stop_why = g->rec && g->rec->close_kind == LEDGER_CLOSE_CANCEL_API
                                    ? LEDGER_STOP_CANCEL
                                    : LEDGER_STOP_DISCONNECT;
    if (g->stopping && g->stop_deadline_ns && now >= g->stop_deadline_ns) {
        gen_stop(g, stop_why);
        gen_maybe_finish(g);
        return;
    }
    uint64_t i = g->generated;
    if (g->rec && ledger_add_token(g->rec, now) != 0) {
        gen_fail(g, LEDGER_STOP_ERROR_FAULT);
        return;
    }
    g->generated++;
    g->m->mx.tokens_generated++;
    if (!g->terminal) {
        char ev[WIRE_TOKEN_EVENT_MAX];
        int n = wire_stream_token(&g->w, i, ev, sizeof ev);
        for (struct sink *s = g->sinks; s && n > 0; s = s->next) {
            if (s->live && s->streaming && s->next_index == i) {
                /* a reader that resumed ahead of generation skips what it already has */
                if ((int64_t)(i + WIRE_RESP_FIRST_DELTA) > s->starting_after)
                    sink_write(s, ev, (size_t)n, 1);
                s->next_index = i + 1;
            }
        }
    }
    if (g->generated >= g->limit) {
        gen_complete(g);
        return;
    }
    if (!g->cancelled && g->fault.error_after >= 0 &&
        g->generated >= (uint64_t)g->fault.error_after) {
        gen_fail(g, LEDGER_STOP_ERROR_FAULT);
        return;
    }
    if (!g->cancelled && g->fault.truncate_after >= 0 &&
        g->generated >= (uint64_t)g->fault.truncate_after) {
        gen_fail(g, LEDGER_STOP_TRUNCATE_FAULT);
        return;
    }
    if (g->stopping && g->stop_at_n && g->generated >= g->stop_at_n) {
        gen_stop(g, stop_why);
        gen_maybe_finish(g);
        return;
    }
    uint64_t delay = engine_next_delay_ns(&g->eng, g->generated);
    if (g->fault.stall_after >= 0 && g->generated == (uint64_t)g->fault.stall_after) {
        delay += (uint64_t)g->fault.stall_ms * 1000000ull;
        g->stalled = 1;
    } else {
        g->stalled = 0;
    }
    gen_arm(g, delay);
}

/* ---- vendor endpoints -------------------------------------------------------------------- */

static int header_num(struct evkeyvalq *h, const char *name, double lo, double hi, double *out,
                      char *err, size_t errlen)
{
    const char *v = evhttp_find_header(h, name);
    if (v == NULL)
        return 0;
    char *end;
    double x = strtod(v, &end);
    if (*v == '\0' || *end != '\0' || !(x >= lo && x <= hi)) {
        snprintf(err, errlen, "Invalid header '%s': '%s' (expected a number from %g to %g).",
                 name, v, lo, hi);
        return -1;
    }
    *out = x;
    return 1;
}

static void http_fault_reply(struct mock *m, struct evhttp_request *req, struct gen *g)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    const struct fault *f = &g->fault;
    char v[32];
    if (f->retry_after >= 0) {
        snprintf(v, sizeof v, "%lld", (long long)f->retry_after);
        evhttp_add_header(h, "retry-after", v);
        snprintf(v, sizeof v, "%lld", (long long)f->retry_after * 1000);
        evhttp_add_header(h, "retry-after-ms", v);
    }
    if (f->should_retry >= 0)
        evhttp_add_header(h, "x-should-retry", f->should_retry ? "true" : "false");
    const char *msg = f->status == 429   ? "Rate limit reached for requests (tailgate fault)."
                      : f->status == 529 ? "Overloaded"
                                         : "Injected server error (tailgate fault).";
    const char *code = g->rq.api == API_MESSAGES ? NULL
                       : f->status == 429        ? "rate_limit_exceeded"
                                                 : NULL;
    char *body = wire_error_body(g->rq.api, f->status, NULL, code, NULL, msg,
                                 g->rec->request_id);
    evhttp_add_header(h, g->rq.api == API_MESSAGES ? "request-id" : "x-request-id",
                      g->rec->request_id);
    m->mx.http_errors++;
    send_json(m, req, f->status, body ? body : "{}");
    free(body);
}

/* Forgets the oldest finished background response (the list is newest first). */
static void store_evict_oldest(struct mock *m)
{
    struct gen *victim = NULL;
    for (struct gen *g = m->gens; g; g = g->next)
        if (g->stored && g->finished)
            victim = g;
    if (victim == NULL)
        return; /* all still running: they stay reachable until they end */
    victim->stored = 0;
    m->stored--;
    gen_maybe_finish(victim);
}

static void handle_generate(struct mock *m, struct evhttp_request *req, enum api api)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    char err[256];
    struct gen *g = NULL;
    size_t len;
    char *body = body_string(req, &len);
    if (body == NULL) {
        send_error(m, req, api, 500, NULL, NULL, NULL, "out of memory");
        return;
    }
    if (len > m->cfg.max_body) {
        snprintf(err, sizeof err, "Request body of %zu bytes exceeds the limit of %zu bytes.",
                 len, m->cfg.max_body);
        send_error(m, req, api, 413, NULL, NULL, NULL, err);
        goto done;
    }
    const char *rid = evhttp_find_header(in, "X-Request-Id");
    struct request rq;
    struct request_error rerr;
    if (request_parse(api, body, len, rid, &rq, &rerr) != 0) {
        send_error(m, req, api, rerr.status, rerr.type, rerr.code, rerr.param, rerr.message);
        goto done;
    }
    const struct profile *prof = current_profile(m);
    const char *pname = evhttp_find_header(in, "x-tailgate-profile");
    if (pname) {
        prof = profile_find(pname);
        if (prof == NULL) {
            snprintf(err, sizeof err, "Unknown x-tailgate-profile '%.64s' (see 'tailgate "
                                      "profiles').", pname);
            send_error(m, req, api, 400, NULL, NULL, "x-tailgate-profile", err);
            goto done;
        }
    }
    double ttft = prof->ttft_ms, tps = prof->tps, jit = prof->jitter, nat = prof->natural_length;
    double seed = -1;
    if (header_num(in, "x-tailgate-ttft-ms", 0, 3600000, &ttft, err, sizeof err) < 0 ||
        header_num(in, "x-tailgate-tps", 0.01, 1e6, &tps, err, sizeof err) < 0 ||
        header_num(in, "x-tailgate-jitter", 0, 1, &jit, err, sizeof err) < 0 ||
        header_num(in, "x-tailgate-length", 1, LEDGER_MAX_TOKENS, &nat, err, sizeof err) < 0 ||
        header_num(in, "x-tailgate-seed", 0, 9007199254740991.0, &seed, err, sizeof err) < 0) {
        send_error(m, req, api, 400, NULL, NULL, NULL, err);
        goto done;
    }
    struct fault fault;
    fault_init(&fault);
    const char *fspec = evhttp_find_header(in, "x-tailgate-fault");
    if (fspec == NULL && m->queued_fault_count > 0) {
        fspec = m->queued_fault;
        m->queued_fault_count--;
    }
    if (fspec && fault_parse(fspec, &fault, err, sizeof err) != 0) {
        send_error(m, req, api, 400, NULL, NULL, "x-tailgate-fault", err);
        goto done;
    }
    if (fault.slow_first_ms >= 0)
        ttft = (double)fault.slow_first_ms;

    g = calloc(1, sizeof *g);
    if (g == NULL) {
        send_error(m, req, api, 500, NULL, NULL, NULL, "out of memory");
        goto done;
    }
    g->m = m;
    g->rq = rq;
    g->prof = prof;
    g->fault = fault;
    g->trailer_value = -1;
    g->rec = ledger_open(m->ledger, clock_now_ns());
    if (g->rec == NULL || wire_gen_init(&g->w, &rq, g->rec->seq, (int64_t)time(NULL)) != 0) {
        send_error(m, req, api, 500, NULL, NULL, NULL, "out of memory");
        goto fail;
    }
    m->nreq++;
    m->mx.requests[api]++;
    uint64_t rseed = seed >= 0 ? (uint64_t)seed : m->cfg.seed * 1000003ull + g->rec->seq;
    engine_init(&g->eng, rseed, (uint64_t)ttft, tps, jit);
    g->limit = (uint64_t)nat;
    if (rq.max_tokens >= 0 && (uint64_t)rq.max_tokens < g->limit) {
        g->limit = (uint64_t)rq.max_tokens;
        g->limit_is_cap = 1;
    }

    struct ledger_record *r = g->rec;
    if (rq.cid[0] == '\0')
        snprintf(rq.cid, sizeof rq.cid, "%s", r->request_id);
    ledger_set_correlation(m->ledger, r, rq.cid);
    r->id_source = rq.id_source;
    r->rid_header = rid != NULL;
    r->api = request_api_name(api);
    r->profile = prof->name;
    snprintf(r->model, sizeof r->model, "%s", rq.model);
    r->stream = rq.stream;
    r->background = rq.background;
    r->max_tokens = rq.max_tokens;
    r->natural_length = (uint64_t)nat;
    r->include_usage = rq.include_usage;
    r->billed_input_tokens = rq.input_tokens;
    r->price_in_per_mtok = prof->price_in_per_mtok;
    r->price_out_per_mtok = prof->price_out_per_mtok;
    if (fspec)
        snprintf(r->fault, sizeof r->fault, "%s", fault.text);
    g->next = m->gens;
    if (m->gens)
        m->gens->prev = g;
    m->gens = g;
    m->active++;

    if (fault.status) {
        r->status = fault.status;
        r->billed_input_tokens = 0;
        g->stopped = 1;
        r->t_gen_stop_ns = clock_now_ns();
        r->stop_reason = LEDGER_STOP_HTTP_ERROR;
        http_fault_reply(m, req, g);
        gen_maybe_finish(g);
        goto done;
    }
    if (rq.background && api == API_RESPONSES) {
        if (m->stored >= MOCK_STORE_MAX)
            store_evict_oldest(m);
        g->stored = 1;
        m->stored++;
    }
    if (rq.background && !rq.stream) {
        char *obj = wire_response_object(&g->w, 0, "queued", -1);
        add_common_headers(req, api, r->request_id, "application/json");
        send_json(m, req, 200, obj ? obj : "{}");
        free(obj);
    } else {
        struct sink *s = sink_new(g, req, rq.stream, !rq.background);
        if (s == NULL) {
            send_error(m, req, api, 500, NULL, NULL, NULL, "out of memory");
            gen_stop(g, LEDGER_STOP_HTTP_ERROR);
            gen_maybe_finish(g);
            goto done;
        }
        httpd_tune(req, m->cfg.sndbuf, !rq.stream);
        if (rq.stream) {
            sink_start_stream(s, g);
            char *open = wire_stream_open(&g->w, -1);
            if (open)
                sink_write(s, open, strlen(open), 0);
            free(open);
        }
    }
    gen_arm(g, engine_next_delay_ns(&g->eng, 0));
    goto done;
fail:
    if (g->rec) {
        g->rec->stop_reason = LEDGER_STOP_HTTP_ERROR;
        g->rec->status = 500;
        ledger_finish(m->ledger, g->rec);
        g->rec = NULL;
    }
    gen_free(g);
done:
    free(body);
}

/* ---- Responses retrieve / cancel --------------------------------------------------------- */

static struct gen *find_response(struct mock *m, const char *id)
{
    /* linear scan: bounded by MOCK_STORE_MAX plus the active gens */
    for (struct gen *g = m->gens; g; g = g->next)
        if (g->stored && strcmp(g->w.id, id) == 0)
            return g;
    return NULL;
}

static const char *gen_status(const struct gen *g)
{
    if (!g->terminal)
        return g->generated ? "in_progress" : "queued";
    if (g->final_end == WIRE_END_CANCELLED)
        return "cancelled";
    return g->final_end == WIRE_END_LENGTH ? "incomplete" : "completed";
}

static void not_found_response(struct mock *m, struct evhttp_request *req, const char *id)
{
    char msg[200];
    snprintf(msg, sizeof msg, "No response found with id '%.100s'.", id);
    send_error(m, req, API_RESPONSES, 404, NULL, NULL, NULL, msg);
}

static void handle_retrieve(struct mock *m, struct evhttp_request *req, const char *id)
{
    struct gen *g = find_response(m, id);
    if (g == NULL) {
        not_found_response(m, req, id);
        return;
    }
    struct evkeyvalq q;
    TAILQ_INIT(&q);
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    if (query && evhttp_parse_query_str(query, &q) != 0) {
        send_error(m, req, API_RESPONSES, 400, NULL, NULL, NULL, "Malformed query string.");
        return;
    }
    const char *stream = evhttp_find_header(&q, "stream");
    const char *after = evhttp_find_header(&q, "starting_after");
    int want_stream = stream && strcmp(stream, "true") == 0;
    int64_t starting_after = -1;
    if (after) {
        char *end;
        long long x = strtoll(after, &end, 10);
        if (*after == '\0' || *end != '\0' || x < -1) {
            evhttp_clear_headers(&q);
            send_error(m, req, API_RESPONSES, 400, NULL, "invalid_value", "starting_after",
                       "Invalid 'starting_after': expected a non-negative integer.");
            return;
        }
        starting_after = x;
    }
    evhttp_clear_headers(&q);
    if (!want_stream) {
        int64_t usage = g->terminal ? g->final_usage : -1;
        char *obj = wire_response_object(&g->w, g->terminal ? g->final_n : g->generated,
                                         gen_status(g), usage);
        add_common_headers(req, API_RESPONSES, g->w.id, "application/json");
        send_json(m, req, 200, obj ? obj : "{}");
        free(obj);
        return;
    }
    struct sink *s = sink_new(g, req, 1, 0);
    if (s == NULL) {
        send_error(m, req, API_RESPONSES, 500, NULL, NULL, NULL, "out of memory");
        return;
    }
    s->starting_after = starting_after;
    sink_start_stream(s, g);
    char *open = wire_stream_open(&g->w, starting_after);
    if (open)
        sink_write(s, open, strlen(open), 0);
    free(open);
    /* replay the deltas after the cursor, then follow live */
    uint64_t upto = g->terminal ? g->final_n : g->generated;
    char ev[WIRE_TOKEN_EVENT_MAX];
    for (uint64_t i = 0; i < upto; i++) {
        if ((int64_t)(i + WIRE_RESP_FIRST_DELTA) <= starting_after)
            continue;
        int n = wire_stream_token(&g->w, i, ev, sizeof ev);
        if (n > 0)
            sink_write(s, ev, (size_t)n, 1);
    }
    s->next_index = upto;
    if (g->terminal) {
        char *tail = wire_stream_close(&g->w, g->final_n, g->final_end, g->final_usage,
                                       starting_after);
        if (tail)
            sink_write(s, tail, strlen(tail), 0);
        free(tail);
        sink_end(s, g->trailer_value);
    }
}

static void handle_cancel(struct mock *m, struct evhttp_request *req, const char *id)
{
    struct gen *g = find_response(m, id);
    if (g == NULL) {
        not_found_response(m, req, id);
        return;
    }
    if (!g->terminal) {
        uint64_t now = clock_now_ns();
        gen_peer_gone(g, now, LEDGER_CLOSE_CANCEL_API);
        /* The stream ends where the peer can still read it: this is where a vendor can say
         * what it bills. */
        uint64_t bill_now = profile_billed_output(g->prof, 1, g->emitted, g->generated);
        int64_t usage = g->prof->report == PROFILE_REPORT_USAGE ? (int64_t)bill_now : -1;
        int64_t trailer = g->prof->report == PROFILE_REPORT_TRAILER ? (int64_t)g->emitted : -1;
        gen_terminate(g, WIRE_END_CANCELLED, usage, trailer);
    }
    if (g->trailer_value >= 0) {
        /* the cancel call's own reply is a plain JSON body: it carries the count as a header */
        char v[32];
        snprintf(v, sizeof v, "%lld", (long long)g->trailer_value);
        evhttp_add_header(evhttp_request_get_output_headers(req), TRAILER_NAME, v);
    }
    char *obj = wire_response_object(&g->w, g->final_n, gen_status(g), g->final_usage);
    add_common_headers(req, API_RESPONSES, g->w.id, "application/json");
    send_json(m, req, 200, obj ? obj : "{}");
    free(obj);
    gen_maybe_finish(g);
}

/* ---- admin API --------------------------------------------------------------------------- */

static int admin_allowed(struct mock *m, struct evhttp_request *req)
{
    if (!m->cfg.admin_any) {
        char *addr = NULL;
        ev_uint16_t port = 0;
        evhttp_connection_get_peer(evhttp_request_get_connection(req), &addr, &port);
        if (addr == NULL ||
            (strncmp(addr, "127.", 4) != 0 && strcmp(addr, "::1") != 0 &&
             strncmp(addr, "::ffff:127.", 11) != 0)) {
            send_error(m, req, API_CHAT, 403, "permission_error", NULL, NULL,
                       "The admin API answers loopback peers only (start with --admin-any).");
            return 0;
        }
    }
    if (m->cfg.admin_token) {
        const char *auth =
            evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
        size_t tl = strlen(m->cfg.admin_token);
        if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0 || strlen(auth + 7) != tl ||
            memcmp(auth + 7, m->cfg.admin_token, tl) != 0) {
            send_error(m, req, API_CHAT, 401, "authentication_error", NULL, NULL,
                       "The admin API needs 'Authorization: Bearer <token>'.");
            return 0;
        }
    }
    return 1;
}

static void send_cjson(struct mock *m, struct evhttp_request *req, cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (s == NULL) {
        send_error(m, req, API_CHAT, 500, NULL, NULL, NULL, "out of memory");
        return;
    }
    send_json(m, req, 200, s);
    free(s);
}

static cJSON *profile_json(const struct profile *p)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", p->name);
    cJSON_AddStringToObject(o, "summary", p->summary);
    cJSON_AddStringToObject(o, "on_disconnect", profile_disconnect_name(p->on_disconnect));
    cJSON_AddNumberToObject(o, "stop_lag_tokens", p->stop_lag_tokens);
    cJSON_AddNumberToObject(o, "stop_lag_ms", p->stop_lag_ms);
    cJSON_AddStringToObject(o, "bill", profile_bill_name(p->bill));
    cJSON_AddStringToObject(o, "report", profile_report_name(p->report));
    cJSON_AddNumberToObject(o, "ttft_ms", p->ttft_ms);
    cJSON_AddNumberToObject(o, "tps", p->tps);
    cJSON_AddNumberToObject(o, "jitter", p->jitter);
    cJSON_AddNumberToObject(o, "natural_length", p->natural_length);
    cJSON_AddNumberToObject(o, "price_in_per_mtok", p->price_in_per_mtok);
    cJSON_AddNumberToObject(o, "price_out_per_mtok", p->price_out_per_mtok);
    return o;
}

static cJSON *profile_state_json(struct mock *m)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "current", profile_json(current_profile(m)));
    cJSON *sched = cJSON_AddArrayToObject(o, "schedule");
    uint64_t since = (clock_now_ns() - m->sched_start_ns) / 1000000ull;
    for (size_t i = 0; i < m->sched.n; i++) {
        cJSON *st = cJSON_CreateObject();
        cJSON_AddNumberToObject(st, "at_ms", (double)m->sched.steps[i].at_ms);
        cJSON_AddStringToObject(st, "profile", m->sched.steps[i].profile->name);
        cJSON_AddItemToArray(sched, st);
    }
    cJSON_AddNumberToObject(o, "schedule_elapsed_ms", (double)since);
    cJSON *names = cJSON_AddArrayToObject(o, "presets");
    for (size_t i = 0; i < profile_count(); i++)
        cJSON_AddItemToArray(names, cJSON_CreateString(profile_at(i)->name));
    return o;
}

static cJSON *parse_admin_body(struct mock *m, struct evhttp_request *req)
{
    size_t len;
    char *body = body_string(req, &len);
    cJSON *j = body ? cJSON_ParseWithLength(body, len) : NULL;
    free(body);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        send_error(m, req, API_CHAT, 400, NULL, NULL, NULL,
                   "The request body must be a JSON object.");
        return NULL;
    }
    return j;
}

/* Applies {"ttft_ms","tps","jitter","natural_length","stop_lag_tokens","stop_lag_ms"} to p.
 * Returns 0, or -1 with err naming the key. */
static int apply_overrides(const cJSON *o, struct profile *p, char *err, size_t errlen)
{
    static const struct {
        const char *key;
        double lo, hi;
    } keys[] = {{"ttft_ms", 0, 3600000},           {"tps", 0.01, 1e6},
                {"jitter", 0, 1},                  {"natural_length", 1, LEDGER_MAX_TOKENS},
                {"stop_lag_tokens", 0, 1000000},   {"stop_lag_ms", 0, 3600000},
                {"price_in_per_mtok", 0, 1e6},     {"price_out_per_mtok", 0, 1e6}};
    const cJSON *item;
    cJSON_ArrayForEach(item, o)
    {
        size_t k = 0;
        while (k < sizeof keys / sizeof keys[0] && strcmp(keys[k].key, item->string) != 0)
            k++;
        if (k == sizeof keys / sizeof keys[0]) {
            snprintf(err, errlen, "overrides: unknown key '%.64s' (ttft_ms, tps, jitter, "
                                  "natural_length, stop_lag_tokens, stop_lag_ms, "
                                  "price_in_per_mtok, price_out_per_mtok)", item->string);
            return -1;
        }
        double v = item->valuedouble;
        if (!cJSON_IsNumber(item) || !(v >= keys[k].lo && v <= keys[k].hi)) {
            snprintf(err, errlen, "overrides.%s: expected a number from %g to %g", keys[k].key,
                     keys[k].lo, keys[k].hi);
            return -1;
        }
        switch (k) {
        case 0: p->ttft_ms = (uint32_t)v; break;
        case 1: p->tps = v; break;
        case 2: p->jitter = v; break;
        case 3: p->natural_length = (uint32_t)v; break;
        case 4: p->stop_lag_tokens = (uint32_t)v; break;
        case 5: p->stop_lag_ms = (uint32_t)v; break;
        case 6: p->price_in_per_mtok = v; break;
        default: p->price_out_per_mtok = v; break;
        }
    }
    return 0;
}

static void admin_profile_post(struct mock *m, struct evhttp_request *req)
{
    cJSON *j = parse_admin_body(m, req);
    if (j == NULL)
        return;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "name");
    const cJSON *sched = cJSON_GetObjectItemCaseSensitive(j, "schedule");
    const cJSON *over = cJSON_GetObjectItemCaseSensitive(j, "overrides");
    char spec[256], err[256];
    const char *bad_param = NULL;
    struct schedule s;
    struct profile_set *set = NULL;
    if (cJSON_IsString(name) && sched == NULL) {
        snprintf(spec, sizeof spec, "0s:%.200s", name->valuestring);
    } else if (cJSON_IsString(sched) && name == NULL) {
        snprintf(spec, sizeof spec, "%.250s", sched->valuestring);
    } else {
        snprintf(err, sizeof err, "Expected {\"name\":\"PRESET\"} or "
                                  "{\"schedule\":\"0s:A,30s:B\"}, optionally with \"overrides\".");
        goto fail;
    }
    bad_param = name ? "name" : "schedule";
    if (schedule_parse(spec, &s, err, sizeof err) != 0)
        goto fail;
    bad_param = "overrides";
    if (over && !cJSON_IsObject(over)) {
        snprintf(err, sizeof err, "overrides: expected an object");
        goto fail;
    }
    if (over) {
        if (m->nsets >= MOCK_MAX_PROFILE_SETS) {
            snprintf(err, sizeof err, "overrides: more than %d profile changes in one run",
                     MOCK_MAX_PROFILE_SETS);
            goto fail;
        }
        set = calloc(1, sizeof *set);
        if (set == NULL) {
            snprintf(err, sizeof err, "out of memory");
            goto fail;
        }
        for (size_t i = 0; i < s.n; i++) {
            set->p[i] = *s.steps[i].profile;
            if (apply_overrides(over, &set->p[i], err, sizeof err) != 0)
                goto fail;
            s.steps[i].profile = &set->p[i];
        }
        set->next = m->sets;
        m->sets = set;
        m->nsets++;
    }
    cJSON_Delete(j);
    m->sched = s;
    m->sched_start_ns = clock_now_ns();
    send_cjson(m, req, profile_state_json(m));
    return;
fail:
    free(set);
    cJSON_Delete(j);
    send_error(m, req, API_CHAT, 400, NULL, NULL, bad_param, err);
}

static void admin_faults_post(struct mock *m, struct evhttp_request *req)
{
    cJSON *j = parse_admin_body(m, req);
    if (j == NULL)
        return;
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, "fault");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "count");
    char err[256];
    struct fault tmp;
    if (!cJSON_IsString(f) || fault_parse(f->valuestring, &tmp, err, sizeof err) != 0) {
        if (!cJSON_IsString(f))
            snprintf(err, sizeof err, "Expected {\"fault\":\"status=429\",\"count\":N}.");
        cJSON_Delete(j);
        send_error(m, req, API_CHAT, 400, NULL, NULL, "fault", err);
        return;
    }
    double count = cJSON_IsNumber(c) ? c->valuedouble : (c == NULL ? 1 : -1);
    if (count < 0 || count > 1e9 || count != (double)(uint64_t)count) {
        cJSON_Delete(j);
        send_error(m, req, API_CHAT, 400, NULL, NULL, "count",
                   "Invalid 'count': expected an integer from 0 to 1000000000.");
        return;
    }
    snprintf(m->queued_fault, sizeof m->queued_fault, "%s", f->valuestring);
    m->queued_fault_count = (uint64_t)count;
    cJSON_Delete(j);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "fault", m->queued_fault);
    cJSON_AddNumberToObject(o, "count", (double)m->queued_fault_count);
    send_cjson(m, req, o);
}

static void admin_reset(struct mock *m, struct evhttp_request *req)
{
    ledger_reset(m->ledger);
    m->queued_fault_count = 0;
    /* forget finished background responses; running ones stay reachable until they end */
    for (struct gen *g = m->gens; g; g = g->next) {
        if (g->stored && g->finished) {
            g->stored = 0;
            m->stored--;
            gen_maybe_finish(g);
        }
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "reset", 1);
    send_cjson(m, req, o);
}

static void metrics_reply(struct mock *m, struct evhttp_request *req)
{
    struct evbuffer *b = m->scratch;
    evbuffer_drain(b, evbuffer_get_length(b));
    const struct mock_metrics *x = &m->mx;
    evbuffer_add_printf(b,
                        "# HELP tailgate_mock_requests_total Generation requests accepted.\n"
                        "# TYPE tailgate_mock_requests_total counter\n"
                        "tailgate_mock_requests_total{api=\"chat\"} %llu\n"
                        "tailgate_mock_requests_total{api=\"responses\"} %llu\n"
                        "tailgate_mock_requests_total{api=\"messages\"} %llu\n"
                        "# TYPE tailgate_mock_bad_requests_total counter\n"
                        "tailgate_mock_bad_requests_total %llu\n"
                        "# TYPE tailgate_mock_fault_http_errors_total counter\n"
                        "tailgate_mock_fault_http_errors_total %llu\n"
                        "# TYPE tailgate_mock_tokens_generated_total counter\n"
                        "tailgate_mock_tokens_generated_total %llu\n"
                        "# HELP tailgate_mock_tail_tokens_total Tokens generated after the "
                        "peer left.\n"
                        "# TYPE tailgate_mock_tail_tokens_total counter\n"
                        "tailgate_mock_tail_tokens_total %llu\n"
                        "# TYPE tailgate_mock_peer_closes_total counter\n"
                        "tailgate_mock_peer_closes_total{kind=\"fin\"} %llu\n"
                        "tailgate_mock_peer_closes_total{kind=\"rst\"} %llu\n"
                        "tailgate_mock_peer_closes_total{kind=\"cancel_api\"} %llu\n"
                        "# TYPE tailgate_mock_billed_output_tokens_total counter\n"
                        "tailgate_mock_billed_output_tokens_total %llu\n"
                        "# TYPE tailgate_mock_active_generations gauge\n"
                        "tailgate_mock_active_generations %zu\n"
                        "# TYPE tailgate_mock_ledger_records gauge\n"
                        "tailgate_mock_ledger_records %zu\n"
                        "# TYPE tailgate_mock_ledger_dropped_total counter\n"
                        "tailgate_mock_ledger_dropped_total %llu\n"
                        "# TYPE tailgate_mock_ledger_file_errors_total counter\n"
                        "tailgate_mock_ledger_file_errors_total %llu\n",
                        (unsigned long long)x->requests[API_CHAT],
                        (unsigned long long)x->requests[API_RESPONSES],
                        (unsigned long long)x->requests[API_MESSAGES],
                        (unsigned long long)x->bad_requests, (unsigned long long)x->http_errors,
                        (unsigned long long)x->tokens_generated,
                        (unsigned long long)x->tokens_tail, (unsigned long long)x->closes_fin,
                        (unsigned long long)x->closes_rst, (unsigned long long)x->closes_cancel,
                        (unsigned long long)x->billed_output, m->active,
                        ledger_count(m->ledger), (unsigned long long)ledger_dropped(m->ledger),
                        (unsigned long long)ledger_file_errors(m->ledger));
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4");
    evhttp_send_reply(req, 200, "OK", b);
}

static void handle_admin(struct mock *m, struct evhttp_request *req, const char *path,
                         enum evhttp_cmd_type method)
{
    if (!admin_allowed(m, req))
        return;
    int get = method == EVHTTP_REQ_GET, post = method == EVHTTP_REQ_POST;
    if (strcmp(path, "health") == 0 && get) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "status", "ok");
        cJSON_AddStringToObject(o, "version", MOCK_VERSION);
        cJSON_AddNumberToObject(o, "active_streams", (double)m->active);
        cJSON_AddNumberToObject(o, "ledger_records", (double)ledger_count(m->ledger));
        cJSON_AddNumberToObject(o, "ledger_dropped", (double)ledger_dropped(m->ledger));
        cJSON_AddNumberToObject(o, "uptime_ms",
                                (double)((clock_now_ns() - m->t_start_ns) / 1000000ull));
        send_cjson(m, req, o);
    } else if (strcmp(path, "clock") == 0 && get) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "mono_ns", (double)clock_now_ns());
        send_cjson(m, req, o);
    } else if (strcmp(path, "ledger") == 0 && get) {
        struct evkeyvalq q;
        TAILQ_INIT(&q);
        const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
        if (query && evhttp_parse_query_str(query, &q) != 0) {
            send_error(m, req, API_CHAT, 400, NULL, NULL, NULL, "Malformed query string.");
            return;
        }
        cJSON *o = ledger_query_json(m->ledger, evhttp_find_header(&q, "id"));
        evhttp_clear_headers(&q);
        send_cjson(m, req, o);
    } else if (strcmp(path, "profile") == 0 && get) {
        send_cjson(m, req, profile_state_json(m));
    } else if (strcmp(path, "profile") == 0 && post) {
        admin_profile_post(m, req);
    } else if (strcmp(path, "faults") == 0 && post) {
        admin_faults_post(m, req);
    } else if (strcmp(path, "reset") == 0 && post) {
        admin_reset(m, req);
    } else if (strcmp(path, "invoice.csv") == 0 && get) {
        char *csv = ledger_invoice_csv(m->ledger);
        if (csv == NULL) {
            send_error(m, req, API_CHAT, 500, NULL, NULL, NULL, "out of memory");
            return;
        }
        evbuffer_drain(m->scratch, evbuffer_get_length(m->scratch));
        evbuffer_add(m->scratch, csv, strlen(csv));
        free(csv);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/csv");
        evhttp_send_reply(req, 200, "OK", m->scratch);
    } else {
        int known = strcmp(path, "health") == 0 || strcmp(path, "clock") == 0 ||
                    strcmp(path, "ledger") == 0 || strcmp(path, "profile") == 0 ||
                    strcmp(path, "faults") == 0 || strcmp(path, "reset") == 0 ||
                    strcmp(path, "invoice.csv") == 0;
        char msg[200];
        snprintf(msg, sizeof msg, known ? "Method not allowed for /_tailgate/%.64s."
                                        : "Unknown admin route /_tailgate/%.64s.",
                 path);
        send_error(m, req, API_CHAT, known ? 405 : 404, NULL, NULL, NULL, msg);
    }
}

/* ---- routing ----------------------------------------------------------------------------- */

static void handle_cb(struct evhttp_request *req, void *arg)
{
    struct mock *m = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    if (path == NULL || *path == '\0')
        path = "/";
    if (strncmp(path, "/_tailgate/", 11) == 0) {
        handle_admin(m, req, path + 11, method);
        return;
    }
    if (strcmp(path, "/metrics") == 0 && method == EVHTTP_REQ_GET) {
        if (admin_allowed(m, req))
            metrics_reply(m, req);
        return;
    }
    enum api api = strncmp(path, "/v1/messages", 12) == 0 ? API_MESSAGES : API_CHAT;
    struct {
        const char *path;
        enum api api;
    } gens[] = {{"/v1/chat/completions", API_CHAT},
                {"/v1/responses", API_RESPONSES},
                {"/v1/messages", API_MESSAGES}};
    for (size_t i = 0; i < sizeof gens / sizeof gens[0]; i++) {
        if (strcmp(path, gens[i].path) != 0)
            continue;
        if (method != EVHTTP_REQ_POST) {
            send_error(m, req, gens[i].api, 405, NULL, NULL, NULL,
                       "Method not allowed: use POST.");
            return;
        }
        handle_generate(m, req, gens[i].api);
        return;
    }
    if (strncmp(path, "/v1/responses/", 14) == 0) {
        char id[128];
        const char *rest = path + 14;
        const char *slash = strchr(rest, '/');
        size_t idlen = slash ? (size_t)(slash - rest) : strlen(rest);
        if (idlen == 0 || idlen >= sizeof id) {
            send_error(m, req, API_RESPONSES, 404, NULL, NULL, NULL, "Unknown response id.");
            return;
        }
        memcpy(id, rest, idlen);
        id[idlen] = '\0';
        if (slash == NULL && method == EVHTTP_REQ_GET) {
            handle_retrieve(m, req, id);
            return;
        }
        if (slash && strcmp(slash, "/cancel") == 0 && method == EVHTTP_REQ_POST) {
            handle_cancel(m, req, id);
            return;
        }
        send_error(m, req, API_RESPONSES, slash && strcmp(slash, "/cancel") != 0 ? 404 : 405,
                   NULL, NULL, NULL, "Unknown route or method for /v1/responses/{id}.");
        return;
    }
    char msg[200];
    snprintf(msg, sizeof msg, "Unknown request URL: %.32s %.120s.",
             method == EVHTTP_REQ_GET ? "GET" : method == EVHTTP_REQ_POST ? "POST" : "other",
             path);
    send_error(m, req, api, 404, NULL, api == API_MESSAGES ? NULL : "unknown_url", NULL, msg);
}
