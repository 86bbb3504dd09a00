/* Reading away what a socket's kernel already holds, so that a close() sends a FIN: unread bytes
 * at close() turn the FIN into an RST (RFC 2525, 2.17). */
#ifndef COMMON_SOCKDRAIN_H
#define COMMON_SOCKDRAIN_H

#include <stddef.h>

/* Reads and drops what is readable now, without blocking, up to max bytes. Returns the bytes
 * dropped. */
size_t sockdrain(int fd, size_t max);

#endif
