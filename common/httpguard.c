/* The guard of tailgate's evhttp servers; what it bounds and why is in httpguard.h. */
#include "httpguard.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "clock.h"

#if !defined(LIBEVENT_VERSION_NUMBER) || LIBEVENT_VERSION_NUMBER < 0x02010000 ||                 \
    LIBEVENT_VERSION_NUMBER >= 0x02020000
#error "httpguard relies on libevent 2.1's evhttp (see httpguard.h)"
#endif

#define BUCKETS 4096
#define PATH_MAX_LEN 160
#define BACKOFF_FIRST_MS 10u
#define BACKOFF_MAX_MS 1000u
#define LOG_EVERY_NS 1000000000ull

enum phase {
    PH_IDLE,       /* between requests (or before the first byte) */
    PH_HEAD,       /* request line and headers arriving */
    PH_BODY,       /* head complete, body arriving */
    PH_DISPATCHED, /* the server has the request; its reply is pending or streaming */
    PH_CLOSING,    /* rejected: the error reply is on its way, then the connection closes */
    PH_H2,         /* handed to HTTP/2 (httpguard_set_h2): only its end concerns the guard */
};

struct conn {
    struct httpguard *g;
    struct bufferevent *bev;
    struct evhttp_connection *evcon; /* known from the first byte on */
    struct event *timer;
    enum phase phase;
    size_t head_bytes;
    size_t head_lines; /* line feeds seen in this head */
    int eol;           /* 1 just after LF, 2 after LF CR: the next LF ends the head */
    int path_state;    /* 0 in the method, 1 in the target, 2 done */
    size_t path_len;
    char path[PATH_MAX_LEN];
    int cause; /* a status the guard decided for the request being read (408, 431) */
    char cause_msg[160];
    int discarding;
    int forcing; /* inside force(): a free must leave the struct to it */
    int dead;
    int sniff;  /* HTTP/2 is on and the first bytes may still be its preface */
    void *h2;   /* PH_H2: what httpguard_h2_take_fn returned */
    struct evhttp_request *req; /* while dispatched */
    void (*done_cb)(struct evhttp_request *, void *);
    void *done_arg;
    struct conn *hnext;
};

struct httpguard {
    struct evhttp *http;
    struct evconnlistener *listener;
    struct httpguard_limits lim;
    void (*cb)(struct evhttp_request *, void *);
    void *cb_arg;
    httpguard_reject_cb reject;
    httpguard_log_cb log;
    void *arg;
    struct event *resume_ev;
    unsigned backoff_ms;
    uint64_t last_log_ns;
    uint64_t unlogged;
    struct httpguard_stats st;
    httpguard_bev_fn make_bev;
    void *make_bev_arg;
    httpguard_h2_take_fn h2_take;
    httpguard_h2_upgrade_fn h2_upgrade;
    httpguard_h2_gone_fn h2_gone;
    void *h2_arg;
    struct httpguard *next;
};

/* ---- the registry: connection guards by bufferevent, guards by evhttp ---------------------- */
/* Servers run in several threads in the tests; a lock taken per connection, not per byte. */

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct conn *reg_conns[BUCKETS];
static struct httpguard *reg_guards;

static size_t bucket_of(const void *p)
{
    uintptr_t v = (uintptr_t)p;
    return (size_t)((v >> 4) ^ (v >> 16)) & (BUCKETS - 1);
}

static void reg_put(struct conn *c)
{
    size_t b = bucket_of(c->bev);
    pthread_mutex_lock(&reg_lock);
    c->hnext = reg_conns[b];
    reg_conns[b] = c;
    pthread_mutex_unlock(&reg_lock);
}

