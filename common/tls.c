/* Server-side TLS with OpenSSL: key and certificate generation, the SSL_CTX, bufferevents. */
#include "tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define TLS_VALID_DAYS 30

struct tls_server {
    SSL_CTX *ctx;
    X509 *ca; /* what a client should trust: our CA, or the leaf from --cert */
};

/* OpenSSL's reason for the last failure, appended to 'what'. */
static void ssl_err(char *err, size_t errlen, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256] = "";
    if (e != 0)
        ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    snprintf(err, errlen, "tls: %s%s%s", what, buf[0] ? ": " : "", buf);
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    if (ext == NULL)
        return -1;
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

/* A certificate for 'key' named 'cn', signed by issuer_key (issuer NULL: self-signed). */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key,
                       int is_ca)
{
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    ASN1_INTEGER *serial = ASN1_INTEGER_new();
    BIGNUM *bn = BN_new();
    if (x == NULL || name == NULL || serial == NULL || bn == NULL)
        goto fail;
    /* a random serial: clients keep caches keyed by issuer and serial, and every run has a
     * new CA of the same name */
    if (!BN_rand(bn, 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) || !BN_to_ASN1_INTEGER(bn, serial) ||
        !X509_set_version(x, 2) || !X509_set_serialNumber(x, serial))
        goto fail;
    /* an hour back so a client whose clock is a little behind still accepts it */
    if (X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(x), 86400L * TLS_VALID_DAYS) == NULL)
        goto fail;
    if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"tailgate",
                                    -1, -1, 0) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
                                    0) ||
        !X509_set_subject_name(x, name) ||
        !X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) ||
        !X509_set_pubkey(x, key))
        goto fail;
    X509 *iss = issuer ? issuer : x;
    if (is_ca) {
        if (add_ext(x, iss, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") != 0 ||
            add_ext(x, iss, NID_key_usage, "critical,keyCertSign,cRLSign") != 0)
            goto fail;
    } else {
        if (add_ext(x, iss, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
            add_ext(x, iss, NID_key_usage, "critical,digitalSignature") != 0 ||
            add_ext(x, iss, NID_ext_key_usage, "serverAuth") != 0 ||
            add_ext(x, iss, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost") != 0)
            goto fail;
    }
    if (add_ext(x, iss, NID_subject_key_identifier, "hash") != 0 ||
        (issuer && add_ext(x, iss, NID_authority_key_identifier, "keyid:always") != 0))
        goto fail;
    if (!X509_sign(x, issuer_key, EVP_sha256()))
        goto fail;
    X509_NAME_free(name);
    ASN1_INTEGER_free(serial);
    BN_free(bn);
    return x;
fail:
    X509_free(x);
    X509_NAME_free(name);
    ASN1_INTEGER_free(serial);
    BN_free(bn);
    return NULL;
}

/* Marks a session whose server also speaks HTTP/2 (SSL_set_app_data). */
static char offer_h2_mark;

/* ALPN: h2 when the server speaks it and the client offers it, else http/1.1 when the client
 * offers that; no ALPN at all otherwise (the client then speaks HTTP/1.1 by default, RFC 7301
 * 3.2 leaves that to the server). */
static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)arg;
    static const unsigned char h1[] = "\x08http/1.1";
    static const unsigned char both[] = "\x02h2\x08http/1.1"; /* ours first: h2 wins */
    int h2 = SSL_get_app_data(ssl) == &offer_h2_mark;
    unsigned char *sel = NULL;
    if (SSL_select_next_proto(&sel, outlen, h2 ? both : h1, h2 ? sizeof both - 1 : sizeof h1 - 1,
                              in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

static SSL_CTX *new_ctx(char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        ssl_err(err, errlen, "SSL_CTX_new");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);
    /* a session per connection, as a fresh client makes: no tickets to keep consistent */
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    return ctx;
}

static int generate(struct tls_server *t, char *err, size_t errlen)
{
    EVP_PKEY *ca_key = EVP_EC_gen("P-256");
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *leaf = NULL;
    int rc = -1;
    if (ca_key == NULL || key == NULL) {
        ssl_err(err, errlen, "EC P-256 key generation");
        goto out;
    }
    t->ca = make_cert(ca_key, "tailgate throwaway CA", NULL, ca_key, 1);
    if (t->ca != NULL)
        leaf = make_cert(key, "localhost", t->ca, ca_key, 0);
    if (t->ca == NULL || leaf == NULL) {
        ssl_err(err, errlen, "certificate generation");
        goto out;
    }
    if (SSL_CTX_use_certificate(t->ctx, leaf) != 1 || SSL_CTX_use_PrivateKey(t->ctx, key) != 1) {
        ssl_err(err, errlen, "SSL_CTX_use_certificate");
        goto out;
    }
    rc = 0;
out:
    X509_free(leaf);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key); /* the CA signs once: its key is gone after start */
    return rc;
}

static int load(struct tls_server *t, const char *cert_file, const char *key_file, char *err,
                size_t errlen)
{
    char what[300];
    if (SSL_CTX_use_certificate_chain_file(t->ctx, cert_file) != 1) {
        snprintf(what, sizeof what, "cannot use certificate %s", cert_file);
        ssl_err(err, errlen, what);
        return -1;
    }
    if (SSL_CTX_use_PrivateKey_file(t->ctx, key_file, SSL_FILETYPE_PEM) != 1) {
        snprintf(what, sizeof what, "cannot use key %s", key_file);
        ssl_err(err, errlen, what);
        return -1;
    }
    if (SSL_CTX_check_private_key(t->ctx) != 1) {
        snprintf(what, sizeof what, "key %s does not match certificate %s", key_file, cert_file);
        ssl_err(err, errlen, what);
        return -1;
    }
    t->ca = SSL_CTX_get0_certificate(t->ctx);
    if (t->ca != NULL)
        X509_up_ref(t->ca);
    return 0;
}

struct tls_server *tls_server_new(const char *cert_file, const char *key_file, char *err,
                                  size_t errlen)
{
    if ((cert_file == NULL) != (key_file == NULL)) {
        snprintf(err, errlen, "tls: a certificate needs its key, and a key its certificate");
        return NULL;
    }
    struct tls_server *t = calloc(1, sizeof *t);
    if (t == NULL) {
        snprintf(err, errlen, "tls: out of memory");
        return NULL;
    }
    t->ctx = new_ctx(err, errlen);
    if (t->ctx == NULL ||
        (cert_file ? load(t, cert_file, key_file, err, errlen) : generate(t, err, errlen)) != 0) {
        tls_server_free(t);
        return NULL;
    }
    return t;
}

void tls_server_free(struct tls_server *t)
{
    if (t == NULL)
        return;
    X509_free(t->ca);
    SSL_CTX_free(t->ctx);
    free(t);
}

int tls_server_write_ca(const struct tls_server *t, const char *path, char *err, size_t errlen)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
        snprintf(err, errlen, "tls: path too long: %s", path);
        return -1;
    }
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        snprintf(err, errlen, "tls: cannot write %s", tmp);
        return -1;
    }
    int ok = t->ca != NULL && PEM_write_X509(f, t->ca) == 1;
    if (fclose(f) != 0)
        ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        snprintf(err, errlen, "tls: cannot write the CA certificate to %s", path);
        ERR_clear_error();
        return -1;
    }
    return 0;
}

struct bufferevent *tls_server_bev(struct tls_server *t, struct event_base *base)
{
    return tls_server_bev_alpn(t, base, 0);
}

struct bufferevent *tls_server_bev_alpn(struct tls_server *t, struct event_base *base,
                                        int offer_h2)
{
    SSL *ssl = SSL_new(t->ctx);
    if (ssl == NULL) {
        ERR_clear_error();
        return NULL;
    }
    if (offer_h2)
        SSL_set_app_data(ssl, &offer_h2_mark);
    /* CLOSE_ON_FREE frees the SSL with the bufferevent, and closes the socket */
    struct bufferevent *bev =
        bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                       BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL)
        SSL_free(ssl);
    return bev;
}

int tls_bev_is_tls(struct bufferevent *bev)
{
    return bev != NULL && bufferevent_openssl_get_ssl(bev) != NULL;
}

int tls_bev_alpn_h2(struct bufferevent *bev)
{
    SSL *ssl = bev != NULL ? bufferevent_openssl_get_ssl(bev) : NULL;
    const unsigned char *p = NULL;
    unsigned int n = 0;
    if (ssl != NULL)
        SSL_get0_alpn_selected(ssl, &p, &n);
    return n == 2 && memcmp(p, "h2", 2) == 0;
}
