/* The run's mocks taken together: the default one and one per provider the gateway routes to
 * ({{MOCK_URL_<name>}}). What a scenario asks of "the mock" (is it alive, is it idle, how late
 * did it run, what did it generate) it asks of all of them. */
#ifndef RUNNER_MOCKSET_H
#define RUNNER_MOCKSET_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "runner.h"

/* 1 while every mock we started is running; else 0 with why naming the one that exited. */
int mockset_alive(struct runner *r, char *why, size_t len);
/* Streams still running at all the mocks, and (records, unless NULL) the ledger records they
 * hold, or -1 (with the URL of the one that did not answer in why) when one did not answer. */
double mockset_active_streams(struct runner *r, double *records, char *why, size_t len);
/* The latest mock: the highest lag p99 and late share, the lowest rate share, the tokens timed
 * added up (mockctl_lag's figures; NAN where no mock says). */
void mockset_lag(struct runner *r, double *p99_ms, double *late_share, double *timed,
                 double *rate_share);
/* Every mock's ledger in one: {"records": [...], "dropped": N}, each record of a named mock
 * carrying "mock": NAME. NULL (why filled) when a mock's ledger could not be read. */
cJSON *mockset_ledger(struct runner *r, char *why, size_t len);
/* Resets every mock and applies the scenario's settings for it (scenario_mock_settings).
 * Returns 0, or -1 with err. */
int mockset_configure(struct runner *r, const struct scenario *sc, char *err, size_t errlen);

#endif
