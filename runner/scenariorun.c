#include "scenariorun.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "chaos/toxic.h"
#include "billing.h"
#include "gwproc.h"
#include "clock.h"
#include "jget.h"
#include "join.h"
#include "mockset.h"
#include "progress.h"
#include "shard.h"
#include "verdict.h"
#include "workers.h"

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
            /* a shard's merge rejoins from these lines: it needs the token arrival times */
            if (r->cfg->shard_count > 0) {
                cJSON *tr = cJSON_AddArrayToObject(j, "trace_us");
                for (uint32_t i = 0; tr && i < rec->ntrace; i++)
                    cJSON_AddItemToArray(tr, cJSON_CreateNumber(rec->trace_us[i]));
            }
            char *line = cJSON_PrintUnformatted(j);
            if (line)
                fprintf(r->client_log, "%s\n", line);
            free(line);
            cJSON_Delete(j);
        }
    }
    progress_count(&r->counts, rec);
}

static void on_done(void *arg)
{
    struct runner *r = arg;
    r->client_done = 1;
    event_base_loopbreak(r->base);
}

/* Forgets the previous scenario's client records and counts. */
void scenariorun_clear(struct runner *r)
{
    for (size_t i = 0; i < r->nrecs; i++)
        free(r->recs[i].trace_us);
    r->nrecs = 0;
    progress_counts_cleanup(&r->counts);
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
    progress_live(p->r->cfg, p->sc, &p->r->counts);
}

/* " (see DIR/NAME)" when that log exists, else "": a message names only a file that is there. */
static void log_note(const struct runner *r, const char *name, char *out, size_t len)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/%s", r->cfg->out_dir, name);
    if (access(path, F_OK) == 0)
        snprintf(out, len, " (see %s)", path);
    else
        out[0] = '\0';
}

