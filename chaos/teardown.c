/* The sockets the chaos client owns: opened with the configured receive buffer, closed as the
 * action's row says (chaos/action.c), and half-closed ones read until the peer's FIN. */
#include "teardown.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "attempt.h"
#include "clientstate.h"
#include "clock.h"
#include "sockdrain.h"

#define CLIENT_HALF_IDLE_MS 2000   /* half_close: the longest wait between reads for the FIN */
#define CLIENT_HALF_MAX_MS 30000   /* half_close: the longest wait for the peer's FIN in all */
#define CLIENT_DRAIN_MAX (1 << 20) /* a close drains at most this much the kernel holds */

/* half_close: a socket shut for writing, read and discarded until the peer's FIN. */
struct half_closed {
    struct chaos_client *c;
    evutil_socket_t fd;
    struct event *ev;
    uint64_t deadline_ns;
    struct half_closed *next;
};

static void half_closed_free(struct half_closed *h)
{
    if (h->ev)
        event_free(h->ev);
    if (h->fd >= 0)
        close(h->fd);
    free(h);
}

curl_socket_t teardown_open_cb(void *arg, curlsocktype purpose, struct curl_sockaddr *addr)
{
    struct xfer *x = arg;
    (void)purpose;
    curl_socket_t fd = socket(addr->family, addr->socktype, addr->protocol);
    if (fd < 0)
        return CURL_SOCKET_BAD;
    if (x->c->cfg.rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &x->c->cfg.rcvbuf, sizeof x->c->cfg.rcvbuf);
    x->fd = fd;
    return fd;
}

static void half_closed_cb(evutil_socket_t fd, short what, void *arg)
{
    struct half_closed *h = arg;
    char buf[4096];
    if ((what & EV_READ) && clock_now_ns() < h->deadline_ns) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
            return; /* discard what the peer still sends, until its FIN */
    }
    struct chaos_client *c = h->c;
    struct half_closed **pp = &c->half_closed;
    while (*pp && *pp != h)
        pp = &(*pp)->next;
    if (*pp)
        *pp = h->next;
    half_closed_free(h);
    client_maybe_done(c);
}

/* A FIN the way a browser sends it: what the kernel already holds is read and dropped (unread
 * bytes at close() would make it an RST), then close(). Bytes arriving later draw an RST. */
static int close_with_fin(struct xfer *x, curl_socket_t fd)
{
    sockdrain(fd, CLIENT_DRAIN_MAX);
    x->rec.t_abort_ns = clock_now_ns();
    return close(fd);
}

/* half_close: FIN by shutdown(SHUT_WR); the socket is ours now, read until the peer's FIN. */
static int close_half(struct xfer *x, curl_socket_t fd)
{
    struct chaos_client *c = x->c;
    x->rec.t_abort_ns = clock_now_ns();
    shutdown(fd, SHUT_WR);
    struct half_closed *h = calloc(1, sizeof *h);
    if (h == NULL)
        return close(fd);
    h->c = c;
    h->fd = fd;
    h->deadline_ns = x->rec.t_abort_ns + (uint64_t)CLIENT_HALF_MAX_MS * 1000000;
    h->ev = event_new(c->base, fd, EV_READ | EV_PERSIST, half_closed_cb, h);
    /* with EV_PERSIST the timeout restarts on every read: an idle bound */
    struct timeval tv = {CLIENT_HALF_IDLE_MS / 1000, (CLIENT_HALF_IDLE_MS % 1000) * 1000};
    if (h->ev == NULL || event_add(h->ev, &tv) != 0) {
        half_closed_free(h);
        return 0;
    }
    h->next = c->half_closed;
    c->half_closed = h;
    return 0;
}

/* curl closes every socket through here; the action's row says how (chaos/action.c). */
int teardown_close_cb(void *arg, curl_socket_t fd)
{
    struct xfer *x = arg;
    if (x->fd == fd)
        x->fd = -1;
    const struct action_row *row = x->fired ? action_row(x->user->action) : NULL;
    switch (x->teardown) {
    case ACTION_CLOSE_NONE:
        break;
    case ACTION_CLOSE_FIN:
        return close_with_fin(x, fd);
    case ACTION_CLOSE_HALF:
        return close_half(x, fd);
    case ACTION_CLOSE_RST:
    case ACTION_CLOSE_SILENT: {
        /* SO_LINGER 0: close() sends an RST at once. Behind a blackhole it goes nowhere. */
        struct linger lg = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        if (row && row->close_is_abort && row->teardown == x->teardown)
            x->rec.t_abort_ns = clock_now_ns();
        break;
    }
    }
    return close(fd);
}

/* ---- actions ------------------------------------------------------------------------------ */

void teardown_free_all(struct chaos_client *c)
{
    while (c->half_closed) {
        struct half_closed *n = c->half_closed->next;
        half_closed_free(c->half_closed);
        c->half_closed = n;
    }
}
