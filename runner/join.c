/* The join: every user request's client attempts (chaos records) with the mock's upstream records
 * for the same correlation id, into per-request samples of the metrics. */
#include "join.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidmap.h"
#include "endreason.h"
#include "jget.h"

/* Each request's records on both sides, found in one pass over each: chains of indices in the
 * records' own order (client records into recs, upstream records into lrec). */
struct groups {
    struct cidmap map; /* correlation id -> request number */
    size_t *chead, *ctail, *cnext;
    const cJSON **lrec;
    size_t *lhead, *ltail, *lnext;
};

static void groups_free(struct groups *g)
{
    cidmap_free(&g->map);
    free(g->chead);
    free(g->ctail);
    free(g->cnext);
    free(g->lrec);
    free(g->lhead);
    free(g->ltail);
    free(g->lnext);
}

static int groups_init(struct groups *g, size_t nrecs, size_t nledger)
{
    memset(g, 0, sizeof *g);
    size_t nr = nrecs ? nrecs : 1, nl = nledger ? nledger : 1;
    if (cidmap_init(&g->map, nrecs) != 0)
        return -1;
    g->chead = malloc(nr * sizeof *g->chead);
    g->ctail = malloc(nr * sizeof *g->ctail);
    g->cnext = malloc(nr * sizeof *g->cnext);
    g->lhead = malloc(nr * sizeof *g->lhead);
    g->ltail = malloc(nr * sizeof *g->ltail);
    g->lrec = malloc(nl * sizeof *g->lrec);
    g->lnext = malloc(nl * sizeof *g->lnext);
    if (!g->chead || !g->ctail || !g->cnext || !g->lhead || !g->ltail || !g->lrec || !g->lnext) {
        groups_free(g);
        return -1;
    }
    for (size_t k = 0; k < nr; k++)
        g->chead[k] = g->ctail[k] = g->lhead[k] = g->ltail[k] = CIDMAP_NONE;
    return 0;
}

/* Appends item to request k's chain. */
static void chain_add(size_t *head, size_t *tail, size_t *next, size_t k, size_t item)
{
    next[item] = CIDMAP_NONE;
    if (head[k] == CIDMAP_NONE)
        head[k] = item;
    else
        next[tail[k]] = item;
    tail[k] = item;
}

/* Generated (mock clock) and delivered (client clock) token times in ms around the reference:
 * the abort (or the error) for a request the user left, the send for one it read to the end. */
static void timeline(const struct chaos_record *c, struct req_result *q, const struct groups *g,
                     size_t k, double t_ref_client, double off)
{
    size_t n = 0;
    for (size_t j = g->lhead[k]; j != CIDMAP_NONE; j = g->lnext[j])
        n += (size_t)cJSON_GetArraySize(cJSON_GetObjectItem(g->lrec[j], "token_t_ns"));
    q->gen_ms = n ? calloc(n, sizeof *q->gen_ms) : NULL;
    q->del_ms = c && c->ntrace ? calloc(c->ntrace, sizeof *q->del_ms) : NULL;
    if ((n && q->gen_ms == NULL) || (c && c->ntrace && q->del_ms == NULL)) {
        free(q->gen_ms);
        free(q->del_ms);
        q->gen_ms = q->del_ms = NULL;
        return;
    }
    for (size_t j = g->lhead[k]; j != CIDMAP_NONE; j = g->lnext[j]) {
        const cJSON *t;
        cJSON_ArrayForEach(t, cJSON_GetObjectItem(g->lrec[j], "token_t_ns"))
            q->gen_ms[q->ngen++] = (t->valuedouble - off - t_ref_client) / 1e6;
    }
    for (uint32_t i = 0; c && i < c->ntrace; i++)
        q->del_ms[q->ndel++] = ((double)c->t_send_ns + c->trace_us[i] * 1e3 - t_ref_client) / 1e6;
}

/* Per delivered token of the first attempt: the mock's write of token i (its generation time:
 * the mock writes a token when it is generated unless the gateway's reading holds it back, and
 * that wait is part of what the user sees) to the client's read of the i-th token. */
static void delivery(const struct chaos_record *c, struct req_result *q, const cJSON *first,
                     double off)
{
    const cJSON *times = cJSON_GetObjectItem(first, "token_t_ns");
    size_t ngen = (size_t)cJSON_GetArraySize(times);
    size_t n = c->ntrace < ngen ? c->ntrace : ngen;
    if (n > c->delivered_tokens)
        n = (size_t)c->delivered_tokens;
    if (n == 0)
        return;
    q->delivery_ms = calloc(n, sizeof *q->delivery_ms);
    if (q->delivery_ms == NULL)
        return;
    const cJSON *t = times ? times->child : NULL;
    for (size_t i = 0; i < n && t; i++, t = t->next) {
        double read_ns = (double)c->t_send_ns + c->trace_us[i] * 1e3;
        q->delivery_ms[q->ndelivery++] = fmax(0, read_ns - (t->valuedouble - off)) / 1e6;
    }
}

