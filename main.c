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
#include "mockprov/profile.h"
#include "mockprov/server.h"

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
          "\n"
          "'tailgate <command> --help' describes a command's options.\n",
          f);
}

static void mock_usage(FILE *f)
{
    fputs("usage: tailgate mock [--port N|0] [--host ADDR] [--port-file PATH] [--profile NAME]\n"
          "                     [--schedule SPEC] [--seed N] [--ledger-file PATH]\n"
          "                     [--ledger-max N] [--admin-token TOKEN] [--admin-any]\n"
          "                     [--admin-host NAME]... [--max-body BYTES] [--sndbuf BYTES]\n"
          "                     [--max-pending BYTES] [--header-timeout D] [--body-timeout D]\n"
          "                     [--idle-timeout D]\n"
          "\n"
          "Prints its base URL on the first line of stdout. SPEC is '0s:NAME,30s:NAME2'.\n"
          "The admin API (/_tailgate/, /metrics) answers loopback peers (--admin-any: any) and\n"
          "refuses what a web page could send: a Host that is not a loopback name or address, a\n"
          "foreign Origin, a POST without Content-Type application/json. --admin-host NAME\n"
          "(repeatable) adds a Host name it answers to; it needs --admin-token.\n"
          "A request head must arrive within --header-timeout of its first byte (60s) and a\n"
          "body must not pause longer than --body-timeout (60s), or the answer is 408; a\n"
          "connection with no request in progress closes after --idle-timeout (75s). What a\n"
          "client sends while its reply streams is held up to --max-pending bytes (262144),\n"
          "then dropped and the connection closed after that reply. D: 500ms, 30s, 2m.\n",
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
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct mock_config cfg = {0};
    const char *admin_hosts[ADMINGUARD_MAX_HOSTS];
    const char *port_file = NULL;
    unsigned long long v;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (cliutil_parse_u64(optarg, 65535, &v) != 0) {
                fprintf(stderr, "tailgate mock: --port: expected 0..65535, got '%s'\n", optarg);
                return EXIT_USAGE;
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
                fprintf(stderr, "tailgate mock: --profile: unknown profile '%s' (see 'tailgate "
                                "profiles')\n", optarg);
                return EXIT_USAGE;
            }
            cfg.profile = optarg;
            break;
        case 's': {
            struct schedule s;
            char err[256];
            if (schedule_parse(optarg, &s, err, sizeof err) != 0) {
                fprintf(stderr, "tailgate mock: --schedule: %s\n", err);
                return EXIT_USAGE;
            }
            cfg.schedule = optarg;
            break;
        }
        case 'S':
            if (cliutil_parse_u64(optarg, ~0ull, &v) != 0) {
                fprintf(stderr, "tailgate mock: --seed: expected an unsigned integer\n");
                return EXIT_USAGE;
            }
            cfg.seed = v;
            break;
        case 'l':
            cfg.ledger_file = optarg;
            break;
        case 'L':
            if (cliutil_parse_u64(optarg, 100000000ull, &v) != 0 || v == 0) {
                fprintf(stderr, "tailgate mock: --ledger-max: expected 1..100000000\n");
                return EXIT_USAGE;
            }
            cfg.ledger_max = (size_t)v;
            break;
        case 't':
            if (optarg[0] == '\0') {
                fprintf(stderr, "tailgate mock: --admin-token: must not be empty\n");
                return EXIT_USAGE;
            }
            cfg.admin_token = optarg;
            break;
        case 'a':
            cfg.admin_any = 1;
            break;
        case 'A':
            if (!adminguard_valid_name(optarg)) {
                fprintf(stderr, "tailgate mock: --admin-host: '%s' is not a host name or "
                                "address (no scheme, no port)\n", optarg);
                return EXIT_USAGE;
            }
            if (cfg.admin_nhosts == ADMINGUARD_MAX_HOSTS) {
                fprintf(stderr, "tailgate mock: --admin-host: at most %d\n", ADMINGUARD_MAX_HOSTS);
                return EXIT_USAGE;
            }
            admin_hosts[cfg.admin_nhosts++] = optarg;
            cfg.admin_hosts = admin_hosts;
            break;
        case 'b':
            if (cliutil_parse_u64(optarg, 64ull * 1024 * 1024, &v) != 0 || v == 0) {
                fprintf(stderr, "tailgate mock: --max-body: expected 1..67108864 bytes\n");
                return EXIT_USAGE;
            }
            cfg.max_body = (size_t)v;
            break;
        case 'B':
            if (cliutil_parse_u64(optarg, 64ull * 1024 * 1024, &v) != 0) {
                fprintf(stderr, "tailgate mock: --sndbuf: expected 0..67108864 bytes\n");
                return EXIT_USAGE;
            }
            cfg.sndbuf = (int)v;
            break;
        case 1:
        case 2:
        case 3: {
            unsigned ms;
            static const char *const names[] = {"", "header", "body", "idle"};
            if (httpguard_parse_ms(optarg, &ms) != 0 || ms == 0) {
                fprintf(stderr, "tailgate mock: --%s-timeout: expected a duration such as 500ms, "
                                "30s or 2m, got '%s'\n", names[c], optarg);
                return EXIT_USAGE;
            }
            *(c == 1 ? &cfg.header_timeout_ms : c == 2 ? &cfg.body_timeout_ms
                                                       : &cfg.idle_timeout_ms) = ms;
            break;
        }
        case 4:
            if (cliutil_parse_u64(optarg, 64ull * 1024 * 1024, &v) != 0 || v < 1024) {
                fprintf(stderr, "tailgate mock: --max-pending: expected 1024..67108864 bytes\n");
                return EXIT_USAGE;
            }
            cfg.max_pending = (size_t)v;
            break;
        case 'h':
            mock_usage(stdout);
            return 0;
        default:
            mock_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "tailgate mock: unexpected argument '%s'\n", argv[optind]);
        mock_usage(stderr);
        return EXIT_USAGE;
    }
    if (cfg.admin_nhosts > 0 && cfg.admin_token == NULL) {
        fprintf(stderr, "tailgate mock: --admin-host needs --admin-token (an admin API others "
                        "can reach must ask for a token)\n");
        return EXIT_USAGE;
    }
    cliutil_raise_nofile(); /* best effort: thousands of streams need thousands of fds */
    signal(SIGPIPE, SIG_IGN);
    struct event_base *base = cliutil_new_base();
    if (base == NULL) {
        fprintf(stderr, "tailgate mock: event_base_new failed\n");
        return EXIT_ENV;
    }
    cfg.log = log_line;
    char err[256];
    struct mock *m = mock_new(base, &cfg, err, sizeof err);
    if (m == NULL) {
        fprintf(stderr, "tailgate mock: %s\n", err);
        event_base_free(base);
        return EXIT_ENV;
    }
    struct event *sigint = evsignal_new(base, SIGINT, stop_cb, base);
    struct event *sigterm = evsignal_new(base, SIGTERM, stop_cb, base);
    evsignal_add(sigint, NULL);
    evsignal_add(sigterm, NULL);
    printf("http://%s:%d\n", cfg.host ? cfg.host : "127.0.0.1", mock_port(m));
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
    event_base_free(base);
    return rc;
}

