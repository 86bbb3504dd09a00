/* One scenario's run: configure the mock and the proxies, drive the chaos client, wait for
 * generation that outlived its users to settle, read the ledger, join both sides' records and
 * compute the verdict. */
#ifndef RUNNER_SCENARIORUN_H
#define RUNNER_SCENARIORUN_H

#include <stddef.h>
#include <stdint.h>

#include "runner.h"

/* Runs sc into res. Returns RUN_PASS when it could be judged (res->pass says how), RUN_ENV with
 * res->error filled when it could not, RUN_USAGE (err filled) for a bad toxic or client setup. */
int scenariorun_execute(struct runner *r, struct scenario *sc, uint64_t seed,
                        struct scenario_result *res, char *err, size_t errlen);
/* Frees the client records kept for the last scenario (the buffer itself stays for reuse). */
void scenariorun_clear(struct runner *r);

#endif
