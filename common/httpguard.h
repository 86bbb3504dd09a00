/* The guard in front of every evhttp server of tailgate (the mock, refgw, the chaos proxy's API):
 * it bounds what a hostile or broken peer can make a server hold, and makes every rejection a
 * client sees carry the server's JSON error shape and a status that names the cause.
 *
 * - Input: the request head (431 past max_head bytes or max_headers fields), the body (413 past
 *   max_body), and what a peer sends while its reply is pending or streaming (past max_pending
 *   the guard discards it and closes the connection after that reply; reading goes on, so a peer
 *   that leaves is still seen at once).
 * - Time: a head must arrive within header_timeout_ms of its first byte, a body must not pause
 *   longer than body_timeout_ms between reads (both answered 408), and a connection with no
 *   request in progress is closed after idle_timeout_ms. A reply in progress has no deadline: a
 *   user who backgrounds the app stalls a stream for as long as the scenario says.
 * - Framing: both Content-Length and Transfer-Encoding, or a Transfer-Encoding other than
 *   chunked, is 400 (501 for another coding); a malformed head or chunked body is 400; a method
 *   evhttp does not know is 501. A route that needs a body answers 411 when
 *   httpguard_lacks_length says so.
 * - Accept errors (EMFILE, ENFILE, ENOBUFS, ENOMEM) pause the listener and resume it, backing off
 *   from 10 ms to 1 s, instead of spinning; they are counted and logged at most once a second.
 *
 * libevent 2.1 has no per-connection hooks (its evhttp_set_newreqcb and evhttp_set_errorcb came in
 * 2.2), so this module replaces two of its exported functions for the whole program:
 * evhttp_send_error, which writes libevent's HTML error page, and evhttp_connection_free, where
 * a guard learns that its connection is gone. Both do what libevent's do, plus the guard's part. */
#ifndef TG_HTTPGUARD_H
#define TG_HTTPGUARD_H

#include <stddef.h>
#include <stdint.h>

struct bufferevent;
struct event_base;
struct evhttp;
struct evhttp_bound_socket;
struct evhttp_connection;
struct evhttp_request;
struct evbuffer;

/* Defaults, in the range real servers use (nginx: 8 KiB header buffers times 4, 60 s header and
 * body timeouts, 75 s keep-alive; Apache: 100 header fields). */
#define HTTPGUARD_MAX_HEAD (32u * 1024)
#define HTTPGUARD_MAX_HEADERS 100u
#define HTTPGUARD_MAX_PENDING (256u * 1024)
#define HTTPGUARD_HEADER_TIMEOUT_MS 60000u
#define HTTPGUARD_BODY_TIMEOUT_MS 60000u
#define HTTPGUARD_IDLE_TIMEOUT_MS 75000u

struct httpguard_limits {
    size_t max_head;            /* request line plus header lines, bytes: 431 past it */
    size_t max_headers;         /* header fields: 431 past it */
    size_t max_body;            /* request body, bytes: 413 past it */
    size_t max_pending;         /* bytes held from a peer while its reply is pending */
    unsigned header_timeout_ms; /* from a head's first byte to its end: 408 */
    unsigned body_timeout_ms;   /* longest pause between two reads of a body: 408 */
    unsigned idle_timeout_ms;   /* no request in progress: the connection is closed */
};

/* The defaults above, with max_body as given. */
struct httpguard_limits httpguard_defaults(size_t max_body);

/* Sends the server's JSON error for a rejection: 'status' and a 'message' naming the cause;
 * 'path' is the request's path when it is known (NULL otherwise), so a server that speaks
 * several vendors' shapes can pick one. Must send a reply on 'req' (evhttp_send_reply). The
 * guard has already asked for the connection to close after it. */
typedef void (*httpguard_reject_cb)(struct evhttp_request *req, int status, const char *message,
                                    const char *path, void *arg);
/* One line for the server's log (no newline). */
typedef void (*httpguard_log_cb)(const char *line, void *arg);

struct httpguard_stats {
    uint64_t connections;     /* accepted */
    uint64_t open;            /* connections now open */
    uint64_t accept_errors;   /* accept() failures for want of descriptors or memory */
    uint64_t accept_pauses;   /* times the listener paused for them */
    uint64_t timeouts_header; /* 408: the head did not arrive in time */
    uint64_t timeouts_body;   /* 408: the body paused too long */
    uint64_t timeouts_idle;   /* idle connections closed */
    uint64_t inputs_capped;   /* connections whose input past max_pending was discarded */
    uint64_t rejected;        /* rejections sent (4xx/5xx from the guard or from evhttp) */
};