static struct conn *reg_find(const struct bufferevent *bev, int take)
{
    if (bev == NULL)
        return NULL;
    size_t b = bucket_of(bev);
    pthread_mutex_lock(&reg_lock);
    struct conn **pp = &reg_conns[b];
    while (*pp != NULL && (*pp)->bev != bev)
        pp = &(*pp)->hnext;
    struct conn *c = *pp;
    if (c != NULL && take)
        *pp = c->hnext;
    pthread_mutex_unlock(&reg_lock);
    return c;
}

static struct conn *conn_of_req(struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    return evcon ? reg_find(evhttp_connection_get_bufferevent(evcon), 0) : NULL;
}

static struct httpguard *guard_of_http(const void *http)
{
    pthread_mutex_lock(&reg_lock);
    struct httpguard *g = reg_guards;
    while (g != NULL && (const void *)g->http != http)
        g = g->next;
    pthread_mutex_unlock(&reg_lock);
    return g;
}

/* ---- small helpers ----------------------------------------------------------------------- */

static struct timeval ms_tv(unsigned ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    return tv;
}

static void arm(struct conn *c, unsigned ms)
{
    struct timeval tv = ms_tv(ms);
    evtimer_add(c->timer, &tv);
}

const char *httpguard_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 401: return "Unauthorized";
    case 409: return "Conflict";
    case 429: return "Too Many Requests";
    case 502: return "Bad Gateway";
    case 504: return "Gateway Timeout";
    case 529: return "Overloaded";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return NULL;
    }
}

struct httpguard_limits httpguard_defaults(size_t max_body)
{
    struct httpguard_limits l = {HTTPGUARD_MAX_HEAD,          HTTPGUARD_MAX_HEADERS,
                                 max_body,                    HTTPGUARD_MAX_PENDING,
                                 HTTPGUARD_HEADER_TIMEOUT_MS, HTTPGUARD_BODY_TIMEOUT_MS,
                                 HTTPGUARD_IDLE_TIMEOUT_MS};
    return l;
}

int httpguard_parse_ms(const char *s, unsigned *ms)
{
    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0)
        return -1;
    unsigned long long mul = 1;
    if (*end == '\0' || strcmp(end, "ms") == 0)
        mul = 1;
    else if (strcmp(end, "s") == 0)
        mul = 1000;
    else if (strcmp(end, "m") == 0)
        mul = 60000;
    else
        return -1;
    if (v > 86400000ull / mul)
        return -1;
    *ms = (unsigned)(v * mul);
    return 0;
}

/* ---- rejections ---------------------------------------------------------------------------- */

static void default_reject(struct evhttp_request *req, int status, const char *message)
{
    struct evbuffer *b = evbuffer_new();
    if (b == NULL) {
        evhttp_send_reply(req, status, httpguard_reason(status), NULL);
        return;
    }
    /* our messages are ASCII with no quotes or backslashes */
    evbuffer_add_printf(b, "{\"error\":{\"message\":\"%s\",\"code\":%d}}\n", message, status);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_send_reply(req, status, httpguard_reason(status), b);
    evbuffer_free(b);
}

static void send_reject(struct conn *c, struct evhttp_request *req, int status, const char *msg)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    evhttp_clear_headers(out);
    evhttp_add_header(out, "Connection", "close");
    /* a request line that did not parse leaves the version at 0.0 */
    if (req->major == 0) {
        req->major = 1;
        req->minor = 1;
    }
    const char *path = req->uri;
    if (c != NULL) {
        if (c->phase != PH_CLOSING && c->timer != NULL)
            evtimer_del(c->timer);
        c->phase = PH_CLOSING;
        c->g->st.rejected++;
        if (path == NULL && c->path_len > 0)
            path = c->path;
    }
    if (c != NULL && c->g->reject != NULL)
        c->g->reject(req, status, msg, path, c->g->arg);
    else
        default_reject(req, status, msg);
}

/* What a rejection evhttp made means: it reports a head it could not read as 400 and a body it
 * could not read as 413, whatever the cause. */
