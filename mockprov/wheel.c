/* Timing wheel: slot = due millisecond modulo WHEEL_SLOTS; each slot a circular list. */
#include "wheel.h"

void wheel_init(struct wheel *w, uint64_t now_ns)
{
    for (size_t i = 0; i < WHEEL_SLOTS; i++)
        w->slots[i].prev = w->slots[i].next = &w->slots[i];
    w->cursor_ms = now_ns / 1000000ull;
    w->count = 0;
}

void wheel_add(struct wheel *w, struct wheel_node *n, uint64_t due_ns)
{
    if (n->armed)
        wheel_remove(w, n);
    uint64_t ms = due_ns / 1000000ull;
    if (ms < w->cursor_ms)
        ms = w->cursor_ms; /* already due: the next expiry takes it */
    struct wheel_node *head = &w->slots[ms % WHEEL_SLOTS];
    n->due_ns = due_ns;
    n->next = head;
    n->prev = head->prev;
    head->prev->next = n;
    head->prev = n;
    n->armed = 1;
    w->count++;
}

void wheel_remove(struct wheel *w, struct wheel_node *n)
{
    if (!n->armed)
        return;
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = NULL;
    n->armed = 0;
    w->count--;
}

struct wheel_node *wheel_expire(struct wheel *w, uint64_t now_ns, size_t max, int *more)
{
    struct wheel_node *out = NULL, **tail = &out;
    size_t got = 0;
    uint64_t now_ms = now_ns / 1000000ull;
    uint64_t from = w->cursor_ms;
    *more = 0;
    /* after a long pause every slot is visited once, not once per missed millisecond */
    if (now_ms >= from + WHEEL_SLOTS)
        from = now_ms - WHEEL_SLOTS + 1;
    for (uint64_t ms = from; ms <= now_ms; ms++) {
        struct wheel_node *head = &w->slots[ms % WHEEL_SLOTS];
        struct wheel_node *n = head->next;
        while (n != head) {
            struct wheel_node *next = n->next;
            if (n->due_ns <= now_ns) {
                if (got == max) {
                    /* stop here; this slot is where the next call resumes */
                    w->cursor_ms = ms;
                    *more = 1;
                    return out;
                }
                wheel_remove(w, n);
                *tail = n;
                tail = &n->next;
                *tail = NULL;
                got++;
            }
            n = next;
        }
    }
    /* the current millisecond stays open: a node due later in it is still in its slot */
    w->cursor_ms = now_ms;
    return out;
}

uint64_t wheel_next_due(const struct wheel *w)
{
    uint64_t best = UINT64_MAX;
    if (w->count == 0)
        return best;
    for (uint64_t ms = w->cursor_ms; ms < w->cursor_ms + WHEEL_SLOTS; ms++) {
        const struct wheel_node *head = &w->slots[ms % WHEEL_SLOTS];
        uint64_t round_best = UINT64_MAX;
        for (const struct wheel_node *n = head->next; n != head; n = n->next) {
            if (n->due_ns < best)
                best = n->due_ns; /* a later round: the answer when no slot has this round's */
            if (n->due_ns < (ms + 1) * 1000000ull && n->due_ns < round_best)
                round_best = n->due_ns; /* this round's (or past due, parked at the cursor) */
        }
        /* every node in an earlier slot is a round or more later than this one */
        if (round_best != UINT64_MAX)
            return round_best;
    }
    return best;
}
