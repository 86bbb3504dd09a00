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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <event2/event.h>

#include "chaos/client.h"
#include "chaos/proxy.h"
#include "chaos/toxic.h"
#include "cliutil.h"
#include "clock.h"
#include "fetch.h"
#include "gateway.h"
#include "profile.h"
#include "reports/report.h"
#include "results.h"
#include "scenario.h"

#define RUN_MAX_SCENARIOS 64
#define RUN_VERSION "0.1.0"

struct runner {
    const struct run_config *cfg;
    struct event_base *base;
    char mock_url[128];   /* mockprov itself */
    pid_t mock_pid;
    char mock_dir[64];
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

/* ---- HTTP to the mock's admin API (blocking, loopback, short) ----------------------------- */

static long http(const char *method, const char *url, const char *body, char **out)
{
    return fetch(method, url, NULL, body, 30000, out, NULL);
}

static cJSON *admin_get(struct runner *r, const char *path)
{
    char url[512], *body = NULL;
    snprintf(url, sizeof url, "%s%s", r->mock_url, path);
    long st = http("GET", url, NULL, &body);
    cJSON *j = st == 200 && body ? cJSON_Parse(body) : NULL;
    free(body);
    return j;
}

static long admin_post(struct runner *r, const char *path, const char *json, char **out)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", r->mock_url, path);
    return http("POST", url, json, out);
}

/* ---- starting things ------------------------------------------------------------------- */

static int start_mock(struct runner *r, char *err, size_t errlen)
{
    if (r->cfg->mock_url) {
        snprintf(r->mock_url, sizeof r->mock_url, "%s", r->cfg->mock_url);
    } else {
        snprintf(r->mock_dir, sizeof r->mock_dir, "/tmp/tailgate-run.XXXXXX");
        if (mkdtemp(r->mock_dir) == NULL) {
            snprintf(err, errlen, "mkdtemp: %s", strerror(errno));
            return -1;
        }
        char port_file[128], log[600];
        snprintf(port_file, sizeof port_file, "%s/port", r->mock_dir);
        snprintf(log, sizeof log, "%s/mock.log", r->cfg->out_dir);
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
            snprintf(err, errlen, "fork: %s", strerror(errno));
            return -1;
        }
        if (pid == 0) {
            FILE *f = freopen(log, "a", stdout);
            if (f)
                dup2(fileno(f), 2);
            execl(r->cfg->self_exe, r->cfg->self_exe, "mock", "--port", "0", "--port-file",
                  port_file, (char *)NULL);
            _exit(127);
        }
        r->mock_pid = pid;
        int port = -1;
        for (int i = 0; i < 500 && port < 0; i++) { /* 5 s */
            FILE *f = fopen(port_file, "r");
            if (f) {
                if (fscanf(f, "%d", &port) != 1)
                    port = -1;
                fclose(f);
            }
            int st;
            if (port < 0 && waitpid(pid, &st, WNOHANG) == pid) {
                r->mock_pid = 0;
                snprintf(err, errlen, "mockprov exited at start (see %s)", log);
                return -1;
            }
            if (port < 0) {
                struct timespec ts = {0, 10 * 1000000L};
                nanosleep(&ts, NULL);
            }
        }
        if (port < 0) {
            snprintf(err, errlen, "mockprov did not start within 5 s (see %s)", log);
            return -1;
        }
        snprintf(r->mock_url, sizeof r->mock_url, "http://127.0.0.1:%d", port);
    }
    cJSON *h = admin_get(r, "/_tailgate/health");
    int ok = h != NULL;
    cJSON_Delete(h);
    if (!ok) {
        snprintf(err, errlen, "mockprov unreachable at %s/_tailgate/health", r->mock_url);
        return -1;
    }
    return 0;
}

static void stop_mock(struct runner *r)
{
    if (r->mock_pid > 0)
        cliutil_stop_child(r->mock_pid, 0, 3000);
    r->mock_pid = 0;
    if (r->mock_dir[0]) {
        char p[128];
        snprintf(p, sizeof p, "%s/port", r->mock_dir);
        unlink(p);
        rmdir(r->mock_dir);
        r->mock_dir[0] = '\0';
    }
}

