/* The chaos client. HTTP/1.1 runs on libcurl multi-socket on libevent (common/curlev, after
 * curl's hiperfifo example): curl tells us which sockets to watch and when to wake it; libevent
 * runs its actions. We open and close every socket ourselves (teardown.c) so an abort can be a
 * clean FIN, an RST, or nothing at all, exactly as the action says. HTTP/2 runs on nghttp2
 * (h2pool.c), whose streams we reset ourselves: libcurl 7.88 holds a lone stream's RST_STREAM
 * back until its connection's next frame (curl issue 17611), which would make a gateway look
 * slow to cancel when it is not. This file starts the users, keeps the slots full and reaps. */
#include "client.h"

#include <stdio.h>
#include <stdlib.h>

#include <event2/event.h>

#include "attempt.h"
#include "clientstate.h"
#include "clock.h"
#include "config.h"
#include "curlev.h"
#include "h2pool.h"
#include "plan.h"
#include "task.h"
#include "teardown.h"
#include "think.h"

static void reap_cb(evutil_socket_t fd, short what, void *arg);
static void pace_cb(evutil_socket_t fd, short what, void *arg);
static void curl_pass_cb(void *arg);

struct chaos_client *chaos_client_new(struct event_base *base, const struct chaos_config *cfg,
                                      char *err, size_t errlen)
{
    if (chaos_config_validate(cfg, err, errlen) != 0)
        return NULL;
    struct chaos_client *c = calloc(1, sizeof *c);
    if (c == NULL) {
        snprintf(err, errlen, "chaos client: out of memory");
        return NULL;
    }
    c->base = base;
    c->cfg = *cfg;
    if (c->cfg.timeout_ms == 0)
        c->cfg.timeout_ms = 60000;
    if (c->cfg.id_prefix == NULL)
        c->cfg.id_prefix = "tg";
    /* a shard starts the indices i with i % count == index, each with the plan (seed, i) it
     * has in the whole run */
    c->next_index = c->cfg.shard_count > 1 ? c->cfg.shard_index : 0;
    const struct curlev_callbacks cbs = {
        .done_cb = attempt_done_cb, .pass_cb = curl_pass_cb, .arg = c};
    c->cv = curlev_new(base, &cbs, err, errlen);
    if (c->cv == NULL)
        goto fail;
    if (c->cfg.http != CHAOS_HTTP_1_1) {
        /* streams share a connection up to the limit, past it another opens, as tabs on one
         * origin share the browser's (CLIENTS.md) */
        if (c->cfg.users_per_connection == 0)
            c->cfg.users_per_connection = CHAOS_USERS_PER_CONNECTION;
        const struct h2pool_config hc = {
            .url = c->cfg.req.url,
            .ca_file = c->cfg.req.ca_file,
            .tls_insecure = c->cfg.req.tls_insecure,
            .streams_per_conn = c->cfg.users_per_connection,
            .rcvbuf = c->cfg.rcvbuf,
            .timeout_ms = c->cfg.timeout_ms,
        };
        c->h2 = h2pool_new(base, &hc, err, errlen);
        if (c->h2 == NULL)
            goto fail;
    }
    c->reap = event_new(base, -1, 0, reap_cb, c);
    c->pace = evtimer_new(base, pace_cb, c);
    c->ask = evtimer_new(base, pace_cb, c);
    if (c->reap == NULL || c->pace == NULL || c->ask == NULL) {
        snprintf(err, errlen, "chaos client: out of memory");
        goto fail;
    }
    return c;
fail:
    chaos_client_free(c);
    return NULL;
}

void chaos_client_free(struct chaos_client *c)
{
    if (c == NULL)
        return;
    h2pool_free(c->h2); /* every stream, without a callback */
    struct xfer *lists[2] = {c->xfers, c->dead};
    for (int i = 0; i < 2; i++) {
        struct xfer *x = lists[i];
        while (x) {
            struct xfer *n = x->next;
            if (x->easy && !x->removed)
                curlev_remove(c->cv, x->easy);
            attempt_free(x);
            x = n;
        }
    }
    teardown_free_all(c);
    think_free_all(c);
    while (c->tasks) {
        struct task *n = c->tasks->next;
        task_free(c->tasks);
        c->tasks = n;
    }
    curlev_free(c->cv);
    if (c->reap)
        event_free(c->reap);
    if (c->pace)
        event_free(c->pace);
    if (c->ask)
        event_free(c->ask);
    free(c);
}

