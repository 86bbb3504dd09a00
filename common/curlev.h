/* libcurl's multi-socket API on a libevent loop, after curl's hiperfifo example: curl says which
 * sockets to watch and when to wake it; libevent runs its socket actions. The chaos client and
 * refgw's upstream side both drive their transfers through one of these. */
#ifndef TG_CURLEV_H
#define TG_CURLEV_H

#include <stddef.h>

#include <curl/curl.h>

struct event_base;
struct curlev;

struct curlev_callbacks {
    /* Once per finished transfer, with 'easy' still in the multi handle: the callback takes it
     * out (curlev_remove) before anything frees it. */
    void (*done_cb)(void *arg, CURL *easy, CURLcode rc);
    /* Optional: after every pass over the finished transfers (each socket or timer action and
     * each curlev_check), whether or not one finished. */
    void (*pass_cb)(void *arg);
    void *arg;
};

/* Returns NULL with err filled. Borrows 'base'; copies 'cbs'. Calls curl_global_init. */
struct curlev *curlev_new(struct event_base *base, const struct curlev_callbacks *cbs, char *err,
                          size_t errlen);
/* Cleans up the multi handle (closing pooled connections) and frees; the owners of transfers
 * remove them first. NULL-safe. */
void curlev_free(struct curlev *cv);

/* Starts a transfer. Returns 0, or -1 with err filled. Borrows 'easy' until done or removed. */
int curlev_add(struct curlev *cv, CURL *easy, char *err, size_t errlen);
/* Takes a transfer out of the multi handle; an unfinished one's connection is closed now. Never
 * from inside a curl callback. */
void curlev_remove(struct curlev *cv, CURL *easy);
/* The multi handle, for its options (HTTP/2 multiplexing); owned by 'cv'. */
CURLM *curlev_multi(struct curlev *cv);
/* Runs the pass over finished transfers now: needed after curl_easy_pause(CURLPAUSE_CONT), which
 * can finish a transfer outside any socket action. */
void curlev_check(struct curlev *cv);

#endif
