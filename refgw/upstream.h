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

/* Returns NULL with err filled. Borrows 'base'. Calls curl_global_init. */
struct upstream *upstream_new(struct event_base *base, const struct upstream_callbacks *cbs,
                              char *err, size_t errlen);
/* Frees; the owners of transfers remove them first (upstream_remove). NULL-safe. */
void upstream_free(struct upstream *u);

/* Sets the options every upstream transfer shares (socket close hook, timeouts). */
void upstream_prepare(struct upstream *u, CURL *easy);
/* Starts a transfer. Returns 0, or -1 with err filled. Borrows 'easy' until done or removed. */
int upstream_add(struct upstream *u, CURL *easy, char *err, size_t errlen);
/* Aborts a transfer at once: curl closes its connection (a FIN to the upstream). Never call it
 * from inside a curl callback. No done_cb follows. */
void upstream_remove(struct upstream *u, CURL *easy);
/* Resumes a transfer whose write callback returned CURL_WRITEFUNC_PAUSE. Not from inside a curl
 * callback either. */
void upstream_resume(struct upstream *u, CURL *easy);

#endif
