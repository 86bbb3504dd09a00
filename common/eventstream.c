/* AWS event-stream messages: encode with string headers, decode incrementally with every header
 * type. Layout (the Amazon Event Stream specification): u32 total length, u32 headers length,
 * u32 CRC32 of those 8 bytes, headers (u8 name length, name, u8 type, value), payload, u32
 * CRC32 of everything before it. */
#include "eventstream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

static uint32_t crc(const void *p, size_t len)
{
    /* zlib's crc32 takes a uInt length: a message is at most EVENTSTREAM_MESSAGE_MAX */
    return (uint32_t)crc32(0L, (const Bytef *)p, (uInt)len);
}

static void put32(char *p, uint32_t v)
{
    p[0] = (char)(v >> 24);
    p[1] = (char)(v >> 16);
    p[2] = (char)(v >> 8);
    p[3] = (char)v;
}

static uint32_t get32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

static uint16_t get16(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint16_t)(u[0] << 8 | u[1]);
}

/* The headers' bytes, or 0 when a name or value is out of range. */
static size_t headers_size(const struct eventstream_header *h, size_t nh)
{
    size_t n = 0;
    for (size_t i = 0; i < nh; i++) {
        if (h[i].name_len == 0 || h[i].name_len > 255 || h[i].value_len > 0x7fff)
            return 0;
        n += 1 + h[i].name_len + 1 + 2 + h[i].value_len;
    }
    return n;
}

size_t eventstream_size(const struct eventstream_header *h, size_t nh, size_t plen)
{
    size_t hl = headers_size(h, nh);
    if ((nh > 0 && hl == 0) || hl > EVENTSTREAM_HEADERS_MAX || plen > EVENTSTREAM_PAYLOAD_MAX)
        return 0;
    return EVENTSTREAM_OVERHEAD + hl + plen;
}

long eventstream_encode(char *buf, size_t cap, const struct eventstream_header *h, size_t nh,
                        const void *payload, size_t plen)
{
    size_t total = eventstream_size(h, nh, plen);
    if (total == 0 || total > cap)
        return -1;
    size_t hl = total - EVENTSTREAM_OVERHEAD - plen;
    put32(buf, (uint32_t)total);
    put32(buf + 4, (uint32_t)hl);
    put32(buf + 8, crc(buf, 8));
    char *p = buf + EVENTSTREAM_PRELUDE_LEN;
    for (size_t i = 0; i < nh; i++) {
        *p++ = (char)h[i].name_len;
        memcpy(p, h[i].name, h[i].name_len);
        p += h[i].name_len;
        *p++ = (char)EVENTSTREAM_STRING;
        *p++ = (char)(h[i].value_len >> 8);
        *p++ = (char)h[i].value_len;
        if (h[i].value_len)
            memcpy(p, h[i].value, h[i].value_len);
        p += h[i].value_len;
    }
    if (plen)
        memcpy(p, payload, plen);
    p += plen;
    put32(p, crc(buf, total - 4));
    return (long)total;
}

void eventstream_decoder_init(struct eventstream_decoder *d, size_t max)
{
    memset(d, 0, sizeof *d);
    d->max = max == 0 || max > EVENTSTREAM_MESSAGE_MAX ? EVENTSTREAM_MESSAGE_MAX : max;
}

void eventstream_decoder_cleanup(struct eventstream_decoder *d)
{
    free(d->buf);
    d->buf = NULL;
    d->len = d->cap = d->off = 0;
}

int eventstream_feed(struct eventstream_decoder *d, const void *data, size_t len)
{
    if (d->failed)
        return -1;
    if (d->off > 0) { /* drop what eventstream_next consumed */
        memmove(d->buf, d->buf + d->off, d->len - d->off);
        d->len -= d->off;
        d->off = 0;
    }
    if (len == 0)
        return 0;
    if (d->len + len > d->cap) {
        size_t cap = d->cap ? d->cap : 1024;
        while (cap < d->len + len)
            cap *= 2;
        char *nb = realloc(d->buf, cap);
        if (nb == NULL) {
            snprintf(d->err, sizeof d->err, "event-stream: out of memory");
            return -1;
        }
        d->buf = nb;
        d->cap = cap;
    }
    memcpy(d->buf + d->len, data, len);
    d->len += len;
    return 0;
}

