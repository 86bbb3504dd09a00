/* refgw: the reference gateway the demo and the tests put between a client and mockprov. Not
 * part of ./tailgate. Only this file prints or exits. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "cliutil.h"
#include "httpguard.h"
#include "relay.h"
#include "tls.h"
#include "version.h"

#define REFGW_EXIT_USAGE 2 /* as tailgate: usage error */
#define REFGW_EXIT_ENV 3   /* as tailgate: environment failure (port taken, file not writable) */
#define REFGW_HOST_MAX 256
#define REFGW_UPSTREAM_MAX 2048
#define REFGW_SLOW_MS_MAX 3600000ull
#define REFGW_SLOW_MS_DEFAULT 1500
#define REFGW_FALLBACK_WAIT_DEFAULT 2000

/* An upstream's base URL into out, without a trailing slash (request paths bring their own);
 * -1 after one line on stderr. */
static int base_url(const char *flag, const char *arg, char *out, size_t len)
{
    size_t n = strlen(arg);
    size_t scheme = strncmp(arg, "http://", 7) == 0 ? 7 : strncmp(arg, "https://", 8) == 0 ? 8 : 0;
    if (scheme == 0 || n <= scheme || n >= len) {
        fprintf(stderr, "refgw: %s: expected http[s]://HOST:PORT, got '%s'\n", flag, arg);
        return -1;
    }
    memcpy(out, arg, n + 1);
    while (n > scheme && out[n - 1] == '/')
        out[--n] = '\0';
    return 0;
}

/* "429,503,529" into codes; -1 on anything else. */
static int parse_statuses(const char *arg, int *codes, size_t *n)
{
    size_t k = 0;
    const char *p = arg;
    while (*p) {
        char *end;
        long c = strtol(p, &end, 10);
        if (end == p || c < 400 || c > 599 || k == RELAY_MAX_FALLBACK_STATUSES ||
            (*end != ',' && *end != '\0') || (*end == ',' && end[1] == '\0'))
            return -1;
        codes[k++] = (int)c;
        p = *end == ',' ? end + 1 : end;
    }
    if (k == 0)
        return -1;
    *n = k;
    return 0;
}

