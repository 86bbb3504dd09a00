/* A relayed client request (flow.h). The client side arrives as an exchange whose sink carries
 * the answer back; libcurl (refgw/upstream.c) talks to the upstream, both on the relay's loop. */
#include "flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "clock.h"
#include "forward.h"
#include "gwerror.h"
#include "meterlog.h"

void flow_free(struct flow *fl)
{
    if (fl == NULL)
        return;
    if (fl->easy) {
        fl->aborting = 1;
        upstream_remove(fl->gw->up, fl->easy, fl->paused);
        curl_easy_cleanup(fl->easy);
    }
    sink_free(fl->sk);
    if (fl->wake_ev)
        event_free(fl->wake_ev);
    if (fl->slow_ev)
        event_free(fl->slow_ev);
    if (fl->idle_ev)
        event_free(fl->idle_ev);
    if (fl->fallback_ev)
        event_free(fl->fallback_ev);
    curl_slist_free_all(fl->headers);
    free(fl->url);
    free(fl->fallback_url);
    free(fl->body);
    meter_cleanup(&fl->meter);
    free(fl);
}

/* ---- the client side ------------------------------------------------------------------------- */

/* The client drained below the low mark: a transfer paused for it may go on. */
static void client_drain_cb(struct sink *sk, void *arg)
{
    struct flow *fl = arg;
    if (fl->paused && sink_unsent(sk) <= RELAY_OUT_LOW)
        event_active(fl->wake_ev, EV_TIMEOUT, 0);
}

/* Relays the upstream's status line and Content-Type; the body follows chunk by chunk. */
static void reply_start(struct flow *fl, long code, const char *content_type)
{
    if (content_type && *content_type)
        sink_header(fl->sk, "Content-Type", content_type);
    /* no Content-Length: the sink frames the body as chunks for HTTP/1.1, or closes after it */
    sink_start(fl->sk, (int)code);
    fl->reply_started = 1;
}

/* From here the sink only flushes; a close it reports now is no client leaving early. */
static void reply_end(struct flow *fl)
{
    fl->client = CLIENT_ENDED;
    meter_count_end(&fl->meter);
    sink_end(fl->sk, NULL, NULL);
}

static void reply_error(struct flow *fl, int code, const char *msg)
{
    fl->client = CLIENT_ENDED;
    char *s = gwerror_json("upstream_error",
                           code == 502   ? "bad_gateway"
                           : code == 504 ? "gateway_timeout"
                                         : NULL,
                           msg);
    const char *json = s ? s : GWERROR_OOM_JSON;
    size_t n = strlen(json);
    char *body = malloc(n + 1);
    if (body == NULL) {
        sink_abort(fl->sk); /* no memory for the body: the client sees the connection drop */
    } else {
        memcpy(body, json, n);
        body[n] = '\n';
        sink_header(fl->sk, "Content-Type", "application/json");
        sink_reply(fl->sk, code, body, n + 1);
    }
    free(body);
    free(s);
}

/* The upstream failed mid-stream: no last chunk, the connection just ends, so the client sees
 * a truncated body rather than a complete one. */
static void reply_drop(struct flow *fl)
{
    fl->client = CLIENT_ENDED;
    meter_count_end(&fl->meter);
    sink_abort(fl->sk); /* drops the connection, and the request with it */
}

/* ---- upstream attempts ----------------------------------------------------------------------- */

static void flow_maybe_finish(struct flow *fl);
static int fallback_unwatched(const struct flow *fl);
static void fallback_cancel(struct flow *fl);
static void fallback_wait(struct flow *fl);
static void client_leave(struct flow *fl, enum relay_mode mode);
static void flow_retire(struct flow *fl);

