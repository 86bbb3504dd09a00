/* Tests for mockprov/profile: one row per vendor preset, the cancel-billing rule, and schedule
 * parsing. */
#include <string.h>

#include "check.h"
#include "profile.h"

/* ---- presets: the same facts `./tailgate profiles` lists ---------------------------------- */

static const struct {
    const char *name;
    const char *disconnect;
    uint32_t lag_tokens;
    uint32_t lag_ms;
    const char *bill;
    const char *report;
} preset_rows[] = {
    {"vendor-a-pre", "stop", 1, 0, "zero", "usage"},
    {"vendor-a-post", "stop", 1, 0, "emitted", "trailer"},
    {"vendor-b-pre", "stop", 1, 0, "zero", "usage"},
    {"vendor-b-post", "stop", 1, 0, "emitted", "usage"},
    {"silent-emitted", "stop", 1, 0, "emitted", "none"},
    {"runaway", "continue", 0, 0, "generated", "none"},
    {"selfhosted-abort", "stop", 1, 0, "generated", "none"},
    {"selfhosted-lag", "stop", 0, 2000, "generated", "none"},
    {"stop-at-once", "stop", 0, 0, "emitted", "usage"},
};

#define N_PRESET_ROWS (sizeof preset_rows / sizeof preset_rows[0])

static void profile_should_have_one_row_per_preset(void)
{
    CHECK_EQ_INT(profile_count(), N_PRESET_ROWS);
    CHECK(profile_at(N_PRESET_ROWS) == NULL);
    for (size_t i = 0; i < N_PRESET_ROWS; i++) {
        const struct profile *p = profile_at(i);
        CHECK(p != NULL);
        CHECK_EQ_STR(p->name, preset_rows[i].name);
    }
}

/* Row i against preset i; CHECK returns from here, and check_failed marks the calling case. */
static void check_preset_row(size_t i)
{
    const struct profile *p = profile_at(i);
    CHECK(p != NULL);
    CHECK_EQ_STR(p->name, preset_rows[i].name);
    CHECK_EQ_STR(profile_disconnect_name(p->on_disconnect), preset_rows[i].disconnect);
    CHECK_EQ_INT(p->stop_lag_tokens, preset_rows[i].lag_tokens);
    CHECK_EQ_INT(p->stop_lag_ms, preset_rows[i].lag_ms);
    CHECK_EQ_STR(profile_bill_name(p->bill), preset_rows[i].bill);
    CHECK_EQ_STR(profile_report_name(p->report), preset_rows[i].report);
}

/* One named case per preset, so a changed contract shows as the preset's own FAIL line. */
static void profile_vendor_a_pre_should_stop_bill_zero_report_usage(void)
{
    check_preset_row(0);
}

static void profile_vendor_a_post_should_stop_bill_emitted_report_trailer(void)
{
    check_preset_row(1);
}

static void profile_vendor_b_pre_should_stop_bill_zero_report_usage(void)
{
    check_preset_row(2);
}

static void profile_vendor_b_post_should_stop_bill_emitted_report_usage(void)
{
    check_preset_row(3);
}

static void profile_silent_emitted_should_stop_bill_emitted_report_none(void)
{
    check_preset_row(4);
}

static void profile_runaway_should_continue_bill_generated_report_none(void)
{
    check_preset_row(5);
}

static void profile_selfhosted_abort_should_stop_bill_generated_report_none(void)
{
    check_preset_row(6);
}

static void profile_selfhosted_lag_should_stop_after_2000ms_bill_generated(void)
{
    check_preset_row(7);
}

static void profile_should_be_found_by_name(void)
{
    for (size_t i = 0; i < N_PRESET_ROWS; i++)
        CHECK(profile_find(preset_rows[i].name) == profile_at(i));
    CHECK(profile_find(PROFILE_DEFAULT) != NULL);
    CHECK_EQ_STR(profile_find(PROFILE_DEFAULT)->name, "vendor-b-post");
    CHECK(profile_find("vendor-c") == NULL);
    CHECK(profile_find("") == NULL);
    CHECK(profile_find("VENDOR-A-PRE") == NULL);
    CHECK(profile_find(NULL) == NULL);
}

static void profile_should_carry_vendor_prices(void)
{
    static const struct {
        const char *name;
        double in, out;
    } rows[] = {
        {"vendor-a-pre", 2.50, 10.00}, {"vendor-a-post", 2.50, 10.00},
        {"vendor-b-pre", 3.00, 15.00}, {"vendor-b-post", 3.00, 15.00},
        {"silent-emitted", 0.27, 1.10}, {"runaway", 2.00, 8.00},
        {"selfhosted-abort", 0.20, 0.60}, {"selfhosted-lag", 0.20, 0.60},
        {"stop-at-once", 3.00, 15.00},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct profile *p = profile_find(rows[i].name);
        CHECK(p != NULL);
        CHECK(p->price_in_per_mtok == rows[i].in);
        CHECK(p->price_out_per_mtok == rows[i].out);
    }
}

