/* A toxic: one network fault of the chaos proxy, named and shaped as Toxiproxy's
 * (github.com/Shopify/toxiproxy, README "Toxics"), plus tailgate's `blackhole` and `stall`. */
#ifndef CH_TOXIC_H
#define CH_TOXIC_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define TOXIC_NAME_MAX 64        /* bytes, without the NUL */
#define TOXIC_MAX_MS 3600000     /* one hour: any longer time attribute is a mistake */
#define TOXIC_MAX_RATE 10000000  /* KB/s (10 GB/s) */
#define TOXIC_MAX_SLICE (1 << 20)
#define TOXIC_MAX_SLICE_DELAY_US 10000000
#define TOXIC_MAX_BYTES 9007199254740992LL /* 2^53: the largest integer JSON keeps exact */

enum toxic_type {
    TOXIC_LATENCY,
    TOXIC_BANDWIDTH,
    TOXIC_SLICER,
    TOXIC_LIMIT_DATA,
    TOXIC_RESET_PEER,
    TOXIC_TIMEOUT,
    TOXIC_SLOW_CLOSE,
    TOXIC_BLACKHOLE,
    TOXIC_STALL,
    TOXIC_TYPE_COUNT
};

/* Toxiproxy's directions: upstream is client -> server, downstream is server -> client. */
enum toxic_stream { TOXIC_UPSTREAM, TOXIC_DOWNSTREAM };

/* What toxic_parse rejected; the API maps each to Toxiproxy's error message and status. */
enum toxic_error {
    TOXIC_EBODY = -1,   /* a field is missing, mistyped or out of range */
    TOXIC_ETYPE = -2,   /* unknown "type" */
    TOXIC_ESTREAM = -3, /* "stream" is neither upstream nor downstream */
};

/* Attributes keep Toxiproxy's JSON names; all are integers. */
struct toxic {
    char name[TOXIC_NAME_MAX + 1];
    enum toxic_type type;
    enum toxic_stream stream;
    double toxicity; /* share of connections it applies to, decided per connection */
    union {
        struct {
            int64_t latency, jitter; /* ms; the delay is latency +/- jitter */
        } latency;
        struct {
            int64_t rate; /* KB/s (1000 bytes); 0: unlimited, as in Toxiproxy */
        } bandwidth;
        struct {
            int64_t average_size, size_variation; /* bytes */
            int64_t delay;                        /* us between slices */
        } slicer;
        struct {
            int64_t bytes; /* the connection closes after this many */
        } limit_data;
        struct {
            int64_t timeout; /* ms after the first data: RST both sides */
        } reset_peer;
        struct {
            int64_t timeout; /* ms: data stops; then close (0: never close) */
        } timeout;
        struct {
            int64_t delay; /* ms the close is held back */
        } slow_close;
        struct {
            /* both directions stop whatever the stream (a partition; the stream only names
             * it), sockets stay open; 0: hold forever, else RST both sides after this */
            int64_t rst_after_ms;
        } blackhole;
        struct {
            int64_t duration_ms; /* the stream's source is not read for this long */
        } stall;
    } a;
};

/* Type name ("latency"), or NULL. */
const char *toxic_type_name(enum toxic_type t);
/* "upstream" / "downstream". */
const char *toxic_stream_name(enum toxic_stream s);
/* Parses a type name; returns 0, or -1 if unknown. */
int toxic_type_parse(const char *s, enum toxic_type *out);

/* Parses a toxic in Toxiproxy's shape: {"name","type","stream","toxicity","attributes":{}}.
 * Defaults as Toxiproxy: stream downstream, toxicity 1, name "<type>_<stream>", attributes 0.
 * Unknown keys and attributes are rejected. Returns 0, or a TOXIC_E* code with err naming the
 * field; 'out' is untouched on failure. Borrows 'j'. */
int toxic_parse(const cJSON *j, struct toxic *out, char *err, size_t errlen);

/* Applies an update body to a copy of 't': "attributes" (merged over the current ones) and
 * "toxicity"; "name", "type" and "stream", if present, must match. Returns 0, or TOXIC_EBODY
 * with err filled; 't' is untouched on failure. */
int toxic_update(struct toxic *t, const cJSON *j, char *err, size_t errlen);

/* Checks every attribute's range. Returns 0, or -1 with err naming the field. */
int toxic_validate(const struct toxic *t, char *err, size_t errlen);

/* The toxic in Toxiproxy's JSON shape, or NULL when out of memory. Caller frees. */
cJSON *toxic_to_json(const struct toxic *t);

#endif
