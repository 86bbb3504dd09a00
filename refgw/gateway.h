/* refgw: a small reference LLM gateway. It relays POSTs under /v1/ to one upstream, streams the
 * answer back chunk by chunk, and, depending on its mode, handles a client that leaves mid-stream
 * well or badly: the thing tailgate measures. */
#ifndef REFGW_GATEWAY_H
#define REFGW_GATEWAY_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct gateway;

enum gateway_mode {
    GATEWAY_NAIVE,         /* keeps reading upstream to its end after the client left */
    GATEWAY_FIXED,         /* aborts the upstream transfer at once */
    GATEWAY_SLOW,          /* aborts it slow_ms after the client left */
    GATEWAY_RETRY,         /* aborts, then sends the request again and reads that to the end */
    GATEWAY_STRIP_HEADERS, /* like fixed, but never forwards X-Request-Id */
};

enum gateway_metering {
    GATEWAY_METER_USAGE, /* output tokens from the usage object on the wire, 0 without one */
    GATEWAY_METER_COUNT, /* the mock's tokens forwarded to the client before it left */
};

struct gateway_config {
    enum gateway_mode mode;
    const char *host;         /* listen address; NULL: 127.0.0.1 */
    int port;                 /* 0: any free port */
    const char *upstream;     /* base URL, "http://HOST:PORT" without a trailing slash */
    uint32_t slow_ms;         /* GATEWAY_SLOW's delay */
    const char *metering_log; /* one JSON line appended per finished request; NULL: none */
    enum gateway_metering metering;
};

/* Faults and counts, for the summary line at exit. */
struct gateway_stats {
    uint64_t requests;          /* client requests relayed */
    uint64_t upstream_attempts; /* upstream requests sent (a retry is a second one) */
    uint64_t client_closes;     /* clients that left before their response ended */
    uint64_t upstream_errors;   /* connect failures, transport errors, 5xx */
    uint64_t metering_errors;   /* metering lines that could not be written */
    uint64_t meter_skipped;     /* upstream lines not metered: over METER_LINE_MAX or no memory */
};

/* Listens at once. Returns NULL with err filled. Borrows 'base' and the config's strings. */
struct gateway *gateway_new(struct event_base *base, const struct gateway_config *cfg, char *err,
                            size_t errlen);
/* Drops every connection and transfer still open. NULL-safe. */
void gateway_free(struct gateway *gw);

/* The port it listens on (the chosen one when configured with 0). */
int gateway_port(const struct gateway *gw);
struct gateway_stats gateway_stats(const struct gateway *gw);

/* "naive", "fixed", "slow", "retry", "strip-headers"; parse returns -1 for anything else. */
int gateway_mode_parse(const char *s);
const char *gateway_mode_name(enum gateway_mode m);

#endif