/* Which attempts did not end as their plan said: the plan's own ends (complete, or the action's
 * fin/rst/drop/killed/superseded) are fine; an error status, a stream cut before the vendor's
 * terminal event, a connection error or a timeout are not. Writes the kind, or returns 0. */
static int error_kind(const struct chaos_record *c, char *kind, size_t len)
{
    if (c->end == CHAOS_END_HTTP_ERROR)
        snprintf(kind, len, "http_%ld", c->http_status);
    else if (c->end == CHAOS_END_ERROR)
        snprintf(kind, len, "connection");
    else if (c->end == CHAOS_END_TIMEOUT)
        snprintf(kind, len, "timeout");
    else if (c->end == CHAOS_END_TRUNCATED)
        snprintf(kind, len, "truncated");
    else
        return 0;
    return 1;
}

static void count_error(struct scenario_result *res, const char *kind)
{
    res->error_attempts++;
    size_t i = 0;
    while (i < res->nerrs && strcmp(res->errs[i].kind, kind) != 0)
        i++;
    if (i == res->nerrs) {
        /* the last slot collects the kinds past the table's size */
        if (res->nerrs == RESULTS_ERROR_KINDS - 1)
            kind = "other";
        if (res->nerrs < RESULTS_ERROR_KINDS)
            snprintf(res->errs[res->nerrs++].kind, sizeof res->errs[0].kind, "%s", kind);
        else
            i = RESULTS_ERROR_KINDS - 1;
    }
    res->errs[i].count++;
}

static const struct chaos_record *first_attempt(const struct chaos_record *recs,
                                                const struct groups *g, size_t k)
{
    for (size_t i = g->chead[k]; i != CIDMAP_NONE; i = g->cnext[i])
        if (recs[i].attempt == 1)
            return &recs[i];
    return NULL;
}

static const struct chaos_record *last_attempt(const struct chaos_record *recs,
                                               const struct groups *g, size_t k)
{
    const struct chaos_record *last = NULL;
    for (size_t i = g->chead[k]; i != CIDMAP_NONE; i = g->cnext[i])
        if (last == NULL || recs[i].attempt > last->attempt)
            last = &recs[i];
    return last;
}

/* Was any client attempt of request cid open at t (our clock): sent, and not yet ended? An
 * upstream attempt that begins while none is, after the user left or got its answer, is work
 * for nobody: a gateway's retry or fallback whose answer no one will read. */
static int client_open_at(const struct chaos_record *recs, const struct groups *g, size_t k,
                          double t)
{
    for (size_t i = g->chead[k]; i != CIDMAP_NONE; i = g->cnext[i])
        if ((double)recs[i].t_send_ns <= t &&
            (recs[i].t_end_ns == 0 || t <= (double)recs[i].t_end_ns))
            return 1;
    return 0;
}

/* The longest an upstream attempt sat silent while open (mock clock): its accept to its first
 * token, between tokens, its last token to its close or end ('open_end' for one still
 * running). A gateway with a deadline of its own keeps it near that deadline. */
static double longest_silence(const cJSON *rec, double open_end)
{
    double prev = jget_num(rec, "t_accept_ns"), longest = 0;
    if (isnan(prev))
        return NAN;
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(rec, "token_t_ns"))
    {
        longest = fmax(longest, t->valuedouble - prev);
        prev = t->valuedouble;
    }
    double closed = jget_num(rec, "t_peer_closed_ns"), stop = jget_num(rec, "t_gen_stop_ns");
    double end = !isnan(closed) && (isnan(stop) || closed < stop) ? closed : stop;
    if (isnan(end))
        end = open_end;
    return fmax(longest, end - prev) / 1e6;
}

