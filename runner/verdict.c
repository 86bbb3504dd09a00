/* The verdict of one scenario: per-scenario scalars from the joined requests, then every gate. */
#include "verdict.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "chaos/client.h"
#include "taskmetrics.h"

/* Which user entry made each request: the client's plan, a pure function of the scenario's
 * seed and the request's index (chaos_plan), so the runner needs no record of it. */
static void assign_users(struct scenario_result *res)
{
    struct chaos_config cc;
    memset(&cc, 0, sizeof cc);
    memcpy(cc.users, res->sc->users, sizeof cc.users);
    cc.nusers = res->sc->nusers;
    cc.seed = res->seed;
    for (size_t k = 0; k < res->nreqs; k++) {
        int64_t at;
        res->reqs[k].user = cc.nusers ? (int)chaos_plan(&cc, res->reqs[k].index, &at) : -1;
    }
}

/* 1 when the request's user has every tag of g */
static int tagged(const struct scenario_result *res, const struct req_result *q,
                  const struct gate *g)
{
    if (q->user < 0 || (size_t)q->user >= res->sc->nusers)
        return g->ntags == 0;
    for (size_t t = 0; t < g->ntags; t++) {
        const char *v = g->tags[t].key == GATE_TAG_ACTION
                            ? chaos_action_name(res->sc->users[q->user].action)
                            : res->sc->user_kind[q->user];
        if (v == NULL || strcmp(v, g->tags[t].value) != 0)
            return 0;
    }
    return 1;
}

/* The samples of metric m over the requests a sub-metric's tags select, into s (initialised
 * here; the caller cleans it up). */
static void sub_metric(const struct scenario_result *res, const struct gate *g, int m,
                       struct stats *s)
{
    stats_init(s);
    for (size_t k = 0; k < res->nreqs; k++) {
        const struct req_result *q = &res->reqs[k];
        if (!tagged(res, q, g))
            continue;
        if (m == M_DELIVERY_MS) {
            for (size_t i = 0; i < q->ndelivery; i++)
                stats_add(s, q->delivery_ms[i]);
        } else if (!isnan(q->sample[m])) {
            stats_add(s, q->sample[m]);
        }
    }
}