static void profile_names_should_cover_every_enum_value(void)
{
    CHECK_EQ_STR(profile_disconnect_name(PROFILE_STOP), "stop");
    CHECK_EQ_STR(profile_disconnect_name(PROFILE_CONTINUE), "continue");
    CHECK_EQ_STR(profile_bill_name(PROFILE_BILL_ZERO), "zero");
    CHECK_EQ_STR(profile_bill_name(PROFILE_BILL_EMITTED), "emitted");
    CHECK_EQ_STR(profile_bill_name(PROFILE_BILL_GENERATED), "generated");
    CHECK_EQ_STR(profile_report_name(PROFILE_REPORT_USAGE), "usage");
    CHECK_EQ_STR(profile_report_name(PROFILE_REPORT_TRAILER), "trailer");
    CHECK_EQ_STR(profile_report_name(PROFILE_REPORT_NONE), "none");
}

/* ---- billed output ------------------------------------------------------------------------ */

static void billed_output_should_follow_bill_rule(void)
{
    static const struct {
        const char *profile;
        int cancelled;
        uint64_t emitted, generated, billed;
    } rows[] = {
        /* a natural end bills everything generated, whatever the rule */
        {"vendor-a-pre", 0, 7, 10, 10},
        {"vendor-a-post", 0, 7, 10, 10},
        {"runaway", 0, 7, 10, 10},
        /* cancelled: zero / emitted / generated */
        {"vendor-a-pre", 1, 7, 10, 0},
        {"vendor-b-pre", 1, 7, 10, 0},
        {"vendor-a-post", 1, 7, 10, 7},
        {"vendor-b-post", 1, 7, 10, 7},
        {"silent-emitted", 1, 7, 10, 7},
        {"runaway", 1, 7, 256, 256},
        {"selfhosted-abort", 1, 7, 8, 8},
        {"selfhosted-lag", 1, 7, 107, 107},
        {"stop-at-once", 1, 7, 7, 7},
        /* a cancel before any token */
        {"vendor-b-post", 1, 0, 0, 0},
        {"runaway", 1, 0, 3, 3},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct profile *p = profile_find(rows[i].profile);
        CHECK(p != NULL);
        CHECK_EQ_INT(profile_billed_output(p, rows[i].cancelled, rows[i].emitted,
                                           rows[i].generated),
                     rows[i].billed);
    }
}

/* Every preset says how reasoning before a cancel is billed; a natural end bills it all. */
static void billed_reasoning_should_follow_each_preset_reasoning_bill(void)
{
    static const struct {
        const char *profile;
        const char *rule;
        uint64_t cancelled_billed; /* 4 reasoning tokens before the cancel, 9 generated */
    } rows[] = {
        {"vendor-a-pre", "zero", 0},
        {"vendor-a-post", "before_cancel", 4},
        {"vendor-b-pre", "zero", 0},
        {"vendor-b-post", "before_cancel", 4},
        {"silent-emitted", "before_cancel", 4},
        {"runaway", "generated", 9},
        {"selfhosted-abort", "generated", 9},
        {"selfhosted-lag", "generated", 9},
        {"stop-at-once", "before_cancel", 4},
    };
    CHECK_EQ_INT(sizeof rows / sizeof rows[0], profile_count());
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct profile *p = profile_find(rows[i].profile);
        CHECK(p != NULL);
        CHECK_EQ_STR(profile_reasoning_bill_name(p->reasoning_bill), rows[i].rule);
        CHECK_EQ_INT(profile_billed_reasoning(p, 1, 4, 9), rows[i].cancelled_billed);
        CHECK_EQ_INT(profile_billed_reasoning(p, 0, 4, 9), 9);
        /* no preset thinks or calls tools unless asked */
        CHECK_EQ_INT(p->reasoning_tokens, 0);
        CHECK_EQ_INT(p->tool_call, 0);
    }
}

/* ---- schedule_parse: valid specs ---------------------------------------------------------- */

struct step_want {
    uint64_t at_ms;
    const char *profile;
};

static const struct {
    const char *spec;
    size_t n;
    struct step_want steps[4];
} valid_rows[] = {
    {"0s:vendor-a-pre", 1, {{0, "vendor-a-pre"}}},
    {"0s:vendor-a-pre,30s:vendor-a-post", 2, {{0, "vendor-a-pre"}, {30000, "vendor-a-post"}}},
    {"0ms:runaway,500ms:vendor-b-pre,2m:silent-emitted",
     3,
     {{0, "runaway"}, {500, "vendor-b-pre"}, {120000, "silent-emitted"}}},
    {"0:vendor-b-post,5:runaway", 2, {{0, "vendor-b-post"}, {5000, "runaway"}}},
    {"0m:selfhosted-lag,1ms:selfhosted-abort,1s:vendor-a-pre,1m:vendor-a-post",
     4,
     {{0, "selfhosted-lag"}, {1, "selfhosted-abort"}, {1000, "vendor-a-pre"},
      {60000, "vendor-a-post"}}},
};