static void usage(FILE *f)
{
    fputs(
        "usage: refgw --mode naive|fixed|slow|retry|strip-headers --upstream http[s]://HOST:PORT\n"
        "             [--upstream-http 1.1|2] [--upstream-ca FILE] [--ignore-stream-reset]\n"
        "             [--watch-after-first-byte] [--ignore-nonstream-cancel]\n"
        "             [--listen HOST:PORT] [--port-file PATH] [--slow-ms MS]\n"
        "             [--tls [--cert FILE --key FILE]] [--ca-file PATH]\n"
        "             [--metering-log FILE] [--metering usage|count]\n"
        "             [--header-timeout D] [--body-timeout D] [--idle-timeout D]\n"
        "             [--upstream-idle-timeout D]\n"
        "             [--fallback-upstream http[s]://HOST:PORT [--fallback-on LIST]\n"
        "              [--fallback-max-wait-ms MS] [--fallback-ignores-cancel]]\n"
        "       refgw --help | --version\n"
        "\n"
        "Relays POST /v1/... to the upstream and streams the answer back. When the client\n"
        "leaves mid-stream: naive reads the upstream to its end, fixed aborts it at once,\n"
        "slow aborts it --slow-ms later (default 1500), retry aborts it and sends the request\n"
        "again, strip-headers is fixed without forwarding X-Request-Id.\n"
        "--upstream-http 2 speaks HTTP/2 to an https:// upstream (ALPN), its transfers\n"
        "multiplexed on shared connections: an abort resets the stream (RST_STREAM) and\n"
        "leaves the connection to the others. Default 1.1. --upstream-ca trusts a CA file\n"
        "(such as the one `tailgate mock --tls --ca-file F` writes).\n"
        "--ignore-stream-reset (fixed, slow, retry): a client's HTTP/2 stream reset is read\n"
        "on to the end as naive does; a closed connection is handled as the mode says. The\n"
        "gateway that passes over HTTP/1.1 and leaks over HTTP/2.\n"
        "--watch-after-first-byte (fixed, slow, retry): the client is watched for a\n"
        "disconnect only once the first token came from the upstream (a stream's opening\n"
        "events carry none); a client that left before then is not seen leaving and its\n"
        "request is read to the end as naive does: every abandonment during a long time\n"
        "to first token leaks, and every non-streaming one.\n"
        "--ignore-nonstream-cancel (fixed, slow, retry): a client that leaves a\n"
        "non-streaming request (no \"stream\": true) is read to the end as naive does; a\n"
        "stream is handled as the mode says. The gateway that cancels streams only.\n"
        "--upstream-idle-timeout D: the gateway's own deadline (off by default): an upstream\n"
        "attempt that sends nothing for D while refgw reads it (its time to first token\n"
        "included, not while refgw holds it back for a slow client) is cut, and the client\n"
        "gets a 504, or a cut stream once its answer had begun. 0 turns it off.\n"
        "--fallback-upstream URL: a second provider. When the upstream answers a status in\n"
        "--fallback-on (default 429,503,529), nothing of it reaches the client: after its\n"
        "retry-after (seconds; capped at --fallback-max-wait-ms, default 2000; none: at\n"
        "once) the same request goes to URL, once, and its answer is relayed. A client that\n"
        "leaves during that wait gets no fallback in fixed, slow and strip-headers; naive\n"
        "and retry send it anyway and read it to the end, and so does fixed with\n"
        "--fallback-ignores-cancel: a paid request for nobody. A client that leaves during\n"
        "the fallback's answer is handled as the mode says.\n"
        "--listen defaults to 127.0.0.1:0 (any free port). The listen URL is the first line\n"
        "on stdout. Clients may speak HTTP/1.1 or HTTP/2 on it: h2 by prior knowledge in\n"
        "cleartext, by ALPN under --tls. --tls serves HTTPS with --cert/--key (PEM), or a\n"
        "throwaway CA made at start and a certificate for 127.0.0.1 and localhost it signed;\n"
        "--ca-file writes what a client should trust before the port file. --metering-log appends "
        "one JSON line per finished request; --metering\n"
        "usage (default) trusts the usage object on the wire, count counts forwarded tokens.\n"
        "Client requests are guarded as the mock's are: 408 past --header-timeout (60s) or a\n"
        "body pause over --body-timeout (60s); idle connections close after --idle-timeout\n"
        "(75s). D: 500ms, 30s, 2m.\n",
        f);
}

