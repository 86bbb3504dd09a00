/* junit.xml of a run. */
#ifndef RUNNER_JUNIT_H
#define RUNNER_JUNIT_H

#include <stddef.h>

#include "results.h"

/* The document; malloc'd, NULL on OOM. */
char *junit_build(const struct run_result *r);
/* The counts the document adds up to over its testsuites. */
void junit_totals(const struct run_result *r, size_t *tests, size_t *failures, size_t *errors,
                  size_t *skipped);
/* A gate's line: "tail_tokens p(95)<=8: observed 194.1 vs threshold 8". */
void junit_gate_text(const struct gate_result *g, char *out, size_t len);

#endif
