#include "progress.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "stats.h"

void progress_live(const struct run_config *cfg, const struct scenario *sc, uint64_t done,
                   uint64_t aborted)
{
    if (cfg->progress == NULL)
        return;
    char line[256];
    snprintf(line, sizeof line, "%s: %llu/%u requests done, %llu aborted", sc->name,
             (unsigned long long)done, sc->requests,
             (unsigned long long)aborted);
    cfg->progress(cfg->progress_arg, line, 1);
}

static void fmt_num(char *out, size_t len, double v, const char *fmt)
{
    if (isfinite(v))
        snprintf(out, len, fmt, v);
    else
        snprintf(out, len, "-");
}

void progress_scenario(const struct run_config *cfg, struct scenario_result *res)
{
    if (cfg->progress == NULL)
        return;
    char line[1024], tail[32], lag[32], ptdr[32], errs[256] = "";
    size_t failed = 0;
    for (size_t g = 0; g < res->ngates; g++)
        failed += !res->gates[g].pass;
    fmt_num(tail, sizeof tail, stats_pct(&res->m[M_TAIL_TOKENS], 95), "%.0f");
    fmt_num(lag, sizeof lag, stats_pct(&res->m[M_CLOSE_LAG_MS], 99), "%.1f");
    fmt_num(ptdr, sizeof ptdr, res->scalar[S_PTDR], "%.2f");
    if (res->nerrs) {
        char what[200];
        results_error_text(res, what, sizeof what);
        snprintf(errs, sizeof errs, "  errors: %s", what);
    }
    const char *v = results_verdict(res->pass, res->error);
    snprintf(line, sizeof line,
             "%-28s %s  %zu requests  tail p95 %s  close lag p99 %s ms  PTDR %s  %zu/%zu gates "
             "failed%s%s%s",
             res->sc->name, strcmp(v, "pass") == 0 ? "PASS" : strcmp(v, "fail") == 0 ? "FAIL"
                                                                                    : "ERROR",
             res->nreqs, tail, lag, ptdr, failed, res->ngates, errs,
             res->error[0] || res->fail_reason[0] ? "  " : "",
             res->error[0] ? res->error : res->fail_reason);
    cfg->progress(cfg->progress_arg, line, 0);
}
