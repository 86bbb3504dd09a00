/* The runner. One libevent loop carries the chaos client and both chaos proxies (client ->
 * gateway, gateway -> mock); mockprov and the gateway are child processes reached over HTTP,
 * so either could run elsewhere. Both sides' records are joined by correlation id. */
#include "run.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <event2/event.h>

#include "chaos/client.h"
#include "chaos/proxy.h"
#include "chaos/toxic.h"
#include "billing.h"
#include "clock.h"
#include "gateway.h"
#include "jget.h"
#include "join.h"
#include "mockctl.h"
#include "profile.h"
#include "reports/report.h"
#include "results.h"
#include "scenario.h"
#include "verdict.h"

#define RUN_MAX_SCENARIOS 64
#define RUN_VERSION "0.1.0"

struct runner {
    const struct run_config *cfg;
    struct event_base *base;
    struct mockctl mock;  /* mockprov itself */
    struct proxy *client_proxy;   /* clients -> gateway (or -> mock when direct) */
    struct proxy *upstream_proxy; /* gateway -> mock */
    char client_url[128];
    struct gateway gw;
    int have_gw;
    struct run_result rr;
    /* per scenario */
    struct chaos_record *recs;
    size_t nrecs, caprecs;
    int client_done;
    uint64_t done_count, abort_count;
};




/* ---- starting things ------------------------------------------------------------------- */




static int host_port(const char *url, char *out, size_t len)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    size_t n = strcspn(p, "/");
    if (n == 0 || n >= len)
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    if (strncmp(out, "localhost:", 10) == 0) {
        char tmp[128];
        snprintf(tmp, sizeof tmp, "127.0.0.1:%s", out + 10);
        snprintf(out, len, "%s", tmp);
    }
    return 0;
}

/* ---- the scenario loop ---------------------------------------------------------------- */

static void on_record(void *arg, const struct chaos_record *rec)
{
    struct runner *r = arg;
    if (r->nrecs == r->caprecs) {
        size_t cap = r->caprecs ? r->caprecs * 2 : 256;
        struct chaos_record *tmp = realloc(r->recs, cap * sizeof *tmp);
        if (tmp == NULL)
            return; /* counted below as a missing client record */
        r->recs = tmp;
        r->caprecs = cap;
    }
    r->recs[r->nrecs++] = *rec;
    r->done_count++;
    if (rec->t_abort_ns)
        r->abort_count++;
}

static void on_done(void *arg)
{
    struct runner *r = arg;
    r->client_done = 1;
    event_base_loopbreak(r->base);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct runner *r = arg;
    if (r->cfg->interrupted && *r->cfg->interrupted)
        event_base_loopbreak(r->base);
}

static int drop_hook(void *arg, int port, uint32_t rst_after_ms, char *err, size_t errlen)
{
    struct runner *r = arg;
    if (proxy_drop_connection(r->client_proxy, port, rst_after_ms) != 0) {
        snprintf(err, errlen, "no proxied connection from client port %d", port);
        return -1;
    }
    return 0;
}

/* Runs the loop for at most ms, or until the client is done. */
static void loop_for(struct runner *r, uint32_t ms)
{
    struct timeval tv = {ms / 1000, (suseconds_t)(ms % 1000) * 1000};
    event_base_loopexit(r->base, &tv);
    event_base_dispatch(r->base);
}

static int add_toxics(struct proxy *p, const cJSON *list, const char *leg,
                      const struct scenario *sc, char *err, size_t errlen)
{
    proxy_reset(p);
    const cJSON *t;
    int i = 0;
    cJSON_ArrayForEach(t, list)
    {
        struct toxic tx;
        char terr[200];
        if (toxic_parse(t, &tx, terr, sizeof terr) != 0 ||
            proxy_add_toxic(p, &tx, terr, sizeof terr) != 0) {
            snprintf(err, errlen, "%s: network.%s[%d]: %s", sc->file, leg, i, terr);
            return -1;
        }
        i++;
    }
    return 0;
}










static void live_progress(struct runner *r, const struct scenario *sc)
{
    if (r->cfg->progress == NULL)
        return;
    char line[256];
    snprintf(line, sizeof line, "%s: %llu/%u requests done, %llu aborted", sc->name,
             (unsigned long long)r->done_count, sc->requests,
             (unsigned long long)r->abort_count);
    r->cfg->progress(r->cfg->progress_arg, line, 1);
}

static void progress_cb(evutil_socket_t fd, short what, void *arg);

struct progress_ctx {
    struct runner *r;
    const struct scenario *sc;
};

static void progress_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct progress_ctx *p = arg;
    live_progress(p->r, p->sc);
}

