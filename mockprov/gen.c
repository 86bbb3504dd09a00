/* A generation ("gen"): one request's tokens on a timer, independent of whether any peer reads;
 * the profile's stop policy once the peer left; the ending (finish, stop, fail, terminate) sent
 * to every reader attached to it. The timers live on the mock's wheel, driven by the tick
 * (tick.c), which hands each due one back through gen_fire.
 * Readers write through a sink (common/sink.h), which reports closes and drains back here. */
#include "gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "mock_internal.h"
#include "bedrock.h"
#include "clock.h"
#include "reply.h"
#include "sink.h"
#include "tick.h"

#define MOCK_CORK_BYTES 8192      /* a late stream's due tokens, gathered into one send */
#define MOCK_LATE_NS (5 * 1000000ull) /* a token this much behind its timetable was late */

static void token_timer_cb(evutil_socket_t fd, short what, void *arg);
static void reasoning_step(struct gen *g, uint64_t now);

void gen_free(struct gen *g)
{
    if (g == NULL)
        return;
    struct reader *r = g->readers;
    while (r) {
        struct reader *n = r->next;
        sink_free(r->sink); /* with a request the peer's close left to us */
        free(r);
        r = n;
    }
    wheel_remove(&g->m->wheel, &g->timer);
    wire_gen_cleanup(&g->w);
    free(g);
}

void gen_unlink(struct gen *g)
{
    struct mock *m = g->m;
    if (g->prev)
        g->prev->next = g->next;
    else
        m->gens = g->next;
    if (g->next)
        g->next->prev = g->prev;
    g->prev = g->next = NULL;
}

static void rec_set_usage(struct gen *g, int64_t usage, const char *via)
{
    if (g->rec == NULL)
        return;
    g->rec->usage_reported = usage;
    g->rec->usage_via = via;
}

/* The ledger record is final once generation stopped and no sink is still flushing. */
void gen_maybe_finish(struct gen *g)
{
    if (!g->stopped || g->finished)
        goto reap;
    for (struct reader *rd = g->readers; rd; rd = rd->next)
        if (sink_state(rd->sink) != SINK_DONE)
            return;
    struct ledger_record *r = g->rec;
    if (r) {
        if (!g->cancelled) {
            int failed = r->stop_reason == LEDGER_STOP_ERROR_FAULT ||
                         r->stop_reason == LEDGER_STOP_TRUNCATE_FAULT;
            /* a provider-side failure is not billed */
            r->billed_reasoning_tokens = failed ? 0 : g->rgenerated;
            r->billed_output_tokens = failed ? 0 : g->generated + g->rgenerated;
        } else {
            r->billed_reasoning_tokens =
                profile_billed_reasoning(g->prof, 1, g->r_at_close, g->rgenerated);
            r->billed_output_tokens = profile_billed_output(g->prof, 1, g->emitted, g->generated) +
                                      r->billed_reasoning_tokens;
        }
        g->m->mx.billed_output += r->billed_output_tokens;
        g->m->mx.tokens_tail += r->tail_tokens;
        ledger_finish(g->m->ledger, r);
        g->rec = NULL;
    }
    g->finished = 1;
    g->m->active--;
reap:
    if (g->finished && !g->stored && !g->reaping) {
        for (struct reader *rd = g->readers; rd; rd = rd->next)
            if (sink_state(rd->sink) != SINK_DONE)
                return;
        g->reaping = 1;
        g->reap_next = g->m->reap_gens;
        g->m->reap_gens = g;
        mock_schedule_reap(g->m);
    }
}

void gen_stop(struct gen *g, enum ledger_stop reason)
{
    if (g->stopped)
        return;
    g->stopped = 1;
    wheel_remove(&g->m->wheel, &g->timer);
    if (g->rec) {
        g->rec->t_gen_stop_ns = clock_now_ns();
        g->rec->stop_reason = reason;
        if (g->cancelled && g->rec->t_peer_closed_ns)
            metrics_observe(&g->m->mx.hist[METRICS_STOP_LAG][g->rq.api], METRICS_STOP_LAG,
                            g->rec->t_gen_stop_ns - g->rec->t_peer_closed_ns);
    }
}

