/* A user's action at its trigger, and the attempt's timer: an ms trigger, the end of a
 * background stall, a drop's give-up, the close of a superseded stream. */
#include "trigger.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "action.h"
#include "attempt.h"
#include "cancelcall.h"
#include "clientstate.h"
#include "clock.h"
#include "curlev.h"
#include "h2pool.h"
#include "task.h"

#define CLIENT_SUPERSEDE_WAIT_MS 2000 /* the old stream closes by then if its successor stalls */

/* HTTP/2: a FIN-kind close is this stream's RST_STREAM(CANCEL), which leaves the connection
 * to the others; an RST-kind one resets the whole connection, as a killed browser does, and
 * every stream on it ends (this one in h2_end_cb, as its action says). */
static void abort_h2(struct xfer *x, enum action_close how, enum chaos_end end)
{
    const struct action_row *row = x->fired ? action_row(x->user->action) : NULL;
    int is_abort = row && row->close_is_abort && row->teardown == how;
    if (x->hs == NULL)
        return; /* ended already */
    /* t_abort is the instant before the frame or the reset reaches the kernel, as a close()
     * over HTTP/1.1 */
    if (is_abort)
        x->rec.t_abort_ns = clock_now_ns();
    if (how == ACTION_CLOSE_RST || how == ACTION_CLOSE_SILENT) {
        x->teardown = how;
        x->abort_end = end;
        h2stream_kill_connection(x->hs);
        return;
    }
    x->rec.local_port = h2stream_local_port(x->hs);
    h2stream_cancel(x->hs);
    x->hs = NULL;
    attempt_finish(x, end, x->h2_status, NULL);
}

/* Takes the attempt out and ends its record; for curl, safe outside its callbacks only. */
static void abort_now(struct xfer *x, enum action_close how, enum chaos_end end)
{
    if (x->easy == NULL) {
        abort_h2(x, how, end);
        return;
    }
    x->teardown = how;
    x->removed = 1;
    curlev_remove(x->c->cv, x->easy); /* closes the socket through our callback */
    long status = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    attempt_finish(x, end, status, NULL);
}

