/* Tests for runner/progress: the live line counts users, not attempts (retries apart, a
 * supersede's replacement not a user), exactly, from records and from a real run with retries;
 * the per-scenario line prints an en dash for an empty figure, never nan or inf. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "progress.h"
#include "run.h"

static struct chaos_record rec(uint32_t index, uint32_t attempt, int aborted)
{
    struct chaos_record r;
    memset(&r, 0, sizeof r);
    r.index = index;
    r.attempt = attempt;
    r.t_abort_ns = aborted ? 1000 : 0;
    return r;
}

static void progress_should_count_each_user_once_and_retries_apart(void)
{
    struct progress_counts pc;
    CHECK_EQ_INT(progress_counts_init(&pc, 16), 0);
    char line[256];
    /* what retry-after-drop does: every user resets once, then its retry reads to the end */
    for (uint32_t i = 0; i < 8; i++) {
        struct chaos_record r = rec(i, 1, 1);
        progress_count(&pc, &r);
    }
    progress_live_text(line, sizeof line, "retry-after-drop", &pc);
    CHECK_EQ_STR(line, "retry-after-drop: 8/16 users done, 8 aborted, 0 retries");
    for (uint32_t i = 0; i < 8; i++) {
        struct chaos_record r = rec(i, 2, 0);
        progress_count(&pc, &r);
    }
    for (uint32_t i = 8; i < 16; i++) {
        struct chaos_record r = rec(i, 1, 1);
        progress_count(&pc, &r);
    }
    progress_live_text(line, sizeof line, "retry-after-drop", &pc);
    CHECK_EQ_STR(line, "retry-after-drop: 16/16 users done, 16 aborted, 8 retries");
    for (uint32_t i = 8; i < 16; i++) {
        struct chaos_record r = rec(i, 2, 0);
        progress_count(&pc, &r);
    }
    progress_live_text(line, sizeof line, "retry-after-drop", &pc);
    progress_counts_cleanup(&pc);
    CHECK_EQ_STR(line, "retry-after-drop: 16/16 users done, 16 aborted, 16 retries");
}

static void progress_should_not_count_a_supersede_replacement_as_a_user(void)
{
    struct progress_counts pc;
    CHECK_EQ_INT(progress_counts_init(&pc, 3), 0);
    /* user 1 supersedes: its stream (aborted) and its replacement (attempt 1, same index) */
    struct chaos_record rs[] = {rec(0, 1, 0), rec(1, 1, 1), rec(1, 1, 0), rec(2, 1, 0)};
    char line[256];
    for (size_t i = 0; i < 3; i++)
        progress_count(&pc, &rs[i]);
    progress_live_text(line, sizeof line, "edit-resend", &pc);
    CHECK_EQ_STR(line, "edit-resend: 2/3 users done, 1 aborted, 0 retries");
    progress_count(&pc, &rs[3]);
    struct chaos_record retry = rec(2, 2, 0);
    progress_count(&pc, &retry);
    progress_live_text(line, sizeof line, "edit-resend", &pc);
    progress_counts_cleanup(&pc);
    progress_counts_cleanup(&pc); /* twice is fine */
    CHECK_EQ_STR(line, "edit-resend: 3/3 users done, 1 aborted, 1 retry");
}

static void progress_should_never_count_past_the_users_without_its_bitmap(void)
{
    struct progress_counts pc;
    memset(&pc, 0, sizeof pc);
    pc.users = 2; /* as progress_counts_init leaves it when calloc fails */
    struct chaos_record rs[] = {rec(0, 1, 1), rec(0, 1, 0), rec(1, 1, 1), rec(1, 1, 0)};
    for (size_t i = 0; i < 4; i++)
        progress_count(&pc, &rs[i]);
    char line[256];
    progress_live_text(line, sizeof line, "s", &pc);
    CHECK_EQ_STR(line, "s: 2/2 users done, 2 aborted, 0 retries");
}

static struct scenario_result *result_new(const char *name, struct scenario *sc)
{
    struct scenario_result *res = calloc(1, sizeof *res);
    if (res == NULL)
        return NULL;
    memset(sc, 0, sizeof *sc);
    snprintf(sc->name, sizeof sc->name, "%s", name);
    res->sc = sc;
    for (int m = 0; m < M_N_SAMPLE; m++)
        stats_init(&res->m[m]);
    res->pass = 1;
    return res;
}

