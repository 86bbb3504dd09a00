/* The admin APIs' check against web pages: Host (DNS rebinding), Origin and Content-Type
 * (cross-site requests). See adminguard.h for the rules. */
#include "adminguard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "h1exchange.h"

/* The host part of a Host value or an Origin's authority: no port, no brackets. */
struct authority {
    char name[ADMINGUARD_MAX_NAME + 1];
    int bracketed; /* an IPv6 literal */
};

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Letters, digits, '-', '_' and '.': what a DNS name or an IPv4 address is written with. A
 * narrow set on purpose: '/', '@', '?', '#', '%' and spaces never make a host. */
static int is_name_char(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
           c == '_' || c == '.';
}

/* No empty label: no leading, trailing or doubled dot. */
static int labels_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && s[0] != '.' && s[n - 1] != '.' && strstr(s, "..") == NULL;
}

static int all_digits_and_dots(const char *s)
{
    for (; *s; s++)
        if (!is_digit(*s) && *s != '.')
            return 0;
    return 1;
}

/* Splits "name[:port]" or "[v6][:port]" ('len' bytes of 's'). Returns 0, or -1 when it is not
 * one of those forms (a bare IPv6 address, an empty or non-numeric port, a stray character). */
static int split_authority(const char *s, size_t len, struct authority *a)
{
    const char *end = s + len, *name = s, *name_end, *rest;
    a->bracketed = 0;
    if (len > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (close == NULL)
            return -1;
        name = s + 1;
        name_end = close;
        rest = close + 1;
        a->bracketed = 1;
    } else {
        const char *colon = memchr(s, ':', len);
        name_end = colon ? colon : end;
        rest = name_end;
        if (colon && memchr(colon + 1, ':', (size_t)(end - colon - 1)) != NULL)
            return -1; /* RFC 3986 3.2.2: an IPv6 literal goes in brackets */
    }
    if (rest < end) {
        if (*rest != ':')
            return -1;
        rest++;
        if (rest == end || end - rest > 5)
            return -1;
        unsigned port = 0;
        for (; rest < end; rest++) {
            if (!is_digit(*rest))
                return -1;
            port = port * 10 + (unsigned)(*rest - '0');
        }
        if (port > 65535)
            return -1;
    }
    size_t n = (size_t)(name_end - name);
    if (n == 0 || n > ADMINGUARD_MAX_NAME)
        return -1;
    memcpy(a->name, name, n);
    a->name[n] = '\0';
    for (size_t i = 0; i < n; i++) {
        char c = a->name[i];
        if (a->bracketed ? !(is_hex(c) || c == ':' || c == '.') : !is_name_char(c))
            return -1;
    }
    struct in6_addr v6;
    if (a->bracketed && inet_pton(AF_INET6, a->name, &v6) != 1)
        return -1;
    return 0;
}

static int v6_is_loopback(const struct in6_addr *x)
{
    /* ::1, or an IPv4-mapped 127.0.0.0/8 (a dual-stack socket's view of 127.0.0.1) */
    return IN6_IS_ADDR_LOOPBACK(x) || (IN6_IS_ADDR_V4MAPPED(x) && x->s6_addr[12] == 127);
}

static int name_is_loopback(const struct authority *a)
{
    if (a->bracketed) {
        struct in6_addr v6;
        return inet_pton(AF_INET6, a->name, &v6) == 1 && v6_is_loopback(&v6);
    }
    struct in_addr v4;
    if (inet_pton(AF_INET, a->name, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    if (all_digits_and_dots(a->name))
        return 0; /* "127.1" and the like: not an address inet_pton takes, not a name */
    if (strcasecmp(a->name, "localhost") == 0)
        return 1;
    /* RFC 6761 6.3: every name under .localhost is loopback */
    size_t n = strlen(a->name);
    return n > 10 && strcasecmp(a->name + n - 10, ".localhost") == 0 && labels_ok(a->name);
}

/* 'h' without the brackets of an IPv6 literal, into 'out'. Returns 0, or -1 when it does not
 * fit. */
static int strip_brackets(const char *h, char *out, size_t outlen)
{
    size_t n = strlen(h);
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
        h++;
        n -= 2;
    }
    if (n >= outlen)
        return -1;
    memcpy(out, h, n);
    out[n] = '\0';
    return 0;
}

static int name_is_allowed(const struct authority *a, const char *const *hosts, size_t n)
{
    /* linear scan: at most ADMINGUARD_MAX_HOSTS names */
    for (size_t i = 0; i < n; i++) {
        char h[ADMINGUARD_MAX_NAME + 1];
        if (hosts[i] == NULL || strip_brackets(hosts[i], h, sizeof h) != 0)
            continue;
        struct in6_addr x, y;
        if (a->bracketed) {
            /* IPv6 literals compare as addresses: [FD00:0::1] is fd00::1 */
            if (inet_pton(AF_INET6, h, &y) == 1 && inet_pton(AF_INET6, a->name, &x) == 1 &&
                memcmp(&x, &y, sizeof x) == 0)
                return 1;
        } else if (strcasecmp(a->name, h) == 0) {
            return 1;
        }
    }
    return 0;
}

static int is_json(const char *ct)
{
    while (*ct == ' ' || *ct == '\t')
        ct++;
    if (strncasecmp(ct, "application/json", 16) != 0)
        return 0;
    ct += 16;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return *ct == '\0' || *ct == ';';
}

/* GET, HEAD and OPTIONS change nothing; anything else (an unknown method too) may. */
static int is_safe_method(const char *m)
{
    return m && (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "OPTIONS") == 0);
}