/* Is the environment still whole? Fills why and returns 0 when the mock or the gateway died. */
static int env_alive(struct runner *r, char *why, size_t len)
{
    char note[1200];
    if (!mockset_alive(r, why, len))
        return 0;
    /* always alive for a gateway we did not start: its users' errors tell */
    if (r->have_gw && !gateway_alive(&r->gw)) {
        log_note(r, "gateway.log", note, sizeof note);
        snprintf(why, len, "the gateway exited during the scenario%s", note);
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
    char why[300];
    double active = mockset_active_streams(r, NULL, why, sizeof why);
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
    return r->cfg->via_proxies || cJSON_GetArraySize(sc->toxics_client) > 0 || has_drop_users(sc);
}

/* How many client worker processes the scenario gets, with a note in 'note' when fewer than the
 * run asked for. A worker is its own process: what calls into the runner's state stays here. */
static uint32_t workers_for(const struct runner *r, const struct scenario *sc, uint32_t conc,
                            uint32_t share, char *note, size_t len)
{
    uint32_t want = r->cfg->workers > 1 ? r->cfg->workers : 1, w = want;
    note[0] = '\0';
    if (want == 1)
        return 1;
    if (has_drop_users(sc)) {
        snprintf(note, len, "workers: 1 (network_drop needs the in-process proxy)");
        return 1;
    }
    if (sc->isolate) {
        snprintf(note, len, "workers: 1 (isolate asks the mock before each request)");
        return 1;
    }
    /* no worker without a user or a slot of its own: the load stays the scenario's */
    if (w > conc)
        w = conc;
    if (w > share)
        w = share;
    if (w < 1)
        w = 1;
    if (w < want)
        snprintf(note, len, "workers: %u (%u users, %u at once)", w, share, conc);
    return w;
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
int scenariorun_execute(struct runner *r, struct scenario *sc, uint64_t seed,
                        struct scenario_result *res, char *err, size_t errlen)
{
    res->sc = sc;
    r->sc = sc;
    res->mock_lag_p99_ms = res->mock_late_share = res->mock_tokens_timed = NAN;
    res->mock_rate_share = NAN;
    /* a schedule longer than the field is cut to it */
    snprintf(res->profile, sizeof res->profile, "%.*s", (int)sizeof res->profile - 1,
             sc->schedule[0] ? sc->schedule : sc->profile);
    uint64_t t0 = clock_now_ns();
    if (mockset_configure(r, sc, res->error, sizeof res->error) != 0)
        return RUN_ENV;
    uint64_t t_profile = clock_now_ns(); /* a schedule's offsets count from about here */
    int proxied = client_leg_proxied(r, sc);
    if (add_toxics(r->client_proxy, sc->toxics_client, "client", sc, err, errlen) != 0 ||
        (r->upstream_proxy &&
         add_toxics(r->upstream_proxy, sc->toxics_upstream, "upstream", sc, err, errlen) != 0))
        return RUN_USAGE;
    /* the scenario's upstream network is every provider's */
    for (size_t i = 0; i < r->nnamed; i++)
        if (r->named_proxy[i] &&
            add_toxics(r->named_proxy[i], sc->toxics_upstream, "upstream", sc, err, errlen) != 0)
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
    /* an https target: the gateway's certificate by its description, or the mock's own CA */
    if (r->have_gw && r->gw.tls_ca_file[0])
        cc.req.ca_file = r->gw.tls_ca_file;
    else if (!r->have_gw && r->mock.tls)
        cc.req.ca_file = r->mock.ca_file;
    cc.req.tls_insecure = r->have_gw && r->gw.tls_insecure;
    cc.http = sc->http >= 0 ? (enum chaos_http)sc->http : r->have_gw ? r->gw.http : CHAOS_HTTP_1_1;
    cc.users_per_connection = sc->users_per_connection;
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
    cc.req.non_streaming = sc->non_streaming;
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
    char id_prefix[128];
    cc.id_prefix = sc->name;
    if (r->cfg->shard_count > 0) {
        /* the shard's scope starts its correlation ids: its ledger records and settings on the
         * shared mock are its own */
        snprintf(id_prefix, sizeof id_prefix, "%s%s", r->mock.scope, sc->name);
        cc.id_prefix = id_prefix;
        cc.shard_index = r->cfg->shard_index;
        cc.shard_count = r->cfg->shard_count;
        cc.concurrency =
            shard_concurrency(sc->concurrency, r->cfg->shard_index, r->cfg->shard_count);
    }
    cc.timeout_ms = sc->timeout_ms;
    cc.drop = drop_hook;
    cc.drop_arg = r;
    cc.on_record = on_record;
    cc.record_arg = r;
    cc.on_done = on_done;
    cc.done_arg = r;
    scenariorun_clear(r);
    r->records_lost = 0;
    r->client_done = 0;
    /* without memory for its bitmap a supersede's replacement counts as a user: a live line */
    uint32_t share = sc->requests;
    if (r->cfg->shard_count > 0)
        share = r->cfg->shard_index < sc->requests
                    ? (sc->requests - r->cfg->shard_index + r->cfg->shard_count - 1) /
                          r->cfg->shard_count
                    : 0;
    progress_counts_init(&r->counts, share);
    r->isolate_since_ns = 0;
    r->isolate_timeouts = 0;
    res->workers =
        workers_for(r, sc, cc.concurrency, share, res->workers_note, sizeof res->workers_note);
    if (res->workers_note[0] && r->cfg->progress) {
        char line[300];
        snprintf(line, sizeof line, "%s: %s", sc->name, res->workers_note);
        r->cfg->progress(r->cfg->progress_arg, line, 0);
    }
    /* validated here either way: a bad config is a usage error, not a worker's death */
    struct chaos_client *cl = chaos_client_new(r->base, &cc, err, errlen);
    struct workers *ws = NULL;
    if (cl == NULL)
        return RUN_USAGE;
    if (res->workers > 1) {
        chaos_client_free(cl);
        cl = NULL;
        ws = workers_start(r->base, &cc, res->workers, res->error, sizeof res->error);
        if (ws == NULL)
            return RUN_ENV;
    } else if (chaos_client_start(cl, res->error, sizeof res->error) != 0) {
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
    progress_live(r->cfg, sc, &r->counts); /* the last count stands until the verdict line */
    int interrupted = r->cfg->interrupted && *r->cfg->interrupted;
    if (interrupted)
        snprintf(res->error, sizeof res->error, "interrupted before the scenario finished");
    else if (workers_error(ws, res->error, sizeof res->error) != 0)
        ; /* a worker's records cannot be trusted: the scenario is not judged */
    else if (alive && !r->client_done)
        snprintf(res->error, sizeof res->error, "the client did not finish within %llu s",
                 (unsigned long long)(limit_ms / 1000));
    /* settle: let generation that outlived its user end, up to the window */
    uint64_t settle_deadline = clock_now_ns() + (uint64_t)sc->settle_ms * 1000000ull;
    /* with settle_quiet_ms it ends only once the mocks stayed idle that long with no new
     * upstream request: a gateway that backs off before a retry or a fallback starts it after
     * they went idle */
    uint64_t idle_since = 0;
    double records_then = -1;
    while (!res->error[0] && clock_now_ns() < settle_deadline) {
        double records = 0;
        double active = mockset_active_streams(r, &records, res->error, sizeof res->error);
        if (active < 0)
            break;
        uint64_t now = clock_now_ns();
        if (active > 0 || records != records_then) {
            idle_since = 0;
            records_then = records;
        } else if (idle_since == 0) {
            idle_since = now;
        }
        if (active == 0 && idle_since &&
            now - idle_since >= (uint64_t)sc->settle_quiet_ms * 1000000ull)
            break;
        loop_for(r, active == 0 && sc->settle_quiet_ms < 100 ? sc->settle_quiet_ms : 100);
    }
    if (!res->error[0])
        env_alive(r, res->error, sizeof res->error);
    /* a mock that fell behind measured itself: the scenario is not judged, whatever it saw */
    mockset_lag(r, &res->mock_lag_p99_ms, &res->mock_late_share, &res->mock_tokens_timed,
                &res->mock_rate_share);
    if (!res->error[0]) {
        double max_ms =
            r->cfg->max_mock_lag_ms > 0 ? r->cfg->max_mock_lag_ms : RUN_DEFAULT_MAX_MOCK_LAG_MS;
        verdict_mock_overloaded(res, max_ms, res->error, sizeof res->error);
    }
    double settle_end = (double)clock_now_ns();
    chaos_client_free(cl); /* closes anything still open */
    workers_free(ws);      /* kills, by PID, any worker still running */
    char lerr[sizeof res->error];
    cJSON *ledger = mockset_ledger(r, lerr, sizeof lerr);
    if (ledger == NULL && !res->error[0])
        snprintf(res->error, sizeof res->error, "%s", lerr);
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
    res->settle_end_ns = settle_end;
    res->first_send_ns = r->nrecs ? first_send : NAN;
    res->last_end_ns = r->nrecs ? last_end : NAN;
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
