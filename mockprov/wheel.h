/* A timing wheel of 1 ms slots for thousands of token timers. One periodic tick replaces a
 * kernel timer per token: at 5,000 streams x 20 tokens/s that is 100,000 timer re-arms and
 * wake-ups a second saved. Nodes are intrusive; the wheel allocates nothing. */
#ifndef MP_WHEEL_H
#define MP_WHEEL_H

#include <stddef.h>
#include <stdint.h>

#define WHEEL_SLOTS 1024 /* 1 ms each; later deadlines wait in their slot for later rounds */

struct wheel_node {
    struct wheel_node *prev, *next;
    uint64_t due_ns;
    int armed;
};

struct wheel {
    struct wheel_node slots[WHEEL_SLOTS]; /* list heads */
    uint64_t cursor_ms; /* the oldest slot not yet fully expired */
    size_t count;
};

void wheel_init(struct wheel *w, uint64_t now_ns);
/* Arms n for due_ns (a time already past expires at the next wheel_expire). */
void wheel_add(struct wheel *w, struct wheel_node *n, uint64_t due_ns);
/* Disarms n; fine when it is not armed. */
void wheel_remove(struct wheel *w, struct wheel_node *n);
/* Unlinks up to 'max' nodes due at or before now_ns and returns them chained through ->next
 * (NULL when none); *more says whether due nodes were left for the next call. The caller may
 * re-add them while walking the chain. */
struct wheel_node *wheel_expire(struct wheel *w, uint64_t now_ns, size_t max, int *more);
/* The earliest due_ns of any armed node (a past one included), or UINT64_MAX when none is
 * armed: how long the tick may sleep. Walks slots from the cursor until one holds a node of
 * this revolution, so it is cheap while timers are dense and at most one revolution when they
 * are far apart. */
uint64_t wheel_next_due(const struct wheel *w);

#endif
