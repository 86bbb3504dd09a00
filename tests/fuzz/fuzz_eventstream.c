/* Fuzz target: the AWS event-stream decoder (common/eventstream.c) over whatever bytes a gateway
 * relays. The messages decoded and the error must not depend on where the reads split the
 * stream, and a message whose headers are all strings encodes back to the same bytes. */
#include <string.h>

#include "eventstream.h"
#include "fuzz.h"

#define FUZZ_SPLITS 8
#define FUZZ_MAX_MESSAGE (64 * 1024) /* keeps a claimed 16 MiB message from stalling the run */

struct outcome {
    size_t messages;
    uint64_t digest; /* of every message's headers and payload, in order */
    int rc;          /* the last eventstream_next: 0 (wants more) or -1 */
};

static uint64_t mix(uint64_t h, const void *p, size_t len)
{
    const unsigned char *u = p;
    for (size_t i = 0; i < len; i++)
        h = (h ^ u[i]) * 1099511628211ull;
    return (h ^ len) * 1099511628211ull;
}

/* A message of string headers only encodes back to the bytes it was decoded from. */
static void check_reencode(const struct eventstream_message *m, const uint8_t *start)
{
    if (m->nheaders != m->nheaders_seen)
        return;
    for (size_t i = 0; i < m->nheaders; i++)
        if (m->headers[i].type != EVENTSTREAM_STRING)
            return;
    size_t n = eventstream_size(m->headers, m->nheaders, m->payload_len);
    FUZZ_CHECK(n > 0 && n <= FUZZ_MAX_MESSAGE);
    char *buf = malloc(n);
    FUZZ_CHECK(buf != NULL);
    long w = eventstream_encode(buf, n, m->headers, m->nheaders, m->payload, m->payload_len);
    FUZZ_CHECK(w == (long)n && memcmp(buf, start, n) == 0);
    free(buf);
}

/* Decodes what the decoder holds; 'whole' (the input, fed at once) enables the re-encoding. */
static void drain(struct eventstream_decoder *d, struct outcome *o, const uint8_t *whole,
                  size_t size)
{
    struct eventstream_message m;
    for (;;) {
        size_t at = size - eventstream_pending(d);
        o->rc = eventstream_next(d, &m);
        if (o->rc != 1)
            return;
        o->messages++;
        FUZZ_CHECK(m.nheaders <= m.nheaders_seen && m.nheaders <= EVENTSTREAM_HEADERS_KEPT);
        for (size_t i = 0; i < m.nheaders; i++) {
            FUZZ_CHECK(m.headers[i].name_len > 0);
            o->digest = mix(o->digest, m.headers[i].name, m.headers[i].name_len);
            o->digest = mix(o->digest, m.headers[i].value, m.headers[i].value_len);
        }
        o->digest = mix(o->digest, m.payload, m.payload_len);
        if (whole)
            check_reencode(&m, whole + at);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct eventstream_decoder d;
    struct outcome a = {0, 0, 0}, b = {0, 0, 0};
    eventstream_decoder_init(&d, FUZZ_MAX_MESSAGE);
    FUZZ_CHECK(eventstream_feed(&d, data, size) == 0);
    drain(&d, &a, data, size);
    eventstream_decoder_cleanup(&d);

    /* reads of sizes drawn from the input, down to a byte at a time */
    uint64_t h = fuzz_hash(data, size);
    size_t at = 0;
    eventstream_decoder_init(&d, FUZZ_MAX_MESSAGE);
    for (int k = 0; at < size && b.rc == 0; k++) {
        size_t step = k < FUZZ_SPLITS ? 1 + (size_t)((h >> (k * 8)) & 0xff) % 17 : size - at;
        if (step > size - at)
            step = size - at;
        FUZZ_CHECK(eventstream_feed(&d, data + at, step) == 0);
        at += step;
        drain(&d, &b, NULL, 0);
    }
    if (size == 0)
        drain(&d, &b, NULL, 0);
    FUZZ_CHECK(a.messages == b.messages && a.digest == b.digest && a.rc == b.rc);
    if (b.rc < 0) /* a failed decoder stays failed */
        FUZZ_CHECK(eventstream_feed(&d, "x", 1) == -1);
    eventstream_decoder_cleanup(&d);
    return 0;
}
