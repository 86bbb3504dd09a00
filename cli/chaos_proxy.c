/* `tailgate chaos proxy`: one fault proxy and/or the Toxiproxy-compatible control API. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "chaos/proxy.h"
#include "chaos/proxyapi.h"
#include "chaos/toxic.h"
#include "cli.h"
#include "common/adminguard.h"
#include "common/cliutil.h"
#include "common/httpguard.h"
#include "common/jparse.h"

#define CLI_MAX_TOXICS PROXY_MAX_TOXICS

static void usage(FILE *f)
{
    fputs("usage: tailgate chaos proxy --listen ADDR --upstream ADDR [--api ADDR] [--name N]\n"
          "                            [--toxic JSON]... [--seed N] [--port-file PATH]\n"
          "                            [--api-port-file PATH] [--admin-token TOKEN]\n"
          "                            [--admin-host NAME]... [--header-timeout D]\n"
          "                            [--body-timeout D] [--idle-timeout D]\n"
          "       tailgate chaos proxy --api ADDR [--seed N] [--api-port-file PATH]\n"
          "                            [--admin-token TOKEN] [--admin-host NAME]...\n"
          "\n"
          "A TCP proxy with Toxiproxy's toxics (latency, bandwidth, slicer, limit_data,\n"
          "reset_peer, timeout, slow_close) plus blackhole and stall, and Toxiproxy's HTTP API.\n"
          "ADDR is host:port (port 0 picks a free one). --toxic takes Toxiproxy's JSON, e.g.\n"
          "  '{\"type\":\"latency\",\"stream\":\"downstream\",\"attributes\":{\"latency\":100}}'\n"
          "Prints the listen address, then the API URL, one per line on stdout. --api alone\n"
          "runs only the API, like toxiproxy-server. SIGINT/SIGTERM stop it.\n"
          "The API refuses what a web page could send: a Host that is not a loopback name or\n"
          "address, a foreign Origin, a POST without Content-Type application/json.\n"
          "--admin-host NAME (repeatable) adds a Host name it answers to; it needs\n"
          "--admin-token, which every API call must then send as 'Authorization: Bearer'.\n"
          "The API's requests are guarded as the mock's: 408 past --header-timeout (60s) or a\n"
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

static int usage_error(const char *flag, const char *msg, const char *arg)
{
    return cli_usage_error("chaos proxy", "%s: %s%s%s%s", flag, msg, arg ? " '" : "",
                           arg ? arg : "", arg ? "'" : "");
}

int cli_chaos_proxy(int argc, char **argv)
{
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"upstream", required_argument, NULL, 'u'},
        {"api", required_argument, NULL, 'a'},
        {"name", required_argument, NULL, 'n'},
        {"toxic", required_argument, NULL, 't'},
        {"seed", required_argument, NULL, 's'},
        {"port-file", required_argument, NULL, 'f'},
        {"api-port-file", required_argument, NULL, 'F'},
        {"admin-token", required_argument, NULL, 'T'},
        {"admin-host", required_argument, NULL, 'H'},
        {"header-timeout", required_argument, NULL, 1},
        {"body-timeout", required_argument, NULL, 2},
        {"idle-timeout", required_argument, NULL, 3},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *listen = NULL, *upstream = NULL, *api_addr = NULL, *name = "proxy";
    unsigned api_timeouts[3] = {0, 0, 0};
    const char *port_file = NULL, *api_port_file = NULL, *admin_token = NULL;
    const char *admin_hosts[ADMINGUARD_MAX_HOSTS];
    size_t nadmin_hosts = 0;
    unsigned long long seed = 1;
    struct toxic toxics[CLI_MAX_TOXICS];
    size_t ntoxics = 0;
    char err[256];
    int c;
    optind = 1;
    opterr = 0; /* our own one-line messages name the flag */
    while ((c = getopt_long(argc, argv, CLI_OPTSTRING, opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            listen = optarg;
            break;
        case 'u':
            upstream = optarg;
            break;
        case 1:
        case 2:
        case 3: {
            static const char *const flags[] = {"", "--header-timeout", "--body-timeout",
                                                "--idle-timeout"};
            if (httpguard_parse_ms(optarg, &api_timeouts[c - 1]) != 0 || api_timeouts[c - 1] == 0)
                return usage_error(flags[c], "expected a duration such as 500ms, 30s or 2m, got",
                                   optarg);
            break;
        }
        case 'a':
            api_addr = optarg;
            break;
        case 'n':
            name = optarg;
            break;
        case 'f':
            port_file = optarg;
            break;
        case 'F':
            api_port_file = optarg;
            break;
        case 'T':
            if (optarg[0] == '\0')
                return usage_error("--admin-token", "must not be empty", NULL);
            admin_token = optarg;
            break;
        case 'H':
            if (!adminguard_valid_name(optarg))
                return usage_error("--admin-host", "not a host name or address (no scheme, no "
                                                   "port):", optarg);
            if (nadmin_hosts == ADMINGUARD_MAX_HOSTS)
                return cli_usage_error("chaos proxy", "--admin-host: at most %d",
                                       ADMINGUARD_MAX_HOSTS);
            admin_hosts[nadmin_hosts++] = optarg;
            break;
        case 's':
            if (cliutil_parse_u64(optarg, ~0ull, &seed) != 0)
                return usage_error("--seed", "expected an unsigned integer, got", optarg);
            break;
        case 't': {
            if (ntoxics >= CLI_MAX_TOXICS)
                return cli_usage_error("chaos proxy", "--toxic: at most %d", CLI_MAX_TOXICS);
            struct jparse_error je;
            cJSON *j = jparse_text(optarg, strlen(optarg), &je);
            if (j == NULL) {
                char where[256], msg[300];
                jparse_message(&je, NULL, where, sizeof where);
                snprintf(msg, sizeof msg, "not valid JSON: %s", where);
                return usage_error("--toxic", msg, NULL);
            }
            int rc = toxic_parse(j, &toxics[ntoxics], err, sizeof err);
            cJSON_Delete(j);
            if (rc != 0)
                return usage_error("--toxic", err, NULL);
            for (size_t i = 0; i < ntoxics; i++)
                if (strcmp(toxics[i].name, toxics[ntoxics].name) == 0)
                    return usage_error("--toxic", "two toxics named", toxics[i].name);
            ntoxics++;
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        default:
            return cli_bad_option("chaos proxy", c, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error("chaos proxy", "unexpected argument '%s'", argv[optind]);
    if (listen && upstream == NULL)
        return usage_error("--upstream", "required with --listen", NULL);
    if (upstream && listen == NULL)
        return usage_error("--listen", "required with --upstream", NULL);
    if (listen == NULL && api_addr == NULL)
        return usage_error("--listen", "give --listen and --upstream, or --api (or both)", NULL);
    if (listen == NULL && (ntoxics || port_file))
        return usage_error(ntoxics ? "--toxic" : "--port-file", "needs --listen and --upstream",
                           NULL);
    if (api_addr == NULL && api_port_file)
        return usage_error("--api-port-file", "needs --api", NULL);
    if (api_addr == NULL && (admin_token || nadmin_hosts))
        return usage_error(admin_token ? "--admin-token" : "--admin-host", "needs --api", NULL);
    if (nadmin_hosts && admin_token == NULL)
        return usage_error("--admin-host", "needs --admin-token (an API others can reach must "
                                           "ask for a token)", NULL);

    signal(SIGPIPE, SIG_IGN);
    struct event_base *base = cliutil_new_base();
    if (base == NULL) {
        fprintf(stderr, "tailgate chaos proxy: event_base_new failed\n");
        return EXIT_ENV;
    }
    int rc = 0;
    struct proxy *p = NULL;
    struct proxyapi *api = NULL;
    struct event *sigint = NULL, *sigterm = NULL;
    if (listen) {
        p = proxy_new(base, name, listen, upstream, err, sizeof err);
        if (p == NULL) {
            /* a bad address or name is the caller's; a port taken is the environment's */
            int bad = strncmp(err, "name:", 5) == 0 || strncmp(err, "listen:", 7) == 0 ||
                      strncmp(err, "upstream:", 9) == 0;
            if (bad)
                cli_usage_error("chaos proxy", "--%s", err);
            else
                fprintf(stderr, "tailgate chaos proxy: %s\n", err);
            rc = bad ? EXIT_USAGE : EXIT_ENV;
            goto done;
        }
        proxy_set_seed(p, seed);
        for (size_t i = 0; i < ntoxics; i++) {
            if (proxy_add_toxic(p, &toxics[i], err, sizeof err) != 0) {
                rc = cli_usage_error("chaos proxy", "--toxic: %s", err);
                goto done;
            }
        }
    }
    if (api_addr) {
        api = proxyapi_new_timeouts(base, api_addr, seed, api_timeouts, err, sizeof err);
        if (api == NULL) {
            fprintf(stderr, "tailgate chaos proxy: --api: %s\n", err);
            rc = EXIT_ENV;
            goto done;
        }
        if (proxyapi_set_admin(api, admin_token, admin_hosts, nadmin_hosts, err, sizeof err) !=
            0) {
            fprintf(stderr, "tailgate chaos proxy: %s\n", err); /* checked above: not reached */
            rc = EXIT_USAGE;
            goto done;
        }
        if (p) {
            if (proxyapi_adopt(api, p, err, sizeof err) != 0) {
                fprintf(stderr, "tailgate chaos proxy: %s\n", err);
                proxy_free(p);
                p = NULL;
                rc = EXIT_ENV;
                goto done;
            }
            /* the API owns it now */
        }
    }
    sigint = evsignal_new(base, SIGINT, stop_cb, base);
    sigterm = evsignal_new(base, SIGTERM, stop_cb, base);
    if (sigint == NULL || sigterm == NULL || evsignal_add(sigint, NULL) != 0 ||
        evsignal_add(sigterm, NULL) != 0) {
        fprintf(stderr, "tailgate chaos proxy: cannot install signal handlers\n");
        rc = EXIT_ENV;
        goto done;
    }
    if (p)
        printf("%s\n", proxy_listen(p));
    if (api) {
        /* the URL a client on this host would use: the host asked for, any-address as loopback */
        char host[128] = "127.0.0.1";
        size_t hl = (size_t)(strrchr(api_addr, ':') - api_addr);
        if (hl > 0 && hl < sizeof host && strncmp(api_addr, "0.0.0.0:", 8) != 0 &&
            strncmp(api_addr, "[::]:", 5) != 0) {
            memcpy(host, api_addr, hl);
            host[hl] = '\0';
        }
        printf("http://%s:%d\n", host, proxyapi_port(api));
    }
    fflush(stdout);
    if (p && port_file && cliutil_write_port_file(port_file, proxy_listen_port(p)) != 0) {
        fprintf(stderr, "tailgate chaos proxy: cannot write port file %s: %s\n", port_file,
                strerror(errno));
        rc = EXIT_ENV;
        goto done;
    }
    if (api && api_port_file && cliutil_write_port_file(api_port_file, proxyapi_port(api)) != 0) {
        fprintf(stderr, "tailgate chaos proxy: cannot write port file %s: %s\n", api_port_file,
                strerror(errno));
        rc = EXIT_ENV;
        goto done;
    }
    event_base_dispatch(base);
done:
    if (sigint)
        event_free(sigint);
    if (sigterm)
        event_free(sigterm);
    if (api)
        proxyapi_free(api); /* and the proxy it adopted */
    else
        proxy_free(p);
    event_base_free(base);
    return rc;
}
