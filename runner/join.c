/* The join: every user request's client attempts (chaos records) with the mock's upstream records
 * for the same correlation id, into per-request samples of the metrics. */
#include "join.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jget.h"

/* Generated (mock clock) and delivered (client clock) token times around the abort, in ms. */
static void timeline(const struct chaos_record *recs, size_t nrecs, struct req_result *q,
                     const cJSON *records, double t_abort_mock)
{
    size_t n = 0;
    const cJSON *rec;
    cJSON_ArrayForEach(rec, records)
    {
        const char *cid = jget_str(rec, "correlation_id");
        if (cid && strcmp(cid, q->cid) == 0)
            n += (size_t)cJSON_GetArraySize(cJSON_GetObjectItem(rec, "token_t_ns"));
    }
    const struct chaos_record *c = NULL;
    for (size_t i = 0; i < nrecs && c == NULL; i++)
        if (recs[i].attempt == 1 && strcmp(recs[i].correlation_id, q->cid) == 0)
            c = &recs[i];
    q->gen_ms = n ? calloc(n, sizeof *q->gen_ms) : NULL;
    q->del_ms = c && c->ntrace ? calloc(c->ntrace, sizeof *q->del_ms) : NULL;
    if ((n && q->gen_ms == NULL) || (c && c->ntrace && q->del_ms == NULL)) {
        free(q->gen_ms);
        free(q->del_ms);
        q->gen_ms = q->del_ms = NULL;
        return;
    }
    cJSON_ArrayForEach(rec, records)
    {
        const char *cid = jget_str(rec, "correlation_id");
        if (cid == NULL || strcmp(cid, q->cid) != 0)
            continue;
        const cJSON *t;
        cJSON_ArrayForEach(t, cJSON_GetObjectItem(rec, "token_t_ns"))
            q->gen_ms[q->ngen++] = (t->valuedouble - t_abort_mock) / 1e6;
    }
    for (uint32_t i = 0; c && i < c->ntrace; i++)
        q->del_ms[q->ndel++] =
            ((double)c->t_send_ns + c->trace_us[i] * 1e3 - q->t_abort_ns) / 1e6;
}

