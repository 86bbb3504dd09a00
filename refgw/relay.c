/* refgw's relay: evhttp serves the clients, libcurl (refgw/upstream.c) talks to the upstream,
 * both on one libevent loop. Each client request is an "exchange": one client side (a sink,
 * common/sink.h, the same transport the mock streams through), one or two upstream attempts,
 * one metering line once all of it is over. */
#include "httpd.h"
#include "relay.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "clock.h"
#include "h1sink.h"
#include "meter.h"
#include "sink.h"
#include "upstream.h"

#define RELAY_MAX_BODY (16u * 1024 * 1024) /* client request bodies: 413 past it */
#define RELAY_URL_MAX 8192                 /* upstream URL: base, path and query */
#define RELAY_PATH_LOG_MAX 512             /* path as written to the metering log */
#define RELAY_RID_MAX 256                  /* X-Request-Id as written to the metering log */
/* A client that reads slower than the upstream writes: past HIGH bytes waiting in its output
 * buffer the upstream transfer is paused (backpressure reaches the upstream socket), below LOW
 * it resumes. */
#define RELAY_OUT_HIGH (256 * 1024)
#define RELAY_OUT_LOW (64 * 1024)

enum client_state {
    CLIENT_LIVE,  /* the reply is ours to write */
    CLIENT_ENDED, /* we ended the reply (or dropped it); the sink only flushes */
    CLIENT_GONE,  /* the client left first */
};

struct exchange {
    struct relay *gw;
    struct exchange *prev, *next; /* live exchanges */
    enum client_state client;
    struct sink *sk; /* the client side; freed early by reap once the client left */
    int reply_started;
    int client_closed;
    /* the upstream request, kept whole so a retry sends it again unchanged */
    char *url;
    char *body;
    size_t body_len;
    struct curl_slist *headers;
    /* the attempt in flight */
    CURL *easy; /* NULL between and after attempts */
    uint32_t attempts;
    int headers_done; /* the final header block arrived (later blocks are trailers) */
    int upstream_5xx;
    int paused; /* the write callback returned CURL_WRITEFUNC_PAUSE */
    int status; /* for the log: what the client got, or would have got, from attempt 1 */
    struct event *wake_ev; /* resumes a paused transfer, outside curl's callbacks */
    struct event *slow_ev; /* RELAY_SLOW: the delayed abort */
    struct meter meter;
    char rid[RELAY_RID_MAX];
    char path[RELAY_PATH_LOG_MAX];
    int finished;
    int sink_queued;
    struct exchange *sink_next; /* reap list of sinks whose client left */
    struct exchange *reap_next; /* reap list of finished exchanges */
};

struct relay {
    struct event_base *base;
    struct relay_config cfg;
    struct httpd httpd; /* the guarded client side */
    struct evhttp *http; /* httpd.http */
    int port;
    struct upstream *up;
    FILE *meterlog;
    uint64_t t_start_ns;
    struct exchange *exchanges;
    struct exchange *reap_sinks;
    struct exchange *reap_dead;
    struct event *reap_ev;
    struct evbuffer *scratch;
    struct relay_stats st;
};

static void handle_cb(struct evhttp_request *req, void *arg);
static void upstream_done_cb(CURL *easy, CURLcode rc, void *arg);
static void reap_cb(evutil_socket_t fd, short what, void *arg);
static void exchange_free(struct exchange *ex);
static void reject_cb(struct evhttp_request *req, int status, const char *message,
                      const char *path, void *arg);

static const char *const mode_names[] = {"naive", "fixed", "slow", "retry", "strip-headers"};

int relay_mode_parse(const char *s)
{
    for (int i = 0; s && i < (int)(sizeof mode_names / sizeof mode_names[0]); i++)
        if (strcmp(s, mode_names[i]) == 0)
            return i;
    return -1;
}

const char *relay_mode_name(enum relay_mode m)
{
    return (unsigned)m < sizeof mode_names / sizeof mode_names[0] ? mode_names[m] : "?";
}

/* ---- lifecycle ------------------------------------------------------------------------------- */