/* Clock offset mock - runner from a few ping-pongs; keep the fastest: its
 * midpoint is the best estimate, and half its round trip the uncertainty. */
static void estimate_clock(struct runner *r)
{
    double best_rtt = INFINITY, offset = 0;
    for (int i = 0; i < 7; i++) {
        uint64_t t0 = clock_now_ns();
        cJSON *j = admin_get(r, "/_tailgate/clock");
        uint64_t t1 = clock_now_ns();
        const cJSON *m = cJSON_GetObjectItem(j, "mono_ns");
        if (cJSON_IsNumber(m) && (double)(t1 - t0) < best_rtt) {
            best_rtt = (double)(t1 - t0);
            offset = m->valuedouble - ((double)t0 + (double)(t1 - t0) / 2);
        }
        cJSON_Delete(j);
    }
    r->rr.clock_offset_ns = isinf(best_rtt) ? 0 : offset;
    r->rr.clock_uncertainty_ns = isinf(best_rtt) ? NAN : best_rtt / 2;
}

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

static int configure_mock(struct runner *r, const struct scenario *sc, char *err, size_t errlen)
{
    char *b = NULL;
    long st = admin_post(r, "/_tailgate/reset", "{}", &b);
    free(b);
    if (st != 200) {
        snprintf(err, errlen, "mockprov reset failed (status %ld)", st);
        return -1;
    }
    if (sc->fault[0]) {
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "fault", sc->fault);
        cJSON_AddNumberToObject(f, "count", 1e9);
        char *fj = cJSON_PrintUnformatted(f);
        cJSON_Delete(f);
        st = admin_post(r, "/_tailgate/faults", fj, &b);
        free(fj);
        free(b);
        if (st != 200) {
            snprintf(err, errlen, "%s: mockprov refused the fault '%s'", sc->file, sc->fault);
            return -1;
        }
    }
    cJSON *p = cJSON_CreateObject();
    if (sc->schedule[0])
        cJSON_AddStringToObject(p, "schedule", sc->schedule);
    else
        cJSON_AddStringToObject(p, "name", sc->profile);
    if (sc->overrides)
        cJSON_AddItemToObject(p, "overrides", cJSON_Duplicate(sc->overrides, 1));
    char *json = cJSON_PrintUnformatted(p);
    cJSON_Delete(p);
    st = admin_post(r, "/_tailgate/profile", json, &b);
    free(json);
    if (st != 200) {
        snprintf(err, errlen, "%s: mockprov refused the profile: %.200s", sc->file,
                 b ? b : "(no answer)");
        free(b);
        return -1;
    }
    free(b);
    return 0;
}

