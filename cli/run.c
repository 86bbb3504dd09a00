/* `tailgate run`: the release gate. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "runenv.h"
#include "runner/run.h"
#include "runner/scenario.h"
#include "runner/shard.h"
#include "runner/workers.h"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void run_usage(FILE *f)
{
    fputs("usage: tailgate run (--gateway FILE | --gateway-url URL [--gateway-cmd CMD]\n"
          "                     [--style S] | --direct) [--mock-url [NAME=]URL]... [--out DIR]\n"
          "                     [--seed N] [--floor DIRECT_RUN_DIR] [--via-proxies]\n"
          "                     [--mock-tls] [--shard I/N] [--workers W|auto]\n"
          "                     [--max-mock-lag-ms X|off] SCENARIO|SUITE...\n"
          "\n"
          "--shard I/N (with --mock-url, a mock the shards share) runs shard I of N, counting\n"
          "from 0: user request i of each scenario when i % N == I, with the plan it has in the\n"
          "whole run. 'tailgate merge' joins the N run folders into one (docs/sharding.md).\n"
          "--workers W (default 1; auto: one per online CPU) runs each scenario's users in W\n"
          "client processes, the same plans for the same seed; network_drop and isolate\n"
          "scenarios run in-process.\n"
          "A gateway description naming several providers ({{MOCK_URL_<name>}}) gets a mock\n"
          "per name, started by the run, or --mock-url NAME=URL for one already running (the\n"
          "shards of a run share it as they share the default one).\n"
          "--mock-tls (or \"mock_tls\": true in the gateway description) starts the mock with\n"
          "HTTPS and writes its CA to OUT/mock-ca.pem ({{MOCK_CA_FILE}}).\n"
          "A leg with no toxics (and no network_drop users) connects directly; --via-proxies\n"
          "routes both legs through the chaos proxies anyway (the harness's own cost).\n"
          "A scenario whose mock generated tokens later than --max-mock-lag-ms (50) at p99\n"
          "is not judged (verdict error, exit 3): the mock, not the gateway, was the\n"
          "bottleneck. 'off' judges it whatever the mock's lag.\n"
          "\n"
          "Exit codes: 0 every gate passed, 1 a gate failed, 2 usage or scenario error,\n"
          "3 environment failure (gateway did not start or died, mockprov unreachable).\n"
          "\n"
          "Progress goes to stderr: a live line on a terminal, redrawn each second, and one line\n"
          "per scenario. CI set (to anything but '', 'false' or '0') or TERM=dumb: no live line,\n"
          "plain lines only. NO_COLOR set: no colour.\n",
          f);
}

struct progress {
    int ticker; /* redraw a live line in place */
    int colour; /* PASS/FAIL/ERROR in colour */
    int live_shown;
};

/* CI=true (GitHub Actions, GitLab CI, and most others set it) means a log, even when the runner
 * gives the job a pseudo-terminal: a ticker there is a wall of \r-joined lines. */
static int env_ci(void)
{
    const char *ci = getenv("CI");
    return ci != NULL && ci[0] != '\0' && strcmp(ci, "false") != 0 && strcmp(ci, "0") != 0;
}

/* https://no-color.org: present and not empty */
static int env_no_colour(void)
{
    const char *nc = getenv("NO_COLOR");
    return nc != NULL && nc[0] != '\0';
}

static void progress_init(struct progress *p)
{
    const char *term = getenv("TERM");
    int dumb = term != NULL && strcmp(term, "dumb") == 0;
    int tty = isatty(2) && !env_ci() && !dumb;
    p->ticker = tty;
    p->colour = tty && !env_no_colour();
    p->live_shown = 0;
}

/* Prints a scenario line with its verdict word coloured: the name (which has no space, the
 * scenario loader sees to it), padding, then PASS, FAIL or ERROR. */
