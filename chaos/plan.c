/* Plans: which kind of user request 'index' is and when it acts, drawn from the seed alone, so
 * timing never changes a plan. */
#include "plan.h"

static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double unit(uint64_t z)
{
    return (double)(z >> 11) / (double)(1ull << 53);
}

static uint32_t draw(const struct chaos_range *r, uint64_t z);

size_t chaos_plan(const struct chaos_config *cfg, uint32_t index, int64_t *trigger_at)
{
    /* two independent draws per request from (seed, index): timing never changes the plan */
    uint64_t a = mix64(cfg->seed ^ mix64((uint64_t)index * 2 + 1));
    uint64_t b = mix64(a ^ 0xa5a5a5a5a5a5a5a5ull);
    double total = 0;
    for (size_t i = 0; i < cfg->nusers; i++)
        total += cfg->users[i].weight;
    double pick = unit(a) * total, acc = 0;
    size_t u = cfg->nusers - 1;
    for (size_t i = 0; i < cfg->nusers; i++) {
        acc += cfg->users[i].weight;
        if (pick < acc) {
            u = i;
            break;
        }
    }
    const struct chaos_user *user = &cfg->users[u];
    if (user->action == CHAOS_COMPLETE || user->trigger == CHAOS_AT_FIRST_BYTE)
        *trigger_at = user->action == CHAOS_COMPLETE ? -1 : 0;
    else
        *trigger_at = draw(&user->at, b);
    return u;
}

static uint32_t draw(const struct chaos_range *r, uint64_t z)
{
    uint64_t span = (uint64_t)r->hi - r->lo + 1;
    uint64_t v = r->lo + (uint64_t)(unit(z) * (double)span);
    return v > r->hi ? r->hi : (uint32_t)v;
}

uint32_t plan_think_draw(const struct chaos_config *cfg, uint32_t index)
{
    uint64_t a = mix64(cfg->seed ^ mix64((uint64_t)index * 2 + 1));
    return draw(&cfg->think_ms, mix64(a ^ 0x5a5a5a5a5a5a5a5aull));
}