static void schedule_parse_should_accept_valid_specs(void)
{
    for (size_t i = 0; i < sizeof valid_rows / sizeof valid_rows[0]; i++) {
        struct schedule s;
        char err[256] = "";
        int rc = schedule_parse(valid_rows[i].spec, &s, err, sizeof err);
        if (rc != 0)
            fprintf(stderr, "  spec '%s': %s\n", valid_rows[i].spec, err);
        CHECK_EQ_INT(rc, 0);
        CHECK_EQ_INT(s.n, valid_rows[i].n);
        for (size_t k = 0; k < s.n; k++) {
            CHECK_EQ_INT(s.steps[k].at_ms, valid_rows[i].steps[k].at_ms);
            CHECK(s.steps[k].profile != NULL);
            CHECK_EQ_STR(s.steps[k].profile->name, valid_rows[i].steps[k].profile);
        }
    }
}

static void schedule_parse_should_accept_sixteen_steps(void)
{
    char spec[1024];
    size_t off = 0;
    for (int k = 0; k < SCHEDULE_MAX_STEPS; k++)
        off += (size_t)snprintf(spec + off, sizeof spec - off, "%s%ds:runaway", k ? "," : "", k);
    struct schedule s;
    char err[256] = "";
    CHECK_EQ_INT(schedule_parse(spec, &s, err, sizeof err), 0);
    CHECK_EQ_INT(s.n, SCHEDULE_MAX_STEPS);
    CHECK_EQ_INT(s.steps[15].at_ms, 15000);
}

/* ---- schedule_parse: invalid specs -------------------------------------------------------- */

static const struct {
    const char *spec;
    const char *err; /* exact error text */
} invalid_rows[] = {
    {"", "schedule: empty; expected '0s:NAME[,30s:NAME2...]'"},
    {"vendor-a-pre", "schedule: step 'vendor-a-pre' has no ':'; expected OFFSET:NAME"},
    {"0s:vendor-a-pre,30s", "schedule: step '30s' has no ':'; expected OFFSET:NAME"},
    {"0s:vendor-c", "schedule: unknown profile 'vendor-c' (see 'tailgate profiles')"},
    {"0s:", "schedule: bad profile name in '0s:'"},
    {"5s:vendor-a-pre", "schedule: the first step must be at 0s"},
    {"1ms:vendor-a-pre", "schedule: the first step must be at 0s"},
    {"0s:vendor-a-pre,0s:vendor-a-post", "schedule: offsets must increase ('0s:vendor-a-post')"},
    {"0s:vendor-a-pre,30s:vendor-a-post,29s:runaway",
     "schedule: offsets must increase ('29s:runaway')"},
    {"0s:vendor-a-pre,1s:runaway,1000ms:vendor-b-pre",
     "schedule: offsets must increase ('1000ms:vendor-b-pre')"},
    {"0s:vendor-a-pre,", "schedule: trailing ','"},
    {"0h:vendor-a-pre", "schedule: bad offset '0h'; expected e.g. 0s, 500ms, 2m"},
    {"0sec:vendor-a-pre", "schedule: bad offset '0sec'; expected e.g. 0s, 500ms, 2m"},
    {"s:vendor-a-pre", "schedule: bad offset 's'; expected e.g. 0s, 500ms, 2m"},
    {":vendor-a-pre", "schedule: bad offset ''; expected e.g. 0s, 500ms, 2m"},
    {"-1s:vendor-a-pre", "schedule: bad offset '-1s'; expected e.g. 0s, 500ms, 2m"},
    {"0s:vendor-a-pre,99999999999999999999m:runaway",
     "schedule: bad offset '99999999999999999999m'; expected e.g. 0s, 500ms, 2m"},
    {"0s:vendor-a-pre,,1s:runaway", "schedule: step '' has no ':'; expected OFFSET:NAME"},
};

static void schedule_parse_should_reject_invalid_specs(void)
{
    for (size_t i = 0; i < sizeof invalid_rows / sizeof invalid_rows[0]; i++) {
        struct schedule s;
        memset(&s, 0xab, sizeof s);
        char err[256] = "";
        int rc = schedule_parse(invalid_rows[i].spec, &s, err, sizeof err);
        if (rc != -1 || strcmp(err, invalid_rows[i].err) != 0)
            fprintf(stderr, "  spec '%s'\n", invalid_rows[i].spec);
        CHECK_EQ_INT(rc, -1);
        CHECK_EQ_STR(err, invalid_rows[i].err);
        /* 'out' is untouched on failure */
        CHECK_EQ_INT(s.n, 0xababababababababull);
    }
}

