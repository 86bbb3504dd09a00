/* The HTTP/2-only leak, end to end through `tailgate run`: refgw fixed with
 * --ignore-stream-reset cancels its upstream when a client's TCP connection closes but reads it
 * on to the end when only the client's stream is reset. Over HTTP/1.1 a closed tab is a TCP
 * close, so the tab_close gates pass; over HTTP/2 it is an RST_STREAM on a connection the other
 * tabs keep, so they fail. Plain refgw fixed passes over both. refgw serves TLS with a
 * throwaway CA it writes for the chaos client (the description's tls.ca_file), and HTTP/2 by
 * ALPN on the same port. Exact values from results.json: the scenario's timing leaves 50 ms
 * between tokens at the close. $TAILGATE_BIN and $REFGW_BIN name the binaries. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "harness.h"

static char tmp[64];
static const char *bin, *refgw;

/* 6 users on one connection over HTTP/2 (users_per_connection defaults to 6), most closing
 * their tab after exactly 5 tokens of a 40-token answer at 20 tokens/s, the rest reading to the
 * end (the run's seed decides who: 2 closers, 4 readers). The readers are the open tabs beside
 * the closed ones. %s is empty, or a users_per_connection setting: 1 puts every user on a
 * connection of its own, where a closed tab's RST_STREAM is the only frame on it. */
static const char *const scenario_text =
    "{\"name\":\"tabs\",\"profile\":\"vendor-b-post\",%s\n"
    " \"model\":{\"ttft_ms\":0,\"tps\":20,\"jitter\":0,\"length\":40},\n"
    " \"traffic\":{\"requests\":6,\"concurrency\":6},\n"
    " \"users\":[{\"action\":\"tab_close\",\"weight\":2,\"after_tokens\":5},\n"
    "           {\"action\":\"complete\",\"weight\":1}],\n"
    " \"settle_ms\":4000,\n"
    " \"gates\":{\"tail_tokens\":[\"max<=2\"],\"close_lag_ms\":[\"p(99)<250\"],"
    "\"upstream_attempts\":[\"max<=1\"]}}\n";

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s)
        s[fread(s, 1, (size_t)n, f)] = '\0';
    fclose(f);
    return s;
}

/* A description of refgw fixed (plus 'extra' arguments) over TLS, its client leg speaking
 * 'http' ("1.1" or "2"), or in cleartext for "h2c". Returns the path in 'path'. */
static void write_gateway(const char *name, const char *extra, const char *http, char *path,
                          size_t pathlen)
{
    char text[2048];
    snprintf(path, pathlen, "%s/%s.json", tmp, name);
    if (strcmp(http, "h2c") == 0) {
        snprintf(text, sizeof text,
                 "{\"name\":\"refgw-%s\",\"command\":[\"%s\",\"--mode\",\"fixed\",\"--listen\","
                 "\"127.0.0.1:{{PORT}}\",\"--upstream\",\"{{MOCK_URL}}\"%s],"
                 "\"url\":\"http://127.0.0.1:{{PORT}}\",\"ready\":{\"path\":\"/healthz\"},"
                 "\"http\":\"h2c\",\"style\":\"openai-chat\"}\n",
                 name, refgw, extra ? extra : "");
        write_file(path, text);
        return;
    }
    snprintf(text, sizeof text,
             "{\"name\":\"refgw-%s\",\"command\":[\"%s\",\"--mode\",\"fixed\",\"--listen\","
             "\"127.0.0.1:{{PORT}}\",\"--upstream\",\"{{MOCK_URL}}\",\"--tls\",\"--ca-file\","
             "\"%s/%s-ca.pem\"%s],"
             "\"url\":\"https://127.0.0.1:{{PORT}}\",\"ready\":{\"path\":\"/healthz\"},"
             "\"tls\":{\"ca_file\":\"%s/%s-ca.pem\"},\"http\":\"%s\","
             "\"style\":\"openai-chat\"}\n",
             name, refgw, tmp, name, extra ? extra : "", tmp, name, http);
    write_file(path, text);
}

/* Runs `tailgate run --gateway G --out tmp/OUT tmp/SCENARIO.json`; returns the exit status. */
static int run(const char *gateway, const char *scenario, const char *out)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "timeout 120 %s run --gateway %s --out %s/%s %s/%s.json >%s/%s.stdout "
             "2>%s/%s.stderr",
             bin, gateway, tmp, out, tmp, scenario, tmp, out, tmp, out);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static cJSON *results(const char *out)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s/results.json", tmp, out);
    char *text = slurp(path);
    cJSON *j = text ? cJSON_Parse(text) : NULL;
    free(text);
    return j;
}

static const cJSON *scenario0(const cJSON *r)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItem(r, "scenarios"), 0);
}

