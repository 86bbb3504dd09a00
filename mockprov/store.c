/* The Responses API's stored background responses: retrieve (JSON, or a stream replayed from
 * starting_after that then follows live), cancel, and eviction of the oldest finished one. */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "mock_internal.h"
#include "clock.h"
#include "gen.h"
#include "exchange.h"
#include "reply.h"
#include "sink.h"

/* Forgets the oldest finished background response (the list is newest first). */
void store_evict_oldest(struct mock *m)
{
    struct gen *victim = NULL;
    for (struct gen *g = m->gens; g; g = g->next)
        if (g->stored && g->finished)
            victim = g;
    if (victim == NULL)
        return; /* all still running: they stay reachable until they end */
    victim->stored = 0;
    m->stored--;
    gen_maybe_finish(victim);
}

struct gen *store_find(struct mock *m, const char *id)
{
    /* linear scan: bounded by MOCK_STORE_MAX plus the active gens */
    for (struct gen *g = m->gens; g; g = g->next)
        if (g->stored && strcmp(g->w.id, id) == 0)
            return g;
    return NULL;
}

static void not_found_response(struct mock *m, struct exchange *x, const char *id)
{
    char msg[200];
    snprintf(msg, sizeof msg, "No response found with id '%.100s'.", id);
    reply_error(m, x, API_RESPONSES, 404, NULL, NULL, NULL, msg);
}

void store_retrieve(struct mock *m, struct exchange *x, const char *id)
{
    struct gen *g = store_find(m, id);
    if (g == NULL) {
        not_found_response(m, x, id);
        return;
    }
    struct evkeyvalq q;
    TAILQ_INIT(&q);
    const char *query = x->query;
    if (query && evhttp_parse_query_str(query, &q) != 0) {
        reply_error(m, x, API_RESPONSES, 400, NULL, NULL, NULL, "Malformed query string.");
        return;
    }
    const char *stream = evhttp_find_header(&q, "stream");
    const char *after = evhttp_find_header(&q, "starting_after");
    int want_stream = stream && strcmp(stream, "true") == 0;
    int64_t starting_after = -1;
    if (after) {
        char *end;
        long long v = strtoll(after, &end, 10);
        if (*after == '\0' || *end != '\0' || v < -1) {
            evhttp_clear_headers(&q);
            reply_error(m, x, API_RESPONSES, 400, NULL, "invalid_value", "starting_after",
                        "Invalid 'starting_after': expected a non-negative integer.");
            return;
        }
        starting_after = v;
    }
    evhttp_clear_headers(&q);
    struct wire_tally t;
    gen_tally(g, &t);
    if (!want_stream) {
        char *obj = wire_response_object(&g->w, &t, gen_status(g));
        reply_headers(x, API_RESPONSES, g->w.id, NULL);
        reply_json(x, 200, obj ? obj : "{}");
        free(obj);
        return;
    }
    struct sink *sk = exchange_take_sink(x);
    struct reader *rd = sk ? gen_attach(g, sk, 1, 0) : NULL;
    if (rd == NULL) {
        if (sk != NULL)
            sink_abort(sk); /* the exchange is the sink's now: the peer sees a drop */
        sink_free(sk);
        reply_error(m, x, API_RESPONSES, 500, NULL, NULL, NULL, "out of memory");
        return;
    }
    rd->starting_after = starting_after;
    gen_stream_start(rd);
    char *open = wire_stream_open(&g->w, starting_after);
    if (open)
        sink_write(sk, open, strlen(open), 0);
    free(open);
    /* replay the deltas after the cursor (reasoning, then visible, with the turns between
     * parts), then follow live */
    char ev[WIRE_TOKEN_EVENT_MAX];
    for (uint64_t j = 0; j < t.reasoning; j++) {
        if (wire_seq_reasoning(&g->w, j) <= starting_after)
            continue;
        int n = wire_stream_reasoning(&g->w, j, ev, sizeof ev);
        if (n > 0)
            sink_write(sk, ev, (size_t)n, 0);
    }
    for (uint64_t i = 0; i < t.tokens; i++) {
        if (wire_turn_at(&g->w, i)) {
            char *turn = wire_stream_turn(&g->w, i, starting_after);
            if (turn)
                sink_write(sk, turn, strlen(turn), 0);
            free(turn);
        }
        if (wire_seq_token(&g->w, i) <= starting_after)
            continue;
        int n = wire_stream_token(&g->w, i, ev, sizeof ev);
        if (n > 0)
            sink_write(sk, ev, (size_t)n, 1);
    }
    rd->next_index = t.tokens ? g->rlimit + t.tokens : t.reasoning;
    if (g->terminal) {
        char *tail = wire_stream_close(&g->w, &t, g->final_end, starting_after);
        if (tail)
            sink_write(sk, tail, strlen(tail), 0);
        free(tail);
        gen_stream_end(rd, g->trailer_value);
    }
}

void store_cancel(struct mock *m, struct exchange *x, const char *id)
{
    struct gen *g = store_find(m, id);
    if (g == NULL) {
        not_found_response(m, x, id);
        return;
    }
    if (!g->terminal) {
        uint64_t now = clock_now_ns();
        gen_peer_gone(g, now, LEDGER_CLOSE_CANCEL_API);
        /* The stream ends where the peer can still read it: this is where a vendor can say
         * what it bills. */
        uint64_t bill_r = profile_billed_reasoning(g->prof, 1, g->r_at_close, g->rgenerated);
        uint64_t bill_now = profile_billed_output(g->prof, 1, g->emitted, g->generated) + bill_r;
        int usage_on = g->prof->report == PROFILE_REPORT_USAGE;
        int64_t usage = usage_on ? (int64_t)bill_now : -1;
        /* the trailer tells the bill: emitted tokens plus the reasoning billed with them */
        int64_t trailer =
            g->prof->report == PROFILE_REPORT_TRAILER ? (int64_t)(g->emitted + bill_r) : -1;
        gen_terminate(g, WIRE_END_CANCELLED, usage, usage_on ? (int64_t)bill_r : -1, trailer);
    }
    if (g->trailer_value >= 0) {
        /* the cancel call's own reply is a plain JSON body: it carries the count as a header */
        char v[32];
        snprintf(v, sizeof v, "%lld", (long long)g->trailer_value);
        exchange_add_header(x, MOCK_TRAILER_NAME, v);
    }
    struct wire_tally t;
    gen_tally(g, &t);
    char *obj = wire_response_object(&g->w, &t, gen_status(g));
    reply_headers(x, API_RESPONSES, g->w.id, NULL);
    reply_json(x, 200, obj ? obj : "{}");
    free(obj);
    gen_maybe_finish(g);
}