struct relay *relay_new(struct event_base *base, const struct relay_config *cfg, char *err,
                            size_t errlen)
{
    struct relay *gw = calloc(1, sizeof *gw);
    if (gw == NULL) {
        snprintf(err, errlen, "relay: out of memory");
        return NULL;
    }
    gw->base = base;
    gw->cfg = *cfg;
    if (gw->cfg.host == NULL)
        gw->cfg.host = "127.0.0.1";
    gw->t_start_ns = clock_now_ns();
    if (cfg->metering_log) {
        gw->meterlog = fopen(cfg->metering_log, "a");
        if (gw->meterlog == NULL) {
            snprintf(err, errlen, "cannot open metering log %s: %s", cfg->metering_log,
                     strerror(errno));
            goto fail;
        }
    }
    struct upstream_callbacks cbs = {upstream_done_cb, gw};
    gw->up = upstream_new(base, &cbs, err, errlen);
    if (gw->up == NULL)
        goto fail;
    gw->scratch = evbuffer_new();
    gw->reap_ev = event_new(base, -1, 0, reap_cb, gw);
    if (gw->scratch == NULL || gw->reap_ev == NULL) {
        snprintf(err, errlen, "relay: out of memory");
        goto fail;
    }
    struct httpd_spec hs = {gw->cfg.host, cfg->port, httpguard_defaults(RELAY_MAX_BODY),
                            handle_cb, reject_cb, NULL, gw};
    if (cfg->header_timeout_ms)
        hs.limits.header_timeout_ms = cfg->header_timeout_ms;
    if (cfg->body_timeout_ms)
        hs.limits.body_timeout_ms = cfg->body_timeout_ms;
    if (cfg->idle_timeout_ms)
        hs.limits.idle_timeout_ms = cfg->idle_timeout_ms;
    if (httpd_open(base, &hs, &gw->httpd, err, errlen) != 0)
        goto fail;
    gw->http = gw->httpd.http;
    gw->port = gw->httpd.port;
    return gw;
fail:
    relay_free(gw);
    return NULL;
}

int relay_port(const struct relay *gw)
{
    return gw->port;
}

struct relay_stats relay_stats(const struct relay *gw)
{
    return gw->st;
}

/* Frees what callbacks could not free in place: the sinks of clients that left first (with
 * the request evhttp let go of; an exchange may sit in both lists), then finished exchanges. */
static void reap(struct relay *gw)
{
    while (gw->reap_sinks) {
        struct exchange *ex = gw->reap_sinks;
        gw->reap_sinks = ex->sink_next;
        ex->sink_next = NULL;
        ex->sink_queued = 0;
        sink_free(ex->sk);
        ex->sk = NULL;
    }
    while (gw->reap_dead) {
        struct exchange *ex = gw->reap_dead;
        gw->reap_dead = ex->reap_next;
        exchange_free(ex);
    }
}

static void reap_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    reap(arg);
}

static void schedule_reap(struct relay *gw)
{
    event_active(gw->reap_ev, EV_TIMEOUT, 0);
}

void relay_free(struct relay *gw)
{
    if (gw == NULL)
        return;
    reap(gw);
    /* evhttp_free closes live connections and calls their close callbacks: freeing a sink
     * unhooks ours, and leaves live requests to evhttp_free */
    while (gw->exchanges) {
        struct exchange *ex = gw->exchanges;
        gw->exchanges = ex->next;
        exchange_free(ex);
    }
    httpd_close(&gw->httpd); /* the connections, then their guard */
    gw->http = NULL;
    upstream_free(gw->up);
    if (gw->reap_ev)
        event_free(gw->reap_ev);
    if (gw->scratch)
        evbuffer_free(gw->scratch);
    if (gw->meterlog)
        fclose(gw->meterlog);
    free(gw);
}

static void exchange_free(struct exchange *ex)
{
    if (ex == NULL)
        return;
    if (ex->easy) {
        upstream_remove(ex->gw->up, ex->easy);
        curl_easy_cleanup(ex->easy);
    }
    sink_free(ex->sk);
    if (ex->wake_ev)
        event_free(ex->wake_ev);
    if (ex->slow_ev)
        event_free(ex->slow_ev);
    curl_slist_free_all(ex->headers);
    free(ex->url);
    free(ex->body);
    meter_cleanup(&ex->meter);
    free(ex);
}

/* ---- replies we make ourselves --------------------------------------------------------------- */

/* An error in OpenAI's shape: {"error":{"message","type","param","code"}}, and a newline.
 * NULL: out of memory. */
static char *error_json(const char *type, const char *ecode, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "message", msg);
    cJSON_AddStringToObject(e, "type", type);
    cJSON_AddNullToObject(e, "param");
    if (ecode)
        cJSON_AddStringToObject(e, "code", ecode);
    else
        cJSON_AddNullToObject(e, "code");
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