static int classify(const struct conn *c, struct evhttp_request *req, int error, char *msg,
                    size_t n)
{
    struct httpguard_limits def = httpguard_defaults(0);
    const struct httpguard_limits *lim = c ? &c->g->lim : &def;
    if (c != NULL && c->cause != 0) {
        snprintf(msg, n, "%s", c->cause_msg);
        return c->cause;
    }
    switch (error) {
    case 400: {
        struct evhttp_connection *evcon = evhttp_request_get_connection(req);
        size_t pending =
            evcon ? evbuffer_get_length(bufferevent_get_input(evhttp_connection_get_bufferevent(evcon)))
                  : 0;
        if (req->headers_size + pending > lim->max_head) {
            snprintf(msg, n, "The request head is larger than %zu bytes.", lim->max_head);
            return 431;
        }
        struct evkeyvalq *in = evhttp_request_get_input_headers(req);
        if (evhttp_find_header(in, "Content-Length") != NULL &&
            evhttp_find_header(in, "Transfer-Encoding") != NULL)
            snprintf(msg, n, "The request has both Content-Length and Transfer-Encoding.");
        else
            snprintf(msg, n, "The request line, a header line or Content-Length is malformed.");
        return 400;
    }
    case 413:
        if (req->chunked && (lim->max_body == 0 || req->body_size <= lim->max_body)) {
            snprintf(msg, n, "The chunked request body is malformed.");
            return 400;
        }
        snprintf(msg, n, "The request body is larger than %zu bytes.", lim->max_body);
        return 413;
    case 501:
        snprintf(msg, n, "The request method is not supported.");
        return 501;
    case 417:
        snprintf(msg, n, "Only 'Expect: 100-continue' is supported.");
        return 417;
    default:
        snprintf(msg, n, "The request was rejected.");
        return error >= 400 && error < 600 ? error : 400;
    }
}

/* libevent's own, which writes an HTML page. evhttp calls it for every request it cannot read
 * and for methods it does not know; we answer in the server's JSON shape instead. */
void evhttp_send_error(struct evhttp_request *req, int error, const char *reason)
{
    (void)reason;
    struct conn *c = conn_of_req(req);
    char msg[200];
    int status = classify(c, req, error, msg, sizeof msg);
    send_reject(c, req, status, msg);
}

/* ---- connection lifetime ------------------------------------------------------------------ */

static void input_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg);

static void conn_release(struct conn *c)
{
    evbuffer_remove_cb(bufferevent_get_input(c->bev), input_cb, c);
    if (c->timer != NULL)
        event_free(c->timer);
    c->timer = NULL;
    c->g->st.open--;
    if (c->forcing)
        c->dead = 1;
    else
        free(c);
}

typedef void (*conn_free_fn)(struct evhttp_connection *);
static conn_free_fn real_conn_free;
static pthread_once_t real_once = PTHREAD_ONCE_INIT;

static void resolve_real(void)
{
    void *sym = dlsym(RTLD_NEXT, "evhttp_connection_free");
    memcpy(&real_conn_free, &sym, sizeof sym);
}

/* libevent's own, which every path that ends a connection goes through: the guard of the
 * connection goes first. */
void evhttp_connection_free(struct evhttp_connection *evcon)
{
    pthread_once(&real_once, resolve_real);
    struct conn *c = reg_find(evhttp_connection_get_bufferevent(evcon), 1);
    if (c != NULL && c->phase == PH_H2 && c->h2 != NULL && c->g->h2_gone != NULL)
        c->g->h2_gone(c->h2); /* evhttp_free, or the HTTP/2 side's own close (it knows) */
    if (c != NULL)
        conn_release(c);
    if (real_conn_free != NULL)
        real_conn_free(evcon);
}

/* ---- reading a request ---------------------------------------------------------------------- */

static void head_begin(struct conn *c)
{
    c->phase = PH_HEAD;
    c->head_bytes = 0;
    c->head_lines = 0;
    c->eol = 0;
    c->path_state = 0;
    c->path_len = 0;
    c->path[0] = '\0';
    arm(c, c->g->lim.header_timeout_ms);
}

