/* The mock's tick: sleeps until the next due timer, fires what is due in bounded batches. */
#include "tick.h"

#include <sys/time.h>

#include <event2/event.h>

#include "clock.h"
#include "mock_internal.h"

/* When the tick should fire for a token due at due_ns: never sooner than one wheel slot from
 * now (a tick per slot at most, as many tokens as fall in it), never later than due. */
static uint64_t tick_at(uint64_t now, uint64_t due_ns)
{
    return due_ns > now + MOCK_TICK_NS ? due_ns : now + MOCK_TICK_NS;
}

static void tick_schedule(struct mock *m, uint64_t now, uint64_t at)
{
    /* rounded up to the microsecond: a tick a little early finds nothing due and waits a slot */
    uint64_t us = at > now ? (at - now + 999) / 1000 : 1;
    struct timeval tv = {(time_t)(us / 1000000ull), (suseconds_t)(us % 1000000ull)};
    m->tick_at_ns = at;
    evtimer_add(m->tick, &tv);
}

void tick_arm(struct mock *m, struct wheel_node *n, uint64_t due_ns)
{
    wheel_add(&m->wheel, n, due_ns);
    if (m->in_tick)
        return; /* the tick schedules itself when it is done */
    uint64_t now = clock_now_ns();
    uint64_t at = tick_at(now, due_ns);
    if (!evtimer_pending(m->tick, NULL) || m->tick_at_ns > at)
        tick_schedule(m, now, at);
}

/* Burns ms of CPU: --debug-tick-burn-ms, a mock made to fall behind on purpose (tests). */
static void burn(unsigned ms)
{
    uint64_t until = clock_now_ns() + (uint64_t)ms * 1000000ull;
    while (clock_now_ns() < until)
        ;
}

/* While timers are armed: fire the tokens that are due, then sleep until the next one is (at
 * least a wheel slot), so one idle "keeps generating" stream wakes the loop at its own rate,
 * not a thousand times a second. */
void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct mock *m = arg;
    if (m->cfg.debug_tick_burn_ms)
        burn(m->cfg.debug_tick_burn_ms);
    uint64_t now = clock_now_ns();
    int more = 0;
    m->in_tick = 1;
    /* a bounded batch, then I/O gets its turn: a peer's close is noticed between batches,
     * not behind thousands of token writes */
    struct wheel_node *n = wheel_expire(&m->wheel, now, MOCK_TICK_BATCH, &more);
    while (n) {
        struct wheel_node *next = n->next;
        m->fire(m, n, now);
        n = next;
    }
    m->in_tick = 0;
    /* a batch cut short has work waiting, and the next pass works out when to sleep (no walk
     * of a full wheel slot here); tokens that fell due while this batch ran are late already.
     * Either way go again once the sockets had their turn, rather than sleeping a slot. */
    uint64_t due = 0, t = 0;
    if (!more) {
        due = wheel_next_due(&m->wheel);
        t = clock_now_ns();
        more = due <= t;
    }
    if (more) {
        /* a zero timeout, not event_active: libevent runs activated events before it polls
         * again, timeouts only after, so sockets get their turn first */
        struct timeval zero = {0, 0};
        evtimer_add(m->tick_more, &zero);
        return;
    }
    if (due == UINT64_MAX) {
        evtimer_del(m->tick); /* idle: no wake-ups */
        return;
    }
    tick_schedule(m, t, tick_at(t, due));
}
