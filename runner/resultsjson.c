/* results.json: every joined request, distributions, scalars and verdicts, per scenario. */
#include "resultsjson.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "endreason.h"
#include "jparse.h"
#include "results.h"

static cJSON *num_or_null(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static cJSON *distribution(struct stats *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "count", (double)stats_count(s));
    cJSON_AddItemToObject(o, "min", num_or_null(stats_min(s)));
    cJSON_AddItemToObject(o, "p50", num_or_null(stats_pct(s, 50)));
    cJSON_AddItemToObject(o, "p90", num_or_null(stats_pct(s, 90)));
    cJSON_AddItemToObject(o, "p95", num_or_null(stats_pct(s, 95)));
    cJSON_AddItemToObject(o, "p99", num_or_null(stats_pct(s, 99)));
    cJSON_AddItemToObject(o, "max", num_or_null(stats_max(s)));
    cJSON_AddItemToObject(o, "avg", num_or_null(stats_avg(s)));
    return o;
}

static cJSON *request_json(const struct req_result *q)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "correlation_id", q->cid);
    cJSON_AddStringToObject(o, "action", q->action ? q->action : "?");
    cJSON_AddStringToObject(o, "client_end", q->end ? q->end : "?");
    cJSON_AddNumberToObject(o, "http_status", (double)q->http_status);
    cJSON_AddNumberToObject(o, "client_attempts", q->client_attempts);
    cJSON_AddItemToObject(o, "t_send_ns", num_or_null(q->t_send_ns));
    cJSON_AddItemToObject(o, "t_abort_ns", q->aborted ? num_or_null(q->t_abort_ns)
                                                      : cJSON_CreateNull());
    for (int m = 0; m < M_N_SAMPLE; m++)
        cJSON_AddItemToObject(o, scenario_metric_name(0, m), num_or_null(q->sample[m]));
    /* usage_reported as the number the wire carried (the sample above is 1/0) */
    cJSON_ReplaceItemInObject(o, "usage_reported", num_or_null(q->usage_value));
    cJSON_AddItemToObject(o, "metered_output_tokens", num_or_null(q->metered));
    cJSON_AddNumberToObject(o, "total_tokens", q->total);
    cJSON_AddStringToObject(o, "close_kind", q->close_kind[0] ? q->close_kind : "none");
    cJSON_AddStringToObject(o, "stop_reason", q->stop_reason[0] ? q->stop_reason : "none");
    cJSON_AddStringToObject(o, "end_reason", q->end_reason ? q->end_reason : "error");
    cJSON_AddBoolToObject(o, "failed_by_gateway", q->failed);
    cJSON_AddNumberToObject(o, "error_attempts", q->errors);
    cJSON_AddNumberToObject(o, "arrivals", q->arrivals);
    return o;
}