#define OOM_JSON "{\"error\":{\"message\":\"out of memory\"}}"

static void send_json(struct relay *gw, struct evhttp_request *req, int code, const char *json)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json");
    evbuffer_drain(gw->scratch, evbuffer_get_length(gw->scratch));
    evbuffer_add(gw->scratch, json, strlen(json));
    evbuffer_add(gw->scratch, "\n", 1);
    evhttp_send_reply(req, code, httpguard_reason(code), gw->scratch);
}

static void send_error(struct relay *gw, struct evhttp_request *req, int code,
                       const char *type, const char *ecode, const char *msg)
{
    char *s = error_json(type, ecode, msg);
    send_json(gw, req, code, s ? s : OOM_JSON);
    free(s);
}

/* A request the guard or evhttp would not take, in the same shape. */
static void reject_cb(struct evhttp_request *req, int status, const char *message,
                      const char *path, void *arg)
{
    (void)path;
    send_error(arg, req, status, status >= 500 ? "server_error" : "invalid_request_error", NULL,
               message);
}

/* ---- the client side ------------------------------------------------------------------------- */

/* The client drained below the low mark: a transfer paused for it may go on. */
static void client_drain_cb(struct sink *sk, void *arg)
{
    struct exchange *ex = arg;
    if (ex->paused && sink_unsent(sk) <= RELAY_OUT_LOW)
        event_active(ex->wake_ev, EV_TIMEOUT, 0);
}

/* Relays the upstream's status line and Content-Type; the body follows chunk by chunk. */
static void reply_start(struct exchange *ex, long code, const char *content_type)
{
    if (content_type && *content_type)
        sink_header(ex->sk, "Content-Type", content_type);
    /* no Content-Length: the sink frames the body as chunks for HTTP/1.1, or closes after it */
    sink_start(ex->sk, (int)code);
    ex->reply_started = 1;
}

/* From here the sink only flushes; a close it reports now is no client leaving early. */
static void reply_end(struct exchange *ex)
{
    ex->client = CLIENT_ENDED;
    meter_count_end(&ex->meter);
    sink_end(ex->sk, NULL, NULL);
}

static void reply_error(struct exchange *ex, int code, const char *msg)
{
    ex->client = CLIENT_ENDED;
    char *s = error_json("upstream_error", code == 502 ? "bad_gateway" : NULL, msg);
    const char *json = s ? s : OOM_JSON;
    size_t n = strlen(json);
    char *body = malloc(n + 1);
    if (body == NULL) {
        sink_abort(ex->sk); /* no memory for the body: the client sees the connection drop */
    } else {
        memcpy(body, json, n);
        body[n] = '\n';
        sink_header(ex->sk, "Content-Type", "application/json");
        sink_reply(ex->sk, code, body, n + 1);
    }
    free(body);
    free(s);
}

/* The upstream failed mid-stream: no last chunk, the connection just ends, so the client sees
 * a truncated body rather than a complete one. */
static void reply_drop(struct exchange *ex)
{
    ex->client = CLIENT_ENDED;
    meter_count_end(&ex->meter);
    sink_abort(ex->sk); /* drops the connection, and the request with it */
}

/* ---- upstream attempts ----------------------------------------------------------------------- */

static void exchange_maybe_finish(struct exchange *ex);

/* Takes the attempt out of curl now: its connection closes, the upstream sees a FIN. */
static void attempt_abort(struct exchange *ex)
{
    if (ex->easy == NULL)
        return;
    upstream_remove(ex->gw->up, ex->easy);
    curl_easy_cleanup(ex->easy);
    ex->easy = NULL;
    ex->paused = 0;
    meter_end(&ex->meter);
}

