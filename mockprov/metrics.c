/* mockprov's Prometheus /metrics: the counters every piece keeps in struct mock_metrics, the
 * latency histograms, and tailgate_build_info. Every family has HELP and TYPE (promtool check
 * metrics), times are in seconds, and labels take only fixed values, so the page's size does
 * not grow with traffic. */
#include "metrics.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "exchange.h"
#include "h2conn.h"
#include "httpd.h"
#include "mock_internal.h"
#include "version.h"

#define MS 1000000ull /* ns */

struct bound {
    uint64_t ns;
    const char *le; /* as Prometheus prints it */
};

/* Buckets from a millisecond (the mock's timer resolution) to a minute. */
static const struct bound latency_bounds[] = {
    {1 * MS, "0.001"},  {2500000ull, "0.0025"}, {5 * MS, "0.005"},  {10 * MS, "0.01"},
    {25 * MS, "0.025"}, {50 * MS, "0.05"},      {100 * MS, "0.1"},  {250 * MS, "0.25"},
    {500 * MS, "0.5"},  {1000 * MS, "1"},       {2500 * MS, "2.5"}, {5000 * MS, "5"},
    {10000 * MS, "10"}, {30000 * MS, "30"},     {60000 * MS, "60"},
};

/* Stop lag is 0 for a vendor that stops at once (same callback as the close): a bucket below
 * the millisecond keeps those apart from a lag of one timer tick. */
static const struct bound stop_bounds[] = {
    {100000ull, "0.0001"}, {1 * MS, "0.001"},  {5 * MS, "0.005"},  {10 * MS, "0.01"},
    {25 * MS, "0.025"},    {50 * MS, "0.05"},  {100 * MS, "0.1"},  {250 * MS, "0.25"},
    {500 * MS, "0.5"},     {1000 * MS, "1"},   {2500 * MS, "2.5"}, {5000 * MS, "5"},
    {10000 * MS, "10"},    {30000 * MS, "30"}, {60000 * MS, "60"},
};

/* A token's lag: an on-time mock is within a tick (1 ms); 5 ms is "late", and the runner's
 * default judgement line is 50 ms at p99 (runner --max-mock-lag-ms). */
static const struct bound lag_bounds[] = {
    {100000ull, "0.0001"}, {500000ull, "0.0005"}, {1 * MS, "0.001"},  {2 * MS, "0.002"},
    {5 * MS, "0.005"},     {10 * MS, "0.01"},     {20 * MS, "0.02"},  {50 * MS, "0.05"},
    {100 * MS, "0.1"},     {250 * MS, "0.25"},    {500 * MS, "0.5"},  {1000 * MS, "1"},
    {2500 * MS, "2.5"},    {5000 * MS, "5"},      {10000 * MS, "10"}, {60000 * MS, "60"},
};

#define NB(a) (sizeof(a) / sizeof((a)[0]))

struct family {
    const char *name;
    const char *help;
    const struct bound *b;
    size_t nb;
};

static const struct family families[METRICS_NHIST] = {
    [METRICS_TTFT] = {"tailgate_mock_time_to_first_token_seconds",
                      "Request accepted (body read) to its first token generated and written to "
                      "the peer's socket, per generation.",
                      latency_bounds, NB(latency_bounds)},
    [METRICS_CLOSE_DETECT] = {"tailgate_mock_close_detection_seconds",
                              "Last token written to the peer to the peer's close (FIN or RST) "
                              "or cancel call noticed, or request accepted to that when no "
                              "token was written; one per generation the peer left.",
                              latency_bounds, NB(latency_bounds)},
    [METRICS_STOP_LAG] = {"tailgate_mock_stop_lag_seconds",
                          "The peer's close or cancel call noticed to generation stopped (the "
                          "vendor profile's reaction), per generation stopped after its peer "
                          "left.",
                          stop_bounds, NB(stop_bounds)},
    [METRICS_TOKEN_LAG] = {"tailgate_mock_token_lag_seconds",
                           "A token's due time by its stream's timetable to the token generated, "
                           "per token: how far the mock itself fell behind.",
                           lag_bounds, NB(lag_bounds)},
};

_Static_assert(NB(latency_bounds) <= METRICS_BUCKETS_MAX, "latency buckets");
_Static_assert(NB(stop_bounds) <= METRICS_BUCKETS_MAX, "stop buckets");
_Static_assert(NB(lag_bounds) <= METRICS_BUCKETS_MAX, "lag buckets");

void metrics_observe(struct metrics_histogram *h, enum metrics_hist kind, uint64_t ns)
{
    const struct family *f = &families[kind];
    size_t i = 0;
    while (i < f->nb && ns > f->b[i].ns) /* linear scan: at most 16 bounds */
        i++;
    h->bucket[i]++;
    h->count++;
    h->sum_ns += ns;
}