static cJSON *scenario_json(const struct scenario_result *res)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", res->sc->name);
    cJSON_AddStringToObject(o, "file", res->sc->file);
    cJSON_AddStringToObject(o, "description", res->sc->description);
    cJSON_AddStringToObject(o, "profile", res->profile);
    cJSON_AddStringToObject(o, "verdict", results_verdict(res->pass, res->error));
    if (res->error[0])
        cJSON_AddStringToObject(o, "error", res->error);
    if (res->fail_reason[0])
        cJSON_AddStringToObject(o, "fail_reason", res->fail_reason);
    cJSON *ej = cJSON_AddObjectToObject(o, "errors");
    cJSON_AddNumberToObject(ej, "attempts", (double)res->attempts);
    cJSON_AddNumberToObject(ej, "failed_attempts", (double)res->error_attempts);
    cJSON_AddBoolToObject(ej, "gated", res->errors_gated);
    cJSON *kinds = cJSON_AddObjectToObject(ej, "by_kind");
    for (size_t i = 0; i < res->nerrs; i++)
        cJSON_AddNumberToObject(kinds, res->errs[i].kind, (double)res->errs[i].count);
    if (res->sc->isolate)
        cJSON_AddNumberToObject(o, "isolate_timeouts", (double)res->isolate_timeouts);
    if (res->workers > 0)
        cJSON_AddNumberToObject(o, "workers", res->workers);
    if (res->workers_note[0])
        cJSON_AddStringToObject(o, "workers_note", res->workers_note);
    cJSON_AddNumberToObject(o, "requests", (double)res->nreqs);
    cJSON *ends = cJSON_AddObjectToObject(o, "end_reasons");
    for (int r = 0; r < END_REASON_COUNT; r++)
        cJSON_AddNumberToObject(ends, end_reason_name((enum end_reason)r),
                                (double)res->end_reasons[r]);
    cJSON_AddNumberToObject(o, "client_errors", (double)res->client_errors);
    cJSON_AddNumberToObject(o, "http_errors", (double)res->http_errors);
    cJSON_AddNumberToObject(o, "ledger_dropped", (double)res->ledger_dropped);
    cJSON_AddItemToObject(o, "mock_lag_p99_ms", num_or_null(res->mock_lag_p99_ms));
    cJSON_AddItemToObject(o, "mock_late_share", num_or_null(res->mock_late_share));
    cJSON_AddItemToObject(o, "mock_rate_share", num_or_null(res->mock_rate_share));
    cJSON_AddStringToObject(o, "started_utc", res->started_utc);
    cJSON_AddNumberToObject(o, "duration_s", res->duration_s);
    cJSON_AddNumberToObject(o, "traffic_s", res->traffic_s);
    cJSON *price = cJSON_AddObjectToObject(o, "price_per_mtok");
    cJSON_AddItemToObject(price, "input", num_or_null(res->price_in));
    cJSON_AddItemToObject(price, "output", num_or_null(res->price_out));
    cJSON_AddNumberToObject(o, "requests_per_day", res->sc->requests_per_day);
    cJSON *dist = cJSON_AddObjectToObject(o, "metrics");
    for (int m = 0; m < M_N_SAMPLE; m++)
        cJSON_AddItemToObject(dist, scenario_metric_name(0, m),
                              distribution((struct stats *)&res->m[m]));
    cJSON *sc = cJSON_AddObjectToObject(o, "scalars");
    for (int m = 0; m < S_N_SCALAR; m++)
        cJSON_AddItemToObject(sc, scenario_metric_name(1, m), num_or_null(res->scalar[m]));
    cJSON *gates = cJSON_AddArrayToObject(o, "gates");
    for (size_t i = 0; i < res->ngates; i++) {
        const struct gate_result *g = &res->gates[i];
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "metric", g->gate->metric);
        cJSON_AddStringToObject(j, "expr", g->gate->expr);
        cJSON_AddItemToObject(j, "observed", num_or_null(g->observed));
        cJSON_AddNumberToObject(j, "threshold", g->gate->threshold);
        cJSON_AddNumberToObject(j, "samples", (double)g->samples);
        cJSON_AddStringToObject(j, "verdict", g->pass ? "pass" : "fail");
        cJSON_AddItemToArray(gates, j);
    }
    const struct billing *b = &res->billing;
    if (b->metered || b->nswitches) {
        cJSON *bj = cJSON_AddObjectToObject(o, "billing");
        cJSON_AddBoolToObject(bj, "metered", b->metered);
        cJSON_AddItemToObject(bj, "variance_pct", num_or_null(b->variance_pct));
        cJSON_AddItemToObject(bj, "variance_before_switch_pct",
                              num_or_null(b->variance_before_pct));
        cJSON_AddItemToObject(bj, "variance_after_switch_pct",
                              num_or_null(b->variance_after_pct));
        cJSON_AddItemToObject(bj, "switches_s",
                              cJSON_CreateDoubleArray(b->switches_s, (int)b->nswitches));
        cJSON *tlb = cJSON_AddArrayToObject(bj, "timeline");
        for (size_t i = 0; i < b->nbuckets; i++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "t_s", (double)i);
            cJSON_AddNumberToObject(e, "invoice_output_tokens", b->buckets[i].invoice);
            cJSON_AddNumberToObject(e, "wire_output_tokens", b->buckets[i].wire);
            if (b->metered)
                cJSON_AddNumberToObject(e, "metered_output_tokens", b->buckets[i].metered);
            else
                cJSON_AddNullToObject(e, "metered_output_tokens");
            cJSON_AddItemToArray(tlb, e);
        }
        cJSON_AddNumberToObject(bj, "disagreements_total", (double)b->ndis_total);
        cJSON *dis = cJSON_AddArrayToObject(bj, "disagreements");
        for (size_t i = 0; i < b->ndis; i++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "correlation_id", b->dis[i].cid);
            cJSON_AddNumberToObject(e, "billed_output_tokens", b->dis[i].billed);
            cJSON_AddNumberToObject(e, "metered_output_tokens", b->dis[i].metered);
            cJSON_AddItemToArray(dis, e);
        }
    }
    cJSON *tl = cJSON_AddArrayToObject(o, "timelines");
    for (size_t i = 0; i < res->nreqs; i++) {
        const struct req_result *q = &res->reqs[i];
        if (q->gen_ms == NULL)
            continue;
        cJSON *t = cJSON_CreateObject();
        cJSON_AddStringToObject(t, "correlation_id", q->cid);
        /* times are ms from the abort (or the error that failed the user), else from the send */
        cJSON_AddStringToObject(t, "reference",
                                q->aborted ? "abort" : q->failed ? "error" : "send");
        cJSON_AddItemToObject(t, "generated_ms", cJSON_CreateDoubleArray(q->gen_ms, (int)q->ngen));
        cJSON_AddItemToObject(t, "delivered_ms",
                              q->del_ms ? cJSON_CreateDoubleArray(q->del_ms, (int)q->ndel)
                                        : cJSON_CreateArray());
        cJSON_AddItemToArray(tl, t);
    }
    cJSON *reqs = cJSON_AddArrayToObject(o, "requests_detail");
    for (size_t i = 0; i < res->nreqs; i++)
        cJSON_AddItemToArray(reqs, request_json(&res->reqs[i]));
    return o;
}