void gen_tally(const struct gen *g, struct wire_tally *t)
{
    t->reasoning = g->terminal ? g->final_r : g->rgenerated;
    t->tokens = g->terminal ? g->final_n : g->generated;
    t->usage = g->terminal ? g->final_usage : -1;
    t->usage_reasoning = g->terminal ? g->final_usage_reasoning : -1;
}

/* The time Ollama's last line reports as its total, from the ledger's clock (the first token's,
 * reasoning or visible, was set when it came). */
static void gen_times(struct gen *g)
{
    if (g->rec == NULL)
        return;
    uint64_t end = g->rec->t_gen_stop_ns ? g->rec->t_gen_stop_ns : clock_now_ns();
    g->w.elapsed_ns = end > g->rec->t_accept_ns ? end - g->rec->t_accept_ns : 0;
}

/* Fixes the wire's ending and sends it to every live reader. */
void gen_terminate(struct gen *g, enum wire_end end, int64_t usage, int64_t usage_reasoning,
                   int64_t trailer)
{
    if (g->terminal)
        return;
    g->terminal = 1;
    g->final_n = g->generated;
    g->final_r = g->rgenerated;
    g->final_end = end;
    g->final_usage = usage;
    g->final_usage_reasoning = usage_reasoning;
    g->trailer_value = trailer;
    if (g->rec) { /* Bedrock's metrics.latencyMs and invocation metrics */
        uint64_t now = clock_now_ns();
        g->w.latency_ms = (now - g->rec->t_accept_ns) / 1000000u;
        if (g->rec->t_first_token_ns != LEDGER_NO_TIME)
            g->w.first_byte_ms = (g->rec->t_first_token_ns - g->rec->t_accept_ns) / 1000000u;
    }
    /* what the wire tells a reader: a chat stream without include_usage carries no usage */
    int optional = g->rq.api == API_CHAT || g->rq.api == API_COMPLETIONS || g->rq.api == API_AZURE;
    int silent = optional && g->rq.stream && !g->rq.include_usage;
    if (usage >= 0 && !silent)
        rec_set_usage(g, usage, "usage");
    else if (trailer >= 0)
        rec_set_usage(g, trailer, "trailer");
    gen_times(g);
    for (struct reader *r = g->readers; r; r = r->next) {
        if (sink_state(r->sink) != SINK_OPEN)
            continue;
        struct wire_tally t;
        gen_tally(g, &t);
        if (r->streaming) {
            if (optional && !g->rq.include_usage)
                t.usage = -1;
            char *tail = wire_stream_close(&g->w, &t, end, r->starting_after);
            if (tail)
                gen_write(r, tail, strlen(tail), 0);
            free(tail);
            gen_stream_end(r, trailer);
        } else {
            char *body = wire_body(&g->w, &t, end);
            reply_sink_headers(r->sink, g->rq.api, g->rec ? g->rec->request_id : g->w.id,
                               "application/json");
            reply_sink_json(r->sink, 200, body ? body : "{}");
            free(body);
        }
    }
}

/* A natural end or the request's cap. */
static void gen_complete(struct gen *g)
{
    enum ledger_stop why = g->limit_is_cap ? LEDGER_STOP_MAX_TOKENS : LEDGER_STOP_NATURAL;
    gen_stop(g, why);
    if (!g->cancelled)
        gen_terminate(g, g->limit_is_cap ? WIRE_END_LENGTH : WIRE_END_STOP,
                      (int64_t)(g->generated + g->rgenerated), (int64_t)g->rgenerated, -1);
    gen_maybe_finish(g);
}

