/* Google Gemini's wire format: GenerateContentResponse chunks over SSE (alt=sse) or as one JSON
 * array (streamGenerateContent without alt=sse), the generateContent body, and Google's error
 * shape. wire.c dispatches here; nothing here calls back into it. Everything returned is malloc'd
 * text the caller frees; NULL means out of memory. */
#ifndef MP_GEMINI_H
#define MP_GEMINI_H

#include <stdint.h>

#include "wire.h"

/* Between two elements of an array stream; token 0's element goes without it. */
#define GEMINI_ARRAY_SEP ",\r\n"
#define GEMINI_ARRAY_SEP_LEN 3

/* One token's chunk with wire.h's holes (text, count, total): framed as an SSE event, or as an
 * array element preceded by GEMINI_ARRAY_SEP. */
char *gemini_token_template(const struct wire_gen *g);
/* One reasoning token's chunk: a thought part ("thought": true), thoughtsTokenCount the count
 * hole, candidatesTokenCount 0. */
char *gemini_thought_template(const struct wire_gen *g);
/* A tool call's chunk, sent whole once its last argument token is generated: a functionCall
 * part {name, args} with 'args' (the arguments' JSON text), candidatesTokenCount 'count' (the
 * visible tokens, arguments included), the reasoning in thoughtsTokenCount. first: the stream's
 * first chunk (an array's first element has no separator). */
char *gemini_call_chunk(const struct wire_gen *g, const char *args, uint64_t count, int first);
/* Before the first token: nothing for SSE, "[" for an array stream. */
char *gemini_stream_open(const struct wire_gen *g);
/* After the tally's last token: the chunk with finishReason and the final usageMetadata
 * (candidates: usage less its reasoning, or the visible tokens when usage < 0; thoughts: the
 * reasoning), then, for an array stream, "]". No [DONE]: the stream just ends. */
char *gemini_stream_close(const struct wire_gen *g, const struct wire_tally *t, enum wire_end end);
/* An error after n tokens, as the JS SDK recognises it in a stream: {"error":{code,message,
 * status}} as an SSE event or as the array's last element. */
char *gemini_stream_error(const struct wire_gen *g, uint64_t n);
/* The generateContent body for the tally: a thought part with 'reasoning' (the reasoning
 * tokens' text) when there was any, then 'text' (NULL: none, a call from the first token on),
 * then a functionCall part with 'args' when not NULL; usage as gemini_stream_close. */
char *gemini_body(const struct wire_gen *g, const struct wire_tally *t, const char *reasoning,
                  const char *text, const char *args, enum wire_end end);
/* {"error":{"code":status,"message":...,"status":"INVALID_ARGUMENT"}}. */
char *gemini_error_body(int status, const char *message);
/* google.rpc's name for an HTTP status: 400 INVALID_ARGUMENT, 404 NOT_FOUND, 429
 * RESOURCE_EXHAUSTED, 500 INTERNAL, 503 UNAVAILABLE, ... */
const char *gemini_status(int status);

#endif
