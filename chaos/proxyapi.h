/* The chaos proxy's control API: Toxiproxy's HTTP API (README "HTTP API", api.go) on evhttp, so
 * existing Toxiproxy clients drive `tailgate chaos proxy`; plus two tailgate extensions under
 * /proxies/{name}: POST drop (proxy_drop_connection) and GET connections. */
#ifndef CH_PROXYAPI_H
#define CH_PROXYAPI_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define PROXYAPI_MAX_PROXIES 64
#define PROXYAPI_MAX_BODY (64 * 1024)
/* The Toxiproxy API version it answers to, tagged so a human can tell it apart. */
#define PROXYAPI_VERSION "2.12.0-tailgate"

struct event_base;
struct proxy;
struct proxyapi;

/* Binds 'addr' ("127.0.0.1:8474"; port 0 picks one) and serves. Proxies it creates are seeded
 * from 'seed' and their name. Returns NULL with err filled. Borrows 'base'. */
struct proxyapi *proxyapi_new(struct event_base *base, const char *addr, uint64_t seed,
                              char *err, size_t errlen);
/* The same with the API server's timeouts in ms (0: the guard's defaults, httpguard.h). */
struct proxyapi *proxyapi_new_timeouts(struct event_base *base, const char *addr, uint64_t seed,
                                       const unsigned timeouts_ms[3], char *err, size_t errlen);
/* Stops serving and frees every proxy it holds. NULL is fine. */
void proxyapi_free(struct proxyapi *a);
int proxyapi_port(const struct proxyapi *a);
/* Guards the API: 'token' (NULL: none) is then asked of every call as "Authorization: Bearer
 * <token>", and 'hosts' (n names, adminguard_valid_name) are Host names it answers besides the
 * loopback ones. Whatever these say, it refuses what a web page could send (adminguard.h).
 * Returns 0, or -1 with err filled (hosts without a token, a bad name, too many). Borrows the
 * strings for its lifetime. */
int proxyapi_set_admin(struct proxyapi *a, const char *token, const char *const *hosts, size_t n,
                       char *err, size_t errlen);

/* Takes ownership of 'p' (so the API lists and controls it). Returns 0, or -1 with err (name
 * taken, PROXYAPI_MAX_PROXIES reached); on failure the caller still owns 'p'. */
int proxyapi_adopt(struct proxyapi *a, struct proxy *p, char *err, size_t errlen);
/* The proxy of that name, or NULL. Owned by the API. */
struct proxy *proxyapi_find(const struct proxyapi *a, const char *name);

/* ---- request bodies, parsed apart from the routes so they can be checked alone ---------- */

/* A proxy as a create, update or populate body gives it; strings borrowed from the tree. */
struct proxyapi_body {
    const char *name, *listen, *upstream; /* NULL: absent (or null) */
    int enabled;                          /* -1: absent */
};

/* A request body as JSON. Returns the tree (caller frees), or NULL with *status (400, 413) and
 * err as the API answers it. Borrows 'body' (need not end in a NUL). */
cJSON *proxyapi_parse_json(const char *body, size_t len, int *status, char *err, size_t errlen);
/* {"name","listen","upstream","enabled"} ("toxics" ignored). Returns 0, or -1 with err naming
 * the field. Borrows 'j'. */
int proxyapi_parse_proxy(const cJSON *j, struct proxyapi_body *b, char *err, size_t errlen);
/* /populate's array: every entry a proxy with a name and an upstream, names distinct, at most
 * PROXYAPI_MAX_PROXIES ('bodies' has room for that many). Returns 0 with *count, or -1 with err
 * as the API answers it (400). Borrows 'j'. */
int proxyapi_parse_populate(const cJSON *j, struct proxyapi_body *bodies, int *count, char *err,
                            size_t errlen);
/* The drop extension's {"client_port":N,"rst_after_ms":M}. Returns 0, or -1 with err naming the
 * field. Borrows 'j'. */
int proxyapi_parse_drop(const cJSON *j, int *port, uint32_t *rst_after_ms, char *err,
                        size_t errlen);

#endif
