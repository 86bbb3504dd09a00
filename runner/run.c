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
#include "version.h"

struct runner {
    const struct run_config *cfg;
    struct event_base *base;
    struct mockctl mock;          /* mockprov itself */
    struct proxy *client_proxy;   /* clients -> gateway (or -> mock when direct) */
    struct proxy *upstream_proxy; /* gateway -> mock; NULL when no scenario needs it */
    char client_url[128];         /* through the client proxy */
    char target_url[160];         /* the gateway (or the mock when direct) itself */
    struct gateway gw;
    int have_gw;
    struct run_result rr;
    FILE *ledger_log, *client_log; /* forensics: every record, JSON lines */
    /* per scenario */
    const struct scenario *sc;
    struct chaos_record *recs;
    size_t nrecs, caprecs;
    uint64_t records_lost;        /* client records we could not keep */
    int client_done;
    uint64_t done_count, abort_count;
    uint64_t isolate_since_ns;    /* isolate: when the current wait for an idle mock began */
    uint64_t isolate_timeouts;    /* waits that ran out (the mock never went idle) */
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
        if (tmp == NULL) {
            r->records_lost++; /* the scenario cannot be judged: it says so */
            return;
        }
        r->recs = tmp;
        r->caprecs = cap;
    }
    struct chaos_record *kept = &r->recs[r->nrecs++];
    *kept = *rec;
    /* the trace is the client's: keep a copy sized to what arrived */
    kept->trace_us = NULL;
    if (rec->ntrace > 0) {
        kept->trace_us = malloc(rec->ntrace * sizeof *kept->trace_us);
        if (kept->trace_us)
            memcpy(kept->trace_us, rec->trace_us, rec->ntrace * sizeof *kept->trace_us);
        else
            kept->ntrace = 0; /* delivery and the timeline go without it */
    }
    if (r->client_log) {
        cJSON *j = chaos_record_json(rec);
        if (j) {
            cJSON_AddStringToObject(j, "scenario", r->sc->name);
            char *line = cJSON_PrintUnformatted(j);
            if (line)
                fprintf(r->client_log, "%s\n", line);
            free(line);
            cJSON_Delete(j);
        }
    }
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

/* Forgets the previous scenario's client records. */
static void recs_clear(struct runner *r)
{
    for (size_t i = 0; i < r->nrecs; i++)
        free(r->recs[i].trace_us);
    r->nrecs = 0;
}

