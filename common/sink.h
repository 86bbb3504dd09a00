/* A sink: one streaming HTTP response as a transport-neutral interface. Its owner (mockprov's
 * generation, refgw's exchange) writes the status, headers and body through it and hears back
 * through callbacks: the peer closed (and how), bytes drained, the response completed. An
 * implementation (h1sink.h: HTTP/1.1 on evhttp; later HTTP/2) fills the ops table and embeds
 * 'struct sink' as its first member. Nothing here knows who owns a sink or why. */
#ifndef TG_SINK_H
#define TG_SINK_H

#include <stddef.h>
#include <stdint.h>

struct sink;

/* How the peer left. Over HTTP/2 a stream reset ends one stream and leaves the connection to the
 * others; a GOAWAY, FIN or RST of the connection ends every stream still on it. */
enum sink_close {
    SINK_CLOSE_FIN,        /* the connection ended in order */
    SINK_CLOSE_RST,        /* the connection was reset */
    SINK_CLOSE_RST_STREAM, /* HTTP/2: the peer reset this stream (code: its error code) */
    SINK_CLOSE_GOAWAY,     /* HTTP/2: the peer's GOAWAY left this stream out (code: its code) */
};

enum sink_state {
    SINK_OPEN,     /* the response is ours to write */
    SINK_FLUSHING, /* we ended it; the transport is still sending it */
    SINK_DONE,     /* sent entirely, dropped, or the peer left: nothing more will happen */
};

/* All three may run from inside the transport's own callbacks: none may free the sink (free it
 * later, from the owner's own loop pass). 'arg' is sink_callbacks.arg. */
struct sink_callbacks {
    /* Bytes left the transport for the kernel (or, direct, never waited); sink_marks_done may
     * have grown. Runs inside sink_write too. */
    void (*drain_cb)(struct sink *s, void *arg);
    /* The peer left before the response completed; the sink is SINK_DONE. code: 0 over
     * HTTP/1.1. */
    void (*close_cb)(struct sink *s, enum sink_close kind, uint32_t code, void *arg);
    /* The response was sent entirely; the sink is SINK_DONE. */
    void (*complete_cb)(struct sink *s, void *arg);
    void *arg;
};

/* The transport's half. Called only through the sink_* functions below, which check the state
 * first. */
struct sink_ops {
    const char *name; /* "http/1.1" */
    /* Adds a response header (before start or reply). Connection-specific ones (Connection)
     * are the transport's to honour or leave out. */
    void (*header)(struct sink *s, const char *name, const char *value);
    /* Sends the status and headers of a streamed body. */
    void (*start)(struct sink *s, int status);
    /* Sends one piece of body, framed as the transport frames it, and accounts for it with
     * sink_queued (and sink_drained for bytes that left at once). */
    void (*write)(struct sink *s, const char *data, size_t len, int mark);
    /* Ends a streamed body; one trailer field if name is not NULL. */
    void (*end)(struct sink *s, const char *trailer_name, const char *trailer_value);
    /* Sends a whole response with this body (no start, write or end). */
    void (*reply)(struct sink *s, int status, const char *body, size_t len);
    /* Ends a started body where it is, once what was written is sent, without its proper end
     * (the peer sees a cut-off body). Over HTTP/1.1 only a closing connection says so: send
     * Connection: close at the start. */
    void (*cut)(struct sink *s);
    /* Drops the response at once, and what it still had queued: over HTTP/1.1 with its
     * connection. */
    void (*abort)(struct sink *s);
    /* Stops every callback. What the transport still holds is freed with the sink. */
    void (*detach)(struct sink *s);
    /* Optional (NULL: writes go out one by one). Gathers the writes that follow into the
     * caller's 'buf' until uncork, which sends them at once; any other op sends them first. */
    void (*cork)(struct sink *s, char *buf, size_t cap);
    void (*uncork)(struct sink *s);
    /* Bytes written that still wait in the transport's buffer. */
    uint64_t (*unsent)(const struct sink *s);
    void (*free)(struct sink *s);
};