struct httpguard;

/* Guards 'http' (bound on 'bound'): every request reaches 'cb' as evhttp_set_gencb's would.
 * Sets the evhttp's body and head size limits from 'lim'. 'reject' may be NULL (then a generic
 * {"error":{"message","code"}}); 'log' may be NULL. Returns NULL when out of memory. Free it
 * after evhttp_free (which closes the connections it guards). */
struct httpguard *httpguard_new(struct event_base *base, struct evhttp *http,
                                struct evhttp_bound_socket *bound,
                                const struct httpguard_limits *lim,
                                void (*cb)(struct evhttp_request *, void *), void *cb_arg,
                                httpguard_reject_cb reject, httpguard_log_cb log, void *arg);
void httpguard_free(struct httpguard *g);
/* Where accepted connections get their bufferevent (a TLS one, tls.h); NULL: a plain socket
 * one. The guard keys connections by the bufferevent evhttp holds, so whatever 'fn' makes must
 * be the one evhttp reads and writes. */
typedef struct bufferevent *(*httpguard_bev_fn)(struct event_base *base, void *arg);
void httpguard_set_bev(struct httpguard *g, httpguard_bev_fn fn, void *arg);
struct httpguard_stats httpguard_stats(const struct httpguard *g);

/* HTTP/2 on the same port (h2conn.h): a connection whose first bytes are the HTTP/2 client
 * preface (in cleartext, or inside TLS) goes to 'take' from inside the bufferevent's input
 * callback, before evhttp reads a byte of it: the guard's timers stop and 'take' sets the
 * bufferevent's callbacks, so evhttp never reads from or times out that connection again. evhttp
 * keeps its idle evhttp_connection, which the HTTP/2 side frees (evhttp_connection_free) when it
 * is done. 'take' returns a handle (NULL: refused, evhttp answers 400). 'gone' gets the handle
 * whenever that evhttp_connection is freed, by the HTTP/2 side itself or by evhttp_free; the
 * bufferevent goes right after it returns. Connections accepted before this call are not
 * sniffed. */
typedef void *(*httpguard_h2_take_fn)(struct bufferevent *bev, struct evhttp_connection *evcon,
                                      void *arg);
/* 'upgrade' (may be NULL) gets a complete HTTP/1.1 request that asks for 'Upgrade: h2c', before
 * the server's callback: it answers 101 and takes the connection with the request as stream 1
 * (the request stays evhttp's, freed with the connection), or returns NULL to leave it an
 * HTTP/1.1 request. */
typedef void *(*httpguard_h2_upgrade_fn)(struct bufferevent *bev, struct evhttp_connection *evcon,
                                         struct evhttp_request *req, void *arg);
typedef void (*httpguard_h2_gone_fn)(void *handle);
void httpguard_set_h2(struct httpguard *g, httpguard_h2_take_fn take,
                      httpguard_h2_upgrade_fn upgrade, httpguard_h2_gone_fn gone, void *arg);

/* The stats in Prometheus text, each name starting with 'prefix' (say "tailgate_mock_http"). */
void httpguard_metrics(const struct httpguard *g, const char *prefix, struct evbuffer *out);

/* Instead of evhttp_request_set_on_complete_cb on a guarded request: the guard needs to see the
 * reply end too (its connection is then idle, or reading the next request). */
void httpguard_on_complete(struct evhttp_request *req,
                           void (*cb)(struct evhttp_request *, void *), void *arg);

/* 1 when 'req' came with neither Content-Length nor chunked Transfer-Encoding (its body is
 * empty by the protocol): a route that needs a body answers 411 with 'msg'. */
int httpguard_lacks_length(struct evhttp_request *req);
#define HTTPGUARD_LENGTH_REQUIRED "A request body needs Content-Length or chunked Transfer-Encoding."

/* The reason phrase of a status evhttp's own table lacks (431, 429, 529...), or NULL. */
const char *httpguard_reason(int status);

/* Parses "250ms", "30s", "2m" or a bare number of milliseconds into *ms (at most 24 h).
 * Returns 0, or -1. */
int httpguard_parse_ms(const char *s, unsigned *ms);

#endif