static int cmd_profiles(int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "usage: tailgate profiles\n");
        return EXIT_USAGE;
    }
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
        printf("%-17s disconnect=%-10s bill=%-9s report=%-7s  %s\n", p->name, lag,
               profile_bill_name(p->bill), profile_report_name(p->report), p->summary);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "mock") == 0)
        return cmd_mock(argc - 1, argv + 1);
    if (strcmp(cmd, "profiles") == 0)
        return cmd_profiles(argc - 1, argv + 1);
    if (strcmp(cmd, "run") == 0)
        return cli_run(argc - 1, argv + 1);
    if (strcmp(cmd, "scenarios") == 0)
        return cli_scenarios(argc - 1, argv + 1);
    if (strcmp(cmd, "report") == 0)
        return cli_report(argc - 1, argv + 1);
    if (strcmp(cmd, "compare") == 0)
        return cli_compare(argc - 1, argv + 1);
    if (strcmp(cmd, "chaos") == 0) {
        if (argc >= 3 && strcmp(argv[2], "proxy") == 0)
            return cli_chaos_proxy(argc - 2, argv + 2);
        if (argc >= 3 && strcmp(argv[2], "client") == 0)
            return cli_chaos_client(argc - 2, argv + 2);
        fprintf(stderr, "usage: tailgate chaos proxy|client [options] (--help for each)\n");
        return EXIT_USAGE;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "tailgate: unknown command '%s'\n", cmd);
    usage(stderr);
    return EXIT_USAGE;
}
