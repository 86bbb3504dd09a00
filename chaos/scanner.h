/* Counts mockprov's self-identifying tokens (" tok<i>") in whatever bytes a gateway delivers
 * (SSE, NDJSON, raw chunked text), across arbitrary read boundaries, and notices gaps,
 * duplicates and reordering. */
#ifndef CHAOS_SCANNER_H
#define CHAOS_SCANNER_H

#include <stddef.h>
#include <stdint.h>

#define SCANNER_MAX_INDEX (1u << 20) /* indices tracked for duplicates; higher ones count only */

struct scanner {
    int state;         /* position in "tok<digits>" matching */
    uint64_t value;    /* digits so far */
    int digits;
    uint64_t tokens;   /* every token occurrence seen */
    uint64_t next;     /* the index expected next when in order */
    uint64_t gaps;     /* indices skipped over */
    uint64_t dups;     /* indices seen twice */
    uint64_t reorders; /* indices that arrived after a later one */
    int64_t last;      /* last index seen, -1 before any */
    uint8_t *seen;     /* bitmap of indices seen */
    size_t seen_bytes;
    int oom;           /* the bitmap could not grow: dups/reorders undercounted */
};

void scanner_init(struct scanner *s);
void scanner_cleanup(struct scanner *s);
/* Feeds bytes; returns the number of tokens completed by this call. A token whose digits end
 * exactly at the end of the buffer completes on the next byte or at scanner_finish. */
uint64_t scanner_feed(struct scanner *s, const char *buf, size_t len);
/* Ends the input: completes a token whose digits ran to the end. Returns tokens completed. */
uint64_t scanner_finish(struct scanner *s);
/* Bytes of buf up to and including the byte that completes the k-th token counted from now,
 * or len + 1 if fewer than k tokens complete within buf. Does not change 's'. */
size_t scanner_offset_of(const struct scanner *s, const char *buf, size_t len, uint64_t k);

#endif
