/* `tailgate run`: the release gate. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "runenv.h"
#include "runner/run.h"
#include "runner/scenario.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void run_usage(FILE *f)
{
    fputs("usage: tailgate run (--gateway FILE | --gateway-url URL [--gateway-cmd CMD]\n"
          "                     [--style S] | --direct) [--mock-url URL] [--out DIR]\n"
          "                     [--seed N] [--floor DIRECT_RUN_DIR] [--via-proxies]\n"
          "                     SCENARIO|SUITE...\n"
          "\n"
          "A leg with no toxics (and no network_drop users) connects directly; --via-proxies\n"
          "routes both legs through the chaos proxies anyway (the harness's own cost).\n"
          "\n"
          "Exit codes: 0 every gate passed, 1 a gate failed, 2 usage or scenario error,\n"
          "3 environment failure (gateway did not start or died, mockprov unreachable).\n",
          f);
}

struct progress {
    int tty;
    int live_shown;
};

static void progress_cb(void *arg, const char *line, int live)
{
    struct progress *p = arg;
    if (live) {
        if (!p->tty)
            return; /* CI logs get one line per scenario, not a ticker */
        fprintf(stderr, "\r\033[K%s", line);
        p->live_shown = 1;
        return;
    }
    if (p->live_shown)
        fprintf(stderr, "\r\033[K");
    p->live_shown = 0;
    fprintf(stderr, "%s\n", line);
}

int cli_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"gateway", required_argument, NULL, 'g'},   {"gateway-cmd", required_argument, NULL, 'c'},
        {"gateway-url", required_argument, NULL, 'u'}, {"style", required_argument, NULL, 's'},
        {"direct", no_argument, NULL, 'd'},          {"mock-url", required_argument, NULL, 'm'},
        {"out", required_argument, NULL, 'o'},       {"seed", required_argument, NULL, 'S'},
        {"floor", required_argument, NULL, 'f'},      {"via-proxies", no_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0},
    };
    struct run_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.out_dir = "tailgate-run";
    cfg.seed = 1;
    char env_err[256];
    if (runenv_apply(&cfg, argc, argv, env_err, sizeof env_err) != 0) {
        fprintf(stderr, "tailgate run: %s\n", env_err);
        return EXIT_USAGE;
    }
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'g':
            cfg.gateway_file = optarg;
            break;
        case 'c':
            cfg.gateway_cmd = optarg;
            break;
        case 'u':
            cfg.gateway_url = optarg;
            break;
        case 's':
            cfg.style = optarg;
            break;
        case 'd':
            cfg.direct = 1;
            break;
        case 'm':
            cfg.mock_url = optarg;
            break;
        case 'o':
            cfg.out_dir = optarg;
            break;
        case 'f':
            cfg.floor_dir = optarg;
            break;
        case 'P':
            cfg.via_proxies = 1;
            break;
        case 'S': {
            char *end;
            errno = 0;
            cfg.seed = strtoull(optarg, &end, 10);
            if (*optarg == '\0' || *optarg == '-' || *end || errno) {
                fprintf(stderr, "tailgate run: --seed: expected an unsigned integer\n");
                return EXIT_USAGE;
            }
            break;
        }
        case 'h':
            run_usage(stdout);
            return 0;
        default:
            run_usage(stderr);
            return EXIT_USAGE;
        }
    }
    int modes = (cfg.gateway_file != NULL) + (cfg.gateway_url != NULL || cfg.gateway_cmd != NULL) +
                cfg.direct;
    if (modes != 1) {
        fprintf(stderr, "tailgate run: give exactly one of --gateway FILE, --gateway-url URL "
                        "(with --gateway-cmd CMD to start it), or --direct\n");
        return EXIT_USAGE;
    }
    if (optind >= argc) {
        fprintf(stderr, "tailgate run: name at least one scenario or suite file\n");
        return EXIT_USAGE;
    }
    char *paths[SCENARIO_MAX_PER_RUN];
    size_t n = 0;
    char err[1024];
    const char *suite = NULL;
    for (int i = optind; i < argc; i++) {
        int k = suite_expand(argv[i], paths + n, sizeof paths / sizeof paths[0] - n, err,
                             sizeof err);
        if (k < 0) {
            fprintf(stderr, "tailgate run: %s\n", err);
            for (size_t j = 0; j < n; j++)
                free(paths[j]);
            return EXIT_USAGE;
        }
        if (k > 1 || strstr(argv[i], "ci") != NULL)
            suite = argv[i];
        n += (size_t)k;
    }
    cfg.scenarios = paths;
    cfg.nscenarios = n;
    cfg.suite_name = suite;
    static char self[PATH_MAX];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    if (sl <= 0) {
        fprintf(stderr, "tailgate run: cannot find my own executable\n");
        return EXIT_ENV;
    }
    self[sl] = '\0';
    cfg.self_exe = self;
    struct progress prog = {isatty(2), 0};
    cfg.progress = progress_cb;
    cfg.progress_arg = &prog;
    cfg.interrupted = &interrupted;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    int rc = run_execute(&cfg, err, sizeof err);
    if (rc == EXIT_USAGE || rc == EXIT_ENV)
        fprintf(stderr, "tailgate run: %s\n", interrupted ? "interrupted" : err);
    else
        fprintf(stderr, "tailgate run: %s; report in %s/index.html (and results.json, "
                        "junit.xml, summary.md)\n", rc == 0 ? "every gate passed" : "a gate FAILED",
                cfg.out_dir);
    for (size_t j = 0; j < n; j++)
        free(paths[j]);
    return interrupted ? EXIT_ENV : rc;
}
