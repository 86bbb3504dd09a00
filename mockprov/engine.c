/* Token engine: seeded timing and self-identifying token text. */
#include "engine.h"

#include "decimal.h"

#include <string.h>

/* splitmix64: tiny, fast, and good enough to decorrelate jitter between requests. */
static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void engine_init(struct engine *e, uint64_t seed, uint64_t ttft_ms, double tps, double jitter)
{
    if (tps <= 0)
        tps = 1;
    if (jitter < 0)
        jitter = 0;
    if (jitter > 1)
        jitter = 1;
    e->rng = seed;
    e->ttft_ns = ttft_ms * 1000000ull;
    e->gap_ns = (uint64_t)(1e9 / tps);
    e->jitter = jitter;
}

uint64_t engine_next_delay_ns(struct engine *e, uint64_t index)
{
    uint64_t base = index == 0 ? e->ttft_ns : e->gap_ns;
    if (e->jitter <= 0 || base == 0)
        return base;
    /* uniform in [-jitter, +jitter] of the base, never negative */
    double u = (double)(next_u64(&e->rng) >> 11) / (double)(1ull << 53);
    double d = (double)base * (1.0 + e->jitter * (2.0 * u - 1.0));
    return d < 0 ? 0 : (uint64_t)d;
}

/* " <stem><index>" into buf; its length, or -1 when it does not fit. */
static int word_text(const char *stem, uint64_t index, char *buf, size_t len)
{
    char digits[DECIMAL_U64_MAX];
    size_t sl = strlen(stem), dl = decimal_u64(index, digits), n = 1 + sl + dl;
    if (n >= len)
        return -1;
    buf[0] = ' ';
    memcpy(buf + 1, stem, sl);
    memcpy(buf + 1 + sl, digits, dl);
    buf[n] = '\0';
    return (int)n;
}

int engine_token_text(uint64_t index, char *buf, size_t len)
{
    return word_text("tok", index, buf, len);
}

size_t engine_text_len(uint64_t n)
{
    size_t total = 0;
    uint64_t lo = 0, width = 1, hi = 10;
    while (lo < n) {
        uint64_t upto = n < hi ? n : hi;
        total += (size_t)(upto - lo) * (4 + width);
        lo = hi;
        hi *= 10;
        width++;
    }
    return total;
}

int engine_reasoning_text(uint64_t index, char *buf, size_t len)
{
    return word_text("think", index, buf, len);
}

size_t engine_reasoning_text_len(uint64_t n)
{
    return engine_text_len(n) + 2 * (size_t)n; /* "think" is two bytes longer than "tok" */
}
