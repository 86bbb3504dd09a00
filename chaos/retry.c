/* Retries: after a drop, a reset or a close, the same user request is sent again after the
 * user's delay, with the same Idempotency-Key or a new one. */
#include "retry.h"

#include <stdio.h>
#include <stdlib.h>

#include <event2/event.h>

#include "attempt.h"
#include "clientstate.h"

struct retry {
    struct chaos_client *c;
    struct chaos_record rec; /* the attempt being retried */
    const struct chaos_user *user;
    uint32_t retries_left;
    char idem_key[CHAOS_ID_MAX + 16];
    struct event *ev;
};

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct retry *r = arg;
    struct chaos_client *c = r->c;
    c->pending_retries--;
    c->stats.retries++;
    char key[CHAOS_ID_MAX + 16];
    if (r->user->retry_new_key)
        snprintf(key, sizeof key, "%.90s-k%u", r->rec.correlation_id, r->rec.attempt + 1);
    else
        snprintf(key, sizeof key, "%s", r->idem_key);
    /* the retried request is the same request, and this time the user waits for it */
    static const struct chaos_user waiter = {.action = CHAOS_COMPLETE, .weight = 1};
    if (attempt_start(c, r->rec.index, r->rec.correlation_id, r->rec.attempt + 1, &waiter, -1,
                      r->retries_left - 1, key, 0, NULL) == NULL)
        c->in_flight--;
    event_free(r->ev);
    free(r);
    client_maybe_done(c);
}

int retry_schedule(struct xfer *x)
{
    struct chaos_client *c = x->c;
    struct retry *r = calloc(1, sizeof *r);
    if (r == NULL)
        return -1;
    r->c = c;
    r->rec = x->rec;
    r->rec.trace_us = NULL; /* the attempt's trace stays with it */
    r->rec.ntrace = 0;
    r->user = x->user;
    r->retries_left = x->retries_left;
    snprintf(r->idem_key, sizeof r->idem_key, "%s", x->idem_key);
    r->ev = evtimer_new(c->base, retry_cb, r);
    if (r->ev == NULL) {
        free(r);
        return -1;
    }
    uint32_t ms = x->user->retry_delay_ms;
    struct timeval tv = {ms / 1000, (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(r->ev, &tv);
    c->pending_retries++;
    return 0;
}
