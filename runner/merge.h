/* The merge of a sharded run: N shard run folders (runner/shard.h) into one run folder whose
 * metrics are recomputed from the per-request records and whose gates are checked on the union.
 * Each shard's client records are joined with its ledger records by the runner's own join, with
 * that shard's clock offset to the shared mock; the joined requests' times are then moved to the
 * mock's clock, the one clock every shard shares, before they are put together. */
#ifndef RUNNER_MERGE_H
#define RUNNER_MERGE_H

#include <stddef.h>

/* Writes OUT_DIR's artifacts (results.json, junit.xml, summary.md, metrics.prom, client.jsonl,
 * ledger.jsonl; charts and index.html when gnuplot is there, 'note' saying otherwise). Returns
 * the exit code a run would have: 0 every gate passed, 1 a gate failed, 2 usage (a folder that
 * is missing or not a shard's, shards of different runs, one shard given twice) with nothing
 * written, 3 not judged (a shard that could not judge, is missing or unreadable). err says why
 * for 2 and 3. Borrows everything. */
int merge_execute(const char *out_dir, char *const *dirs, size_t ndirs, char *note, size_t notelen,
                  char *err, size_t errlen);

#endif
