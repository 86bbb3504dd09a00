/* Tests for mockprov/fault: the fault spec parser, from tables of valid and invalid specs. */
#include <string.h>

#include "check.h"
#include "fault.h"

/* The parsed fields a row expects; -1 / 0 where the spec leaves the default. */
struct fault_want {
    int status;
    int64_t retry_after;
    int should_retry;
    int64_t error_after;
    int64_t stall_after;
    int64_t stall_ms;
    int64_t truncate_after;
    int64_t slow_first_ms;
};

#define NO_FAULT {0, -1, -1, -1, -1, 0, -1, -1}

static const struct {
    const char *spec;
    struct fault_want want;
} valid_rows[] = {
    {"", NO_FAULT},
    {"status=429", {429, -1, -1, -1, -1, 0, -1, -1}},
    {"status=529", {529, -1, -1, -1, -1, 0, -1, -1}},
    {"status=400", {400, -1, -1, -1, -1, 0, -1, -1}},
    {"status=599", {599, -1, -1, -1, -1, 0, -1, -1}},
    {"status=429,retry-after=2", {429, 2, -1, -1, -1, 0, -1, -1}},
    {"status=429,retry-after=0", {429, 0, -1, -1, -1, 0, -1, -1}},
    {"status=529,retry-after=86400,should-retry=false", {529, 86400, 0, -1, -1, 0, -1, -1}},
    {"status=503,should-retry=true", {503, -1, 1, -1, -1, 0, -1, -1}},
    {"error-after=5", {0, -1, -1, 5, -1, 0, -1, -1}},
    {"error-after=0", {0, -1, -1, 0, -1, 0, -1, -1}},
    {"stall-after=3,stall-ms=2000", {0, -1, -1, -1, 3, 2000, -1, -1}},
    {"stall-ms=2000,stall-after=3", {0, -1, -1, -1, 3, 2000, -1, -1}},
    {"stall-ms=500", {0, -1, -1, -1, -1, 500, -1, -1}},
    {"truncate-after=4", {0, -1, -1, -1, -1, 0, 4, -1}},
    {"truncate-after=1048576", {0, -1, -1, -1, -1, 0, 1048576, -1}},
    {"slow-first-token-ms=3000", {0, -1, -1, -1, -1, 0, -1, 3000}},
    {"slow-first-token-ms=3600000", {0, -1, -1, -1, -1, 0, -1, 3600000}},
    /* a space after the comma is allowed: header values are often written that way */
    {"status=429, retry-after=1", {429, 1, -1, -1, -1, 0, -1, -1}},
    {"error-after=2,slow-first-token-ms=100,truncate-after=9", {0, -1, -1, 2, -1, 0, 9, 100}},
    /* a later key overrides an earlier one */
    {"status=429,status=500", {500, -1, -1, -1, -1, 0, -1, -1}},
};

static void fault_init_should_set_no_fault(void)
{
    struct fault f;
    memset(&f, 0x5a, sizeof f);
    fault_init(&f);
    CHECK_EQ_INT(f.status, 0);
    CHECK_EQ_INT(f.retry_after, -1);
    CHECK_EQ_INT(f.should_retry, -1);
    CHECK_EQ_INT(f.error_after, -1);
    CHECK_EQ_INT(f.stall_after, -1);
    CHECK_EQ_INT(f.stall_ms, 0);
    CHECK_EQ_INT(f.truncate_after, -1);
    CHECK_EQ_INT(f.slow_first_ms, -1);
    CHECK_EQ_STR(f.text, "");
}

static void fault_parse_should_accept_valid_specs(void)
{
    for (size_t i = 0; i < sizeof valid_rows / sizeof valid_rows[0]; i++) {
        struct fault f;
        char err[256] = "";
        int rc = fault_parse(valid_rows[i].spec, &f, err, sizeof err);
        if (rc != 0)
            fprintf(stderr, "  spec '%s': %s\n", valid_rows[i].spec, err);
        CHECK_EQ_INT(rc, 0);
        const struct fault_want *w = &valid_rows[i].want;
        CHECK_EQ_INT(f.status, w->status);
        CHECK_EQ_INT(f.retry_after, w->retry_after);
        CHECK_EQ_INT(f.should_retry, w->should_retry);
        CHECK_EQ_INT(f.error_after, w->error_after);
        CHECK_EQ_INT(f.stall_after, w->stall_after);
        CHECK_EQ_INT(f.stall_ms, w->stall_ms);
        CHECK_EQ_INT(f.truncate_after, w->truncate_after);
        CHECK_EQ_INT(f.slow_first_ms, w->slow_first_ms);
        /* the spec text is kept verbatim for the ledger */
        CHECK_EQ_STR(f.text, valid_rows[i].spec);
    }
}