/* min and max of a numeric per-request field over the requests of one action */
static void range(const cJSON *sc, const char *action, const char *field, double *lo,
                  double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    const cJSON *q;
    cJSON_ArrayForEach(q, cJSON_GetObjectItem(sc, "requests_detail"))
    {
        const char *a = harness_str(q, "action");
        if (a == NULL || strcmp(a, action) != 0)
            continue;
        const cJSON *v = cJSON_GetObjectItem(q, field);
        double x = cJSON_IsNumber(v) ? v->valuedouble : NAN;
        *lo = fmin(*lo, x);
        *hi = fmax(*hi, x);
    }
}

/* How many requests of one action (NULL: any) have this string value for 'field'. */
static int count_str(const cJSON *sc, const char *action, const char *field, const char *want)
{
    int n = 0;
    const cJSON *q;
    cJSON_ArrayForEach(q, cJSON_GetObjectItem(sc, "requests_detail"))
    {
        const char *a = harness_str(q, "action");
        if (action != NULL && (a == NULL || strcmp(a, action) != 0))
            continue;
        const char *v = harness_str(q, field);
        n += v != NULL && strcmp(v, want) == 0;
    }
    return n;
}

/* 1 pass, 0 fail, -1 no such gate. */
static int gate_verdict(const cJSON *sc, const char *metric, const char *expr)
{
    const cJSON *g;
    cJSON_ArrayForEach(g, cJSON_GetObjectItem(sc, "gates"))
    {
        const char *m = harness_str(g, "metric"), *e = harness_str(g, "expr");
        if (m && e && strcmp(m, metric) == 0 && strcmp(e, expr) == 0) {
            const char *v = harness_str(g, "verdict");
            return v && strcmp(v, "pass") == 0;
        }
    }
    return -1;
}

static void show(const char *out)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s.stderr", tmp, out);
    char *err = slurp(path);
    cJSON *r = results(out);
    char *detail = r ? cJSON_PrintUnformatted(cJSON_GetObjectItem(scenario0(r),
                                                                  "requests_detail"))
                     : NULL;
    fprintf(stderr, "  %s stderr (tail): %s\n  requests: %.1500s\n", out,
            err ? err + (strlen(err) > 800 ? strlen(err) - 800 : 0) : "(none)",
            detail ? detail : "(none)");
    free(err);
    free(detail);
    cJSON_Delete(r);
}

struct outcome {
    int exit_code;
    int requests, closers, readers;
    /* the tab closers' */
    double delivered_lo, delivered_hi, tail_lo, tail_hi;
    int fin_closes, natural; /* the upstream's close_kind: fin; none (read to its end) */
    /* the readers' */
    double read_lo, read_hi;
    int readers_natural;
    int tail_gate, lag_gate;
};

static void outcome_of(const char *gateway, const char *scenario, const char *out,
                       struct outcome *o)
{
    memset(o, 0, sizeof *o);
    o->exit_code = run(gateway, scenario, out);
    cJSON *r = results(out);
    const cJSON *sc = scenario0(r);
    range(sc, "tab_close", "delivered_tokens", &o->delivered_lo, &o->delivered_hi);
    range(sc, "tab_close", "tail_tokens", &o->tail_lo, &o->tail_hi);
    range(sc, "complete", "delivered_tokens", &o->read_lo, &o->read_hi);
    o->requests = cJSON_GetArraySize(cJSON_GetObjectItem(sc, "requests_detail"));
    o->closers = count_str(sc, "tab_close", "action", "tab_close");
    o->readers = count_str(sc, "complete", "action", "complete");
    o->fin_closes = count_str(sc, "tab_close", "close_kind", "fin");
    o->natural = count_str(sc, "tab_close", "close_kind", "none");
    o->readers_natural = count_str(sc, "complete", "close_kind", "none");
    o->tail_gate = gate_verdict(sc, "tail_tokens", "max<=2");
    o->lag_gate = gate_verdict(sc, "close_lag_ms", "p(99)<250");
    cJSON_Delete(r);
}

/* What every run shares: 2 closers that got 5 tokens each, 4 readers that got all 40 with
 * their upstreams read to the end. */
static int plan_held(const struct outcome *o)
{
    return o->requests == 6 && o->closers == 2 && o->readers == 4 && o->delivered_lo == 5 &&
           o->delivered_hi == 5 && o->read_lo == 40 && o->read_hi == 40 &&
           o->readers_natural == 4;
}

/* The gateway cancelled every closer's upstream: the mock sees refgw's libcurl hang up (a FIN)
 * and the vendor-b-post profile stops within a token of it, over HTTP/2 as over HTTP/1.1: the
 * chaos client's RST_STREAM leaves at the close, whether or not other streams share its
 * connection. */
