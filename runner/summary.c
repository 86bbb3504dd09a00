/* summary.md: the run in a table short enough for a pull-request comment or a job summary. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    size_t failed = 0, errored = 0;
    for (size_t i = 0; i < r->n; i++) {
        errored += r->sr[i].error[0] != 0;
        failed += !r->sr[i].pass && r->sr[i].error[0] == 0;
    }
    const char *head = r->env_error[0] ? "ERROR: the run could not judge"
                       : r->pass       ? "all gates pass"
                                       : "gates FAILED";
    fprintf(f, "### tailgate: %s against %s\n\n", head, r->gateway);
    if (r->env_error[0])
        fprintf(f, "**Environment failure:** %s\n\n", r->env_error);
    fprintf(f, "%zu scenarios run, %zu failed, %zu could not be judged", r->n, failed, errored);
    if (r->nnot_run)
        fprintf(f, ", %zu did not run", r->nnot_run);
    fprintf(f, "; %.0f s, seed %llu%s%s\n\n", r->total_s, (unsigned long long)r->seed,
            r->suite[0] ? ", suite " : "", r->suite);
    if (r->n > 0) {
        fprintf(f, "| scenario | verdict | requests | errors | tail p95 (tokens) | close lag p99 "
                   "(ms) | upstream attempts max | PTDR | wasted $/month | failed gates |\n");
        fprintf(f, "|---|---|---:|---|---:|---:|---:|---:|---:|---|\n");
    }
    for (size_t i = 0; i < r->n; i++) {
        struct scenario_result *res = &r->sr[i];
        const char *v = results_verdict(res->pass, res->error);
        char errs[200];
        results_error_text(res, errs, sizeof errs);
        fprintf(f, "| %s | %s | %zu | %s | ", res->sc->name,
                strcmp(v, "pass") == 0   ? "pass"
                : strcmp(v, "fail") == 0 ? "**FAIL**"
                                         : "**ERROR**",
                res->nreqs, errs[0] ? errs : "0");
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
        if (res->fail_reason[0]) {
            fprintf(f, "%s%s", any ? "; " : "", res->fail_reason);
            any = 1;
        }
        if (res->error[0])
            fprintf(f, "%scould not judge: %s", any ? "; " : "", res->error);
        fputs(" |\n", f);
    }
    if (r->nnot_run) {
        fprintf(f, "\nDid not run:");
        for (size_t i = 0; i < r->nnot_run; i++)
            fprintf(f, "%s %s", i ? "," : "", r->not_run[i]);
        fputc('\n', f);
    }
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
