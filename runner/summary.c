/* summary.md: the run in a table short enough for a pull-request comment or a job summary. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "results.h"

/* Every figure in the summary at one precision, so the same number reads the same in its column
 * and in the failed gate that names it: whole numbers as such, others with one decimal from 100,
 * two from 1, two significant digits below 1 (a small rate is not shown as 0.00), trailing
 * zeros dropped; '–' (an en dash) when there is no figure (no samples, nan, inf). */
void report_summary_figure(char *out, size_t len, double v)
{
    if (!isfinite(v)) {
        snprintf(out, len, "–");
        return;
    }
    if (fabs(v - round(v)) < 1e-9) {
        snprintf(out, len, "%.0f", v == 0 ? 0.0 : round(v));
        return;
    }
    if (fabs(v) >= 100)
        snprintf(out, len, "%.1f", v);
    else if (fabs(v) >= 1)
        snprintf(out, len, "%.2f", v);
    else
        snprintf(out, len, "%.2g", v);
    if (strchr(out, '.') && !strchr(out, 'e')) {
        size_t n = strlen(out);
        while (n > 0 && out[n - 1] == '0')
            out[--n] = '\0';
        if (n > 0 && out[n - 1] == '.')
            out[--n] = '\0';
    }
}

static void cell(FILE *f, double v)
{
    char s[48];
    report_summary_figure(s, sizeof s, v);
    fputs(s, f);
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
    /* the first line is what a job summary or a PR comment shows at a glance: red or green */
    if (r->env_error[0])
        fprintf(f, "### 🔴 ERROR: tailgate could not judge the run against %s\n\n", r->gateway);
    else if (r->pass)
        fprintf(f, "### 🟢 PASS: tailgate, every gate passed against %s\n\n", r->gateway);
    else
        fprintf(f, "### 🔴 FAIL: tailgate, %zu of %zu scenarios failed against %s\n\n", failed,
                r->n, r->gateway);
    if (r->env_error[0])
        fprintf(f, "**%s failure:** %s\n\n",
                strcmp(r->env_kind, "usage") == 0 ? "Usage" : "Environment", r->env_error);
    if (r->aborted[0])
        fprintf(f, "**Stopped early:** %s\n\n", r->aborted);
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
        cell(f, stats_pct(&res->m[M_TAIL_TOKENS], 95));
        fputs(" | ", f);
        cell(f, stats_pct(&res->m[M_CLOSE_LAG_MS], 99));
        fputs(" | ", f);
        cell(f, stats_max(&res->m[M_UPSTREAM_ATTEMPTS]));
        fputs(" | ", f);
        cell(f, res->scalar[S_PTDR]);
        fputs(" | ", f);
        cell(f, res->scalar[S_MONTHLY_WASTED_USD]);
        fputs(" | ", f);
        int any = 0;
        /* a scenario that could not be judged has no failed gates: what it measured proves
         * nothing either way */
        for (size_t g = 0; g < res->ngates && !res->error[0]; g++) {
            const struct gate_result *gr = &res->gates[g];
            if (gr->pass)
                continue;
            char obs[48];
            report_summary_figure(obs, sizeof obs, gr->observed);
            fprintf(f, "%s`%s %s` (%s)", any ? ", " : "", gr->gate->metric, gr->gate->expr,
                    gr->samples ? obs : "no samples");
            any = 1;
        }
        if (res->fail_reason[0] && !res->error[0]) {
            fprintf(f, "%s%s", any ? "; " : "", res->fail_reason);
            any = 1;
        }
        if (res->error[0])
            fprintf(f, "could not judge: %s", res->error);
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
