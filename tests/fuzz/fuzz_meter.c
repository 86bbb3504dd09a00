/* Fuzz target: refgw's metering reader (refgw/meter.c): the usage extractor and the line
 * splitter over an upstream body, and the token counter over the bytes forwarded. The first
 * byte says SSE, a plain body or Bedrock's event stream; the totals must not depend on where the
 * reads split it. */
#include <string.h>

#include "fuzz.h"
#include "meter.h"

#define FUZZ_SPLITS 8

static void feed_split(struct meter *m, const char *buf, size_t len, uint64_t h, int count)
{
    size_t at = 0;
    for (int k = 0; at < len; k++) {
        size_t step = k < FUZZ_SPLITS ? 1 + (size_t)((h >> (k * 8)) & 0xff) % 23 : len - at;
        if (step > len - at)
            step = len - at;
        if (count)
            meter_count(m, buf + at, step);
        else
            FUZZ_CHECK(meter_feed(m, buf + at, step) == 0);
        at += step;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const char *const types[] = {"text/event-stream; charset=utf-8", "application/json",
                                        NULL, "TEXT/EVENT-STREAM",
                                        "application/vnd.amazon.eventstream"};
    const char *ctype = types[data[0] % 5];
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;
    uint64_t h = fuzz_hash(data, size);

    struct meter whole, split;
    meter_init(&whole);
    meter_init(&split);
    /* two responses, as a retried request reads: the totals add up */
    for (int r = 0; r < 2; r++) {
        meter_begin(&whole, ctype);
        FUZZ_CHECK(meter_feed(&whole, buf, len) == 0);
        meter_end(&whole);
        meter_end(&whole); /* safe twice */
        meter_begin(&split, ctype);
        feed_split(&split, buf, len, h, 0);
        meter_end(&split);
    }
    FUZZ_CHECK(whole.output_tokens == split.output_tokens);
    FUZZ_CHECK(whole.input_tokens == split.input_tokens);
    FUZZ_CHECK(whole.responses_with_usage == split.responses_with_usage);
    FUZZ_CHECK(whole.responses_with_usage % 2 == 0);
    FUZZ_CHECK(whole.output_tokens % 2 == 0 && whole.input_tokens % 2 == 0);
    FUZZ_CHECK(whole.oversized == split.oversized);

    meter_count(&whole, buf, len);
    meter_count_end(&whole);
    feed_split(&split, buf, len, h >> 3, 1);
    meter_count_end(&split);
    FUZZ_CHECK(whole.tokens == split.tokens);
    FUZZ_CHECK(whole.tokens <= len / 5 + 1);

    int64_t out, in;
    int found = meter_usage_from_json(buf, len, &out, &in);
    FUZZ_CHECK(found == 0 || found == 1);
    FUZZ_CHECK(found == (out >= 0 || in >= 0));
    meter_cleanup(&whole);
    meter_cleanup(&split);
    return 0;
}
