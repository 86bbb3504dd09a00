/* Counts mockprov's self-identifying tokens (" tok<i>") in whatever bytes a gateway delivers
 * (SSE, NDJSON, raw chunked text), across arbitrary read boundaries, and notices gaps,
 * duplicates and reordering; it also watches for the vendor's terminal event (a marker). */
#ifndef CHAOS_SCANNER_H
#define CHAOS_SCANNER_H

#include <stddef.h>
#include <stdint.h>

#define SCANNER_MAX_INDEX (1u << 20) /* indices tracked for duplicates; higher ones count only */
#define SCANNER_MARKERS_MAX 2         /* terminal markers watched at once (responses has two) */
#define SCANNER_MARKER_MAX 64         /* bytes per marker; the rolling tail is one less */

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
    const char *markers[SCANNER_MARKERS_MAX]; /* borrowed */
    size_t nmarkers;
    char tail[SCANNER_MARKER_MAX - 1]; /* last bytes fed: a marker split across feeds */
    size_t ntail;
    int marker_seen;   /* one of the markers appeared in the bytes fed */
};

void scanner_init(struct scanner *s);
void scanner_cleanup(struct scanner *s);
/* Watches for any of 'markers' (borrowed; each 1 to SCANNER_MARKER_MAX bytes) in the bytes fed
 * from now on, across feed boundaries; marker_seen then says whether one came. Returns 0, or
 * -1 (nothing changed) when there are too many or one is empty or too long. */
int scanner_watch(struct scanner *s, const char *const *markers, size_t n);
/* Feeds bytes; returns the number of tokens completed by this call. A token whose digits end
 * exactly at the end of the buffer completes on the next byte or at scanner_finish. */
uint64_t scanner_feed(struct scanner *s, const char *buf, size_t len);
/* Ends the input: completes a token whose digits ran to the end. Returns tokens completed. */
uint64_t scanner_finish(struct scanner *s);
/* Bytes of buf up to and including the byte that completes the k-th token counted from now,
 * or len + 1 if fewer than k tokens complete within buf. Does not change 's'. */
size_t scanner_offset_of(const struct scanner *s, const char *buf, size_t len, uint64_t k);

#endif
