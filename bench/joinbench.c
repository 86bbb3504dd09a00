/* Join scaling: the runner's join (client records with the mock's ledger, by correlation id)
 * timed on synthetic records at N/10 and N user requests in the same run, so the figure that
 * matters is a ratio: 10x the requests should cost about 10x the time, not 100x. Each request
 * has a first attempt the user left after 20 tokens and one upstream record of 40 tokens. A
 * merged run of a fleet (tens of thousands of streams) goes through this same join.
 *
 * usage: joinbench [N] (default 20000) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "join.h"
#include "results.h"

#define TOKENS 40
#define ABORT_AT 20

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Request i (ids in a shuffled order, as shards' records interleave): sent at i ms, a token
 * every 50 ms, the user gone after ABORT_AT, the upstream closed 10 ms later. */
static void make(size_t n, struct chaos_record **recs_out, cJSON **ledger_out)
{
    struct chaos_record *recs = calloc(n, sizeof *recs);
    cJSON *ledger = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(ledger, "records");
    if (recs == NULL || ledger == NULL || arr == NULL) {
        fprintf(stderr, "joinbench: out of memory\n");
        exit(1);
    }
    for (size_t k = 0; k < n; k++) {
        size_t i = (k * 7919) % n; /* 7919 is prime: a permutation unless n is a multiple */
        double send = 1e9 + (double)i * 1e6;
        struct chaos_record *c = &recs[k];
        snprintf(c->correlation_id, sizeof c->correlation_id, "bench-join-%zu", i);
        c->attempt = 1;
        c->index = (uint32_t)i;
        c->action = CHAOS_TAB_CLOSE;
        c->end = CHAOS_END_FIN;
        c->http_status = 200;
        c->t_send_ns = (uint64_t)send;
        c->t_first_byte_ns = (uint64_t)(send + 50e6);
        c->t_abort_ns = (uint64_t)(send + ABORT_AT * 50e6);
        c->t_end_ns = c->t_abort_ns;
        c->delivered_tokens = c->total_tokens = ABORT_AT;
        c->arrivals = ABORT_AT;
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "correlation_id", c->correlation_id);
        cJSON_AddNumberToObject(r, "t_accept_ns", send + 1e6);
        cJSON_AddNumberToObject(r, "generated_tokens", TOKENS);
        cJSON_AddNumberToObject(r, "billed_output_tokens", TOKENS);
        cJSON_AddStringToObject(r, "state", "done");
        cJSON_AddStringToObject(r, "stop_reason", "disconnect");
        cJSON_AddStringToObject(r, "close_kind", "fin");
        cJSON_AddNumberToObject(r, "t_peer_closed_ns", send + ABORT_AT * 50e6 + 10e6);
        cJSON_AddNumberToObject(r, "t_gen_stop_ns", send + ABORT_AT * 50e6 + 10e6);
        cJSON *t = cJSON_AddArrayToObject(r, "token_t_ns");
        for (int j = 0; j < TOKENS; j++)
            cJSON_AddItemToArray(t, cJSON_CreateNumber(send + 1e6 + j * 50e6));
        cJSON_AddItemToArray(arr, r);
    }
    *recs_out = recs;
    *ledger_out = ledger;
}

/* Seconds for one join of n requests; *tail gets the sum of their tails (a check). */
static double time_join(size_t n, double *tail)
{
    struct chaos_record *recs;
    cJSON *ledger;
    make(n, &recs, &ledger);
    struct scenario_result res;
    memset(&res, 0, sizeof res);
    double t0 = now_s();
    join_requests(&res, recs, n, ledger, 1e9 + (double)n * 1e6 + 10e9, 0);
    double dt = now_s() - t0;
    *tail = 0;
    for (size_t k = 0; k < res.nreqs; k++)
        *tail += res.reqs[k].sample[M_TAIL_TOKENS];
    if (res.nreqs != n)
        fprintf(stderr, "joinbench: %zu requests joined of %zu\n", res.nreqs, n);
    results_scenario_free(&res);
    cJSON_Delete(ledger);
    free(recs);
    return dt;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
    if (n < 10 || n > 10000000) {
        fprintf(stderr, "usage: joinbench [N] (10 to 10000000)\n");
        return 2;
    }
    double tail_small, tail_big;
    double small = time_join(n / 10, &tail_small), big = time_join(n, &tail_big);
    /* each request's tail: the 20 tokens generated after the user left */
    int ok = tail_small == (double)(n / 10) * (TOKENS - ABORT_AT) &&
             tail_big == (double)n * (TOKENS - ABORT_AT);
    printf("| requests | join s | per request us |\n|---:|---:|---:|\n");
    printf("| %zu | %.3f | %.2f |\n", n / 10, small, small * 1e6 / (double)(n / 10));
    printf("| %zu | %.3f | %.2f |\n", n, big, big * 1e6 / (double)n);
    printf("10x the requests: %.1fx the time (linear: 10x)\n", small > 0 ? big / small : 0.0);
    if (!ok) {
        fprintf(stderr, "joinbench: tails %.0f and %.0f, expected %.0f and %.0f\n", tail_small,
                tail_big, (double)(n / 10) * (TOKENS - ABORT_AT),
                (double)n * (TOKENS - ABORT_AT));
        return 1;
    }
    return 0;
}
