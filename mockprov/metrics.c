/* mockprov's Prometheus /metrics: the counters every piece keeps in struct mock_metrics. */
#include "metrics.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "mock_internal.h"

void metrics_reply(struct mock *m, struct evhttp_request *req)
{
    struct evbuffer *b = m->scratch;
    evbuffer_drain(b, evbuffer_get_length(b));
    const struct mock_metrics *x = &m->mx;
    evbuffer_add_printf(
        b,
        "# HELP tailgate_mock_requests_total Generation requests accepted.\n"
        "# TYPE tailgate_mock_requests_total counter\n"
        "tailgate_mock_requests_total{api=\"chat\"} %llu\n"
        "tailgate_mock_requests_total{api=\"responses\"} %llu\n"
        "tailgate_mock_requests_total{api=\"messages\"} %llu\n"
        "# TYPE tailgate_mock_bad_requests_total counter\n"
        "tailgate_mock_bad_requests_total %llu\n"
        "# TYPE tailgate_mock_fault_http_errors_total counter\n"
        "tailgate_mock_fault_http_errors_total %llu\n"
        "# TYPE tailgate_mock_tokens_generated_total counter\n"
        "tailgate_mock_tokens_generated_total %llu\n"
        "# HELP tailgate_mock_tail_tokens_total Tokens generated after the "
        "peer left.\n"
        "# TYPE tailgate_mock_tail_tokens_total counter\n"
        "tailgate_mock_tail_tokens_total %llu\n"
        "# TYPE tailgate_mock_peer_closes_total counter\n"
        "tailgate_mock_peer_closes_total{kind=\"fin\"} %llu\n"
        "tailgate_mock_peer_closes_total{kind=\"rst\"} %llu\n"
        "tailgate_mock_peer_closes_total{kind=\"cancel_api\"} %llu\n"
        "# TYPE tailgate_mock_billed_output_tokens_total counter\n"
        "tailgate_mock_billed_output_tokens_total %llu\n"
        "# TYPE tailgate_mock_active_generations gauge\n"
        "tailgate_mock_active_generations %zu\n"
        "# TYPE tailgate_mock_ledger_records gauge\n"
        "tailgate_mock_ledger_records %zu\n"
        "# TYPE tailgate_mock_ledger_dropped_total counter\n"
        "tailgate_mock_ledger_dropped_total %llu\n"
        "# TYPE tailgate_mock_ledger_file_errors_total counter\n"
        "tailgate_mock_ledger_file_errors_total %llu\n",
        (unsigned long long)x->requests[API_CHAT], (unsigned long long)x->requests[API_RESPONSES],
        (unsigned long long)x->requests[API_MESSAGES], (unsigned long long)x->bad_requests,
        (unsigned long long)x->http_errors, (unsigned long long)x->tokens_generated,
        (unsigned long long)x->tokens_tail, (unsigned long long)x->closes_fin,
        (unsigned long long)x->closes_rst, (unsigned long long)x->closes_cancel,
        (unsigned long long)x->billed_output, m->active, ledger_count(m->ledger),
        (unsigned long long)ledger_dropped(m->ledger),
        (unsigned long long)ledger_file_errors(m->ledger));
    httpguard_metrics(m->httpd.guard, "tailgate_mock_http", b);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4");
    evhttp_send_reply(req, 200, "OK", b);
}