static int run_scenario(struct runner *r, struct scenario *sc, uint64_t seed,
                        struct scenario_result *res, char *err, size_t errlen)
{
    res->sc = sc;
    snprintf(res->profile, sizeof res->profile, "%s", sc->schedule[0] ? sc->schedule : sc->profile);
    uint64_t t0 = clock_now_ns();
    if (mockctl_configure(&r->mock, sc, err, errlen) != 0)
        return RUN_ENV;
    uint64_t t_profile = clock_now_ns(); /* a schedule's offsets count from about here */
    if (add_toxics(r->client_proxy, sc->toxics_client, "client", sc, err, errlen) != 0 ||
        add_toxics(r->upstream_proxy, sc->toxics_upstream, "upstream", sc, err, errlen) != 0)
        return RUN_USAGE;
    /* prices: the scenario's, else the profile's */
    cJSON *prof = mockctl_get(&r->mock, "/_tailgate/profile");
    const cJSON *cur = cJSON_GetObjectItem(prof, "current");
    res->price_in = sc->price_in >= 0 ? sc->price_in : jget_num(cur, "price_in_per_mtok");
    res->price_out = sc->price_out >= 0 ? sc->price_out : jget_num(cur, "price_out_per_mtok");
    cJSON_Delete(prof);

    struct chaos_config cc;
    memset(&cc, 0, sizeof cc);
    cc.req.url = r->client_url;
    if (r->cfg->direct) {
        cc.req.style = sc->api;
    } else {
        /* a pass-through gateway speaks every vendor API: use the scenario's */
        int pass = r->gw.passthrough && sc->api_given;
        cc.req.style = pass ? sc->api : r->gw.style;
        cc.req.path = !pass && r->gw.path[0] ? r->gw.path : NULL;
        cc.req.method = r->gw.method[0] ? r->gw.method : NULL;
        cc.req.body_template = r->gw.body_template[0] ? r->gw.body_template : NULL;
        for (size_t i = 0; i < r->gw.nheaders; i++)
            cc.req.headers[cc.req.nheaders++] = r->gw.headers[i];
        cc.req.cancel_url = r->gw.cancel_url[0] ? r->gw.cancel_url : NULL;
        cc.req.cancel_method = r->gw.cancel_method[0] ? r->gw.cancel_method : NULL;
    }
    cc.req.model = "tailgate-mock";
    memcpy(cc.users, sc->users, sizeof sc->users);
    cc.nusers = sc->nusers;
    for (size_t i = 0; i < cc.nusers; i++)
        if (cc.users[i].action == CHAOS_STOP_BUTTON && cc.req.cancel_url == NULL)
            cc.users[i].cancel_call = 0; /* the gateway offers no cancel endpoint */
    cc.seed = seed;
    cc.requests = sc->requests;
    cc.concurrency = sc->concurrency;
    cc.rate_per_s = sc->rate_per_s;
    cc.id_prefix = sc->name;
    cc.timeout_ms = sc->timeout_ms;
    cc.drop = drop_hook;
    cc.drop_arg = r;
    cc.on_record = on_record;
    cc.record_arg = r;
    cc.on_done = on_done;
    cc.done_arg = r;
    r->nrecs = 0;
    r->client_done = 0;
    r->done_count = r->abort_count = 0;
    struct chaos_client *cl = chaos_client_new(r->base, &cc, err, errlen);
    if (cl == NULL)
        return RUN_USAGE;
    if (chaos_client_start(cl, err, errlen) != 0) {
        chaos_client_free(cl);
        return RUN_ENV;
    }
    struct progress_ctx pc = {r, sc};
    struct event *prog = event_new(r->base, -1, EV_PERSIST, progress_cb, &pc);
    struct timeval one = {1, 0};
    event_add(prog, &one);
    /* bounded: every wave of requests may take its whole timeout, plus slack */
    uint64_t waves = (sc->requests + sc->concurrency - 1) / sc->concurrency;
    uint64_t limit_ms = waves * (uint64_t)(sc->timeout_ms + 5000) + 10000;
    if (limit_ms > 3600000)
        limit_ms = 3600000;
    uint64_t deadline = clock_now_ns() + limit_ms * 1000000ull;
    while (!r->client_done && clock_now_ns() < deadline &&
           !(r->cfg->interrupted && *r->cfg->interrupted))
        loop_for(r, 200);
    event_free(prog);
    int interrupted = r->cfg->interrupted && *r->cfg->interrupted;
    if (!r->client_done && !interrupted)
        snprintf(res->error, sizeof res->error, "the client did not finish within %llu s",
                 (unsigned long long)(limit_ms / 1000));
    /* settle: let generation that outlived its user end, up to the window */
    uint64_t settle_deadline = clock_now_ns() + (uint64_t)sc->settle_ms * 1000000ull;
    while (!interrupted && clock_now_ns() < settle_deadline) {
        cJSON *h = mockctl_get(&r->mock, "/_tailgate/health");
        double active = jget_num(h, "active_streams");
        cJSON_Delete(h);
        if (active == 0)
            break;
        loop_for(r, 100);
    }
    double settle_end = (double)clock_now_ns();
    chaos_client_free(cl); /* closes anything still open */
    cJSON *ledger = mockctl_get(&r->mock, "/_tailgate/ledger");
    if (ledger == NULL) {
        snprintf(err, errlen, "could not read mockprov's ledger at %s", r->mock.url);
        return RUN_ENV;
    }
    res->ledger_dropped = (uint64_t)fmax(0, jget_num(ledger, "dropped"));
    join_requests(res, r->recs, r->nrecs, ledger, settle_end, r->rr.clock_offset_ns);
    cJSON_Delete(ledger);
    double first_send = INFINITY, last_end = 0;
    for (size_t i = 0; i < r->nrecs; i++) {
        first_send = fmin(first_send, (double)r->recs[i].t_send_ns);
        last_end = fmax(last_end, (double)r->recs[i].t_end_ns);
    }
    res->traffic_s = r->nrecs ? (last_end - first_send) / 1e9 : 0;
    res->schedule_lead_s = isfinite(first_send) ? (first_send - (double)t_profile) / 1e9 : 0;
    billing_reconcile(res, r->have_gw ? &r->gw : NULL);
    verdict_compute(res);
    if (res->error[0])
        res->pass = 0;
    res->duration_s = (double)(clock_now_ns() - t0) / 1e9;
    return interrupted ? RUN_ENV : RUN_PASS;
}