static double jnum(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Generated (mock clock) and delivered (client clock) token times around the abort, in ms. */
static void timeline(struct runner *r, struct req_result *q, const cJSON *records,
                     double t_abort_mock)
{
    size_t n = 0;
    const cJSON *rec;
    cJSON_ArrayForEach(rec, records)
    {
        const char *cid = jstr(rec, "correlation_id");
        if (cid && strcmp(cid, q->cid) == 0)
            n += (size_t)cJSON_GetArraySize(cJSON_GetObjectItem(rec, "token_t_ns"));
    }
    const struct chaos_record *c = NULL;
    for (size_t i = 0; i < r->nrecs && c == NULL; i++)
        if (r->recs[i].attempt == 1 && strcmp(r->recs[i].correlation_id, q->cid) == 0)
            c = &r->recs[i];
    q->gen_ms = n ? calloc(n, sizeof *q->gen_ms) : NULL;
    q->del_ms = c && c->ntrace ? calloc(c->ntrace, sizeof *q->del_ms) : NULL;
    if ((n && q->gen_ms == NULL) || (c && c->ntrace && q->del_ms == NULL)) {
        free(q->gen_ms);
        free(q->del_ms);
        q->gen_ms = q->del_ms = NULL;
        return;
    }
    cJSON_ArrayForEach(rec, records)
    {
        const char *cid = jstr(rec, "correlation_id");
        if (cid == NULL || strcmp(cid, q->cid) != 0)
            continue;
        const cJSON *t;
        cJSON_ArrayForEach(t, cJSON_GetObjectItem(rec, "token_t_ns"))
            q->gen_ms[q->ngen++] = (t->valuedouble - t_abort_mock) / 1e6;
    }
    for (uint32_t i = 0; c && i < c->ntrace; i++)
        q->del_ms[q->ndel++] =
            ((double)c->t_send_ns + c->trace_us[i] * 1e3 - q->t_abort_ns) / 1e6;
}

/* Joins the client's attempts and the mock's records for every user request. */
static void join(struct runner *r, struct scenario_result *res, const cJSON *ledger,
                 double settle_end_ns)
{
    const double off = r->rr.clock_offset_ns;
    const cJSON *records = cJSON_GetObjectItem(ledger, "records");
    /* user requests: distinct correlation ids in the client records, first attempt first */
    res->reqs = calloc(r->nrecs ? r->nrecs : 1, sizeof *res->reqs);
    if (res->reqs == NULL)
        return;
    for (size_t i = 0; i < r->nrecs; i++) {
        const struct chaos_record *c = &r->recs[i];
        struct req_result *q = NULL;
        for (size_t k = 0; k < res->nreqs; k++)
            if (strcmp(res->reqs[k].cid, c->correlation_id) == 0)
                q = &res->reqs[k];
        if (q == NULL) {
            q = &res->reqs[res->nreqs++];
            snprintf(q->cid, sizeof q->cid, "%s", c->correlation_id);
            for (int m = 0; m < M_N_SAMPLE; m++)
                q->sample[m] = NAN;
            q->usage_value = NAN;
        }
        q->client_attempts++;
        if (c->attempt == 1) {
            q->action = chaos_action_name(c->action);
            q->end = chaos_end_name(c->end);
            q->http_status = c->http_status;
            q->t_send_ns = (double)c->t_send_ns;
            q->t_first_byte_ns = (double)c->t_first_byte_ns;
            q->aborted = c->t_abort_ns != 0;
            q->t_abort_ns = (double)c->t_abort_ns;
            q->delivered = (double)c->delivered_tokens;
            q->total = (double)c->total_tokens;
            if (c->end == CHAOS_END_ERROR || c->end == CHAOS_END_TIMEOUT)
                res->client_errors++;
            if (c->end == CHAOS_END_HTTP_ERROR)
                res->http_errors++;
        } else {
            q->total += (double)c->total_tokens; /* a retry the user waited for */
        }
    }
    size_t timelines = 0;
    for (size_t k = 0; k < res->nreqs; k++) {
        struct req_result *q = &res->reqs[k];
        double t_abort_mock = q->t_abort_ns + off;
        double gen = 0, tail = 0, billed = 0, attempts = 0, rid = 0, orphan = 0;
        double first_close = NAN, last_stop = -INFINITY;
        const cJSON *rec;
        cJSON_ArrayForEach(rec, records)
        {
            const char *cid = jstr(rec, "correlation_id");
            if (cid == NULL || strcmp(cid, q->cid) != 0)
                continue;
            attempts++;
            gen += jnum(rec, "generated_tokens");
            billed += jnum(rec, "billed_output_tokens");
            rid = rid || cJSON_IsTrue(cJSON_GetObjectItem(rec, "rid_header"));
            const char *state = jstr(rec, "state");
            int active = state && strcmp(state, "active") == 0;
            orphan = orphan || active;
            double u = jnum(rec, "usage_reported");
            if (!isnan(u))
                q->usage_value = u;
            const char *sr = jstr(rec, "stop_reason");
            snprintf(q->stop_reason, sizeof q->stop_reason, "%s", sr ? sr : "running");
            /* the tail belongs to upstream attempts already running at the abort; a retry the
             * user then waits for is wanted work */
            double accepted = jnum(rec, "t_accept_ns");
            int before_abort = q->aborted && accepted <= t_abort_mock;
            const cJSON *times = cJSON_GetObjectItem(rec, "token_t_ns");
            const cJSON *t;
            cJSON_ArrayForEach(t, times)
                tail += before_abort && t->valuedouble > t_abort_mock;
            if (!q->aborted)
                continue;
            double accept = jnum(rec, "t_accept_ns");
            double closed = jnum(rec, "t_peer_closed_ns");
            double stop = jnum(rec, "t_gen_stop_ns");
            const char *ck = jstr(rec, "close_kind");
            /* the upstream connection that was open at the abort: when did it end? A close, or
             * for a gateway that read on to the end, the end of generation */
            if (accept <= t_abort_mock) {
                double end = !isnan(closed) ? closed : stop;
                if (!isnan(end) && (isnan(first_close) || end < first_close)) {
                    first_close = end;
                    snprintf(q->close_kind, sizeof q->close_kind, "%s", ck ? ck : "none");
                }
            }
            double s = active ? settle_end_ns + off : stop;
            if (before_abort && !isnan(s) && s > last_stop)
                last_stop = s;
        }
        q->sample[M_DELIVERED_TOKENS] = q->delivered;
        q->sample[M_GENERATED_TOKENS] = gen;
        q->sample[M_BILLED_OUTPUT_TOKENS] = billed;
        q->sample[M_UPSTREAM_ATTEMPTS] = attempts;
        q->sample[M_RID_PROPAGATED] = attempts ? rid : NAN;
        q->sample[M_ORPHANED] = orphan;
        q->sample[M_USAGE_REPORTED] = isnan(q->usage_value) ? 0 : 1;
        if (q->t_first_byte_ns > 0)
            q->sample[M_TTFT_MS] = (q->t_first_byte_ns - q->t_send_ns) / 1e6;
        if (q->aborted && timelines < RESULTS_TIMELINES && attempts > 0) {
            timeline(r, q, records, t_abort_mock);
            timelines += q->ngen > 0;
        }
        if (q->aborted) {
            q->sample[M_TAIL_TOKENS] = tail;
            if (!isnan(first_close))
                q->sample[M_CLOSE_LAG_MS] = fmax(0, first_close - t_abort_mock) / 1e6;
            else if (attempts)
                q->sample[M_CLOSE_LAG_MS] = fmax(0, settle_end_ns - q->t_abort_ns) / 1e6;
            if (isfinite(last_stop))
                q->sample[M_STOP_LAG_MS] = fmax(0, last_stop - t_abort_mock) / 1e6;
        }
    }
}

static void meter_one(struct runner *r, struct scenario_result *res, const cJSON *j)
{
    const char *id = jstr(j, r->gw.metering_id_field);
    double tok = jnum(j, r->gw.metering_tokens_field);
    for (size_t k = 0; id && !isnan(tok) && k < res->nreqs; k++) {
        if (strcmp(res->reqs[k].cid, id) != 0)
            continue;
        struct req_result *q = &res->reqs[k];
        q->metered = isnan(q->metered) ? tok : q->metered + tok; /* retries add up */
        return;
    }
}

/* Reads the gateway's metering output, a JSON-lines file or an endpoint answering JSON lines or
 * one array, into each request's 'metered'. */
static void read_metering(struct runner *r, struct scenario_result *res)
{
    char *text = NULL;
    if (r->gw.metering_url[0]) {
        if (http("GET", r->gw.metering_url, NULL, &text) != 200) {
            free(text);
            return;
        }
    } else {
        FILE *f = fopen(r->gw.metering_file, "r");
        size_t cap = 0;
        if (f == NULL)
            return;
        if (getdelim(&text, &cap, '\0', f) < 0) {
            free(text);
            text = NULL;
        }
        fclose(f);
    }
    if (text == NULL)
        return;
    res->billing.metered = 1;
    cJSON *arr = text[strspn(text, " \t\r\n")] == '[' ? cJSON_Parse(text) : NULL;
    if (arr) {
        const cJSON *j;
        cJSON_ArrayForEach(j, arr)
            meter_one(r, res, j);
        cJSON_Delete(arr);
    } else {
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            cJSON *j = cJSON_Parse(line);
            meter_one(r, res, j);
            cJSON_Delete(j);
        }
    }
    free(text);
}

