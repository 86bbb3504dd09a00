/* tailgate: one binary, one subcommand per component. Only this file prints or exits. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "cli/cli.h"
#include "common/adminguard.h"
#include "common/cliutil.h"
#include "common/httpguard.h"
#include "common/version.h"
#include "mockprov/profile.h"
#include "mockprov/server.h"
#include "common/tls.h"

static void usage(FILE *f)
{
    fputs("usage: tailgate <command> [options]\n"
          "\n"
          "commands:\n"
          "  run        drive a gateway through chaos against the mock; check release gates\n"
          "  scenarios  validate and list scenario and suite files\n"
          "  mock       run the mock LLM provider (OpenAI Chat/Responses, Anthropic Messages)\n"
          "  profiles   list the vendor profile presets\n"
          "  chaos      proxy: a Toxiproxy-compatible fault proxy; client: misbehaving users\n"
          "  report     redraw a run folder's charts and index.html from its results.json\n"
          "  compare    compare a baseline run with a candidate; exit 1 when a gate regressed\n"
          "  merge      join the run folders of a sharded run into one run folder\n"
          "  version    print the version (also --version)\n"
          "\n"
          "'tailgate <command> --help' (or 'tailgate help <command>') describes a command's\n"
          "options. A usage error exits 2.\n",
          f);
}

static void mock_usage(FILE *f)
{
    fputs("usage: tailgate mock [--port N|0] [--host ADDR] [--port-file PATH] [--profile NAME]\n"
          "                     [--schedule SPEC] [--seed N] [--ledger-file PATH]\n"
          "                     [--ledger-max N] [--admin-token TOKEN] [--admin-any]\n"
          "                     [--admin-host NAME]... [--max-body BYTES] [--sndbuf BYTES]\n"
          "                     [--max-pending BYTES] [--header-timeout D] [--body-timeout D]\n"
          "                     [--idle-timeout D] [--tls [--cert FILE --key FILE]]\n"
          "                     [--ca-file PATH] [--no-h2] [--max-burst N]\n"
          "\n"
          "Prints its base URL on the first line of stdout. SPEC is '0s:NAME,30s:NAME2'.\n"
          "The port serves HTTP/1.1 and HTTP/2 (prior knowledge in cleartext, ALPN h2 over\n"
          "TLS); --no-h2 serves HTTP/1.1 only, as a vendor without HTTP/2 would.\n"
          "--tls serves HTTPS (ALPN h2, http/1.1): with a certificate and key from --cert/--key\n"
          "(PEM), or else a throwaway CA made at start and a certificate for 127.0.0.1 and\n"
          "localhost it signed; --ca-file writes what a client should trust (that CA, or the\n"
          "--cert certificate) as PEM before the port file.\n"
          "The admin API (/_tailgate/, /metrics) answers loopback peers (--admin-any: any) and\n"
          "refuses what a web page could send: a Host that is not a loopback name or address, a\n"
          "foreign Origin, a POST without Content-Type application/json. --admin-host NAME\n"
          "(repeatable) adds a Host name it answers to; it needs --admin-token.\n"
          "A request head must arrive within --header-timeout of its first byte (60s) and a\n"
          "body must not pause longer than --body-timeout (60s), or the answer is 408; a\n"
          "connection with no request in progress closes after --idle-timeout (75s). What a\n"
          "client sends while its reply streams is held up to --max-pending bytes (262144),\n"
          "then dropped and the connection closed after that reply. D: 500ms, 30s, 2m.\n"
          "A mock that falls behind slows its streams down as a loaded vendor does: a late\n"
          "stream sends at most --max-burst tokens in a row (2, 1..1024) and its timetable\n"
          "slides; /_tailgate/health and /metrics say how late it ran (token lag).\n"
          "--debug-tick-burn-ms N (tests only) burns N ms of CPU per tick of the token\n"
          "timers, so the mock falls behind on purpose.\n",
          f);
}

static void log_line(const char *line, void *arg)
{
    (void)arg;
    fprintf(stderr, "tailgate mock: %s\n", line);
}

static void stop_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    event_base_loopbreak(arg);
}

static int cmd_mock(int argc, char **argv)
{
    static const struct option opts[] = {
        {"port", required_argument, NULL, 'p'},
        {"host", required_argument, NULL, 'H'},
        {"port-file", required_argument, NULL, 'f'},
        {"profile", required_argument, NULL, 'P'},
        {"schedule", required_argument, NULL, 's'},
        {"seed", required_argument, NULL, 'S'},
        {"ledger-file", required_argument, NULL, 'l'},
        {"ledger-max", required_argument, NULL, 'L'},
        {"admin-token", required_argument, NULL, 't'},
        {"admin-any", no_argument, NULL, 'a'},
        {"admin-host", required_argument, NULL, 'A'},
        {"max-body", required_argument, NULL, 'b'},
        {"sndbuf", required_argument, NULL, 'B'},
        {"header-timeout", required_argument, NULL, 1},
        {"body-timeout", required_argument, NULL, 2},
        {"idle-timeout", required_argument, NULL, 3},
        {"max-pending", required_argument, NULL, 4},
        {"tls", no_argument, NULL, 5},
        {"cert", required_argument, NULL, 6},
        {"key", required_argument, NULL, 7},
        {"ca-file", required_argument, NULL, 8},
        {"no-h2", no_argument, NULL, 9},
        {"max-burst", required_argument, NULL, 10},
        {"debug-tick-burn-ms", required_argument, NULL, 11},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct mock_config cfg = {0};
    const char *admin_hosts[ADMINGUARD_MAX_HOSTS];
    const char *port_file = NULL;
    int tls = 0;
    const char *tls_cert = NULL, *tls_key = NULL, *ca_file = NULL;
    unsigned long long v;
    int c;
    optind = 1;
    opterr = 0; /* one line per error, ours */
    while ((c = getopt_long(argc, argv, CLI_OPTSTRING, opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (cliutil_parse_u64(optarg, 65535, &v) != 0) {
                return cli_usage_error("mock", "--port: expected 0..65535, got '%s'", optarg);
            }
            cfg.port = (int)v;
            break;
        case 'H':
            cfg.host = optarg;
            break;
        case 'f':
            port_file = optarg;
            break;
        case 'P':
            if (profile_find(optarg) == NULL) {
                return cli_usage_error("mock",
                                       "--profile: unknown profile '%s' ('tailgate profiles' "
                                       "lists them)",
                                       optarg);
            }
            cfg.profile = optarg;
            break;
        case 's': {
            struct schedule s;
            char err[256];
            if (schedule_parse(optarg, &s, err, sizeof err) != 0) {
                return cli_usage_error("mock", "--schedule: %s", err);
            }
            cfg.schedule = optarg;
            break;
        }
        case 'S':
            if (cliutil_parse_u64(optarg, ~0ull, &v) != 0) {
                return cli_usage_error("mock", "--seed: expected an unsigned integer");
            }
            cfg.seed = v;
            break;
        case 'l':
            cfg.ledger_file = optarg;
            break;
        case 'L':
            if (cliutil_parse_u64(optarg, 100000000ull, &v) != 0 || v == 0) {
                return cli_usage_error("mock", "--ledger-max: expected 1..100000000");
            }
            cfg.ledger_max = (size_t)v;
            break;
        case 't':
            if (optarg[0] == '\0') {
                return cli_usage_error("mock", "--admin-token: must not be empty");
            }
            cfg.admin_token = optarg;
            break;
        case 'a':
            cfg.admin_any = 1;
            break;
        case 'A':
            if (!adminguard_valid_name(optarg)) {
                return cli_usage_error("mock",
                                       "--admin-host: '%s' is not a host name or "
                                       "address (no scheme, no port)",
                                       optarg);
            }
            if (cfg.admin_nhosts == ADMINGUARD_MAX_HOSTS) {
                return cli_usage_error("mock", "--admin-host: at most %d", ADMINGUARD_MAX_HOSTS);
            }
            admin_hosts[cfg.admin_nhosts++] = optarg;
            cfg.admin_hosts = admin_hosts;
            break;
        case 'b':
            if (cliutil_parse_u64(optarg, 64ull * 1024 * 1024, &v) != 0 || v == 0) {
                return cli_usage_error("mock", "--max-body: expected 1..67108864 bytes");
            }
            cfg.max_body = (size_t)v;
            break;
        case 'B':
            if (cliutil_parse_u64(optarg, 64ull * 1024 * 1024, &v) != 0) {
                return cli_usage_error("mock", "--sndbuf: expected 0..67108864 bytes");
            }
            cfg.sndbuf = (int)v;
            break;
        case 1:
        case 2:
        case 3: {
            unsigned ms;
            static const char *const names[] = {"", "header", "body", "idle"};
            if (httpguard_parse_ms(optarg, &ms) != 0 || ms == 0) {
                return cli_usage_error("mock",
                                       "--%s-timeout: expected a duration such as 500ms, "
                                       "30s or 2m, got '%s'",
                                       names[c], optarg);
            }
            *(c == 1 ? &cfg.header_timeout_ms : c == 2 ? &cfg.body_timeout_ms
                                                       : &cfg.idle_timeout_ms) = ms;
            break;
        }
        case 4:
            if (cliutil_parse_u64(optarg, 64ull * 1024 * 1024, &v) != 0 || v < 1024) {
                return cli_usage_error("mock", "--max-pending: expected 1024..67108864 bytes");
            }
            cfg.max_pending = (size_t)v;
            break;
        case 5:
            tls = 1;
            break;
        case 6:
            tls_cert = optarg;
            break;
        case 7:
            tls_key = optarg;
            break;
        case 8:
            ca_file = optarg;
            break;
        case 9:
            cfg.no_h2 = 1;
            break;
        case 10:
            if (cliutil_parse_u64(optarg, MOCK_MAX_BURST_LIMIT, &v) != 0 || v == 0) {
                return cli_usage_error("mock", "--max-burst: expected 1..%d tokens, got '%s'",
                                       MOCK_MAX_BURST_LIMIT, optarg);
            }
            cfg.max_burst = (unsigned)v;
            break;
        case 11:
            if (cliutil_parse_u64(optarg, 10000, &v) != 0) {
                return cli_usage_error(
                    "mock", "--debug-tick-burn-ms: expected 0..10000 ms, got '%s'", optarg);
            }
            cfg.debug_tick_burn_ms = (unsigned)v;
            break;
        case 'h':
            mock_usage(stdout);
            return 0;
        default:
            return cli_bad_option("mock", c, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error("mock", "unexpected argument '%s'", argv[optind]);
    if (cfg.admin_nhosts > 0 && cfg.admin_token == NULL) {
        return cli_usage_error("mock", "--admin-host needs --admin-token (an admin API others "
                                       "can reach must ask for a token)");
    }
    if (!tls && (tls_cert || tls_key || ca_file))
        return cli_usage_error("mock", "--cert, --key and --ca-file need --tls");
    if ((tls_cert == NULL) != (tls_key == NULL))
        return cli_usage_error("mock", "--cert and --key go together");
    cliutil_raise_nofile(); /* best effort: thousands of streams need thousands of fds */
    signal(SIGPIPE, SIG_IGN);
    struct event_base *base = cliutil_new_base();
    if (base == NULL) {
        fprintf(stderr, "tailgate mock: event_base_new failed\n");
        return EXIT_ENV;
    }
    cfg.log = log_line;
    char err[512];
    struct tls_server *ts = NULL;
    if (tls) {
        ts = tls_server_new(tls_cert, tls_key, err, sizeof err);
        if (ts == NULL || (ca_file && tls_server_write_ca(ts, ca_file, err, sizeof err) != 0)) {
            fprintf(stderr, "tailgate mock: %s\n", err);
            tls_server_free(ts);
            event_base_free(base);
            return EXIT_ENV;
        }
        cfg.tls = ts;
    }
    struct mock *m = mock_new(base, &cfg, err, sizeof err);
    if (m == NULL) {
        fprintf(stderr, "tailgate mock: %s\n", err);
        tls_server_free(ts);
        event_base_free(base);
        return EXIT_ENV;
    }
    struct event *sigint = evsignal_new(base, SIGINT, stop_cb, base);
    struct event *sigterm = evsignal_new(base, SIGTERM, stop_cb, base);
    evsignal_add(sigint, NULL);
    evsignal_add(sigterm, NULL);
    printf("%s://%s:%d\n", tls ? "https" : "http", cfg.host ? cfg.host : "127.0.0.1", mock_port(m));
    fflush(stdout);
    int rc = 0;
    if (port_file && cliutil_write_port_file(port_file, mock_port(m)) != 0) {
        fprintf(stderr, "tailgate mock: cannot write port file %s: %s\n", port_file,
                strerror(errno));
        rc = EXIT_ENV;
    } else {
        event_base_dispatch(base);
    }
    event_free(sigint);
    event_free(sigterm);
    mock_free(m);
    tls_server_free(ts);
    event_base_free(base);
    return rc;
}

static void profiles_usage(FILE *f)
{
    fputs("usage: tailgate profiles\n"
          "\n"
          "Lists the vendor profile presets the mock takes (--profile NAME, a scenario's\n"
          "\"profile\"): what each does when the client disconnects, how it bills and what usage\n"
          "it reports.\n",
          f);
}

static int cmd_profiles(int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, CLI_OPTSTRING, opts, NULL)) != -1) {
        if (c != 'h')
            return cli_bad_option("profiles", c, argv);
        profiles_usage(stdout);
        return 0;
    }
    if (optind < argc)
        return cli_usage_error("profiles", "unexpected argument '%s'", argv[optind]);
    for (size_t i = 0; i < profile_count(); i++) {
        const struct profile *p = profile_at(i);
        char lag[32];
        if (p->on_disconnect == PROFILE_CONTINUE)
            snprintf(lag, sizeof lag, "continue");
        else if (p->stop_lag_ms)
            snprintf(lag, sizeof lag, "stop+%ums", p->stop_lag_ms);
        else if (p->stop_lag_tokens)
            snprintf(lag, sizeof lag, "stop+%utok", p->stop_lag_tokens);
        else
            snprintf(lag, sizeof lag, "stop"); /* at once: no token after the close */
        printf("%-17s disconnect=%-10s bill=%-9s report=%-7s reasoning=%-13s  %s\n", p->name, lag,
               profile_bill_name(p->bill), profile_report_name(p->report),
               profile_reasoning_bill_name(p->reasoning_bill), p->summary);
    }
    return 0;
}

