/* Tests for common/eventstream: AWS event-stream messages from a table of known vectors (their
 * bytes computed apart from this code, with another language's zlib binding), encoded and
 * decoded; a Bedrock stream decoded at every split point and a byte at a time; corrupted CRCs,
 * lengths and headers rejected. */
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "check.h"
#include "eventstream.h"

#define S(lit) lit, sizeof lit - 1 /* a literal with its length: NUL bytes count */

/* The ConverseStream headers every event carries. */
#define H(n, v)                                                                                    \
    {                                                                                              \
        n, sizeof n - 1, EVENTSTREAM_STRING, v, sizeof v - 1                                       \
    }

static const struct eventstream_header start_headers[] = {
    H(":event-type", "messageStart"),
    H(":content-type", "application/json"),
    H(":message-type", "event"),
};
static const struct eventstream_header exception_headers[] = {
    H(":exception-type", "throttlingException"),
    H(":content-type", "application/json"),
    H(":message-type", "exception"),
};

static const struct {
    const char *name;
    const char *bytes;
    size_t len;
    const struct eventstream_header *headers; /* NULL: not encodable (non-string headers) */
    size_t nheaders;
    const char *payload;
    size_t nseen; /* headers the decoder reads */
} vectors[] = {
    {"empty", S("\x00\x00\x00\x10\x00\x00\x00\x00\x05\xc2\x48\xeb\x7d\x98\xc8\xff"), NULL, 0, "",
     0},
    {"messageStart",
     S("\x00\x00\x00"
       "v"
       "\x00\x00\x00"
       "R"
       "\x96\xd5\xfa\xde\x0b"
       ":event-type"
       "\x07\x00\x0c"
       "messageStart"
       "\x0d"
       ":content-type"
       "\x07\x00\x10"
       "application/json"
       "\x0d"
       ":message-type"
       "\x07\x00\x05"
       "event{"
       "\"role\""
       ":"
       "\"assistant\""
       "}o"
       "\xa8\xc5\x99"),
     start_headers, 3, "{\"role\":\"assistant\"}", 3},
    {"exception",
     S("\x00\x00\x00\x90\x00\x00\x00"
       "a"
       "\x8e\x91\xa9\xb7\x0f"
       ":exception-type"
       "\x07\x00\x13"
       "throttlingException"
       "\x0d"
       ":content-type"
       "\x07\x00\x10"
       "application/json"
       "\x0d"
       ":message-type"
       "\x07\x00\x09"
       "exception{"
       "\"message\""
       ":"
       "\"Too many requests\""
       "}"
       "\xe6\x7f\x80\x05"),
     exception_headers, 3, "{\"message\":\"Too many requests\"}", 3},
    {"every header type",
     S("\x00\x00\x00"
       "_"
       "\x00\x00\x00"
       "O9"
       "\x02\xdb"
       "r"
       "\x01"
       "t"
       "\x00\x01"
       "f"
       "\x01\x01"
       "b"
       "\x02\x7f\x01"
       "s"
       "\x03\x01\x02\x01"
       "i"
       "\x04\x00\x00\x01\x00\x01"
       "l"
       "\x05\x00\x00\x00\x00\x00\x00\x00\x05\x01"
       "y"
       "\x06\x00\x02\x00\x01\x03"
       "str"
       "\x07\x00\x01"
       "x"
       "\x02"
       "ts"
       "\x08\x00\x00\x00\x00\x00\x00\x00\x09\x01"
       "u"
       "\x09\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"
       "<"
       "\xa9"
       "1"
       "\xa6"),
     NULL, 0, "", 10},
};
#define NVECTORS (sizeof vectors / sizeof vectors[0])

static void eventstream_encode_should_write_the_known_vectors(void)
{
    char buf[512];
    for (size_t i = 0; i < NVECTORS; i++) {
        if (vectors[i].headers == NULL && vectors[i].nseen > 0)
            continue;
        size_t plen = strlen(vectors[i].payload);
        CHECK_EQ_INT(eventstream_size(vectors[i].headers, vectors[i].nheaders, plen),
                     vectors[i].len);
        long n = eventstream_encode(buf, sizeof buf, vectors[i].headers, vectors[i].nheaders,
                                    vectors[i].payload, plen);
        if (n != (long)vectors[i].len || memcmp(buf, vectors[i].bytes, vectors[i].len) != 0)
            fprintf(stderr, "  vector %s\n", vectors[i].name);
        CHECK_EQ_INT(n, vectors[i].len);
        CHECK(memcmp(buf, vectors[i].bytes, vectors[i].len) == 0);
        /* one byte short does not fit */
        CHECK_EQ_INT(eventstream_encode(buf, vectors[i].len - 1, vectors[i].headers,
                                        vectors[i].nheaders, vectors[i].payload, plen),
                     -1);
    }
}

