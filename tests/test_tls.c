/* The mock over TLS on real loopback sockets: HTTPS streaming verified against the CA the mock
 * made and wrote, a close_notify+FIN, a bare FIN and an RST mid-stream recorded exactly as over
 * plain HTTP, a certificate and key from files, plain HTTP refused on the TLS port, and the
 * chaos proxy's toxics on a TLS stream it does not look into. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fcntl.h>
#include <sys/wait.h>

#include "check.h"
#include "gateway.h"
#include "harness.h"

/* Close after K tokens, 100 ms apart, as tests/test_mockprov.c's abort cases do */
#define K 3
#define TIMING "x-tailgate-ttft-ms: 0\r\nx-tailgate-tps: 10\r\nx-tailgate-jitter: 0\r\n"
#define CHAT_BODY                                                                            \
    "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"abcdefgh\"}]}"

static struct proc mock;
static char dir[64];    /* this run's files: the CA the mock wrote, generated keys */
static char ca[128];    /* the mock's --ca-file */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- libcurl over HTTPS, verification on -------------------------------------------------- */

struct buf {
    char *p;
    size_t n;
};

static size_t collect_cb(char *data, size_t size, size_t n, void *arg)
{
    struct buf *b = arg;
    char *tmp = realloc(b->p, b->n + size * n + 1);
    if (tmp == NULL)
        return 0;
    b->p = tmp;
    memcpy(b->p + b->n, data, size * n);
    b->n += size * n;
    b->p[b->n] = '\0';
    return size * n;
}

/* A request to https://127.0.0.1:port trusting ca_file only (NULL: the system's store).
 * Returns the status, or -(curl code); *out receives the body (malloc'd). */
static int https(int port, const char *ca_file, const char *method, const char *path,
                 const char *const *headers, const char *body, char **out)
{
    CURL *c = curl_easy_init();
    if (c == NULL)
        return -1;
    char url[256];
    snprintf(url, sizeof url, "https://127.0.0.1:%d%s", port, path);
    struct buf b = {NULL, 0};
    struct curl_slist *h = NULL;
    for (int i = 0; headers && headers[i]; i++)
        h = curl_slist_append(h, headers[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    if (ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 15000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (out)
        *out = b.p;
    else
        free(b.p);
    return rc == CURLE_OK ? (int)status : -(int)rc;
}

/* The first record of 'cid' once it is done, over HTTPS; NULL after timeout_ms. */
static cJSON *ledger_done(int port, const char *cid, int timeout_ms)
{
    char path[160];
    snprintf(path, sizeof path, "/_tailgate/ledger?id=%s", cid);
    uint64_t end = now_ms() + (uint64_t)timeout_ms;
    do {
        char *body = NULL;
        if (https(port, ca, "GET", path, NULL, NULL, &body) == 200) {
            cJSON *j = cJSON_Parse(body);
            cJSON *r = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "records"), 0);
            const char *state = harness_str(r, "state");
            if (state != NULL && strcmp(state, "done") == 0) {
                cJSON *copy = cJSON_Duplicate(r, 1);
                cJSON_Delete(j);
                free(body);
                return copy;
            }
            cJSON_Delete(j);
        }
        free(body);
        harness_sleep_ms(20);
    } while (now_ms() < end);
    return NULL;
}

/* ---- a TLS client of our own, so the test decides how the connection ends ---------------- */

struct tconn {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
};

static void tconn_free(struct tconn *t)
{
    if (t->ssl)
        SSL_free(t->ssl);
    if (t->ctx)
        SSL_CTX_free(t->ctx);
    t->ssl = NULL;
    t->ctx = NULL;
}

/* What tconn_open offers by ALPN: http/1.1 alone, as the HTTP/1.1 clients these tests play. */
static const char *tconn_offer = "\x08http/1.1";

/* Connects to 127.0.0.1:port (plain TCP, or through a proxy on that port), verifies the mock's
 * certificate against ca_file for IP 127.0.0.1, offers ALPN tconn_offer. 0 or -1. */
static int tconn_open(struct tconn *t, int port, const char *ca_file)
{
    memset(t, 0, sizeof *t);
    t->fd = harness_connect(port, 0);
    if (t->fd < 0)
        return -1;
    t->ctx = SSL_CTX_new(TLS_client_method());
    if (t->ctx == NULL || SSL_CTX_load_verify_locations(t->ctx, ca_file, NULL) != 1)
        goto fail;
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    t->ssl = SSL_new(t->ctx);
    if (t->ssl == NULL)
        goto fail;
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), "127.0.0.1");
    SSL_set_alpn_protos(t->ssl, (const unsigned char *)tconn_offer,
                        (unsigned)strlen(tconn_offer));
    SSL_set_fd(t->ssl, t->fd);
    if (SSL_connect(t->ssl) != 1 || SSL_get_verify_result(t->ssl) != X509_V_OK)
        goto fail;
    return 0;
