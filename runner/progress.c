/* The live line and the per-scenario line `tailgate run` shows while it works. */
#include "progress.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

int progress_counts_init(struct progress_counts *pc, uint32_t users)
{
    memset(pc, 0, sizeof *pc);
    pc->users = users;
    pc->seen = calloc((size_t)users / 8 + 1, 1);
    return pc->seen ? 0 : -1;
}

void progress_counts_cleanup(struct progress_counts *pc)
{
    free(pc->seen);
    pc->seen = NULL;
}

void progress_count(struct progress_counts *pc, const struct chaos_record *rec)
{
    if (rec->attempt > 1) {
        pc->retries++;
        return;
    }
    /* only a user's own first attempt is ever cut by the user: retries and replacements wait
     * for their answer */
    if (rec->t_abort_ns && pc->aborted < pc->users)
        pc->aborted++;
    uint32_t i = rec->index;
    if (pc->seen && i < pc->users) {
        unsigned char bit = (unsigned char)(1u << (i % 8));
        if (pc->seen[i / 8] & bit)
            return; /* a supersede's replacement: its user is counted */
        pc->seen[i / 8] |= bit;
    }
    if (pc->done < pc->users)
        pc->done++;
}

void progress_live_text(char *out, size_t len, const char *name, const struct progress_counts *pc)
{
    snprintf(out, len, "%s: %u/%u users done, %u aborted, %llu retr%s", name, pc->done, pc->users,
             pc->aborted, (unsigned long long)pc->retries, pc->retries == 1 ? "y" : "ies");
}

void progress_live(const struct run_config *cfg, const struct scenario *sc,
                   const struct progress_counts *pc)
{
    if (cfg->progress == NULL)
        return;
    char line[256];
    progress_live_text(line, sizeof line, sc->name, pc);
    cfg->progress(cfg->progress_arg, line, 1);
}

/* An empty or non-finite figure reads as summary.md has it: an en dash, never nan or inf. */
static void fmt_num(char *out, size_t len, double v, const char *fmt)
{
    if (isfinite(v))
        snprintf(out, len, fmt, v);
    else
        snprintf(out, len, "–");
}

void progress_scenario_text(char *out, size_t len, struct scenario_result *res)
{
    char tail[32], lag[32], ptdr[32], errs[256] = "";
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
    snprintf(out, len,
             "%-28s %s  %zu requests  tail p95 %s  close lag p99 %s ms  PTDR %s  %zu/%zu gates "
             "failed%s%s%s",
             res->sc->name,
             strcmp(v, "pass") == 0   ? "PASS"
             : strcmp(v, "fail") == 0 ? "FAIL"
                                      : "ERROR",
             res->nreqs, tail, lag, ptdr, failed, res->ngates, errs,
             res->error[0] || res->fail_reason[0] ? "  " : "",
             res->error[0] ? res->error : res->fail_reason);
}

void progress_scenario(const struct run_config *cfg, struct scenario_result *res)
{
    if (cfg->progress == NULL)
        return;
    char line[1024];
    progress_scenario_text(line, sizeof line, res);
    cfg->progress(cfg->progress_arg, line, 0);
}
