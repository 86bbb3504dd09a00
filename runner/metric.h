/* The metric names gates and reports know: per-request samples and per-scenario scalars. */
#ifndef RUNNER_METRIC_H
#define RUNNER_METRIC_H

#include "gate.h"

#define SCENARIO_METRIC_MAX 64 /* samples and scalars together */

/* Metric names the gates and reports know; 1 if 'name' is one. 'scalar' set for per-scenario
 * values (gated with value), else per-request samples. */
int scenario_metric_known(const char *name, int *scalar);
/* k6's type of a known metric (gauge for a scalar): which aggregations its gates take. */
enum gate_type scenario_metric_type(const char *name);
/* Index of the metric in its list (samples or scalars), or -1. */
int scenario_metric_index(const char *name, int *scalar);
/* Name of sample (scalar 0) or scalar (1) metric i, or NULL past the end. The order is the
 * enum metric_sample / metric_scalar order in results.h. */
const char *scenario_metric_name(int scalar, int i);

#endif
