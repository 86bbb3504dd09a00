/* The state of one chaos client, shared by its files: the client (client.c: starting users,
 * refilling slots, reaping), its attempts (attempt.c), their triggers, readers and sockets, the
 * agent tasks, retries and think times. Nothing outside chaos/ sees it. */
#ifndef CHAOS_CLIENTSTATE_H
#define CHAOS_CLIENTSTATE_H

#include <stdint.h>

#include "client.h"

struct event;
struct curlev;
struct h2pool;
struct xfer;
struct half_closed;
struct think;
struct task;

struct chaos_client {
    struct event_base *base;
    struct chaos_config cfg;
    struct curlev *cv;  /* curl's multi handle on our loop */
    struct event *reap; /* deferred work outside curl's callbacks */
    struct event *pace; /* arrival-rate starts */
    struct event *ask;  /* may_start said not yet: ask again */
    uint64_t t_start_ns;
    struct xfer *xfers; /* in flight */
    struct xfer *dead;  /* finished, freed by reap */
    struct half_closed *half_closed;
    struct think *thinking;
    struct task *tasks;
    uint32_t next_index; /* next user request to start (its index in the whole run) */
    uint32_t in_flight;  /* user requests in flight (attempts and retry waits) */
    uint32_t pending_retries;
    uint32_t deferred; /* deferred starts not yet run */
    int started, done_reported;
    struct chaos_stats stats;
    double weight_total;
    struct h2pool *h2; /* HTTP/2: the connections users share */
};

/* Runs the reap (frees finished attempts, refills) from the loop, outside curl's callbacks. */
void client_schedule_reap(struct chaos_client *c);
/* Refills the slots and reports on_done once every request, retry and cleanup finished. */
void client_maybe_done(struct chaos_client *c);

#endif
