/* The verdict of one scenario: per-scenario scalars from the joined requests, then every gate. */
#include "verdict.h"

#include <math.h>
#include <string.h>

void verdict_compute(struct scenario_result *res)
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
