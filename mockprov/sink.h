/* A sink: one HTTP response attached to a generation (mock_internal.h holds the struct). */
#ifndef MP_SINK_H
#define MP_SINK_H

#include <stddef.h>
#include <stdint.h>

struct gen;
struct sink;
struct evhttp_request;

/* Attaches a response to 'g' (newest first) and hooks its close and completion callbacks.
 * creator: its close cancels the gen. The gen owns the sink. NULL: out of memory. */
struct sink *sink_new(struct gen *g, struct evhttp_request *req, int streaming, int creator);
/* Sends a stream's status line and headers, takes over chunk framing, hooks drain counting. */
void sink_start_stream(struct sink *s, const struct gen *g);
/* Writes bytes to the peer in one HTTP chunk; is_token: counts for written_tokens. */
void sink_write(struct sink *s, const char *data, size_t len, int is_token);
/* Ends a streaming response: the last chunk, with the trailer if trailer >= 0. */
void sink_end(struct sink *s, int64_t trailer);
/* Unhooks the sink from its connection and buffer; the sink is no longer live. */
void sink_detach(struct sink *s);

#endif
