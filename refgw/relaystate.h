/* refgw's relay as its requests' flows see it: the server's state (relay.c owns it) and the
 * limits both share. Nothing outside refgw/ includes this. */
#ifndef REFGW_RELAYSTATE_H
#define REFGW_RELAYSTATE_H

#include <stdint.h>
#include <stdio.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "httpd.h"
#include "relay.h"
#include "upstream.h"

#define RELAY_MAX_BODY (16u * 1024 * 1024) /* client request bodies: 413 past it */
#define RELAY_URL_MAX 8192                 /* upstream URL: base, path and query */
#define RELAY_PATH_LOG_MAX 512             /* path as written to the metering log */
#define RELAY_RID_MAX 256                  /* X-Request-Id as written to the metering log */
/* A client that reads slower than the upstream writes: past HIGH bytes waiting in its output
 * buffer the upstream transfer is paused (backpressure reaches the upstream socket), below LOW
 * it resumes. */
#define RELAY_OUT_HIGH (256 * 1024)
#define RELAY_OUT_LOW (64 * 1024)

struct flow;

struct relay {
    struct event_base *base;
    struct relay_config cfg;
    struct httpd httpd;  /* the guarded client side */
    struct evhttp *http; /* httpd.http */
    int port;
    struct upstream *up;
    FILE *meterlog;
    uint64_t t_start_ns;
    struct flow *flows;
    struct flow *reap_sinks;
    struct flow *reap_dead;
    struct event *reap_ev;
    struct evbuffer *scratch;
    struct relay_stats st;
    int in_curl;                   /* inside a curl callback: no transfer may leave curl now */
    char flush_url[RELAY_URL_MAX]; /* the upstream's "/", see upstream_remove */
};

/* Frees, on the loop's next turn, what callbacks could not free in place (relay.c's reap). */
static inline void relay_schedule_reap(struct relay *gw)
{
    event_active(gw->reap_ev, EV_TIMEOUT, 0);
}

#endif
