/* Monotonic clock in nanoseconds: every time tailgate records is on this clock. */
#ifndef TG_CLOCK_H
#define TG_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in ns. */
uint64_t clock_now_ns(void);

#endif