void trigger_arm(struct xfer *x, uint32_t ms)
{
    /* libevent measures timeouts from the loop's cached time, which can be a little stale */
    event_base_update_cache_time(x->c->base);
    struct timeval tv = {ms / 1000, (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(x->trigger_ev, &tv);
}

/* A request started from the loop, never from inside curl's callbacks. */
struct deferred {
    struct chaos_client *c;
    struct xfer *owner; /* cancel call: held by cancel_outstanding until it answers */
    int cancel;
    uint32_t index;
    char cid[CHAOS_ID_MAX];
};

static void deferred_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct deferred *d = arg;
    struct chaos_client *c = d->c;
    c->deferred--;
    if (d->cancel) {
        cancelcall_start(d->owner);
    } else {
        static const struct chaos_user follow = {.action = CHAOS_COMPLETE, .weight = 1};
        c->in_flight++;
        if (attempt_start(c, d->index, d->cid, 1, &follow, -1, 0, NULL, 1, NULL) == NULL) {
            c->in_flight--;
            c->stats.errors++;
        }
    }
    free(d);
    client_maybe_done(c);
}

static void defer_start(struct xfer *x, int cancel)
{
    struct chaos_client *c = x->c;
    struct deferred *d = calloc(1, sizeof *d);
    struct timeval now = {0, 0};
    if (d) {
        d->c = c;
        d->cancel = cancel;
        d->owner = x;
        d->index = x->rec.index;
        snprintf(d->cid, sizeof d->cid, "%s", x->rec.superseded_by);
        if (cancel)
            x->cancel_outstanding = 1;
        if (event_base_once(c->base, -1, EV_TIMEOUT, deferred_cb, d, &now) == 0) {
            c->deferred++;
            return;
        }
        free(d);
    }
    if (cancel) {
        x->cancel_outstanding = 0;
        x->rec.cancel_status = -1;
    }
}

/* The action, at its trigger; what it does to the socket is its row in chaos/action.c.
 * in_write: called from inside curl's write callback, where the transfer cannot be removed. */
enum fire_result trigger_fire(struct xfer *x, int in_write)
{
    struct chaos_client *c = x->c;
    const struct chaos_user *u = x->user;
    const struct action_row *row = action_row(u->action);
    x->fired = 1;
    x->rec.t_abort_ns = clock_now_ns(); /* a close that is the abort stamps it again */
    if (x->task && !x->task->fired) {
        x->task->fired = 1; /* the whole task goes with this one */
        task_fire_others(x->task, x, in_write);
    }
    x->rec.delivered_tokens = x->sc.tokens;
    x->abort_end = row->end;
    c->stats.aborted++;
    if (u->action == CHAOS_STOP_BUTTON && u->cancel_call)
        defer_start(x, 1);
    switch (u->action) {
    case CHAOS_COMPLETE:
        return FIRE_GO_ON;
    case CHAOS_TAB_CLOSE:
    case CHAOS_RESET:
    case CHAOS_HALF_CLOSE:
    case CHAOS_STOP_BUTTON:
        if (in_write && x->easy) {
            x->teardown = row->teardown;
            return FIRE_FAIL;
        }
        abort_now(x, row->teardown, row->end); /* HTTP/2: from its data callback too */
        return in_write ? FIRE_DISCARD : FIRE_GO_ON;
    case CHAOS_SUPERSEDE:
        /* The replacement goes out first, as an edit-resend or a barge-in does: this stream
         * stops being read now and is closed when the replacement's request is about to be
         * sent (trigger_prereq_cb), or at the bound if it never gets that far. */
        snprintf(x->rec.superseded_by, sizeof x->rec.superseded_by, "%.80s-s%u",
                 x->rec.correlation_id, x->rec.attempt);
        defer_start(x, 0);
        trigger_arm(x, CLIENT_SUPERSEDE_WAIT_MS);
        if (x->easy == NULL) {
            /* HTTP/2: read and dropped until the reset, so the stream's window stays open as
             * a browser's does for a tab it is about to cancel */
            x->discard = 1;
            return in_write ? FIRE_DISCARD : FIRE_GO_ON;
        }
        if (in_write)
            return FIRE_PAUSE;
        curl_easy_pause(x->easy, CURLPAUSE_RECV);
        return FIRE_GO_ON;
    case CHAOS_NETWORK_DROP: {
        char err[128];
        if (c->cfg.drop(c->cfg.drop_arg, attempt_local_port(x), u->drop_rst_after_ms, err,
                        sizeof err) != 0) {
            c->stats.drops_failed++;
            snprintf(x->rec.error, sizeof x->rec.error, "drop: %.100s", err);
        }
        /* the user waits on a dead connection, then gives up on it */
        trigger_arm(x, u->drop_give_up_ms ? u->drop_give_up_ms : 2000);
        return FIRE_GO_ON;
    }
    case CHAOS_BACKGROUND:
        if (x->easy == NULL)
            h2stream_pause(x->hs, 1); /* its window fills; the other streams flow */
        else if (in_write)
            x->pause_pending = 1; /* pausing happens on the next chunk, which curl then keeps */
        else
            curl_easy_pause(x->easy, CURLPAUSE_RECV);
        trigger_arm(x, u->background_ms);
        return FIRE_GO_ON;
    case CHAOS_ACTION_COUNT:
        break;
    }
    return FIRE_GO_ON;
}

/* Timer: an ms trigger, the end of a background stall, a drop's give-up, or the close of a
 * superseded stream. */
void trigger_ev_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct xfer *x = arg;
    const struct chaos_user *u = x->user;
    const struct action_row *row = action_row(u->action);
    if (!x->fired) {
        trigger_fire(x, 0);
        return;
    }
    if (u->action == CHAOS_NETWORK_DROP || u->action == CHAOS_SUPERSEDE) {
        abort_now(x, row->teardown, row->end);
    } else if (u->action == CHAOS_BACKGROUND && u->background_kill) {
        abort_now(x, row->kill, row->kill_end);
    } else if (u->action == CHAOS_BACKGROUND && x->easy == NULL) {
        h2stream_pause(x->hs, 0);
    } else if (u->action == CHAOS_BACKGROUND) {
        x->pause_pending = 0;
        curl_easy_pause(x->easy, CURLPAUSE_CONT);
        curlev_check(x->c->cv);
    }
}

/* The replacement 'k' is about to send its request (or ended without): close the stream it
 * supersedes now, from the loop. Linear scan: once per replacement, over requests in flight. */
void trigger_release_superseded(struct xfer *k)
{
    for (struct xfer *x = k->c->xfers; x; x = x->next) {
        if (x == k || !x->fired || x->user->action != CHAOS_SUPERSEDE ||
            strcmp(x->rec.superseded_by, k->rec.correlation_id) != 0)
            continue;
        struct timeval now = {0, 0};
        evtimer_del(x->trigger_ev);
        evtimer_add(x->trigger_ev, &now);
    }
}

/* curl: the connection is up and the request goes out as this returns. */
int trigger_prereq_cb(void *arg, char *primary_ip, char *local_ip, int primary_port,
                      int local_port_)
{
    (void)primary_ip;
    (void)local_ip;
    (void)primary_port;
    (void)local_port_;
    trigger_release_superseded(arg);
    return CURL_PREREQFUNC_OK;
}
