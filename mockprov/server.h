/* mockprov's HTTP server: the vendor APIs, the token timers, disconnect detection and the admin
 * API, on one libevent loop. */
#ifndef MP_SERVER_H
#define MP_SERVER_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

struct mock_config {
    const char *host;        /* default 127.0.0.1 */
    int port;                /* 0: any free port */
    const char *profile;     /* preset name, NULL: PROFILE_DEFAULT */
    const char *schedule;    /* "0s:A,30s:B" or NULL */
    uint64_t seed;
    const char *ledger_file; /* JSON lines, or NULL */
    size_t ledger_max;       /* 0: LEDGER_DEFAULT_CAPACITY */
    const char *admin_token; /* NULL: none */
    int admin_any;           /* accept admin calls from non-loopback peers */
    size_t max_body;         /* 0: MOCK_DEFAULT_MAX_BODY */
    int sndbuf;              /* >0: SO_SNDBUF of each connection; 0: the kernel's autotuning */
};

#define MOCK_DEFAULT_MAX_BODY (8u * 1024 * 1024)

struct mock;

/* Binds and starts serving on 'base'. Returns NULL with err filled. Borrows 'base' and 'cfg'
 * strings for its lifetime. */
struct mock *mock_new(struct event_base *base, const struct mock_config *cfg, char *err,
                      size_t errlen);
/* Stops serving and frees everything; NULL is fine. Open streams are dropped. */
void mock_free(struct mock *m);
/* The bound port. */
int mock_port(const struct mock *m);

#endif