static void stop_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    event_base_loopbreak(arg);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"mode", required_argument, NULL, 'm'},
        {"listen", required_argument, NULL, 'l'},
        {"upstream", required_argument, NULL, 'u'},
        {"slow-ms", required_argument, NULL, 's'},
        {"metering-log", required_argument, NULL, 'L'},
        {"metering", required_argument, NULL, 'M'},
        {"port-file", required_argument, NULL, 'f'},
        {"header-timeout", required_argument, NULL, 1},
        {"body-timeout", required_argument, NULL, 2},
        {"idle-timeout", required_argument, NULL, 3},
        {"upstream-http", required_argument, NULL, 4},
        {"upstream-ca", required_argument, NULL, 5},
        {"ignore-stream-reset", no_argument, NULL, 6},
        {"tls", no_argument, NULL, 7},
        {"cert", required_argument, NULL, 8},
        {"key", required_argument, NULL, 9},
        {"ca-file", required_argument, NULL, 10},
        {"watch-after-first-byte", no_argument, NULL, 11},
        {"ignore-nonstream-cancel", no_argument, NULL, 12},
        {"upstream-idle-timeout", required_argument, NULL, 13},
        {"fallback-upstream", required_argument, NULL, 14},
        {"fallback-on", required_argument, NULL, 15},
        {"fallback-max-wait-ms", required_argument, NULL, 16},
        {"fallback-ignores-cancel", no_argument, NULL, 17},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct relay_config cfg = {0};
    char host[REFGW_HOST_MAX] = "127.0.0.1";
    char upstream[REFGW_UPSTREAM_MAX], fallback[REFGW_UPSTREAM_MAX];
    const char *port_file = NULL;
    const char *tls_cert = NULL, *tls_key = NULL, *ca_file = NULL;
    int tls = 0;
    int have_mode = 0, have_upstream = 0, have_fallback_opt = 0;
    unsigned long long v;
    int c;
    cfg.slow_ms = REFGW_SLOW_MS_DEFAULT;
    cfg.fallback_max_wait_ms = REFGW_FALLBACK_WAIT_DEFAULT;
    static const int fallback_default[] = {429, 503, 529};
    memcpy(cfg.fallback_on, fallback_default, sizeof fallback_default);
    cfg.nfallback_on = 3;
    opterr = 0; /* our one line per error, not getopt's */
    /* ':' first: an option without its value comes back as ':', not '?' */
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': {
            int m = relay_mode_parse(optarg);
            if (m < 0) {
                fprintf(stderr,
                        "refgw: --mode: expected naive|fixed|slow|retry|strip-headers, "
                        "got '%s'\n",
                        optarg);
                return REFGW_EXIT_USAGE;
            }
            cfg.mode = (enum relay_mode)m;
            have_mode = 1;
            break;
        }
        case 'l':
            if (cliutil_parse_hostport(optarg, host, sizeof host, &cfg.port) != 0) {
                fprintf(stderr, "refgw: --listen: expected HOST:PORT (port 0..65535), got '%s'\n",
                        optarg);
                return REFGW_EXIT_USAGE;
            }
            break;
        case 'u':
            if (base_url("--upstream", optarg, upstream, sizeof upstream) != 0)
                return REFGW_EXIT_USAGE;
            have_upstream = 1;
            break;
        case 14:
            if (base_url("--fallback-upstream", optarg, fallback, sizeof fallback) != 0)
                return REFGW_EXIT_USAGE;
            cfg.fallback_upstream = fallback;
            break;
        case 15:
            if (parse_statuses(optarg, cfg.fallback_on, &cfg.nfallback_on) != 0) {
                fprintf(stderr,
                        "refgw: --fallback-on: expected a comma-separated list of HTTP statuses "
                        "400..599 (at most %d), got '%s'\n",
                        RELAY_MAX_FALLBACK_STATUSES, optarg);
                return REFGW_EXIT_USAGE;
            }
            have_fallback_opt = 1;
            break;
        case 16:
            if (cliutil_parse_u64(optarg, REFGW_SLOW_MS_MAX, &v) != 0) {
                fprintf(stderr, "refgw: --fallback-max-wait-ms: expected 0..%llu, got '%s'\n",
                        REFGW_SLOW_MS_MAX, optarg);
                return REFGW_EXIT_USAGE;
            }
            cfg.fallback_max_wait_ms = (uint32_t)v;
            have_fallback_opt = 1;
            break;
        case 17:
            cfg.fallback_ignores_cancel = 1;
            have_fallback_opt = 1;
            break;
        case 4:
            if (strcmp(optarg, "1.1") == 0) {
                cfg.upstream_http2 = 0;
            } else if (strcmp(optarg, "2") == 0) {
                cfg.upstream_http2 = 1;
            } else {
                fprintf(stderr, "refgw: --upstream-http: expected 1.1|2, got '%s'\n", optarg);
                return REFGW_EXIT_USAGE;
            }
            break;
        case 5:
            cfg.upstream_ca = optarg;
            break;
        case 6:
            cfg.ignore_stream_reset = 1;
            break;
        case 7:
            tls = 1;
            break;
        case 11:
            cfg.watch_after_first_byte = 1;
            break;
        case 12:
            cfg.ignore_nonstream_cancel = 1;
            break;
        case 8:
            tls_cert = optarg;
            break;
        case 9:
            tls_key = optarg;
            break;
        case 10:
            ca_file = optarg;
            break;
        case 's':
            if (cliutil_parse_u64(optarg, REFGW_SLOW_MS_MAX, &v) != 0) {
                fprintf(stderr, "refgw: --slow-ms: expected 0..%llu, got '%s'\n", REFGW_SLOW_MS_MAX,
                        optarg);
                return REFGW_EXIT_USAGE;
            }
            cfg.slow_ms = (uint32_t)v;
            break;
        case 'L':
            cfg.metering_log = optarg;
            break;
        case 'M':
            if (strcmp(optarg, "usage") == 0) {
                cfg.metering = RELAY_METER_USAGE;
            } else if (strcmp(optarg, "count") == 0) {
                cfg.metering = RELAY_METER_COUNT;
            } else {
                fprintf(stderr, "refgw: --metering: expected usage|count, got '%s'\n", optarg);
                return REFGW_EXIT_USAGE;
            }
            break;
        case 'f':
            port_file = optarg;
            break;
        case 1:
        case 2:
        case 3: {
            unsigned ms;
            static const char *const names[] = {"", "header", "body", "idle"};
            if (httpguard_parse_ms(optarg, &ms) != 0 || ms == 0) {
                fprintf(stderr,
                        "refgw: --%s-timeout: expected a duration such as 500ms, 30s or "
                        "2m, got '%s'\n",
                        names[c], optarg);
                return REFGW_EXIT_USAGE;
            }
            *(c == 1   ? &cfg.header_timeout_ms
              : c == 2 ? &cfg.body_timeout_ms
                       : &cfg.idle_timeout_ms) = ms;
            break;
        }
        case 13: {
            unsigned ms = 0;
            if (strcmp(optarg, "0") != 0 && httpguard_parse_ms(optarg, &ms) != 0) {
                fprintf(stderr,
                        "refgw: --upstream-idle-timeout: expected a duration such as "
                        "500ms, 30s or 2m (0: none), got '%s'\n",
                        optarg);
                return REFGW_EXIT_USAGE;
            }
            cfg.upstream_idle_ms = ms;
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("refgw %s (revision %s)\n", version_number(), version_revision());
            return 0;
        case ':':
            fprintf(stderr, "refgw: %s: missing its value (see --help)\n", argv[optind - 1]);
            return REFGW_EXIT_USAGE;
        default:
            if (optopt && strncmp(argv[optind - 1], "--", 2) != 0)
                fprintf(stderr, "refgw: -%c: unknown option (see --help)\n", optopt);
            else
                fprintf(stderr, "refgw: %s: unknown option (see --help)\n", argv[optind - 1]);
            return REFGW_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "refgw: %s: unexpected argument (see --help)\n", argv[optind]);
        return REFGW_EXIT_USAGE;
    }
    if (!have_mode) {
        fprintf(stderr, "refgw: --mode: required (naive|fixed|slow|retry|strip-headers)\n");
        return REFGW_EXIT_USAGE;
    }
    if (!have_upstream) {
        fprintf(stderr, "refgw: --upstream: required (http[s]://HOST:PORT)\n");
        return REFGW_EXIT_USAGE;
    }
    /* each leak is a fault of a gateway that cancels: naive has nothing to leak */
    const struct {
        int set;
        const char *flag;
    } leaks[] = {{cfg.ignore_stream_reset, "--ignore-stream-reset"},
                 {cfg.watch_after_first_byte, "--watch-after-first-byte"},
                 {cfg.ignore_nonstream_cancel, "--ignore-nonstream-cancel"}};
    for (size_t i = 0; i < sizeof leaks / sizeof leaks[0]; i++) {
        if (leaks[i].set && cfg.mode != RELAY_FIXED && cfg.mode != RELAY_SLOW &&
            cfg.mode != RELAY_RETRY) {
            fprintf(stderr, "refgw: %s: only with --mode fixed, slow or retry, not %s\n",
                    leaks[i].flag, relay_mode_name(cfg.mode));
            return REFGW_EXIT_USAGE;
        }
    }
    if (have_fallback_opt && cfg.fallback_upstream == NULL) {
        fprintf(stderr, "refgw: --fallback-on, --fallback-max-wait-ms and "
                        "--fallback-ignores-cancel need --fallback-upstream\n");
        return REFGW_EXIT_USAGE;
    }
    if (cfg.fallback_upstream && cfg.upstream_http2) {
        fprintf(stderr,
                "refgw: --fallback-upstream: HTTP/1.1 upstreams only (no --upstream-http 2)\n");
        return REFGW_EXIT_USAGE;
    }
    if (cfg.fallback_ignores_cancel && cfg.mode != RELAY_FIXED && cfg.mode != RELAY_SLOW) {
        fprintf(stderr,
                "refgw: --fallback-ignores-cancel: only with --mode fixed or slow, not %s\n",
                relay_mode_name(cfg.mode));
        return REFGW_EXIT_USAGE;
    }
    int https = strncmp(upstream, "https://", 8) == 0;
    if (cfg.upstream_http2 && !https) {
        fprintf(stderr, "refgw: --upstream-http: 2 needs an https:// upstream (HTTP/2 by ALPN)\n");
        return REFGW_EXIT_USAGE;
    }
    if (cfg.upstream_ca && !https) {
        fprintf(stderr, "refgw: --upstream-ca: only for an https:// upstream\n");
        return REFGW_EXIT_USAGE;
    }
    if (!tls && (tls_cert || tls_key || ca_file)) {
        fprintf(stderr, "refgw: --cert, --key and --ca-file need --tls\n");
        return REFGW_EXIT_USAGE;
    }
    if ((tls_cert == NULL) != (tls_key == NULL)) {
        fprintf(stderr, "refgw: --cert and --key go together\n");
        return REFGW_EXIT_USAGE;
    }
    cfg.host = host;
    cfg.upstream = upstream;
    cliutil_raise_nofile(); /* best effort: hundreds of streams hold two fds each */
    signal(SIGPIPE, SIG_IGN);
    struct event_base *base = cliutil_new_base();
    if (base == NULL) {
        fprintf(stderr, "refgw: event_base_new failed\n");
        return REFGW_EXIT_ENV;
    }
    char err[512];
    struct tls_server *ts = NULL;
    if (tls) {
        ts = tls_server_new(tls_cert, tls_key, err, sizeof err);
        if (ts == NULL || (ca_file && tls_server_write_ca(ts, ca_file, err, sizeof err) != 0)) {
            fprintf(stderr, "refgw: %s\n", err);
            tls_server_free(ts);
            event_base_free(base);
            return REFGW_EXIT_ENV;
        }
        cfg.tls = ts;
    }
    struct relay *gw = relay_new(base, &cfg, err, sizeof err);
    if (gw == NULL) {
        fprintf(stderr, "refgw: %s\n", err);
        tls_server_free(ts);
        event_base_free(base);
        return REFGW_EXIT_ENV;
    }
    struct event *sigint = evsignal_new(base, SIGINT, stop_cb, base);
    struct event *sigterm = evsignal_new(base, SIGTERM, stop_cb, base);
    if (sigint == NULL || sigterm == NULL || evsignal_add(sigint, NULL) != 0 ||
        evsignal_add(sigterm, NULL) != 0) {
        fprintf(stderr, "refgw: cannot watch SIGINT/SIGTERM\n");
        if (sigint)
            event_free(sigint);
        if (sigterm)
            event_free(sigterm);
        relay_free(gw);
        tls_server_free(ts);
        event_base_free(base);
        return REFGW_EXIT_ENV;
    }
    int v6 = strchr(host, ':') != NULL;
    printf("%s://%s%s%s:%d\n", ts ? "https" : "http", v6 ? "[" : "", host, v6 ? "]" : "",
           relay_port(gw));
    fflush(stdout);
    int rc = 0;
    if (port_file && cliutil_write_port_file(port_file, relay_port(gw)) != 0) {
        fprintf(stderr, "refgw: cannot write port file %s: %s\n", port_file, strerror(errno));
        rc = REFGW_EXIT_ENV;
    } else {
        event_base_dispatch(base);
    }
    struct relay_stats st = relay_stats(gw);
    fprintf(stderr,
            "refgw: %s: %llu requests, %llu upstream attempts, %llu client closes, "
            "%llu upstream errors, %llu metering errors, %llu lines not metered, "
            "%llu HTTP/2 connections, %llu deadline cuts\n",
            relay_mode_name(cfg.mode), (unsigned long long)st.requests,
            (unsigned long long)st.upstream_attempts, (unsigned long long)st.client_closes,
            (unsigned long long)st.upstream_errors, (unsigned long long)st.metering_errors,
            (unsigned long long)st.meter_skipped, (unsigned long long)st.h2_connections,
            (unsigned long long)st.deadline_cuts);
    event_free(sigint);
    event_free(sigterm);
    relay_free(gw);
    tls_server_free(ts);
    event_base_free(base);
    return rc;
}
