/* A timeline: token times as zigzagged LEB128 differences in one growable buffer. */
#include "timeline.h"

#include <stdlib.h>

#define TIMELINE_FIRST_CAP 64
#define VARINT_MAX 10 /* bytes of a 64-bit LEB128 */

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzigzag(uint64_t u)
{
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

int timeline_append(struct timeline *tl, uint64_t t_ns)
{
    if (tl->cap - tl->len < VARINT_MAX) {
        size_t c = tl->cap ? tl->cap * 2 : TIMELINE_FIRST_CAP;
        uint8_t *tmp = realloc(tl->buf, c);
        if (tmp == NULL)
            return -1;
        tl->buf = tmp;
        tl->cap = c;
    }
    uint64_t u = zigzag((int64_t)(t_ns - tl->last));
    do {
        uint8_t b = u & 0x7f;
        u >>= 7;
        tl->buf[tl->len++] = b | (u ? 0x80 : 0);
    } while (u);
    tl->last = t_ns;
    return 0;
}

void timeline_free(struct timeline *tl)
{
    free(tl->buf);
    tl->buf = NULL;
    tl->len = tl->cap = 0;
    tl->last = 0;
}

size_t timeline_bytes(const struct timeline *tl)
{
    return tl->cap;
}

void timeline_read(struct timeline_reader *rd, const struct timeline *tl)
{
    rd->tl = tl;
    rd->pos = 0;
    rd->prev = 0;
}

int timeline_next(struct timeline_reader *rd, uint64_t *t_ns)
{
    const struct timeline *tl = rd->tl;
    if (rd->pos >= tl->len)
        return 0;
    uint64_t u = 0;
    unsigned shift = 0;
    uint8_t b;
    do {
        b = tl->buf[rd->pos++];
        if (shift < 64)
            u |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
    } while ((b & 0x80) && rd->pos < tl->len);
    rd->prev += (uint64_t)unzigzag(u);
    *t_ns = rd->prev;
    return 1;
}