/* Marked writes awaiting their drain; past it they count done at once. */
#define SINK_MARKS_MAX (1u << 20)

/* The transport-neutral state; the implementation's own follows it. */
struct sink {
    const struct sink_ops *ops;
    struct sink_callbacks cb;
    enum sink_state state;
    uint64_t queued;     /* body bytes handed to the transport, framing included */
    uint64_t drained;    /* of those, bytes that left it */
    uint64_t marks_done; /* marked writes whose last byte left */
    uint64_t *mark_end;  /* each pending mark's end offset in 'queued', oldest first */
    size_t mark_head, mark_n, mark_cap;
};

/* For implementations: fills the neutral part (state SINK_OPEN). */
void sink_init(struct sink *s, const struct sink_ops *ops);
/* For implementations: 'len' bytes were queued, 'sent' of them left at once; a marked write
 * counts done once its last byte left. Calls drain_cb when anything left. */
void sink_queued(struct sink *s, size_t len, size_t sent, int mark);
/* For implementations: 'len' queued bytes left the transport. Calls drain_cb. */
void sink_drained(struct sink *s, uint64_t len);
/* For implementations: the peer left; the sink is SINK_DONE and close_cb runs. */
void sink_closed(struct sink *s, enum sink_close kind, uint32_t code);
/* For implementations: the response was sent; the sink is SINK_DONE and complete_cb runs. */
void sink_completed(struct sink *s);

/* Replaces the callbacks (copied). */
void sink_set_callbacks(struct sink *s, const struct sink_callbacks *cb);
/* Adds a response header; only while SINK_OPEN and before start/reply. Borrows the strings. */
void sink_header(struct sink *s, const char *name, const char *value);
/* Sends the status and headers of a streamed response. */
void sink_start(struct sink *s, int status);
/* Writes one piece of a started body (no-op unless SINK_OPEN). mark: the tokens it carries,
 * counted in marks_done once its last byte leaves (0 for none, 1 for a token's event). No
 * allocation while the transport keeps up. */
void sink_write(struct sink *s, const char *data, size_t len, int mark);
/* Gathers the writes that follow, framed, into 'buf' (cap bytes, the caller's, alive until
 * sink_uncork) so that they leave in one send: a stream with several events due at once sends
 * them as one segment, not one system call each. The bytes and their order are the same, and
 * their accounting (queued, drained, marks) happens at sink_uncork. A no-op unless SINK_OPEN
 * and started, or where the transport cannot write directly. */
void sink_cork(struct sink *s, char *buf, size_t cap);
/* Sends what sink_cork gathered; a no-op when nothing is corked. */
void sink_uncork(struct sink *s);
/* Ends a started body, with one trailer field if trailer_name is not NULL; SINK_FLUSHING. */
void sink_end(struct sink *s, const char *trailer_name, const char *trailer_value);
/* Sends a whole response instead of a stream; SINK_FLUSHING. Borrows 'body'. */
void sink_reply(struct sink *s, int status, const char *body, size_t len);
/* See sink_ops.cut; SINK_FLUSHING. */
void sink_cut(struct sink *s);
/* See sink_ops.abort; SINK_DONE, and no callback runs for it. */
void sink_abort(struct sink *s);
/* No callback runs after this; the sink stays until sink_free. */
void sink_detach(struct sink *s);
/* Bytes written but still waiting in the transport. */
uint64_t sink_unsent(const struct sink *s);
/* Marked writes whose last byte left the transport. */
uint64_t sink_marks_done(const struct sink *s);
enum sink_state sink_state(const struct sink *s);
/* Detaches and frees, with whatever the transport still holds. NULL-safe. Never from inside the
 * sink's own callbacks. */
void sink_free(struct sink *s);

#endif
