/* A libevent base run on a thread of its own, for tests that drive code living on a loop (the
 * chaos proxy) from blocking sockets in the test thread. After loopthread_start the test touches
 * the base only through loopthread_call, so libevent is used from one thread at a time. */
#ifndef TG_LOOPTHREAD_H
#define TG_LOOPTHREAD_H

struct event_base;
struct loopthread;

/* A new base (timerfd timers on CLOCK_MONOTONIC if 'precise') with its call channel; the
 * thread does not run yet. Borrows 'ctx', handed to every call. Returns NULL on failure. */
struct loopthread *loopthread_new(int precise, void *ctx);
/* The base, to set things up on before loopthread_start; owned by 'lt'. */
struct event_base *loopthread_base(const struct loopthread *lt);
/* Starts the thread that runs the loop (it runs with no events too). Returns 0, or -1. */
int loopthread_start(struct loopthread *lt);
/* Runs fn(ctx, arg) on the loop thread and waits for it (10 s at most). Returns 0, or -1. */
int loopthread_call(struct loopthread *lt, void (*fn)(void *ctx, void *arg), void *arg);
/* Breaks the loop and joins the thread, so what lives on the base may be freed from here.
 * Safe on NULL, before start, and again. Returns 0, or -1 if the loop did not answer (said on
 * stderr). */
int loopthread_stop(struct loopthread *lt);
/* Stops it if still running, then frees the base: free what lives on it first. Accepts NULL. */
void loopthread_free(struct loopthread *lt);

#endif
