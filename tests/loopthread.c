/* A libevent base on its own thread; calls into it go over a socketpair and are acknowledged
 * there, so the caller knows the function has run when loopthread_call returns. */
#include "loopthread.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#define LOOPTHREAD_CALL_MS 10000 /* a call's bound, generous on a loaded 2-core machine */

struct loopthread {
    struct event_base *base;
    void *ctx;
    pthread_t thr;
    int thr_started;
    int cmd[2]; /* [0] test side, [1] loop side */
    struct event *cmd_ev;
};

struct call {
    void (*fn)(void *ctx, void *arg);
    void *arg;
};

/* The caller waits on its stack frame, so a pointer to its struct call is all that travels. */
static void cmd_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct loopthread *lt = arg;
    struct call *c;
    if (read(fd, &c, sizeof c) != (ssize_t)sizeof c)
        return;
    c->fn(lt->ctx, c->arg);
    char ack = 1;
    if (write(fd, &ack, 1) != 1)
        fprintf(stderr, "  test: ack failed\n");
}

static void *loop_main(void *arg)
{
    struct loopthread *lt = arg;
    event_base_loop(lt->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

struct loopthread *loopthread_new(int precise, void *ctx)
{
    struct loopthread *lt = calloc(1, sizeof *lt);
    if (lt == NULL)
        return NULL;
    lt->ctx = ctx;
    lt->cmd[0] = lt->cmd[1] = -1;
    if (precise) {
        struct event_config *cfg = event_config_new();
        if (cfg != NULL && event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER) == 0)
            lt->base = event_base_new_with_config(cfg);
        if (cfg != NULL)
            event_config_free(cfg);
    } else {
        lt->base = event_base_new();
    }
    if (lt->base == NULL || socketpair(AF_UNIX, SOCK_STREAM, 0, lt->cmd) != 0)
        goto fail;
    lt->cmd_ev = event_new(lt->base, lt->cmd[1], EV_READ | EV_PERSIST, cmd_cb, lt);
    if (lt->cmd_ev == NULL || event_add(lt->cmd_ev, NULL) != 0)
        goto fail;
    return lt;
fail:
    loopthread_free(lt);
    return NULL;
}

struct event_base *loopthread_base(const struct loopthread *lt)
{
    return lt->base;
}

int loopthread_start(struct loopthread *lt)
{
    if (lt->thr_started || pthread_create(&lt->thr, NULL, loop_main, lt) != 0)
        return -1;
    lt->thr_started = 1;
    return 0;
}

int loopthread_call(struct loopthread *lt, void (*fn)(void *ctx, void *arg), void *arg)
{
    struct call c = {fn, arg};
    struct call *cp = &c;
    if (write(lt->cmd[0], &cp, sizeof cp) != (ssize_t)sizeof cp)
        return -1;
    struct pollfd pfd = {lt->cmd[0], POLLIN, 0};
    if (poll(&pfd, 1, LOOPTHREAD_CALL_MS) != 1)
        return -1;
    char ack;
    return read(lt->cmd[0], &ack, 1) == 1 ? 0 : -1;
}

static void break_cb(void *ctx, void *arg)
{
    (void)ctx;
    event_base_loopbreak(arg);
}

int loopthread_stop(struct loopthread *lt)
{
    if (lt == NULL || !lt->thr_started)
        return 0;
    int rc = loopthread_call(lt, break_cb, lt->base);
    if (rc != 0)
        fprintf(stderr, "  test: loop did not answer\n");
    pthread_join(lt->thr, NULL);
    lt->thr_started = 0;
    return rc;
}

void loopthread_free(struct loopthread *lt)
{
    if (lt == NULL)
        return;
    loopthread_stop(lt);
    if (lt->cmd_ev)
        event_free(lt->cmd_ev);
    if (lt->cmd[0] >= 0)
        close(lt->cmd[0]);
    if (lt->cmd[1] >= 0)
        close(lt->cmd[1]);
    if (lt->base)
        event_base_free(lt->base);
    free(lt);
}
