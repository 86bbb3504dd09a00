/* A retry: the same user request sent again after a drop, a reset or a close, on a timer. */
#ifndef CHAOS_RETRY_H
#define CHAOS_RETRY_H

struct xfer;

/* Schedules the next attempt of 'x' (its record and key copied) after the user's retry delay.
 * Returns 0, or -1 on out of memory (no retry then). */
int retry_schedule(struct xfer *x);

#endif
