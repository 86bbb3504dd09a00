/* What every fuzz target shares: libFuzzer's entry point (also called by replay.c's main) and a
 * check that crashes without printing, so a broken invariant is kept like any other crash. */
#ifndef TESTS_FUZZ_H
#define TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* One input; returns 0. Keeps nothing from one call to the next. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* abort, not a message: libFuzzer saves the input and ASan prints the stack with the line */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

/* FNV-1a of the input: a cheap, deterministic source for the choices a target makes per input */
static inline uint64_t fuzz_hash(const uint8_t *data, size_t size)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 1099511628211ull;
    return h;
}

#endif
