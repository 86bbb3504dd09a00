/* The seeded draws behind every user's plan (chaos_plan in client.h) and think times. */
#ifndef CHAOS_PLAN_H
#define CHAOS_PLAN_H

#include <stdint.h>

#include "client.h"

/* The think time after user request 'index' (closed model): a third draw from (seed, index). */
uint32_t plan_think_draw(const struct chaos_config *cfg, uint32_t index);

#endif
