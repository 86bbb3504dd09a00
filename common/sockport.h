/* The local port of a socket. */
#ifndef TG_SOCKPORT_H
#define TG_SOCKPORT_H

/* The local port of a bound or connected socket (IPv4 or IPv6), or 0 when it has none or the
 * call fails: no socket is ever bound to port 0. */
int sock_local_port(int fd);

#endif