/* The guard decided this request's fate while evhttp is still reading it: make evhttp's next
 * parse step fail (limits of 0), so the request ends through evhttp's own error path, which
 * sends our reply and then closes. */
static void doom(struct conn *c, int status, const char *msg)
{
    c->cause = status;
    snprintf(c->cause_msg, sizeof c->cause_msg, "%s", msg);
    evhttp_connection_set_max_headers_size(c->evcon, 0);
    evhttp_connection_set_max_body_size(c->evcon, 0);
}

static void scan_head(struct conn *c, struct evbuffer *buf, size_t from, size_t n)
{
    struct evbuffer_ptr pos;
    if (evbuffer_ptr_set(buf, &pos, from, EVBUFFER_PTR_SET) != 0)
        return;
    struct evbuffer_iovec vec[8];
    while (n > 0 && c->phase == PH_HEAD) {
        int nv = evbuffer_peek(buf, (ev_ssize_t)n, &pos, vec, 8);
        if (nv <= 0)
            return;
        if (nv > 8) /* it says how many the range needs; it filled 8 */
            nv = 8;
        size_t used = 0;
        for (int i = 0; i < nv && c->phase == PH_HEAD && used < n; i++) {
            const unsigned char *p = vec[i].iov_base;
            size_t len = vec[i].iov_len;
            if (len > n - used)
                len = n - used;
            size_t k = 0;
            for (; k < len; k++) {
                unsigned char ch = p[k];
                c->head_bytes++;
                if (c->path_state == 0 && ch == ' ')
                    c->path_state = 1;
                else if (c->path_state == 1) {
                    if (ch == ' ' || ch == '?' || ch == '\r' || ch == '\n' ||
                        c->path_len + 1 >= sizeof c->path)
                        c->path_state = 2;
                    else {
                        c->path[c->path_len++] = (char)ch;
                        c->path[c->path_len] = '\0';
                    }
                }
                if (ch == '\n') {
                    c->head_lines++;
                    if (c->path_state < 2)
                        c->path_state = 2;
                    if (c->eol != 0) { /* an empty line: the head is complete */
                        c->phase = PH_BODY;
                        arm(c, c->g->lim.body_timeout_ms);
                        k++;
                        break;
                    }
                    c->eol = 1;
                } else if (ch == '\r' && c->eol == 1) {
                    c->eol = 2;
                } else {
                    c->eol = 0;
                }
            }
            used += k;
            if (c->cause == 0 && c->head_lines > 0 && c->head_lines - 1 > c->g->lim.max_headers) {
                char m[120];
                snprintf(m, sizeof m, "The request has more than %zu header fields.",
                         c->g->lim.max_headers);
                doom(c, 431, m);
            } else if (c->cause == 0 && c->head_bytes > c->g->lim.max_head) {
                char m[120];
                snprintf(m, sizeof m, "The request head is larger than %zu bytes.",
                         c->g->lim.max_head);
                doom(c, 431, m);
            }
            if (c->cause != 0)
                return;
        }
        if (used == 0 || evbuffer_ptr_set(buf, &pos, used, EVBUFFER_PTR_ADD) != 0)
            return;
        n -= used;
    }
}

static void trip_pending(struct conn *c, struct evbuffer *buf)
{
    evbuffer_drain(buf, evbuffer_get_length(buf));
    if (c->discarding)
        return;
    c->discarding = 1;
    c->g->st.inputs_capped++;
    if (c->req != NULL) {
        struct evkeyvalq *out = evhttp_request_get_output_headers(c->req);
        if (evhttp_find_header(out, "Connection") == NULL)
            evhttp_add_header(out, "Connection", "close");
    }
}

/* Binds the guard to its evhttp connection at the first byte: evhttp gives each connection's
 * bufferevent the evhttp_connection as callback argument (http.c, every bufferevent_setcb). */
