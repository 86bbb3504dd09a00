/* Vendor wire formats: SSE events, non-stream bodies and error bodies for OpenAI Chat
 * Completions, OpenAI Responses, Anthropic Messages, Google Gemini, OpenAI's legacy completions,
 * Ollama and AWS Bedrock (whose shapes live in gemini.c, completions.c, ollama.c and bedrock.c;
 * this file dispatches to them; Azure's annotations in azure.c), with reasoning and tool calls in
 * each vendor's shape. Everything returned is malloc'd text the caller frees; NULL means out of
 * memory. */
#ifndef MP_WIRE_H
#define MP_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "holes.h" /* the holes in a token-event template */
#include "request.h"

/* One token's event, framing included: a chat tool-call chunk naming a 127-byte model whose every
 * byte JSON escapes to six is about 1,100 bytes; every other event is smaller. */
#define WIRE_TOKEN_EVENT_MAX 2048


/* Why a generation ended, as the wire says it. */
enum wire_end {
    WIRE_END_STOP,      /* natural end */
    WIRE_END_LENGTH,    /* hit the request's cap */
    WIRE_END_CANCELLED, /* Responses cancel API */
};

/* The parts of a generation, in stream order: reasoning first, then text, then a tool call. */
enum wire_part {
    WIRE_PART_REASONING,
    WIRE_PART_TEXT,
    WIRE_PART_TOOL,
};

/* What a generation carries beyond plain text. All zero: plain text, as before. */
struct wire_shape {
    uint64_t reasoning;  /* reasoning tokens before the visible ones (the cap applied) */
    int reasoning_shown; /* chat: DeepSeek-style delta.reasoning_content; else hidden */
    int tool_call;       /* visible tokens from tool_text on are one tool call's arguments */
    uint64_t tool_text;  /* text tokens before the tool call */
    uint64_t visible;    /* visible tokens planned: Gemini writes its held call with the last */
};

/* What a generation produced when an ending or snapshot is built. */
struct wire_tally {
    uint64_t reasoning;      /* reasoning tokens generated */
    uint64_t tokens;         /* visible tokens generated (text and tool-call arguments) */
    int64_t usage;           /* output tokens the wire reports, reasoning included; < 0: none */
    int64_t usage_reasoning; /* of which reasoning tokens */
};

/* How a stream's events reach the wire: as SSE text, or as AWS event-stream messages
 * (bedrock.h): one per event (ConverseStream), or each Anthropic event as a base64 chunk
 * (InvokeModelWithResponseStream). */
enum wire_framing {
    WIRE_FRAMING_SSE,
    WIRE_FRAMING_EVENTSTREAM,
    WIRE_FRAMING_CHUNKS,
};

#define WIRE_TOOL_NAME "tailgate_lookup"
#define WIRE_TOOL_ARGS_OPEN "{\"query\":\""
#define WIRE_TOOL_ARGS_CLOSE "\"}"

/* The identity and token-event templates of one generation. */
struct wire_gen {
    enum api api;     /* Bedrock's InvokeModel speaks API_MESSAGES here, framed as chunks */
    char id[64];      /* chatcmpl-..., resp_..., msg_..., Gemini's responseId */
    char item_id[64]; /* Responses output item */
    char model[REQUEST_MODEL_MAX];
    int64_t created;
    uint64_t input_tokens;
    int include_usage;
    int background;
    int json_stream; /* Gemini: stream as one JSON array, not SSE */
    int ollama_generate; /* Ollama: /api/generate's "response", not /api/chat's "message" */
    int azure;           /* Azure OpenAI: chat with its content filter annotations (api API_CHAT) */
    uint64_t elapsed_ns; /* Ollama's durations, set before an ending is built: accepted -> stop */
    uint64_t ttft_ns;    /* accepted -> first token (reasoning or visible) generated; 0 before */
    enum wire_framing framing;
    uint64_t latency_ms;    /* Bedrock: request to the ending (metrics.latencyMs), set by gen */
    uint64_t first_byte_ms; /* Bedrock: request to the first token, set by gen */
    int64_t max_tokens;
    struct wire_shape shape;
    char rs_id[64];   /* Responses reasoning item */
    char fc_id[64];   /* Responses function_call item */
    char call_id[64]; /* the tool call's id: call_... (OpenAI), toolu_... (Anthropic) */
    char *tmpl;       /* token event with holes \x01 (sequence number) and \x02 (text) */
    char *rtmpl;      /* reasoning token event; NULL when hidden */
    char *atmpl;      /* tool-call arguments token event */
};

