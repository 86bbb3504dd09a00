/* One relayed client request, a "flow": its client side (a sink, common/sink.h), one or two
 * upstream attempts through libcurl, what the mode does when the client leaves, and one
 * metering line once all of it is over. */
#ifndef REFGW_FLOW_H
#define REFGW_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "exchange.h"
#include "meter.h"
#include "relaystate.h"
#include "sink.h"

enum client_state {
    CLIENT_LIVE,  /* the reply is ours to write */
    CLIENT_ENDED, /* we ended the reply (or dropped it); the sink only flushes */
    CLIENT_GONE,  /* the client left first */
};

struct flow {
    struct relay *gw;
    struct flow *prev, *next; /* live flows */
    enum client_state client;
    struct sink *sk; /* the client side; freed early by reap once the client left */
    int reply_started;
    int client_closed;
    /* the upstream request, kept whole so a retry sends it again unchanged */
    char *url;
    char *fallback_url;   /* the same request at the fallback upstream, or NULL */
    int fallback_pending; /* this attempt answered a fallback status: its end starts the wait */
    int on_fallback;      /* the attempt in flight (or the last) is the fallback's */
    int primary_status;   /* what the first upstream answered when it was fallen back from */
    long retry_after_s;   /* the attempt's retry-after header, -1 none */
    struct event *fallback_ev; /* the wait before the fallback */
    char *body;
    size_t body_len;
    struct curl_slist *headers;
    /* the attempt in flight */
    CURL *easy; /* NULL between and after attempts */
    uint32_t attempts;
    int headers_done; /* the final header block arrived (later blocks are trailers) */
    int upstream_5xx;
    int paused;        /* the write callback returned CURL_WRITEFUNC_PAUSE */
    int aborting;      /* inside upstream_remove: the write callback drops what it gets */
    int leave_pending; /* the client left inside a curl callback: wake_cb acts for it */
    int streaming;     /* the request asked for a stream (read for ignore_nonstream_cancel) */
    enum relay_mode leave_mode;
    const char *close_kind; /* how the client left ("fin", "rst", "rst_stream", "goaway") */
    int status;            /* for the log: what the client got, or would have got, from attempt 1 */
    struct event *wake_ev; /* resumes a paused transfer, outside curl's callbacks */
    struct event *slow_ev; /* RELAY_SLOW: the delayed abort */
    struct event *idle_ev; /* upstream_idle_ms: the attempt's silence */
    uint64_t heard_us;     /* when the attempt last sent something (the loop's cached clock) */
    struct meter meter;
    char rid[RELAY_RID_MAX];
    char path[RELAY_PATH_LOG_MAX];
    int finished;
    int await_flush; /* finished, but its sink still sends our end: freed once it is sent */
    int sink_queued;
    struct flow *sink_next; /* reap list of sinks whose client left */
    struct flow *reap_next; /* reap list of finished flows */
};

/* Starts relaying client request x (answering it with an error when it cannot). */
void flow_start(struct relay *gw, struct exchange *x);
/* Frees a flow, taking its attempt out of curl. NULL-safe. */
void flow_free(struct flow *fl);
/* The upstream's callback when an attempt's transfer is over (struct upstream_callbacks). */
void flow_upstream_done(CURL *easy, CURLcode rc, void *arg);

#endif