static size_t header_cb(char *buf, size_t size, size_t nitems, void *arg)
{
    struct exchange *ex = arg;
    size_t len = size * nitems;
    if (ex->headers_done || len > 2 || (len > 0 && buf[0] != '\r' && buf[0] != '\n'))
        return len; /* a header line, or a trailer after the body */
    long code = 0;
    char *ct = NULL;
    curl_easy_getinfo(ex->easy, CURLINFO_RESPONSE_CODE, &code);
    if (code < 200)
        return len; /* an interim 1xx block: the final one follows */
    ex->headers_done = 1;
    curl_easy_getinfo(ex->easy, CURLINFO_CONTENT_TYPE, &ct);
    if (code >= 500) {
        ex->upstream_5xx = 1;
        if (ex->attempts == 1 && ex->status == 0)
            ex->status = 502;
        return 0; /* abort: a 5xx body is not relayed, the client gets our 502 */
    }
    if (ex->attempts == 1 && ex->status == 0)
        ex->status = (int)code;
    meter_begin(&ex->meter, ct);
    if (ex->client == CLIENT_LIVE && !ex->reply_started)
        reply_start(ex, code, ct);
    return len;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
    struct exchange *ex = arg;
    size_t len = size * nmemb;
    if (len == 0)
        return 0; /* an empty chunk would read as the body's last one */
    if (ex->client == CLIENT_LIVE && ex->reply_started) {
        if (sink_unsent(ex->sk) > RELAY_OUT_HIGH) {
            ex->paused = 1;
            return CURL_WRITEFUNC_PAUSE; /* curl hands the same bytes over again on resume */
        }
        /* one upstream read, one chunk, flushed as soon as the socket takes it */
        sink_write(ex->sk, data, len, 0);
        meter_count(&ex->meter, data, len);
    }
    /* after the client left the bytes are read and dropped: only the meter sees them */
    meter_feed(&ex->meter, data, len);
    return len;
}

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct exchange *ex = arg;
    if (ex->paused && ex->easy) {
        ex->paused = 0;
        upstream_resume(ex->gw->up, ex->easy);
    }
}

static int attempt_start(struct exchange *ex)
{
    struct relay *gw = ex->gw;
    char err[128];
    CURL *e = curl_easy_init();
    if (e == NULL)
        return -1;
    upstream_prepare(gw->up, e);
    curl_easy_setopt(e, CURLOPT_URL, ex->url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)ex->body_len);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, ex->body);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, ex->headers);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, ex);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, ex);
    curl_easy_setopt(e, CURLOPT_PRIVATE, ex);
    ex->easy = e;
    ex->headers_done = 0;
    ex->upstream_5xx = 0;
    ex->paused = 0;
    ex->attempts++; /* before the add: the callbacks look at it */
    if (upstream_add(gw->up, e, err, sizeof err) != 0) {
        ex->attempts--;
        ex->easy = NULL;
        curl_easy_cleanup(e);
        return -1;
    }
    gw->st.upstream_attempts++;
    return 0;
}

static void upstream_done_cb(CURL *easy, CURLcode rc, void *arg)
{
    struct relay *gw = arg;
    struct exchange *ex = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&ex);
    if (ex == NULL || ex->easy != easy) {
        curl_easy_cleanup(easy);
        return;
    }
    int failed = rc != CURLE_OK || ex->upstream_5xx || !ex->headers_done;
    char msg[256];
    if (ex->upstream_5xx) {
        long code = 0;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
        snprintf(msg, sizeof msg, "The upstream answered HTTP %ld.", code);
    } else {
        snprintf(msg, sizeof msg, "The upstream failed: %s.", curl_easy_strerror(rc));
    }
    ex->easy = NULL;
    ex->paused = 0;
    curl_easy_cleanup(easy);
    meter_end(&ex->meter);
    if (ex->slow_ev)
        evtimer_del(ex->slow_ev); /* it ended before the delayed abort */
    if (failed) {
        gw->st.upstream_errors++;
        if (ex->attempts == 1 && ex->status == 0)
            ex->status = 502;
    }
    if (ex->client == CLIENT_LIVE) {
        if (failed && !ex->reply_started)
            reply_error(ex, 502, msg);
        else if (failed)
            reply_drop(ex);
        else
            reply_end(ex);
    }
    exchange_maybe_finish(ex);
}

/* ---- the client leaves: the behaviour under test --------------------------------------------- */

static void slow_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct exchange *ex = arg;
    attempt_abort(ex);
    exchange_maybe_finish(ex);
}