/* The loop's cached clock in µs: no system call per upstream chunk. */
static uint64_t cached_us(struct relay *gw)
{
    struct timeval tv;
    event_base_gettimeofday_cached(gw->base, &tv);
    return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

static void idle_wait(struct flow *fl, uint64_t us)
{
    struct timeval tv = {(time_t)(us / 1000000u), (suseconds_t)(us % 1000000u)};
    evtimer_add(fl->idle_ev, &tv);
}

/* The attempt is being read: its silence counts from now (upstream_idle_ms). */
static void idle_arm(struct flow *fl)
{
    if (fl->gw->cfg.upstream_idle_ms == 0 || fl->idle_ev == NULL)
        return;
    fl->heard_us = cached_us(fl->gw);
    idle_wait(fl, (uint64_t)fl->gw->cfg.upstream_idle_ms * 1000u);
}

/* The upstream sent something: a time stamp only, the timer is not touched (one re-arm per
 * chunk would be a timer operation per token); idle_cb waits again for what is left. */
static void idle_heard(struct flow *fl)
{
    if (fl->idle_ev)
        fl->heard_us = cached_us(fl->gw);
}

static void idle_disarm(struct flow *fl)
{
    if (fl->idle_ev)
        evtimer_del(fl->idle_ev);
}

/* Takes the attempt out of curl now: over HTTP/1.1 its connection closes (the upstream sees a
 * FIN), over HTTP/2 its stream is reset (RST_STREAM) and the connection stays. */
static void attempt_abort(struct flow *fl)
{
    idle_disarm(fl);
    if (fl->easy == NULL)
        return;
    fl->aborting = 1; /* what a resumed transfer hands over now is dropped */
    upstream_remove(fl->gw->up, fl->easy, fl->paused);
    fl->aborting = 0;
    curl_easy_cleanup(fl->easy);
    fl->easy = NULL;
    fl->paused = 0;
    meter_end(&fl->meter);
}

/* The answer the client gets comes from this attempt: the first, or the fallback after it. */
static int first_answer(const struct flow *fl)
{
    return (fl->attempts == 1 || fl->on_fallback) && fl->status == 0;
}

/* Is status 'code' of this attempt one to fall back from? Only the first upstream's, and only
 * before the client got any of it. */
static int falls_back(const struct flow *fl, long code)
{
    const struct relay_config *cfg = &fl->gw->cfg;
    if (fl->fallback_url == NULL || fl->on_fallback || fl->reply_started || fl->attempts != 1)
        return 0;
    for (size_t i = 0; i < cfg->nfallback_on; i++)
        if (cfg->fallback_on[i] == code)
            return 1;
    return 0;
}

static size_t header_cb(char *buf, size_t size, size_t nitems, void *arg)
{
    struct flow *fl = arg;
    size_t len = size * nitems;
    if (!fl->headers_done && len > 12 && strncasecmp(buf, "retry-after:", 12) == 0) {
        char v[24];
        size_t n = len - 12 < sizeof v - 1 ? len - 12 : sizeof v - 1;
        memcpy(v, buf + 12, n);
        v[n] = '\0';
        char *end;
        long secs = strtol(v, &end, 10);
        fl->retry_after_s = end != v && secs >= 0 ? secs : -1; /* an HTTP date: none */
    }
    if (fl->headers_done || len > 2 || (len > 0 && buf[0] != '\r' && buf[0] != '\n'))
        return len; /* a header line, or a trailer after the body */
    long code = 0;
    char *ct = NULL;
    curl_easy_getinfo(fl->easy, CURLINFO_RESPONSE_CODE, &code);
    if (code < 200)
        return len; /* an interim 1xx block: the final one follows */
    fl->headers_done = 1;
    curl_easy_getinfo(fl->easy, CURLINFO_CONTENT_TYPE, &ct);
    if (falls_back(fl, code)) {
        /* nothing of this answer reaches the client: its end starts the wait (flow_upstream_done)
         */
        fl->fallback_pending = 1;
        fl->primary_status = (int)code;
        return 0;
    }
    if (code >= 500) {
        fl->upstream_5xx = 1;
        if (first_answer(fl))
            fl->status = 502;
        return 0; /* abort: a 5xx body is not relayed, the client gets our 502 */
    }
    if (first_answer(fl))
        fl->status = (int)code;
    idle_heard(fl);
    meter_begin(&fl->meter, ct);
    if (fl->client == CLIENT_LIVE && !fl->reply_started) {
        fl->gw->in_curl++;
        reply_start(fl, code, ct);
        fl->gw->in_curl--;
    }
    return len;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
    struct flow *fl = arg;
    size_t len = size * nmemb;
    if (len == 0)
        return 0; /* an empty chunk would read as the body's last one */
    if (fl->client == CLIENT_LIVE && fl->reply_started && !fl->aborting) {
        if (sink_unsent(fl->sk) > RELAY_OUT_HIGH) {
            fl->paused = 1;
            idle_disarm(fl);             /* a silence of our own making is no deadline's */
            return CURL_WRITEFUNC_PAUSE; /* curl hands the same bytes over again on resume */
        }
        /* one upstream read, one chunk, flushed as soon as the socket takes it */
        fl->gw->in_curl++;
        sink_write(fl->sk, data, len, 0);
        fl->gw->in_curl--;
        meter_count(&fl->meter, data, len);
    }
    /* after the client left the bytes are read and dropped: only the meter sees them */
    meter_feed(&fl->meter, data, len);
    idle_heard(fl);
    return len;
}

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct flow *fl = arg;
    if (fl->leave_pending) {
        fl->leave_pending = 0;
        client_leave(fl, fl->leave_mode);
        return;
    }
    if (fl->paused && fl->easy) {
        fl->paused = 0;
        idle_arm(fl);
        upstream_resume(fl->gw->up, fl->easy);
    }
}