static void print_coloured(const char *line)
{
    static const struct {
        const char *word, *sgr;
    } verdicts[] = {{"PASS", "32"}, {"FAIL", "1;31"}, {"ERROR", "1;33"}};
    const char *sp = strchr(line, ' ');
    const char *w = sp ? sp + strspn(sp, " ") : NULL;
    for (size_t i = 0; w && i < sizeof verdicts / sizeof verdicts[0]; i++) {
        size_t n = strlen(verdicts[i].word);
        if (strncmp(w, verdicts[i].word, n) == 0 && w[n] == ' ') {
            fprintf(stderr, "%.*s\033[%sm%s\033[0m%s\n", (int)(w - line), line, verdicts[i].sgr,
                    verdicts[i].word, w + n);
            return;
        }
    }
    fprintf(stderr, "%s\n", line);
}

static void progress_cb(void *arg, const char *line, int live)
{
    struct progress *p = arg;
    if (live) {
        if (!p->ticker)
            return; /* logs get one line per scenario, not a ticker */
        fprintf(stderr, "\r\033[K%s", line);
        p->live_shown = 1;
        return;
    }
    if (p->live_shown)
        fprintf(stderr, "\r\033[K");
    p->live_shown = 0;
    if (p->colour)
        print_coloured(line);
    else
        fprintf(stderr, "%s\n", line);
}

