/* Client-side TLS with OpenSSL for the HTTP/2 client (tlsclient.h). */
#include "tlsclient.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct tls_client {
    SSL_CTX *ctx;
    int insecure;
};

void tls_client_error(char *err, size_t errlen)
{
    unsigned long e = ERR_get_error();
    char buf[256];
    if (e == 0) {
        snprintf(err, errlen, "TLS handshake failed");
        return;
    }
    ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    snprintf(err, errlen, "TLS: %s", buf);
}

struct tls_client *tls_client_new(const char *ca_file, int insecure, char *err, size_t errlen)
{
    struct tls_client *t = calloc(1, sizeof *t);
    if (t == NULL) {
        snprintf(err, errlen, "TLS client: out of memory");
        return NULL;
    }
    t->insecure = insecure;
    t->ctx = SSL_CTX_new(TLS_client_method());
    if (t->ctx == NULL) {
        tls_client_error(err, errlen);
        free(t);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
    static const unsigned char alpn[] = {2, 'h', '2'};
    if (SSL_CTX_set_alpn_protos(t->ctx, alpn, sizeof alpn) != 0) {
        snprintf(err, errlen, "TLS client: cannot offer h2 by ALPN");
        tls_client_free(t);
        return NULL;
    }
    if (insecure) {
        SSL_CTX_set_verify(t->ctx, SSL_VERIFY_NONE, NULL);
    } else {
        SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
        int ok = ca_file ? SSL_CTX_load_verify_locations(t->ctx, ca_file, NULL)
                         : SSL_CTX_set_default_verify_paths(t->ctx);
        if (ok != 1) {
            char why[200];
            tls_client_error(why, sizeof why);
            snprintf(err, errlen, "%s: cannot load the CA file (%s)",
                     ca_file ? ca_file : "system roots", why);
            tls_client_free(t);
            return NULL;
        }
    }
    return t;
}

void tls_client_free(struct tls_client *t)
{
    if (t == NULL)
        return;
    SSL_CTX_free(t->ctx);
    free(t);
}

struct bufferevent *tls_client_bev(struct tls_client *t, struct event_base *base, int fd,
                                   const char *host, char *err, size_t errlen)
{
    SSL *ssl = SSL_new(t->ctx);
    if (ssl == NULL) {
        tls_client_error(err, errlen);
        return NULL;
    }
    unsigned char addr[16];
    int is_ip = inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
    if (!is_ip)
        SSL_set_tlsext_host_name(ssl, host); /* SNI carries names, never addresses */
    if (!t->insecure) {
        X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
        int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, host) : SSL_set1_host(ssl, host);
        if (ok != 1) {
            snprintf(err, errlen, "TLS client: cannot check the certificate for %s", host);
            SSL_free(ssl);
            return NULL;
        }
    }
    /* the bufferevent owns the socket and the session: its free closes both (an owner who
     * wants an RST sets SO_LINGER 0 first) */
    struct bufferevent *bev = bufferevent_openssl_socket_new(base, fd, ssl,
                                                             BUFFEREVENT_SSL_CONNECTING,
                                                             BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL) {
        snprintf(err, errlen, "TLS client: out of memory");
        SSL_free(ssl);
        return NULL;
    }
    /* a peer that closes without close_notify is an EOF, not an error */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

int tls_client_bev_error(struct bufferevent *bev, char *err, size_t errlen)
{
    unsigned long e = bufferevent_get_openssl_error(bev);
    if (e == 0)
        return -1;
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    while (bufferevent_get_openssl_error(bev) != 0)
        ; /* the oldest says why; the rest follow from it */
    snprintf(err, errlen, "TLS: %s", buf);
    return 0;
}

int tls_client_alpn_h2(struct bufferevent *bev)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    const unsigned char *p = NULL;
    unsigned int n = 0;
    if (ssl == NULL)
        return 0;
    SSL_get0_alpn_selected(ssl, &p, &n);
    return n == 2 && memcmp(p, "h2", 2) == 0;
}