static int attempt_start(struct flow *fl)
{
    struct relay *gw = fl->gw;
    char err[128];
    CURL *e = curl_easy_init();
    if (e == NULL)
        return -1;
    upstream_prepare(gw->up, e);
    curl_easy_setopt(e, CURLOPT_URL, fl->url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)fl->body_len);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, fl->body);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, fl->headers);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, fl);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, fl);
    curl_easy_setopt(e, CURLOPT_PRIVATE, fl);
    fl->easy = e;
    fl->headers_done = 0;
    fl->upstream_5xx = 0;
    fl->retry_after_s = -1;
    fl->paused = 0;
    fl->attempts++; /* before the add: the callbacks look at it */
    if (upstream_add(gw->up, e, err, sizeof err) != 0) {
        fl->attempts--;
        fl->easy = NULL;
        curl_easy_cleanup(e);
        return -1;
    }
    gw->st.upstream_attempts++;
    idle_arm(fl); /* to its first byte too: a time to first token counts */
    return 0;
}

/* The deadline: the upstream sent nothing for upstream_idle_ms while we read it. The gateway
 * cuts it (its own decision, with its client still waiting) and tells the client. */
static void idle_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct flow *fl = arg;
    if (fl->easy == NULL || fl->paused)
        return;
    struct relay *gw = fl->gw;
    uint64_t limit = (uint64_t)gw->cfg.upstream_idle_ms * 1000u;
    uint64_t now = cached_us(gw);
    uint64_t silent = now > fl->heard_us ? now - fl->heard_us : 0;
    if (silent < limit) {
        idle_wait(fl, limit - silent); /* it spoke meanwhile: the silence starts later */
        return;
    }
    gw->st.deadline_cuts++;
    attempt_abort(fl);
    if (first_answer(fl))
        fl->status = 504;
    if (fl->client == CLIENT_LIVE) {
        char msg[128];
        snprintf(msg, sizeof msg, "The upstream sent nothing for %u ms.", gw->cfg.upstream_idle_ms);
        if (fl->reply_started)
            reply_drop(fl); /* the answer had begun: the stream ends cut, as a 504 cannot */
        else
            reply_error(fl, 504, msg);
    }
    flow_maybe_finish(fl);
}

/* The fallback's turn: the same request at the second upstream, unless the client left during
 * the wait and the gateway watches it (the wait was then cancelled, see client_leave). */
static void fallback_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct flow *fl = arg;
    struct relay *gw = fl->gw;
    free(fl->url);
    fl->url = fl->fallback_url;
    fl->fallback_url = NULL;
    fl->on_fallback = 1;
    gw->st.fallbacks++;
    if (attempt_start(fl) != 0) {
        gw->st.upstream_errors++;
        if (first_answer(fl))
            fl->status = 502;
        if (fl->client == CLIENT_LIVE)
            reply_error(fl, 502, "refgw: could not start the fallback request.");
    }
    flow_maybe_finish(fl);
}

/* The first upstream answered a fallback status: wait its retry-after (capped), then fall
 * back. A client already gone and watched gets none. */
static void fallback_wait(struct flow *fl)
{
    struct relay *gw = fl->gw;
    if (fl->client == CLIENT_GONE && !fallback_unwatched(fl)) {
        fallback_cancel(fl);
        flow_maybe_finish(fl);
        return;
    }
    uint64_t ms = fl->retry_after_s > 0 ? (uint64_t)fl->retry_after_s * 1000u : 0;
    if (ms > gw->cfg.fallback_max_wait_ms)
        ms = gw->cfg.fallback_max_wait_ms;
    struct timeval tv = {(time_t)(ms / 1000u), (suseconds_t)(ms % 1000u) * 1000};
    evtimer_add(fl->fallback_ev, &tv);
}