static void results_free(struct run_result *rr)
{
    for (size_t i = 0; i < rr->n; i++) {
        struct scenario_result *res = &rr->sr[i];
        for (int m = 0; m < M_N_SAMPLE; m++)
            stats_cleanup(&res->m[m]);
        for (size_t k = 0; k < res->nreqs; k++) {
            free(res->reqs[k].gen_ms);
            free(res->reqs[k].del_ms);
        }
        free(res->reqs);
    }
    free(rr->sr);
}

static int setup(struct runner *r, char *err, size_t errlen)
{
    const struct run_config *cfg = r->cfg;
    if (mockctl_start(&r->mock, cfg->mock_url, cfg->self_exe, cfg->out_dir, err, errlen) != 0)
        return RUN_ENV;
    mockctl_clock(&r->mock, &r->rr.clock_offset_ns, &r->rr.clock_uncertainty_ns);
    char mock_hp[128], gw_hp[128];
    host_port(r->mock.url, mock_hp, sizeof mock_hp);
    r->upstream_proxy = proxy_new(r->base, "upstream", "127.0.0.1:0", mock_hp, err, errlen);
    if (r->upstream_proxy == NULL)
        return RUN_ENV;
    char upstream_url[128];
    snprintf(upstream_url, sizeof upstream_url, "http://127.0.0.1:%d",
             proxy_listen_port(r->upstream_proxy));
    if (!cfg->direct) {
        char log[600];
        snprintf(log, sizeof log, "%s/gateway.log", cfg->out_dir);
        struct gateway_vars vars = {gateway_free_port(), upstream_url, cfg->out_dir};
        int rc = cfg->gateway_file
                     ? gateway_load(cfg->gateway_file, &vars, &r->gw, err, errlen)
                     : gateway_from_flags(cfg->gateway_cmd, cfg->gateway_url, cfg->style, &vars,
                                          &r->gw, err, errlen);
        if (rc != 0)
            return RUN_USAGE;
        r->have_gw = 1;
        r->gw.interrupted = cfg->interrupted;
        snprintf(r->rr.gateway, sizeof r->rr.gateway, "%s", r->gw.name);
        /* the proxies do not forward during this probe: a gateway must not need its upstream
         * to become ready */
        if (gateway_start(&r->gw, log, err, errlen) != 0)
            return RUN_ENV;
        host_port(r->gw.url, gw_hp, sizeof gw_hp);
    } else {
        snprintf(r->rr.gateway, sizeof r->rr.gateway, "direct (no gateway)");
        snprintf(gw_hp, sizeof gw_hp, "%s", mock_hp);
    }
    r->client_proxy = proxy_new(r->base, "client", "127.0.0.1:0", gw_hp, err, errlen);
    if (r->client_proxy == NULL)
        return RUN_ENV;
    snprintf(r->client_url, sizeof r->client_url, "http://127.0.0.1:%d",
             proxy_listen_port(r->client_proxy));
    return RUN_PASS;
}