static void gen_fail(struct gen *g, enum ledger_stop why)
{
    gen_stop(g, why);
    g->terminal = 1;
    g->final_n = g->generated;
    g->final_r = g->rgenerated;
    for (struct reader *r = g->readers; r; r = r->next) {
        if (sink_state(r->sink) != SINK_OPEN)
            continue;
        if (why == LEDGER_STOP_TRUNCATE_FAULT && r->streaming) {
            /* no terminal event and no last chunk: the connection just ends (Connection: close) */
            sink_cut(r->sink);
        } else if (why == LEDGER_STOP_TRUNCATE_FAULT) {
            /* nothing was sent: drop the connection */
            sink_abort(r->sink);
        } else if (r->streaming) {
            char *e = wire_stream_error(&g->w, g->generated);
            if (e)
                gen_write(r, e, strlen(e), 0);
            free(e);
            gen_stream_end(r, -1);
        } else {
            char *body = wire_error_body(g->rq.api, 500, NULL, NULL, NULL,
                                         "The server had an error while processing your "
                                         "request.",
                                         g->w.id);
            sink_header(r->sink, "Content-Type", "application/json");
            if (g->rq.api == API_BEDROCK || g->rq.api == API_BEDROCK_INVOKE)
                sink_header(r->sink, "x-amzn-errortype", wire_error_type(g->rq.api, 500));
            reply_sink_json(r->sink, 500, body ? body : "{}");
            free(body);
        }
    }
    gen_maybe_finish(g);
}

/* Arms the timer for an absolute time (a stopping stream's deadline at the latest). */
static void gen_arm_at(struct gen *g, uint64_t due_ns)
{
    if (g->stopping && g->stop_deadline_ns && due_ns > g->stop_deadline_ns)
        due_ns = g->stop_deadline_ns;
    g->next_due_ns = due_ns;
    tick_arm(g->m, &g->timer, due_ns);
}

/* Records how late a token came: now - the time its timetable set. */
static void note_lag(struct gen *g, uint64_t now)
{
    struct mock *m = g->m;
    uint64_t due = g->next_due_ns;
    uint64_t lag = now > due ? now - due : 0;
    metrics_observe(&m->mx.hist[METRICS_TOKEN_LAG][g->rq.api], METRICS_TOKEN_LAG, lag);
    m->mx.tokens_timed++;
    if (lag > MOCK_LATE_NS)
        m->mx.tokens_late++;
    if (lag > m->lag.max_ns)
        m->lag.max_ns = lag;
}

/* Fires one stream's due tokens in this pass: the first, then (a stream faster than a wheel
 * slot has several due per slot) as many more as its own rate puts in a slot, plus max_burst.
 * A stream that is late never gets more than that: its timetable slid in gen_arm. */
void gen_fire(struct mock *m, struct wheel_node *n, uint64_t now)
{
    struct gen *g = (struct gen *)n; /* the timer is its first member */
    uint64_t cap = m->cfg.max_burst;
    if (g->delay_ns > 0 && g->delay_ns < MOCK_TICK_NS)
        cap += MOCK_TICK_NS / g->delay_ns;
    uint64_t k = 1;
    /* the tokens due together leave together: one send, not a system call each */
    char cork[MOCK_CORK_BYTES];
    struct sink *sk = g->readers && g->readers->streaming ? g->readers->sink : NULL;
    if (sk && cap > 1)
        sink_cork(sk, cork, sizeof cork);
    token_timer_cb(-1, EV_TIMEOUT, g);
    while (k < cap && g->timer.armed && g->timer.due_ns <= now) {
        wheel_remove(&m->wheel, &g->timer);
        token_timer_cb(-1, EV_TIMEOUT, g);
        k++;
    }
    if (sk)
        sink_uncork(sk);
    if (k > m->mx.burst_max)
        m->mx.burst_max = k;
    if (k > m->lag.burst_max)
        m->lag.burst_max = k;
}