void flow_upstream_done(CURL *easy, CURLcode rc, void *arg)
{
    struct relay *gw = arg;
    struct flow *fl = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&fl);
    if (fl == NULL || fl->easy != easy) {
        curl_easy_cleanup(easy);
        return;
    }
    if (fl->fallback_pending) {
        fl->fallback_pending = 0;
        fl->easy = NULL;
        fl->paused = 0;
        idle_disarm(fl);
        curl_easy_cleanup(easy);
        fallback_wait(fl);
        return;
    }
    int failed = rc != CURLE_OK || fl->upstream_5xx || !fl->headers_done;
    char msg[256];
    if (fl->upstream_5xx) {
        long code = 0;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
        snprintf(msg, sizeof msg, "The upstream answered HTTP %ld.", code);
    } else {
        snprintf(msg, sizeof msg, "The upstream failed: %s.", curl_easy_strerror(rc));
    }
    fl->easy = NULL;
    fl->paused = 0;
    idle_disarm(fl);
    curl_easy_cleanup(easy);
    meter_end(&fl->meter);
    if (fl->slow_ev)
        evtimer_del(fl->slow_ev); /* it ended before the delayed abort */
    if (failed) {
        gw->st.upstream_errors++;
        if (first_answer(fl))
            fl->status = 502;
    }
    if (fl->client == CLIENT_LIVE) {
        if (failed && !fl->reply_started)
            reply_error(fl, 502, msg);
        else if (failed)
            reply_drop(fl);
        else
            reply_end(fl);
    }
    flow_maybe_finish(fl);
}

/* ---- the client leaves: the behaviour under test --------------------------------------------- */

/* A fallback goes out whatever the client did: the gateway does not watch it then (naive, and
 * retry, whose attempt already ended), or --fallback-ignores-cancel. */
static int fallback_unwatched(const struct flow *fl)
{
    return fl->gw->cfg.fallback_ignores_cancel || fl->leave_mode == RELAY_NAIVE ||
           fl->leave_mode == RELAY_RETRY;
}

/* No fallback after all: the client gets (or would have got) the first upstream's answer. */
static void fallback_cancel(struct flow *fl)
{
    fl->gw->st.fallbacks_cancelled++;
    if (fl->status == 0)
        fl->status = fl->primary_status;
    free(fl->fallback_url);
    fl->fallback_url = NULL;
}

static void slow_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct flow *fl = arg;
    attempt_abort(fl);
    flow_maybe_finish(fl);
}

/* What the mode does about the attempt once the client left. */
static void client_leave(struct flow *fl, enum relay_mode mode)
{
    struct relay *gw = fl->gw;
    /* a fallback still to come: a gateway that watches its client sends none */
    fl->leave_mode = mode;
    if (fl->fallback_ev && evtimer_pending(fl->fallback_ev, NULL) && !fallback_unwatched(fl)) {
        evtimer_del(fl->fallback_ev);
        fallback_cancel(fl);
    }
    switch (mode) {
    case RELAY_NAIVE:
        /* reads on to the natural end; a transfer paused for the client must go on */
        if (fl->paused)
            event_active(fl->wake_ev, EV_TIMEOUT, 0);
        break;
    case RELAY_SLOW: {
        if (fl->paused)
            event_active(fl->wake_ev, EV_TIMEOUT, 0);
        struct timeval tv = {gw->cfg.slow_ms / 1000, (suseconds_t)(gw->cfg.slow_ms % 1000) * 1000};
        if (fl->easy)
            evtimer_add(fl->slow_ev, &tv);
        break;
    }
    case RELAY_RETRY:
        /* the classic bug: a downstream failure taken for an upstream one, paid twice */
        if (fl->easy && fl->attempts == 1) {
            attempt_abort(fl);
            if (attempt_start(fl) != 0)
                gw->st.upstream_errors++;
        }
        break;
    case RELAY_FIXED:
    case RELAY_STRIP_HEADERS:
        attempt_abort(fl);
        break;
    }
    flow_maybe_finish(fl);
}

/* Our end of the response left the transport: a finished flow waiting for it may go. */
static void client_complete_cb(struct sink *sk, void *arg)
{
    (void)sk;
    struct flow *fl = arg;
    if (fl->await_flush)
        flow_retire(fl);
}

