/* One HTTP/2 stream: its request, its exchange and its response sink (h2sink.h). */
#include "h2sink.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "exchange.h"
#include "httpguard.h"

/* ---- fields -------------------------------------------------------------------------------- */

static char *dup_n(const void *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s != NULL) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

/* HTTP/2 field names are lowercase (RFC 9113 8.2.1): a peer resets a stream that has others. */
static int fields_add(struct h2fields *f, const char *name, size_t nl, const char *value,
                      size_t vl)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        struct h2field *v = realloc(f->v, cap * sizeof *v);
        if (v == NULL)
            return -1;
        f->v = v;
        f->cap = cap;
    }
    char *n = dup_n(name, nl);
    char *val = dup_n(value, vl);
    if (n == NULL || val == NULL) {
        free(n);
        free(val);
        return -1;
    }
    for (char *p = n; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    f->v[f->n].name = n;
    f->v[f->n].value = val;
    f->n++;
    return 0;
}

static void fields_free(struct h2fields *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->v[i].name);
        free(f->v[i].value);
    }
    free(f->v);
    memset(f, 0, sizeof *f);
}

/* Connection-specific fields HTTP/2 forbids (RFC 9113 8.2.2), and the length, which we set
 * ourselves for a whole reply and leave out of a stream. */
static int response_field_dropped(const char *name)
{
    static const char *const drop[] = {"connection", "keep-alive",     "proxy-connection",
                                       "upgrade",    "transfer-encoding", "content-length",
                                       "te"};
    for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++)
        if (strcmp(name, drop[i]) == 0)
            return 1;
    return 0;
}

/* ---- the response -------------------------------------------------------------------------- */

/* nghttp2 asks for up to 'length' bytes of the next DATA frame, as flow control allows. An empty
 * buffer defers the stream until the next write (nghttp2_session_resume_data); the end sends
 * END_STREAM on the last DATA frame, or NO_END_STREAM and the trailer as a HEADERS frame; a cut
 * ends with RST_STREAM(INTERNAL_ERROR) after the last byte. */
static ssize_t read_cb(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t length,
                       uint32_t *flags, nghttp2_data_source *src, void *user)
{
    (void)user;
    struct h2stream *st = src->ptr;
    size_t have = evbuffer_get_length(st->out);
    size_t n = have < length ? have : length;
    if (n > 0)
        evbuffer_remove(st->out, buf, n);
    if (n < have)
        return (ssize_t)n;
    if (st->cutting) {
        *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
        nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, id, NGHTTP2_INTERNAL_ERROR);
        return (ssize_t)n;
    }
    if (st->ending) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        if (st->trailer_name != NULL) {
            nghttp2_nv nv = {(uint8_t *)st->trailer_name, (uint8_t *)st->trailer_value,
                             strlen(st->trailer_name), strlen(st->trailer_value),
                             NGHTTP2_NV_FLAG_NONE};
            if (nghttp2_submit_trailer(ng, id, &nv, 1) == 0)
                *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        }
        return (ssize_t)n;
    }
    if (n == 0) {
        st->deferred = 1;
        return NGHTTP2_ERR_DEFERRED;
    }
    return (ssize_t)n;
}

static void resume(struct h2stream *st)
{
    if (st->deferred && st->conn != NULL && !st->ng_closed) {
        st->deferred = 0;
        nghttp2_session_resume_data(st->ng, st->id);
    }
    if (st->conn != NULL)
        h2conn_kick(st->conn);
}

/* Submits the HEADERS: :status, the owner's fields, content-length when 'length' >= 0; a body
 * follows from 'out' when with_body. */
