/* A shard: the I-th of N deterministic shares of every scenario's users (user request i belongs
 * to shard i % N, with the plan and arrival time it has in the whole run), run against a mock
 * the shards share, where a scope (a correlation-id prefix) keeps each shard's settings, ledger
 * records and stream counts its own. Its run folder carries shard.json and a copy of each
 * scenario, which is what `tailgate merge` needs beyond a run's usual artifacts. */
#ifndef RUNNER_SHARD_H
#define RUNNER_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include "results.h"

#define SHARD_MAX 10000 /* shards in one run */
#define SHARD_FILE "shard.json"
#define SHARD_FORMAT 1 /* shard.json's format: a merge refuses others by name */

/* Parses "I/N" (0 <= I < N <= SHARD_MAX). Returns 0, or -1 with err saying what is wrong. */
int shard_parse(const char *text, uint32_t *index, uint32_t *count, char *err, size_t errlen);
/* The shard's scope on the mock and its correlation ids' start: "s<I>of<N>:". */
void shard_scope(uint32_t index, uint32_t count, char *out, size_t len);
/* The shard's share of a concurrency cap: the N shares add up to it (at least 1 each). */
uint32_t shard_concurrency(uint32_t total, uint32_t index, uint32_t count);
/* Copies scenario file 'src' to DIR/shard/scenario-<position>.json. Returns 0, or -1 with err. */
int shard_save_scenario(const char *dir, size_t position, const char *src, char *err,
                        size_t errlen);
/* Writes DIR/shard.json for a finished run. Returns 0, or -1 with err. */
int shard_write(const char *dir, uint32_t index, uint32_t count, const struct run_result *rr,
                char *err, size_t errlen);

#endif