size_t eventstream_pending(const struct eventstream_decoder *d)
{
    return d->len - d->off;
}

static int fail(struct eventstream_decoder *d, const char *what, unsigned long a, unsigned long b)
{
    d->failed = 1;
    snprintf(d->err, sizeof d->err, "event-stream: %s (%lu, %lu)", what, a, b);
    return -1;
}

/* The value's length for a type, reading a length prefix where it has one; -1 when unknown. */
static long value_len(enum eventstream_type t, const char *p, size_t left, size_t *prefix)
{
    static const int fixed[] = {0, 0, 1, 2, 4, 8, -1, -1, 8, 16};
    *prefix = 0;
    if ((unsigned)t > EVENTSTREAM_UUID)
        return -1;
    if (fixed[t] >= 0)
        return fixed[t];
    if (left < 2)
        return -1;
    *prefix = 2;
    return get16(p);
}

static int parse_headers(struct eventstream_decoder *d, const char *p, size_t hl,
                         struct eventstream_message *m)
{
    size_t at = 0;
    while (at < hl) {
        size_t nl = (unsigned char)p[at];
        if (nl == 0 || at + 1 + nl + 1 > hl)
            return fail(d, "malformed header name", (unsigned long)at, (unsigned long)nl);
        const char *name = p + at + 1;
        at += 1 + nl;
        enum eventstream_type t = (enum eventstream_type)(unsigned char)p[at++];
        size_t prefix;
        long vl = value_len(t, p + at, hl - at, &prefix);
        if (vl < 0)
            return fail(d, "malformed header value", (unsigned long)at, (unsigned long)t);
        if (at + prefix + (size_t)vl > hl)
            return fail(d, "header value past the headers", (unsigned long)at, (unsigned long)vl);
        if (m->nheaders < EVENTSTREAM_HEADERS_KEPT) {
            struct eventstream_header *h = &m->headers[m->nheaders++];
            h->name = name;
            h->name_len = nl;
            h->type = t;
            h->value = p + at + prefix;
            h->value_len = (size_t)vl;
        }
        m->nheaders_seen++;
        at += prefix + (size_t)vl;
    }
    return 0;
}

int eventstream_next(struct eventstream_decoder *d, struct eventstream_message *m)
{
    if (d->failed)
        return -1;
    size_t have = d->len - d->off;
    if (have < EVENTSTREAM_PRELUDE_LEN)
        return 0;
    const char *p = d->buf + d->off;
    uint32_t total = get32(p), hl = get32(p + 4), pc = get32(p + 8);
    if (crc(p, 8) != pc)
        return fail(d, "prelude CRC mismatch", pc, crc(p, 8));
    if (total < EVENTSTREAM_OVERHEAD || total > d->max)
        return fail(d, "message length out of range", total, (unsigned long)d->max);
    if (hl > total - EVENTSTREAM_OVERHEAD || hl > EVENTSTREAM_HEADERS_MAX)
        return fail(d, "headers length out of range", hl, total);
    if (have < total)
        return 0;
    uint32_t mc = get32(p + total - 4);
    if (crc(p, total - 4) != mc)
        return fail(d, "message CRC mismatch", mc, crc(p, total - 4));
    memset(m, 0, sizeof *m);
    if (parse_headers(d, p + EVENTSTREAM_PRELUDE_LEN, hl, m) != 0)
        return -1;
    m->payload = p + EVENTSTREAM_PRELUDE_LEN + hl;
    m->payload_len = total - EVENTSTREAM_OVERHEAD - hl;
    d->off += total;
    return 1;
}

const char *eventstream_header_str(const struct eventstream_message *m, const char *name,
                                   size_t *len)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < m->nheaders; i++) {
        const struct eventstream_header *h = &m->headers[i];
        if (h->type == EVENTSTREAM_STRING && h->name_len == nl && memcmp(h->name, name, nl) == 0) {
            *len = h->value_len;
            return h->value;
        }
    }
    return NULL;
}
