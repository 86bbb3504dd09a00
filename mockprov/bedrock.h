/* AWS Bedrock's wire format: ConverseStream's events and Converse's body, InvokeModel's
 * Anthropic events as base64 chunks, Bedrock's error shape, and the AWS event-stream framing of
 * a stream. The event builders write the same internal SSE text as the other APIs
 * ("event: NAME\ndata: JSON\n\n", holes and all); bedrock_frame turns a write's events into
 * binary event-stream messages just before they reach the sink. Everything returned is malloc'd;
 * NULL means out of memory. */
#ifndef MP_BEDROCK_H
#define MP_BEDROCK_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define BEDROCK_CONTENT_TYPE "application/vnd.amazon.eventstream"
/* An internal event named "exception:<type>" is framed as an exception message. */
#define BEDROCK_EXCEPTION "exception:"

/* One token's contentBlockDelta with wire.h's text hole. */
char *bedrock_token_template(const struct wire_gen *g);
/* messageStart {role: assistant}. */
char *bedrock_stream_open(const struct wire_gen *g);
/* contentBlockStop, messageStop {stopReason} and metadata {usage, metrics.latencyMs}: output
 * tokens are usage (reasoning included), or every token generated when usage < 0. */
char *bedrock_stream_close(const struct wire_gen *g, const struct wire_tally *t, enum wire_end end);
/* An in-stream internalServerException after n tokens. */
char *bedrock_stream_error(const struct wire_gen *g, uint64_t n);
/* Converse's body: output.message with 'text' (NULL: none), stopReason, usage, metrics. */
char *bedrock_body(const struct wire_gen *g, const struct wire_tally *t, const char *text,
                   enum wire_end end);
/* {"message": ...}, Bedrock's error body; its type goes in x-amzn-errortype. */
char *bedrock_error_body(const char *message);
/* Bedrock's exception name for an HTTP status: 400 ValidationException, 403
 * AccessDeniedException, 404 ResourceNotFoundException, 429 ThrottlingException, 500
 * InternalServerException, 503 ServiceUnavailableException, ... */
const char *bedrock_error_type(int status);

/* Frames the internal SSE events of one write as event-stream messages into *out (malloc'd,
 * *outlen set). ConverseStream: one event message per event. InvokeModelWithResponseStream
 * (g->framing WIRE_FRAMING_CHUNKS): each Anthropic event's JSON base64'd into a chunk event
 * {"bytes": ...}, ping dropped, message_stop given amazon-bedrock-invocationMetrics (the
 * output tokens of the message_delta before it, the latencies in 'g'), an error event made an
 * internalServerException. Returns 0, or -1 on OOM or on text that is not whole events. */
int bedrock_frame(const struct wire_gen *g, const char *text, size_t len, char **out,
                  size_t *outlen);

#endif
