/* Think time between two user requests of a slot (closed model). */
#include "think.h"

#include <stdlib.h>

#include <event2/event.h>

#include "clientstate.h"
#include "plan.h"

/* A slot thinking between two user requests (closed model). */
struct think {
    struct chaos_client *c;
    struct event *ev;
    struct think *next;
};

static void think_free(struct think *t)
{
    if (t->ev)
        event_free(t->ev);
    free(t);
}

static void think_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct think *t = arg;
    struct chaos_client *c = t->c;
    struct think **pp = &c->thinking;
    while (*pp && *pp != t)
        pp = &(*pp)->next;
    if (*pp)
        *pp = t->next;
    think_free(t);
    c->in_flight--;
    client_maybe_done(c);
}

/* A user request ended ('rec' NULL: a follow-up, which thinks not): in the closed model its
 * slot thinks for the drawn time before the next request may take it (not after the last). */
void think_free_slot(struct chaos_client *c, const struct chaos_record *rec)
{
    uint32_t ms = 0;
    if (rec && c->cfg.rate_per_s <= 0 && c->cfg.think_ms.hi > 0 && c->next_index < c->cfg.requests)
        ms = plan_think_draw(&c->cfg, rec->index);
    struct think *t = ms ? calloc(1, sizeof *t) : NULL;
    if (t) {
        t->c = c;
        t->ev = evtimer_new(c->base, think_cb, t);
        /* libevent measures timeouts from the loop's cached time, which can be a little stale */
        event_base_update_cache_time(c->base);
        struct timeval tv = {ms / 1000, (suseconds_t)(ms % 1000) * 1000};
        if (t->ev && evtimer_add(t->ev, &tv) == 0) {
            t->next = c->thinking;
            c->thinking = t;
            return; /* the slot stays taken until think_cb */
        }
        think_free(t);
    }
    c->in_flight--;
}

void think_free_all(struct chaos_client *c)
{
    while (c->thinking) {
        struct think *n = c->thinking->next;
        think_free(c->thinking);
        c->thinking = n;
    }
}