static cJSON *admin_ledger(struct runner *r)
{
    return mockctl_get(&r->mock, "/_tailgate/ledger");
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

/* Is the environment still whole? Fills why and returns 0 when the mock or the gateway died. */
static int env_alive(struct runner *r, char *why, size_t len)
{
    if (!mockctl_alive(&r->mock)) {
        snprintf(why, len, "mockprov exited during the scenario (see %s/mock.log)",
                 r->cfg->out_dir);
        return 0;
    }
    /* always alive for a gateway we did not start: its users' errors tell */
    if (r->have_gw && !gateway_alive(&r->gw)) {
        snprintf(why, len, "the gateway exited during the scenario (see %s/gateway.log)",
                 r->cfg->out_dir);
        return 0;
    }
    return 1;
}

/* isolate: the next user request starts only once the mock has finished every stream (the
 * previous request's generation stopped and its connection is gone), so one request at a time
 * is measured without the last one's cleanup in its way. Bounded by the settle window. */
static int may_start_cb(void *arg, uint32_t index)
{
    (void)index;
    struct runner *r = arg;
    cJSON *h = mockctl_get(&r->mock, "/_tailgate/health");
    double active = jget_num(h, "active_streams");
    cJSON_Delete(h);
    uint64_t now = clock_now_ns();
    if (active == 0) {
        r->isolate_since_ns = 0;
        return 1;
    }
    if (r->isolate_since_ns == 0)
        r->isolate_since_ns = now;
    if (now - r->isolate_since_ns > (uint64_t)r->sc->settle_ms * 1000000ull) {
        r->isolate_since_ns = 0;
        r->isolate_timeouts++;
        return 1;
    }
    return 0;
}

static int has_drop_users(const struct scenario *sc)
{
    for (size_t i = 0; i < sc->nusers; i++)
        if (sc->users[i].action == CHAOS_NETWORK_DROP)
            return 1;
    return 0;
}

/* A leg with toxics, or a user who drops the network, needs the proxy; otherwise the clients
 * connect to the gateway themselves, so nothing stands between them. */
static int client_leg_proxied(const struct runner *r, const struct scenario *sc)
{
    return r->cfg->via_proxies || cJSON_GetArraySize(sc->toxics_client) > 0 ||
           has_drop_users(sc);
}

static void log_ledger(struct runner *r, const struct scenario *sc, const cJSON *ledger)
{
    if (r->ledger_log == NULL)
        return;
    const cJSON *rec;
    cJSON_ArrayForEach(rec, cJSON_GetObjectItem(ledger, "records"))
    {
        cJSON *j = cJSON_Duplicate(rec, 1);
        if (j == NULL)
            continue;
        cJSON_AddStringToObject(j, "scenario", sc->name);
        char *line = cJSON_PrintUnformatted(j);
        if (line)
            fprintf(r->ledger_log, "%s\n", line);
        free(line);
        cJSON_Delete(j);
    }
}

/* Runs one scenario into res. Returns RUN_PASS when it could be judged (res->pass says how),
 * RUN_ENV with res->error filled when it could not, RUN_USAGE for a bad toxic. */
static int run_scenario(struct runner *r, struct scenario *sc, uint64_t seed,
                        struct scenario_result *res, char *err, size_t errlen)
{
    res->sc = sc;
    r->sc = sc;
    snprintf(res->profile, sizeof res->profile, "%s", sc->schedule[0] ? sc->schedule : sc->profile);
    uint64_t t0 = clock_now_ns();
    if (mockctl_configure(&r->mock, sc, res->error, sizeof res->error) != 0)
        return RUN_ENV;
    uint64_t t_profile = clock_now_ns(); /* a schedule's offsets count from about here */
    int proxied = client_leg_proxied(r, sc);
    if (add_toxics(r->client_proxy, sc->toxics_client, "client", sc, err, errlen) != 0 ||
        (r->upstream_proxy &&
         add_toxics(r->upstream_proxy, sc->toxics_upstream, "upstream", sc, err, errlen) != 0))
        return RUN_USAGE;
    /* prices: the scenario's, else the profile's */
    cJSON *prof = mockctl_get(&r->mock, "/_tailgate/profile");
    const cJSON *cur = cJSON_GetObjectItem(prof, "current");
    res->price_in = sc->price_in >= 0 ? sc->price_in : jget_num(cur, "price_in_per_mtok");
    res->price_out = sc->price_out >= 0 ? sc->price_out : jget_num(cur, "price_out_per_mtok");
    cJSON_Delete(prof);

    struct chaos_config cc;
    memset(&cc, 0, sizeof cc);
    cc.req.url = proxied ? r->client_url : r->target_url;
    if (r->cfg->direct) {
        cc.req.style = sc->api;
    } else {
        /* a pass-through gateway speaks every vendor API: use the scenario's */
        int pass = r->gw.passthrough && sc->api_given;
        cc.req.style = pass ? sc->api : r->gw.style;
        cc.req.path = !pass && r->gw.path[0] ? r->gw.path : NULL;
        cc.req.method = r->gw.method[0] ? r->gw.method : NULL;
        cc.req.body_template = r->gw.body_template[0] ? r->gw.body_template : NULL;
        cc.req.terminal_marker = r->gw.terminal_marker[0] ? r->gw.terminal_marker : NULL;
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
    cc.think_ms = sc->think_ms;
    if (sc->isolate) {
        cc.may_start = may_start_cb;
        cc.may_start_arg = r;
    }
    cc.id_prefix = sc->name;
    cc.timeout_ms = sc->timeout_ms;
    cc.drop = drop_hook;
    cc.drop_arg = r;
    cc.on_record = on_record;
    cc.record_arg = r;
    cc.on_done = on_done;
    cc.done_arg = r;
    recs_clear(r);
    r->records_lost = 0;
    r->client_done = 0;
    r->done_count = r->abort_count = 0;
    r->isolate_since_ns = 0;
    r->isolate_timeouts = 0;
    struct chaos_client *cl = chaos_client_new(r->base, &cc, err, errlen);
    if (cl == NULL)
        return RUN_USAGE;
    if (chaos_client_start(cl, res->error, sizeof res->error) != 0) {
        chaos_client_free(cl);
        return RUN_ENV;
    }
    struct progress_ctx pc = {r, sc};
    struct event *prog = event_new(r->base, -1, EV_PERSIST, progress_cb, &pc);
    struct timeval one = {1, 0};
    event_add(prog, &one);
    /* bounded: every wave of requests may take its whole timeout, plus slack */
    uint64_t waves = (sc->requests + sc->concurrency - 1) / sc->concurrency;
    uint64_t limit_ms = waves * (uint64_t)(sc->timeout_ms + 5000 + sc->think_ms.hi +
                                           (sc->isolate ? sc->settle_ms : 0)) +
                        10000;
    if (limit_ms > 3600000)
        limit_ms = 3600000;
    uint64_t deadline = clock_now_ns() + limit_ms * 1000000ull;
    int alive = 1;
    while (!r->client_done && clock_now_ns() < deadline &&
           !(r->cfg->interrupted && *r->cfg->interrupted)) {
        loop_for(r, 200);
        if (!(alive = env_alive(r, res->error, sizeof res->error)))
            break;
    }
    event_free(prog);
    int interrupted = r->cfg->interrupted && *r->cfg->interrupted;
    if (interrupted)
        snprintf(res->error, sizeof res->error, "interrupted before the scenario finished");
    else if (alive && !r->client_done)
        snprintf(res->error, sizeof res->error, "the client did not finish within %llu s",
                 (unsigned long long)(limit_ms / 1000));
    /* settle: let generation that outlived its user end, up to the window */
    uint64_t settle_deadline = clock_now_ns() + (uint64_t)sc->settle_ms * 1000000ull;
    while (!res->error[0] && clock_now_ns() < settle_deadline) {
        cJSON *h = mockctl_get(&r->mock, "/_tailgate/health");
        double active = jget_num(h, "active_streams");
        cJSON_Delete(h);
        if (h == NULL) {
            snprintf(res->error, sizeof res->error, "mockprov stopped answering at %s",
                     r->mock.url);
            break;
        }
        if (active == 0)
            break;
        loop_for(r, 100);
    }
    if (!res->error[0])
        env_alive(r, res->error, sizeof res->error);
    double settle_end = (double)clock_now_ns();
    chaos_client_free(cl); /* closes anything still open */
    cJSON *ledger = admin_ledger(r);
    if (ledger == NULL && !res->error[0])
        snprintf(res->error, sizeof res->error, "could not read mockprov's ledger at %s",
                 r->mock.url);
    if (ledger) {
        /* even a scenario that could not be judged keeps what was measured, for forensics */
        log_ledger(r, sc, ledger);
        res->ledger_dropped = (uint64_t)fmax(0, jget_num(ledger, "dropped"));
        join_requests(res, r->recs, r->nrecs, ledger, settle_end, r->rr.clock_offset_ns);
        cJSON_Delete(ledger);
    }
    if (!res->error[0] && res->ledger_dropped > 0)
        snprintf(res->error, sizeof res->error,
                 "mockprov's ledger dropped %llu records: the join is incomplete",
                 (unsigned long long)res->ledger_dropped);
    if (!res->error[0] && r->records_lost > 0)
        snprintf(res->error, sizeof res->error, "%llu client records lost (out of memory)",
                 (unsigned long long)r->records_lost);
    double first_send = INFINITY, last_end = 0;
    for (size_t i = 0; i < r->nrecs; i++) {
        first_send = fmin(first_send, (double)r->recs[i].t_send_ns);
        last_end = fmax(last_end, (double)r->recs[i].t_end_ns);
    }
    res->traffic_s = r->nrecs ? (last_end - first_send) / 1e9 : 0;
    res->schedule_lead_s = isfinite(first_send) ? (first_send - (double)t_profile) / 1e9 : 0;
    res->isolate_timeouts = r->isolate_timeouts;
    billing_reconcile(res, r->have_gw ? &r->gw : NULL);
    verdict_compute(res);
    res->duration_s = (double)(clock_now_ns() - t0) / 1e9;
    if (res->error[0]) {
        res->pass = 0;
        return RUN_ENV;
    }
    return RUN_PASS;
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
            free(res->reqs[k].delivery_ms);
        }
        free(res->reqs);
    }
    free(rr->sr);
}

