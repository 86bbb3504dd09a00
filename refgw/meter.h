/* refgw's metering: what a gateway learns about the tokens of the responses it relays, either
 * from the usage object the upstream puts on the wire or by counting the mock's self-identifying
 * tokens (" tok<N>") it forwarded. Pure and incremental: bytes go in as they arrive. */
#ifndef REFGW_METER_H
#define REFGW_METER_H

#include <stddef.h>
#include <stdint.h>

#include "eventstream.h"

/* An SSE line (or a whole non-SSE body) longer than this is skipped, not parsed: a usage object
 * never needs more, and the cap bounds each request's memory. */
#define METER_LINE_MAX (1024 * 1024)
/* " tok" followed by more digits than this is not one of the mock's tokens. */
#define METER_TOKEN_DIGITS_MAX 18

struct meter {
    /* the response being read */
    int open;           /* between meter_begin and meter_end */
    int sse;            /* text/event-stream: usage rides in "data:" lines */
    int ndjson;         /* application/x-ndjson (Ollama): each line one JSON value */
    int es;             /* application/vnd.amazon.eventstream: usage rides in messages */
    struct eventstream_decoder esd;
    int count_es; /* the forwarded bytes are an event stream: count in its payloads */
    struct eventstream_decoder count_esd;
    char *line;         /* the current line (SSE) or the body so far (otherwise) */
    size_t len, cap;
    int skipping;       /* the current line outgrew METER_LINE_MAX: drop it up to its end */
    int64_t out_seen;   /* last usage seen in this response, -1 for none */
    int64_t in_seen;
    /* totals over every response of a client request (a retry reads a second one) */
    uint64_t output_tokens; /* summed usage output tokens */
    uint64_t input_tokens;  /* summed usage input tokens */
    uint32_t responses_with_usage;
    uint64_t oversized; /* lines skipped over the cap */
    /* the token counter over the bytes forwarded to the client */
    int tok_state;      /* characters of " tok" matched, 4 = reading digits */
    int tok_digits;
    uint64_t tok_value;
    uint64_t tokens;     /* tokens counted */
    uint64_t next_index; /* a token below this was counted already (the final event repeats
                          * the whole text) */
};

/* Caller storage; meter_cleanup frees what meter_feed allocated. */
void meter_init(struct meter *m);
void meter_cleanup(struct meter *m);

/* Starts a response. content_type may be NULL (then the body is parsed as one JSON value).
 * Bedrock's event streams are decoded message by message: ConverseStream's metadata usage, and
 * InvokeModelWithResponseStream's chunks (base64 of Anthropic's events) decoded first. */
void meter_begin(struct meter *m, const char *content_type);
/* Feeds response body bytes. Returns 0, or -1 out of memory (the line is then skipped and
 * counted in 'oversized'; metering goes on with the next line). */
int meter_feed(struct meter *m, const char *data, size_t len);
/* Ends the response (complete or cut short): parses what is left and adds its usage to the
 * totals. Safe to call twice. */
void meter_end(struct meter *m);

/* Counts the mock's tokens in bytes forwarded to the client, across chunk boundaries; in a
 * Bedrock event stream (meter_begin saw its type), in each message's payload, an
 * InvokeModelWithResponseStream chunk's base64 decoded first. */
void meter_count(struct meter *m, const char *data, size_t len);
/* Ends the forwarded byte stream: a token cut at its last byte still counts. */
void meter_count_end(struct meter *m);

/* Usage from one parsed JSON line or body, by the vendor shapes (OpenAI chat usage chunk,
 * Responses response.completed / response.incomplete, Anthropic message_start / message_delta,
 * Gemini's usageMetadata on a chunk, on the last chunk of a JSON-array stream or on a
 * generateContent body, Ollama's eval_count and prompt_eval_count on its done line or body,
 * Bedrock's usage {inputTokens, outputTokens} on ConverseStream's metadata and Converse's body,
 * and the non-streaming bodies). Fills -1 where absent. Returns 1 if it
 * found any, else 0. Borrows 'json'. */
int meter_usage_from_json(const char *json, size_t len, int64_t *out, int64_t *in);

#endif
