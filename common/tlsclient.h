/* TLS for tailgate's own HTTP/2 client: an OpenSSL client context that trusts a CA file (or the
 * system's roots, or nothing when told to be insecure) and offers h2 by ALPN, and the
 * bufferevent of one connection through libevent's OpenSSL bufferevents. */
#ifndef TG_TLSCLIENT_H
#define TG_TLSCLIENT_H

#include <stddef.h>

struct bufferevent;
struct event_base;

/* Opaque so callers need no OpenSSL headers. */
struct tls_client;

/* ca_file NULL: the system's roots. insecure: no certificate or name check at all. The context
 * offers h2 alone by ALPN. NULL with err filled. */
struct tls_client *tls_client_new(const char *ca_file, int insecure, char *err, size_t errlen);
void tls_client_free(struct tls_client *t);

/* The client side of a TLS session over 'fd' (connecting or connected), checking that the
 * certificate names 'host' (an IP address or a DNS name, sent as SNI). The bufferevent owns
 * the socket: its free closes it (SO_LINGER 0 first makes that an RST). NULL with err. */
struct bufferevent *tls_client_bev(struct tls_client *t, struct event_base *base, int fd,
                                   const char *host, char *err, size_t errlen);

/* 1 when the session's ALPN agreed on h2 (call once connected). */
int tls_client_alpn_h2(struct bufferevent *bev);

/* Why a TLS bufferevent failed, from the errors it collected: 0 with err filled, -1 when it
 * holds none (the cause was the socket's). */
int tls_client_bev_error(struct bufferevent *bev, char *err, size_t errlen);

/* Why the handshake failed, in OpenSSL's words (the oldest error queued on this thread). */
void tls_client_error(char *err, size_t errlen);

#endif