fail:
    ERR_print_errors_fp(stderr);
    tconn_free(t);
    close(t->fd);
    t->fd = -1;
    return -1;
}

/* The protocol ALPN chose, or "" for none. */
static void tconn_alpn(struct tconn *t, char *out, size_t n)
{
    const unsigned char *p = NULL;
    unsigned len = 0;
    SSL_get0_alpn_selected(t->ssl, &p, &len);
    snprintf(out, n, "%.*s", (int)len, p ? (const char *)p : "");
}

static int tconn_post(struct tconn *t, const char *path, const char *headers, const char *body)
{
    char req[4096];
    int n = snprintf(req, sizeof req,
                     "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     "%sContent-Length: %zu\r\n\r\n%s",
                     path, headers, strlen(body), body);
    return SSL_write(t->ssl, req, n) == n ? 0 : -1;
}

static int count_tokens(const char *s)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, " tok")) != NULL; p += 4)
        n++;
    return n;
}

/* Reads until k tokens have arrived (bounded); returns how many did. */
static int tconn_read_tokens(struct tconn *t, int k, int timeout_ms)
{
    char acc[65536];
    size_t len = 0;
    acc[0] = '\0';
    uint64_t end = now_ms() + (uint64_t)timeout_ms;
    while (count_tokens(acc) < k && len + 1 < sizeof acc) {
        if (SSL_pending(t->ssl) == 0) {
            int left = (int)(end - now_ms());
            struct pollfd pfd = {t->fd, POLLIN, 0};
            if (left <= 0 || poll(&pfd, 1, left) <= 0)
                break;
        }
        int n = SSL_read(t->ssl, acc + len, (int)(sizeof acc - 1 - len));
        if (n <= 0)
            break;
        len += (size_t)n;
        acc[len] = '\0';
    }
    return count_tokens(acc);
}

/* Drains what is readable without blocking, so closing sends a FIN and not an RST. */
static void drain_socket(int fd)
{
    char b[4096];
    while (recv(fd, b, sizeof b, MSG_DONTWAIT) > 0) {
    }
}

enum tclose { CLOSE_NOTIFY_FIN, CLOSE_BARE_FIN, CLOSE_RST };

static void tconn_close(struct tconn *t, enum tclose how)
{
    if (how == CLOSE_NOTIFY_FIN)
        SSL_shutdown(t->ssl); /* our close_notify; we do not wait for the mock's */
    if (how == CLOSE_RST) {
        harness_close_rst(t->fd);
    } else {
        drain_socket(t->fd);
        close(t->fd);
    }
    t->fd = -1;
    tconn_free(t);
}

/* ---- cases --------------------------------------------------------------------------------- */