/* Token i is due 'delay_ns' after token i-1 was due (after the accept for token 0), so the
 * time spent in our own callbacks never stretches the gaps. A mock that fell behind does not
 * catch up in a burst, as a fixed timetable would: the base never lies further back than
 * max_burst gaps (or lag_slack_ns, for gaps shorter than a tick), so a late stream's timetable
 * slides and its tokens come at their pace, later, as a loaded vendor's do. */
void gen_arm(struct gen *g, uint64_t delay_ns, uint64_t now)
{
    const struct mock_config *c = &g->m->cfg;
    uint64_t base = g->next_due_ns ? g->next_due_ns : (g->rec ? g->rec->t_accept_ns : 0);
    if (base == 0)
        base = now;
    uint64_t window = c->max_burst * delay_ns;
    if (window < c->lag_slack_ns)
        window = c->lag_slack_ns;
    if (now > window && base < now - window) {
        g->m->lag.slid_ns += now - window - base;
        base = now - window;
    }
    g->m->lag.planned_ns += delay_ns;
    g->delay_ns = delay_ns;
    gen_arm_at(g, base + delay_ns);
}

/* The peer left (FIN/RST), or the cancel API was called: the profile decides what happens. */
void gen_peer_gone(struct gen *g, uint64_t now, enum ledger_close kind)
{
    struct mock *m = g->m;
    if (!g->cancelled) {
        /* what the mock can time of the gateway's reaction: it never sees the client leave */
        uint64_t from = g->t_written_ns ? g->t_written_ns : g->rec ? g->rec->t_accept_ns : now;
        metrics_observe(&m->mx.hist[METRICS_CLOSE_DETECT][g->rq.api], METRICS_CLOSE_DETECT,
                        now > from ? now - from : 0);
    }
    g->cancelled = 1;
    if (g->rec) {
        g->rec->t_peer_closed_ns = now;
        g->rec->close_kind = kind;
    }
    if (kind == LEDGER_CLOSE_FIN)
        m->mx.closes_fin++;
    else if (kind == LEDGER_CLOSE_RST)
        m->mx.closes_rst++;
    else if (kind == LEDGER_CLOSE_RST_STREAM)
        m->mx.closes_rst_stream++;
    else if (kind == LEDGER_CLOSE_GOAWAY)
        m->mx.closes_goaway++;
    else
        m->mx.closes_cancel++;
    g->emitted = kind == LEDGER_CLOSE_CANCEL_API ? g->generated : g->written_max;
    g->r_at_close = g->rgenerated;
    if (g->rec)
        g->rec->reasoning_at_close = g->rgenerated;
    if (g->stopped)
        return;
    enum ledger_stop why =
        kind == LEDGER_CLOSE_CANCEL_API ? LEDGER_STOP_CANCEL : LEDGER_STOP_DISCONNECT;
    if (g->prof->on_disconnect == PROFILE_CONTINUE)
        return; /* the runaway vendor: generation goes on to the natural end */
    g->stopping = 1;
    /* the lag counts reasoning tokens too: the engine steps through both alike */
    g->stop_at_n =
        g->prof->stop_lag_tokens ? g->generated + g->rgenerated + g->prof->stop_lag_tokens : 0;
    g->stop_deadline_ns = g->prof->stop_lag_ms ? now + g->prof->stop_lag_ms * 1000000ull : 0;
    /* a lag counted in tokens is the engine noticing at its next step; a stalled engine is
     * not stepping, so it notices now */
    if ((g->stop_at_n == 0 || g->stalled) && g->stop_deadline_ns == 0) {
        gen_stop(g, why);
        return;
    }
    if (g->stop_deadline_ns && g->timer.armed && g->next_due_ns > g->stop_deadline_ns) {
        /* e.g. mid-stall: stop at the deadline, not at the next token */
        gen_arm_at(g, g->stop_deadline_ns);
    }
}

