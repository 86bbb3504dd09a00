/* Distributions of per-request samples: the aggregations gates and reports use. */
#ifndef RUNNER_STATS_H
#define RUNNER_STATS_H

#include <stddef.h>

#define STATS_MAX_SAMPLES (1u << 24)

struct stats {
    double *v;
    size_t n, cap;
    int sorted;
    int oom; /* a sample could not be stored: the caller must not trust the result */
};

void stats_init(struct stats *s);
void stats_cleanup(struct stats *s);
/* Adds a sample. Returns 0, or -1 past STATS_MAX_SAMPLES or out of memory (oom set). */
int stats_add(struct stats *s, double x);
size_t stats_count(const struct stats *s);
/* Percentile 0..100 with linear interpolation between closest ranks; NAN when empty. */
double stats_pct(struct stats *s, double p);
double stats_min(struct stats *s);
double stats_max(struct stats *s);
double stats_avg(const struct stats *s);
/* Fraction of non-zero samples; NAN when empty. */
double stats_rate(const struct stats *s);
double stats_sum(const struct stats *s);

#endif
