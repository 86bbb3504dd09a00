/* A scenario's chaos client split over forked worker processes, one event loop each: worker w of
 * W runs the users i with i % (N*W) == I + N*w (I/N the run's shard, 0/1 unsharded), each with
 * the plan and arrival time it has in the whole run, and writes every finished record as one
 * JSON line to a pipe the runner reads on its own loop. */
#ifndef RUNNER_WORKERS_H
#define RUNNER_WORKERS_H

#include <stddef.h>
#include <stdint.h>

#include "chaos/client.h"

struct event_base;

#define WORKERS_MAX 256                      /* worker processes per scenario */
#define WORKERS_LINE_MAX_BYTES (1024 * 1024) /* one record's line, its token trace included */
#define WORKERS_ABORT_ENV "TAILGATE_TEST_WORKER_ABORT" /* tests: worker N dies after a record */

struct workers;

/* Parses --workers: a number 1..WORKERS_MAX or "auto" (the online CPUs). Returns 0, or -1 with
 * err saying what is wrong. */
int workers_parse(const char *text, uint32_t *out, char *err, size_t errlen);

/* Forks n workers for cfg (its shard_index/shard_count the run's, 0/0 unsharded; its
 * concurrency the run's share, split over the workers as shards split it). cfg's may_start and
 * drop hooks are not carried over: a scenario needing them runs in-process. Each record read
 * back goes to cfg->on_record (borrowed for the call); cfg->on_done is called once every worker
 * has ended, or at the first one that failed. Returns NULL with err filled when none started. */
struct workers *workers_start(struct event_base *base, const struct chaos_config *cfg, uint32_t n,
                              char *err, size_t errlen);
/* Why the workers could not be trusted (a worker died, exited non-zero or sent a torn or
 * unparsable line): copies it to why and returns -1; 0 when none failed. */
int workers_error(const struct workers *ws, char *why, size_t len);
/* Kills (by PID) and reaps every worker still running, and frees; NULL is fine. Not from inside
 * an on_record callback. */
void workers_free(struct workers *ws);

#endif
