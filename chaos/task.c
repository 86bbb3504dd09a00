/* Agent tasks: a user's several requests, sharing one trigger, left all at once. */
#include "task.h"

#include <stdio.h>
#include <stdlib.h>

#include <event2/event.h>

#include "attempt.h"
#include "clientstate.h"
#include "think.h"
#include "trigger.h"

void task_free(struct task *t)
{
    if (t->pending)
        t->c->deferred--;
    if (t->ev)
        event_free(t->ev);
    if (t->next_ev)
        event_free(t->next_ev);
    free(t);
}

/* Starts the task's next request (the first, or the one after a completed one). */
static int task_next(struct task *t)
{
    struct chaos_client *c = t->c;
    char cid[CHAOS_ID_MAX];
    uint32_t k = t->started++;
    if (k == 0)
        snprintf(cid, sizeof cid, "%s", t->cid);
    else
        snprintf(cid, sizeof cid, "%.80s-t%u", t->cid, k);
    if (attempt_start(c, t->index, cid, 1, t->user, t->trigger_at, 0, NULL, 0, t) == NULL) {
        c->stats.errors++;
        return -1;
    }
    return 0;
}

/* The task is over once nothing of it runs or waits: its slot goes (and thinks) then. */
static void task_maybe_end(struct task *t)
{
    if (t->live || t->pending || t->holding)
        return;
    struct chaos_client *c = t->c;
    for (struct task **pp = &c->tasks; *pp; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    struct chaos_record last = t->last;
    task_free(t);
    think_free_slot(c, last.correlation_id[0] ? &last : NULL);
}

static void task_next_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct task *t = arg;
    struct chaos_client *c = t->c;
    t->pending = 0;
    c->deferred--;
    if (!t->fired && t->started < t->user->task_requests)
        task_next(t);
    task_maybe_end(t);
    client_maybe_done(c);
}

/* Acts on every request of the task in flight except 'from' (NULL: all of them). */
static void fire_task(struct task *t, struct xfer *from)
{
    struct xfer *live[CHAOS_TASK_MAX];
    size_t n = 0;
    for (struct xfer *y = t->c->xfers; y && n < CHAOS_TASK_MAX; y = y->next)
        if (y->task == t && y != from && !y->fired && !y->is_cancel_call)
            live[n++] = y;
    t->holding = 1; /* a request ending under trigger_fire() must not free the task here */
    for (size_t i = 0; i < n; i++)
        trigger_fire(live[i], 0);
    t->holding = 0;
    task_maybe_end(t);
}

/* The task's timer: its ms trigger, or the rest of its fire (see task_fire_others). */
static void task_ev_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct task *t = arg;
    t->fired = 1;
    fire_task(t, NULL);
}

/* 'from' acted for its task: the others follow at once, or, from inside curl's write
 * callback (where no other transfer may be taken out), from the loop right after. */
void task_fire_others(struct task *t, struct xfer *from, int in_write)
{
    if (in_write && from->easy) {
        struct timeval now = {0, 0};
        evtimer_del(t->ev);
        evtimer_add(t->ev, &now);
        return;
    }
    evtimer_del(t->ev);
    fire_task(t, from);
}

/* One of the task's requests ended: a tool loop sends the next once one completes. */
void task_member_done(struct xfer *x)
{
    struct task *t = x->task;
    struct chaos_client *c = t->c;
    t->live--;
    t->last = x->rec;
    t->last.trace_us = NULL;
    t->last.ntrace = 0;
    if (!t->fired && !t->user->task_parallel && t->started < t->user->task_requests &&
        x->rec.end == CHAOS_END_COMPLETE) {
        struct timeval now = {0, 0};
        if (evtimer_add(t->next_ev, &now) == 0) {
            t->pending = 1;
            c->deferred++;
        }
    }
    if (!t->live && !t->pending)
        evtimer_del(t->ev); /* nothing left to act on */
    task_maybe_end(t);
}

/* A user with a task: its first request (all of them for a fan-out), the task's ms trigger. */
int task_start(struct chaos_client *c, uint32_t index, const char *cid,
               const struct chaos_user *user, int64_t trigger_at)
{
    struct task *t = calloc(1, sizeof *t);
    if (t == NULL)
        return -1;
    t->c = c;
    t->user = user;
    t->index = index;
    t->trigger_at = trigger_at;
    snprintf(t->cid, sizeof t->cid, "%s", cid);
    t->ev = evtimer_new(c->base, task_ev_cb, t);
    t->next_ev = evtimer_new(c->base, task_next_cb, t);
    if (t->ev == NULL || t->next_ev == NULL) {
        task_free(t);
        return -1;
    }
    t->next = c->tasks;
    c->tasks = t;
    uint32_t n = user->task_parallel ? user->task_requests : 1;
    int started = 0;
    t->holding = 1;
    for (uint32_t k = 0; k < n; k++)
        started += task_next(t) == 0;
    t->holding = 0;
    if (started && user->action != CHAOS_COMPLETE && user->trigger == CHAOS_AT_MS) {
        event_base_update_cache_time(c->base);
        struct timeval tv = {(time_t)(trigger_at / 1000), (suseconds_t)(trigger_at % 1000) * 1000};
        evtimer_add(t->ev, &tv);
    }
    if (started == 0) {
        c->tasks = t->next;
        task_free(t);
        return -1;
    }
    task_maybe_end(t);
    return 0;
}