double metrics_quantile(const struct metrics_histogram *h, enum metrics_hist kind, double q,
                        uint64_t max_ns)
{
    const struct family *f = &families[kind];
    if (h->count == 0)
        return 0;
    double rank = q * (double)h->count, cum = 0;
    for (size_t i = 0; i <= f->nb; i++) {
        double in = (double)h->bucket[i];
        if (in > 0 && cum + in >= rank) {
            if (i == f->nb)
                return (double)max_ns; /* +Inf: the largest observation is all we know */
            double lo = i ? (double)f->b[i - 1].ns : 0, hi = (double)f->b[i].ns;
            double v = lo + (hi - lo) * (rank - cum) / in;
            return v < (double)max_ns ? v : (double)max_ns;
        }
        cum += in;
    }
    return (double)max_ns;
}

/* The label of API a: the ledger's name for it (enum api's order). */
static const char *api_label(int a)
{
    return request_api_name((enum api)a);
}

static void histogram_text(struct evbuffer *b, const struct mock_metrics *x, enum metrics_hist k)
{
    const struct family *f = &families[k];
    evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", f->name, f->help, f->name);
    for (int a = 0; a < METRICS_APIS; a++) {
        const struct metrics_histogram *h = &x->hist[k][a];
        uint64_t cum = 0;
        for (size_t i = 0; i < f->nb; i++) {
            cum += h->bucket[i];
            evbuffer_add_printf(b, "%s_bucket{api=\"%s\",le=\"%s\"} %llu\n", f->name, api_label(a),
                                f->b[i].le, (unsigned long long)cum);
        }
        evbuffer_add_printf(b,
                            "%s_bucket{api=\"%s\",le=\"+Inf\"} %llu\n"
                            "%s_sum{api=\"%s\"} %llu.%09llu\n"
                            "%s_count{api=\"%s\"} %llu\n",
                            f->name, api_label(a), (unsigned long long)h->count, f->name,
                            api_label(a), (unsigned long long)(h->sum_ns / 1000000000ull),
                            (unsigned long long)(h->sum_ns % 1000000000ull), f->name, api_label(a),
                            (unsigned long long)h->count);
    }
}

/* A counter family with one series per API. */
static void per_api(struct evbuffer *b, const char *name, const char *help, const uint64_t *v)
{
    evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
    for (int a = 0; a < METRICS_APIS; a++)
        evbuffer_add_printf(b, "%s{api=\"%s\"} %llu\n", name, api_label(a),
                            (unsigned long long)v[a]);
}