#define FLOOR_MAX_BYTES (512u * 1024 * 1024) /* as much as the report reader takes */

/* The harness's own floor beside this run: the close-lag and tail distributions of a --direct
 * run of the same scenarios, by name. */
static cJSON *floor_json(const struct run_result *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "source", r->floor_dir);
    char path[1024];
    snprintf(path, sizeof path, "%s/results.json", r->floor_dir);
    char err[1200];
    cJSON *fr = jparse_file(path, FLOOR_MAX_BYTES, NULL, NULL, err, sizeof err);
    if (fr == NULL) {
        char msg[1300];
        snprintf(msg, sizeof msg, "could not read the floor run's results.json: %s", err);
        cJSON_AddStringToObject(o, "error", msg);
        return o;
    }
    cJSON *sc = cJSON_AddObjectToObject(o, "scenarios");
    const cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItem(fr, "scenarios"))
    {
        const cJSON *name = cJSON_GetObjectItem(s, "name");
        const cJSON *m = cJSON_GetObjectItem(s, "metrics");
        if (!cJSON_IsString(name) || m == NULL)
            continue;
        cJSON *e = cJSON_AddObjectToObject(sc, name->valuestring);
        cJSON_AddItemToObject(e, "close_lag_ms",
                              cJSON_Duplicate(cJSON_GetObjectItem(m, "close_lag_ms"), 1));
        cJSON_AddItemToObject(e, "tail_tokens",
                              cJSON_Duplicate(cJSON_GetObjectItem(m, "tail_tokens"), 1));
    }
    cJSON_Delete(fr);
    return o;
}

cJSON *resultsjson_build(const struct run_result *r)
{
    cJSON *o = cJSON_CreateObject();
    /* first, so a reader can refuse a format it does not know before reading anything else */
    cJSON_AddStringToObject(o, "schema_version", RESULTS_SCHEMA_VERSION);
    cJSON_AddStringToObject(o, "tailgate_version", r->version);
    cJSON_AddStringToObject(o, "started_utc", r->started_utc);
    cJSON_AddStringToObject(o, "hostname", r->hostname);
    cJSON_AddStringToObject(o, "gateway", r->gateway);
    cJSON_AddBoolToObject(o, "direct", r->direct);
    cJSON_AddStringToObject(o, "suite", r->suite);
    cJSON_AddNumberToObject(o, "seed", (double)r->seed);
    cJSON_AddNumberToObject(o, "total_s", r->total_s);
    cJSON *clock = cJSON_AddObjectToObject(o, "clock");
    cJSON_AddNumberToObject(clock, "offset_ns", r->clock_offset_ns);
    cJSON_AddItemToObject(clock, "uncertainty_ns", num_or_null(r->clock_uncertainty_ns));
    cJSON_AddStringToObject(o, "verdict", results_verdict(r->pass, r->env_error));
    if (r->env_error[0]) {
        cJSON_AddStringToObject(o, "error", r->env_error);
        cJSON_AddStringToObject(o, "error_kind", r->env_kind[0] ? r->env_kind : "environment");
    }
    if (r->aborted[0])
        cJSON_AddStringToObject(o, "aborted", r->aborted);
    cJSON *nr = cJSON_AddArrayToObject(o, "not_run");
    for (size_t i = 0; i < r->nnot_run; i++)
        cJSON_AddItemToArray(nr, cJSON_CreateString(r->not_run[i]));
    cJSON_AddBoolToObject(o, "via_proxies", r->via_proxies);
    if (r->floor_dir)
        cJSON_AddItemToObject(o, "floor", floor_json(r));
    cJSON *arr = cJSON_AddArrayToObject(o, "scenarios");
    for (size_t i = 0; i < r->n; i++)
        cJSON_AddItemToArray(arr, scenario_json(&r->sr[i]));
    return o;
}
