/* mockprov's private state, shared by its pieces (server, gen, generate, store, admin, metrics):
 * one loop's mock, its generations ("gen") and the responses following them ("reader", each on a
 * transport's sink, common/sink.h). Not for other components: they use server.h or the API. */
#ifndef MP_MOCK_INTERNAL_H
#define MP_MOCK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <event2/util.h>

#include "engine.h"
#include "fault.h"
#include "httpd.h"
#include "ledger.h"
#include "metrics.h"
#include "profile.h"
#include "request.h"
#include "scope.h"
#include "server.h"
#include "wheel.h"
#include "wire.h"

#define MOCK_TRAILER_NAME "x-emitted-tokens-on-cancel"

struct evbuffer;
struct event;
struct evhttp;
struct evhttp_bound_socket;
struct event_base;

struct gen;

/* One response following a gen: the first stream, a resumed stream, or a JSON body. The sink is
 * its transport (sink.h); the gen neither knows nor asks which one. */
struct reader {
    struct gen *g;
    struct reader *next;
    struct sink *sink;
    int streaming;          /* SSE; else a JSON body at the end */
    int creator;            /* its close cancels the gen */
    int64_t starting_after; /* Responses: replay cursor */
    uint64_t next_index;    /* next step to write: reasoning tokens, then visible ones */
    uint64_t written_noted; /* of the sink's written tokens, those added to the ledger record */
    int reaping;            /* queued for reaping after the peer left */
    struct reader *reap_next;
};

struct gen {
    struct wheel_node timer; /* first member: the wheel hands back this pointer */
    struct mock *m;
    struct gen *prev, *next;   /* all gens */
    struct ledger_record *rec; /* NULL once finished (the ledger may drop it) */
    const struct profile *prof;
    struct request rq;
    struct wire_gen w;
    struct engine eng;
    struct fault fault;
    uint64_t limit; /* visible tokens: min(natural length, cap - rlimit) */
    int limit_is_cap;
    uint64_t rlimit;     /* reasoning tokens before the visible ones: min(planned, cap) */
    uint64_t rgenerated; /* reasoning tokens generated */
    uint64_t r_at_close; /* reasoning tokens generated when the peer left */
    struct engine reng;  /* the reasoning tokens' timing */
    uint64_t generated;
    uint64_t written_max;
    uint64_t t_written_ns;     /* when written_max last grew (close detection) */
    uint64_t next_due_ns;      /* when the pending token timer fires */
    uint64_t delay_ns;         /* the gap before the pending token, by the engine */
    int stalled;               /* the pending token is held back by a stall fault */
    int stopping;              /* peer gone or cancelled: the profile's stop policy runs */
    uint64_t stop_at_n;        /* stop once this many tokens exist (lag in tokens) */
    uint64_t stop_deadline_ns; /* 0: none (lag in ms) */
    int stopped;               /* generation over */
    int cancelled;
    uint64_t emitted; /* billing's "emitted before the cancel" */
    int terminal;     /* the wire's ending is fixed */
    uint64_t final_n;
    enum wire_end final_end;
    int64_t final_usage;
    int64_t final_usage_reasoning;
    uint64_t final_r;
    int64_t trailer_value; /* -1: no trailer */
    int stored;            /* background: kept for retrieve/cancel */
    int finished;          /* ledger record finished */
    int reaping;
    struct reader *readers; /* newest first */
    struct gen *reap_next;
};

struct mock_metrics {
    uint64_t requests[METRICS_APIS]; /* by enum api */
    uint64_t http_errors;
    uint64_t tokens_generated;
    uint64_t reasoning_generated[METRICS_APIS]; /* reasoning tokens, by enum api */
    uint64_t tool_args_generated[METRICS_APIS]; /* tool-call argument tokens, by enum api */
    uint64_t tokens_tail;
    uint64_t closes_fin, closes_rst, closes_cancel, closes_rst_stream, closes_goaway;
    uint64_t billed_output;
    uint64_t bad_requests;
    uint64_t tokens_timed; /* tokens (reasoning too) whose lag behind the timetable was timed */
    uint64_t tokens_late;  /* of those, more than 5 ms late */
    uint64_t burst_max;    /* most tokens one stream generated in one pass of the wheel */
    struct metrics_histogram hist[METRICS_NHIST][METRICS_APIS]; /* by enum api */
};

/* How late the mock ran since the last admin reset: what a run reads per scenario (health).
 * The counts are the /metrics ones less what they were at the reset, so a token is counted
 * once; the most and the slide have no cumulative twin. */
struct mock_lag {
    struct metrics_histogram base; /* every api's METRICS_TOKEN_LAG histogram at the reset */
    uint64_t base_late;            /* mx.tokens_late at the reset */
    uint64_t max_ns, burst_max;
    /* The gaps the profiles asked for, and how far late streams' timetables slid past them:
     * planned / (planned + slid) is the share of the asked rate the mock kept up. */
    uint64_t planned_ns, slid_ns;
};

/* Profiles with per-run overrides. Kept until the mock ends: running generations point at them. */
struct profile_set {
    struct profile p[SCHEDULE_MAX_STEPS];
    struct profile_set *next;
};

#define MOCK_MAX_PROFILE_SETS 4096

struct mock {
    struct event_base *base;
    struct profile_set *sets;
    size_t nsets;
    struct httpd httpd;  /* the guarded server */
    struct evhttp *http; /* httpd.http */
    int port;
    struct ledger *ledger;
    struct mock_config cfg;
    struct schedule sched;
    uint64_t sched_start_ns;
    uint64_t t_start_ns;
    uint64_t nreq;
    struct gen *gens;
    size_t active;
    size_t stored;
    char queued_fault[FAULT_TEXT_MAX];
    uint64_t queued_fault_count;
    struct scope_table scopes; /* settings for correlation-id prefixes (a run's shards) */
    struct event *reap_ev;
    struct event *tick;  /* drives the token wheel while it holds timers */
    uint64_t tick_at_ns; /* when the pending tick fires */
    int in_tick;         /* the tick is running: it schedules itself when done */
    struct mock_lag lag;
    struct event *tick_more; /* the rest of a batch that did not fit one pass */
    struct wheel wheel;
    /* what the tick calls for each due timer (gen_fire): tick.c knows nodes, not gens */
    void (*fire)(struct mock *m, struct wheel_node *n, uint64_t now);
    struct reader *reap_readers;
    struct gen *reap_gens;
    struct evbuffer *scratch;
    struct mock_metrics mx;
};

/* The profile in force now, by the schedule. */
const struct profile *mock_current_profile(struct mock *m);
/* The profile in force now for correlation id 'cid': its scope's schedule when a scope with
 * one covers it, else the mock's. */
const struct profile *mock_profile_for(struct mock *m, const char *cid);
/* Frees closed readers and finished gens on the next loop pass, outside the transport's
 * callbacks. */
void mock_schedule_reap(struct mock *m);

#endif