static void submit(struct h2stream *st, int status, long long length, int with_body)
{
    if (st->conn == NULL || st->ng_closed || st->submitted)
        return;
    st->submitted = 1;
    nghttp2_nv *nva = calloc(st->resp.n + 2, sizeof *nva);
    if (nva == NULL) {
        nghttp2_submit_rst_stream(st->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
        h2conn_kick(st->conn);
        return;
    }
    char sbuf[16], lbuf[24];
    snprintf(sbuf, sizeof sbuf, "%d", status);
    size_t n = 0;
    nva[n++] = (nghttp2_nv){(uint8_t *)":status", (uint8_t *)sbuf, 7, strlen(sbuf),
                            NGHTTP2_NV_FLAG_NONE};
    for (size_t i = 0; i < st->resp.n; i++) {
        const struct h2field *f = &st->resp.v[i];
        if (!response_field_dropped(f->name))
            nva[n++] = (nghttp2_nv){(uint8_t *)f->name, (uint8_t *)f->value, strlen(f->name),
                                    strlen(f->value), NGHTTP2_NV_FLAG_NONE};
    }
    if (length >= 0) {
        snprintf(lbuf, sizeof lbuf, "%lld", length);
        nva[n++] = (nghttp2_nv){(uint8_t *)"content-length", (uint8_t *)lbuf, 14, strlen(lbuf),
                                NGHTTP2_NV_FLAG_NONE};
    }
    nghttp2_data_provider prd;
    prd.source.ptr = st;
    prd.read_callback = read_cb;
    /* nghttp2 copies the fields */
    if (nghttp2_submit_response(st->ng, st->id, nva, n, with_body ? &prd : NULL) != 0)
        nghttp2_submit_rst_stream(st->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
    free(nva);
    h2conn_kick(st->conn);
}

static void whole_reply(struct h2stream *st, int status, const char *body, size_t len)
{
    int with_body = len > 0 && !st->head_only;
    if (with_body)
        evbuffer_add(st->out, body, len);
    st->ending = 1;
    submit(st, status, (long long)len, with_body);
}

/* ---- the sink ------------------------------------------------------------------------------ */

static void header_op(struct sink *s, const char *name, const char *value)
{
    struct h2stream *st = (struct h2stream *)s;
    fields_add(&st->resp, name, strlen(name), value, strlen(value));
}

static void start_op(struct sink *s, int status)
{
    struct h2stream *st = (struct h2stream *)s;
    st->streaming = 1;
    submit(st, status, -1, 1);
}

static void write_op(struct sink *s, const char *data, size_t len, int mark)
{
    struct h2stream *st = (struct h2stream *)s;
    if (st->conn == NULL || st->head_only) {
        sink_queued(s, len, len, mark); /* nowhere to wait: nothing will be sent */
        return;
    }
    if (evbuffer_add(st->out, data, len) != 0)
        return;
    sink_queued(s, len, 0, mark);
    resume(st);
}

static void end_op(struct sink *s, const char *trailer_name, const char *trailer_value)
{
    struct h2stream *st = (struct h2stream *)s;
    if (trailer_name != NULL) {
        st->trailer_name = dup_n(trailer_name, strlen(trailer_name));
        st->trailer_value = dup_n(trailer_value ? trailer_value : "",
                                  trailer_value ? strlen(trailer_value) : 0);
        if (st->trailer_name == NULL || st->trailer_value == NULL) {
            free(st->trailer_name);
            free(st->trailer_value);
            st->trailer_name = st->trailer_value = NULL;
        }
        for (char *p = st->trailer_name; p && *p; p++)
            *p = (char)tolower((unsigned char)*p);
    }
    st->ending = 1;
    resume(st);
}

static void reply_op(struct sink *s, int status, const char *body, size_t len)
{
    whole_reply((struct h2stream *)s, status, body, len);
}

static void cut_op(struct sink *s)
{
    struct h2stream *st = (struct h2stream *)s;
    st->cutting = 1;
    if (!st->submitted && st->conn != NULL && !st->ng_closed) {
        nghttp2_submit_rst_stream(st->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
        h2conn_kick(st->conn);
        return;
    }
    resume(st);
}

/* RST_STREAM now; what waits unpacked is dropped (frames already in the connection's output
 * buffer still go). sink.c has cleared the callbacks: the stream's end tells nobody. */
static void abort_op(struct sink *s)
{
    struct h2stream *st = (struct h2stream *)s;
    evbuffer_drain(st->out, evbuffer_get_length(st->out));
    if (st->conn != NULL && !st->ng_closed) {
        nghttp2_submit_rst_stream(st->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
        h2conn_kick(st->conn);
    }
}

static void detach_op(struct sink *s)
{
    (void)s; /* callbacks run only through sink.c, which clears them */
}

/* Written but not yet out of the connection's output buffer: waiting for the flow-control
 * window in 'out', or packed into frames the kernel has not taken yet. */
static uint64_t unsent_op(const struct sink *s)
{
    return s->queued - s->drained;
}

/* The stream's end on the connection: a stream nghttp2 still has is reset (CANCEL), then the
 * connection forgets it. */
static void release(struct h2stream *st)
{
    if (st->conn != NULL) {
        if (!st->ng_closed)
            nghttp2_submit_rst_stream(st->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_CANCEL);
        struct h2conn *c = st->conn;
        h2conn_unlink(c, st);
        h2conn_kick(c);
    }
    h2stream_destroy(st);
}

static void free_op(struct sink *s)
{
    struct h2stream *st = (struct h2stream *)s;
    s->mark_end = NULL; /* sink_free has freed it */
    if (st->delivering) {
        st->free_pending = 1;
        return;
    }
    release(st);
}

static const struct sink_ops h2sink_ops = {
    .name = "h2",
    .header = header_op,
    .start = start_op,
    .write = write_op,
    .end = end_op,
    .reply = reply_op,
    .cut = cut_op,
    .abort = abort_op,
    .detach = detach_op,
    .unsent = unsent_op,
    .free = free_op,
};

/* ---- the exchange -------------------------------------------------------------------------- */

struct h2exchange {
    struct exchange x; /* first */
    struct h2stream *st;
};

static const char *x_header(const struct exchange *x, const char *name)
{
    const struct h2stream *st = ((const struct h2exchange *)x)->st;
    for (size_t i = 0; i < st->req.n; i++)
        if (strcasecmp(st->req.v[i].name, name) == 0)
            return st->req.v[i].value;
    if (strcasecmp(name, "host") == 0) /* HTTP/2 carries it as :authority */
        return st->authority;
    return NULL;
}

static void x_add_header(struct exchange *x, const char *name, const char *value)
{
    struct h2stream *st = ((struct h2exchange *)x)->st;
    fields_add(&st->resp, name, strlen(name), value, strlen(value));
}

static void x_reply(struct exchange *x, int status, const char *body, size_t len)
{
    whole_reply(((struct h2exchange *)x)->st, status, body, len);
}

static struct sink *x_take_sink(struct exchange *x)
{
    struct h2stream *st = ((struct h2exchange *)x)->st;
    st->owned = 1;
    return &st->base;
}

static const struct exchange_ops h2x_ops = {x_header, x_add_header, x_reply, x_take_sink, NULL};

static void generic_reject(struct exchange *x, int status, const char *message)
{
    char body[300];
    int n = snprintf(body, sizeof body, "{\"error\":{\"message\":\"%s\",\"code\":%d}}\n", message,
                     status);
    exchange_add_header(x, "content-type", "application/json");
    exchange_reply(x, status, body, (size_t)n < sizeof body ? (size_t)n : sizeof body - 1);
}

void h2stream_deliver(struct h2stream *st, void (*request_cb)(struct exchange *, void *),
                      void (*reject_cb)(struct exchange *, int, const char *, void *),
                      void *arg)
{
    if (st->delivered)
        return;
    st->delivered = 1;
    struct h2exchange hx;
    memset(&hx, 0, sizeof hx);
    hx.x.ops = &h2x_ops;
    hx.st = st;
    hx.x.protocol = "h2";
    hx.x.method = st->method ? st->method : "";
    if (st->reject == 0 && (st->method == NULL || st->path == NULL || st->path[0] == '\0')) {
        st->reject = 400;
        snprintf(st->reject_msg, sizeof st->reject_msg, "The request lacks :method or :path.");
    }
    char *path = dup_n(st->path ? st->path : "/", st->path ? strlen(st->path) : 1);
    size_t len = evbuffer_get_length(st->body);
    char *body = st->reject ? NULL : malloc(len + 1);
    if (path == NULL || (st->reject == 0 && body == NULL)) {
        free(path);
        free(body);
        nghttp2_submit_rst_stream(st->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
        h2conn_kick(st->conn);
        return;
    }
    char *q = strchr(path, '?');
    if (q != NULL)
        *q++ = '\0';
    hx.x.path = path[0] ? path : "/";
    hx.x.query = q;
    if (body != NULL) {
        evbuffer_remove(st->body, body, len);
        body[len] = '\0';
    }
    hx.x.body = body ? body : "";
    hx.x.body_len = body ? len : 0;
    st->delivering = 1;
    if (st->reject != 0) {
        if (reject_cb != NULL)
            reject_cb(&hx.x, st->reject, st->reject_msg, arg);
        if (!hx.x.answered)
            generic_reject(&hx.x, st->reject, st->reject_msg);
    } else {
        request_cb(&hx.x, arg);
        if (!hx.x.answered)
            generic_reject(&hx.x, 500, "The server did not answer the request.");
    }
    st->delivering = 0;
    free(path);
    free(body);
    if (st->free_pending)
        release(st);
}

/* ---- the connection's side ----------------------------------------------------------------- */

struct h2stream *h2stream_new(struct h2conn *conn, nghttp2_session *ng, int32_t id)
{
    struct h2stream *st = calloc(1, sizeof *st);
    if (st == NULL)
        return NULL;
    st->body = evbuffer_new();
    st->out = evbuffer_new();
    if (st->body == NULL || st->out == NULL) {
        h2stream_destroy(st);
        return NULL;
    }
    sink_init(&st->base, &h2sink_ops);
    st->conn = conn;
    st->ng = ng;
    st->id = id;
    return st;
}

int h2stream_header(struct h2stream *st, const uint8_t *name, size_t namelen,
                    const uint8_t *value, size_t valuelen, size_t limit)
{
    if (st->reject != 0)
        return 0;
    st->head_bytes += namelen + valuelen + 32; /* RFC 9113 6.5.2's accounting */
    if (st->head_bytes > limit) {
        st->reject = 431;
        snprintf(st->reject_msg, sizeof st->reject_msg,
                 "The request header list is larger than %zu bytes.", limit);
        return 0;
    }
    if (st->req.n >= HTTPGUARD_MAX_HEADERS) {
        st->reject = 431;
        snprintf(st->reject_msg, sizeof st->reject_msg,
                 "The request has more than %u header fields.", HTTPGUARD_MAX_HEADERS);
        return 0;
    }
    char **pseudo = NULL;
    if (namelen > 0 && name[0] == ':') {
        if (namelen == 7 && memcmp(name, ":method", 7) == 0)
            pseudo = &st->method;
        else if (namelen == 5 && memcmp(name, ":path", 5) == 0)
            pseudo = &st->path;
        else if (namelen == 10 && memcmp(name, ":authority", 10) == 0)
            pseudo = &st->authority;
        else
            return 0; /* :scheme; nghttp2 has checked the set */
        free(*pseudo);
        *pseudo = dup_n(value, valuelen);
        if (*pseudo == NULL)
            return -1;
        if (pseudo == &st->method && strcmp(st->method, "HEAD") == 0)
            st->head_only = 1;
        return 0;
    }
    return fields_add(&st->req, (const char *)name, namelen, (const char *)value, valuelen);
}

void h2stream_data(struct h2stream *st, const uint8_t *data, size_t len, size_t max_body)
{
    if (st->reject != 0)
        return;
    if (max_body > 0 && evbuffer_get_length(st->body) + len > max_body) {
        st->reject = 413;
        snprintf(st->reject_msg, sizeof st->reject_msg,
                 "The request body is larger than %zu bytes.", max_body);
        evbuffer_drain(st->body, evbuffer_get_length(st->body));
        return;
    }
    evbuffer_add(st->body, data, len);
}

void h2stream_frame_out(struct h2stream *st, size_t payload, int ends)
{
    if (!st->owned || st->base.state == SINK_DONE)
        return;
    if (payload > 0 && st->streaming)
        sink_drained(&st->base, payload);
    if (ends && st->base.state == SINK_FLUSHING)
        sink_completed(&st->base);
}

void h2stream_closed(struct h2stream *st, uint32_t error_code)
{
    st->ng_closed = 1;
    if (!st->owned || st->base.state == SINK_DONE)
        return;
    /* our own cut resets the stream: it completes when that RST_STREAM leaves */
    if (st->cutting && error_code == NGHTTP2_INTERNAL_ERROR)
        return;
    /* a response wholly packed completes when its last frame leaves the output buffer */
    if (error_code == NGHTTP2_NO_ERROR && st->last_queued)
        return;
    sink_closed(&st->base, SINK_CLOSE_RST_STREAM, error_code);
}

int h2stream_conn_gone(struct h2stream *st)
{
    st->conn = NULL;
    st->ng = NULL;
    st->prev = st->next = NULL;
    return st->owned && st->base.state != SINK_DONE;
}

void h2stream_destroy(struct h2stream *st)
{
    if (st == NULL)
        return;
    free(st->method);
    free(st->path);
    free(st->authority);
    fields_free(&st->req);
    fields_free(&st->resp);
    if (st->body != NULL)
        evbuffer_free(st->body);
    if (st->out != NULL)
        evbuffer_free(st->out);
    free(st->trailer_name);
    free(st->trailer_value);
    free(st);
}
