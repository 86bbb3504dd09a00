/* TLS for tailgate's servers: a throwaway CA and a loopback certificate made in memory at start
 * (or a certificate and key from files), and the server SSL_CTX that evhttp connections use
 * through libevent's OpenSSL bufferevents. */
#ifndef TG_TLS_H
#define TG_TLS_H

#include <stddef.h>

struct bufferevent;
struct event_base;

/* A server context with its certificate; opaque so callers need no OpenSSL headers. */
struct tls_server;

/* With cert_file and key_file NULL: a new EC P-256 CA and a certificate for IP:127.0.0.1 and
 * DNS:localhost signed by it, both valid from an hour ago for 30 days. Otherwise the PEM
 * certificate (chain) and key from the files. ALPN selects http/1.1, or h2 on a session made by
 * tls_server_bev_alpn with offer_h2. Returns NULL with
 * err filled. */
struct tls_server *tls_server_new(const char *cert_file, const char *key_file, char *err,
                                  size_t errlen);
void tls_server_free(struct tls_server *t);

/* Writes the CA certificate (PEM) to 'path' (mode 0644, replaced atomically). With files given
 * to tls_server_new there is no CA of ours: the leaf certificate is written instead, which a
 * client can trust as it would a self-signed one. Returns 0, or -1 with err filled. */
int tls_server_write_ca(const struct tls_server *t, const char *path, char *err, size_t errlen);

/* A bufferevent for one accepted connection: the server side of a TLS session over the socket
 * evhttp sets later (fd -1 now). NULL when out of memory. */
struct bufferevent *tls_server_bev(struct tls_server *t, struct event_base *base);
/* The same, ALPN selecting h2 when offer_h2 and the client offers it (the server speaks
 * HTTP/2 on this port, httpd_set_h2). */
struct bufferevent *tls_server_bev_alpn(struct tls_server *t, struct event_base *base,
                                        int offer_h2);
/* 1 when the TLS session of 'bev' agreed on h2 by ALPN. */
int tls_bev_alpn_h2(struct bufferevent *bev);

/* Whether bev is a TLS one: its output is plaintext, so bytes sent to its fd directly would
 * bypass the session. */
int tls_bev_is_tls(struct bufferevent *bev);

#endif
