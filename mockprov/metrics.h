/* mockprov's Prometheus /metrics (text format 0.0.4): the counters every piece keeps in struct
 * mock_metrics, and four latency histograms with fixed buckets, one series per API. */
#ifndef MP_METRICS_H
#define MP_METRICS_H

#include <stdint.h>

/* chat, responses, messages, gemini, completions, ollama, azure, bedrock, bedrock-invoke: enum
 * api's order */
#define METRICS_APIS 9
#define METRICS_BUCKETS_MAX 16 /* finite bucket bounds per histogram; +Inf comes on top */

struct mock;
struct exchange;

enum metrics_hist {
    METRICS_TTFT,         /* request accepted -> first token generated (and written) */
    METRICS_CLOSE_DETECT, /* last token written to the peer -> the peer's leaving noticed */
    METRICS_STOP_LAG,     /* the peer's leaving noticed -> generation stopped */
    METRICS_TOKEN_LAG,    /* a token's due time by its timetable -> generated (the mock's lag) */
    METRICS_NHIST,
};

/* One series: fixed size whatever the traffic. */
struct metrics_histogram {
    uint64_t bucket[METRICS_BUCKETS_MAX + 1]; /* per bucket, not cumulative; the last is +Inf */
    uint64_t count;
    uint64_t sum_ns;
};

/* Adds one observation of 'ns' to h (a histogram of kind 'kind'). */
void metrics_observe(struct metrics_histogram *h, enum metrics_hist kind, uint64_t ns);

/* The q-quantile (0..1) of h, a histogram of kind 'kind', in ns: interpolated within its bucket
 * as Prometheus's histogram_quantile does, never above max_ns (the largest observation), which
 * also stands for the +Inf bucket. 0 for an empty histogram. */
double metrics_quantile(const struct metrics_histogram *h, enum metrics_hist kind, double q,
                        uint64_t max_ns);

/* Replies 200 with every counter, gauge and histogram. The caller checked admin_allowed. */
void metrics_reply(struct mock *m, struct exchange *req);

#endif