int cli_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"gateway", required_argument, NULL, 'g'},
        {"gateway-cmd", required_argument, NULL, 'c'},
        {"gateway-url", required_argument, NULL, 'u'},
        {"style", required_argument, NULL, 's'},
        {"direct", no_argument, NULL, 'd'},
        {"mock-url", required_argument, NULL, 'm'},
        {"out", required_argument, NULL, 'o'},
        {"seed", required_argument, NULL, 'S'},
        {"floor", required_argument, NULL, 'f'},
        {"via-proxies", no_argument, NULL, 'P'},
        {"mock-tls", no_argument, NULL, 1},
        {"shard", required_argument, NULL, 2},
        {"workers", required_argument, NULL, 3},
        {"max-mock-lag-ms", required_argument, NULL, 4},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct run_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.out_dir = "tailgate-run";
    cfg.seed = 1;
    char env_err[256];
    if (runenv_apply(&cfg, argc, argv, env_err, sizeof env_err) != 0)
        return cli_usage_error("run", "%s", env_err);
    int c;
    optind = 1;
    opterr = 0; /* one line per error, ours */
    while ((c = getopt_long(argc, argv, CLI_OPTSTRING, opts, NULL)) != -1) {
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
        case 1:
            cfg.mock_tls = 1;
            break;
        case 2: {
            char serr[256];
            if (shard_parse(optarg, &cfg.shard_index, &cfg.shard_count, serr, sizeof serr) != 0)
                return cli_usage_error("run", "%s", serr);
            break;
        }
        case 3: {
            char werr[256];
            if (workers_parse(optarg, &cfg.workers, werr, sizeof werr) != 0)
                return cli_usage_error("run", "%s", werr);
            break;
        }
        case 'm': {
            /* NAME=URL names one of several mocks ({{MOCK_URL_<name>}}); a URL alone is the
             * default one */
            const char *eq = strchr(optarg, '='), *scheme = strstr(optarg, "://");
            if (eq == NULL || (scheme && scheme < eq)) {
                cfg.mock_url = optarg;
                break;
            }
            size_t n = (size_t)(eq - optarg);
            int ok = n > 0 && n < PLACEHOLDER_NAME_MAX;
            for (size_t i = 0; ok && i < n; i++)
                ok = isalnum((unsigned char)optarg[i]) || optarg[i] == '_';
            if (!ok || (strncmp(eq + 1, "http://", 7) != 0 && strncmp(eq + 1, "https://", 8) != 0))
                return cli_usage_error("run",
                                       "--mock-url: expected URL or NAME=URL (NAME 1 to %d of "
                                       "A-Z a-z 0-9 _, URL http:// or https://), got '%s'",
                                       PLACEHOLDER_NAME_MAX - 1, optarg);
            for (size_t i = 0; i < cfg.nnamed_mock_urls; i++)
                if (strncmp(cfg.named_mock_name[i], optarg, n) == 0 &&
                    cfg.named_mock_name[i][n] == '\0')
                    return cli_usage_error("run", "--mock-url: '%.*s' given twice", (int)n, optarg);
            if (cfg.nnamed_mock_urls == PLACEHOLDER_MAX_MOCKS)
                return cli_usage_error("run", "--mock-url: at most %d named mocks",
                                       PLACEHOLDER_MAX_MOCKS);
            char *name = strndup(optarg, n);
            if (name == NULL)
                return cli_usage_error("run", "out of memory");
            cfg.named_mock_name[cfg.nnamed_mock_urls] = name;
            cfg.named_mock_url[cfg.nnamed_mock_urls++] = eq + 1;
            break;
        }
        case 4: {
            char *end;
            double v = strtod(optarg, &end);
            if (strcmp(optarg, "off") == 0)
                cfg.max_mock_lag_ms = INFINITY;
            else if (*optarg == '\0' || *end || !(v > 0) || v > 3600000)
                return cli_usage_error("run",
                                       "--max-mock-lag-ms: expected milliseconds above 0 (up "
                                       "to 3600000) or 'off', got '%s'",
                                       optarg);
            else
                cfg.max_mock_lag_ms = v;
            break;
        }
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
            if (*optarg == '\0' || *optarg == '-' || *end || errno)
                return cli_usage_error("run", "--seed: expected an unsigned integer, got '%s'",
                                       optarg);
            break;
        }
        case 'h':
            run_usage(stdout);
            return 0;
        default:
            return cli_bad_option("run", c, argv);
        }
    }
    int modes = (cfg.gateway_file != NULL) + (cfg.gateway_url != NULL || cfg.gateway_cmd != NULL) +
                cfg.direct;
    if (modes != 1)
        return cli_usage_error("run", "give exactly one of --gateway FILE, --gateway-url URL "
                                      "(with --gateway-cmd CMD to start it), or --direct");
    if (optind >= argc)
        return cli_usage_error("run", "name at least one scenario or suite");
    /* the shards share one mock: one each would hold a share of the ledger and nothing else */
    if (cfg.shard_count > 0 && cfg.mock_url == NULL)
        return cli_usage_error("run", "--shard needs the mock the shards share: --mock-url URL "
                                      "(or TAILGATE_MOCK_URL)");
    if (cfg.shard_count > 0 && cfg.mock_tls)
        return cli_usage_error("run", "--shard takes a running mock (--mock-url), not --mock-tls");
    char *paths[SCENARIO_MAX_PER_RUN];
    size_t n = 0;
    char err[1024];
    const char *suite = NULL;
    for (int i = optind; i < argc; i++) {
        int k =
            suite_expand(argv[i], paths + n, sizeof paths / sizeof paths[0] - n, err, sizeof err);
        if (k < 0) {
            fprintf(stderr, "tailgate run: %s%s%s\n", interrupted ? "interrupted (" : "", err,
                    interrupted ? ")" : "");
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
    struct progress prog;
    progress_init(&prog);
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
        fprintf(stderr, "tailgate run: %s%s%s\n", interrupted ? "interrupted (" : "", err,
                interrupted ? ")" : "");
    else
        fprintf(stderr,
                "tailgate run: %s; report in %s/index.html (and results.json, "
                "junit.xml, summary.md)\n",
                rc == 0 ? "every gate passed" : "a gate FAILED", cfg.out_dir);
    for (size_t j = 0; j < n; j++)
        free(paths[j]);
    /* the exit code is the artifacts' verdict: an interruption that stopped a scenario is
     * already an environment failure in them (exit 3); one that came after the last scenario
     * was judged, while the outputs were written, changes nothing they say */
    return rc;
}
