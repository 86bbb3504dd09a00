/* mockprov's HTTP server: the vendor APIs, the token timers, disconnect detection and the admin
 * API, on one libevent loop. */
#ifndef MP_SERVER_H
#define MP_SERVER_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct tls_server;

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
    /* Host names the admin API answers besides the loopback ones (adminguard.h); borrowed.
     * Needs admin_token. */
    const char *const *admin_hosts;
    size_t admin_nhosts;
    size_t max_body;         /* 0: MOCK_DEFAULT_MAX_BODY */
    int sndbuf;              /* >0: SO_SNDBUF of each connection; 0: the kernel's autotuning */
    /* What a peer may make the mock hold (httpguard.h); 0: the guard's default */
    unsigned header_timeout_ms;
    unsigned body_timeout_ms;
    unsigned idle_timeout_ms;
    size_t max_pending; /* bytes held from a peer while its reply is pending or streaming */
    /* one line for the log (accept errors); NULL: not logged */
    void (*log)(const char *line, void *arg);
    void *log_arg;
    /* TLS on the port (tls.h), borrowed for the mock's lifetime; NULL: plain HTTP */
    struct tls_server *tls;
    int no_h2; /* HTTP/1.1 only; else HTTP/2 too (h2conn.h) on the same port */
    /* Overload: a stream behind its timetable sends at most max_burst tokens in a row (0:
     * MOCK_DEFAULT_MAX_BURST); its timetable slides instead of catching up, never lying more
     * than max(max_burst gaps, lag_slack_ns) behind (0: MOCK_DEFAULT_LAG_SLACK_NS). */
    unsigned max_burst;
    uint64_t lag_slack_ns;
    /* For tests only: CPU burnt per tick of the token wheel, so the mock falls behind. */
    unsigned debug_tick_burn_ms;
};

#define MOCK_DEFAULT_MAX_BODY (8u * 1024 * 1024)
#define MOCK_DEFAULT_MAX_BURST 2
#define MOCK_DEFAULT_LAG_SLACK_NS (2 * 1000000ull)
#define MOCK_MAX_BURST_LIMIT 1024

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