void join_requests(struct scenario_result *res, const struct chaos_record *recs, size_t nrecs,
                   const cJSON *ledger, double settle_end_ns, double clock_offset_ns)
{
    const double off = clock_offset_ns;
    const cJSON *records = cJSON_GetObjectItem(ledger, "records");
    /* user requests: distinct correlation ids in the client records, first attempt first */
    struct groups g;
    if (groups_init(&g, nrecs, (size_t)cJSON_GetArraySize(records)) != 0)
        return;
    res->reqs = calloc(nrecs ? nrecs : 1, sizeof *res->reqs);
    if (res->reqs == NULL) {
        groups_free(&g);
        return;
    }
    for (size_t i = 0; i < nrecs; i++) {
        const struct chaos_record *c = &recs[i];
        struct req_result *q = NULL;
        _Static_assert(sizeof q->cid == sizeof c->correlation_id, "a request keeps the whole id");
        size_t k = cidmap_get(&g.map, c->correlation_id);
        if (k != CIDMAP_NONE) {
            q = &res->reqs[k];
        } else {
            k = res->nreqs;
            q = &res->reqs[res->nreqs++];
            snprintf(q->cid, sizeof q->cid, "%s", c->correlation_id);
            cidmap_put(&g.map, q->cid, k); /* fits: at most one request per record */
            for (int m = 0; m < M_N_SAMPLE; m++)
                q->sample[m] = NAN;
            q->usage_value = NAN;
        }
        chain_add(g.chead, g.ctail, g.cnext, k, i);
        q->client_attempts++;
        res->attempts++;
        char kind[24];
        int err = error_kind(c, kind, sizeof kind);
        if (err) {
            q->errors++;
            count_error(res, kind);
        }
        if (c->end == CHAOS_END_ERROR || c->end == CHAOS_END_TIMEOUT)
            res->client_errors++;
        if (c->end == CHAOS_END_HTTP_ERROR)
            res->http_errors++;
        if (c->attempt == 1) {
            q->action = chaos_action_name(c->action);
            q->index = c->index;
            q->end = chaos_end_name(c->end);
            q->http_status = c->http_status;
            q->t_send_ns = (double)c->t_send_ns;
            q->t_first_byte_ns = (double)c->t_first_byte_ns;
            q->aborted = c->t_abort_ns != 0;
            q->t_abort_ns = (double)c->t_abort_ns;
            /* a user the gateway failed is gone from the moment it got the error: what the
             * model generates for it after that is a tail too */
            q->failed = err && !q->aborted;
            q->t_ref_ns = q->aborted ? q->t_abort_ns : q->failed ? (double)c->t_end_ns : NAN;
            q->delivered = (double)c->delivered_tokens;
            q->total = (double)c->total_tokens;
            q->arrivals = c->arrivals;
        } else {
            q->total += (double)c->total_tokens; /* a retry the user waited for */
        }
    }
    /* the upstream records, in the ledger's order, each to its request */
    size_t nl = 0;
    const cJSON *rec;
    cJSON_ArrayForEach(rec, records)
    {
        size_t k = cidmap_get(&g.map, jget_str(rec, "correlation_id"));
        if (k == CIDMAP_NONE)
            continue;
        g.lrec[nl] = rec;
        chain_add(g.lhead, g.ltail, g.lnext, k, nl++);
    }
    for (size_t k = 0; k < res->nreqs; k++) {
        struct req_result *q = &res->reqs[k];
        const int judged = q->aborted || q->failed; /* a reference moment for the tail */
        double t_ref_mock = q->t_ref_ns + off;
        double gen = 0, tail = 0, think_tail = 0, billed = 0, attempts = 0, rid = 0, orphan = 0;
        double nobody_attempts = 0;
        double first_close = NAN, last_stop = -INFINITY, first_accept = INFINITY;
        double last_open_end = -INFINITY; /* the last upstream still open at the reference */
        double last_accept = -INFINITY;
        const cJSON *first = NULL, *last_up = NULL;
        for (size_t j = g.lhead[k]; j != CIDMAP_NONE; j = g.lnext[j]) {
            rec = g.lrec[j];
            attempts++;
            gen += jget_num(rec, "generated_tokens");
            billed += jget_num(rec, "billed_output_tokens");
            /* "rid_header": the old name of the same fact, in older runs' ledgers */
            rid = rid || cJSON_IsTrue(cJSON_GetObjectItem(rec, "rid_propagated")) ||
                  cJSON_IsTrue(cJSON_GetObjectItem(rec, "rid_header"));
            const char *state = jget_str(rec, "state");
            int active = state && strcmp(state, "active") == 0;
            orphan = orphan || active;
            double u = jget_num(rec, "usage_reported");
            if (!isnan(u))
                q->usage_value = u;
            const char *sr = jget_str(rec, "stop_reason");
            snprintf(q->stop_reason, sizeof q->stop_reason, "%s", sr ? sr : "running");
            double accept = jget_num(rec, "t_accept_ns");
            if (accept > last_accept) {
                last_accept = accept;
                last_up = rec;
            }
            if (accept < first_accept) {
                first_accept = accept;
                first = rec;
                const char *p = jget_str(rec, "profile");
                snprintf(q->profile, sizeof q->profile, "%s", p ? p : "");
            }
            int nobody = !isnan(accept) && !client_open_at(recs, &g, k, accept - off);
            nobody_attempts += nobody;
            if (!judged)
                continue;
            /* the tail belongs to upstream attempts already running at the reference moment and
             * to those begun later for nobody; a retry the user then waits for is wanted work */
            int before = accept <= t_ref_mock || nobody;
            const cJSON *t;
            cJSON_ArrayForEach(t, cJSON_GetObjectItem(rec, "token_t_ns"))
                tail += before && t->valuedouble > t_ref_mock;
            /* a reasoning model's hidden or shown thinking is generated (and billed) too */
            cJSON_ArrayForEach(t, cJSON_GetObjectItem(rec, "reasoning_t_ns"))
                think_tail += before && t->valuedouble > t_ref_mock;
            double closed = jget_num(rec, "t_peer_closed_ns");
            double stop = jget_num(rec, "t_gen_stop_ns");
            const char *ck = jget_str(rec, "close_kind");
            /* the upstream connection that was open then: when did it end? A close, or for a
             * gateway that read on to the end, the end of generation */
            if (before) {
                double end = !isnan(closed) ? closed : stop;
                if (!isnan(end) && (isnan(first_close) || end < first_close) &&
                    !isfinite(last_open_end)) {
                    first_close = end;
                    snprintf(q->close_kind, sizeof q->close_kind, "%s", ck ? ck : "none");
                }
                /* one that ended before the reference (a 429 the gateway then fell back from)
                 * says nothing of when the gateway let go: the last one open after it does */
                double open_end = isnan(end) ? settle_end_ns + off : end;
                if (open_end > t_ref_mock && open_end > last_open_end) {
                    last_open_end = open_end;
                    snprintf(q->close_kind, sizeof q->close_kind, "%s", ck ? ck : "none");
                }
            }
            double s = active ? settle_end_ns + off : stop;
            if (before && !isnan(s) && s > last_stop)
                last_stop = s;
        }
        const struct chaos_record *c = first_attempt(recs, &g, k);
        enum end_reason why = end_reason_of(last_attempt(recs, &g, k), last_up, off);
        q->end_reason = end_reason_name(why);
        res->end_reasons[why]++;
        if (first && !q->aborted)
            q->sample[M_UPSTREAM_IDLE_MS] = longest_silence(first, settle_end_ns + off);
        q->sample[M_DELIVERED_TOKENS] = q->delivered;
        q->sample[M_GENERATED_TOKENS] = gen;
        q->sample[M_BILLED_OUTPUT_TOKENS] = billed;
        q->sample[M_UPSTREAM_ATTEMPTS] = attempts;
        q->sample[M_RETRIES_FOR_NOBODY] = nobody_attempts;
        q->sample[M_RID_PROPAGATED] = attempts ? rid : NAN;
        q->sample[M_ORPHANED] = orphan;
        q->sample[M_USAGE_REPORTED] = isnan(q->usage_value) ? 0 : 1;
        if (q->t_first_byte_ns > 0)
            q->sample[M_TTFT_MS] = (q->t_first_byte_ns - q->t_send_ns) / 1e6;
        if (c && q->arrivals > 0)
            q->sample[M_TOKENS_PER_ARRIVAL] = (double)c->total_tokens / q->arrivals;
        if (c && first) {
            delivery(c, q, first, off);
            /* the request's own figure: its median, as stats computes every p50 */
            struct stats one;
            stats_init(&one);
            for (size_t i = 0; i < q->ndelivery; i++)
                stats_add(&one, q->delivery_ms[i]);
            q->sample[M_DELIVERY_MS] = stats_pct(&one, 50);
            stats_cleanup(&one);
        }
        if (attempts > 0)
            timeline(c, q, &g, k, judged ? q->t_ref_ns : q->t_send_ns, off);
        if (judged) {
            q->sample[M_TAIL_TOKENS] = tail + think_tail;
            q->sample[M_REASONING_TAIL_TOKENS] = think_tail;
            if (isfinite(last_open_end))
                q->sample[M_CLOSE_LAG_MS] = (last_open_end - t_ref_mock) / 1e6;
            else if (!isnan(first_close))
                q->sample[M_CLOSE_LAG_MS] = fmax(0, first_close - t_ref_mock) / 1e6;
            else if (attempts)
                q->sample[M_CLOSE_LAG_MS] = fmax(0, settle_end_ns - q->t_ref_ns) / 1e6;
            if (isfinite(last_stop))
                q->sample[M_STOP_LAG_MS] = fmax(0, last_stop - t_ref_mock) / 1e6;
        }
    }
    groups_free(&g);
}