static void schedule_parse_should_reject_null_spec(void)
{
    struct schedule s;
    char err[256] = "";
    CHECK_EQ_INT(schedule_parse(NULL, &s, err, sizeof err), -1);
    CHECK_EQ_STR(err, "schedule: empty; expected '0s:NAME[,30s:NAME2...]'");
}

static void schedule_parse_should_reject_too_many_steps(void)
{
    char spec[1024];
    size_t off = 0;
    for (int k = 0; k < SCHEDULE_MAX_STEPS + 1; k++)
        off += (size_t)snprintf(spec + off, sizeof spec - off, "%s%ds:runaway", k ? "," : "", k);
    struct schedule s;
    char err[256] = "";
    CHECK_EQ_INT(schedule_parse(spec, &s, err, sizeof err), -1);
    CHECK_EQ_STR(err, "schedule: more than 16 steps");
}

static void schedule_parse_should_truncate_error_to_buffer(void)
{
    struct schedule s;
    char err[12];
    memset(err, 'x', sizeof err);
    CHECK_EQ_INT(schedule_parse("0s:vendor-c", &s, err, sizeof err), -1);
    CHECK_EQ_STR(err, "schedule: u");
}

/* ---- schedule_at -------------------------------------------------------------------------- */

static void schedule_at_should_switch_at_step_boundaries(void)
{
    struct schedule s;
    char err[256] = "";
    CHECK_EQ_INT(schedule_parse("0s:vendor-a-pre,30s:vendor-a-post,2m:runaway", &s, err,
                                sizeof err),
                 0);
    static const struct {
        uint64_t at;
        const char *name;
    } rows[] = {
        {0, "vendor-a-pre"},      {1, "vendor-a-pre"},       {29999, "vendor-a-pre"},
        {30000, "vendor-a-post"}, {30001, "vendor-a-post"},  {119999, "vendor-a-post"},
        {120000, "runaway"},      {UINT64_MAX, "runaway"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct profile *p = schedule_at(&s, rows[i].at);
        CHECK(p != NULL);
        CHECK_EQ_STR(p->name, rows[i].name);
    }
}

static void schedule_at_should_keep_single_step_forever(void)
{
    struct schedule s;
    char err[256] = "";
    CHECK_EQ_INT(schedule_parse("0s:silent-emitted", &s, err, sizeof err), 0);
    CHECK_EQ_STR(schedule_at(&s, 0)->name, "silent-emitted");
    CHECK_EQ_STR(schedule_at(&s, 86400000)->name, "silent-emitted");
}

static void schedule_at_should_give_null_for_empty_schedule(void)
{
    struct schedule s;
    memset(&s, 0, sizeof s);
    CHECK(schedule_at(&s, 0) == NULL);
    CHECK(schedule_at(&s, 1000) == NULL);
}

static const struct check_case cases[] = {
    CASE(profile_should_have_one_row_per_preset),
    CASE(billed_reasoning_should_follow_each_preset_reasoning_bill),
    CASE(profile_vendor_a_pre_should_stop_bill_zero_report_usage),
    CASE(profile_vendor_a_post_should_stop_bill_emitted_report_trailer),
    CASE(profile_vendor_b_pre_should_stop_bill_zero_report_usage),
    CASE(profile_vendor_b_post_should_stop_bill_emitted_report_usage),
    CASE(profile_silent_emitted_should_stop_bill_emitted_report_none),
    CASE(profile_runaway_should_continue_bill_generated_report_none),
    CASE(profile_selfhosted_abort_should_stop_bill_generated_report_none),
    CASE(profile_selfhosted_lag_should_stop_after_2000ms_bill_generated),
    CASE(profile_should_be_found_by_name),
    CASE(profile_should_carry_vendor_prices),
    CASE(profile_names_should_cover_every_enum_value),
    CASE(billed_output_should_follow_bill_rule),
    CASE(schedule_parse_should_accept_valid_specs),
    CASE(schedule_parse_should_accept_sixteen_steps),
    CASE(schedule_parse_should_reject_invalid_specs),
    CASE(schedule_parse_should_reject_null_spec),
    CASE(schedule_parse_should_reject_too_many_steps),
    CASE(schedule_parse_should_truncate_error_to_buffer),
    CASE(schedule_at_should_switch_at_step_boundaries),
    CASE(schedule_at_should_keep_single_step_forever),
    CASE(schedule_at_should_give_null_for_empty_schedule),
};

int main(int argc, char **argv)
{
    return check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
}
