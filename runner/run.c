/* The run: its scenarios one after another in the environment (environment.c), then every
 * artifact. One libevent loop carries the chaos client and both chaos proxies; both sides'
 * records are joined by correlation id. */
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

#include "clock.h"
#include "environment.h"
#include "progress.h"
#include "reports/report.h"
#include "runner.h"
#include "scenariorun.h"
#include "shard.h"
#include "verdict.h"
#include "version.h"

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct runner *r = arg;
    if (r->cfg->interrupted && *r->cfg->interrupted)
        event_base_loopbreak(r->base);
}

static FILE *open_log(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return fopen(path, "w");
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
    /* a shard's folder carries its scenarios as they were, for the merge */
    for (size_t i = 0; cfg->shard_count > 0 && i < nsc; i++) {
        if (shard_save_scenario(cfg->out_dir, i, cfg->scenarios[i], err, errlen) != 0) {
            rc = RUN_USAGE;
            goto done;
        }
    }
    if (cfg->shard_count > 0)
        shard_scope(cfg->shard_index, cfg->shard_count, r.mock.scope, sizeof r.mock.scope);
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
    if (gethostname(r.rr.hostname, sizeof r.rr.hostname) != 0)
        r.rr.hostname[0] = '\0'; /* junit.xml then says localhost */
    r.rr.hostname[sizeof r.rr.hostname - 1] = '\0';
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
        rc = environment_setup(&r, scs, nsc, err, errlen);
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
        time_t began = time(NULL);
        strftime(res->started_utc, sizeof res->started_utc, "%Y-%m-%dT%H:%M:%SZ", gmtime(&began));
        res->seed = seed;
        int src = scenariorun_execute(&r, &scs[i], seed, res, err, errlen);
        if (src == RUN_USAGE) {
            /* a bad toxic found mid-run: this scenario could not be judged; the artifacts
             * still say what ran */
            res->sc = &scs[i];
            snprintf(res->error, sizeof res->error, "%s", err);
            for (int m = 0; m < S_N_SCALAR; m++)
                res->scalar[m] = NAN; /* nothing was measured */
            res->pass = 0;
            r.rr.pass = 0;
            rc = src;
            break;
        }
        r.rr.pass &= res->pass;
        progress_scenario(cfg, res);
        if (src == RUN_ENV) {
            snprintf(err, errlen, "%s: %s", scs[i].name, res->error);
            rc = RUN_ENV;
        }
        /* an abortOnFail gate that failed stops the run once its delay has passed; the
         * artifacts are written as for any failed run, with the rest listed as not run */
        if (rc == RUN_PASS && i + 1 < nsc &&
            verdict_abort(&r.rr, clock_now_ns() - t_start, r.rr.aborted, sizeof r.rr.aborted)) {
            for (size_t k = i + 1; k < nsc && r.rr.nnot_run < SCENARIO_MAX_PER_RUN; k++)
                r.rr.not_run[r.rr.nnot_run++] = scs[k].name;
            break;
        }
    }
    if (tick)
        event_free(tick);
    r.rr.total_s = (double)(clock_now_ns() - t_start) / 1e9;
    if (rc == RUN_ENV || rc == RUN_USAGE) {
        /* a run that could not judge says so in every artifact, and names what did not run */
        snprintf(r.rr.env_error, sizeof r.rr.env_error, "%s", err);
        snprintf(r.rr.env_kind, sizeof r.rr.env_kind, "%s",
                 rc == RUN_ENV ? "environment" : "usage");
        r.rr.pass = 0;
        for (size_t i = r.rr.n; i < nsc && r.rr.nnot_run < SCENARIO_MAX_PER_RUN; i++)
            r.rr.not_run[r.rr.nnot_run++] = scs[i].name;
    }
    /* every exit from here on writes the artifacts, a usage error found once things started
     * (a gateway description, a toxic) included: CI then shows the error, not "no tests" */
    {
        char werr[256];
        if (report_write_run(cfg->out_dir, &r.rr, werr, sizeof werr) != 0 ||
            (cfg->shard_count > 0 && shard_write(cfg->out_dir, cfg->shard_index, cfg->shard_count,
                                                 &r.rr, werr, sizeof werr) != 0)) {
            if (rc == RUN_PASS)
                snprintf(err, errlen, "%s", werr);
            if (rc != RUN_USAGE)
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
    environment_teardown(&r);
    results_free(&r.rr);
    scenariorun_clear(&r);
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
