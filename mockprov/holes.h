/* A token-event template's holes and filling them: the per-token half of the wire formats
 * (wire.c prints each generation's templates once, with these bytes where a token's values go). */
#ifndef MP_HOLES_H
#define MP_HOLES_H

#include <stddef.h>
#include <stdint.h>

/* Holes in a token-event template, filled per token by wire_stream_token. */
#define WIRE_HOLE_SEQ '\x01'   /* Responses sequence number */
#define WIRE_HOLE_TEXT '\x02'  /* the token's text */
#define WIRE_HOLE_COUNT '\x03' /* output tokens so far, this one included */
#define WIRE_HOLE_TOTAL '\x04' /* input tokens plus output tokens so far */

/* A token's values for a template's holes. */
struct holes {
    int64_t seq;
    const char *text;
    uint64_t count, total;
};

/* Fills tmpl's holes with h's values into buf (NUL-terminated); returns the length, or -1 if
 * it does not fit in len bytes. */
int holes_fill(const char *tmpl, const struct holes *h, char *buf, size_t len);

#endif