static void tls_should_stream_verified_https_with_exact_tokens_and_ledger(void)
{
    const char *const h[] = {"Content-Type: application/json", "X-Request-Id: tls-stream-1",
                             "x-tailgate-ttft-ms: 0", "x-tailgate-tps: 100",
                             "x-tailgate-profile: vendor-b-post", NULL};
    char *body = NULL;
    int st = https(mock.port, ca, "POST", "/v1/chat/completions", h,
                   "{\"model\":\"m\",\"stream\":true,\"max_tokens\":5,"
                   "\"messages\":[{\"role\":\"user\",\"content\":\"abcdefgh\"}]}",
                   &body);
    CHECK_EQ_INT(st, 200);
    CHECK(body != NULL);
    /* the exact tokens in order, then the end */
    const char *p = body;
    for (int i = 0; i < 5; i++) {
        char tok[32];
        snprintf(tok, sizeof tok, "\"content\":\" tok%d\"", i);
        p = strstr(p, tok);
        CHECK(p != NULL);
    }
    CHECK_EQ_INT(count_tokens(body), 5);
    CHECK(strstr(p, "data: [DONE]") != NULL);
    free(body);
    cJSON *r = ledger_done(mock.port, "tls-stream-1", 5000);
    CHECK(r != NULL);
    int ok = harness_num(r, "status") == 200 && harness_num(r, "generated_tokens") == 5 &&
             harness_num(r, "written_tokens") == 5 && harness_num(r, "tail_tokens") == 0 &&
             strcmp(harness_str(r, "stop_reason"), "max_tokens") == 0 &&
             cJSON_IsNull(cJSON_GetObjectItem(r, "close_kind"));
    if (!ok) {
        char *s = cJSON_PrintUnformatted(r);
        fprintf(stderr, "  record: %s\n", s);
        free(s);
    }
    cJSON_Delete(r);
    CHECK(ok);
}

static void tls_should_fail_verification_without_the_mock_ca(void)
{
    /* the system's store does not hold a CA made a moment ago: verification is really on */
    int st = https(mock.port, NULL, "GET", "/_tailgate/ledger", NULL, NULL, NULL);
    CHECK_EQ_INT(st, -(int)CURLE_PEER_FAILED_VERIFICATION);
}

/* h2 when the client offers it (the mock serves HTTP/2 too), http/1.1 when that is all it
 * offers */
static void tls_should_choose_the_protocol_by_alpn(void)
{
    static const char *const offers[] = {"\x02h2\x08http/1.1", "\x08http/1.1"};
    static const char *const chosen[] = {"h2", "http/1.1"};
    for (int i = 0; i < 2; i++) {
        struct tconn t;
        tconn_offer = offers[i];
        CHECK(tconn_open(&t, mock.port, ca) == 0);
        char proto[32];
        tconn_alpn(&t, proto, sizeof proto);
        tconn_close(&t, CLOSE_NOTIFY_FIN);
        CHECK_EQ_STR(proto, chosen[i]);
    }
    tconn_offer = offers[1];
}

/* One stream closed after K tokens the given way; the finished record, or NULL. */
static cJSON *abort_once(const char *cid, enum tclose how)
{
    struct tconn t;
    if (tconn_open(&t, mock.port, ca) != 0)
        return NULL;
    char headers[512];
    snprintf(headers, sizeof headers,
             "%sx-tailgate-profile: vendor-b-post\r\nx-tailgate-length: 50\r\n"
             "X-Request-Id: %s\r\n",
             TIMING, cid);
    if (tconn_post(&t, "/v1/chat/completions", headers, CHAT_BODY) != 0) {
        tconn_close(&t, CLOSE_RST);
        return NULL;
    }
    int got = tconn_read_tokens(&t, K, 5000);
    tconn_close(&t, how);
    if (got != K) {
        fprintf(stderr, "  %s: %d tokens before the close, not %d\n", cid, got, K);
        if (got < K || !check_under_valgrind())
            return NULL;
    }
    return ledger_done(mock.port, cid, 10000);
}

