/* The metric names gates and reports know: per-request samples with their k6 types, and
 * per-scenario scalars. The order is that of enum metric_sample / metric_scalar (results.h). */
#include "metric.h"

#include <string.h>

static const char *const metrics_sample[] = {
    "tail_tokens",
    "close_lag_ms",
    "stop_lag_ms",
    "delivered_tokens",
    "generated_tokens",
    "billed_output_tokens",
    "usage_reported",
    "upstream_attempts",
    "rid_propagated",
    "orphaned",
    "ttft_ms",
    "delivery_ms",
    "tokens_per_arrival",
    "upstream_idle_ms",
    "task_tail_tokens",
    "task_close_lag_ms",
    "reasoning_tail_tokens",
    "retries_for_nobody",
};
/* k6's types of the per-request metrics: 0/1 samples are rates, the rest trends */
static const enum gate_type types_sample[] = {
    GATE_TYPE_TREND, GATE_TYPE_TREND, GATE_TYPE_TREND, GATE_TYPE_TREND, GATE_TYPE_TREND,
    GATE_TYPE_TREND, GATE_TYPE_RATE,  GATE_TYPE_TREND, GATE_TYPE_RATE,  GATE_TYPE_RATE,
    GATE_TYPE_TREND, GATE_TYPE_TREND, GATE_TYPE_TREND, GATE_TYPE_TREND, GATE_TYPE_TREND,
    GATE_TYPE_TREND, GATE_TYPE_TREND, GATE_TYPE_TREND,
};
static const char *const metrics_scalar[] = {
    "ptdr",        "wasted_tokens", "wasted_cost_usd", "monthly_wasted_usd", "billing_variance_pct",
    "orphan_rate", "error_rate",
};
#define N_SAMPLE (sizeof metrics_sample / sizeof metrics_sample[0])
#define N_SCALAR (sizeof metrics_scalar / sizeof metrics_scalar[0])

int scenario_metric_index(const char *name, int *scalar)
{
    for (size_t i = 0; i < N_SAMPLE; i++)
        if (strcmp(name, metrics_sample[i]) == 0) {
            *scalar = 0;
            return (int)i;
        }
    for (size_t i = 0; i < N_SCALAR; i++)
        if (strcmp(name, metrics_scalar[i]) == 0) {
            *scalar = 1;
            return (int)i;
        }
    return -1;
}

_Static_assert(sizeof types_sample / sizeof types_sample[0] == N_SAMPLE, "a type per metric");

enum gate_type scenario_metric_type(const char *name)
{
    int scalar;
    int i = scenario_metric_index(name, &scalar);
    return i < 0 || scalar ? GATE_TYPE_GAUGE : types_sample[i];
}

int scenario_metric_known(const char *name, int *scalar)
{
    return scenario_metric_index(name, scalar) >= 0;
}

const char *scenario_metric_name(int scalar, int i)
{
    if (scalar)
        return i >= 0 && (size_t)i < N_SCALAR ? metrics_scalar[i] : NULL;
    return i >= 0 && (size_t)i < N_SAMPLE ? metrics_sample[i] : NULL;
}

_Static_assert(N_SAMPLE + N_SCALAR <= SCENARIO_METRIC_MAX, "SCENARIO_METRIC_MAX holds them all");
