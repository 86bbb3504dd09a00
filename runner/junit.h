/* junit.xml of a run. */
#ifndef RUNNER_JUNIT_H
#define RUNNER_JUNIT_H

#include "results.h"

/* The document; malloc'd, NULL on OOM. */
char *junit_build(const struct run_result *r);

#endif