static void tls_should_record_fin_and_rst_mid_stream_exactly(void)
{
    static const struct {
        const char *cid;
        enum tclose how;
        const char *kind;
    } rows[] = {{"tls-close-notify-fin", CLOSE_NOTIFY_FIN, "fin"},
                {"tls-bare-fin", CLOSE_BARE_FIN, "fin"},
                {"tls-rst", CLOSE_RST, "rst"}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        cJSON *r = abort_once(rows[i].cid, rows[i].how);
        if (r == NULL)
            fprintf(stderr, "  case %s: no finished record\n", rows[i].cid);
        CHECK(r != NULL);
        double gen = harness_num(r, "generated_tokens");
        double written = harness_num(r, "written_tokens");
        const char *kind = harness_str(r, "close_kind");
        int ok = kind != NULL && strcmp(kind, rows[i].kind) == 0 &&
                 strcmp(harness_str(r, "stop_reason"), "disconnect") == 0 &&
                 harness_num(r, "t_gen_stop_ns") >= harness_num(r, "t_peer_closed_ns");
        /* the close came between token K and K+1 (100 ms later): vendor-b-post generates one
         * more, and bills what was written */
        int exact = gen == K + 1 && written == K && harness_num(r, "tail_tokens") == 1 &&
                    harness_num(r, "billed_output_tokens") == K;
        if (!ok || !exact) {
            char *s = cJSON_PrintUnformatted(r);
            fprintf(stderr, "  case %s: %s\n", rows[i].cid, s);
            free(s);
        }
        cJSON_Delete(r);
        CHECK(ok);
        CHECK_TIMING(exact);
    }
}

static void tls_should_refuse_plain_http_on_the_tls_port_cleanly(void)
{
    int fd = harness_connect(mock.port, 0);
    CHECK(fd >= 0);
    const char *req = "GET /_tailgate/ledger HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Connection: close\r\n\r\n";
    CHECK(harness_send_all(fd, req, strlen(req)) == 0);
    char got[4096];
    size_t len = 0;
    int closed = 0;
    uint64_t end = now_ms() + 10000;
    while (!closed && now_ms() < end) {
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, (int)(end - now_ms())) <= 0)
            break;
        ssize_t n = recv(fd, got + len, sizeof got - 1 - len, 0);
        if (n > 0 && len + (size_t)n < sizeof got - 1)
            len += (size_t)n;
        else
            closed = n == 0 || (n < 0 && errno == ECONNRESET) || len + 1 >= sizeof got;
    }
    close(fd);
    got[len] = '\0';
    CHECK(closed);                               /* the mock hung up */
    CHECK(strncmp(got, "HTTP/", 5) != 0);        /* and sent no plaintext answer */
    /* and goes on serving TLS */
    CHECK_EQ_INT(https(mock.port, ca, "GET", "/_tailgate/ledger?id=none", NULL, NULL, NULL),
                 200);
}

/* A self-signed certificate for IP:127.0.0.1 and DNS:localhost with its key, as PEM files. */
static int make_cert_files(const char *cert_path, const char *key_path)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    int ok = key != NULL && x != NULL;
    if (ok) {
        X509_set_version(x, 2);
        ASN1_INTEGER_set(X509_get_serialNumber(x), 4242);
        X509_gmtime_adj(X509_getm_notBefore(x), -3600);
        X509_gmtime_adj(X509_getm_notAfter(x), 86400);
        X509_NAME *n = X509_get_subject_name(x);
        X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"test-leaf", -1,
                                   -1, 0);
        X509_set_issuer_name(x, n);
        X509_set_pubkey(x, key);
        X509V3_CTX v3;
        X509V3_set_ctx_nodb(&v3);
        X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
        X509_EXTENSION *e =
            X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
        ok = e != NULL && X509_add_ext(x, e, -1) && X509_sign(x, key, EVP_sha256());
        X509_EXTENSION_free(e);
    }
    FILE *cf = ok ? fopen(cert_path, "w") : NULL;
    FILE *kf = ok ? fopen(key_path, "w") : NULL;
    ok = cf && kf && PEM_write_X509(cf, x) && PEM_write_PrivateKey(kf, key, NULL, NULL, 0, NULL,
                                                                   NULL);
    if (cf)
        fclose(cf);
    if (kf)
        fclose(kf);
    X509_free(x);
    EVP_PKEY_free(key);
    return ok ? 0 : -1;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    char *b = calloc(1, 65536);
    if (b)
        fread(b, 1, 65535, f);
    fclose(f);
    return b;
}

