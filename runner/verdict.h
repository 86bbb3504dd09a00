/* One scenario's verdict: the per-scenario scalars and every gate, from the joined requests. */
#ifndef RUNNER_VERDICT_H
#define RUNNER_VERDICT_H

#include "results.h"

/* Fills res->m, res->scalar, res->gates and res->pass. Needs res->reqs joined. */
void verdict_compute(struct scenario_result *res);

/* Below this share of the token rate its profiles asked for, a mock ran too slow to measure a
 * tail in tokens: a gateway's tail shrinks with the rate it is generated at. */
#define VERDICT_MIN_MOCK_RATE_SHARE 0.9

/* 1 when the mock ran behind: res->mock_lag_p99_ms above max_ms, or (max_ms finite) it kept
 * less than VERDICT_MIN_MOCK_RATE_SHARE of the asked rate. 'why' then names the lag or the rate
 * and the limit: the scenario measured the mock, not the gateway, and must not be judged. 0 when
 * it kept up or did not say (NAN). */
int verdict_mock_overloaded(const struct scenario_result *res, double max_ms, char *why,
                            size_t len);

/* 1 when the run must stop: a gate with abortOnFail failed in a scenario of rr that ran, and
 * run_ns (time since the run began) has reached the gate's delayAbortEval. 'why' then reads
 * "aborted: gate METRIC EXPR failed in scenario NAME" for the first such gate. */
int verdict_abort(const struct run_result *rr, uint64_t run_ns, char *why, size_t len);

#endif