/* Fills 'g' from the request; seq makes the ids unique. Returns 0, or -1 on OOM. */
int wire_gen_init(struct wire_gen *g, const struct request *rq, uint64_t seq, int64_t now_s);
void wire_gen_cleanup(struct wire_gen *g);
/* Sets the shape (copied; tool_call cleared for an API without tool calls: legacy completions,
 * Ollama) and rebuilds the templates. Returns 0, or -1 on OOM. */
int wire_gen_shape(struct wire_gen *g, const struct wire_shape *s);

/* Responses events are numbered: 0 created, 1 in_progress, then per part (reasoning, text, tool
 * call) two opening events, one delta per token and three closing events, then the final event.
 * Plain text: 2 output_item.added, 3 content_part.added, 4+i the delta of token i. */
#define WIRE_RESP_FIRST_DELTA 4

/* Responses sequence number of reasoning token j's delta, and of visible token i's. */
int64_t wire_seq_reasoning(const struct wire_gen *g, uint64_t j);
int64_t wire_seq_token(const struct wire_gen *g, uint64_t i);

/* Events sent before the first token (role chunk, created..content_part.added, message_start..
 * ping). Responses: events with sequence number > starting_after only (-1 for all). */
char *wire_stream_open(const struct wire_gen *g, int64_t starting_after);

/* The Content-Type of a stream: text/event-stream, or JSON for a Gemini array stream. */
const char *wire_stream_content_type(const struct wire_gen *g);

/* Visible token i's event (text, or tool-call arguments from tool_text on) into buf; returns
 * its length or -1 if it does not fit. */
int wire_stream_token(const struct wire_gen *g, uint64_t i, char *buf, size_t len);

/* 1 when visible token i is held back (Gemini's tool-call arguments: the functionCall part goes
 * out whole with the last one); wire_stream_token then writes nothing for it. */
int wire_held(const struct wire_gen *g, uint64_t i);
/* The held call's chunk once visible token i (the last) was generated: the functionCall part
 * with the arguments of tokens [tool_text, i]; NULL when i does not release it, or on OOM. */
char *wire_stream_call(const struct wire_gen *g, uint64_t i);
/* Tool-call argument tokens the call's chunk carries (its mark count). */
uint64_t wire_call_tokens(const struct wire_gen *g, uint64_t i);

/* Reasoning token j's event into buf; returns its length, 0 when the API hides reasoning (chat
 * without reasoning_shown), or -1 if it does not fit. */
int wire_stream_reasoning(const struct wire_gen *g, uint64_t j, char *buf, size_t len);

/* 1 when visible token i opens a new part (after the reasoning, or the tool call after text):
 * wire_stream_turn's events go out just before its event. */
int wire_turn_at(const struct wire_gen *g, uint64_t i);
/* The events that close the part before visible token i and open its part. */
char *wire_stream_turn(const struct wire_gen *g, uint64_t i, int64_t starting_after);

/* Events after the last token: the open part's closing events (tool-call arguments closed so
 * they parse as JSON, thinking signed), then chat's finish chunk, usage (usage < 0: none on the
 * wire) and [DONE]; Responses' final event (events with sequence number > starting_after only);
 * Anthropic's message_delta and message_stop. */
char *wire_stream_close(const struct wire_gen *g, const struct wire_tally *t, enum wire_end end,
                        int64_t starting_after);

/* In-stream error event in the vendor's shape after n tokens. */
char *wire_stream_error(const struct wire_gen *g, uint64_t n);

/* Non-stream body for the tally. usage < 0 omits nothing: non-stream bodies always carry
 * usage, so it counts every token generated then. */
char *wire_body(const struct wire_gen *g, const struct wire_tally *t, enum wire_end end);

/* Responses object snapshot: status "queued", "in_progress", "completed", "incomplete",
 * "cancelled"; usage < 0 gives "usage":null. */
char *wire_response_object(const struct wire_gen *g, const struct wire_tally *t,
                           const char *status);

/* HTTP error body in the API's shape. 'request_id' used by Anthropic only. */
char *wire_error_body(enum api api, int status, const char *type, const char *code,
                      const char *param, const char *message, const char *request_id);

/* Default error type for an HTTP status in the API's vocabulary. */
const char *wire_error_type(enum api api, int status);

/* Text of tokens [0, n): " tok0 tok1 ...". */
char *wire_text(uint64_t n);
/* Text of reasoning tokens [0, n): " think0 think1 ...". */
char *wire_reasoning_text(uint64_t n);
/* A tool call's arguments after visible tokens [from, to): {"query":" tokFROM ..."}. */
char *wire_tool_arguments(uint64_t from, uint64_t to);

#endif
