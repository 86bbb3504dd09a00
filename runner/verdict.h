/* One scenario's verdict: the per-scenario scalars and every gate, from the joined requests. */
#ifndef RUNNER_VERDICT_H
#define RUNNER_VERDICT_H

#include "results.h"

/* Fills res->m, res->scalar, res->gates and res->pass. Needs res->reqs joined. */
void verdict_compute(struct scenario_result *res);

#endif
