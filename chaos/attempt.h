/* One attempt of one user request: a curl transfer (HTTP/1.1, and cancel calls to another
 * origin) or an HTTP/2 stream of the pool, with the record it ends in. */
#ifndef CHAOS_ATTEMPT_H
#define CHAOS_ATTEMPT_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "action.h"
#include "client.h"
#include "scanner.h"

struct chaos_client;
struct event;
struct h2stream;
struct unframe;
struct task;

struct xfer {
    struct chaos_client *c;
    struct task *task;   /* a request of an agent task, or NULL */
    CURL *easy;          /* HTTP/1.1, and cancel calls to another origin */
    struct h2stream *hs; /* HTTP/2: the stream, until it ends */
    long h2_status;
    struct curl_slist *headers;
    char *body;
    struct chaos_record rec;
    const struct chaos_user *user;
    struct scanner sc;
    struct unframe *uf; /* Bedrock streams: the event-stream framing around the text */
    size_t uf_skip;     /* bytes curl hands over again after a pause (already framed) */
    uint32_t *trace;    /* arrival times, grown as tokens arrive (CHAOS_TRACE_MAX at most) */
    uint32_t trace_cap;
    curl_socket_t fd;
    enum action_close teardown; /* what our close hook does to the socket */
    enum chaos_end abort_end;   /* how the record ends when our abort closes it */
    int fired;                  /* the action happened */
    int pause_pending;          /* background: pause on the next chunk */
    int removed;                /* taken out of the multi handle by us */
    int discard;                /* HTTP/2: gone from the user's view; what still comes is dropped */
    int is_cancel_call;         /* a stop_button cancel request, not a user */
    int is_follow_up;           /* a supersede replacement: holds no slot of its own for think */
    struct xfer *owner;         /* for a cancel call: the user request it belongs to */
    int cancel_outstanding;
    uint32_t retries_left;
    char idem_key[CHAOS_ID_MAX + 16];
    struct event *trigger_ev; /* ms trigger, background end, drop give-up */
    struct xfer *next;        /* in flight (c->xfers), then dead (c->dead) */
    struct xfer *prev;        /* in flight: so an attempt leaves in O(1), not a walk of all */
};

/* A new attempt; with a URL, a curl transfer to it (HTTP/1.1 on a connection of its own),
 * without one an HTTP/2 stream to be sent by attempt_send. NULL on out of memory. */
struct xfer *attempt_new(struct chaos_client *c, const char *url, const char *method);
/* Frees an attempt already unlinked and out of the multi handle; NULL is fine. */
void attempt_free(struct xfer *x);
/* Sends the attempt, its headers and body set: a curl transfer, or a stream on 'path' of the
 * HTTP/2 pool's origin. 0, or -1 with err filled (the attempt is not linked then). */
int attempt_send(struct xfer *x, const char *method, const char *path, char *err, size_t errlen);
/* Starts one attempt and links it in flight; NULL if it could not be. follow_up: a supersede
 * replacement. Borrows 'user' and 'task'; copies 'cid' and 'idem_key'. */
struct xfer *attempt_start(struct chaos_client *c, uint32_t index, const char *cid,
                           uint32_t attempt, const struct chaos_user *user, int64_t trigger_at,
                           uint32_t retries_left, const char *idem_key, int follow_up,
                           struct task *task);
/* Ends the attempt's record (once), unlinks it and hands it to the reap; then its retry, its
 * task or its slot. 'error' is copied. */
void attempt_finish(struct xfer *x, enum chaos_end end, long status, const char *error);
/* Puts the attempt on the list in flight. */
void attempt_link(struct xfer *x);
/* Takes the attempt out of the list in flight (nothing when it is not on it). */
void attempt_unlink(struct xfer *x);
/* curlev's done_cb: a finished transfer, still in the multi handle. */
void attempt_done_cb(void *arg, CURL *easy, CURLcode rc);
/* The local port under the attempt: its socket's, or over HTTP/2 its connection's. */
int attempt_local_port(const struct xfer *x);

#endif
