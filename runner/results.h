/* What a run measured: per request (both sides joined), per scenario (distributions, scalars,
 * gate verdicts) and per run. The report writers read these. */
#ifndef RUNNER_RESULTS_H
#define RUNNER_RESULTS_H

#include <stddef.h>
#include <stdint.h>

#include "gate.h"
#include "scenario.h"
#include "stats.h"

/* Same order as the names in metric.c. */
enum metric_sample {
    M_TAIL_TOKENS,
    M_CLOSE_LAG_MS,
    M_STOP_LAG_MS,
    M_DELIVERED_TOKENS,
    M_GENERATED_TOKENS,
    M_BILLED_OUTPUT_TOKENS,
    M_USAGE_REPORTED,
    M_UPSTREAM_ATTEMPTS,
    M_RID_PROPAGATED,
    M_ORPHANED,
    M_TTFT_MS,
    M_DELIVERY_MS,        /* per token: the mock's write -> the client's read (per request: p50) */
    M_TOKENS_PER_ARRIVAL, /* tokens / reads that brought any: >1 when a gateway batches */
    M_UPSTREAM_IDLE_MS,   /* a user who stayed: the upstream's longest silence while open */
    M_TASK_TAIL_TOKENS,   /* an agent task left: its requests' tails added up (taskmetrics.c) */
    M_TASK_CLOSE_LAG_MS,  /* an agent task left: the slowest of its requests to stop */
    M_REASONING_TAIL_TOKENS, /* the reasoning tokens of tail_tokens (a model thinking on) */
    M_RETRIES_FOR_NOBODY, /* upstream attempts begun while no client attempt was open */
    M_N_SAMPLE,
};

enum metric_scalar {
    S_PTDR,
    S_WASTED_TOKENS,
    S_WASTED_COST_USD,
    S_MONTHLY_WASTED_USD,
    S_BILLING_VARIANCE_PCT,
    S_ORPHAN_RATE,
    S_ERROR_RATE, /* attempts that did not end as their plan said / attempts */
    S_N_SCALAR,
};

/* One user request: the chaos client's attempts joined with mockprov's upstream records. */
struct req_result {
    char cid[96];
    const char *action;
    const char *end;      /* the first attempt's end, as the client saw it */
    long http_status;
    int aborted;          /* the user acted (t_abort) */
    int failed;           /* the gateway failed the user (an error end) before any action */
    double t_ref_ns;      /* the tail's reference: t_abort, or for a failed request its t_end */
    uint32_t errors;      /* attempts that ended in an error */
    uint32_t arrivals;    /* reads that brought tokens, first attempt */
    double *delivery_ms;  /* per delivered token of the first attempt, mock write -> client read */
    size_t ndelivery;
    uint32_t client_attempts;
    double t_send_ns, t_abort_ns, t_first_byte_ns; /* client clock */
    double delivered, total;
    double sample[M_N_SAMPLE]; /* NAN where the metric does not apply */
    double usage_value;   /* what usage said, NAN when absent */
    double metered;       /* what the gateway's metering said, NAN when absent */
    char close_kind[16];  /* first upstream close seen by the mock */
    const char *end_reason; /* endreason.h's name: who or what ended the request */
    char stop_reason[24]; /* last upstream record's */
    char profile[64];     /* the vendor profile that answered the first upstream attempt */
    uint32_t index;       /* the user request's number (retries and follow-ups share it) */
    int user;             /* which of the scenario's users[] made it (the seeded plan), -1 unknown */
    /* token counter around the abort, for charts (sample requests only): when each token was
     * generated (mock) and delivered (client), in ms relative to the abort */
    double *gen_ms, *del_ms;
    size_t ngen, ndel;
};

#define RESULTS_ERROR_KINDS 16 /* distinct error kinds listed per scenario; the rest is "other" */

/* Attempts that did not end as their plan said, by kind: "http_500", "truncated", "timeout",
 * "connection". */
struct error_kind {
    char kind[24];
    uint64_t count;
};

#define BILLING_MAX_BUCKETS 600     /* 1-s buckets */
#define BILLING_MAX_DISAGREEMENTS 50 /* listed; all are counted */

struct billing_bucket {
    double invoice, wire, metered;
};

struct disagreement {
    char cid[96];
    double billed, metered;
};

/* Invoice (mockprov) against what the wire told the gateway and what the gateway metered. */
struct billing {
    int metered;           /* the gateway has a metering output */
    double variance_pct;   /* (invoice - metered) / invoice, over the whole scenario */
    double variance_before_pct, variance_after_pct; /* split at the first profile switch */
    double switches_s[16];
    size_t nswitches;
    struct billing_bucket buckets[BILLING_MAX_BUCKETS];
    size_t nbuckets;
    struct disagreement dis[BILLING_MAX_DISAGREEMENTS];
    size_t ndis, ndis_total;
};

