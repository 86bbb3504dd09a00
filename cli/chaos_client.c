/* `tailgate chaos client`: run misbehaving users against a gateway (or the mock) and print one
 * JSON line per attempt. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "chaos/client.h"
#include "fetch.h"
#include "cli.h"
#include "common/cliutil.h"

struct run {
    struct event_base *base;
    FILE *out;
    uint64_t ends[CHAOS_END_COUNT];
    const char *proxy_api;
    const char *proxy_name;
};

static void usage(FILE *f)
{
    fputs(
        "usage: tailgate chaos client --url URL [options]\n"
        "  --style openai-chat|responses|anthropic|gemini|completions|ollama|azure|bedrock|\n"
        "          bedrock-invoke|custom\n"
        "                                       request style (openai-chat)\n"
        "  --path P --model M --prompt TEXT --max-tokens N --header 'Name: value' (repeatable)\n"
        "  --method M --body-template JSON                  custom style: {{prompt}} {{id}} "
        "{{max_tokens}}\n"
        "  --user SPEC (repeatable, a weighted mix), SPEC is a comma list of key=value:\n"
        "      action=complete|tab_close|half_close|reset|network_drop|background|\n"
        "             stop_button|supersede\n"
        "      weight=W after-tokens=K|LO..HI after-ms=T|LO..HI at-first-byte=1\n"
        "      background-ms=D kill=1 drop-rst-after-ms=H give-up-ms=G cancel=1\n"
        "      retries=N retry-delay-ms=D new-key=1\n"
        "  --requests N --concurrency C --seed S --id-prefix P --timeout-ms T --rcvbuf BYTES\n"
        "  --no-stream                          \"stream\": false: one JSON body at the end\n"
        "                                       (users leave it with after-ms)\n"
        "  --http 1.1|2|h2c --users-per-connection N   HTTP/1.1 (default), HTTP/2 over TLS\n"
        "                                       (https://), HTTP/2 cleartext; N streams share\n"
        "                                       a connection over HTTP/2 (default 6)\n"
        "  --cancel-url TEMPLATE --cancel-method M --cancel-body TEMPLATE   stop_button call\n"
        "  --proxy-api URL --proxy-name NAME    where network_drop asks the chaos proxy\n"
        "  --out FILE                           JSON lines (default stdout)\n",
        f);
}

static int parse_range(const char *v, struct chaos_range *r)
{
    char *end;
    errno = 0;
    unsigned long lo = strtoul(v, &end, 10);
    unsigned long hi = lo;
    if (end == v || errno || *v == '-')
        return -1;
    if (strncmp(end, "..", 2) == 0) {
        const char *h = end + 2;
        if (*h == '-')
            return -1;
        hi = strtoul(h, &end, 10);
        if (end == h || errno)
            return -1;
    }
    if (*end != '\0' || lo > hi || hi > 100000000ul)
        return -1;
    r->lo = (uint32_t)lo;
    r->hi = (uint32_t)hi;
    return 0;
}

static int parse_u32(const char *v, uint32_t max, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long x = strtoul(v, &end, 10);
    if (*v == '\0' || *v == '-' || *end != '\0' || errno || x > max)
        return -1;
    *out = (uint32_t)x;
    return 0;
}

/* Parses one --user SPEC; err names the key. */
static int parse_user(const char *spec, struct chaos_user *u, char *err, size_t errlen)
{
    memset(u, 0, sizeof *u);
    u->weight = 1;
    u->trigger = CHAOS_AT_TOKENS;
    u->at.lo = u->at.hi = 5;
    u->drop_give_up_ms = 2000;
    int have_action = 0;
    char work[512];
    if (strlen(spec) >= sizeof work) {
        snprintf(err, errlen, "--user: longer than %zu bytes", sizeof work - 1);
        return -1;
    }
    snprintf(work, sizeof work, "%s", spec);
    char *save = NULL;
    for (char *kv = strtok_r(work, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (eq == NULL) {
            snprintf(err, errlen, "--user: '%s' is not key=value", kv);
            return -1;
        }
        *eq = '\0';
        const char *k = kv, *v = eq + 1;
        int bad = 0;
        uint32_t x = 0;
        if (strcmp(k, "action") == 0) {
            int a = chaos_action_parse(v);
            bad = a < 0;
            u->action = (enum chaos_action)(a < 0 ? 0 : a);
            have_action = 1;
        } else if (strcmp(k, "weight") == 0) {
            char *end;
            u->weight = strtod(v, &end);
            bad = *v == '\0' || *end != '\0' || !(u->weight >= 0 && u->weight <= 1e9);
        } else if (strcmp(k, "after-tokens") == 0) {
            u->trigger = CHAOS_AT_TOKENS;
            bad = parse_range(v, &u->at);
        } else if (strcmp(k, "after-ms") == 0) {
            u->trigger = CHAOS_AT_MS;
            bad = parse_range(v, &u->at);
        } else if (strcmp(k, "at-first-byte") == 0) {
            u->trigger = CHAOS_AT_FIRST_BYTE;
            bad = strcmp(v, "1") != 0;
        } else if (strcmp(k, "background-ms") == 0) {
            bad = parse_u32(v, 3600000, &u->background_ms);
        } else if (strcmp(k, "kill") == 0) {
            bad = parse_u32(v, 1, &x);
            u->background_kill = (int)x;
        } else if (strcmp(k, "drop-rst-after-ms") == 0) {
            bad = parse_u32(v, 3600000, &u->drop_rst_after_ms);
        } else if (strcmp(k, "give-up-ms") == 0) {
            bad = parse_u32(v, 3600000, &u->drop_give_up_ms);
        } else if (strcmp(k, "cancel") == 0) {
            bad = parse_u32(v, 1, &x);
            u->cancel_call = (int)x;
        } else if (strcmp(k, "retries") == 0) {
            bad = parse_u32(v, 100, &u->retries);
        } else if (strcmp(k, "retry-delay-ms") == 0) {
            bad = parse_u32(v, 600000, &u->retry_delay_ms);
        } else if (strcmp(k, "new-key") == 0) {
            bad = parse_u32(v, 1, &x);
            u->retry_new_key = (int)x;
        } else {
            snprintf(err, errlen, "--user: unknown key '%s'", k);
            return -1;
        }
        if (bad) {
            snprintf(err, errlen, "--user: bad value '%s' for '%s'", v, k);
            return -1;
        }
    }
    if (!have_action) {
        snprintf(err, errlen, "--user: 'action' is required");
        return -1;
    }
    return 0;
}

static void record_cb(void *arg, const struct chaos_record *r)
{
    struct run *run = arg;
    run->ends[r->end]++;
    cJSON *j = chaos_record_json(r);
    char *s = j ? cJSON_PrintUnformatted(j) : NULL;
    if (s)
        fprintf(run->out, "%s\n", s);
    fflush(run->out);
    free(s);
    cJSON_Delete(j);
}

static void done_cb(void *arg)
{
    struct run *run = arg;
    event_base_loopbreak(run->base);
}

/* network_drop through the proxy's control API (a tailgate extension of Toxiproxy's). */
static int drop_via_api(void *arg, int port, uint32_t rst_after_ms, char *err, size_t errlen)
{
    struct run *run = arg;
    char url[1024], body[128];
    snprintf(url, sizeof url, "%s/proxies/%s/drop", run->proxy_api, run->proxy_name);
    snprintf(body, sizeof body, "{\"client_port\":%d,\"rst_after_ms\":%u}", port, rst_after_ms);
    long status = fetch("POST", url, NULL, body, 2000, NULL, NULL);
    if (status < 200 || status >= 300) {
        snprintf(err, errlen, "proxy API %s: %s (status %ld)", url,
                 status < 0 ? "no answer" : "refused", status);
        return -1;
    }
    return 0;
}

static void stop_cb(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    event_base_loopbreak(arg);
}

int cli_chaos_client(int argc, char **argv)
{
    static const struct option opts[] = {
        {"url", required_argument, NULL, 'u'},        {"style", required_argument, NULL, 's'},
        {"path", required_argument, NULL, 'p'},       {"model", required_argument, NULL, 'm'},
        {"prompt", required_argument, NULL, 'P'},     {"max-tokens", required_argument, NULL, 'x'},
        {"header", required_argument, NULL, 'H'},     {"method", required_argument, NULL, 'M'},
        {"body-template", required_argument, NULL, 'b'},
        {"user", required_argument, NULL, 'U'},       {"requests", required_argument, NULL, 'n'},
        {"concurrency", required_argument, NULL, 'c'},
        {"seed", required_argument, NULL, 'S'},       {"id-prefix", required_argument, NULL, 'i'},
        {"timeout-ms", required_argument, NULL, 't'}, {"rcvbuf", required_argument, NULL, 'r'},
        {"cancel-url", required_argument, NULL, 'C'},
        {"cancel-method", required_argument, NULL, 'D'},
        {"cancel-body", required_argument, NULL, 'B'},
        {"proxy-api", required_argument, NULL, 'a'},  {"proxy-name", required_argument, NULL, 'N'},
        {"out", required_argument, NULL, 'o'},        {"help", no_argument, NULL, 'h'},
        {"http", required_argument, NULL, 'V'},
        {"users-per-connection", required_argument, NULL, 'E'},
        {"no-stream", no_argument, NULL, 'Z'},
        {NULL, 0, NULL, 0},
    };
    struct chaos_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.requests = 1;
    cfg.concurrency = 1;
    struct run run = {0};
    run.proxy_name = "gateway";
    const char *out_path = NULL;
    char err[256];
    uint32_t v;
    int c;
    optind = 1;
    opterr = 0; /* one line per error, ours */
    while ((c = getopt_long(argc, argv, CLI_OPTSTRING, opts, NULL)) != -1) {
        int bad = 0;
        const char *flag = NULL;
        switch (c) {
        case 'u':
            cfg.req.url = optarg;
            break;
        case 's': {
            int st = chaos_style_parse(optarg);
            bad = st < 0;
            flag = "--style (openai-chat, responses, anthropic, gemini, completions, ollama, "
                   "azure, bedrock, bedrock-invoke, custom)";
            cfg.req.style = (enum chaos_style)(st < 0 ? 0 : st);
            break;
        }
        case 'p':
            cfg.req.path = optarg;
            break;
        case 'm':
            cfg.req.model = optarg;
            break;
        case 'P':
            cfg.req.prompt = optarg;
            break;
        case 'x':
            bad = parse_u32(optarg, 1000000, &cfg.req.max_tokens);
            flag = "--max-tokens";
            break;
        case 'H':
            bad = cfg.req.nheaders >= CHAOS_MAX_HEADERS || strchr(optarg, ':') == NULL;
            flag = "--header (expected 'Name: value', at most 32)";
            if (!bad)
                cfg.req.headers[cfg.req.nheaders++] = optarg;
            break;
        case 'M':
            cfg.req.method = optarg;
            break;
        case 'b':
            cfg.req.body_template = optarg;
            break;
        case 'U':
            if (cfg.nusers >= CHAOS_MAX_USERS)
                return cli_usage_error("chaos client", "--user: at most %d", CHAOS_MAX_USERS);
            if (parse_user(optarg, &cfg.users[cfg.nusers], err, sizeof err) != 0)
                return cli_usage_error("chaos client", "%s", err);
            cfg.nusers++;
            break;
        case 'n':
            bad = parse_u32(optarg, 10000000, &cfg.requests) || cfg.requests == 0;
            flag = "--requests (1..10000000)";
            break;
        case 'c':
            bad = parse_u32(optarg, 100000, &cfg.concurrency) || cfg.concurrency == 0;
            flag = "--concurrency (1..100000)";
            break;
        case 'S': {
            char *end;
            errno = 0;
            cfg.seed = strtoull(optarg, &end, 10);
            bad = *optarg == '\0' || *optarg == '-' || *end != '\0' || errno;
            flag = "--seed";
            break;
        }
        case 'i':
            cfg.id_prefix = optarg;
            bad = strlen(optarg) > 60 || strpbrk(optarg, " \t\"\\") != NULL;
            flag = "--id-prefix (at most 60 bytes, no spaces or quotes)";
            break;
        case 't':
            bad = parse_u32(optarg, 3600000, &cfg.timeout_ms);
            flag = "--timeout-ms";
            break;
        case 'r':
            bad = parse_u32(optarg, 64 * 1024 * 1024, &v);
            cfg.rcvbuf = (int)v;
            flag = "--rcvbuf";
            break;
        case 'V': {
            int h = chaos_http_parse(optarg);
            bad = h < 0;
            cfg.http = h < 0 ? CHAOS_HTTP_1_1 : (enum chaos_http)h;
            flag = "--http (1.1, 2 or h2c)";
            break;
        }
        case 'E':
            bad = parse_u32(optarg, 1000, &cfg.users_per_connection) ||
                  cfg.users_per_connection == 0;
            flag = "--users-per-connection (1 to 1000)";
            break;
        case 'Z':
            cfg.req.non_streaming = 1;
            break;
        case 'C':
            cfg.req.cancel_url = optarg;
            break;
        case 'D':
            cfg.req.cancel_method = optarg;
            break;
        case 'B':
            cfg.req.cancel_body = optarg;
            break;
        case 'a':
            run.proxy_api = optarg;
            break;
        case 'N':
            run.proxy_name = optarg;
            break;
        case 'o':
            out_path = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            return cli_bad_option("chaos client", c, argv);
        }
        if (bad)
            return cli_usage_error("chaos client", "bad value '%s' for %s", optarg, flag);
    }
    if (optind < argc)
        return cli_usage_error("chaos client", "unexpected argument '%s'", argv[optind]);
    if (cfg.req.url == NULL)
        return cli_usage_error("chaos client", "--url is required");
    if (cfg.nusers == 0) {
        cfg.users[0].action = CHAOS_COMPLETE;
        cfg.users[0].weight = 1;
        cfg.nusers = 1;
    }
    if (run.proxy_api) {
        cfg.drop = drop_via_api;
        cfg.drop_arg = &run;
    }
    run.out = stdout;
    if (out_path) {
        run.out = fopen(out_path, "w");
        if (run.out == NULL) {
            fprintf(stderr, "tailgate chaos client: --out %s: %s\n", out_path, strerror(errno));
            return EXIT_USAGE;
        }
    }
    cfg.on_record = record_cb;
    cfg.record_arg = &run;
    cfg.on_done = done_cb;
    cfg.done_arg = &run;
    signal(SIGPIPE, SIG_IGN);
    run.base = cliutil_new_base();
    struct chaos_client *cl = run.base ? chaos_client_new(run.base, &cfg, err, sizeof err) : NULL;
    int rc = 0;
    if (cl == NULL) {
        if (run.base)
            rc = cli_usage_error("chaos client", "%s", err); /* the config named the field */
        else {
            fprintf(stderr, "tailgate chaos client: event base failed\n");
            rc = EXIT_ENV;
        }
        goto done;
    }
    struct event *sigint = evsignal_new(run.base, SIGINT, stop_cb, run.base);
    evsignal_add(sigint, NULL);
    if (chaos_client_start(cl, err, sizeof err) != 0) {
        fprintf(stderr, "tailgate chaos client: %s\n", err);
        rc = EXIT_ENV;
    } else {
        event_base_dispatch(run.base);
        struct chaos_stats st = chaos_client_stats(cl);
        fprintf(stderr, "chaos client: %llu attempts, %llu actions, %llu retries;",
                (unsigned long long)st.finished, (unsigned long long)st.aborted,
                (unsigned long long)st.retries);
        for (int e = 0; e < CHAOS_END_COUNT; e++)
            if (run.ends[e])
                fprintf(stderr, " %s=%llu", chaos_end_name((enum chaos_end)e),
                        (unsigned long long)run.ends[e]);
        fprintf(stderr, "\n");
        if (st.errors && st.errors == st.finished)
            rc = EXIT_ENV; /* nothing got through: the target is not there */
    }
    event_free(sigint);
done:
    chaos_client_free(cl);
    if (run.base)
        event_base_free(run.base);
    if (run.out && run.out != stdout)
        fclose(run.out);
    return rc;
}