/* The sink calls this from inside its connection teardown: act, then defer every free. */
static void client_close_cb(struct sink *sk, enum sink_close kind, uint32_t code, void *arg)
{
    (void)sk;
    (void)kind;
    (void)code;
    struct exchange *ex = arg;
    struct relay *gw = ex->gw;
    if (ex->client != CLIENT_LIVE)
        return; /* the reply was ours to end and we ended it */
    ex->client = CLIENT_GONE;
    ex->client_closed = 1;
    gw->st.client_closes++;
    meter_count_end(&ex->meter);
    if (!ex->sink_queued) {
        ex->sink_queued = 1;
        ex->sink_next = gw->reap_sinks;
        gw->reap_sinks = ex;
        schedule_reap(gw);
    }
    switch (gw->cfg.mode) {
    case RELAY_NAIVE:
        /* reads on to the natural end; a transfer paused for the client must go on */
        if (ex->paused)
            event_active(ex->wake_ev, EV_TIMEOUT, 0);
        break;
    case RELAY_SLOW: {
        if (ex->paused)
            event_active(ex->wake_ev, EV_TIMEOUT, 0);
        struct timeval tv = {gw->cfg.slow_ms / 1000, (suseconds_t)(gw->cfg.slow_ms % 1000) * 1000};
        if (ex->easy)
            evtimer_add(ex->slow_ev, &tv);
        break;
    }
    case RELAY_RETRY:
        /* the classic bug: a downstream failure taken for an upstream one, paid twice */
        if (ex->easy && ex->attempts == 1) {
            attempt_abort(ex);
            if (attempt_start(ex) != 0)
                gw->st.upstream_errors++;
        }
        break;
    case RELAY_FIXED:
    case RELAY_STRIP_HEADERS:
        attempt_abort(ex);
        break;
    }
    exchange_maybe_finish(ex);
}

/* ---- metering log ---------------------------------------------------------------------------- */

static void metering_write(struct exchange *ex)
{
    struct relay *gw = ex->gw;
    gw->st.meter_skipped += ex->meter.oversized;
    if (gw->meterlog == NULL)
        return;
    uint64_t out = gw->cfg.metering == RELAY_METER_COUNT ? ex->meter.tokens
                                                           : ex->meter.output_tokens;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "request_id", ex->rid);
    cJSON_AddStringToObject(o, "path", ex->path);
    cJSON_AddNumberToObject(o, "status", ex->status);
    cJSON_AddBoolToObject(o, "client_closed", ex->client_closed);
    cJSON_AddNumberToObject(o, "upstream_attempts", ex->attempts);
    cJSON_AddNumberToObject(o, "output_tokens", (double)out);
    cJSON_AddNumberToObject(o, "input_tokens", (double)ex->meter.input_tokens);
    cJSON_AddNumberToObject(o, "t_ms", (double)((clock_now_ns() - gw->t_start_ns) / 1000000ull));
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    /* one write per line and a flush: a reader tailing the file never sees half a record */
    if (s == NULL || fprintf(gw->meterlog, "%s\n", s) < 0 || fflush(gw->meterlog) != 0)
        gw->st.metering_errors++;
    free(s);
}

/* Done once the client side is over, no attempt runs and no delayed abort is pending. */
static void exchange_maybe_finish(struct exchange *ex)
{
    if (ex->finished || ex->client == CLIENT_LIVE || ex->easy ||
        (ex->slow_ev && evtimer_pending(ex->slow_ev, NULL)))
        return;
    ex->finished = 1;
    metering_write(ex);
    struct relay *gw = ex->gw;
    if (ex->prev)
        ex->prev->next = ex->next;
    else
        gw->exchanges = ex->next;
    if (ex->next)
        ex->next->prev = ex->prev;
    ex->prev = ex->next = NULL;
    ex->reap_next = gw->reap_dead;
    gw->reap_dead = ex;
    schedule_reap(gw);
}

/* ---- a new client request -------------------------------------------------------------------- */

static int forwarded_header(const char *name, int strip_rid)
{
    static const char *const names[] = {"Content-Type",      "Authorization",
                                        "x-api-key",         "anthropic-version",
                                        "Idempotency-Key",   "X-Request-Id"};
    if (strncasecmp(name, "x-tailgate-", 11) == 0)
        return 1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(name, names[i]) == 0)
            return !(strip_rid && strcasecmp(name, "X-Request-Id") == 0);
    return 0;
}

static int slist_add(struct curl_slist **list, const char *line)
{
    struct curl_slist *tmp = curl_slist_append(*list, line);
    if (tmp == NULL)
        return -1;
    *list = tmp;
    return 0;
}

