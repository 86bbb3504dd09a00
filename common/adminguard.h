/* The check in front of tailgate's admin APIs (the mock's /_tailgate/ and /metrics, the chaos
 * proxy's Toxiproxy API): a loopback-only API is still reachable from a web page the developer
 * has open, by a cross-site request (CSRF) or by a name that resolves to 127.0.0.1 (DNS
 * rebinding). The browser's own headers give both away, so the check reads only those:
 *
 * - Host must be a loopback name or address (localhost, *.localhost, 127.0.0.0/8, ::1, with an
 *   optional port) or one of the extra names allowed; a missing Host passes only from a loopback
 *   peer (HTTP/1.0 clients; a browser always sends one).
 * - Origin, when present, must be http(s)://<loopback or allowed host>[:port]; "null" is refused.
 *   Non-browser clients send none.
 * - A state-changing request (any method but GET, HEAD, OPTIONS) needs Content-Type
 *   application/json, parameters allowed; a browser cannot send that cross-site without a CORS
 *   preflight, which these APIs never grant. One with no body, no Content-Type and no Origin
 *   passes (curl -X DELETE, the Toxiproxy clients' body-less POST /reset and DELETE).
 *
 * adminguard_check is a pure function (no I/O, no allocation); adminguard_read fills its input
 * from an evhttp request. */
#ifndef TG_ADMINGUARD_H
#define TG_ADMINGUARD_H

#include <stddef.h>

struct evhttp_request;

#define ADMINGUARD_MAX_HOSTS 16 /* extra names one server allows */
#define ADMINGUARD_MAX_NAME 253 /* a DNS name's longest text form */

enum adminguard_verdict {
    ADMINGUARD_OK = 0,
    ADMINGUARD_BAD_HOST,         /* Host not loopback nor allowed, or missing off loopback */
    ADMINGUARD_BAD_ORIGIN,       /* a foreign, malformed or "null" Origin */
    ADMINGUARD_BAD_CONTENT_TYPE, /* state-changing without Content-Type application/json */
};

/* One request as the check sees it; every string may be NULL (header absent). */
struct adminguard_request {
    const char *method;       /* "GET", "POST", ...; NULL counts as state-changing */
    const char *host;         /* the Host header */
    const char *origin;       /* the Origin header */
    const char *content_type; /* the Content-Type header */
    size_t body_len;          /* bytes of request body */
    int peer_loopback;        /* the TCP peer's address is a loopback one */
};

/* The verdict on 'rq' with 'hosts' (n names, see adminguard_valid_name) allowed besides the
 * loopback ones. On a refusal, 'msg' says why in one sentence naming the header and its value;
 * on ADMINGUARD_OK it is "". Borrows everything. */
enum adminguard_verdict adminguard_check(const struct adminguard_request *rq,
                                         const char *const *hosts, size_t n, char *msg,
                                         size_t msglen);
/* Fills 'rq' from 'req': its method, Host, Origin and Content-Type headers (borrowed from 'req'),
 * body length and whether its peer is loopback. */
void adminguard_read(struct evhttp_request *req, struct adminguard_request *rq);
/* 1 when 'authorization' (the header, or NULL) is exactly "Bearer <token>", else 0. Compares
 * in time independent of where the two differ. */
int adminguard_bearer_ok(const char *authorization, const char *token);
/* 1 when 'host' (a Host header value: name or address, optional ":port", IPv6 in brackets) is
 * a loopback one, else 0. */
int adminguard_host_is_loopback(const char *host);
/* 1 when 'addr' (a numeric peer address as evhttp gives it: "127.0.0.1", "::1",
 * "::ffff:127.0.0.1") is loopback, else 0. */
int adminguard_addr_is_loopback(const char *addr);
/* 1 when 'name' may be allowed as an extra host: a DNS name, an IPv4 address, or an IPv6
 * address with or without brackets; no port, no scheme. Else 0. */
int adminguard_valid_name(const char *name);

#endif
