/* Small shared readings of a run's results, the same in every output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "results.h"

const char *results_verdict(int pass, const char *error)
{
    if (error && error[0])
        return "error";
    return pass ? "pass" : "fail";
}

void results_scenario_free(struct scenario_result *res)
{
    for (int m = 0; m < M_N_SAMPLE; m++)
        stats_cleanup(&res->m[m]);
    for (size_t k = 0; k < res->nreqs; k++) {
        free(res->reqs[k].gen_ms);
        free(res->reqs[k].del_ms);
        free(res->reqs[k].delivery_ms);
    }
    free(res->reqs);
}

void results_free(struct run_result *rr)
{
    for (size_t i = 0; rr->sr && i < rr->n; i++)
        results_scenario_free(&rr->sr[i]);
    free(rr->sr);
}

void results_error_text(const struct scenario_result *res, char *out, size_t len)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < res->nerrs && used < len; i++) {
        int n = snprintf(out + used, len - used, "%s%llu x %s", i ? ", " : "",
                         (unsigned long long)res->errs[i].count, res->errs[i].kind);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}