/* The upstream request's headers: the allow-list above, nothing curl would add on its own. */
static int build_headers(struct exchange *ex, struct evhttp_request *req)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    int strip = ex->gw->cfg.mode == RELAY_STRIP_HEADERS;
    int have_ct = 0;
    struct evkeyval *kv;
    TAILQ_FOREACH(kv, in, next) {
        if (!forwarded_header(kv->key, strip))
            continue;
        have_ct |= strcasecmp(kv->key, "Content-Type") == 0;
        size_t n = strlen(kv->key) + strlen(kv->value) + 3;
        char *line = malloc(n);
        if (line == NULL)
            return -1;
        /* "Name:" alone would tell curl to drop the header; "Name;" sends it empty */
        if (*kv->value)
            snprintf(line, n, "%s: %s", kv->key, kv->value);
        else
            snprintf(line, n, "%s;", kv->key);
        int rc = slist_add(&ex->headers, line);
        free(line);
        if (rc != 0)
            return -1;
    }
    /* curl would add a form Content-Type to a POST, and "Expect: 100-continue" to a large one
     * (a round trip the client did not ask for) */
    if (!have_ct && slist_add(&ex->headers, "Content-Type:") != 0)
        return -1;
    return slist_add(&ex->headers, "Expect:");
}

static void exchange_start(struct relay *gw, struct evhttp_request *req, const char *path,
                           const char *query)
{
    struct exchange *ex = calloc(1, sizeof *ex);
    if (ex == NULL) {
        send_error(gw, req, 500, "server_error", NULL, "refgw: out of memory");
        return;
    }
    ex->gw = gw;
    ex->client = CLIENT_LIVE;
    meter_init(&ex->meter);
    snprintf(ex->path, sizeof ex->path, "%s", path);
    const char *rid = evhttp_find_header(evhttp_request_get_input_headers(req), "X-Request-Id");
    snprintf(ex->rid, sizeof ex->rid, "%s", rid ? rid : "");
    size_t ul = strlen(gw->cfg.upstream) + strlen(path) + (query ? strlen(query) + 1 : 0) + 1;
    if (ul > RELAY_URL_MAX) {
        send_error(gw, req, 414, "invalid_request_error", NULL, "The request URI is too long.");
        goto fail;
    }
    ex->url = malloc(ul);
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    ex->body_len = evbuffer_get_length(in);
    ex->body = malloc(ex->body_len + 1);
    ex->wake_ev = event_new(gw->base, -1, 0, wake_cb, ex);
    if (gw->cfg.mode == RELAY_SLOW)
        ex->slow_ev = evtimer_new(gw->base, slow_cb, ex);
    if (ex->url == NULL || ex->body == NULL || ex->wake_ev == NULL ||
        (gw->cfg.mode == RELAY_SLOW && ex->slow_ev == NULL) || build_headers(ex, req) != 0) {
        send_error(gw, req, 500, "server_error", NULL, "refgw: out of memory");
        goto fail;
    }
    snprintf(ex->url, ul, "%s%s%s%s", gw->cfg.upstream, path, query ? "?" : "",
             query ? query : "");
    evbuffer_copyout(in, ex->body, ex->body_len);
    ex->body[ex->body_len] = '\0';
    if (attempt_start(ex) != 0) {
        gw->st.upstream_errors++;
        send_error(gw, req, 502, "upstream_error", "bad_gateway",
                   "refgw: could not start the upstream request.");
        goto fail;
    }
    ex->sk = h1sink_new(req, gw->scratch);
    if (ex->sk == NULL) {
        attempt_abort(ex);
        send_error(gw, req, 500, "server_error", NULL, "refgw: out of memory");
        goto fail;
    }
    const struct sink_callbacks cbs = {client_drain_cb, client_close_cb, NULL, ex};
    sink_set_callbacks(ex->sk, &cbs);
    gw->st.requests++;
    httpd_tune(req, 0, 1);
    ex->next = gw->exchanges;
    if (gw->exchanges)
        gw->exchanges->prev = ex;
    gw->exchanges = ex;
    return;
fail:
    exchange_free(ex);
}

static void handle_cb(struct evhttp_request *req, void *arg)
{
    struct relay *gw = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    if (path == NULL || *path == '\0')
        path = "/";
    if (strcmp(path, "/healthz") == 0) {
        if (method == EVHTTP_REQ_GET)
            send_json(gw, req, 200, "{\"status\":\"ok\"}");
        else
            send_error(gw, req, 405, "invalid_request_error", NULL, "Use GET /healthz.");
        return;
    }
    if (strncmp(path, "/v1/", 4) == 0) {
        if (method == EVHTTP_REQ_POST)
            exchange_start(gw, req, path, query);
        else
            send_error(gw, req, 405, "invalid_request_error", NULL,
                       "refgw relays POST requests only.");
        return;
    }
    char msg[200];
    snprintf(msg, sizeof msg, "Unknown request URL: %.120s.", path);
    send_error(gw, req, 404, "invalid_request_error", "unknown_url", msg);
}
