/* What a Bedrock stream carries inside its AWS event-stream framing, for the token scanner: each
 * message's payload text, an InvokeModelWithResponseStream chunk's base64 bytes decoded. The
 * scanner then counts tokens and sees terminal markers in the vendor's JSON, as for the SSE
 * styles. */
#ifndef CHAOS_UNFRAME_H
#define CHAOS_UNFRAME_H

#include <stddef.h>

#include "eventstream.h"

#define UNFRAME_MESSAGE_MAX (1024 * 1024) /* a Bedrock event is a few hundred bytes */

struct unframe {
    struct eventstream_decoder d;
    int chunks; /* payloads are {"bytes": base64}: decode them */
    char *out;  /* the last payload decoded */
    size_t out_cap;
    int failed; /* the framing broke: nothing more is read from this stream */
};

/* chunks: InvokeModelWithResponseStream's chunk events. */
void unframe_init(struct unframe *u, int chunks);
void unframe_cleanup(struct unframe *u);
/* Appends stream bytes. Returns 0, or -1 once the stream failed (then it stays failed). */
int unframe_feed(struct unframe *u, const char *data, size_t len);
/* The next whole message's text: 1 with *text (valid until the next call) and *len set, 0 when
 * more bytes are needed, -1 when the framing or a chunk is corrupt (failed is set). */
int unframe_next(struct unframe *u, const char **text, size_t *len);

#endif
