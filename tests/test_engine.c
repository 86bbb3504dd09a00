/* Tests for mockprov/engine: token text, the length of joined texts, and the seeded delay
 * schedule. */
#include <string.h>

#include "check.h"
#include "engine.h"

/* ---- token text --------------------------------------------------------------------------- */

static const struct {
    uint64_t index;
    const char *text;
} token_rows[] = {
    {0, " tok0"},
    {9, " tok9"},
    {10, " tok10"},
    {12345, " tok12345"},
};

static void token_text_should_be_space_tok_index(void)
{
    for (size_t i = 0; i < sizeof token_rows / sizeof token_rows[0]; i++) {
        char buf[32];
        int n = engine_token_text(token_rows[i].index, buf, sizeof buf);
        CHECK_EQ_INT(n, strlen(token_rows[i].text));
        CHECK_EQ_STR(buf, token_rows[i].text);
    }
}

static void token_text_should_fail_when_buffer_too_small(void)
{
    char buf[16];
    /* " tok12345" is 9 bytes: it needs 10 with the terminator */
    CHECK_EQ_INT(engine_token_text(12345, buf, 9), -1);
    CHECK_EQ_INT(engine_token_text(12345, buf, 1), -1);
    CHECK_EQ_INT(engine_token_text(0, buf, 5), -1);
    CHECK_EQ_INT(engine_token_text(12345, buf, 10), 9);
    CHECK_EQ_STR(buf, " tok12345");
    CHECK_EQ_INT(engine_token_text(0, buf, 6), 5);
    CHECK_EQ_STR(buf, " tok0");
}

static void token_text_should_fail_on_zero_length_buffer(void)
{
    char buf[1] = {'x'};
    CHECK_EQ_INT(engine_token_text(0, buf, 0), -1);
    CHECK_EQ_INT(buf[0], 'x');
}

/* ---- text length -------------------------------------------------------------------------- */

static void text_len_should_equal_strlen_of_joined_texts(void)
{
    static const uint64_t ns[] = {0, 1, 9, 10, 11, 99, 100, 101, 1000};
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        size_t joined = 0;
        for (uint64_t i = 0; i < ns[k]; i++) {
            char buf[32];
            int n = engine_token_text(i, buf, sizeof buf);
            CHECK(n > 0);
            joined += strlen(buf);
        }
        CHECK_EQ_INT(engine_text_len(ns[k]), joined);
    }
}

static void text_len_should_match_hand_counted_values(void)
{
    CHECK_EQ_INT(engine_text_len(0), 0);
    CHECK_EQ_INT(engine_text_len(1), 5);           /* " tok0" */
    CHECK_EQ_INT(engine_text_len(10), 50);         /* ten of width 1 */
    CHECK_EQ_INT(engine_text_len(11), 56);         /* + " tok10" */
    CHECK_EQ_INT(engine_text_len(1000), 6890);     /* 10*5 + 90*6 + 900*7 */
}

/* ---- delays ------------------------------------------------------------------------------- */

static void delay_should_be_ttft_for_first_token(void)
{
    struct engine e;
    engine_init(&e, 1, 200, 50.0, 0.0);
    CHECK_EQ_INT(engine_next_delay_ns(&e, 0), 200000000ull);
    engine_init(&e, 1, 0, 50.0, 0.0);
    CHECK_EQ_INT(engine_next_delay_ns(&e, 0), 0);
}

static void delay_should_be_exact_gap_without_jitter(void)
{
    static const struct {
        double tps;
        uint64_t gap;
    } rows[] = {
        {50.0, 20000000ull}, {80.0, 12500000ull}, {1.0, 1000000000ull}, {3.0, 333333333ull},
        {1000.0, 1000000ull},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct engine e;
        engine_init(&e, 7, 200, rows[i].tps, 0.0);
        CHECK_EQ_INT(engine_next_delay_ns(&e, 0), 200000000ull);
        for (uint64_t k = 1; k < 100; k++)
            CHECK_EQ_INT(engine_next_delay_ns(&e, k), rows[i].gap);
    }
}

static void delay_should_treat_nonpositive_tps_as_one_per_second(void)
{
    struct engine e;
    engine_init(&e, 1, 0, 0.0, 0.0);
    CHECK_EQ_INT(engine_next_delay_ns(&e, 1), 1000000000ull);
    engine_init(&e, 1, 0, -5.0, 0.0);
    CHECK_EQ_INT(engine_next_delay_ns(&e, 1), 1000000000ull);
}

static void delay_should_stay_within_jitter_bounds(void)
{
    struct engine e;
    engine_init(&e, 42, 200, 50.0, 0.1);
    const uint64_t ttft = 200000000ull, gap = 20000000ull;
    uint64_t d0 = engine_next_delay_ns(&e, 0);
    CHECK(d0 >= ttft - ttft / 10 && d0 <= ttft + ttft / 10);
    int varied = 0;
    for (uint64_t k = 1; k < 10000; k++) {
        uint64_t d = engine_next_delay_ns(&e, k);
        CHECK(d >= gap - gap / 10);
        CHECK(d <= gap + gap / 10);
        varied |= d != gap;
    }
    CHECK(varied);
}

static void delay_should_clamp_jitter_to_unit_range(void)
{
    struct engine e;
    engine_init(&e, 3, 100, 10.0, 5.0);
    CHECK(e.jitter == 1.0);
    for (uint64_t k = 1; k < 1000; k++)
        CHECK(engine_next_delay_ns(&e, k) <= 200000000ull);
    engine_init(&e, 3, 100, 10.0, -0.5);
    CHECK(e.jitter == 0.0);
    CHECK_EQ_INT(engine_next_delay_ns(&e, 1), 100000000ull);
}

static void delay_should_repeat_for_same_seed(void)
{
    struct engine a, b;
    engine_init(&a, 1234, 200, 50.0, 0.1);
    engine_init(&b, 1234, 200, 50.0, 0.1);
    for (uint64_t k = 0; k < 1000; k++)
        CHECK_EQ_INT(engine_next_delay_ns(&a, k), engine_next_delay_ns(&b, k));
}

static void delay_should_differ_for_different_seed(void)
{
    struct engine a, b;
    engine_init(&a, 1234, 200, 50.0, 0.1);
    engine_init(&b, 1235, 200, 50.0, 0.1);
    int differ = 0;
    for (uint64_t k = 0; k < 100; k++)
        differ += engine_next_delay_ns(&a, k) != engine_next_delay_ns(&b, k);
    /* a 53-bit uniform draw: two seeds agreeing on more than a handful of draws is a bug */
    CHECK(differ >= 95);
}

static const struct check_case cases[] = {
    CASE(token_text_should_be_space_tok_index),
    CASE(token_text_should_fail_when_buffer_too_small),
    CASE(token_text_should_fail_on_zero_length_buffer),
    CASE(text_len_should_equal_strlen_of_joined_texts),
    CASE(text_len_should_match_hand_counted_values),
    CASE(delay_should_be_ttft_for_first_token),
    CASE(delay_should_be_exact_gap_without_jitter),
    CASE(delay_should_treat_nonpositive_tps_as_one_per_second),
    CASE(delay_should_stay_within_jitter_bounds),
    CASE(delay_should_clamp_jitter_to_unit_range),
    CASE(delay_should_repeat_for_same_seed),
    CASE(delay_should_differ_for_different_seed),
};

int main(int argc, char **argv)
{
    return check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
}