static int is_help(const char *s)
{
    return strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0 || strcmp(s, "help") == 0;
}

static void chaos_usage(FILE *f)
{
    fputs(
        "usage: tailgate chaos proxy [options]   a Toxiproxy-compatible fault proxy\n"
        "       tailgate chaos client [options]  misbehaving users against a gateway or the mock\n"
        "\n"
        "'tailgate chaos proxy --help' and 'tailgate chaos client --help' describe the options.\n",
        f);
}

static int cmd_chaos(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("chaos", "name a subcommand, proxy or client");
    const char *sub = argv[1];
    if (strcmp(sub, "proxy") == 0)
        return cli_chaos_proxy(argc - 1, argv + 1);
    if (strcmp(sub, "client") == 0)
        return cli_chaos_client(argc - 1, argv + 1);
    if (is_help(sub)) {
        chaos_usage(stdout);
        return 0;
    }
    if (sub[0] == '-')
        return cli_usage_error("chaos", "unknown option '%s'", sub);
    return cli_usage_error("chaos", "unknown subcommand '%s' (proxy or client)", sub);
}

static int cmd_version(int argc, char **argv)
{
    if (argc == 2 && is_help(argv[1])) {
        fputs("usage: tailgate version\n       tailgate --version\n\n"
              "Prints 'tailgate VERSION (revision REV)': VERSION from the source's VERSION file,\n"
              "REV the git revision it was built from ('-dirty' with local changes).\n",
              stdout);
        return 0;
    }
    if (argc > 1)
        return cli_usage_error("", "%s takes no argument, got '%s'", argv[0], argv[1]);
    printf("tailgate %s (revision %s)\n", version_number(), version_revision());
    return 0;
}

