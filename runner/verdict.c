/* The verdict of one scenario: per-scenario scalars from the joined requests, then every gate. */
#include "verdict.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void verdict_compute(struct scenario_result *res)
{
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