static int cancelled(const struct outcome *o, double tail_max)
{
    return o->exit_code == 0 && plan_held(o) && o->tail_lo >= 0 && o->tail_hi <= tail_max &&
           o->fin_closes == 2 && o->tail_gate == 1 && o->lag_gate == 1;
}

/* 5 tokens existed at each reset; the other 35 of 40 were generated for nobody, read to their
 * end (no close at all upstream) */
static int leaked(const struct outcome *o)
{
    return o->exit_code == 1 && plan_held(o) && o->tail_lo == 35 && o->tail_hi == 35 &&
           o->natural == 2 && o->tail_gate == 0;
}

/* Runs refgw fixed ('extra' arguments) with its client leg on 'http', the scenario 'scenario'
 * ("tabs" or "alone"), into tmp/OUT; 1 when the outcome is the one wanted: cancelled, or with
 * want_leak the HTTP/2-only leak. */
static int judged(const char *out, const char *extra, const char *http, const char *scenario,
                  int want_leak)
{
    char gw[256];
    write_gateway(out, extra, http, gw, sizeof gw);
    struct outcome o;
    outcome_of(gw, scenario, out, &o);
    int ok = want_leak ? leaked(&o) : cancelled(&o, 1);
    if (!ok)
        show(out);
    return ok;
}

#define IGNORE_RESET ",\"--ignore-stream-reset\""

static void refgw_ignore_stream_reset_should_fail_the_tab_close_gates_over_h2(void)
{
    CHECK(judged("isr-h2", IGNORE_RESET, "2", "tabs", 1));
}

/* the same gateway over HTTP/1.1, where a closed tab is a TCP close, passes */
static void refgw_ignore_stream_reset_should_pass_the_tab_close_gates_over_http1(void)
{
    CHECK(judged("isr-h1", IGNORE_RESET, "1.1", "tabs", 0));
}

static void refgw_fixed_should_pass_the_tab_close_gates_over_h2(void)
{
    CHECK(judged("fixed-h2", NULL, "2", "tabs", 0));
}

static void refgw_fixed_should_pass_the_tab_close_gates_over_http1(void)
{
    CHECK(judged("fixed-h1", NULL, "1.1", "tabs", 0));
}

/* One user a connection: each closed tab's RST_STREAM is the only frame on its connection, and
 * still leaves at the close (libcurl 7.88 would hold it until the connection's next frame,
 * which never comes: every closer would look leaked). */
static void refgw_fixed_should_pass_the_tab_close_gates_for_lone_streams_over_h2(void)
{
    CHECK(judged("alone-h2", NULL, "2", "alone", 0));
}

static void refgw_fixed_should_pass_the_tab_close_gates_for_lone_streams_over_h2c(void)
{
    CHECK(judged("alone-h2c", NULL, "h2c", "alone", 0));
}

/* In cleartext too, the gateway that ignores a stream reset leaks every closer's 35 tokens. */
static void refgw_ignore_stream_reset_should_fail_for_lone_streams_over_h2c(void)
{
    CHECK(judged("isr-h2c", IGNORE_RESET, "h2c", "alone", 1));
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CASE(refgw_ignore_stream_reset_should_fail_the_tab_close_gates_over_h2),
        CASE(refgw_ignore_stream_reset_should_pass_the_tab_close_gates_over_http1),
        CASE(refgw_fixed_should_pass_the_tab_close_gates_over_h2),
        CASE(refgw_fixed_should_pass_the_tab_close_gates_over_http1),
        CASE(refgw_fixed_should_pass_the_tab_close_gates_for_lone_streams_over_h2),
        CASE(refgw_fixed_should_pass_the_tab_close_gates_for_lone_streams_over_h2c),
        CASE(refgw_ignore_stream_reset_should_fail_for_lone_streams_over_h2c),
    };
    bin = getenv("TAILGATE_BIN") ? getenv("TAILGATE_BIN") : "./tailgate";
    refgw = getenv("REFGW_BIN") ? getenv("REFGW_BIN") : "build/refgw";
    snprintf(tmp, sizeof tmp, "/tmp/tgrgw.XXXXXX");
    if (mkdtemp(tmp) == NULL)
        return 1;
    char path[256], text[1024];
    snprintf(path, sizeof path, "%s/tabs.json", tmp);
    snprintf(text, sizeof text, scenario_text, "");
    write_file(path, text);
    snprintf(path, sizeof path, "%s/alone.json", tmp);
    snprintf(text, sizeof text, scenario_text, "\"users_per_connection\":1,");
    write_file(path, text);
    int rc = check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
    char cmd[128];
    snprintf(cmd, sizeof cmd, getenv("TG_RGW_KEEP") ? "true %s" : "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    return rc;
}