static int dispatch(int argc, char **argv);

/* `tailgate help CMD [SUB]` is `tailgate CMD [SUB] --help`, as git and go have it. */
static int cmd_help(int argc, char **argv)
{
    if (argc < 2) {
        usage(stdout);
        return 0;
    }
    char *args[8];
    if (argc > 4)
        return cli_usage_error("", "help takes a command (and a subcommand), got '%s'", argv[4]);
    int n = 0;
    for (int i = 1; i < argc; i++)
        args[n++] = argv[i];
    args[n++] = "--help";
    args[n] = NULL;
    return dispatch(n, args);
}

/* argv[0] is the command. */
static int dispatch(int argc, char **argv)
{
    const char *cmd = argv[0];
    if (strcmp(cmd, "mock") == 0)
        return cmd_mock(argc, argv);
    if (strcmp(cmd, "profiles") == 0)
        return cmd_profiles(argc, argv);
    if (strcmp(cmd, "run") == 0)
        return cli_run(argc, argv);
    if (strcmp(cmd, "scenarios") == 0)
        return cli_scenarios(argc, argv);
    if (strcmp(cmd, "report") == 0)
        return cli_report(argc, argv);
    if (strcmp(cmd, "compare") == 0)
        return cli_compare(argc, argv);
    if (strcmp(cmd, "merge") == 0)
        return cli_merge(argc, argv);
    if (strcmp(cmd, "chaos") == 0)
        return cmd_chaos(argc, argv);
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0)
        return cmd_version(argc, argv);
    if (strcmp(cmd, "help") == 0)
        return cmd_help(argc, argv);
    if (is_help(cmd)) {
        usage(stdout);
        return 0;
    }
    if (cmd[0] == '-')
        return cli_usage_error("", "unknown option '%s'", cmd);
    return cli_usage_error("", "unknown command '%s'", cmd);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("", "name a command (run, scenarios, mock, profiles, chaos, "
                                   "report, compare, merge)");
    return dispatch(argc - 1, argv + 1);
}
