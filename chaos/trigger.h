/* A user's action at its trigger: what it does to the socket is its row in chaos/action.c; the
 * timer of an ms trigger, of a background stall, a drop's give-up and a supersede's close. */
#ifndef CHAOS_TRIGGER_H
#define CHAOS_TRIGGER_H

#include <stdint.h>

#include <event2/util.h>

struct xfer;

/* What trigger_fire() asks of the write callback it was called from. */
enum fire_result {
    FIRE_GO_ON,   /* keep the chunk */
    FIRE_FAIL,    /* fail the transfer: curl closes the socket through our hook */
    FIRE_PAUSE,   /* stop reading; curl keeps the chunk, which nobody will ask for */
    FIRE_DISCARD, /* HTTP/2: take the chunk, count no more of it (the attempt ended or stopped
                   * reading) */
};

/* The action, at its trigger. in_write: called from inside curl's write callback, where the
 * transfer cannot be removed. */
enum fire_result trigger_fire(struct xfer *x, int in_write);
/* Arms the attempt's timer (x->trigger_ev) 'ms' from now. */
void trigger_arm(struct xfer *x, uint32_t ms);
/* The attempt's timer: fires the action, or does what comes after it. 'arg' is the attempt. */
void trigger_ev_cb(evutil_socket_t fd, short what, void *arg);
/* The replacement 'k' is about to send its request (or ended without): closes the stream it
 * supersedes now, from the loop. */
void trigger_release_superseded(struct xfer *k);
/* CURLOPT_PREREQFUNCTION of a supersede replacement: releases the stream it supersedes. */
int trigger_prereq_cb(void *arg, char *primary_ip, char *local_ip, int primary_port,
                      int local_port_);

#endif