static int any_upstream_toxics(struct scenario *scs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (cJSON_GetArraySize(scs[i].toxics_upstream) > 0)
            return 1;
    return 0;
}

static int setup(struct runner *r, struct scenario *scs, size_t nsc, char *err, size_t errlen)
{
    const struct run_config *cfg = r->cfg;
    if (mockctl_start(&r->mock, cfg->mock_url, cfg->self_exe, cfg->out_dir, err, errlen) != 0)
        return RUN_ENV;
    mockctl_clock(&r->mock, &r->rr.clock_offset_ns, &r->rr.clock_uncertainty_ns);
    char mock_hp[128], gw_hp[128];
    host_port(r->mock.url, mock_hp, sizeof mock_hp);
    /* the upstream leg goes through a proxy only when some scenario has upstream toxics (the
     * gateway's upstream address is fixed for the whole run) */
    char upstream_url[128];
    snprintf(upstream_url, sizeof upstream_url, "%s", r->mock.url);
    if (cfg->via_proxies || any_upstream_toxics(scs, nsc)) {
        r->upstream_proxy = proxy_new(r->base, "upstream", "127.0.0.1:0", mock_hp, err, errlen);
        if (r->upstream_proxy == NULL)
            return RUN_ENV;
        snprintf(upstream_url, sizeof upstream_url, "http://127.0.0.1:%d",
                 proxy_listen_port(r->upstream_proxy));
    }
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
        snprintf(r->target_url, sizeof r->target_url, "http://%s", gw_hp);
    } else {
        snprintf(r->rr.gateway, sizeof r->rr.gateway, "direct (no gateway)");
        snprintf(gw_hp, sizeof gw_hp, "%s", mock_hp);
        snprintf(r->target_url, sizeof r->target_url, "%s", r->mock.url);
    }
    r->client_proxy = proxy_new(r->base, "client", "127.0.0.1:0", gw_hp, err, errlen);
    if (r->client_proxy == NULL)
        return RUN_ENV;
    snprintf(r->client_url, sizeof r->client_url, "http://127.0.0.1:%d",
             proxy_listen_port(r->client_proxy));
    return RUN_PASS;
}

