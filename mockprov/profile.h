/* Vendor profiles: what an emulated vendor does when the peer goes away, what it bills for a
 * cancelled stream, and how a gateway could learn that bill. Plus schedules that switch
 * profiles over time to replay a billing change. */
#ifndef MP_PROFILE_H
#define MP_PROFILE_H

#include <stddef.h>
#include <stdint.h>

enum profile_disconnect {
    PROFILE_STOP,     /* stop after stop_lag_tokens tokens or stop_lag_ms ms */
    PROFILE_CONTINUE, /* keep generating to the natural end */
};

enum profile_bill {
    PROFILE_BILL_ZERO,      /* cancelled streams bill no output */
    PROFILE_BILL_EMITTED,   /* tokens written to the peer before the cancel */
    PROFILE_BILL_GENERATED, /* everything generated, tail included */
};

enum profile_report {
    PROFILE_REPORT_USAGE,   /* terminal usage chunk/event, when the peer can still read it */
    PROFILE_REPORT_TRAILER, /* x-emitted-tokens-on-cancel HTTP trailer */
    PROFILE_REPORT_NONE,    /* only the invoice knows */
};

/* How reasoning done before a cancel is billed (reasoning tokens are output tokens). */
enum profile_reasoning_bill {
    PROFILE_RBILL_ZERO,      /* none of it */
    PROFILE_RBILL_DONE,      /* the reasoning generated before the cancel, like output so far */
    PROFILE_RBILL_GENERATED, /* all reasoning generated, what came after the cancel included */
};

struct profile {
    const char *name;
    const char *summary;
    enum profile_disconnect on_disconnect;
    uint32_t stop_lag_tokens;
    uint32_t stop_lag_ms;
    enum profile_bill bill;
    enum profile_report report;
    uint32_t ttft_ms;
    double tps;
    double jitter;
    uint32_t natural_length;
    double price_in_per_mtok;  /* USD per million input tokens */
    double price_out_per_mtok; /* USD per million output tokens */
    enum profile_reasoning_bill reasoning_bill;
    /* A reasoning model: reasoning_tokens generated at reasoning_tps (0: tps) before the visible
     * ones; chat shows them as delta.reasoning_content when reasoning_content is set. */
    uint32_t reasoning_tokens;
    double reasoning_tps;
    int reasoning_content;
    /* Tool calls: tool_text_tokens of text, then the rest of the visible tokens as one tool
     * call's arguments. */
    int tool_call;
    uint32_t tool_text_tokens;
};

#define PROFILE_DEFAULT "vendor-b-post"

/* Preset by name, or NULL. */
const struct profile *profile_find(const char *name);
size_t profile_count(void);
/* Preset i < profile_count(). */
const struct profile *profile_at(size_t i);

const char *profile_disconnect_name(enum profile_disconnect d);
const char *profile_bill_name(enum profile_bill b);
const char *profile_report_name(enum profile_report r);
const char *profile_reasoning_bill_name(enum profile_reasoning_bill b);

/* Billed output tokens for a generation that ended with the peer gone ('cancelled' != 0) or
 * naturally. 'emitted' = tokens written before the cancel, 'generated' = all tokens. */
uint64_t profile_billed_output(const struct profile *p, int cancelled, uint64_t emitted,
                               uint64_t generated);

/* Billed reasoning tokens ('cancelled' as above): 'before' = reasoning tokens generated when the
 * peer left, 'generated' = all of them. */
uint64_t profile_billed_reasoning(const struct profile *p, int cancelled, uint64_t before,
                                  uint64_t generated);

#define SCHEDULE_MAX_STEPS 16

struct schedule_step {
    uint64_t at_ms;
    const struct profile *profile;
};

struct schedule {
    size_t n;
    struct schedule_step steps[SCHEDULE_MAX_STEPS];
};

/* Parses "0s:NAME,30s:NAME2" (units ms, s, m; a bare number is seconds). Steps must be in
 * increasing order and the first must be at 0. Returns 0, or -1 with err filled; 'out' is
 * untouched on failure. */
int schedule_parse(const char *spec, struct schedule *out, char *err, size_t errlen);

/* Profile in force 'elapsed_ms' after the schedule's start. */
const struct profile *schedule_at(const struct schedule *s, uint64_t elapsed_ms);

#endif