static int bind_evcon(struct conn *c)
{
    void *arg = NULL;
    bufferevent_getcb(c->bev, NULL, NULL, NULL, &arg);
    if (arg == NULL || evhttp_connection_get_bufferevent(arg) != c->bev)
        return -1;
    c->evcon = arg;
    bufferevent_set_timeouts(c->bev, NULL, NULL); /* from now on the guard's own deadlines */
    return 0;
}

/* The HTTP/2 client preface (RFC 9113 3.4), which no HTTP/1.1 request line starts with. */
static const char h2_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define H2_SNIFF_MIN 4 /* "PRI ": no method evhttp knows starts so */

/* 1: the preface (or enough of it), 0: not HTTP/2, -1: too few bytes to tell. */
static int sniff_h2(struct evbuffer *buf)
{
    size_t want = sizeof h2_preface - 1;
    size_t len = evbuffer_get_length(buf);
    size_t n = len < want ? len : want;
    char head[sizeof h2_preface];
    if (evbuffer_copyout(buf, head, n) != (ev_ssize_t)n || memcmp(head, h2_preface, n) != 0)
        return 0;
    return n >= H2_SNIFF_MIN ? 1 : -1;
}

/* Hands the connection to HTTP/2: the guard's timers and input watch stop (its deadlines are
 * HTTP/1.1's), the registry keeps the entry only so evhttp_connection_free can tell the HTTP/2
 * side. 'c' stays allocated until then. */
static void hand_off_h2(struct conn *c, struct evbuffer *buf)
{
    evtimer_del(c->timer);
    evbuffer_remove_cb(buf, input_cb, c);
    c->phase = PH_H2;
    c->sniff = 0;
    c->h2 = c->g->h2_take(c->bev, c->evcon, c->g->h2_arg);
    if (c->h2 == NULL) /* out of memory: evhttp reads the preface as a bad request line */
        c->phase = PH_CLOSING;
}

static void input_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct conn *c = arg;
    if (info->n_added == 0 || c->dead)
        return;
    if (c->evcon == NULL && bind_evcon(c) != 0) {
        evbuffer_remove_cb(buf, input_cb, c); /* not an evhttp connection after all */
        return;
    }
    if (c->sniff) {
        int v = sniff_h2(buf);
        if (v == 1) {
            hand_off_h2(c, buf);
            return;
        }
        if (v == 0)
            c->sniff = 0;
    }
    size_t len = evbuffer_get_length(buf);
    if (c->discarding) {
        evbuffer_drain(buf, len);
        return;
    }
    switch (c->phase) {
    case PH_DISPATCHED:
    case PH_CLOSING:
        if (len > c->g->lim.max_pending)
            trip_pending(c, buf);
        return;
    case PH_IDLE:
        head_begin(c);
        scan_head(c, buf, len - info->n_added, info->n_added);
        return;
    case PH_HEAD:
        scan_head(c, buf, len - info->n_added, info->n_added);
        return;
    case PH_BODY:
        arm(c, c->g->lim.body_timeout_ms);
        return;
    case PH_H2: /* no longer watched */
        return;
    }
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct conn *c = arg;
    struct httpguard *g = c->g;
    char m[160];
    switch (c->phase) {
    case PH_IDLE:
        g->st.timeouts_idle++;
        evhttp_connection_free(c->evcon); /* frees c */
        return;
    case PH_HEAD:
        g->st.timeouts_header++;
        snprintf(m, sizeof m, "The request head did not arrive within %u ms.",
                 g->lim.header_timeout_ms);
        break;
    case PH_BODY:
        g->st.timeouts_body++;
        snprintf(m, sizeof m, "The request body paused for more than %u ms.",
                 g->lim.body_timeout_ms);
        break;
    default:
        return;
    }
    doom(c, 408, m);
    c->forcing = 1;
    bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS);
    c->forcing = 0;
    if (c->dead) {
        free(c);
        return;
    }
    if (c->phase != PH_CLOSING) /* evhttp found nothing to fail (a chunked body between
                                   chunks, say): close without a reply */
        evhttp_connection_free(c->evcon);
}

