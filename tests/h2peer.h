/* The tests' independent HTTP/2 peer: Debian's nghttpd on 127.0.0.1 over TLS (ALPN h2) with its
 * frame log (-v), for the client legs of tests/test_chaos_h2.c and tests/test_refgw_h2.c. */
#ifndef TG_TEST_H2PEER_H
#define TG_TEST_H2PEER_H

#include <sys/types.h>

struct h2peer {
    pid_t pid;
    int port;
    char log[128];
};

/* Starts nghttpd serving DIR/htdocs with DIR/key.pem and DIR/cert.pem, its frame log in
 * DIR/NAME.log, and waits (bounded) until it accepts. 0 or -1. */
int h2peer_start(struct h2peer *p, const char *dir, const char *name);
/* Stops it; its log (the caller frees it; NULL if unreadable). */
char *h2peer_stop(struct h2peer *p);
/* The session ("[id=N]": one TCP connection) on the log line holding 'at', 0 if none. */
int h2peer_session_at(const char *log, const char *at);

#endif
