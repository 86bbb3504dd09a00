/* Fuzz target: the chaos client's token scanner (chaos/scanner.c) over whatever bytes a gateway
 * delivers. Input: two length bytes and the terminal markers, then the stream. The counts must
 * not depend on where the reads split the stream, a marker is seen exactly when it is in the
 * stream, and scanner_offset_of agrees with scanner_feed. */
#include <string.h>

#include "fuzz.h"
#include "scanner.h"

#define FUZZ_SPLITS 8

static void check_same(const struct scanner *a, const struct scanner *b)
{
    FUZZ_CHECK(a->tokens == b->tokens && a->next == b->next && a->gaps == b->gaps &&
               a->dups == b->dups && a->reorders == b->reorders && a->last == b->last &&
               a->marker_seen == b->marker_seen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t ml[SCANNER_MARKERS_MAX] = {data[0] % (SCANNER_MARKER_MAX + 1),
                                      data[1] % (SCANNER_MARKER_MAX + 1)};
    char mk[SCANNER_MARKERS_MAX][SCANNER_MARKER_MAX + 1];
    const char *markers[SCANNER_MARKERS_MAX];
    size_t off = 2, nm = 0;
    for (size_t i = 0; i < SCANNER_MARKERS_MAX; i++) {
        if (ml[i] == 0 || off + ml[i] > size)
            continue;
        memcpy(mk[i], data + off, ml[i]);
        mk[i][ml[i]] = '\0';
        off += ml[i];
        if (mk[i][0])
            markers[nm++] = mk[i];
    }
    const char *buf = (const char *)data + off;
    size_t len = size - off;

    struct scanner whole, split;
    scanner_init(&whole);
    scanner_init(&split);
    FUZZ_CHECK(scanner_watch(&whole, markers, nm) == 0);
    FUZZ_CHECK(scanner_watch(&split, markers, nm) == 0);
    uint64_t n1 = scanner_feed(&whole, buf, len);
    n1 += scanner_finish(&whole);

    /* reads of sizes drawn from the input, down to a byte at a time */
    uint64_t h = fuzz_hash(data, size), n2 = 0;
    size_t at = 0;
    for (int k = 0; at < len; k++) {
        size_t step = k < FUZZ_SPLITS ? 1 + (size_t)((h >> (k * 8)) & 0xff) % 17 : len - at;
        if (step > len - at)
            step = len - at;
        n2 += scanner_feed(&split, buf + at, step);
        at += step;
    }
    n2 += scanner_finish(&split);
    FUZZ_CHECK(n1 == n2 && n1 == whole.tokens);
    check_same(&whole, &split);

    int in_stream = 0;
    for (size_t i = 0; i < nm; i++)
        in_stream |= memmem(buf, len, markers[i], strlen(markers[i])) != NULL;
    FUZZ_CHECK(whole.marker_seen == in_stream);

    /* the byte that completes the k-th token, then feeding exactly that far completes k */
    struct scanner fresh;
    scanner_init(&fresh);
    for (uint64_t k = 1; k <= 3; k++) {
        size_t o = scanner_offset_of(&fresh, buf, len, k);
        if (o > len)
            break;
        struct scanner s;
        scanner_init(&s);
        FUZZ_CHECK(scanner_feed(&s, buf, o) == k);
        scanner_cleanup(&s);
    }
    scanner_cleanup(&fresh);
    scanner_cleanup(&whole);
    scanner_cleanup(&split);
    return 0;
}
