/* The stop button's cancel call: a request to the configured cancel endpoint, sent beside the
 * close of the user request it belongs to. */
#ifndef CHAOS_CANCELCALL_H
#define CHAOS_CANCELCALL_H

struct xfer;

/* Sends the cancel call of 'x'; 'x' is held (cancel_outstanding) until it answers, and its
 * record goes out then. */
void cancelcall_start(struct xfer *x);

#endif