void verdict_compute(struct scenario_result *res)
{
    assign_users(res);
    taskmetrics_fill(res);
    double billed = 0, delivered = 0, orphans = 0;
    for (int m = 0; m < M_N_SAMPLE; m++)
        stats_init(&res->m[m]);
    for (size_t k = 0; k < res->nreqs; k++) {
        const struct req_result *q = &res->reqs[k];
        for (int m = 0; m < M_N_SAMPLE; m++)
            if (m != M_DELIVERY_MS && !isnan(q->sample[m]))
                stats_add(&res->m[m], q->sample[m]);
        /* delivery is a per-token distribution: every token of every request */
        for (size_t i = 0; i < q->ndelivery; i++)
            stats_add(&res->m[M_DELIVERY_MS], q->delivery_ms[i]);
        billed += q->sample[M_BILLED_OUTPUT_TOKENS];
        delivered += q->total;
        orphans += q->sample[M_ORPHANED] > 0;
    }
    double n = (double)res->nreqs;
    res->scalar[S_PTDR] = delivered > 0 ? billed / delivered : (billed > 0 ? INFINITY : NAN);
    res->scalar[S_WASTED_TOKENS] = fmax(0, billed - delivered);
    res->scalar[S_WASTED_COST_USD] = res->scalar[S_WASTED_TOKENS] * res->price_out / 1e6;
    res->scalar[S_MONTHLY_WASTED_USD] =
        n > 0 ? res->scalar[S_WASTED_COST_USD] / n * res->sc->requests_per_day * 30 : NAN;
    res->scalar[S_BILLING_VARIANCE_PCT] = res->billing.variance_pct; /* NAN without metering */
    res->scalar[S_ORPHAN_RATE] = n > 0 ? orphans / n : NAN;
    res->scalar[S_ERROR_RATE] =
        res->attempts > 0 ? (double)res->error_attempts / (double)res->attempts : NAN;
    res->pass = 1;
    res->ngates = 0;
    for (size_t i = 0; i < res->sc->ngates; i++) {
        const struct gate *g = &res->sc->gates[i];
        int scalar;
        int idx = scenario_metric_index(g->base, &scalar);
        struct gate_result *gr = &res->gates[res->ngates++];
        gr->gate = g;
        if (scalar) {
            gr->observed = gate_observe(g, NULL, res->scalar[idx]);
            gr->samples = isnan(res->scalar[idx]) ? 0 : 1;
        } else if (g->ntags == 0) {
            gr->observed = gate_observe(g, &res->m[idx], NAN);
            gr->samples = stats_count(&res->m[idx]);
        } else {
            struct stats sub;
            sub_metric(res, g, idx, &sub);
            gr->observed = sub.oom ? NAN : gate_observe(g, &sub, NAN);
            gr->samples = stats_count(&sub);
            stats_cleanup(&sub);
        }
        gr->pass = gate_check(g, gr->observed); /* no samples: NAN: fails closed */
        res->pass &= gr->pass;
        if (scalar && idx == S_ERROR_RATE)
            res->errors_gated = 1;
    }
    /* Users got errors their plans did not expect: whatever the other gates say, the gateway
     * failed them, unless the scenario judges errors itself with an error_rate gate. */
    if (res->error_attempts > 0 && !res->errors_gated) {
        char what[200];
        results_error_text(res, what, sizeof what);
        snprintf(res->fail_reason, sizeof res->fail_reason,
                 "%llu of %llu attempts failed (%s), and no error_rate gate allows it",
                 (unsigned long long)res->error_attempts, (unsigned long long)res->attempts,
                 what);
        res->pass = 0;
    }
}

int verdict_mock_overloaded(const struct scenario_result *res, double max_ms, char *why,
                            size_t len)
{
    /* a loop kept quick while every stream ran slower than asked lags little behind the
     * slid timetables: its rate says it (a tail in tokens shrinks with it) */
    if (isfinite(max_ms) && res->mock_rate_share < VERDICT_MIN_MOCK_RATE_SHARE &&
        !(res->mock_lag_p99_ms > max_ms)) {
        snprintf(why, len,
                 "mockprov fell behind: it kept %.1f%% of the token rate its profiles asked "
                 "(< %g%%; token lag p99 %.1f ms); the mock, not the gateway, was the bottleneck",
                 100 * res->mock_rate_share, 100 * VERDICT_MIN_MOCK_RATE_SHARE,
                 res->mock_lag_p99_ms);
        return 1;
    }
    if (isnan(res->mock_lag_p99_ms) || !(res->mock_lag_p99_ms > max_ms))
        return 0;
    snprintf(why, len,
             "mockprov fell behind: token lag p99 %.1f ms > --max-mock-lag-ms %g (%.1f%% of "
             "%.0f tokens more than 5 ms late); the mock, not the gateway, was the bottleneck",
             res->mock_lag_p99_ms, max_ms, 100 * res->mock_late_share, res->mock_tokens_timed);
    return 1;
}

int verdict_abort(const struct run_result *rr, uint64_t run_ns, char *why, size_t len)
{
    for (size_t i = 0; i < rr->n; i++) {
        const struct scenario_result *res = &rr->sr[i];
        for (size_t k = 0; k < res->ngates; k++) {
            const struct gate_result *gr = &res->gates[k];
            if (gr->pass || !gr->gate->abort_on_fail || run_ns < gr->gate->delay_abort_ns)
                continue;
            snprintf(why, len, "aborted: gate %s %s failed in scenario %s", gr->gate->metric,
                     gr->gate->expr, res->sc->name);
            return 1;
        }
    }
    return 0;
}
