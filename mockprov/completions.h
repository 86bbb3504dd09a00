/* OpenAI's legacy text completions (POST /v1/completions): text_completion chunks over SSE with
 * choices[].text, a finish chunk, the usage chunk when stream_options.include_usage asks for it,
 * then data: [DONE]; the non-streaming body. wire.c dispatches here; nothing here calls back
 * into it. Everything returned is malloc'd text the caller frees; NULL means out of memory. */
#ifndef MP_COMPLETIONS_H
#define MP_COMPLETIONS_H

#include "wire.h"

/* One token's SSE event with wire.h's text hole: choices[0].text, finish_reason null. */
char *completions_token_template(const struct wire_gen *g);
/* After the tally's last token: the chunk with finish_reason ("stop" or "length") and empty
 * text, the usage chunk (choices [], when include_usage and usage >= 0), then [DONE]. */
char *completions_stream_close(const struct wire_gen *g, const struct wire_tally *t,
                               enum wire_end end);
/* The non-streaming text_completion body: 'text' whole, usage always (usage < 0 counts every
 * token generated, reasoning included). */
char *completions_body(const struct wire_gen *g, const struct wire_tally *t, const char *text,
                       enum wire_end end);

#endif
