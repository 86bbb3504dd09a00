/* libcurl multi-socket on libevent (curl's docs/examples/hiperfifo.c): one libevent event per
 * socket curl asks us to watch, one timer for curl's timeout. */
#include "curlev.h"

#include <stdio.h>
#include <stdlib.h>

#include <event2/event.h>

struct curlev {
    struct event_base *base;
    struct curlev_callbacks cbs;
    CURLM *multi;
    struct event *timer; /* curl's timeout */
    int global_init;
};

/* Per-socket watcher for curl, attached with curl_multi_assign. */
struct sockwatch {
    struct event *ev;
};

static int sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp);
static int timer_cb(CURLM *multi, long timeout_ms, void *userp);
static void curl_timeout_cb(evutil_socket_t fd, short what, void *arg);

struct curlev *curlev_new(struct event_base *base, const struct curlev_callbacks *cbs, char *err,
                          size_t errlen)
{
    struct curlev *cv = calloc(1, sizeof *cv);
    if (cv == NULL) {
        snprintf(err, errlen, "curlev: out of memory");
        return NULL;
    }
    cv->base = base;
    cv->cbs = *cbs;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "curl_global_init failed");
        goto fail;
    }
    cv->global_init = 1;
    cv->multi = curl_multi_init();
    cv->timer = evtimer_new(base, curl_timeout_cb, cv);
    if (cv->multi == NULL || cv->timer == NULL) {
        snprintf(err, errlen, "curlev: out of memory");
        goto fail;
    }
    curl_multi_setopt(cv->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(cv->multi, CURLMOPT_SOCKETDATA, cv);
    curl_multi_setopt(cv->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(cv->multi, CURLMOPT_TIMERDATA, cv);
    return cv;
fail:
    curlev_free(cv);
    return NULL;
}

void curlev_free(struct curlev *cv)
{
    if (cv == NULL)
        return;
    if (cv->multi)
        curl_multi_cleanup(cv->multi); /* closes pooled connections through their close hooks */
    if (cv->timer)
        event_free(cv->timer);
    if (cv->global_init)
        curl_global_cleanup();
    free(cv);
}

int curlev_add(struct curlev *cv, CURL *easy, char *err, size_t errlen)
{
    CURLMcode rc = curl_multi_add_handle(cv->multi, easy);
    if (rc != CURLM_OK) {
        snprintf(err, errlen, "curl_multi_add_handle: %s", curl_multi_strerror(rc));
        return -1;
    }
    return 0;
}

void curlev_remove(struct curlev *cv, CURL *easy)
{
    curl_multi_remove_handle(cv->multi, easy);
}

void curlev_check(struct curlev *cv)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(cv->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        /* 'msg' is gone once the handle leaves the multi handle: copy what we need first */
        CURL *e = msg->easy_handle;
        CURLcode rc = msg->data.result;
        cv->cbs.done_cb(cv->cbs.arg, e, rc);
    }
    if (cv->cbs.pass_cb)
        cv->cbs.pass_cb(cv->cbs.arg);
}

static void event_cb(evutil_socket_t fd, short what, void *arg)
{
    struct curlev *cv = arg;
    int flags = (what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0);
    int running;
    curl_multi_socket_action(cv->multi, fd, flags, &running);
    curlev_check(cv);
}

static void curl_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct curlev *cv = arg;
    int running;
    curl_multi_socket_action(cv->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    curlev_check(cv);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct curlev *cv = userp;
    if (timeout_ms < 0) {
        evtimer_del(cv->timer);
        return 0;
    }
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    evtimer_add(cv->timer, &tv);
    return 0;
}

static int sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)e;
    struct curlev *cv = userp;
    struct sockwatch *w = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (w) {
            event_free(w->ev);
            free(w);
        }
        curl_multi_assign(cv->multi, s, NULL);
        return 0;
    }
    short kind = (short)(EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) |
                         (what & CURL_POLL_OUT ? EV_WRITE : 0));
    if (w == NULL) {
        w = calloc(1, sizeof *w);
        if (w == NULL)
            return -1;
        curl_multi_assign(cv->multi, s, w);
    } else {
        event_free(w->ev);
    }
    w->ev = event_new(cv->base, s, kind, event_cb, cv);
    if (w->ev == NULL)
        return -1;
    event_add(w->ev, NULL);
    return 0;
}

CURLM *curlev_multi(struct curlev *cv)
{
    return cv->multi;
}