static void tls_should_serve_a_certificate_and_key_from_files(void)
{
    char cert[128], key[128], out[128];
    snprintf(cert, sizeof cert, "%s/leaf.pem", dir);
    snprintf(key, sizeof key, "%s/leaf.key", dir);
    snprintf(out, sizeof out, "%s/trust.pem", dir);
    CHECK(make_cert_files(cert, key) == 0);
    struct proc m2;
    const char *const args[] = {"--tls", "--cert", cert, "--key", key, "--ca-file", out, NULL};
    CHECK(harness_start_mock(&m2, args) == 0);
    /* 100 tokens/s, not faster: see the note on fast first tokens in docs/mockprov.md */
    const char *const h[] = {"Content-Type: application/json", "x-tailgate-ttft-ms: 0",
                             "x-tailgate-tps: 100", NULL};
    char *body = NULL;
    int st = https(m2.port, cert, "POST", "/v1/chat/completions", h,
                   "{\"model\":\"m\",\"stream\":true,\"max_tokens\":2,"
                   "\"messages\":[{\"role\":\"user\",\"content\":\"ab\"}]}",
                   &body);
    int tokens = body ? count_tokens(body) : -1;
    free(body);
    /* what --ca-file wrote for a client to trust is that certificate itself */
    char *a = slurp(cert), *b = slurp(out);
    int same = a && b && strcmp(a, b) == 0 && strstr(a, "BEGIN CERTIFICATE") != NULL;
    free(a);
    free(b);
    int exit_status = harness_stop(&m2);
    CHECK_EQ_INT(st, 200);
    CHECK_EQ_INT(tokens, 2);
    CHECK(same);
    CHECK_EQ_INT(exit_status, 0);
}

static void tls_should_refuse_a_key_that_does_not_match(void)
{
    char cert[128], key[128], cert2[128], key2[128];
    snprintf(cert, sizeof cert, "%s/a.pem", dir);
    snprintf(key, sizeof key, "%s/a.key", dir);
    snprintf(cert2, sizeof cert2, "%s/b.pem", dir);
    snprintf(key2, sizeof key2, "%s/b.key", dir);
    CHECK(make_cert_files(cert, key) == 0 && make_cert_files(cert2, key2) == 0);
    struct proc m2;
    const char *const args[] = {"--tls", "--cert", cert, "--key", key2, NULL};
    /* it exits at start (no port file), so harness_start_mock gives up */
    CHECK(harness_start_mock(&m2, args) != 0);
}