static void eventstream_next_should_decode_the_known_vectors(void)
{
    for (size_t i = 0; i < NVECTORS; i++) {
        struct eventstream_decoder d;
        struct eventstream_message m;
        eventstream_decoder_init(&d, 0);
        CHECK(eventstream_feed(&d, vectors[i].bytes, vectors[i].len) == 0);
        int rc = eventstream_next(&d, &m);
        if (rc != 1)
            fprintf(stderr, "  vector %s: %s\n", vectors[i].name, d.err);
        CHECK_EQ_INT(rc, 1);
        CHECK_EQ_INT(m.nheaders_seen, vectors[i].nseen);
        CHECK_EQ_INT(m.payload_len, strlen(vectors[i].payload));
        CHECK(memcmp(m.payload, vectors[i].payload, m.payload_len) == 0);
        for (size_t h = 0; vectors[i].headers && h < vectors[i].nheaders; h++) {
            size_t vl;
            char name[64];
            snprintf(name, sizeof name, "%s", vectors[i].headers[h].name);
            const char *v = eventstream_header_str(&m, name, &vl);
            CHECK(v != NULL);
            CHECK_EQ_INT(vl, vectors[i].headers[h].value_len);
            CHECK(memcmp(v, vectors[i].headers[h].value, vl) == 0);
        }
        CHECK_EQ_INT(eventstream_next(&d, &m), 0);
        CHECK_EQ_INT(eventstream_pending(&d), 0);
        eventstream_decoder_cleanup(&d);
    }
}

static void eventstream_next_should_read_every_header_type(void)
{
    struct eventstream_decoder d;
    struct eventstream_message m;
    eventstream_decoder_init(&d, 0);
    CHECK(eventstream_feed(&d, vectors[3].bytes, vectors[3].len) == 0);
    CHECK_EQ_INT(eventstream_next(&d, &m), 1);
    CHECK_EQ_INT(m.nheaders, 10);
    static const struct {
        enum eventstream_type t;
        size_t len;
    } want[] = {{EVENTSTREAM_TRUE, 0},  {EVENTSTREAM_FALSE, 0},  {EVENTSTREAM_BYTE, 1},
                {EVENTSTREAM_SHORT, 2}, {EVENTSTREAM_INT, 4},    {EVENTSTREAM_LONG, 8},
                {EVENTSTREAM_BYTES, 2}, {EVENTSTREAM_STRING, 1}, {EVENTSTREAM_TIMESTAMP, 8},
                {EVENTSTREAM_UUID, 16}};
    for (size_t i = 0; i < 10; i++) {
        CHECK_EQ_INT(m.headers[i].type, want[i].t);
        CHECK_EQ_INT(m.headers[i].value_len, want[i].len);
    }
    size_t vl;
    const char *s = eventstream_header_str(&m, "str", &vl);
    CHECK(s != NULL && vl == 1 && s[0] == 'x');
    CHECK(eventstream_header_str(&m, "y", &vl) == NULL); /* a byte array is not a string */
    CHECK_EQ_INT((unsigned char)m.headers[9].value[15], 15);
    eventstream_decoder_cleanup(&d);
}

/* A ConverseStream as the mock sends it: five events, encoded back to back. */
static size_t bedrock_stream(char *buf, size_t cap)
{
    static const struct {
        const char *type;
        const char *payload;
    } ev[] = {
        {"messageStart", "{\"role\":\"assistant\"}"},
        {"contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\" tok0\"}}"},
        {"contentBlockDelta", "{\"contentBlockIndex\":0,\"delta\":{\"text\":\" tok1\"}}"},
        {"contentBlockStop", "{\"contentBlockIndex\":0}"},
        {"messageStop", "{\"stopReason\":\"end_turn\"}"},
        {"metadata", "{\"usage\":{\"inputTokens\":7,\"outputTokens\":2,\"totalTokens\":9},"
                     "\"metrics\":{\"latencyMs\":12}}"},
    };
    size_t at = 0;
    for (size_t i = 0; i < sizeof ev / sizeof ev[0]; i++) {
        struct eventstream_header h[3] = {
            {":event-type", 11, EVENTSTREAM_STRING, ev[i].type, strlen(ev[i].type)},
            H(":content-type", "application/json"),
            H(":message-type", "event"),
        };
        long n = eventstream_encode(buf + at, cap - at, h, 3, ev[i].payload, strlen(ev[i].payload));
        if (n < 0)
            return 0;
        at += (size_t)n;
    }
    return at;
}

