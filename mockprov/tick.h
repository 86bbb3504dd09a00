/* The mock's tick: the event that drives its token wheel. It sleeps until the next timer on the
 * wheel is due (never waking more than once a wheel slot), then hands what is due to the mock's
 * fire hook in bounded batches, with the sockets polled between them. It knows wheel nodes, not
 * generations: the hook (mock->fire, gen_fire) turns a node into tokens. */
#ifndef MP_TICK_H
#define MP_TICK_H

#include <stdint.h>

#include <event2/util.h>

#include "wheel.h"

#define MOCK_TICK_BATCH 32      /* streams per pass of the wheel before I/O gets a turn */
#define MOCK_TICK_NS 1000000ull /* a wheel slot: the tick never fires more often */

struct mock;

/* Puts n on the mock's wheel for due_ns, and wakes the tick sooner when it would sleep past
 * it (within a tick, the tick schedules itself when it is done). */
void tick_arm(struct mock *m, struct wheel_node *n, uint64_t due_ns);

/* The mock's tick and tick_more events (arg: the mock). */
void tick_cb(evutil_socket_t fd, short what, void *arg);

#endif
