/* A generation: one request's token timer, stop policy and ending (mock_internal.h holds the
 * struct). */
#ifndef MP_GEN_H
#define MP_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "ledger.h"
#include "wire.h"

struct gen;
struct mock;
struct reader;
struct sink;
struct wheel_node;

/* Attaches a response on 'sk' to 'g' (newest first) and takes its callbacks over. creator: its
 * close cancels the gen. The gen owns the reader and the sink from here. NULL: out of memory
 * (the sink is still the caller's). */
struct reader *gen_attach(struct gen *g, struct sink *sk, int streaming, int creator);
/* Sends a stream's status and headers on the reader's sink. */
void gen_stream_start(struct reader *r);
/* Writes stream text (the wire's events) on the reader's sink, framed as the API's stream is:
 * as it is (SSE), or as AWS event-stream messages (Bedrock). mark: tokens the write carries. A
 * write that cannot be framed (out of memory) drops the connection, as a server that failed
 * mid-stream would. */
void gen_write(struct reader *r, const char *text, size_t len, int mark);
/* Ends a stream, with the trailer if trailer >= 0. */
void gen_stream_end(struct reader *r, int64_t trailer);
/* Frees the readers whose peer left (queued by their close), outside the transport's callbacks. */
void gen_reap_readers(struct mock *m);
/* Frees 'g', its readers and their sinks; NULL is fine. The caller unlinked it. */
void gen_free(struct gen *g);
/* Removes 'g' from its mock's list of gens. */
void gen_unlink(struct gen *g);
/* Finishes the ledger record once generation stopped and no sink is flushing; queues the gen
 * for reaping once nothing refers to it. */
void gen_maybe_finish(struct gen *g);
/* Stops generating: no more tokens, the stop time and reason recorded. */
void gen_stop(struct gen *g, enum ledger_stop reason);
/* Fixes the wire's ending and sends it to every live reader. usage (reasoning included) and
 * usage_reasoning < 0: no usage on the wire. */
void gen_terminate(struct gen *g, enum wire_end end, int64_t usage, int64_t usage_reasoning,
                   int64_t trailer);
/* What 'g' generated so far, or at its ending once terminal, with the usage it reported. */
void gen_tally(const struct gen *g, struct wire_tally *t);
/* Arms the next token 'delay_ns' after the previous one was due; 'now' is the caller's clock
 * reading (a token's own time), so the token path reads the clock once. */
void gen_arm(struct gen *g, uint64_t delay_ns, uint64_t now);
/* The peer left (FIN/RST) or the cancel API was called: the profile decides what happens. */
void gen_peer_gone(struct gen *g, uint64_t now, enum ledger_close kind);
/* The Responses status of 'g': queued, in_progress, cancelled, incomplete or completed. */
const char *gen_status(const struct gen *g);
/* The mock's fire hook (mock->fire): the generation whose timer n is fires the tokens it has
 * due at now (a late one at most --max-burst), in one send. */
void gen_fire(struct mock *m, struct wheel_node *n, uint64_t now);

#endif