void metrics_reply(struct mock *m, struct exchange *req)
{
    /* its own buffer: the exchange's reply may use the mock's scratch one */
    struct evbuffer *b = evbuffer_new();
    if (b == NULL) {
        exchange_reply(req, 500, "", 0);
        return;
    }
    const struct mock_metrics *x = &m->mx;
    evbuffer_add_printf(
        b,
        "# HELP tailgate_build_info The build's version (VERSION) and source revision; always "
        "1.\n"
        "# TYPE tailgate_build_info gauge\n"
        "tailgate_build_info{version=\"%s\",revision=\"%s\"} 1\n",
        version_number(), version_revision());
    per_api(b, "tailgate_mock_requests_total", "Generation requests accepted.", x->requests);
    evbuffer_add_printf(
        b,
        "# HELP tailgate_mock_bad_requests_total Requests answered 4xx for a body or route "
        "the API rejects.\n"
        "# TYPE tailgate_mock_bad_requests_total counter\n"
        "tailgate_mock_bad_requests_total %llu\n"
        "# HELP tailgate_mock_fault_http_errors_total Requests answered with an HTTP error "
        "fault (429, 529, ...).\n"
        "# TYPE tailgate_mock_fault_http_errors_total counter\n"
        "tailgate_mock_fault_http_errors_total %llu\n"
        "# HELP tailgate_mock_tokens_generated_total Tokens generated, every request.\n"
        "# TYPE tailgate_mock_tokens_generated_total counter\n"
        "tailgate_mock_tokens_generated_total %llu\n"
        "# HELP tailgate_mock_tail_tokens_total Tokens generated after the "
        "peer left.\n"
        "# TYPE tailgate_mock_tail_tokens_total counter\n"
        "tailgate_mock_tail_tokens_total %llu\n"
        "# HELP tailgate_mock_peer_closes_total Generations whose peer left, by how: FIN, RST, "
        "the cancel API, an HTTP/2 stream reset or GOAWAY.\n"
        "# TYPE tailgate_mock_peer_closes_total counter\n"
        "tailgate_mock_peer_closes_total{kind=\"fin\"} %llu\n"
        "tailgate_mock_peer_closes_total{kind=\"rst\"} %llu\n"
        "tailgate_mock_peer_closes_total{kind=\"cancel_api\"} %llu\n"
        "tailgate_mock_peer_closes_total{kind=\"rst_stream\"} %llu\n"
        "tailgate_mock_peer_closes_total{kind=\"goaway\"} %llu\n"
        "# HELP tailgate_mock_billed_output_tokens_total Output tokens billed by the vendor "
        "profile, finished requests.\n"
        "# TYPE tailgate_mock_billed_output_tokens_total counter\n"
        "tailgate_mock_billed_output_tokens_total %llu\n"
        "# HELP tailgate_mock_active_generations Generations whose ledger record is not "
        "finished yet.\n"
        "# TYPE tailgate_mock_active_generations gauge\n"
        "tailgate_mock_active_generations %zu\n"
        "# HELP tailgate_mock_ledger_records Records the ledger holds, running and finished.\n"
        "# TYPE tailgate_mock_ledger_records gauge\n"
        "tailgate_mock_ledger_records %zu\n"
        "# HELP tailgate_mock_ledger_dropped_total Finished records dropped to respect the "
        "ledger's capacity.\n"
        "# TYPE tailgate_mock_ledger_dropped_total counter\n"
        "tailgate_mock_ledger_dropped_total %llu\n"
        "# HELP tailgate_mock_ledger_file_errors_total Finished records the ledger file "
        "(--ledger-file) failed to take.\n"
        "# TYPE tailgate_mock_ledger_file_errors_total counter\n"
        "tailgate_mock_ledger_file_errors_total %llu\n",
        (unsigned long long)x->bad_requests, (unsigned long long)x->http_errors,
        (unsigned long long)x->tokens_generated, (unsigned long long)x->tokens_tail,
        (unsigned long long)x->closes_fin, (unsigned long long)x->closes_rst,
        (unsigned long long)x->closes_cancel, (unsigned long long)x->closes_rst_stream,
        (unsigned long long)x->closes_goaway, (unsigned long long)x->billed_output, m->active,
        ledger_count(m->ledger), (unsigned long long)ledger_dropped(m->ledger),
        (unsigned long long)ledger_file_errors(m->ledger));
    per_api(b, "tailgate_mock_reasoning_tokens_generated_total",
            "Reasoning tokens generated, every request (apart from tokens_generated).",
            x->reasoning_generated);
    per_api(b, "tailgate_mock_tool_argument_tokens_generated_total",
            "Tool-call argument tokens generated, every request (counted in tokens_generated "
            "too).",
            x->tool_args_generated);
    evbuffer_add_printf(
        b,
        "# HELP tailgate_mock_tokens_timed_total Tokens (reasoning too) whose lag behind their "
        "stream's timetable was measured.\n"
        "# TYPE tailgate_mock_tokens_timed_total counter\n"
        "tailgate_mock_tokens_timed_total %llu\n"
        "# HELP tailgate_mock_tokens_late_total Tokens generated more than 5 ms after their "
        "timetable said.\n"
        "# TYPE tailgate_mock_tokens_late_total counter\n"
        "tailgate_mock_tokens_late_total %llu\n"
        "# HELP tailgate_mock_tick_burst_max Most tokens one stream generated in one pass of the "
        "token wheel (at most --max-burst, more only for a stream faster than a millisecond).\n"
        "# TYPE tailgate_mock_tick_burst_max gauge\n"
        "tailgate_mock_tick_burst_max %llu\n",
        (unsigned long long)x->tokens_timed, (unsigned long long)x->tokens_late,
        (unsigned long long)x->burst_max);
    for (int k = 0; k < METRICS_NHIST; k++)
        histogram_text(b, x, (enum metrics_hist)k);
    httpguard_metrics(m->httpd.guard, "tailgate_mock_http", b);
    struct h2server_stats h2 = httpd_h2_stats(&m->httpd);
    evbuffer_add_printf(
        b,
        "# HELP tailgate_mock_h2_connections_total Connections served over HTTP/2.\n"
        "# TYPE tailgate_mock_h2_connections_total counter\n"
        "tailgate_mock_h2_connections_total %llu\n"
        "# HELP tailgate_mock_h2_connections_open HTTP/2 connections open now.\n"
        "# TYPE tailgate_mock_h2_connections_open gauge\n"
        "tailgate_mock_h2_connections_open %llu\n"
        "# HELP tailgate_mock_h2_streams_total HTTP/2 requests begun.\n"
        "# TYPE tailgate_mock_h2_streams_total counter\n"
        "tailgate_mock_h2_streams_total %llu\n"
        "# HELP tailgate_mock_h2_rst_stream_received_total RST_STREAM frames from peers.\n"
        "# TYPE tailgate_mock_h2_rst_stream_received_total counter\n"
        "tailgate_mock_h2_rst_stream_received_total %llu\n"
        "# HELP tailgate_mock_h2_goaway_received_total GOAWAY frames from peers.\n"
        "# TYPE tailgate_mock_h2_goaway_received_total counter\n"
        "tailgate_mock_h2_goaway_received_total %llu\n",
        (unsigned long long)h2.connections, (unsigned long long)h2.open,
        (unsigned long long)h2.streams, (unsigned long long)h2.rst_received,
        (unsigned long long)h2.goaway_received);
    exchange_add_header(req, "Content-Type", "text/plain; version=0.0.4");
    size_t n = evbuffer_get_length(b);
    exchange_reply(req, 200, (const char *)evbuffer_pullup(b, -1), n);
    evbuffer_free(b);
}