static const struct {
    const char *spec;
    const char *err; /* exact error text */
} invalid_rows[] = {
    {"colour=red", "fault: unknown key 'colour' (status, retry-after, should-retry, error-after, "
                   "stall-after, stall-ms, truncate-after, slow-first-token-ms)"},
    {"status=429,Retry-After=1", "fault: unknown key 'Retry-After' (status, retry-after, "
                                 "should-retry, error-after, stall-after, stall-ms, "
                                 "truncate-after, slow-first-token-ms)"},
    {"status", "fault: 'status' is not key=value"},
    {"status=429,retry-after", "fault: 'retry-after' is not key=value"},
    {"status=399", "fault: bad value '399' for 'status'"},
    {"status=600", "fault: bad value '600' for 'status'"},
    {"status=", "fault: bad value '' for 'status'"},
    {"status=abc", "fault: bad value 'abc' for 'status'"},
    {"status=429x", "fault: bad value '429x' for 'status'"},
    {"retry-after=-1", "fault: bad value '-1' for 'retry-after'"},
    {"retry-after=86401", "fault: bad value '86401' for 'retry-after'"},
    {"should-retry=yes", "fault: bad value 'yes' for 'should-retry'"},
    {"should-retry=", "fault: bad value '' for 'should-retry'"},
    {"error-after=-1", "fault: bad value '-1' for 'error-after'"},
    {"error-after=1048577", "fault: bad value '1048577' for 'error-after'"},
    {"error-after=99999999999999999999", "fault: bad value '99999999999999999999' for "
                                         "'error-after'"},
    {"stall-after=3,stall-ms=3600001", "fault: bad value '3600001' for 'stall-ms'"},
    {"truncate-after=1.5", "fault: bad value '1.5' for 'truncate-after'"},
    {"slow-first-token-ms=3600001", "fault: bad value '3600001' for 'slow-first-token-ms'"},
    {"stall-after=3", "fault: 'stall-after' needs 'stall-ms' of at least 1"},
    {"stall-after=3,stall-ms=0", "fault: 'stall-after' needs 'stall-ms' of at least 1"},
};

static void fault_parse_should_reject_invalid_specs(void)
{
    for (size_t i = 0; i < sizeof invalid_rows / sizeof invalid_rows[0]; i++) {
        struct fault f;
        memset(&f, 0x5a, sizeof f);
        char err[256] = "";
        int rc = fault_parse(invalid_rows[i].spec, &f, err, sizeof err);
        if (rc != -1 || strcmp(err, invalid_rows[i].err) != 0)
            fprintf(stderr, "  spec '%s'\n", invalid_rows[i].spec);
        CHECK_EQ_INT(rc, -1);
        CHECK_EQ_STR(err, invalid_rows[i].err);
        /* 'f' is untouched on failure */
        CHECK_EQ_INT(f.status, 0x5a5a5a5a);
    }
}

static void fault_parse_should_reject_too_long_spec(void)
{
    char spec[FAULT_TEXT_MAX + 1];
    memset(spec, 'a', FAULT_TEXT_MAX);
    spec[FAULT_TEXT_MAX] = '\0'; /* 128 bytes: one over */
    struct fault f;
    char err[256] = "";
    CHECK_EQ_INT(fault_parse(spec, &f, err, sizeof err), -1);
    CHECK_EQ_STR(err, "fault: missing or longer than 127 bytes");
}

static void fault_parse_should_accept_longest_spec(void)
{
    /* 127 bytes: "status=429,retry-after=000...01" */
    char spec[FAULT_TEXT_MAX];
    const char *head = "status=429,retry-after=";
    size_t hl = strlen(head);
    memcpy(spec, head, hl);
    memset(spec + hl, '0', FAULT_TEXT_MAX - 2 - hl);
    spec[FAULT_TEXT_MAX - 2] = '1';
    spec[FAULT_TEXT_MAX - 1] = '\0';
    CHECK_EQ_INT(strlen(spec), FAULT_TEXT_MAX - 1);
    struct fault f;
    char err[256] = "";
    CHECK_EQ_INT(fault_parse(spec, &f, err, sizeof err), 0);
    CHECK_EQ_INT(f.status, 429);
    CHECK_EQ_INT(f.retry_after, 1);
    CHECK_EQ_STR(f.text, spec);
}

static void fault_parse_should_reject_null_spec(void)
{
    struct fault f;
    char err[256] = "";
    CHECK_EQ_INT(fault_parse(NULL, &f, err, sizeof err), -1);
    CHECK_EQ_STR(err, "fault: missing or longer than 127 bytes");
}

static const struct check_case cases[] = {
    CASE(fault_init_should_set_no_fault),
    CASE(fault_parse_should_accept_valid_specs),
    CASE(fault_parse_should_reject_invalid_specs),
    CASE(fault_parse_should_reject_too_long_spec),
    CASE(fault_parse_should_accept_longest_spec),
    CASE(fault_parse_should_reject_null_spec),
};

int main(int argc, char **argv)
{
    return check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
}