/* ---- dispatch and completion ------------------------------------------------------------- */

static void complete_cb(struct evhttp_request *req, void *arg)
{
    struct conn *c = arg;
    void (*cb)(struct evhttp_request *, void *) = c->done_cb;
    void *cb_arg = c->done_arg;
    c->done_cb = NULL;
    c->req = NULL;
    if (c->phase == PH_DISPATCHED) {
        c->phase = PH_IDLE;
        arm(c, c->g->lim.idle_timeout_ms);
        struct evbuffer *in = bufferevent_get_input(c->bev);
        size_t len = evbuffer_get_length(in);
        if (len > 0 && !c->discarding) { /* a pipelined request is already here */
            head_begin(c);
            scan_head(c, in, 0, len);
        }
    }
    if (cb != NULL)
        cb(req, cb_arg);
}

void httpguard_on_complete(struct evhttp_request *req,
                           void (*cb)(struct evhttp_request *, void *), void *arg)
{
    struct conn *c = conn_of_req(req);
    if (c != NULL && c->req == req) {
        c->done_cb = cb;
        c->done_arg = arg;
        return;
    }
    evhttp_request_set_on_complete_cb(req, cb, arg);
}

/* Framing evhttp accepts but a careful server does not (request smuggling, RFC 9112 6.1). */
static int framing_problem(struct evhttp_request *req, char *msg, size_t n)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    const char *te = evhttp_find_header(in, "Transfer-Encoding");
    const char *cl = evhttp_find_header(in, "Content-Length");
    if (te != NULL && cl != NULL) {
        snprintf(msg, n, "The request has both Content-Length and Transfer-Encoding.");
        return 400;
    }
    if (te != NULL && strcasecmp(te, "chunked") != 0) {
        snprintf(msg, n, "Transfer-Encoding other than chunked is not supported.");
        return 501;
    }
    return 0;
}

int httpguard_lacks_length(struct evhttp_request *req)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    return evhttp_find_header(in, "Content-Length") == NULL &&
           evhttp_find_header(in, "Transfer-Encoding") == NULL;
}

/* 'Upgrade: h2c' among the request's upgrade tokens (RFC 9110 7.8; RFC 7540 3.2). */
static int wants_h2c(struct evhttp_request *req)
{
    const char *up = evhttp_find_header(evhttp_request_get_input_headers(req), "Upgrade");
    for (const char *p = up; p != NULL && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        size_t n = strcspn(p, " \t,");
        if (n == 3 && strncasecmp(p, "h2c", 3) == 0)
            return 1;
        p += n;
    }
    return 0;
}

static void dispatch_cb(struct evhttp_request *req, void *arg)
{
    struct httpguard *g = arg;
    struct conn *c = conn_of_req(req);
    if (c != NULL) {
        evtimer_del(c->timer);
        c->phase = PH_DISPATCHED;
        c->req = req;
        c->done_cb = NULL;
        evhttp_request_set_on_complete_cb(req, complete_cb, c);
        char msg[160];
        int status = framing_problem(req, msg, sizeof msg);
        if (status != 0) {
            send_reject(c, req, status, msg);
            return;
        }
        struct evbuffer *in = bufferevent_get_input(c->bev);
        if (evbuffer_get_length(in) > g->lim.max_pending)
            trip_pending(c, in);
        if (g->h2_upgrade != NULL && !c->discarding && wants_h2c(req)) {
            evhttp_request_set_on_complete_cb(req, NULL, NULL);
            c->phase = PH_H2;
            c->req = NULL;
            evbuffer_remove_cb(in, input_cb, c);
            c->h2 = g->h2_upgrade(c->bev, c->evcon, req, g->h2_arg);
            if (c->h2 != NULL)
                return; /* answered 101; the request is stream 1 */
            c->phase = PH_DISPATCHED; /* declined: an HTTP/1.1 request after all */
            c->req = req;
            evhttp_request_set_on_complete_cb(req, complete_cb, c);
            evbuffer_add_cb(in, input_cb, c);
        }
    }
    g->cb(req, g->cb_arg);
}

