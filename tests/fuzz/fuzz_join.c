/* Fuzz target: the runner's reader of mockprov's ledger (runner/join.c), the JSON answer of
 * GET /_tailgate/ledger ({"records":[...],"dropped":N}), joined with client records made up
 * for the correlation ids it names, then billed and judged as a run would (billing.c,
 * verdict.c). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "billing.h"
#include "fuzz.h"
#include "jget.h"
#include "join.h"
#include "results.h"
#include "verdict.h"

#define FUZZ_IDS 8
#define FUZZ_TRACE 32

/* Client attempts for the ids in the ledger (and one it does not know): a first attempt each,
 * a retry for some, ends and timings drawn from the input's hash. Returns the count. */
static size_t make_records(const cJSON *ledger, uint64_t h, struct chaos_record *recs,
                           uint32_t *traces)
{
    const char *ids[FUZZ_IDS + 1];
    size_t nids = 0;
    const cJSON *rec;
    cJSON_ArrayForEach(rec, cJSON_GetObjectItem(ledger, "records"))
    {
        const char *cid = jget_str(rec, "correlation_id");
        if (cid == NULL || strlen(cid) >= CHAOS_ID_MAX || nids == FUZZ_IDS)
            continue;
        int dup = 0;
        for (size_t i = 0; i < nids; i++)
            dup |= strcmp(ids[i], cid) == 0;
        if (!dup)
            ids[nids++] = cid;
    }
    ids[nids++] = "fz-unknown";
    size_t n = 0;
    for (size_t i = 0; i < nids; i++) {
        uint64_t r = h ^ (i * 0x9e3779b97f4a7c15ull);
        r ^= r >> 29;
        int attempts = 1 + (int)(r & 1);
        for (int a = 1; a <= attempts; a++, r >>= 7) {
            struct chaos_record *c = &recs[n++];
            memset(c, 0, sizeof *c);
            snprintf(c->correlation_id, sizeof c->correlation_id, "%s", ids[i]);
            c->attempt = (uint32_t)a;
            c->index = (uint32_t)i;
            c->action = (enum chaos_action)((r >> 1) % CHAOS_ACTION_COUNT);
            c->end = (enum chaos_end)((r >> 5) % CHAOS_END_COUNT);
            c->http_status = c->end == CHAOS_END_HTTP_ERROR ? 500 : 200;
            c->t_send_ns = 3025000000000ull + i * 1000000ull + (uint64_t)a * 500000000ull;
            c->t_first_byte_ns = (r >> 9) & 1 ? c->t_send_ns + 5000000 : 0;
            c->t_abort_ns = (r >> 10) & 1 ? c->t_send_ns + 60000000 : 0;
            c->t_end_ns = c->t_send_ns + 2000000000ull;
            c->delivered_tokens = (r >> 11) % 64;
            c->total_tokens = c->delivered_tokens + (r >> 17) % 8;
            c->arrivals = (uint32_t)((r >> 20) % 64);
            c->ntrace = (uint32_t)((r >> 26) % (FUZZ_TRACE + 1));
            c->trace_us = traces + (n - 1) * FUZZ_TRACE;
            for (uint32_t t = 0; t < c->ntrace; t++)
                c->trace_us[t] = 5000 + t * 10000;
        }
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *ledger = cJSON_ParseWithLength((const char *)data, size);
    if (ledger == NULL)
        return 0;
    enum { MAX_RECS = 2 * (FUZZ_IDS + 1) };
    struct chaos_record *recs = calloc(MAX_RECS, sizeof *recs);
    uint32_t *traces = calloc(MAX_RECS * FUZZ_TRACE, sizeof *traces);
    struct scenario *sc = calloc(1, sizeof *sc);
    struct scenario_result *res = calloc(1, sizeof *res);
    FUZZ_CHECK(recs && traces && sc && res);
    uint64_t h = fuzz_hash(data, size);
    size_t nrecs = make_records(ledger, h, recs, traces);

    /* a scenario gating a sample metric and a scalar, as the shipped ones do */
    char err[256];
    FUZZ_CHECK(gate_parse("tail_tokens", "p(95)<=16", &sc->gates[0], err, sizeof err) == 0);
    FUZZ_CHECK(gate_parse("ptdr", "value<=1.1", &sc->gates[1], err, sizeof err) == 0);
    sc->ngates = 2;
    sc->requests_per_day = 100000;
    res->sc = sc;
    res->price_out = 10;

    double settle_end = 3030000000000.0, offset = (double)(int64_t)(h % 2000000) - 1e6;
    join_requests(res, recs, nrecs, ledger, settle_end, offset);
    FUZZ_CHECK(res->reqs != NULL);
    FUZZ_CHECK(res->nreqs <= nrecs && res->attempts == nrecs);
    FUZZ_CHECK(res->nerrs <= RESULTS_ERROR_KINDS);
    uint64_t counted = 0;
    for (size_t i = 0; i < res->nerrs; i++)
        counted += res->errs[i].count;
    FUZZ_CHECK(counted == res->error_attempts);
    for (size_t k = 0; k < res->nreqs; k++) {
        const struct req_result *q = &res->reqs[k];
        FUZZ_CHECK(memchr(q->cid, '\0', sizeof q->cid) != NULL);
        FUZZ_CHECK(q->client_attempts >= 1);
        FUZZ_CHECK(q->ndelivery <= FUZZ_TRACE);
        FUZZ_CHECK(memchr(q->profile, '\0', sizeof q->profile) != NULL);
        FUZZ_CHECK(memchr(q->stop_reason, '\0', sizeof q->stop_reason) != NULL);
        FUZZ_CHECK(memchr(q->close_kind, '\0', sizeof q->close_kind) != NULL);
    }
    billing_reconcile(res, NULL);
    FUZZ_CHECK(res->billing.nbuckets <= BILLING_MAX_BUCKETS);
    FUZZ_CHECK(res->billing.ndis <= BILLING_MAX_DISAGREEMENTS);
    verdict_compute(res);
    FUZZ_CHECK(res->pass == 0 || res->pass == 1);
    FUZZ_CHECK(res->ngates == 2);
    results_scenario_free(res);
    free(res);
    free(sc);
    free(traces);
    free(recs);
    cJSON_Delete(ledger);
    return 0;
}