/* Decodes what it can after a feed: the event types seen, joined by ','. */
static int drain(struct eventstream_decoder *d, char *types, size_t cap)
{
    struct eventstream_message m;
    int rc;
    while ((rc = eventstream_next(d, &m)) == 1) {
        size_t vl;
        const char *t = eventstream_header_str(&m, ":event-type", &vl);
        size_t have = strlen(types);
        if (t == NULL || have + vl + 2 > cap)
            return -1;
        snprintf(types + have, cap - have, "%s%.*s", have ? "," : "", (int)vl, t);
    }
    return rc;
}

#define STREAM_TYPES                                                                               \
    "messageStart,contentBlockDelta,contentBlockDelta,contentBlockStop,messageStop,metadata"

static void eventstream_next_should_decode_a_stream_at_every_split_point(void)
{
    char stream[2048];
    size_t len = bedrock_stream(stream, sizeof stream);
    CHECK(len > 0);
    for (size_t cut = 0; cut <= len; cut++) {
        struct eventstream_decoder d;
        char types[256] = "";
        eventstream_decoder_init(&d, 0);
        CHECK(eventstream_feed(&d, stream, cut) == 0);
        CHECK(drain(&d, types, sizeof types) == 0);
        CHECK(eventstream_feed(&d, stream + cut, len - cut) == 0);
        CHECK(drain(&d, types, sizeof types) == 0);
        if (strcmp(types, STREAM_TYPES) != 0)
            fprintf(stderr, "  cut at %zu: %s\n", cut, types);
        CHECK_EQ_STR(types, STREAM_TYPES);
        CHECK_EQ_INT(eventstream_pending(&d), 0);
        eventstream_decoder_cleanup(&d);
    }
}

static void eventstream_next_should_decode_a_stream_fed_a_byte_at_a_time(void)
{
    char stream[2048];
    size_t len = bedrock_stream(stream, sizeof stream);
    CHECK(len > 0);
    struct eventstream_decoder d;
    char types[256] = "";
    eventstream_decoder_init(&d, 0);
    for (size_t i = 0; i < len; i++) {
        CHECK(eventstream_feed(&d, stream + i, 1) == 0);
        CHECK(drain(&d, types, sizeof types) == 0);
    }
    CHECK_EQ_STR(types, STREAM_TYPES);
    CHECK_EQ_INT(eventstream_pending(&d), 0);
    eventstream_decoder_cleanup(&d);
}

/* Feeds 'bytes' whole and returns eventstream_next's answer, the error text in err. */
static int decode_once(const char *bytes, size_t len, size_t max, char *err, size_t cap)
{
    struct eventstream_decoder d;
    struct eventstream_message m;
    eventstream_decoder_init(&d, max);
    int rc = eventstream_feed(&d, bytes, len) == 0 ? eventstream_next(&d, &m) : -2;
    snprintf(err, cap, "%s", d.err);
    eventstream_decoder_cleanup(&d);
    return rc;
}

static void eventstream_next_should_reject_corrupt_messages(void)
{
    char b[256], err[128];
    size_t len = vectors[1].len;
    static const struct {
        size_t at; /* byte flipped; past the message: the last byte */
        const char *err;
    } rows[] = {
        {0, "event-stream: prelude CRC mismatch"},   /* total length */
        {5, "event-stream: prelude CRC mismatch"},   /* headers length */
        {9, "event-stream: prelude CRC mismatch"},   /* the prelude CRC itself */
        {13, "event-stream: message CRC mismatch"},  /* a header name */
        {110, "event-stream: message CRC mismatch"}, /* the payload */
        {117, "event-stream: message CRC mismatch"}, /* the message CRC itself */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        memcpy(b, vectors[1].bytes, len);
        b[rows[i].at] ^= 0x20;
        CHECK_EQ_INT(decode_once(b, len, 0, err, sizeof err), -1);
        if (strncmp(err, rows[i].err, strlen(rows[i].err)) != 0)
            fprintf(stderr, "  row %zu: %s\n", i, err);
        CHECK(strncmp(err, rows[i].err, strlen(rows[i].err)) == 0);
    }
    /* a bad prelude is rejected from its 12 bytes, before the rest arrives */
    memcpy(b, vectors[1].bytes, len);
    b[9] ^= 1;
    CHECK_EQ_INT(decode_once(b, EVENTSTREAM_PRELUDE_LEN, 0, err, sizeof err), -1);
    /* a whole message larger than the decoder's cap */
    CHECK_EQ_INT(decode_once(vectors[1].bytes, len, 64, err, sizeof err), -1);
    CHECK(strncmp(err, "event-stream: message length out of range", 41) == 0);
}