/* ---- accepting ---------------------------------------------------------------------------- */

static struct bufferevent *bev_cb(struct event_base *base, void *arg)
{
    struct httpguard *g = arg;
    g->backoff_ms = 0; /* accept works again */
    struct bufferevent *bev = g->make_bev != NULL
                                  ? g->make_bev(base, g->make_bev_arg)
                                  : bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL)
        return NULL; /* evhttp makes its own: that connection goes unguarded */
    struct conn *c = calloc(1, sizeof *c);
    if (c != NULL)
        c->timer = evtimer_new(base, timer_cb, c);
    if (c == NULL || c->timer == NULL) {
        free(c);
        return bev;
    }
    c->g = g;
    c->bev = bev;
    c->phase = PH_IDLE;
    c->sniff = g->h2_take != NULL;
    evbuffer_add_cb(bufferevent_get_input(bev), input_cb, c);
    /* before its first byte a connection has no guard timer: evhttp's read timeout closes a
     * silent one, as real servers do, without a reply */
    struct timeval tv = ms_tv(g->lim.idle_timeout_ms);
    bufferevent_set_timeouts(bev, &tv, NULL);
    reg_put(c);
    g->st.connections++;
    g->st.open++;
    return bev;
}

static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct httpguard *g = arg;
    evconnlistener_enable(g->listener);
}

static void accept_error_cb(struct evconnlistener *lev, void *ptr)
{
    struct httpguard *g = guard_of_http(ptr);
    int err = EVUTIL_SOCKET_ERROR();
    if (g == NULL || !(err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM))
        return; /* transient (ECONNABORTED and the like): the next accept goes on */
    g->st.accept_errors++;
    g->st.accept_pauses++;
    g->backoff_ms = g->backoff_ms == 0 ? BACKOFF_FIRST_MS : g->backoff_ms * 2;
    if (g->backoff_ms > BACKOFF_MAX_MS)
        g->backoff_ms = BACKOFF_MAX_MS;
    evconnlistener_disable(lev);
    struct timeval tv = ms_tv(g->backoff_ms);
    evtimer_add(g->resume_ev, &tv);
    uint64_t now = clock_now_ns();
    if (g->log != NULL && (g->last_log_ns == 0 || now - g->last_log_ns >= LOG_EVERY_NS)) {
        char line[200];
        snprintf(line, sizeof line,
                 "accept: %s; listener paused for %u ms (%llu accept errors so far)",
                 strerror(err), g->backoff_ms, (unsigned long long)g->st.accept_errors);
        g->log(line, g->arg);
        g->last_log_ns = now;
    }
}

struct httpguard *httpguard_new(struct event_base *base, struct evhttp *http,
                                struct evhttp_bound_socket *bound,
                                const struct httpguard_limits *lim,
                                void (*cb)(struct evhttp_request *, void *), void *cb_arg,
                                httpguard_reject_cb reject, httpguard_log_cb log, void *arg)
{
    struct httpguard *g = calloc(1, sizeof *g);
    if (g == NULL)
        return NULL;
    g->resume_ev = evtimer_new(base, resume_cb, g);
    if (g->resume_ev == NULL) {
        free(g);
        return NULL;
    }
    g->http = http;
    g->lim = *lim;
    g->cb = cb;
    g->cb_arg = cb_arg;
    g->reject = reject;
    g->log = log;
    g->arg = arg;
    evhttp_set_max_headers_size(http, (ev_ssize_t)lim->max_head);
    if (lim->max_body > 0)
        evhttp_set_max_body_size(http, (ev_ssize_t)lim->max_body);
    evhttp_set_bevcb(http, bev_cb, g);
    evhttp_set_gencb(http, dispatch_cb, g);
    pthread_mutex_lock(&reg_lock);
    g->next = reg_guards;
    reg_guards = g;
    pthread_mutex_unlock(&reg_lock);
    if (bound != NULL) {
        g->listener = evhttp_bound_socket_get_listener(bound);
        evconnlistener_set_error_cb(g->listener, accept_error_cb);
    }
    return g;
}