int run_execute(const struct run_config *cfg, char *err, size_t errlen)
{
    struct runner r;
    memset(&r, 0, sizeof r);
    r.cfg = cfg;
    struct scenario *scs = calloc(cfg->nscenarios ? cfg->nscenarios : 1, sizeof *scs);
    size_t nsc = 0;
    int rc = RUN_PASS;
    if (scs == NULL) {
        snprintf(err, errlen, "out of memory");
        return RUN_ENV;
    }
    /* validate everything before starting anything */
    for (size_t i = 0; i < cfg->nscenarios; i++) {
        if (scenario_load(cfg->scenarios[i], &scs[nsc], err, errlen) != 0) {
            rc = RUN_USAGE;
            goto done;
        }
        nsc++;
    }
    if (mkdir(cfg->out_dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "--out %s: %s", cfg->out_dir, strerror(errno));
        rc = RUN_USAGE;
        goto done;
    }
    struct event_config *ec = event_config_new();
    event_config_set_flag(ec, EVENT_BASE_FLAG_PRECISE_TIMER);
    r.base = event_base_new_with_config(ec);
    event_config_free(ec);
    if (r.base == NULL || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "event loop or libcurl could not start");
        rc = RUN_ENV;
        goto done;
    }
    r.rr.sr = calloc(nsc, sizeof *r.rr.sr);
    if (r.rr.sr == NULL) {
        rc = RUN_ENV;
        goto done;
    }
    struct event *tick = event_new(r.base, -1, EV_PERSIST, tick_cb, &r);
    struct timeval tv = {0, 100000};
    event_add(tick, &tv);
    uint64_t t_start = clock_now_ns();
    time_t now = time(NULL);
    strftime(r.rr.started_utc, sizeof r.rr.started_utc, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    snprintf(r.rr.version, sizeof r.rr.version, "%s", RUN_VERSION);
    snprintf(r.rr.suite, sizeof r.rr.suite, "%s", cfg->suite_name ? cfg->suite_name : "");
    r.rr.seed = cfg->seed;
    r.rr.floor_dir = cfg->floor_dir;
    r.rr.direct = cfg->direct;
    rc = setup(&r, err, errlen);
    r.rr.pass = 1;
    for (size_t i = 0; rc == RUN_PASS && i < nsc; i++) {
        if (!gateway_alive(&r.gw)) {
            snprintf(err, errlen, "the gateway died during the run (see %s/gateway.log)",
                     cfg->out_dir);
            rc = RUN_ENV;
            break;
        }
        uint64_t seed = cfg->seed ^ (0x9e3779b97f4a7c15ull * (i + 1));
        int src = run_scenario(&r, &scs[i], seed, &r.rr.sr[r.rr.n], err, errlen);
        r.rr.n++;
        if (src != RUN_PASS) {
            rc = src;
            break;
        }
        struct scenario_result *res = &r.rr.sr[r.rr.n - 1];
        r.rr.pass &= res->pass;
        if (cfg->progress) {
            char line[512];
            size_t failed = 0;
            for (size_t g = 0; g < res->ngates; g++)
                failed += !res->gates[g].pass;
            snprintf(line, sizeof line,
                     "%-28s %s  %zu requests  tail p95 %.0f  close lag p99 %.1f ms  PTDR %.2f"
                     "  %zu/%zu gates failed%s%s",
                     scs[i].name, res->pass ? "PASS" : "FAIL", res->nreqs,
                     stats_pct(&res->m[M_TAIL_TOKENS], 95), stats_pct(&res->m[M_CLOSE_LAG_MS], 99),
                     res->scalar[S_PTDR], failed, res->ngates, res->error[0] ? "  " : "",
                     res->error);
            cfg->progress(cfg->progress_arg, line, 0);
        }
    }
    event_free(tick);
    r.rr.total_s = (double)(clock_now_ns() - t_start) / 1e9;
    if (rc == RUN_PASS || rc == RUN_GATE_FAILED || r.rr.n > 0) {
        char werr[256];
        if (report_write_run(cfg->out_dir, &r.rr, werr, sizeof werr) != 0) {
            snprintf(err, errlen, "%s", werr);
            rc = RUN_ENV;
        } else {
            /* charts and index.html; without gnuplot everything else is still there */
            char note[1024];
            if (reports_render(cfg->out_dir, cfg->floor_dir, note, sizeof note) != 0 &&
                cfg->progress)
                cfg->progress(cfg->progress_arg, note, 0);
        }
    }
    if (rc == RUN_PASS && !r.rr.pass)
        rc = RUN_GATE_FAILED;
done:
    if (r.have_gw) {
        gateway_stop(&r.gw);
        gateway_cleanup(&r.gw);
    }
    proxy_free(r.client_proxy);
    proxy_free(r.upstream_proxy);
    mockctl_stop(&r.mock);
    results_free(&r.rr);
    free(r.recs);
    for (size_t i = 0; i < nsc; i++)
        scenario_cleanup(&scs[i]);
    free(scs);
    if (r.base) {
        event_base_free(r.base);
        curl_global_cleanup();
    }
    return rc;
}
