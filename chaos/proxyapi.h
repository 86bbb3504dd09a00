/* The chaos proxy's control API: Toxiproxy's HTTP API (README "HTTP API", api.go) on evhttp, so
 * existing Toxiproxy clients drive `tailgate chaos proxy`; plus two tailgate extensions under
 * /proxies/{name}: POST drop (proxy_drop_connection) and GET connections. */
#ifndef CH_PROXYAPI_H
#define CH_PROXYAPI_H

#include <stddef.h>
#include <stdint.h>

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
/* Stops serving and frees every proxy it holds. NULL is fine. */
void proxyapi_free(struct proxyapi *a);
int proxyapi_port(const struct proxyapi *a);

/* Takes ownership of 'p' (so the API lists and controls it). Returns 0, or -1 with err (name
 * taken, PROXYAPI_MAX_PROXIES reached); on failure the caller still owns 'p'. */
int proxyapi_adopt(struct proxyapi *a, struct proxy *p, char *err, size_t errlen);
/* The proxy of that name, or NULL. Owned by the API. */
struct proxy *proxyapi_find(const struct proxyapi *a, const char *name);

#endif
