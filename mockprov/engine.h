/* Token engine: when each token of a generation is due, and what it says.
 * Pure and deterministic for a given seed, so schedules are reproducible. */
#ifndef MP_ENGINE_H
#define MP_ENGINE_H

#include <stddef.h>
#include <stdint.h>

struct engine {
    uint64_t rng;
    uint64_t ttft_ns;
    uint64_t gap_ns; /* mean inter-token gap */
    double jitter;   /* fraction of gap_ns, 0..1 */
};

/* Fills 'e'. tps <= 0 is treated as 1 token per second. */
void engine_init(struct engine *e, uint64_t seed, uint64_t ttft_ms, double tps, double jitter);

/* Delay before token 'index' is generated, measured from the previous token (from the start
 * of the request for index 0). Advances the generator. */
uint64_t engine_next_delay_ns(struct engine *e, uint64_t index);

/* Writes token 'index''s text (" tok<index>") into buf; returns its length, or -1 if it does
 * not fit. */
int engine_token_text(uint64_t index, char *buf, size_t len);

/* Length of the text of tokens [0, n) joined, without writing it. */
size_t engine_text_len(uint64_t n);

/* Writes reasoning token 'index''s text (" think<index>": a client counting " tok<N>" never
 * counts it) into buf; returns its length, or -1 if it does not fit. */
int engine_reasoning_text(uint64_t index, char *buf, size_t len);

/* Length of the text of reasoning tokens [0, n) joined. */
size_t engine_reasoning_text_len(uint64_t n);

#endif