/* Invoice against wire and metering, over time in 1-s buckets of request start. */
static void reconcile(struct runner *r, struct scenario_result *res)
{
    struct billing *b = &res->billing;
    for (size_t k = 0; k < res->nreqs; k++)
        res->reqs[k].metered = NAN;
    if (r->have_gw && (r->gw.metering_file[0] || r->gw.metering_url[0]))
        read_metering(r, res);
    const struct scenario *sc = res->sc;
    if (sc->schedule[0]) {
        struct schedule sch;
        char e[128];
        if (schedule_parse(sc->schedule, &sch, e, sizeof e) == 0)
            for (size_t i = 1; i < sch.n && b->nswitches < 16; i++)
                b->switches_s[b->nswitches++] = (double)sch.steps[i].at_ms / 1000.0;
    }
    double t0 = INFINITY;
    for (size_t k = 0; k < res->nreqs; k++)
        t0 = fmin(t0, res->reqs[k].t_send_ns);
    /* the schedule started when the profile was set, just before the first send */
    double inv[2] = {0, 0}, met[2] = {0, 0}, inv_all = 0, met_all = 0;
    for (size_t k = 0; k < res->nreqs; k++) {
        const struct req_result *q = &res->reqs[k];
        double t = (q->t_send_ns - t0) / 1e9 + res->schedule_lead_s;
        size_t bucket = t < 0 ? 0 : (size_t)t;
        if (bucket >= BILLING_MAX_BUCKETS)
            bucket = BILLING_MAX_BUCKETS - 1;
        if (bucket + 1 > b->nbuckets)
            b->nbuckets = bucket + 1;
        double billed = q->sample[M_BILLED_OUTPUT_TOKENS];
        b->buckets[bucket].invoice += billed;
        b->buckets[bucket].wire += isnan(q->usage_value) ? 0 : q->usage_value;
        b->buckets[bucket].metered += isnan(q->metered) ? 0 : q->metered;
        if (!b->metered)
            continue;
        double m = isnan(q->metered) ? 0 : q->metered;
        int after = b->nswitches && t >= b->switches_s[0];
        inv[after] += billed;
        met[after] += m;
        inv_all += billed;
        met_all += m;
        if (billed != m) {
            if (b->ndis < BILLING_MAX_DISAGREEMENTS) {
                struct disagreement *d = &b->dis[b->ndis++];
                snprintf(d->cid, sizeof d->cid, "%s", q->cid);
                d->billed = billed;
                d->metered = m;
            }
            b->ndis_total++;
        }
    }
    b->variance_pct = b->metered && inv_all > 0 ? (inv_all - met_all) / inv_all * 100 : NAN;
    b->variance_before_pct = b->metered && inv[0] > 0 ? (inv[0] - met[0]) / inv[0] * 100 : NAN;
    b->variance_after_pct = b->metered && inv[1] > 0 ? (inv[1] - met[1]) / inv[1] * 100 : NAN;
}