struct gate_result {
    const struct gate *gate;
    double observed;
    int pass;
    size_t samples;
};

struct scenario_result {
    struct scenario *sc;
    uint64_t seed;        /* the scenario's: with a request's index it says which user made it */
    struct req_result *reqs;
    size_t nreqs;
    struct stats m[M_N_SAMPLE];
    double scalar[S_N_SCALAR];
    struct gate_result gates[SCENARIO_MAX_GATES];
    size_t ngates;
    int pass;
    double duration_s;
    char started_utc[32]; /* when the scenario began, "YYYY-MM-DDTHH:MM:SSZ" */
    double traffic_s;     /* from the first send to the last client record */
    double schedule_lead_s; /* profile schedule start to the first send */
    uint64_t client_errors, http_errors;
    uint64_t attempts;      /* client attempts in all */
    uint64_t error_attempts;
    struct error_kind errs[RESULTS_ERROR_KINDS];
    uint64_t end_reasons[8]; /* requests by enum end_reason (endreason.h; 6 of them) */
    size_t nerrs;
    int errors_gated;       /* the scenario gates error_rate itself */
    uint64_t isolate_timeouts; /* isolate: waits for an idle mock that ran out */
    double price_in, price_out;
    char profile[64];
    uint64_t ledger_dropped;
    /* How late the mock ran (its /_tailgate/health token_lag, since this scenario's reset); NAN
     * when the mock did not say (an older one). */
    double mock_lag_p99_ms;
    double mock_late_share; /* of its tokens, the share more than 5 ms late */
    double mock_tokens_timed;
    double mock_rate_share; /* of the token rate the profiles asked, the share the mock kept */
    struct billing billing;
    char error[256];      /* could not judge (environment): why; the verdict is "error" */
    char fail_reason[512]; /* failed beyond its gates (unexpected errors): why */
    /* our clock: the settle window's end (what was still running then is an orphan), the
     * first send and the last client record; a merge of shards rejoins with them (shard.h) */
    double settle_end_ns, first_send_ns, last_end_ns;
    uint32_t workers;       /* client worker processes the scenario ran with (1: in-process) */
    char workers_note[128]; /* why fewer than --workers asked for, or "" */
};

struct run_result {
    char gateway[64];
    int direct;
    uint64_t seed;
    double clock_offset_ns, clock_uncertainty_ns;
    char started_utc[32];
    char version[16];
    char suite[64];
    struct scenario_result *sr;
    size_t n;
    int pass;
    double total_s;
    const char *floor_dir; /* a --direct run to report beside this one, or NULL */
    char env_error[512];   /* the run could not judge (environment failure): what failed */
    char env_kind[16];     /* with env_error: "environment" (exit 3) or "usage" (exit 2) */
    char hostname[64];     /* where the run ran (junit.xml); "" reads as localhost */
    const char *not_run[SCENARIO_MAX_PER_RUN]; /* did not run because of it (names) */
    size_t nnot_run;
    int via_proxies;       /* every leg went through the chaos proxies (--via-proxies) */
    /* "aborted: gate M E failed in scenario S" when an abortOnFail gate stopped the run ("" when
     * none did): the scenarios in not_run did not run for that reason, not an environment
     * failure; the verdict is "fail" and the exit code 1 */
    char aborted[320];
};

/* "pass", "fail" or "error" (could not judge). */
const char *results_verdict(int pass, const char *error);
/* "2 x http_500, 1 x truncated" into out ("" when there were none). */
void results_error_text(const struct scenario_result *res, char *out, size_t len);
/* Frees what a scenario's result holds (its samples and requests), not the struct itself. */
void results_scenario_free(struct scenario_result *res);
/* Frees every scenario's result and the array of them. */
void results_free(struct run_result *rr);

/* The version of results.json's format (docs/results.schema.json): MAJOR.MINOR.PATCH; a field
 * added bumps MINOR, a field removed, renamed or retyped bumps MAJOR. */
#define RESULTS_SCHEMA_VERSION "1.2.0"
#define RESULTS_SCHEMA_MAJOR 1

/* Writes results.json, junit.xml, summary.md into dir. Returns 0, or -1 with err. */
int report_write_run(const char *dir, const struct run_result *r, char *err, size_t errlen);
/* The summary table as markdown; malloc'd, NULL on OOM. */
char *report_summary_md(const struct run_result *r);
/* One figure as summary.md writes it everywhere: "194.1", "1.69", "0.004", "3"; "–" for none. */
void report_summary_figure(char *out, size_t len, double v);

#endif
