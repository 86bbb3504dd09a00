/* The environment a run plays in: the mock, the chaos proxies and the gateway under test. */
#ifndef RUNNER_ENVIRONMENT_H
#define RUNNER_ENVIRONMENT_H

#include <stddef.h>

#include "runner.h"

/* Starts (or reaches) the mock, the proxies the scenarios need and the gateway, filling r's
 * URLs. Returns RUN_PASS, RUN_ENV (something did not start) or RUN_USAGE (a bad gateway
 * description), with err filled; whatever started is left for environment_teardown. */
int environment_setup(struct runner *r, struct scenario *scs, size_t nsc, char *err, size_t errlen);
/* Stops the gateway and the mock we started and frees the proxies. Safe to call twice. */
void environment_teardown(struct runner *r);

#endif
