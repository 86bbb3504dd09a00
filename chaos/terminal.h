/* The vendor's terminal event an attempt watches for, as each style's stream ends properly
 * (WIRE.md); custom: the configured marker, or none. */
#ifndef CHAOS_TERMINAL_H
#define CHAOS_TERMINAL_H

struct xfer;

/* Sets the attempt's scanner to watch its style's markers. Returns 0, or -1 (a bad marker). */
int terminal_watch(struct xfer *x);

#endif
