/* The ledger's timeline: token times stored as differences read back exactly, in order, in the
 * bytes the encoding promises. */
#include <stdint.h>

#include "check.h"
#include "timeline.h"

#define MS 1000000ull

static size_t read_all(const struct timeline *tl, uint64_t *out, size_t max)
{
    struct timeline_reader rd;
    uint64_t t;
    size_t n = 0;
    timeline_read(&rd, tl);
    while (n < max && timeline_next(&rd, &t))
        out[n++] = t;
    return n;
}

static void timeline_should_read_back_every_time_exactly(void)
{
    /* a stream at 20 tokens/s, a 10 s stall, a time from the past and one near 2^53 */
    static const uint64_t in[] = {
        5000 * MS,      5050 * MS, 5100 * MS, 5100 * MS,        15100 * MS,
        15100 * MS + 1, 3 * MS,    0,         (1ull << 53) - 1, UINT64_MAX,
    };
    const size_t n = sizeof in / sizeof in[0];
    struct timeline tl = {0};
    for (size_t i = 0; i < n; i++)
        CHECK_EQ_INT(timeline_append(&tl, in[i]), 0);
    uint64_t out[16];
    CHECK_EQ_INT(read_all(&tl, out, 16), n);
    for (size_t i = 0; i < n; i++)
        CHECK(out[i] == in[i]);
    timeline_free(&tl);
    CHECK_EQ_INT(read_all(&tl, out, 16), 0);
}

static void timeline_should_keep_a_50ms_gap_in_4_bytes(void)
{
    struct timeline tl = {0};
    CHECK_EQ_INT(timeline_append(&tl, 7), 0); /* zigzag 14: one byte */
    CHECK_EQ_INT(tl.len, 1);
    /* 300 tokens 50 ms apart: zigzag(5e7) = 1e8 < 2^28, four 7-bit groups each */
    for (uint64_t i = 1; i <= 300; i++)
        CHECK_EQ_INT(timeline_append(&tl, 7 + i * 50 * MS), 0);
    CHECK_EQ_INT(tl.len, 1 + 300 * 4);
    CHECK_EQ_INT(timeline_bytes(&tl), 2048); /* 64 doubled to fit 1,201 bytes and a spare 10 */
    uint64_t out[301];
    CHECK_EQ_INT(read_all(&tl, out, 301), 301);
    CHECK(out[300] == 7 + 300 * 50 * MS);
    timeline_free(&tl);
}

static void timeline_should_stop_at_a_truncated_last_time(void)
{
    /* a buffer that ends inside a varint reads what it holds and then ends */
    uint8_t buf[] = {0x02, 0x80};
    struct timeline tl = {.buf = buf, .len = sizeof buf, .cap = sizeof buf};
    uint64_t out[4];
    CHECK_EQ_INT(read_all(&tl, out, 4), 2);
    CHECK_EQ_INT(out[0], 1);
    CHECK_EQ_INT(out[1], 1);
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CASE(timeline_should_read_back_every_time_exactly),
        CASE(timeline_should_keep_a_50ms_gap_in_4_bytes),
        CASE(timeline_should_stop_at_a_truncated_last_time),
    };
    return check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
}