void httpguard_free(struct httpguard *g)
{
    if (g == NULL)
        return;
    pthread_mutex_lock(&reg_lock);
    struct httpguard **pp = &reg_guards;
    while (*pp != NULL && *pp != g)
        pp = &(*pp)->next;
    if (*pp == g)
        *pp = g->next;
    pthread_mutex_unlock(&reg_lock);
    event_free(g->resume_ev);
    free(g);
}

void httpguard_set_h2(struct httpguard *g, httpguard_h2_take_fn take,
                      httpguard_h2_upgrade_fn upgrade, httpguard_h2_gone_fn gone, void *arg)
{
    g->h2_take = take;
    g->h2_upgrade = upgrade;
    g->h2_gone = gone;
    g->h2_arg = arg;
}

void httpguard_set_bev(struct httpguard *g, httpguard_bev_fn fn, void *arg)
{
    g->make_bev = fn;
    g->make_bev_arg = arg;
}

struct httpguard_stats httpguard_stats(const struct httpguard *g)
{
    return g->st;
}

void httpguard_metrics(const struct httpguard *g, const char *prefix, struct evbuffer *out)
{
    const struct httpguard_stats *s = &g->st;
    evbuffer_add_printf(
        out,
        "# HELP %s_connections_total Connections accepted.\n"
        "# TYPE %s_connections_total counter\n%s_connections_total %llu\n"
        "# HELP %s_open_connections Connections open now.\n"
        "# TYPE %s_open_connections gauge\n%s_open_connections %llu\n"
        "# HELP %s_accept_errors_total accept() failures for want of descriptors or memory.\n"
        "# TYPE %s_accept_errors_total counter\n%s_accept_errors_total %llu\n"
        "# HELP %s_accept_pauses_total Accept pauses (a backoff) after such a failure.\n"
        "# TYPE %s_accept_pauses_total counter\n%s_accept_pauses_total %llu\n"
        "# HELP %s_timeouts_total Requests answered 408 (header, body); idle connections closed.\n"
        "# TYPE %s_timeouts_total counter\n"
        "%s_timeouts_total{phase=\"header\"} %llu\n"
        "%s_timeouts_total{phase=\"body\"} %llu\n"
        "%s_timeouts_total{phase=\"idle\"} %llu\n"
        "# HELP %s_inputs_capped_total Connections whose input past the pending cap was dropped.\n"
        "# TYPE %s_inputs_capped_total counter\n%s_inputs_capped_total %llu\n"
        "# HELP %s_rejected_total Requests rejected before reaching a handler.\n"
        "# TYPE %s_rejected_total counter\n%s_rejected_total %llu\n",
        prefix, prefix, prefix, (unsigned long long)s->connections, prefix, prefix, prefix,
        (unsigned long long)s->open, prefix, prefix, prefix, (unsigned long long)s->accept_errors,
        prefix, prefix, prefix, (unsigned long long)s->accept_pauses, prefix, prefix, prefix,
        (unsigned long long)s->timeouts_header, prefix, (unsigned long long)s->timeouts_body,
        prefix, (unsigned long long)s->timeouts_idle, prefix, prefix, prefix,
        (unsigned long long)s->inputs_capped, prefix, prefix, prefix,
        (unsigned long long)s->rejected);
}
