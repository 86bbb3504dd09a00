/* refgw's upstream side: libcurl's multi-socket API on a libevent loop (after curl's hiperfifo
 * example). Transfers are plain easy handles; a finished one is reported through done_cb. */
#ifndef REFGW_UPSTREAM_H
#define REFGW_UPSTREAM_H

#include <stddef.h>

#include <curl/curl.h>

struct event_base;
struct upstream;

/* Called outside curl's callbacks once per finished transfer, after it left the multi handle;
 * the callback may add and remove transfers. */
struct upstream_callbacks {
    void (*done_cb)(CURL *easy, CURLcode rc, void *arg);
    void *arg;
};

/* How transfers reach the upstream. */
struct upstream_options {
    int http2;           /* 0: HTTP/1.1 (also over https); 1: HTTP/2 over TLS by ALPN, the
                          * transfers to one upstream multiplexed on shared connections */
    const char *ca_file; /* PEM file to trust for an https upstream; NULL: the system's */
    /* HTTP/2: a URL on the upstream a small GET may go to after an abort, to carry the abort's
     * RST_STREAM out (see upstream_remove); NULL: none */
    const char *flush_url;
};

/* Returns NULL with err filled. Borrows 'base' and the options' strings. Calls
 * curl_global_init. */
struct upstream *upstream_new(struct event_base *base, const struct upstream_options *opts,
                              const struct upstream_callbacks *cbs, char *err, size_t errlen);
/* Frees; the owners of transfers remove them first (upstream_remove). NULL-safe. */
void upstream_free(struct upstream *u);

/* Sets the options every upstream transfer shares (socket close hook, timeouts, protocol, CA). */
void upstream_prepare(struct upstream *u, CURL *easy);
/* Starts a transfer. Returns 0, or -1 with err filled. Borrows 'easy' until done or removed. */
int upstream_add(struct upstream *u, CURL *easy, char *err, size_t errlen);
/* Aborts a transfer at once. Over HTTP/1.1 curl closes its connection (a FIN to the upstream);
 * over HTTP/2 it resets the transfer's stream (RST_STREAM) and keeps the connection for the
 * others. libcurl 7.88 only queues a frame that small, to go out with the connection's next
 * send, which never comes on a connection nothing else uses: so after an HTTP/2 abort a GET of
 * flush_url follows on the same connection (one at a time, again after it if more aborts came
 * meanwhile), its request carrying the reset out with it. 'paused': the transfer's write callback last returned CURL_WRITEFUNC_PAUSE; it is
 * resumed first, and must then take (and may drop) whatever curl held back, since libcurl 7.88
 * leaks a paused HTTP/2 transfer's held data when it is removed (curl issue 10971). Never call
 * it from inside a curl callback. No done_cb follows. */
void upstream_remove(struct upstream *u, CURL *easy, int paused);
/* Resumes a transfer whose write callback returned CURL_WRITEFUNC_PAUSE. Not from inside a curl
 * callback either. */
void upstream_resume(struct upstream *u, CURL *easy);

#endif