static void token_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct gen *g = arg;
    uint64_t now = clock_now_ns();
    enum ledger_stop stop_why = g->rec && g->rec->close_kind == LEDGER_CLOSE_CANCEL_API
                                    ? LEDGER_STOP_CANCEL
                                    : LEDGER_STOP_DISCONNECT;
    if (g->stopping && g->stop_deadline_ns && now >= g->stop_deadline_ns) {
        gen_stop(g, stop_why);
        gen_maybe_finish(g);
        return;
    }
    if (g->rgenerated < g->rlimit) {
        reasoning_step(g, now);
        return;
    }
    uint64_t i = g->generated;
    note_lag(g, now);
    if (g->rec && ledger_add_token(g->rec, now) != 0) {
        gen_fail(g, LEDGER_STOP_ERROR_FAULT);
        return;
    }
    g->generated++;
    g->m->mx.tokens_generated++;
    if (g->w.shape.tool_call && i >= g->w.shape.tool_text)
        g->m->mx.tool_args_generated[g->rq.api]++;
    if (i == 0 && g->rec && g->rlimit == 0) {
        metrics_observe(&g->m->mx.hist[METRICS_TTFT][g->rq.api], METRICS_TTFT,
                        now - g->rec->t_accept_ns);
        g->w.ttft_ns = now - g->rec->t_accept_ns;
    }
    if (!g->terminal) {
        char ev[WIRE_TOKEN_EVENT_MAX];
        int n = wire_stream_token(&g->w, i, ev, sizeof ev);
        int turn = wire_turn_at(&g->w, i);
        uint64_t step = g->rlimit + i;
        /* Gemini's held call: nothing until its last token, then the whole functionCall chunk
         * carrying every argument token (counted written once it has left) */
        int held = wire_held(&g->w, i);
        char *call = held ? wire_stream_call(&g->w, i) : NULL;
        for (struct reader *r = g->readers; r && held; r = r->next) {
            if (r->streaming && r->next_index == step && sink_state(r->sink) == SINK_OPEN) {
                if (call)
                    gen_write(r, call, strlen(call), (int)wire_call_tokens(&g->w, i));
                r->next_index = step + 1;
            }
        }
        free(call);
        for (struct reader *r = g->readers; r && !held && n > 0; r = r->next) {
            if (r->streaming && r->next_index == step && sink_state(r->sink) == SINK_OPEN) {
                if (turn) {
                    /* the part before it closes and this token's part opens */
                    char *t = wire_stream_turn(&g->w, i, r->starting_after);
                    if (t)
                        gen_write(r, t, strlen(t), 0);
                    free(t);
                }
                /* a reader that resumed ahead of generation skips what it already has */
                if (wire_seq_token(&g->w, i) > r->starting_after)
                    gen_write(r, ev, (size_t)n, 1);
                r->next_index = step + 1;
            }
        }
    }
    if (g->generated >= g->limit) {
        gen_complete(g);
        return;
    }
    if (!g->cancelled && g->fault.error_after >= 0 &&
        g->generated >= (uint64_t)g->fault.error_after) {
        gen_fail(g, LEDGER_STOP_ERROR_FAULT);
        return;
    }
    if (!g->cancelled && g->fault.truncate_after >= 0 &&
        g->generated >= (uint64_t)g->fault.truncate_after) {
        gen_fail(g, LEDGER_STOP_TRUNCATE_FAULT);
        return;
    }
    if (g->stopping && g->stop_at_n && g->generated + g->rgenerated >= g->stop_at_n) {
        gen_stop(g, stop_why);
        gen_maybe_finish(g);
        return;
    }
    uint64_t delay = engine_next_delay_ns(&g->eng, g->rlimit ? g->generated + 1 : g->generated);
    if (g->fault.stall_after >= 0 && g->generated == (uint64_t)g->fault.stall_after) {
        delay += (uint64_t)g->fault.stall_ms * 1000000ull;
        g->stalled = 1;
    } else {
        g->stalled = 0;
    }
    gen_arm(g, delay, now);
}

