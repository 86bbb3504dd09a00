/* mockprov's server: the mock's lifecycle (config, listen, free, deferred reaping). Requests go
 * to route.c, generations and their readers live in gen.c, transports in common/. */
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "mock_internal.h"
#include "clock.h"
#include "gen.h"
#include "h2conn.h"
#include "httpd.h"
#include "route.h"
#include "tick.h"


static void log_cb(const char *line, void *arg);
static void reap_cb(evutil_socket_t fd, short what, void *arg);

/* ---- lifecycle --------------------------------------------------------------------------- */

struct mock *mock_new(struct event_base *base, const struct mock_config *cfg, char *err,
                      size_t errlen)
{
    if (cfg->admin_nhosts > 0 && cfg->admin_token == NULL) {
        /* an admin API reachable by other names is reachable by other people */
        snprintf(err, errlen, "mock: admin hosts need an admin token");
        return NULL;
    }
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
    if (m->cfg.max_burst == 0)
        m->cfg.max_burst = MOCK_DEFAULT_MAX_BURST;
    if (m->cfg.lag_slack_ns == 0)
        m->cfg.lag_slack_ns = MOCK_DEFAULT_LAG_SLACK_NS;
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
    m->tick = evtimer_new(base, tick_cb, m);
    m->tick_more = evtimer_new(base, tick_cb, m);
    m->fire = gen_fire;
    wheel_init(&m->wheel, clock_now_ns());
    if (m->scratch == NULL || m->reap_ev == NULL || m->tick == NULL || m->tick_more == NULL) {
        snprintf(err, errlen, "mock: out of memory");
        goto fail;
    }
    struct httpd_spec hs = {m->cfg.host, cfg->port, httpguard_defaults(m->cfg.max_body),
                              route_cb, route_reject_cb, log_cb, m};
    if (cfg->header_timeout_ms)
        hs.limits.header_timeout_ms = cfg->header_timeout_ms;
    if (cfg->body_timeout_ms)
        hs.limits.body_timeout_ms = cfg->body_timeout_ms;
    if (cfg->idle_timeout_ms)
        hs.limits.idle_timeout_ms = cfg->idle_timeout_ms;
    if (cfg->max_pending)
        hs.limits.max_pending = cfg->max_pending;
    if (httpd_open(base, &hs, &m->httpd, err, errlen) != 0)
        goto fail;
    if (cfg->tls != NULL)
        httpd_set_tls(&m->httpd, cfg->tls);
    if (!cfg->no_h2) {
        struct h2server_spec h2 = {route_h2_cb, route_h2_reject_cb, m, m->cfg.max_body, 0,
                                   cfg->idle_timeout_ms};
        if (httpd_set_h2(&m->httpd, &h2, err, errlen) != 0)
            goto fail;
    }
    m->http = m->httpd.http;
    m->port = m->httpd.port;
    return m;
fail:
    mock_free(m);
    return NULL;
}

int mock_port(const struct mock *m)
{
    return m->port;
}

void mock_free(struct mock *m)
{
    if (m == NULL)
        return;
    /* evhttp_free closes live connections and calls their close callbacks: freeing the gens
     * frees their sinks, which unhooks ours first (and leaves live requests to evhttp_free) */
    struct gen *g = m->gens;
    while (g) {
        struct gen *n = g->next;
        gen_free(g);
        g = n;
    }
    httpd_close(&m->httpd); /* the connections, then their guard */
    m->http = NULL;
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
    scope_clear(&m->scopes);
    free(m);
}

void mock_schedule_reap(struct mock *m)
{
    event_active(m->reap_ev, EV_TIMEOUT, 0);
}

/* Frees what transport callbacks could not: closed readers and finished gens. */
static void reap_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct mock *m = arg;
    gen_reap_readers(m);
    while (m->reap_gens) {
        struct gen *g = m->reap_gens;
        m->reap_gens = g->reap_next;
        gen_unlink(g);
        gen_free(g);
    }
}

/* ---- small helpers ------------------------------------------------------------------------ */

const struct profile *mock_current_profile(struct mock *m)
{
    return schedule_at(&m->sched, (clock_now_ns() - m->sched_start_ns) / 1000000ull);
}

const struct profile *mock_profile_for(struct mock *m, const char *cid)
{
    const struct scope *s = scope_match(&m->scopes, cid);
    if (s == NULL || !s->has_sched)
        return mock_current_profile(m);
    return schedule_at(&s->sched, (clock_now_ns() - s->sched_start_ns) / 1000000ull);
}

static void log_cb(const char *line, void *arg)
{
    struct mock *m = arg;
    if (m->cfg.log != NULL)
        m->cfg.log(line, m->cfg.log_arg);
}
