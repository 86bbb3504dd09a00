/* refgw: a small reference LLM gateway. It relays POSTs under /v1/ to one upstream, streams the
 * answer back chunk by chunk, and, depending on its mode, handles a client that leaves mid-stream
 * well or badly: the thing tailgate measures. */
#ifndef REFGW_RELAY_H
#define REFGW_RELAY_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct relay;
struct tls_server;

enum relay_mode {
    RELAY_NAIVE,         /* keeps reading upstream to its end after the client left */
    RELAY_FIXED,         /* aborts the upstream transfer at once */
    RELAY_SLOW,          /* aborts it slow_ms after the client left */
    RELAY_RETRY,         /* aborts, then sends the request again and reads that to the end */
    RELAY_STRIP_HEADERS, /* like fixed, but never forwards X-Request-Id */
};

enum relay_metering {
    RELAY_METER_USAGE, /* output tokens from the usage object on the wire, 0 without one */
    RELAY_METER_COUNT, /* the mock's tokens forwarded to the client before it left */
};

#define RELAY_MAX_FALLBACK_STATUSES 16

struct relay_config {
    enum relay_mode mode;
    const char *host;        /* listen address; NULL: 127.0.0.1 */
    int port;                /* 0: any free port */
    const char *upstream;    /* base URL, "http[s]://HOST:PORT" without a trailing slash */
    int upstream_http2;      /* HTTP/2 to the upstream (https only, by ALPN); 0: HTTP/1.1 */
    const char *upstream_ca; /* CA file for an https upstream; NULL: the system's */
    uint32_t slow_ms;        /* RELAY_SLOW's delay */
    /* A client's stream reset (SINK_CLOSE_RST_STREAM, HTTP/2) is handled as RELAY_NAIVE; a
     * closed connection (FIN, RST, GOAWAY) as 'mode' says. The gateway that passes every
     * HTTP/1.1 test and leaks over HTTP/2. */
    int ignore_stream_reset;
    /* The client is watched for a disconnect only once the first token came from the upstream
     * (a stream's opening events, sent before it, carry none): a client that left before then
     * is not seen leaving, and that request is read to its end as RELAY_NAIVE. The gateway that
     * leaks every abandonment during a long time to first token, and every non-streaming one. */
    int watch_after_first_byte;
    /* A client that leaves a non-streaming request (no "stream": true in its body) is handled as
     * RELAY_NAIVE; a streaming one as 'mode' says. The gateway that cancels streams only. */
    int ignore_nonstream_cancel;
    /* The gateway's own deadline: an upstream attempt silent this long while refgw reads it (not
     * while it holds it back for a slow client) is cut, and its client gets a 504, or a dropped
     * stream once the answer had begun. 0: none. */
    uint32_t upstream_idle_ms;
    /* A second provider: when the upstream answers a status in fallback_on (before any of its
     * answer reached the client), the same request goes here once, after the upstream's
     * retry-after (seconds) capped at fallback_max_wait_ms. A client that leaves during that
     * wait cancels it as the mode cancels an attempt (naive and retry do not watch);
     * fallback_ignores_cancel sends it anyway and reads it to the end. NULL: no fallback. */
    const char *fallback_upstream;
    int fallback_on[RELAY_MAX_FALLBACK_STATUSES];
    size_t nfallback_on;
    uint32_t fallback_max_wait_ms;
    int fallback_ignores_cancel;
    /* the client side serves HTTP/2 beside HTTP/1.1 on its port: prior knowledge in cleartext,
     * ALPN h2 under TLS */
    struct tls_server *tls;   /* NULL: cleartext; borrowed, outlives the relay */
    const char *metering_log; /* one JSON line appended per finished request; NULL: none */
    enum relay_metering metering;
    /* the client side's guard (httpguard.h); 0: its default */
    unsigned header_timeout_ms;
    unsigned body_timeout_ms;
    unsigned idle_timeout_ms;
};

/* Faults and counts, for the summary line at exit. */
struct relay_stats {
    uint64_t h2_connections;      /* client connections that spoke HTTP/2 */
    uint64_t requests;            /* client requests relayed */
    uint64_t upstream_attempts;   /* upstream requests sent (a retry is a second one) */
    uint64_t client_closes;       /* clients that left before their response ended */
    uint64_t upstream_errors;     /* connect failures, transport errors, 5xx */
    uint64_t metering_errors;     /* metering lines that could not be written */
    uint64_t meter_skipped;       /* upstream lines not metered: over METER_LINE_MAX or no memory */
    uint64_t deadline_cuts;       /* upstream attempts cut by upstream_idle_ms */
    uint64_t fallbacks;           /* requests sent to the fallback upstream */
    uint64_t fallbacks_cancelled; /* fallbacks not sent: the client left during the wait */
};

/* Listens at once. Returns NULL with err filled. Borrows 'base' and the config's strings. */
struct relay *relay_new(struct event_base *base, const struct relay_config *cfg, char *err,
                        size_t errlen);
/* Drops every connection and transfer still open. NULL-safe. */
void relay_free(struct relay *gw);

/* The port it listens on (the chosen one when configured with 0). */
int relay_port(const struct relay *gw);
struct relay_stats relay_stats(const struct relay *gw);

/* "naive", "fixed", "slow", "retry", "strip-headers"; parse returns -1 for anything else. */
int relay_mode_parse(const char *s);
const char *relay_mode_name(enum relay_mode m);

#endif