static void compute(struct scenario_result *res)
{
    double billed = 0, delivered = 0, orphans = 0, errors = 0;
    for (int m = 0; m < M_N_SAMPLE; m++)
        stats_init(&res->m[m]);
    for (size_t k = 0; k < res->nreqs; k++) {
        const struct req_result *q = &res->reqs[k];
        for (int m = 0; m < M_N_SAMPLE; m++)
            if (!isnan(q->sample[m]))
                stats_add(&res->m[m], q->sample[m]);
        billed += q->sample[M_BILLED_OUTPUT_TOKENS];
        delivered += q->total;
        orphans += q->sample[M_ORPHANED] > 0;
        errors += strcmp(q->end, "error") == 0 || strcmp(q->end, "timeout") == 0;
    }
    double n = (double)res->nreqs;
    res->scalar[S_PTDR] = delivered > 0 ? billed / delivered : (billed > 0 ? INFINITY : NAN);
    res->scalar[S_WASTED_TOKENS] = fmax(0, billed - delivered);
    res->scalar[S_WASTED_COST_USD] = res->scalar[S_WASTED_TOKENS] * res->price_out / 1e6;
    res->scalar[S_MONTHLY_WASTED_USD] =
        n > 0 ? res->scalar[S_WASTED_COST_USD] / n * res->sc->requests_per_day * 30 : NAN;
    res->scalar[S_BILLING_VARIANCE_PCT] = res->billing.variance_pct; /* NAN without metering */
    res->scalar[S_ORPHAN_RATE] = n > 0 ? orphans / n : NAN;
    res->scalar[S_ERROR_RATE] = n > 0 ? errors / n : NAN;
    res->pass = 1;
    for (size_t i = 0; i < res->sc->ngates; i++) {
        const struct gate *g = &res->sc->gates[i];
        int scalar;
        int idx = scenario_metric_index(g->metric, &scalar);
        struct gate_result *gr = &res->gates[res->ngates++];
        gr->gate = g;
        if (scalar) {
            gr->observed = gate_observe(g, NULL, res->scalar[idx]);
            gr->samples = isnan(res->scalar[idx]) ? 0 : 1;
        } else {
            gr->observed = gate_observe(g, &res->m[idx], NAN);
            gr->samples = stats_count(&res->m[idx]);
        }
        gr->pass = gate_check(g, gr->observed); /* no samples: NAN: fails closed */
        res->pass &= gr->pass;
    }
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
    if (configure_mock(r, sc, err, errlen) != 0)
        return RUN_ENV;
    uint64_t t_profile = clock_now_ns(); /* a schedule's offsets count from about here */
    if (add_toxics(r->client_proxy, sc->toxics_client, "client", sc, err, errlen) != 0 ||
        add_toxics(r->upstream_proxy, sc->toxics_upstream, "upstream", sc, err, errlen) != 0)
        return RUN_USAGE;
    /* prices: the scenario's, else the profile's */
    cJSON *prof = admin_get(r, "/_tailgate/profile");
    const cJSON *cur = cJSON_GetObjectItem(prof, "current");
    res->price_in = sc->price_in >= 0 ? sc->price_in : jnum(cur, "price_in_per_mtok");
    res->price_out = sc->price_out >= 0 ? sc->price_out : jnum(cur, "price_out_per_mtok");
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
        cJSON *h = admin_get(r, "/_tailgate/health");
        double active = jnum(h, "active_streams");
        cJSON_Delete(h);
        if (active == 0)
            break;
        loop_for(r, 100);
    }
    double settle_end = (double)clock_now_ns();
    chaos_client_free(cl); /* closes anything still open */
    cJSON *ledger = admin_get(r, "/_tailgate/ledger");
    if (ledger == NULL) {
        snprintf(err, errlen, "could not read mockprov's ledger at %s", r->mock_url);
        return RUN_ENV;
    }
    res->ledger_dropped = (uint64_t)fmax(0, jnum(ledger, "dropped"));
    join(r, res, ledger, settle_end);
    cJSON_Delete(ledger);
    double first_send = INFINITY, last_end = 0;
    for (size_t i = 0; i < r->nrecs; i++) {
        first_send = fmin(first_send, (double)r->recs[i].t_send_ns);
        last_end = fmax(last_end, (double)r->recs[i].t_end_ns);
    }
    res->traffic_s = r->nrecs ? (last_end - first_send) / 1e9 : 0;
    res->schedule_lead_s = isfinite(first_send) ? (first_send - (double)t_profile) / 1e9 : 0;
    reconcile(r, res);
    compute(res);
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
    if (start_mock(r, err, errlen) != 0)
        return RUN_ENV;
    estimate_clock(r);
    char mock_hp[128], gw_hp[128];
    host_port(r->mock_url, mock_hp, sizeof mock_hp);
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
    stop_mock(&r);
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