static const char *close_kind_name(enum sink_close kind)
{
    switch (kind) {
    case SINK_CLOSE_FIN:
        return "fin";
    case SINK_CLOSE_RST:
        return "rst";
    case SINK_CLOSE_RST_STREAM:
        return "rst_stream";
    case SINK_CLOSE_GOAWAY:
        return "goaway";
    }
    return "?";
}

/* The sink calls this from inside its connection teardown: act, then defer every free. A
 * transport may also report a close from inside sink_write, so from inside curl's callbacks:
 * there the mode's action (which takes transfers out of curl) waits for wake_cb. */
static void client_close_cb(struct sink *sk, enum sink_close kind, uint32_t code, void *arg)
{
    (void)sk;
    (void)code;
    struct flow *fl = arg;
    struct relay *gw = fl->gw;
    if (fl->client != CLIENT_LIVE) {
        /* the reply was ours to end and we ended it; the sink is done now */
        if (fl->await_flush)
            flow_retire(fl);
        return;
    }
    fl->client = CLIENT_GONE;
    fl->client_closed = 1;
    fl->close_kind = close_kind_name(kind);
    gw->st.client_closes++;
    meter_count_end(&fl->meter);
    if (!fl->sink_queued) {
        fl->sink_queued = 1;
        fl->sink_next = gw->reap_sinks;
        gw->reap_sinks = fl;
        relay_schedule_reap(gw);
    }
    /* the HTTP/2-only leak: a reset stream taken for a tab still open, while a closed
     * connection is handled as the mode says */
    enum relay_mode mode = gw->cfg.mode;
    if (kind == SINK_CLOSE_RST_STREAM && gw->cfg.ignore_stream_reset)
        mode = RELAY_NAIVE;
    /* the leaks before the first token: a disconnect watch armed only once a token came (so
     * the close it missed is never heard), and a cancel wired to streams only */
    if (gw->cfg.watch_after_first_byte && fl->meter.tokens == 0)
        mode = RELAY_NAIVE;
    if (gw->cfg.ignore_nonstream_cancel && !fl->streaming)
        mode = RELAY_NAIVE;
    if (gw->in_curl) {
        fl->leave_pending = 1;
        fl->leave_mode = mode;
        event_active(fl->wake_ev, EV_TIMEOUT, 0);
        return;
    }
    client_leave(fl, mode);
}

/* Done once the client side is over, no attempt runs and no delayed abort is pending. */
static void flow_maybe_finish(struct flow *fl)
{
    if (fl->finished || fl->easy || (fl->slow_ev && evtimer_pending(fl->slow_ev, NULL)) ||
        (fl->fallback_ev && evtimer_pending(fl->fallback_ev, NULL)))
        return;
    if (fl->client == CLIENT_LIVE)
        return;
    fl->finished = 1;
    struct relay *gw = fl->gw;
    gw->st.meter_skipped += fl->meter.oversized;
    if (gw->meterlog) {
        const struct meterlog_line line = {
            .request_id = fl->rid,
            .path = fl->path,
            .status = fl->status,
            .client_closed = fl->client_closed,
            .client_close = fl->close_kind,
            .upstream_attempts = fl->attempts,
            .fallback = fl->on_fallback,
            .output_tokens =
                gw->cfg.metering == RELAY_METER_COUNT ? fl->meter.tokens : fl->meter.output_tokens,
            .input_tokens = fl->meter.input_tokens,
            .t_ms = (clock_now_ns() - gw->t_start_ns) / 1000000ull,
        };
        if (meterlog_write(gw->meterlog, &line) != 0)
            gw->st.metering_errors++;
    }
    /* A sink still sending our end is freed once it is sent: freeing it now would cut the
     * response (over HTTP/2 a reset of the stream with its last tokens unsent). */
    if (fl->sk != NULL && sink_state(fl->sk) == SINK_FLUSHING) {
        fl->await_flush = 1;
        return;
    }
    flow_retire(fl);
}

/* Off the live list and onto the reap list. */
static void flow_retire(struct flow *fl)
{
    struct relay *gw = fl->gw;
    fl->await_flush = 0;
    if (fl->prev)
        fl->prev->next = fl->next;
    else
        gw->flows = fl->next;
    if (fl->next)
        fl->next->prev = fl->prev;
    fl->prev = fl->next = NULL;
    fl->reap_next = gw->reap_dead;
    gw->reap_dead = fl;
    relay_schedule_reap(gw);
}

/* ---- a new client request -------------------------------------------------------------------- */