static FILE *open_log(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return fopen(path, "w");
}

static void fmt_num(char *out, size_t len, double v, const char *fmt)
{
    if (isfinite(v))
        snprintf(out, len, fmt, v);
    else
        snprintf(out, len, "-");
}

static void scenario_line(const struct run_config *cfg, struct scenario_result *res)
{
    if (cfg->progress == NULL)
        return;
    char line[1024], tail[32], lag[32], ptdr[32], errs[256] = "";
    size_t failed = 0;
    for (size_t g = 0; g < res->ngates; g++)
        failed += !res->gates[g].pass;
    fmt_num(tail, sizeof tail, stats_pct(&res->m[M_TAIL_TOKENS], 95), "%.0f");
    fmt_num(lag, sizeof lag, stats_pct(&res->m[M_CLOSE_LAG_MS], 99), "%.1f");
    fmt_num(ptdr, sizeof ptdr, res->scalar[S_PTDR], "%.2f");
    if (res->nerrs) {
        char what[200];
        results_error_text(res, what, sizeof what);
        snprintf(errs, sizeof errs, "  errors: %s", what);
    }
    const char *v = results_verdict(res->pass, res->error);
    snprintf(line, sizeof line,
             "%-28s %s  %zu requests  tail p95 %s  close lag p99 %s ms  PTDR %s  %zu/%zu gates "
             "failed%s%s%s",
             res->sc->name, strcmp(v, "pass") == 0 ? "PASS" : strcmp(v, "fail") == 0 ? "FAIL"
                                                                                    : "ERROR",
             res->nreqs, tail, lag, ptdr, failed, res->ngates, errs,
             res->error[0] || res->fail_reason[0] ? "  " : "",
             res->error[0] ? res->error : res->fail_reason);
    cfg->progress(cfg->progress_arg, line, 0);
}