/* One reasoning token: timed and recorded like a visible one, written only where the API
 * shows reasoning, and not counted as written (billing's "emitted" is visible tokens). */
static void reasoning_step(struct gen *g, uint64_t now)
{
    enum ledger_stop stop_why = g->rec && g->rec->close_kind == LEDGER_CLOSE_CANCEL_API
                                    ? LEDGER_STOP_CANCEL
                                    : LEDGER_STOP_DISCONNECT;
    uint64_t j = g->rgenerated;
    note_lag(g, now);
    if (g->rec && ledger_add_reasoning(g->rec, now) != 0) {
        gen_fail(g, LEDGER_STOP_ERROR_FAULT);
        return;
    }
    g->rgenerated++;
    g->m->mx.reasoning_generated[g->rq.api]++;
    if (j == 0 && g->rec) {
        metrics_observe(&g->m->mx.hist[METRICS_TTFT][g->rq.api], METRICS_TTFT,
                        now - g->rec->t_accept_ns);
        g->w.ttft_ns = now - g->rec->t_accept_ns; /* thinking is evaluation too */
    }
    if (!g->terminal) {
        char ev[WIRE_TOKEN_EVENT_MAX];
        int n = wire_stream_reasoning(&g->w, j, ev, sizeof ev);
        for (struct reader *r = g->readers; r && n >= 0; r = r->next) {
            if (r->streaming && r->next_index == j && sink_state(r->sink) == SINK_OPEN) {
                if (n > 0 && wire_seq_reasoning(&g->w, j) > r->starting_after)
                    gen_write(r, ev, (size_t)n, 0);
                r->next_index = j + 1;
            }
        }
    }
    if (g->rgenerated >= g->rlimit && g->limit == 0) {
        gen_complete(g); /* the cap came within the reasoning */
        return;
    }
    if (g->stopping && g->stop_at_n && g->generated + g->rgenerated >= g->stop_at_n) {
        gen_stop(g, stop_why);
        gen_maybe_finish(g);
        return;
    }
    uint64_t delay = g->rgenerated < g->rlimit ? engine_next_delay_ns(&g->reng, g->rgenerated)
                                               : engine_next_delay_ns(&g->eng, 1);
    g->stalled = 0;
    gen_arm(g, delay, now);
}

const char *gen_status(const struct gen *g)
{
    if (!g->terminal)
        return g->generated ? "in_progress" : "queued";
    if (g->final_end == WIRE_END_CANCELLED)
        return "cancelled";
    return g->final_end == WIRE_END_LENGTH ? "incomplete" : "completed";
}

/* ---- readers: the sink's callbacks ------------------------------------------------------- */

/* Publishes the reader's written count to its generation and ledger record. The record adds up
 * every reader's tokens: a background response's first stream and each stream that resumed it
 * wrote their own (the largest one alone undercounted a resumed response). */
static void reader_drain_cb(struct sink *sk, void *arg)
{
    struct reader *r = arg;
    struct gen *g = r->g;
    uint64_t written = sink_marks_done(sk);
    if (written > g->written_max) {
        g->written_max = written;
        g->t_written_ns = clock_now_ns();
    }
    if (g->rec && written > r->written_noted)
        g->rec->written_tokens += written - r->written_noted;
    r->written_noted = written;
}

static void reader_complete_cb(struct sink *sk, void *arg)
{
    (void)sk;
    struct reader *r = arg;
    gen_maybe_finish(r->g);
}

static enum ledger_close ledger_kind(enum sink_close kind)
{
    switch (kind) {
    case SINK_CLOSE_FIN:
        return LEDGER_CLOSE_FIN;
    case SINK_CLOSE_RST:
        return LEDGER_CLOSE_RST;
    case SINK_CLOSE_RST_STREAM:
        return LEDGER_CLOSE_RST_STREAM;
    case SINK_CLOSE_GOAWAY:
        return LEDGER_CLOSE_GOAWAY;
    }
    return LEDGER_CLOSE_RST;
}