static void result_free(struct scenario_result *res)
{
    if (res == NULL)
        return;
    for (int m = 0; m < M_N_SAMPLE; m++)
        stats_cleanup(&res->m[m]);
    free(res);
}

static void progress_should_print_an_en_dash_for_an_empty_or_infinite_figure(void)
{
    struct scenario sc;
    struct scenario_result *res = result_new("control", &sc);
    CHECK(res != NULL);
    /* no request aborted: no tail, no close lag; PTDR divides by nothing */
    res->nreqs = 4;
    res->scalar[S_PTDR] = INFINITY;
    char line[1024];
    progress_scenario_text(line, sizeof line, res);
    res->scalar[S_PTDR] = NAN;
    char line2[1024];
    progress_scenario_text(line2, sizeof line2, res);
    result_free(res);
    CHECK_EQ_STR(line, "control                      PASS  4 requests  tail p95 –  close lag p99 – "
                       "ms  PTDR –  0/0 gates failed");
    CHECK_EQ_STR(line2, line);
}

static void progress_should_print_the_figures_it_has(void)
{
    struct scenario sc;
    struct scenario_result *res = result_new("tab-close", &sc);
    CHECK(res != NULL);
    res->nreqs = 2;
    stats_add(&res->m[M_TAIL_TOKENS], 3);
    stats_add(&res->m[M_TAIL_TOKENS], 3);
    stats_add(&res->m[M_CLOSE_LAG_MS], 12.25);
    res->scalar[S_PTDR] = 0.5;
    snprintf(res->fail_reason, sizeof res->fail_reason, "1 unexpected error");
    res->pass = 0;
    char line[1024];
    progress_scenario_text(line, sizeof line, res);
    result_free(res);
    CHECK_EQ_STR(line, "tab-close                    FAIL  2 requests  tail p95 3  close lag p99 "
                       "12.2 ms  PTDR 0.50  0/0 gates failed  1 unexpected error");
}

/* ---- a real run -------------------------------------------------------------------------- */

struct captured {
    char last_live[256];
    size_t nlive, nfinal;
    char final[1024];
};

static void capture_cb(void *arg, const char *line, int live)
{
    struct captured *c = arg;
    if (live) {
        snprintf(c->last_live, sizeof c->last_live, "%s", line);
        c->nlive++;
    } else {
        snprintf(c->final, sizeof c->final, "%s", line);
        c->nfinal++;
    }
}

static void progress_should_count_users_not_attempts_in_a_run_with_retries(void)
{
    const char *bin = getenv("TAILGATE_BIN");
    if (bin == NULL || access(bin, X_OK) != 0)
        bin = "build/tailgate";
    char tmp[] = "/tmp/tg-progress-XXXXXX";
    CHECK(mkdtemp(tmp) != NULL);
    char out[128];
    snprintf(out, sizeof out, "%s/run", tmp);
    /* 16 users who reset once and retry once: 32 attempts, 16 users */
    char *paths[] = {"scenarios/retry-after-drop.json"};
    struct run_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.out_dir = out;
    cfg.direct = 1;
    cfg.seed = 1;
    cfg.self_exe = bin;
    cfg.scenarios = paths;
    cfg.nscenarios = 1;
    struct captured cap;
    memset(&cap, 0, sizeof cap);
    cfg.progress = capture_cb;
    cfg.progress_arg = &cap;
    char err[1024] = "";
    int rc = run_execute(&cfg, err, sizeof err);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "  could not remove %s\n", tmp);
    if (rc != 0)
        fprintf(stderr, "  run: rc %d: %s; %s\n", rc, err, cap.final);
    CHECK_EQ_INT(rc, 0);
    CHECK(cap.nlive >= 1); /* the last count is shown once the users are done */
    CHECK_EQ_STR(cap.last_live, "retry-after-drop: 16/16 users done, 16 aborted, 16 retries");
    CHECK(strstr(cap.final, "retry-after-drop") == cap.final);
    CHECK(strstr(cap.final, " PASS  16 requests ") != NULL);
}

static const struct check_case cases[] = {
    CASE(progress_should_count_each_user_once_and_retries_apart),
    CASE(progress_should_not_count_a_supersede_replacement_as_a_user),
    CASE(progress_should_never_count_past_the_users_without_its_bitmap),
    CASE(progress_should_print_an_en_dash_for_an_empty_or_infinite_figure),
    CASE(progress_should_print_the_figures_it_has),
    CASE(progress_should_count_users_not_attempts_in_a_run_with_retries),
};

int main(int argc, char **argv)
{
    return check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
}
