/* AWS event-stream framing (application/vnd.amazon.eventstream), the binary messages Bedrock
 * streams in: a prelude (total length, headers length, prelude CRC32), headers, a payload and a
 * message CRC32, all big-endian. An encoder for the mock and an incremental decoder for the
 * clients that read what a gateway relays. CRCs are zlib's crc32 (the gzip polynomial). */
#ifndef TG_EVENTSTREAM_H
#define TG_EVENTSTREAM_H

#include <stddef.h>
#include <stdint.h>

#define EVENTSTREAM_PRELUDE_LEN 12 /* total length, headers length, prelude CRC */
#define EVENTSTREAM_OVERHEAD 16    /* the prelude and the message CRC */
/* The spec's limits: a payload of at most 16 MiB, headers of at most 128 KiB. */
#define EVENTSTREAM_PAYLOAD_MAX (16u * 1024 * 1024)
#define EVENTSTREAM_HEADERS_MAX (128u * 1024)
#define EVENTSTREAM_MESSAGE_MAX                                                                    \
    (EVENTSTREAM_OVERHEAD + EVENTSTREAM_HEADERS_MAX + EVENTSTREAM_PAYLOAD_MAX)
/* Headers a decoded message keeps; Bedrock sends three or four. */
#define EVENTSTREAM_HEADERS_KEPT 16

/* Header value types, as the spec numbers them. */
enum eventstream_type {
    EVENTSTREAM_TRUE = 0,
    EVENTSTREAM_FALSE = 1,
    EVENTSTREAM_BYTE = 2,
    EVENTSTREAM_SHORT = 3,
    EVENTSTREAM_INT = 4,
    EVENTSTREAM_LONG = 5,
    EVENTSTREAM_BYTES = 6,
    EVENTSTREAM_STRING = 7,
    EVENTSTREAM_TIMESTAMP = 8,
    EVENTSTREAM_UUID = 9,
};

/* One header. The encoder writes string headers only; the decoder reads every type and points
 * 'value' at the value's bytes (a string's or byte array's without its length, a number's in
 * network order). Names are 1 to 255 bytes. */
struct eventstream_header {
    const char *name;
    size_t name_len;
    enum eventstream_type type;
    const char *value;
    size_t value_len;
};

/* Bytes the message with these string headers and a payload of 'plen' takes, or 0 when a name
 * or value is too long or the total passes the limits. */
size_t eventstream_size(const struct eventstream_header *h, size_t nh, size_t plen);

/* Encodes one message with string headers into buf. Returns its length, or -1 when it does not
 * fit 'cap' or breaks a limit. Borrows everything. */
long eventstream_encode(char *buf, size_t cap, const struct eventstream_header *h, size_t nh,
                        const void *payload, size_t plen);

/* A decoded message; its pointers are into the decoder's buffer, valid until the next call to
 * eventstream_feed or eventstream_next. Headers past EVENTSTREAM_HEADERS_KEPT are checked and
 * counted but not kept. */
struct eventstream_message {
    struct eventstream_header headers[EVENTSTREAM_HEADERS_KEPT];
    size_t nheaders; /* kept */
    size_t nheaders_seen;
    const char *payload;
    size_t payload_len;
};

/* Bytes fed and not yet consumed, up to one message plus what follows it. */
struct eventstream_decoder {
    char *buf;
    size_t len, cap;
    size_t off; /* start of the next message in buf */
    size_t max; /* largest message accepted */
    int failed; /* a corrupt message was seen: the stream cannot be resynchronised */
    char err[128];
};

/* max: the largest message accepted (0: EVENTSTREAM_MESSAGE_MAX). */
void eventstream_decoder_init(struct eventstream_decoder *d, size_t max);
void eventstream_decoder_cleanup(struct eventstream_decoder *d);
/* Appends bytes. Returns 0, or -1 with err filled (out of memory, or failed before). */
int eventstream_feed(struct eventstream_decoder *d, const void *data, size_t len);
/* The next whole message: 1 with 'm' filled, 0 when more bytes are needed, -1 with err filled
 * when the stream is corrupt (a bad CRC, a length out of range, a malformed header). A prelude
 * is checked as soon as its 12 bytes are in, before the rest of its message arrives. */
int eventstream_next(struct eventstream_decoder *d, struct eventstream_message *m);
/* Bytes fed that are not part of a whole message yet. */
size_t eventstream_pending(const struct eventstream_decoder *d);

/* A string header's value by name ('len' set), or NULL. */
const char *eventstream_header_str(const struct eventstream_message *m, const char *name,
                                   size_t *len);

#endif
