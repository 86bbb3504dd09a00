/* A timeline: the times of a record's tokens, kept compactly. Each time is stored as its
 * distance from the one before, as a variable-length integer (LEB128 of the zigzagged
 * difference), so a token 50 ms after the last costs 4 bytes where a plain time costs 8, and
 * the times read back exactly, in order. */
#ifndef MP_TIMELINE_H
#define MP_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

struct timeline {
    uint8_t *buf;
    size_t len, cap;
    uint64_t last; /* the time appended last; the first is stored against 0 */
};

/* A reader over a timeline, from its first time. */
struct timeline_reader {
    const struct timeline *tl;
    size_t pos;
    uint64_t prev;
};

/* Appends t_ns. Returns 0, or -1 when out of memory (the timeline is unchanged). */
int timeline_append(struct timeline *tl, uint64_t t_ns);
/* Frees the buffer and empties the timeline. */
void timeline_free(struct timeline *tl);
/* Bytes of memory the timeline holds (its buffer's capacity). */
size_t timeline_bytes(const struct timeline *tl);

void timeline_read(struct timeline_reader *rd, const struct timeline *tl);
/* Sets *t_ns to the next time and returns 1, or returns 0 at the end. */
int timeline_next(struct timeline_reader *rd, uint64_t *t_ns);

#endif
