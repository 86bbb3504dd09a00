/* Progress lines for a human or a CI log: a live line while a scenario runs (overwritten on a
 * terminal) and one line per finished scenario. Through the run's progress callback; never
 * printed here. */
#ifndef RUNNER_PROGRESS_H
#define RUNNER_PROGRESS_H

#include <stdint.h>

#include "results.h"
#include "run.h"
#include "scenario.h"

/* "tab-close: 7/16 requests done, 3 aborted" */
void progress_live(const struct run_config *cfg, const struct scenario *sc, uint64_t done,
                   uint64_t aborted);
/* the scenario's verdict line: tail p95, close lag p99, PTDR, failed gates, the error (res:
 * not const, its percentiles sort their samples on first use) */
void progress_scenario(const struct run_config *cfg, struct scenario_result *res);

#endif