struct chaos_stats chaos_client_stats(const struct chaos_client *c)
{
    return c->stats;
}

void client_schedule_reap(struct chaos_client *c)
{
    event_active(c->reap, EV_TIMEOUT, 0);
}

/* After every pass of curl's socket actions: free what finished and refill, from the loop. */
static void curl_pass_cb(void *arg)
{
    client_schedule_reap(arg);
}

/* Keeps 'concurrency' user requests in flight; with an arrival rate, no more than the rate has
 * allowed so far (an open model: arrivals do not wait for earlier answers, up to the cap). */
static void fill(struct chaos_client *c)
{
    uint64_t allowed = c->cfg.requests;
    if (c->cfg.rate_per_s > 0) {
        double elapsed = (double)(clock_now_ns() - c->t_start_ns) / 1e9;
        allowed = (uint64_t)(elapsed * c->cfg.rate_per_s) + 1;
        if (allowed > c->cfg.requests)
            allowed = c->cfg.requests;
    }
    while (c->next_index < allowed && c->in_flight < c->cfg.concurrency) {
        if (c->cfg.may_start && !c->cfg.may_start(c->cfg.may_start_arg, c->next_index)) {
            /* not yet: ask again on a timer, never blocking the loop */
            if (!evtimer_pending(c->ask, NULL)) {
                struct timeval tv = {0, CHAOS_MAY_START_POLL_MS * 1000};
                evtimer_add(c->ask, &tv);
            }
            break;
        }
        uint32_t i = c->next_index;
        c->next_index += c->cfg.shard_count > 1 ? c->cfg.shard_count : 1;
        int64_t at;
        size_t u = chaos_plan(&c->cfg, i, &at);
        char cid[CHAOS_ID_MAX];
        snprintf(cid, sizeof cid, "%.60s-%u", c->cfg.id_prefix, i);
        c->in_flight++;
        const struct chaos_user *user = &c->cfg.users[u];
        int ok = user->task_requests > 1
                     ? task_start(c, i, cid, user, at) == 0
                     : attempt_start(c, i, cid, 1, user, at, user->retries, NULL, 0, NULL) != NULL;
        if (!ok) {
            c->in_flight--;
            c->stats.errors++;
        }
    }
    if (c->cfg.rate_per_s > 0 && c->next_index < c->cfg.requests &&
        !evtimer_pending(c->pace, NULL)) {
        double due = (double)c->next_index / c->cfg.rate_per_s; /* s after the start */
        double now = (double)(clock_now_ns() - c->t_start_ns) / 1e9;
        double wait = due > now ? due - now : 0.001;
        struct timeval tv = {(time_t)wait, (suseconds_t)((wait - (double)(time_t)wait) * 1e6)};
        evtimer_add(c->pace, &tv);
    }
}

static void pace_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct chaos_client *c = arg;
    fill(c);
    client_maybe_done(c);
}

void client_maybe_done(struct chaos_client *c)
{
    if (!c->started || c->done_reported)
        return;
    fill(c);
    if (c->next_index < c->cfg.requests || c->in_flight || c->pending_retries || c->xfers ||
        c->half_closed || c->thinking || c->deferred || c->tasks)
        return;
    c->done_reported = 1;
    if (c->cfg.on_done)
        c->cfg.on_done(c->cfg.done_arg);
}

/* Frees finished transfers and refills, outside curl's callbacks. */
static void reap_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct chaos_client *c = arg;
    while (c->dead) {
        struct xfer *x = c->dead;
        c->dead = x->next;
        attempt_free(x);
    }
    client_maybe_done(c);
}

int chaos_client_start(struct chaos_client *c, char *err, size_t errlen)
{
    if (c->started) {
        snprintf(err, errlen, "chaos client: already started");
        return -1;
    }
    c->started = 1;
    c->t_start_ns = clock_now_ns();
    if (c->next_index >= c->cfg.requests) {
        /* a shard whose share is empty (more shards than requests): done from the loop */
        struct timeval now = {0, 0};
        evtimer_add(c->ask, &now);
        return 0;
    }
    fill(c);
    if (c->in_flight == 0 && !evtimer_pending(c->ask, NULL)) {
        snprintf(err, errlen, "chaos client: no request could be started");
        return -1;
    }
    return 0;
}
