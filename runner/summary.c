/* summary.md: the run in a table short enough for a pull-request comment or a job summary. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "results.h"

static void cell(FILE *f, double v, const char *fmt)
{
    if (isfinite(v))
        fprintf(f, fmt, v);
    else
        fputs("–", f);
}

char *report_summary_md(const struct run_result *r)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL)
        return NULL;
    size_t failed = 0;
    for (size_t i = 0; i < r->n; i++)
        failed += !r->sr[i].pass;
    fprintf(f, "### tailgate: %s against %s\n\n", r->pass ? "all gates pass" : "gates FAILED",
            r->gateway);
    fprintf(f, "%zu scenarios, %zu failed, %.0f s, seed %llu%s%s\n\n", r->n, failed, r->total_s,
            (unsigned long long)r->seed, r->suite[0] ? ", suite " : "", r->suite);
    fprintf(f, "| scenario | verdict | requests | tail p95 (tokens) | close lag p99 (ms) | "
               "upstream attempts max | PTDR | wasted $/month | failed gates |\n");
    fprintf(f, "|---|---|---:|---:|---:|---:|---:|---:|---|\n");
    for (size_t i = 0; i < r->n; i++) {
        struct scenario_result *res = &r->sr[i];
        fprintf(f, "| %s | %s | %zu | ", res->sc->name, res->pass ? "pass" : "**FAIL**",
                res->nreqs);
        cell(f, stats_pct(&res->m[M_TAIL_TOKENS], 95), "%.0f");
        fputs(" | ", f);
        cell(f, stats_pct(&res->m[M_CLOSE_LAG_MS], 99), "%.1f");
        fputs(" | ", f);
        cell(f, stats_max(&res->m[M_UPSTREAM_ATTEMPTS]), "%.0f");
        fputs(" | ", f);
        cell(f, res->scalar[S_PTDR], "%.2f");
        fputs(" | ", f);
        cell(f, res->scalar[S_MONTHLY_WASTED_USD], "%.2f");
        fputs(" | ", f);
        int any = 0;
        for (size_t g = 0; g < res->ngates; g++) {
            const struct gate_result *gr = &res->gates[g];
            if (gr->pass)
                continue;
            if (gr->samples)
                fprintf(f, "%s`%s %s` (%.4g)", any ? ", " : "", gr->gate->metric, gr->gate->expr,
                        gr->observed);
            else
                fprintf(f, "%s`%s %s` (no samples)", any ? ", " : "", gr->gate->metric,
                        gr->gate->expr);
            any = 1;
        }
        if (res->error[0])
            fprintf(f, "%s%s", any ? "; " : "", res->error);
        fputs(" |\n", f);
    }
    fprintf(f, "\nClock offset to mockprov %.0f ns (±%.0f ns).\n", r->clock_offset_ns,
            r->clock_uncertainty_ns);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
