/* Progress lines for a human or a CI log: a live line while a scenario runs (overwritten on a
 * terminal) and one line per finished scenario. Through the run's progress callback; never
 * printed here. */
#ifndef RUNNER_PROGRESS_H
#define RUNNER_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

#include "chaos/client.h"
#include "results.h"
#include "run.h"
#include "scenario.h"

/* What the live line counts: users, not attempts. A retry shares its user's index (its record's
 * attempt is 2 and up), and so does a supersede's replacement: neither is another user. */
struct progress_counts {
    uint32_t users;      /* user requests in the scenario */
    uint32_t done;       /* users with at least one ended attempt */
    uint32_t aborted;    /* users whose first attempt the user cut (t_abort set) */
    uint64_t retries;    /* attempts after a user's first */
    unsigned char *seen; /* a bit per user: counted in 'done' */
};

/* Starts counting for 'users' user requests. Returns 0, or -1 when the bitmap could not be had:
 * the counts then still work, a supersede's replacement then counts as a user (capped at
 * 'users'). */
int progress_counts_init(struct progress_counts *pc, uint32_t users);
void progress_counts_cleanup(struct progress_counts *pc);
/* Counts one client record (borrowed). */
void progress_count(struct progress_counts *pc, const struct chaos_record *rec);

/* "tab-close: 7/16 users done, 3 aborted, 2 retries" into out */
void progress_live_text(char *out, size_t len, const char *name, const struct progress_counts *pc);
/* the live line, through the run's progress callback */
void progress_live(const struct run_config *cfg, const struct scenario *sc,
                   const struct progress_counts *pc);
/* the scenario's verdict line: tail p95, close lag p99, PTDR, failed gates, the error (res:
 * not const, its percentiles sort their samples on first use); an empty or non-finite figure
 * reads '–', as in summary.md */
void progress_scenario_text(char *out, size_t len, struct scenario_result *res);
void progress_scenario(const struct run_config *cfg, struct scenario_result *res);

#endif
