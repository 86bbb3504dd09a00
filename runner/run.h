/* A run: start (or reach) mockprov and the gateway, drive every scenario through the chaos
 * proxies and client, join both sides' records, compute the metrics, check the gates, write
 * the outputs. Returns the process exit code: 0 all gates pass, 1 a gate failed, 2 usage or
 * scenario error, 3 environment failure. */
#ifndef RUNNER_RUN_H
#define RUNNER_RUN_H

#include "placeholder.h"
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define RUN_PASS 0
#define RUN_GATE_FAILED 1
#define RUN_USAGE 2
#define RUN_ENV 3

#define RUN_DEFAULT_MAX_MOCK_LAG_MS 50.0

struct run_config {
    const char *out_dir;
    const char *gateway_file; /* a description (docs/gateway.md) */
    const char *gateway_cmd;  /* or flags */
    const char *gateway_url;
    const char *style;
    int direct;           /* no gateway: the harness's own floor */
    int via_proxies;      /* every leg through the chaos proxies, toxics or not */
    const char *mock_url; /* an already-running mockprov; NULL: start one */
    /* --mock-url NAME=URL: a named mock ({{MOCK_URL_<name>}}) already running; a named mock
     * without one is started by the run */
    const char *named_mock_name[PLACEHOLDER_MAX_MOCKS];
    const char *named_mock_url[PLACEHOLDER_MAX_MOCKS];
    size_t nnamed_mock_urls;
    const char *mock_token; /* its --admin-token (TAILGATE_MOCK_TOKEN), or NULL */
    int mock_tls;           /* start it with --tls (also "mock_tls" in the description) */
    const char *floor_dir;  /* a --direct run to draw as the floor in the charts, or NULL */
    /* A scenario whose mock ran later than this at p99 is not judged (the mock, not the
     * gateway, was the bottleneck); 0: RUN_DEFAULT_MAX_MOCK_LAG_MS, INFINITY: never. */
    double max_mock_lag_ms;
    const char *self_exe; /* this program, to start `tailgate mock` */
    uint64_t seed;
    /* shard_count > 0: this run is shard shard_index of shard_count (runner/shard.h) against
     * the shared mock at mock_url */
    uint32_t shard_index, shard_count;
    /* >1: each scenario's client runs in this many forked worker processes (runner/workers.h),
     * a scenario that needs the runner's own state (network_drop, isolate) in-process */
    uint32_t workers;
    char **scenarios; /* scenario files */
    size_t nscenarios;
    const char *suite_name;
    /* progress lines for a human or a CI log; 'live' lines overwrite each other on a TTY */
    void (*progress)(void *arg, const char *line, int live);
    void *progress_arg;
    volatile sig_atomic_t *interrupted; /* set by a signal handler: stop and clean up */
};

/* Runs; err explains an exit code 2 or 3. */
int run_execute(const struct run_config *cfg, char *err, size_t errlen);

#endif
