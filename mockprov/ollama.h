/* Ollama's wire format: /api/chat and /api/generate as NDJSON (one JSON object a line, no SSE, no
 * [DONE]), the final line with done true, done_reason and the counts and durations, the
 * stream:false body, and Ollama's error shape {"error": "..."}. wire.c dispatches here; nothing
 * here calls back into it. Everything returned is malloc'd text the caller frees; NULL means out
 * of memory. */
#ifndef MP_OLLAMA_H
#define MP_OLLAMA_H

#include "wire.h"

/* One token's line with wire.h's text hole: message.content (chat) or response (generate),
 * done false. */
char *ollama_token_template(const struct wire_gen *g);
/* One reasoning token's line: message.thinking (chat) or thinking (generate), content "". */
char *ollama_thinking_template(const struct wire_gen *g);
/* After the tally's last token: the done line. eval_count is the usage (reasoning included; the
 * visible and reasoning tokens generated when usage < 0), prompt_eval_count the input tokens;
 * the durations in ns from g's times: prompt_eval_duration the wait for the first token,
 * eval_duration the rest, load_duration 0 (nothing to load), total_duration their sum. */
char *ollama_stream_close(const struct wire_gen *g, const struct wire_tally *t, enum wire_end end);
/* An error line, as Ollama writes one mid-stream: {"error": "..."}. */
char *ollama_stream_error(const struct wire_gen *g);
/* The stream:false body: the done line with the whole 'text' (and 'reasoning' as thinking when
 * the generation reasoned). */
char *ollama_body(const struct wire_gen *g, const struct wire_tally *t, const char *reasoning,
                  const char *text, enum wire_end end);
/* {"error": message}. */
char *ollama_error_body(const char *message);

#endif