static void tls_should_pass_through_the_chaos_proxy_with_a_toxic(void)
{
    struct proc px;
    CHECK(harness_proc_init(&px) == 0);
    char up[64], pf[128];
    snprintf(up, sizeof up, "127.0.0.1:%d", mock.port);
    snprintf(pf, sizeof pf, "%s/port", px.dir);
    const char *bin = getenv("TAILGATE_BIN") ? getenv("TAILGATE_BIN") : "./tailgate";
    /* 300 ms on every chunk toward the client: the handshake and each token wait behind it */
    const char *const args[] = {bin, "chaos", "proxy", "--listen", "127.0.0.1:0", "--upstream",
                                up, "--toxic",
                                "{\"type\":\"latency\",\"stream\":\"downstream\","
                                "\"attributes\":{\"latency\":300}}",
                                "--port-file", pf, NULL};
    CHECK(harness_start(&px, args, pf) == 0);
    struct tconn t;
    uint64_t t0 = now_ms();
    int opened = tconn_open(&t, px.port, ca) == 0;
    uint64_t t_hs = now_ms();
    int got = -1;
    if (opened) {
        char headers[256];
        snprintf(headers, sizeof headers,
                 "x-tailgate-ttft-ms: 0\r\nx-tailgate-tps: 50\r\nx-tailgate-length: 4\r\n"
                 "X-Request-Id: tls-proxy-1\r\nConnection: close\r\n");
        if (tconn_post(&t, "/v1/chat/completions", headers, CHAT_BODY) == 0)
            got = tconn_read_tokens(&t, 4, 10000);
        tconn_close(&t, CLOSE_NOTIFY_FIN);
    }
    int exit_status = harness_stop(&px);
    CHECK(opened); /* verified through the proxy: it passed the bytes untouched */
    /* the server's handshake flight came through the toxic: never sooner than its latency */
    CHECK(t_hs - t0 >= 300);
    CHECK_EQ_INT(got, 4);
    CHECK_EQ_INT(exit_status, 0);
    cJSON *r = ledger_done(mock.port, "tls-proxy-1", 5000);
    CHECK(r != NULL);
    double written = harness_num(r, "written_tokens");
    cJSON_Delete(r);
    CHECK_EQ_INT(written, 4);
}

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    int ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static void gateway_should_read_the_tls_keys_and_fill_the_ca_placeholder(void)
{
    char path[128], out[128];
    snprintf(path, sizeof path, "%s/gw.json", dir);
    snprintf(out, sizeof out, "%s/gwrun", dir);
    CHECK(mkdir(out, 0755) == 0);
    CHECK(write_text(path, "{\"name\": \"tlsgw\", \"url\": \"https://127.0.0.1:{{PORT}}\",\n"
                           " \"mock_tls\": true,\n"
                           " \"env\": {\"NODE_EXTRA_CA_CERTS\": \"{{MOCK_CA_FILE}}\"},\n"
                           " \"tls\": {\"ca_file\": \"{{RUN_DIR}}/gw-ca.pem\", "
                           "\"insecure\": false}}\n") == 0);
    CHECK_EQ_INT(gateway_file_mock_tls(path), 1);
    struct placeholder_vars v = {.port = 18443, .mock_url = "https://127.0.0.1:4567", .run_dir = out};
    struct gateway g;
    char err[512] = "";
    int rc = gateway_load(path, &v, &g, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "  %s\n", err);
    CHECK_EQ_INT(rc, 0);
    char want_env[256], want_ca[256];
    snprintf(want_env, sizeof want_env, "NODE_EXTRA_CA_CERTS=%s/mock-ca.pem", out);
    snprintf(want_ca, sizeof want_ca, "%s/gw-ca.pem", out);
    int mock_tls = g.mock_tls, insecure = g.tls_insecure;
    int env_ok = g.nenv == 1 && strcmp(g.env[0], want_env) == 0;
    int ca_ok = strcmp(g.tls_ca_file, want_ca) == 0;
    int url_ok = strcmp(g.url, "https://127.0.0.1:18443") == 0;
    if (!env_ok || !ca_ok || !url_ok)
        fprintf(stderr, "  env %s, ca %s, url %s\n", g.nenv ? g.env[0] : "-", g.tls_ca_file,
                g.url);
    gateway_cleanup(&g);
    CHECK_EQ_INT(mock_tls, 1);
    CHECK_EQ_INT(insecure, 0);
    CHECK(env_ok);
    CHECK(ca_ok);
    CHECK(url_ok);
    /* a wrong shape is named */
    CHECK(write_text(path,
                     "{\"url\": \"https://127.0.0.1:1\", \"tls\": {\"insecure\": 1}}\n") == 0);
    CHECK(gateway_load(path, &v, &g, err, sizeof err) != 0);
    gateway_cleanup(&g);
    CHECK(strstr(err, "tls: expected {\"ca_file\": PATH, \"insecure\": false}") != NULL);
}

