/* The join of both sides' records for one scenario, by correlation id. */
#ifndef RUNNER_JOIN_H
#define RUNNER_JOIN_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "chaos/client.h"
#include "results.h"

/* Fills res->reqs (allocated here, owned by res) from the client's records and the mock's ledger;
 * settle_end_ns (our clock) closes what was still running; clock_offset_ns = mock - ours.
 * Borrows recs and ledger. */
void join_requests(struct scenario_result *res, const struct chaos_record *recs, size_t nrecs,
                   const cJSON *ledger, double settle_end_ns, double clock_offset_ns);

#endif