/* From inside the transport's teardown: record, then defer every free. */
static void reader_close_cb(struct sink *sk, enum sink_close kind, uint32_t code, void *arg)
{
    (void)sk;
    struct reader *r = arg;
    struct gen *g = r->g;
    struct mock *m = g->m;
    uint64_t now = clock_now_ns();
    enum ledger_close lk = ledger_kind(kind);
    int has_code = kind == SINK_CLOSE_RST_STREAM || kind == SINK_CLOSE_GOAWAY;
    if (!r->reaping) {
        r->reaping = 1;
        r->reap_next = m->reap_readers;
        m->reap_readers = r;
        mock_schedule_reap(m);
    }
    if (r->creator && !g->cancelled) {
        gen_peer_gone(g, now, lk);
        if (g->rec && has_code)
            g->rec->close_code = code;
    } else if (r->streaming && g->rq.background && !g->cancelled && g->rec &&
               g->rec->t_peer_closed_ns == LEDGER_NO_TIME) {
        /* a background response's stream dropped: generation goes on for a later resume (or
         * cancel), but the record keeps the first close, as it does for any other stream */
        g->rec->t_peer_closed_ns = now;
        g->rec->close_kind = lk;
        if (has_code)
            g->rec->close_code = code;
    }
    gen_maybe_finish(g);
}

struct reader *gen_attach(struct gen *g, struct sink *sk, int streaming, int creator)
{
    struct reader *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->g = g;
    r->sink = sk;
    r->streaming = streaming;
    r->creator = creator;
    r->starting_after = -1;
    r->next = g->readers;
    g->readers = r;
    const struct sink_callbacks cbs = {reader_drain_cb, reader_close_cb, reader_complete_cb, r};
    sink_set_callbacks(sk, &cbs);
    return r;
}

void gen_stream_start(struct reader *r)
{
    const struct gen *g = r->g;
    struct sink *sk = r->sink;
    reply_sink_headers(sk, g->rq.api, g->rec ? g->rec->request_id : g->w.id,
                       wire_stream_content_type(&g->w));
    sink_header(sk, "Cache-Control", "no-cache");
    if (g->rq.api == API_GEMINI && !g->rq.json_stream)
        sink_header(sk, "Content-Disposition", "attachment"); /* as Google sends it */
    if (g->prof->report == PROFILE_REPORT_TRAILER)
        sink_header(sk, "Trailer", MOCK_TRAILER_NAME);
    if (g->fault.truncate_after >= 0)
        sink_header(sk, "Connection", "close"); /* so ending early really drops the link */
    sink_start(sk, 200);
}

void gen_write(struct reader *r, const char *text, size_t len, int mark)
{
    const struct gen *g = r->g;
    if (g->w.framing == WIRE_FRAMING_SSE) {
        sink_write(r->sink, text, len, mark);
        return;
    }
    char *bin;
    size_t blen;
    if (bedrock_frame(&g->w, text, len, &bin, &blen) != 0) {
        sink_abort(r->sink);
        return;
    }
    sink_write(r->sink, bin, blen, mark);
    free(bin);
}

void gen_stream_end(struct reader *r, int64_t trailer)
{
    char v[32];
    if (trailer >= 0) {
        snprintf(v, sizeof v, "%lld", (long long)trailer);
        sink_end(r->sink, MOCK_TRAILER_NAME, v);
    } else {
        sink_end(r->sink, NULL, NULL);
    }
}

/* A reader whose peer left has nothing more to do: it leaves its gen's list. */
void gen_reap_readers(struct mock *m)
{
    while (m->reap_readers) {
        struct reader *r = m->reap_readers;
        m->reap_readers = r->reap_next;
        struct reader **pp = &r->g->readers;
        while (*pp && *pp != r) /* linear: a gen has a handful of readers */
            pp = &(*pp)->next;
        if (*pp)
            *pp = r->next;
        sink_free(r->sink);
        free(r);
    }
}