/* Whether the client asked for a stream: "stream": true in the body (OpenAI, Anthropic), or
 * Gemini's streaming method in the path; Ollama streams unless "stream": false. A body that
 * is not JSON asks for none. */
static int wants_stream(const char *path, const char *body, size_t len)
{
    if (strstr(path, ":streamGenerateContent") != NULL)
        return 1;
    cJSON *o = cJSON_ParseWithLength(body, len);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "stream");
    int yes =
        strncmp(path, "/api/", 5) == 0 ? cJSON_IsObject(o) && !cJSON_IsFalse(s) : cJSON_IsTrue(s);
    cJSON_Delete(o);
    return yes;
}

void flow_start(struct relay *gw, struct exchange *x)
{
    struct flow *fl = calloc(1, sizeof *fl);
    if (fl == NULL) {
        gwerror_send(x, 500, "server_error", NULL, "refgw: out of memory");
        return;
    }
    const char *path = x->path, *query = x->query;
    fl->gw = gw;
    fl->client = CLIENT_LIVE;
    meter_init(&fl->meter);
    snprintf(fl->path, sizeof fl->path, "%s", path);
    const char *rid = exchange_header(x, "X-Request-Id");
    snprintf(fl->rid, sizeof fl->rid, "%s", rid ? rid : "");
    size_t ul = strlen(gw->cfg.upstream) + strlen(path) + (query ? strlen(query) + 1 : 0) + 1;
    if (ul > RELAY_URL_MAX) {
        gwerror_send(x, 414, "invalid_request_error", NULL, "The request URI is too long.");
        goto fail;
    }
    fl->url = malloc(ul);
    fl->body_len = x->body_len;
    fl->body = malloc(fl->body_len + 1);
    fl->wake_ev = event_new(gw->base, -1, 0, wake_cb, fl);
    if (gw->cfg.mode == RELAY_SLOW)
        fl->slow_ev = evtimer_new(gw->base, slow_cb, fl);
    if (gw->cfg.upstream_idle_ms)
        fl->idle_ev = evtimer_new(gw->base, idle_cb, fl);
    if (gw->cfg.fallback_upstream) {
        size_t fl_len = strlen(gw->cfg.fallback_upstream) + ul;
        fl->fallback_url = malloc(fl_len);
        fl->fallback_ev = evtimer_new(gw->base, fallback_cb, fl);
        if (fl->fallback_url)
            snprintf(fl->fallback_url, fl_len, "%s%s%s%s", gw->cfg.fallback_upstream, path,
                     query ? "?" : "", query ? query : "");
    }
    if (fl->url == NULL || fl->body == NULL || fl->wake_ev == NULL ||
        (gw->cfg.mode == RELAY_SLOW && fl->slow_ev == NULL) ||
        (gw->cfg.upstream_idle_ms && fl->idle_ev == NULL) ||
        (gw->cfg.fallback_upstream && (fl->fallback_url == NULL || fl->fallback_ev == NULL)) ||
        forward_headers(x, gw->cfg.mode == RELAY_STRIP_HEADERS, &fl->headers) != 0) {
        gwerror_send(x, 500, "server_error", NULL, "refgw: out of memory");
        goto fail;
    }
    snprintf(fl->url, ul, "%s%s%s%s", gw->cfg.upstream, path, query ? "?" : "", query ? query : "");
    memcpy(fl->body, x->body, fl->body_len);
    fl->body[fl->body_len] = '\0';
    if (gw->cfg.ignore_nonstream_cancel)
        fl->streaming = wants_stream(path, fl->body, fl->body_len);
    if (attempt_start(fl) != 0) {
        gw->st.upstream_errors++;
        gwerror_send(x, 502, "upstream_error", "bad_gateway",
                     "refgw: could not start the upstream request.");
        goto fail;
    }
    fl->sk = exchange_take_sink(x);
    if (fl->sk == NULL) {
        attempt_abort(fl);
        gwerror_send(x, 500, "server_error", NULL, "refgw: out of memory");
        goto fail;
    }
    const struct sink_callbacks cbs = {client_drain_cb, client_close_cb, client_complete_cb, fl};
    sink_set_callbacks(fl->sk, &cbs);
    gw->st.requests++;
    exchange_tune(x, 0, 1);
    fl->next = gw->flows;
    if (gw->flows)
        gw->flows->prev = fl;
    gw->flows = fl;
    return;
fail:
    flow_free(fl);
}
