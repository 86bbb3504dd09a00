/* Agent tasks: a user's several requests (a tool loop one after another, or a fan-out all at
 * once) that share one trigger and are left all at once. */
#ifndef CHAOS_TASK_H
#define CHAOS_TASK_H

#include <stdint.h>

#include "client.h"

struct event;
struct xfer;

/* An agent task: a user's several requests, left all at once (chaos_user.task_requests). */
struct task {
    struct chaos_client *c;
    const struct chaos_user *user;
    uint32_t index;
    int64_t trigger_at;
    char cid[CHAOS_ID_MAX];
    uint32_t started;         /* requests started so far */
    uint32_t live;            /* in flight */
    uint32_t pending;         /* a next request waits to start from the loop */
    uint64_t tokens;          /* delivered to all its requests */
    int fired;                /* the user acted */
    int holding;              /* fire_task is walking its requests: it frees the task after */
    struct event *ev;         /* the ms trigger; then the others' fire from a curl callback */
    struct event *next_ev;    /* the next request's start, from the loop */
    struct chaos_record last; /* its last request's record, for the slot's think time */
    struct task *next;
};

/* A user with a task: its first request (all of them for a fan-out), the task's ms trigger.
 * Returns 0, or -1 when none could start. Borrows 'user'; copies 'cid'. */
int task_start(struct chaos_client *c, uint32_t index, const char *cid,
               const struct chaos_user *user, int64_t trigger_at);
/* Frees a task (unlinked by the caller). */
void task_free(struct task *t);
/* 'from' acted for its task: the others follow at once, or, from inside curl's write callback,
 * from the loop right after. */
void task_fire_others(struct task *t, struct xfer *from, int in_write);
/* One of the task's requests ended (x->task is its task). */
void task_member_done(struct xfer *x);

#endif