static void put32(char *p, uint32_t v)
{
    for (int k = 0; k < 4; k++)
        p[k] = (char)(v >> (24 - 8 * k));
}

/* A message around raw header bytes, its CRCs right (zlib's crc32, as the decoder checks). */
static size_t framed(char *out, const char *headers, size_t hl)
{
    size_t total = EVENTSTREAM_OVERHEAD + hl;
    put32(out, (uint32_t)total);
    put32(out + 4, (uint32_t)hl);
    put32(out + 8, (uint32_t)crc32(0L, (const Bytef *)out, 8));
    memcpy(out + EVENTSTREAM_PRELUDE_LEN, headers, hl);
    put32(out + total - 4, (uint32_t)crc32(0L, (const Bytef *)out, (uInt)(total - 4)));
    return total;
}

static void eventstream_next_should_reject_malformed_headers(void)
{
    /* each row: raw header bytes inside a message whose CRCs are right */
    static const struct {
        const char *h;
        size_t len;
        const char *err;
    } rows[] = {
        {S("\x00"), "event-stream: malformed header name"}, /* empty name */
        {S("\x05"
           "ab"),
         "event-stream: malformed header name"}, /* name past the end */
        {S("\x01"
           "a"
           "\x0a"),
         "event-stream: malformed header value"}, /* type 10 */
        {S("\x01"
           "a"
           "\x07"
           "\x00"),
         "event-stream: malformed header value"}, /* cut length */
        {S("\x01"
           "a"
           "\x07"
           "\x00\x05"
           "ab"),
         "event-stream: header value past the headers"},
        {S("\x01"
           "a"
           "\x04"
           "\x00\x00"),
         "event-stream: header value past the headers"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char b[64], err[128];
        size_t total = framed(b, rows[i].h, rows[i].len);
        CHECK_EQ_INT(decode_once(b, total, 0, err, sizeof err), -1);
        if (strncmp(err, rows[i].err, strlen(rows[i].err)) != 0)
            fprintf(stderr, "  row %zu: %s\n", i, err);
        CHECK(strncmp(err, rows[i].err, strlen(rows[i].err)) == 0);
    }
}

static void eventstream_next_should_stay_failed_after_a_corrupt_message(void)
{
    char b[256];
    size_t len = vectors[1].len;
    memcpy(b, vectors[1].bytes, len);
    b[len - 1] ^= 1;
    struct eventstream_decoder d;
    struct eventstream_message m;
    eventstream_decoder_init(&d, 0);
    CHECK(eventstream_feed(&d, b, len) == 0);
    CHECK_EQ_INT(eventstream_next(&d, &m), -1);
    CHECK_EQ_INT(eventstream_next(&d, &m), -1);
    CHECK_EQ_INT(eventstream_feed(&d, vectors[1].bytes, len), -1);
    eventstream_decoder_cleanup(&d);
}

static void eventstream_encode_should_refuse_what_the_spec_forbids(void)
{
    char buf[64];
    struct eventstream_header empty_name = {"", 0, EVENTSTREAM_STRING, "v", 1};
    CHECK_EQ_INT(eventstream_encode(buf, sizeof buf, &empty_name, 1, "", 0), -1);
    CHECK_EQ_INT(eventstream_size(NULL, 0, EVENTSTREAM_PAYLOAD_MAX + 1), 0);
    CHECK_EQ_INT(eventstream_size(NULL, 0, 0), EVENTSTREAM_OVERHEAD);
}

static const struct check_case cases[] = {
    CASE(eventstream_encode_should_write_the_known_vectors),
    CASE(eventstream_next_should_decode_the_known_vectors),
    CASE(eventstream_next_should_read_every_header_type),
    CASE(eventstream_next_should_decode_a_stream_at_every_split_point),
    CASE(eventstream_next_should_decode_a_stream_fed_a_byte_at_a_time),
    CASE(eventstream_next_should_reject_corrupt_messages),
    CASE(eventstream_next_should_reject_malformed_headers),
    CASE(eventstream_next_should_stay_failed_after_a_corrupt_message),
    CASE(eventstream_encode_should_refuse_what_the_spec_forbids),
};

int main(int argc, char **argv)
{
    return check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
}