/* Runs `tailgate run ARGS...` with output to /dev/null; its exit status, or -1. */
static int run_tailgate(const char *const *args)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execv(args[0], (char *const *)args);
        _exit(127);
    }
    int st = 0;
    uint64_t end = now_ms() + 120000;
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (now_ms() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        harness_sleep_ms(20);
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void run_should_pass_a_direct_scenario_against_the_mock_over_tls(void)
{
    char sc[128], out[128], ca_path[160], ledger[160];
    snprintf(sc, sizeof sc, "%s/quick.json", dir);
    snprintf(out, sizeof out, "%s/run", dir);
    snprintf(ca_path, sizeof ca_path, "%s/mock-ca.pem", out);
    snprintf(ledger, sizeof ledger, "%s/ledger.jsonl", out);
    /* four users close their tab after 5 tokens: each close crosses TLS to the ledger */
    CHECK(write_text(sc, "{\"name\": \"quick-tls\", \"api\": \"openai-chat\", "
                         "\"profile\": \"vendor-b-post\",\n"
                         " \"model\": {\"ttft_ms\": 10, \"tps\": 200, \"length\": 40},\n"
                         " \"traffic\": {\"requests\": 4, \"concurrency\": 4},\n"
                         " \"users\": [{\"action\": \"tab_close\", \"after_tokens\": 5}], "
                         "\"settle_ms\": 300,\n"
                         " \"gates\": {\"delivered_tokens\": [\"min>=5\"]}}\n") == 0);
    const char *bin = getenv("TAILGATE_BIN") ? getenv("TAILGATE_BIN") : "./tailgate";
    const char *const args[] = {bin, "run", "--direct", "--mock-tls", "--out", out, sc, NULL};
    CHECK_EQ_INT(run_tailgate(args), 0);
    char *pem = slurp(ca_path);
    int is_pem = pem && strncmp(pem, "-----BEGIN CERTIFICATE-----", 27) == 0;
    free(pem);
    CHECK(is_pem);
    char *text = slurp(ledger);
    CHECK(text != NULL);
    int records = 0, fins = 0;
    for (const char *p = text; (p = strstr(p, "\"request_id\"")) != NULL; p++)
        records++;
    for (const char *p = text; (p = strstr(p, "\"close_kind\":\"fin\"")) != NULL; p++)
        fins++;
    free(text);
    CHECK_EQ_INT(records, 4);
    CHECK_EQ_INT(fins, 4);
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CASE(tls_should_stream_verified_https_with_exact_tokens_and_ledger),
        CASE(tls_should_fail_verification_without_the_mock_ca),
        CASE(tls_should_choose_the_protocol_by_alpn),
        CASE(tls_should_record_fin_and_rst_mid_stream_exactly),
        CASE(tls_should_refuse_plain_http_on_the_tls_port_cleanly),
        CASE(tls_should_serve_a_certificate_and_key_from_files),
        CASE(tls_should_refuse_a_key_that_does_not_match),
        CASE(tls_should_pass_through_the_chaos_proxy_with_a_toxic),
        CASE(gateway_should_read_the_tls_keys_and_fill_the_ca_placeholder),
        CASE(run_should_pass_a_direct_scenario_against_the_mock_over_tls),
    };
    snprintf(dir, sizeof dir, "/tmp/tgtls.XXXXXX");
    if (mkdtemp(dir) == NULL) {
        printf("FAIL tls_should_start (no temp folder)\n");
        return 1;
    }
    snprintf(ca, sizeof ca, "%s/mock-ca.pem", dir);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const char *const args[] = {"--tls", "--ca-file", ca, NULL};
    if (harness_start_mock(&mock, args) != 0) {
        printf("FAIL tls_should_start (could not start the mock with --tls)\n");
        return 1;
    }
    int rc = check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
    int exit_status = harness_stop(&mock);
    printf("%s tls_should_shut_down_cleanly\n", exit_status == 0 ? "PASS" : "FAIL");
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "  could not remove %s\n", dir);
    curl_global_cleanup();
    return rc || exit_status != 0;
}
