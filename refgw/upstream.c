/* refgw's upstream side: libcurl multi-socket on libevent (common/curlev). We close every socket
 * ourselves so an abort is a clean FIN the upstream can see. */
#include "upstream.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "curlev.h"
#include "sockdrain.h"

#define UPSTREAM_CONNECT_TIMEOUT_MS 10000L
#define UPSTREAM_DRAIN_MAX (256 * 1024) /* bytes read off a socket before closing it */

struct upstream {
    struct upstream_options opts;
    struct upstream_callbacks cbs;
    struct curlev *cv;
    CURL *flush;     /* the GET carrying queued resets out, while it runs */
    int flush_again; /* an abort came after that GET went out: one more */
};

static void flush_start(struct upstream *u);

static void transfer_done_cb(void *arg, CURL *easy, CURLcode rc);

struct upstream *upstream_new(struct event_base *base, const struct upstream_options *opts,
                              const struct upstream_callbacks *cbs, char *err, size_t errlen)
{
    struct upstream *u = calloc(1, sizeof *u);
    if (u == NULL) {
        snprintf(err, errlen, "upstream: out of memory");
        return NULL;
    }
    u->opts = *opts;
    u->cbs = *cbs;
    const struct curlev_callbacks ccbs = {.done_cb = transfer_done_cb, .arg = u};
    u->cv = curlev_new(base, &ccbs, err, errlen);
    if (u->cv == NULL) {
        free(u);
        return NULL;
    }
    /* libcurl's default since 7.62, said here because the design rests on it: streams to one
     * upstream share its connections */
    if (opts->http2 &&
        curl_multi_setopt(curlev_multi(u->cv), CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX) !=
            CURLM_OK) {
        snprintf(err, errlen, "upstream: this libcurl cannot multiplex HTTP/2");
        upstream_free(u);
        return NULL;
    }
    return u;
}

void upstream_free(struct upstream *u)
{
    if (u == NULL)
        return;
    if (u->flush != NULL) {
        curlev_remove(u->cv, u->flush);
        curl_easy_cleanup(u->flush);
    }
    curlev_free(u->cv); /* closes pooled connections through close_socket_cb */
    free(u);
}

static void transfer_done_cb(void *arg, CURL *easy, CURLcode rc)
{
    struct upstream *u = arg;
    curlev_remove(u->cv, easy);
    if (easy == u->flush) {
        curl_easy_cleanup(easy);
        u->flush = NULL;
        if (u->flush_again)
            flush_start(u);
        return;
    }
    if (u->cbs.done_cb)
        u->cbs.done_cb(easy, rc, u->cbs.arg);
}

/* Unread bytes at close() make the kernel send an RST instead of a FIN (RFC 1122 4.2.2.13):
 * read what already arrived (bounded), then close. An aborting gateway should look like one
 * that hung up, not one that crashed. */
static int close_socket_cb(void *arg, curl_socket_t fd)
{
    (void)arg;
    sockdrain(fd, UPSTREAM_DRAIN_MAX);
    return close(fd);
}

void upstream_prepare(struct upstream *u, CURL *easy)
{
    curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, close_socket_cb);
    curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, u);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    /* one small write per token: Nagle would hold each behind the last ACK */
    curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, UPSTREAM_CONNECT_TIMEOUT_MS);
    if (u->opts.ca_file)
        curl_easy_setopt(easy, CURLOPT_CAINFO, u->opts.ca_file);
    if (u->opts.http2) {
        curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
        /* wait for a connection being set up to say whether it multiplexes rather than open
         * one more beside it */
        curl_easy_setopt(easy, CURLOPT_PIPEWAIT, 1L);
    } else {
        /* libcurl would offer h2 to an https upstream by itself */
        curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    }
}

int upstream_add(struct upstream *u, CURL *easy, char *err, size_t errlen)
{
    return curlev_add(u->cv, easy, err, errlen);
}

void upstream_remove(struct upstream *u, CURL *easy, int paused)
{
    /* Resuming hands what curl held back to the write callback now, so nothing is left in the
     * transfer for remove to forget. Over HTTP/1.1 there is no such cache, but resuming costs
     * nothing there either. */
    if (paused)
        curl_easy_pause(easy, CURLPAUSE_CONT);
    /* HTTP/1.1: an unfinished transfer's connection cannot be reused, curl closes it now.
     * HTTP/2: curl resets the stream and the connection goes on carrying the others. */
    curlev_remove(u->cv, easy);
    if (u->opts.http2 && u->opts.flush_url != NULL)
        flush_start(u);
}

static size_t discard_cb(char *data, size_t size, size_t nmemb, void *arg)
{
    (void)data;
    (void)arg;
    return size * nmemb;
}

/* A GET whose request goes out on the connection an abort just left its RST_STREAM queued on
 * (PIPEWAIT and multiplexing put it there), flushing both. Its answer, whatever it is, is read
 * to the end and dropped: a stream ended in order needs no reset of its own. */
static void flush_start(struct upstream *u)
{
    if (u->flush != NULL) {
        u->flush_again = 1; /* its request may be out already: the new reset needs another */
        return;
    }
    u->flush_again = 0;
    CURL *e = curl_easy_init();
    if (e == NULL)
        return;
    upstream_prepare(u, e);
    curl_easy_setopt(e, CURLOPT_URL, u->opts.flush_url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard_cb);
    char err[128];
    if (curlev_add(u->cv, e, err, sizeof err) != 0) {
        curl_easy_cleanup(e);
        return;
    }
    u->flush = e;
}

void upstream_resume(struct upstream *u, CURL *easy)
{
    (void)u;
    /* curl delivers what it held back and re-arms its timer through curlev */
    curl_easy_pause(easy, CURLPAUSE_CONT);
}
