/* The state of one run, shared by the run (run.c: starting and stopping the environment,
 * writing the outputs) and the scenario run (scenariorun.c: one scenario's traffic, settle and
 * join). Nothing outside the runner sees it. */
#ifndef RUNNER_RUNNER_H
#define RUNNER_RUNNER_H

#include <stdint.h>
#include <stdio.h>

#include <event2/event.h>

#include "chaos/client.h"
#include "chaos/proxy.h"
#include "gateway.h"
#include "mockctl.h"
#include "placeholder.h"
#include "progress.h"
#include "results.h"
#include "run.h"
#include "scenario.h"

struct runner {
    const struct run_config *cfg;
    struct event_base *base;
    struct mockctl mock;          /* mockprov itself: {{MOCK_URL}} */
    struct proxy *client_proxy;   /* clients -> gateway (or -> mock when direct) */
    struct proxy *upstream_proxy; /* gateway -> mock; NULL when no scenario needs it */
    /* one more mock per provider the gateway routes to ({{MOCK_URL_<name>}}), each with its
     * own upstream proxy when the default has one */
    struct mockctl named[PLACEHOLDER_MAX_MOCKS];
    struct proxy *named_proxy[PLACEHOLDER_MAX_MOCKS];
    double named_clock_delta_ns[PLACEHOLDER_MAX_MOCKS]; /* its clock - the default mock's */
    size_t nnamed;
    char client_url[128]; /* through the client proxy */
    char target_url[160]; /* the gateway (or the mock when direct) itself */
    struct gateway gw;
    int have_gw;
    struct run_result rr;
    FILE *ledger_log, *client_log; /* forensics: every record, JSON lines */
    /* per scenario */
    const struct scenario *sc;
    struct chaos_record *recs;
    size_t nrecs, caprecs;
    uint64_t records_lost; /* client records we could not keep */
    int client_done;
    struct progress_counts counts; /* users done, aborted, retries: the live line */
    uint64_t isolate_since_ns;     /* isolate: when the current wait for an idle mock began */
    uint64_t isolate_timeouts;     /* waits that ran out (the mock never went idle) */
};

/* Every mock of the run: 0 is the default, 1.. the named ones in the order the gateway
 * description names them. */
static inline size_t runner_nmocks(const struct runner *r)
{
    return 1 + r->nnamed;
}
static inline struct mockctl *runner_mock(struct runner *r, size_t i)
{
    return i == 0 ? &r->mock : &r->named[i - 1];
}

#endif
