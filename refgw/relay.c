/* refgw's relay: the server. It listens (HTTP/1.1 from evhttp through the guard, HTTP/2 on the
 * same port), answers /healthz, hands each vendor API request to a flow (flow.c: its client
 * side, its upstream attempts, what the mode does when the client leaves), and frees what the
 * flows' callbacks could not. Only the adapters at the end of this file know evhttp. */
#include "httpd.h"
#include "relay.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/http.h>

#include "clock.h"
#include "h1exchange.h"
#include "h2conn.h"
#include "gwerror.h"
#include "flow.h"
#include "relaystate.h"

static void h1_request_cb(struct evhttp_request *req, void *arg);
static void h2_request_cb(struct exchange *x, void *arg);
static void h2_reject_cb(struct exchange *x, int status, const char *message, void *arg);
static void h1_reject_cb(struct evhttp_request *req, int status, const char *message,
                         const char *path, void *arg);
static void reap_cb(evutil_socket_t fd, short what, void *arg);

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
    struct upstream_callbacks cbs = {flow_upstream_done, gw};
    snprintf(gw->flush_url, sizeof gw->flush_url, "%s/", cfg->upstream);
    struct upstream_options uo = {cfg->upstream_http2, cfg->upstream_ca, gw->flush_url};
    gw->up = upstream_new(base, &uo, &cbs, err, errlen);
    if (gw->up == NULL)
        goto fail;
    gw->scratch = evbuffer_new();
    gw->reap_ev = event_new(base, -1, 0, reap_cb, gw);
    if (gw->scratch == NULL || gw->reap_ev == NULL) {
        snprintf(err, errlen, "relay: out of memory");
        goto fail;
    }
    struct httpd_spec hs = {
        gw->cfg.host, cfg->port, httpguard_defaults(RELAY_MAX_BODY), h1_request_cb, h1_reject_cb,
        NULL,         gw};
    if (cfg->header_timeout_ms)
        hs.limits.header_timeout_ms = cfg->header_timeout_ms;
    if (cfg->body_timeout_ms)
        hs.limits.body_timeout_ms = cfg->body_timeout_ms;
    if (cfg->idle_timeout_ms)
        hs.limits.idle_timeout_ms = cfg->idle_timeout_ms;
    if (httpd_open(base, &hs, &gw->httpd, err, errlen) != 0)
        goto fail;
    /* HTTP/2 on the same port: a connection that opens with the client preface (or agrees on h2
     * by ALPN) is the h2 transport's, and its requests arrive here as exchanges too */
    const struct h2server_spec h2 = {
        h2_request_cb, h2_reject_cb, gw, RELAY_MAX_BODY, 0, hs.limits.idle_timeout_ms};
    if (httpd_set_h2(&gw->httpd, &h2, err, errlen) != 0)
        goto fail;
    if (cfg->tls != NULL)
        httpd_set_tls(&gw->httpd, cfg->tls);
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
    struct relay_stats st = gw->st;
    st.h2_connections = httpd_h2_stats(&gw->httpd).connections;
    return st;
}

/* Frees what callbacks could not free in place: the sinks of clients that left first (with
 * the request the transport let go of; a flow may sit in both lists), then finished flows. */
static void reap(struct relay *gw)
{
    while (gw->reap_sinks) {
        struct flow *fl = gw->reap_sinks;
        gw->reap_sinks = fl->sink_next;
        fl->sink_next = NULL;
        fl->sink_queued = 0;
        sink_free(fl->sk);
        fl->sk = NULL;
    }
    while (gw->reap_dead) {
        struct flow *fl = gw->reap_dead;
        gw->reap_dead = fl->reap_next;
        flow_free(fl);
    }
}

static void reap_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    reap(arg);
}

void relay_free(struct relay *gw)
{
    if (gw == NULL)
        return;
    reap(gw);
    /* evhttp_free closes live connections and calls their close callbacks: freeing a sink
     * unhooks ours, and leaves live requests to evhttp_free */
    while (gw->flows) {
        struct flow *fl = gw->flows;
        gw->flows = fl->next;
        flow_free(fl);
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

/* One client request, whatever carried it. */
static void serve(struct relay *gw, struct exchange *x)
{
    const char *path = x->path;
    int get = strcmp(x->method, "GET") == 0, post = strcmp(x->method, "POST") == 0;
    if (strcmp(path, "/healthz") == 0) {
        if (get)
            gwerror_send_json(x, 200, "{\"status\":\"ok\"}");
        else
            gwerror_send(x, 405, "invalid_request_error", NULL, "Use GET /healthz.");
        return;
    }
    /* the vendors' APIs: OpenAI's and Anthropic's under /v1/, Gemini's under /v1beta/ (its
     * query, alt=sse and key=, goes upstream with the path), Azure OpenAI's under /openai/
     * (api-version rides in the query too), Ollama's /api/chat and /api/generate, Bedrock's
     * under /model/ */
    if (strncmp(path, "/v1/", 4) == 0 || strncmp(path, "/v1beta/", 8) == 0 ||
        strncmp(path, "/openai/", 8) == 0 || strcmp(path, "/api/chat") == 0 ||
        strcmp(path, "/api/generate") == 0 || strncmp(path, "/model/", 7) == 0) {
        if (post)
            flow_start(gw, x);
        else
            gwerror_send(x, 405, "invalid_request_error", NULL, "refgw relays POST requests only.");
        return;
    }
    char msg[200];
    snprintf(msg, sizeof msg, "Unknown request URL: %.120s.", path);
    gwerror_send(x, 404, "invalid_request_error", "unknown_url", msg);
}

/* ---- HTTP/1.1: evhttp's requests as exchanges ------------------------------------------------ */

static void h1_request_cb(struct evhttp_request *req, void *arg)
{
    struct relay *gw = arg;
    struct h1exchange hx;
    if (h1exchange_init(&hx, req, gw->scratch) != 0) {
        evhttp_send_error(req, 500, "out of memory");
        return;
    }
    serve(gw, &hx.x);
    h1exchange_done(&hx);
}

static void h1_reject_cb(struct evhttp_request *req, int status, const char *message,
                         const char *path, void *arg)
{
    (void)path;
    struct relay *gw = arg;
    struct h1exchange hx;
    if (h1exchange_init(&hx, req, gw->scratch) != 0) {
        evhttp_send_error(req, status, message);
        return;
    }
    gwerror_reject(&hx.x, status, message);
    h1exchange_done(&hx);
}

/* ---- HTTP/2: the h2 transport hands exchanges over as they are ------------------------------- */

static void h2_request_cb(struct exchange *x, void *arg)
{
    serve(arg, x);
}

static void h2_reject_cb(struct exchange *x, int status, const char *message, void *arg)
{
    (void)arg;
    gwerror_reject(x, status, message);
}
