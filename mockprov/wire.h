/* Vendor wire formats: SSE events, non-stream bodies and error bodies for OpenAI Chat
 * Completions, OpenAI Responses, Anthropic Messages and Google Gemini (whose shapes live in
 * gemini.c; this file dispatches to it). Everything returned is malloc'd text the caller frees;
 * NULL means out of memory. */
#ifndef MP_WIRE_H
#define MP_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "request.h"

#define WIRE_TOKEN_EVENT_MAX 1024 /* one token's event, framing included */

/* Holes in a token-event template, filled per token by wire_stream_token. */
#define WIRE_HOLE_SEQ '\x01'   /* Responses sequence number */
#define WIRE_HOLE_TEXT '\x02'  /* the token's text */
#define WIRE_HOLE_COUNT '\x03' /* output tokens so far, this one included */
#define WIRE_HOLE_TOTAL '\x04' /* input tokens plus output tokens so far */

/* Why a generation ended, as the wire says it. */
enum wire_end {
    WIRE_END_STOP,      /* natural end */
    WIRE_END_LENGTH,    /* hit the request's cap */
    WIRE_END_CANCELLED, /* Responses cancel API */
};

/* The identity and token-event template of one generation. */
struct wire_gen {
    enum api api;
    char id[64];      /* chatcmpl-..., resp_..., msg_..., Gemini's responseId */
    char item_id[64]; /* Responses output item */
    char model[REQUEST_MODEL_MAX];
    int64_t created;
    uint64_t input_tokens;
    int include_usage;
    int background;
    int json_stream; /* Gemini: stream as one JSON array, not SSE */
    int64_t max_tokens;
    char *tmpl;       /* token event with holes \x01 (sequence number) and \x02 (text) */
};

/* Fills 'g' from the request; seq makes the ids unique. Returns 0, or -1 on OOM. */
int wire_gen_init(struct wire_gen *g, const struct request *rq, uint64_t seq, int64_t now_s);
void wire_gen_cleanup(struct wire_gen *g);

/* Responses events are numbered: 0 created, 1 in_progress, 2 output_item.added,
 * 3 content_part.added, 4+i the delta of token i, then four closing events. */
#define WIRE_RESP_FIRST_DELTA 4

/* Events sent before the first token (role chunk, created..content_part.added, message_start..
 * ping). Responses: events with sequence number > starting_after only (-1 for all). */
char *wire_stream_open(const struct wire_gen *g, int64_t starting_after);

/* The Content-Type of a stream: text/event-stream, or JSON for a Gemini array stream. */
const char *wire_stream_content_type(const struct wire_gen *g);

/* Token i's event into buf; returns its length or -1 if it does not fit. */
int wire_stream_token(const struct wire_gen *g, uint64_t i, char *buf, size_t len);

/* Events after the last of n tokens: finish chunk, usage (usage < 0: none on the wire), [DONE];
 * Responses closing events (those with sequence number > starting_after); Anthropic block stop,
 * message_delta, message_stop. */
char *wire_stream_close(const struct wire_gen *g, uint64_t n, enum wire_end end, int64_t usage,
                        int64_t starting_after);

/* In-stream error event in the vendor's shape after n tokens. */
char *wire_stream_error(const struct wire_gen *g, uint64_t n);

/* Non-stream body after n tokens. usage < 0 omits nothing: non-stream bodies always carry
 * usage, so pass the billed count. */
char *wire_body(const struct wire_gen *g, uint64_t n, enum wire_end end, int64_t usage);

/* Responses object snapshot: status "queued", "in_progress", "completed", "incomplete",
 * "cancelled"; usage < 0 gives "usage":null. */
char *wire_response_object(const struct wire_gen *g, uint64_t n, const char *status,
                           int64_t usage);

/* HTTP error body in the API's shape. 'request_id' used by Anthropic only. */
char *wire_error_body(enum api api, int status, const char *type, const char *code,
                      const char *param, const char *message, const char *request_id);

/* Default error type for an HTTP status in the API's vocabulary. */
const char *wire_error_type(enum api api, int status);

/* Text of tokens [0, n): " tok0 tok1 ...". */
char *wire_text(uint64_t n);

#endif