int run_execute(const struct run_config *cfg, char *err, size_t errlen)
{
    struct runner r;
    memset(&r, 0, sizeof r);
    r.cfg = cfg;
    struct scenario *scs = calloc(cfg->nscenarios ? cfg->nscenarios : 1, sizeof *scs);
    size_t nsc = 0;
    int rc = RUN_PASS;
    struct event *tick = NULL;
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
    r.rr.sr = calloc(nsc ? nsc : 1, sizeof *r.rr.sr);
    if (r.rr.sr == NULL) {
        snprintf(err, errlen, "out of memory");
        rc = RUN_ENV;
        goto done;
    }
    uint64_t t_start = clock_now_ns();
    time_t now = time(NULL);
    strftime(r.rr.started_utc, sizeof r.rr.started_utc, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    snprintf(r.rr.version, sizeof r.rr.version, "%s", version_number());
    snprintf(r.rr.suite, sizeof r.rr.suite, "%s", cfg->suite_name ? cfg->suite_name : "");
    r.rr.seed = cfg->seed;
    r.rr.floor_dir = cfg->floor_dir;
    r.rr.direct = cfg->direct;
    r.rr.via_proxies = cfg->via_proxies;
    snprintf(r.rr.gateway, sizeof r.rr.gateway, "%s",
             cfg->direct ? "direct (no gateway)" : "the gateway");
    struct event_config *ec = event_config_new();
    event_config_set_flag(ec, EVENT_BASE_FLAG_PRECISE_TIMER);
    r.base = event_base_new_with_config(ec);
    event_config_free(ec);
    if (r.base == NULL || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "event loop or libcurl could not start");
        rc = RUN_ENV;
    }
    r.ledger_log = open_log(cfg->out_dir, "ledger.jsonl");
    r.client_log = open_log(cfg->out_dir, "client.jsonl");
    if (rc == RUN_PASS) {
        tick = event_new(r.base, -1, EV_PERSIST, tick_cb, &r);
        struct timeval tv = {0, 100000};
        event_add(tick, &tv);
        rc = setup(&r, scs, nsc, err, errlen);
    }
    r.rr.pass = 1;
    for (size_t i = 0; rc == RUN_PASS && i < nsc; i++) {
        if (cfg->interrupted && *cfg->interrupted) {
            snprintf(err, errlen, "interrupted");
            rc = RUN_ENV;
            break;
        }
        uint64_t seed = cfg->seed ^ (0x9e3779b97f4a7c15ull * (i + 1));
        struct scenario_result *res = &r.rr.sr[r.rr.n++];
        int src = run_scenario(&r, &scs[i], seed, res, err, errlen);
        if (src == RUN_USAGE) {
            rc = src;
            break;
        }
        r.rr.pass &= res->pass;
        scenario_line(cfg, res);
        if (src == RUN_ENV) {
            snprintf(err, errlen, "%s: %s", scs[i].name, res->error);
            rc = RUN_ENV;
        }
    }
    if (tick)
        event_free(tick);
    r.rr.total_s = (double)(clock_now_ns() - t_start) / 1e9;
    if (rc == RUN_ENV) {
        /* a run that could not judge says so in every artifact, and names what did not run */
        snprintf(r.rr.env_error, sizeof r.rr.env_error, "%s", err);
        r.rr.pass = 0;
        for (size_t i = r.rr.n; i < nsc && r.rr.nnot_run < SCENARIO_MAX_PER_RUN; i++)
            r.rr.not_run[r.rr.nnot_run++] = scs[i].name;
    }
    if (rc == RUN_PASS || rc == RUN_ENV) {
        char werr[256];
        if (report_write_run(cfg->out_dir, &r.rr, werr, sizeof werr) != 0) {
            if (rc == RUN_PASS)
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
    recs_clear(&r);
    free(r.recs);
    if (r.ledger_log)
        fclose(r.ledger_log);
    if (r.client_log)
        fclose(r.client_log);
    for (size_t i = 0; i < nsc; i++)
        scenario_cleanup(&scs[i]);
    free(scs);
    if (r.base) {
        event_base_free(r.base);
        curl_global_cleanup();
    }
    return rc;
}
