/* The chaos proxy: a libevent TCP proxy with Toxiproxy-style toxics. One listener, one upstream;
 * each accepted client gets its own upstream connection, and the toxics act per connection. */
#ifndef CH_PROXY_H
#define CH_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include "toxic.h"

#define PROXY_NAME_MAX 64
#define PROXY_ADDR_MAX 128      /* "host:port" */
#define PROXY_MAX_TOXICS 16     /* per proxy; looked up by linear scan */
#define PROXY_MAX_CONNS 4096    /* per proxy; a client past it is reset at once */
#define PROXY_BUF_MAX (128 * 1024) /* per stage: one direction of a connection holds at most
                                    * 3 x this (input, toxic stage, output) */

struct event_base;
struct proxy;

struct proxy_conn_info {
    uint64_t id;              /* 1, 2, ... in accept order */
    int client_port;          /* the downstream peer's port */
    uint64_t bytes_up;        /* handed to the kernel toward the upstream */
    uint64_t bytes_down;      /* handed to the kernel toward the client */
    size_t buffered_up;       /* held by the proxy, client -> upstream */
    size_t buffered_down;     /* held by the proxy, upstream -> client */
    int blackholed;           /* dropped, or a blackhole toxic applies */
};

struct proxy_stats {
    uint64_t accepted;
    uint64_t refused;         /* past PROXY_MAX_CONNS */
    uint64_t upstream_errors; /* the upstream did not accept */
    uint64_t active;
    uint64_t wakeups;      /* callbacks run for connections (reads, writes, timers, close
                            * watches): an idle connection, half-closed or not, adds none */
    uint64_t watch_errors; /* a socket could not join the close watch: an RST on that side
                            * is seen only on the proxy's next write to it */
    /* Toxiproxy's byte counters, by enum toxic_stream (UPSTREAM: client -> upstream), every
     * connection since the proxy was made: received is what the proxy took from the source
     * socket (including what a toxic dropped), sent is what it handed to the destination's. */
    uint64_t received_bytes[2];
    uint64_t sent_bytes[2];
};

/* Resolves 'upstream', binds 'listen' ("127.0.0.1:0" picks a free port) and starts accepting.
 * Returns NULL with err filled. Borrows 'base'; copies the strings. The program must ignore
 * SIGPIPE (writes to a reset peer use writev). */
struct proxy *proxy_new(struct event_base *base, const char *name, const char *listen,
                        const char *upstream, char *err, size_t errlen);
/* Closes every connection (FIN) and the listener, frees everything. NULL is fine. Must not be
 * called from one of this proxy's own callbacks (none reach the caller). */
void proxy_free(struct proxy *p);

/* Seeds the per-connection toxicity decisions and jitter (default 1). Connections accepted
 * later use it; the same seed and the same sequence of connections give the same decisions. */
void proxy_set_seed(struct proxy *p, uint64_t seed);

const char *proxy_name(const struct proxy *p);
/* The bound address ("127.0.0.1:41234"): the actual port once bound, else what was asked. */
const char *proxy_listen(const struct proxy *p);
const char *proxy_upstream(const struct proxy *p);
int proxy_listen_port(const struct proxy *p);
int proxy_enabled(const struct proxy *p);
void proxy_get_stats(const struct proxy *p, struct proxy_stats *out);

/* Listens again (on the port it had). Returns 0 (also when already enabled), or -1 with err. */
int proxy_enable(struct proxy *p, char *err, size_t errlen);
/* Stops listening and closes every connection with a FIN, as Toxiproxy does. */
void proxy_disable(struct proxy *p);
/* Changes the addresses; when either differs the connections are closed and the proxy restarts
 * (if it was enabled). Returns 0, or -1 with err: unchanged if an address does not resolve,
 * left disabled if the new address cannot be bound. */
int proxy_set_addresses(struct proxy *p, const char *listen, const char *upstream, char *err,
                        size_t errlen);

/* Adds a toxic; it applies to live connections too (each decides by toxicity). Returns 0, or -1
 * with err (name taken, PROXY_MAX_TOXICS reached, invalid). Copies 't'. */
int proxy_add_toxic(struct proxy *p, const struct toxic *t, char *err, size_t errlen);
/* Replaces the toxic named t->name (same type and stream). Per-connection state is kept;
 * connections decide again only if the toxicity changed. Returns 0, or -1 with err. */
int proxy_update_toxic(struct proxy *p, const struct toxic *t, char *err, size_t errlen);
/* Removes a toxic; connections it held resume. As in Toxiproxy, removing a `timeout` closes
 * the connections it applied to (their data was dropped). Returns 0, or -1 if not found. */
int proxy_remove_toxic(struct proxy *p, const char *name);
/* Removes every toxic. */
void proxy_reset(struct proxy *p);
size_t proxy_toxic_count(const struct proxy *p);
/* The i-th toxic in the order added, or NULL. Valid until the next change. */
const struct toxic *proxy_toxic_at(const struct proxy *p, size_t i);
const struct toxic *proxy_find_toxic(const struct proxy *p, const char *name);

/* Blackholes the connection whose client (downstream peer) port is 'client_port': both ways
 * stop, both sockets stay open, no FIN. With rst_after_ms > 0 both sides then get an RST (a
 * NAT entry expiring). Returns 0, or -1 if no such connection. */
int proxy_drop_connection(struct proxy *p, int client_port, uint32_t rst_after_ms);

/* Fills up to 'max' entries about live connections (oldest first); returns how many are live. */
size_t proxy_list_conns(const struct proxy *p, struct proxy_conn_info *out, size_t max);

#endif