/* Joins the client's attempts and the mock's records for every user request. */
void join_requests(struct scenario_result *res, const struct chaos_record *recs, size_t nrecs,
                   const cJSON *ledger, double settle_end_ns, double clock_offset_ns)
{
    const double off = clock_offset_ns;
    const cJSON *records = cJSON_GetObjectItem(ledger, "records");
    /* user requests: distinct correlation ids in the client records, first attempt first */
    res->reqs = calloc(nrecs ? nrecs : 1, sizeof *res->reqs);
    if (res->reqs == NULL)
        return;
    for (size_t i = 0; i < nrecs; i++) {
        const struct chaos_record *c = &recs[i];
        struct req_result *q = NULL;
        for (size_t k = 0; k < res->nreqs; k++)
            if (strcmp(res->reqs[k].cid, c->correlation_id) == 0)
                q = &res->reqs[k];
        if (q == NULL) {
            q = &res->reqs[res->nreqs++];
            snprintf(q->cid, sizeof q->cid, "%s", c->correlation_id);
            for (int m = 0; m < M_N_SAMPLE; m++)
                q->sample[m] = NAN;
            q->usage_value = NAN;
        }
        q->client_attempts++;
        if (c->attempt == 1) {
            q->action = chaos_action_name(c->action);
            q->end = chaos_end_name(c->end);
            q->http_status = c->http_status;
            q->t_send_ns = (double)c->t_send_ns;
            q->t_first_byte_ns = (double)c->t_first_byte_ns;
            q->aborted = c->t_abort_ns != 0;
            q->t_abort_ns = (double)c->t_abort_ns;
            q->delivered = (double)c->delivered_tokens;
            q->total = (double)c->total_tokens;
            if (c->end == CHAOS_END_ERROR || c->end == CHAOS_END_TIMEOUT)
                res->client_errors++;
            if (c->end == CHAOS_END_HTTP_ERROR)
                res->http_errors++;
        } else {
            q->total += (double)c->total_tokens; /* a retry the user waited for */
        }
    }
    size_t timelines = 0;
    for (size_t k = 0; k < res->nreqs; k++) {
        struct req_result *q = &res->reqs[k];
        double t_abort_mock = q->t_abort_ns + off;
        double gen = 0, tail = 0, billed = 0, attempts = 0, rid = 0, orphan = 0;
        double first_close = NAN, last_stop = -INFINITY;
        const cJSON *rec;
        cJSON_ArrayForEach(rec, records)
        {
            const char *cid = jget_str(rec, "correlation_id");
            if (cid == NULL || strcmp(cid, q->cid) != 0)
                continue;
            attempts++;
            gen += jget_num(rec, "generated_tokens");
            billed += jget_num(rec, "billed_output_tokens");
            rid = rid || cJSON_IsTrue(cJSON_GetObjectItem(rec, "rid_header"));
            const char *state = jget_str(rec, "state");
            int active = state && strcmp(state, "active") == 0;
            orphan = orphan || active;
            double u = jget_num(rec, "usage_reported");
            if (!isnan(u))
                q->usage_value = u;
            const char *sr = jget_str(rec, "stop_reason");
            snprintf(q->stop_reason, sizeof q->stop_reason, "%s", sr ? sr : "running");
            /* the tail belongs to upstream attempts already running at the abort; a retry the
             * user then waits for is wanted work */
            double accepted = jget_num(rec, "t_accept_ns");
            int before_abort = q->aborted && accepted <= t_abort_mock;
            const cJSON *times = cJSON_GetObjectItem(rec, "token_t_ns");
            const cJSON *t;
            cJSON_ArrayForEach(t, times)
                tail += before_abort && t->valuedouble > t_abort_mock;
            if (!q->aborted)
                continue;
            double accept = jget_num(rec, "t_accept_ns");
            double closed = jget_num(rec, "t_peer_closed_ns");
            double stop = jget_num(rec, "t_gen_stop_ns");
            const char *ck = jget_str(rec, "close_kind");
            /* the upstream connection that was open at the abort: when did it end? A close, or
             * for a gateway that read on to the end, the end of generation */
            if (accept <= t_abort_mock) {
                double end = !isnan(closed) ? closed : stop;
                if (!isnan(end) && (isnan(first_close) || end < first_close)) {
                    first_close = end;
                    snprintf(q->close_kind, sizeof q->close_kind, "%s", ck ? ck : "none");
                }
            }
            double s = active ? settle_end_ns + off : stop;
            if (before_abort && !isnan(s) && s > last_stop)
                last_stop = s;
        }
        q->sample[M_DELIVERED_TOKENS] = q->delivered;
        q->sample[M_GENERATED_TOKENS] = gen;
        q->sample[M_BILLED_OUTPUT_TOKENS] = billed;
        q->sample[M_UPSTREAM_ATTEMPTS] = attempts;
        q->sample[M_RID_PROPAGATED] = attempts ? rid : NAN;
        q->sample[M_ORPHANED] = orphan;
        q->sample[M_USAGE_REPORTED] = isnan(q->usage_value) ? 0 : 1;
        if (q->t_first_byte_ns > 0)
            q->sample[M_TTFT_MS] = (q->t_first_byte_ns - q->t_send_ns) / 1e6;
        if (q->aborted && timelines < RESULTS_TIMELINES && attempts > 0) {
            timeline(recs, nrecs, q, records, t_abort_mock);
            timelines += q->ngen > 0;
        }
        if (q->aborted) {
            q->sample[M_TAIL_TOKENS] = tail;
            if (!isnan(first_close))
                q->sample[M_CLOSE_LAG_MS] = fmax(0, first_close - t_abort_mock) / 1e6;
            else if (attempts)
                q->sample[M_CLOSE_LAG_MS] = fmax(0, settle_end_ns - q->t_abort_ns) / 1e6;
            if (isfinite(last_stop))
                q->sample[M_STOP_LAG_MS] = fmax(0, last_stop - t_abort_mock) / 1e6;
        }
    }
}