static enum adminguard_verdict check_host(const struct adminguard_request *rq,
                                          const char *const *hosts, size_t n, char *msg,
                                          size_t msglen)
{
    if (rq->host == NULL || rq->host[0] == '\0') {
        if (rq->peer_loopback)
            return ADMINGUARD_OK; /* an HTTP/1.0 client on this host; a browser sends a Host */
        snprintf(msg, msglen,
                 "admin API: refused a request without a Host header from a "
                 "non-loopback peer");
        return ADMINGUARD_BAD_HOST;
    }
    struct authority a;
    if (split_authority(rq->host, strlen(rq->host), &a) != 0 ||
        !(name_is_loopback(&a) || name_is_allowed(&a, hosts, n))) {
        snprintf(msg, msglen,
                 "admin API: refused Host '%.100s': not a loopback name or address "
                 "(see --admin-host)",
                 rq->host);
        return ADMINGUARD_BAD_HOST;
    }
    return ADMINGUARD_OK;
}

static enum adminguard_verdict check_origin(const char *origin, const char *const *hosts, size_t n,
                                            char *msg, size_t msglen)
{
    size_t skip = strncasecmp(origin, "http://", 7) == 0    ? 7
                  : strncasecmp(origin, "https://", 8) == 0 ? 8
                                                            : 0;
    struct authority a;
    if (skip == 0 || split_authority(origin + skip, strlen(origin + skip), &a) != 0 ||
        !(name_is_loopback(&a) || name_is_allowed(&a, hosts, n))) {
        snprintf(msg, msglen,
                 "admin API: refused a cross-site request: Origin '%.100s' is not "
                 "a loopback origin (see --admin-host)",
                 origin);
        return ADMINGUARD_BAD_ORIGIN;
    }
    return ADMINGUARD_OK;
}

enum adminguard_verdict adminguard_check(const struct adminguard_request *rq,
                                         const char *const *hosts, size_t n, char *msg,
                                         size_t msglen)
{
    if (msglen > 0)
        msg[0] = '\0';
    enum adminguard_verdict v = check_host(rq, hosts, n, msg, msglen);
    if (v != ADMINGUARD_OK)
        return v;
    /* an Origin of "null" (a sandboxed frame, a file: page, a redirect) is never a client of ours:
     * check_origin refuses it like any other that is not http(s) */
    if (rq->origin && (v = check_origin(rq->origin, hosts, n, msg, msglen)) != ADMINGUARD_OK)
        return v;
    if (is_safe_method(rq->method))
        return ADMINGUARD_OK;
    if (rq->content_type == NULL && rq->body_len == 0 && rq->origin == NULL)
        return ADMINGUARD_OK; /* nothing a form or a no-cors fetch could have sent */
    if (rq->content_type == NULL || !is_json(rq->content_type)) {
        snprintf(msg, msglen,
                 "admin API: refused %.16s without Content-Type application/json "
                 "(got %s%.100s%s)",
                 rq->method ? rq->method : "a request", rq->content_type ? "'" : "none",
                 rq->content_type ? rq->content_type : "", rq->content_type ? "'" : "");
        return ADMINGUARD_BAD_CONTENT_TYPE;
    }
    return ADMINGUARD_OK;
}

void adminguard_read(struct evhttp_request *req, struct adminguard_request *rq)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    char *addr = NULL;
    ev_uint16_t port = 0;
    evhttp_connection_get_peer(evhttp_request_get_connection(req), &addr, &port);
    rq->method = h1exchange_method_name(evhttp_request_get_command(req));
    rq->host = evhttp_find_header(in, "Host");
    rq->origin = evhttp_find_header(in, "Origin");
    rq->content_type = evhttp_find_header(in, "Content-Type");
    rq->body_len = evbuffer_get_length(evhttp_request_get_input_buffer(req));
    rq->peer_loopback = adminguard_addr_is_loopback(addr);
}

int adminguard_bearer_ok(const char *authorization, const char *token)
{
    if (authorization == NULL || token == NULL || strncmp(authorization, "Bearer ", 7) != 0)
        return 0;
    const char *got = authorization + 7;
    size_t gl = strlen(got), tl = strlen(token);
    unsigned char diff = gl != tl;
    for (size_t i = 0; i < tl; i++)
        diff |= (unsigned char)(token[i] ^ (i < gl ? got[i] : 0));
    return diff == 0;
}

int adminguard_host_is_loopback(const char *host)
{
    struct authority a;
    return host && split_authority(host, strlen(host), &a) == 0 && name_is_loopback(&a);
}

int adminguard_addr_is_loopback(const char *addr)
{
    struct in_addr v4;
    struct in6_addr v6;
    if (addr == NULL)
        return 0;
    if (inet_pton(AF_INET, addr, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, addr, &v6) == 1 && v6_is_loopback(&v6);
}

int adminguard_valid_name(const char *name)
{
    char h[ADMINGUARD_MAX_NAME + 1];
    struct in6_addr v6;
    struct in_addr v4;
    if (name == NULL || strip_brackets(name, h, sizeof h) != 0 || h[0] == '\0')
        return 0;
    if (name[0] == '[' || strchr(h, ':'))
        return inet_pton(AF_INET6, h, &v6) == 1;
    for (const char *p = h; *p; p++)
        if (!is_name_char(*p))
            return 0;
    if (all_digits_and_dots(h))
        return inet_pton(AF_INET, h, &v4) == 1;
    return labels_ok(h);
}
