/* refgw's upstream side: libcurl multi-socket on libevent. curl tells us which sockets to watch
 * and when to wake it; libevent runs its socket actions. We close every socket ourselves so an
 * abort is a clean FIN the upstream can see. */
#include "upstream.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#define UPSTREAM_CONNECT_TIMEOUT_MS 10000L
#define UPSTREAM_DRAIN_MAX (256 * 1024) /* bytes read off a socket before closing it */

struct upstream {
    struct event_base *base;
    struct upstream_callbacks cbs;
    CURLM *multi;
    struct event *timer; /* curl's timeout */
    int global_init;
};

/* Per-socket watcher for curl. */
struct sockwatch {
    struct event *ev;
};

static int sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp);
static int timer_cb(CURLM *multi, long timeout_ms, void *userp);
static void curl_timeout_cb(evutil_socket_t fd, short what, void *arg);

struct upstream *upstream_new(struct event_base *base, const struct upstream_callbacks *cbs,
                              char *err, size_t errlen)
{
    struct upstream *u = calloc(1, sizeof *u);
    if (u == NULL) {
        snprintf(err, errlen, "upstream: out of memory");
        return NULL;
    }
    u->base = base;
    u->cbs = *cbs;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "curl_global_init failed");
        goto fail;
    }
    u->global_init = 1;
    u->multi = curl_multi_init();
    u->timer = evtimer_new(base, curl_timeout_cb, u);
    if (u->multi == NULL || u->timer == NULL) {
        snprintf(err, errlen, "upstream: out of memory");
        goto fail;
    }
    curl_multi_setopt(u->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(u->multi, CURLMOPT_SOCKETDATA, u);
    curl_multi_setopt(u->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(u->multi, CURLMOPT_TIMERDATA, u);
    return u;
fail:
    upstream_free(u);
    return NULL;
}

void upstream_free(struct upstream *u)
{
    if (u == NULL)
        return;
    if (u->multi)
        curl_multi_cleanup(u->multi); /* closes pooled connections through close_socket_cb */
    if (u->timer)
        event_free(u->timer);
    if (u->global_init)
        curl_global_cleanup();
    free(u);
}

/* ---- curl <-> libevent ----------------------------------------------------------------------- */

static void check_multi_info(struct upstream *u)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(u->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *e = msg->easy_handle;
        CURLcode rc = msg->data.result;
        curl_multi_remove_handle(u->multi, e); /* 'msg' is gone after this */
        if (u->cbs.done_cb)
            u->cbs.done_cb(e, rc, u->cbs.arg);
    }
}

static void event_cb(evutil_socket_t fd, short what, void *arg)
{
    struct upstream *u = arg;
    int flags = (what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0);
    int running;
    curl_multi_socket_action(u->multi, fd, flags, &running);
    check_multi_info(u);
}

static void curl_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct upstream *u = arg;
    int running;
    curl_multi_socket_action(u->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_multi_info(u);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct upstream *u = userp;
    if (timeout_ms < 0) {
        evtimer_del(u->timer);
        return 0;
    }
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    evtimer_add(u->timer, &tv);
    return 0;
}

static int sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)e;
    struct upstream *u = userp;
    struct sockwatch *w = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (w) {
            event_free(w->ev);
            free(w);
        }
        curl_multi_assign(u->multi, s, NULL);
        return 0;
    }
    short kind = (short)(EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) |
                         (what & CURL_POLL_OUT ? EV_WRITE : 0));
    if (w == NULL) {
        w = calloc(1, sizeof *w);
        if (w == NULL)
            return -1;
        curl_multi_assign(u->multi, s, w);
    } else {
        event_free(w->ev);
    }
    w->ev = event_new(u->base, s, kind, event_cb, u);
    if (w->ev == NULL)
        return -1;
    event_add(w->ev, NULL);
    return 0;
}

/* Unread bytes at close() make the kernel send an RST instead of a FIN (RFC 1122 4.2.2.13):
 * read what already arrived (bounded), then close. An aborting gateway should look like one
 * that hung up, not one that crashed. */
static int close_socket_cb(void *arg, curl_socket_t fd)
{
    (void)arg;
    char buf[16384];
    for (size_t drained = 0; drained < UPSTREAM_DRAIN_MAX;) {
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0)
            break;
        drained += (size_t)n;
    }
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
}

int upstream_add(struct upstream *u, CURL *easy, char *err, size_t errlen)
{
    CURLMcode rc = curl_multi_add_handle(u->multi, easy);
    if (rc != CURLM_OK) {
        snprintf(err, errlen, "curl_multi_add_handle: %s", curl_multi_strerror(rc));
        return -1;
    }
    return 0;
}

void upstream_remove(struct upstream *u, CURL *easy)
{
    /* an unfinished transfer's connection cannot be reused: curl closes it now */
    curl_multi_remove_handle(u->multi, easy);
}

void upstream_resume(struct upstream *u, CURL *easy)
{
    (void)u;
    /* curl delivers what it held back and re-arms its timer through timer_cb */
    curl_easy_pause(easy, CURLPAUSE_CONT);
}
