/* `tailgate run` end to end: against every refgw mode and in --direct mode, with exact
 * deterministic values from results.json, every exit code, and scenario validation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check.h"

static char tmp[64];
static const char *bin, *refgw;

/* 4 users, each closing after exactly 5 tokens of a 40-token answer at 20 tokens/s: the next
 * token is 50 ms away when the client acts, so counts are exact. */
static const char *const scenario_text =
    "{\"name\":\"exact\",\"profile\":\"vendor-b-post\",\n"
    " \"model\":{\"ttft_ms\":0,\"tps\":20,\"jitter\":0,\"length\":40},\n"
    " \"traffic\":{\"requests\":4,\"concurrency\":4},\n"
    " \"users\":[{\"action\":\"tab_close\",\"after_tokens\":5}],\n"
    " \"settle_ms\":4000,\n"
    " \"gates\":{\"tail_tokens\":[\"max<=2\"],\"close_lag_ms\":[\"p(99)<250\"],"
    "\"upstream_attempts\":[\"max<=1\"],\"rid_propagated\":[\"rate>=1\"]}}\n";

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void write_gateway(const char *mode, const char *extra)
{
    char path[256], text[1024];
    snprintf(path, sizeof path, "%s/gw-%s.json", tmp, mode);
    snprintf(text, sizeof text,
             "{\"name\":\"refgw-%s\",\"command\":[\"%s\",\"--mode\",\"%s\",\"--listen\","
             "\"127.0.0.1:{{PORT}}\",\"--upstream\",\"{{MOCK_URL}}\"%s],"
             "\"url\":\"http://127.0.0.1:{{PORT}}\",\"ready\":{\"path\":\"/healthz\"},"
             "\"style\":\"openai-chat\"}\n",
             mode, refgw, mode, extra ? extra : "");
    write_file(path, text);
}

/* Runs tailgate with args; returns the exit status; stderr into tmp/stderr.txt. */
static int run_tailgate(const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "timeout 120 %s %s >%s/stdout.txt 2>%s/stderr.txt", bin, args, tmp,
             tmp);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    static char buf[1 << 22];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
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

/* min and max of a per-request field over requests_detail */
static void range(const cJSON *sc, const char *field, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    const cJSON *q;
    cJSON_ArrayForEach(q, cJSON_GetObjectItem(sc, "requests_detail"))
    {
        const cJSON *v = cJSON_GetObjectItem(q, field);
        double x = cJSON_IsNumber(v) ? v->valuedouble : NAN;
        *lo = fmin(*lo, x);
        *hi = fmax(*hi, x);
    }
}

static int gate_verdict(const cJSON *sc, const char *metric, const char *expr)
{
    const cJSON *g;
    cJSON_ArrayForEach(g, cJSON_GetObjectItem(sc, "gates"))
    {
        if (strcmp(cJSON_GetObjectItem(g, "metric")->valuestring, metric) == 0 &&
            strcmp(cJSON_GetObjectItem(g, "expr")->valuestring, expr) == 0)
            return strcmp(cJSON_GetObjectItem(g, "verdict")->valuestring, "pass") == 0;
    }
    return -1;
}

static void runner_should_fail_a_naive_gateway_with_the_whole_remainder_as_tail(void)
{
    write_gateway("naive", NULL);
    char args[512];
    snprintf(args, sizeof args, "run --gateway %s/gw-naive.json --out %s/naive %s/exact.json",
             tmp, tmp, tmp);
    CHECK_EQ_INT(run_tailgate(args), 1);
    cJSON *r = results("naive");
    CHECK(r != NULL);
    const cJSON *sc = scenario0(r);
    double lo, hi, dlo, dhi;
    range(sc, "tail_tokens", &lo, &hi);
    range(sc, "delivered_tokens", &dlo, &dhi);
    int tail_gate = gate_verdict(sc, "tail_tokens", "max<=2");
    int attempts_gate = gate_verdict(sc, "upstream_attempts", "max<=1");
    cJSON_Delete(r);
    CHECK_EQ_INT(dlo, 5);
    CHECK_EQ_INT(dhi, 5);
    /* 5 tokens existed at the abort; the other 35 of 40 were generated for nobody */
    CHECK_EQ_INT(lo, 35);
    CHECK_EQ_INT(hi, 35);
    CHECK_EQ_INT(tail_gate, 0);
    CHECK_EQ_INT(attempts_gate, 1);
}

static void runner_should_pass_a_fixed_gateway_with_the_tail_within_the_profile_lag(void)
{
    write_gateway("fixed", NULL);
    char args[512];
    snprintf(args, sizeof args, "run --gateway %s/gw-fixed.json --out %s/fixed %s/exact.json",
             tmp, tmp, tmp);
    CHECK_EQ_INT(run_tailgate(args), 0);
    cJSON *r = results("fixed");
    CHECK(r != NULL);
    const cJSON *sc = scenario0(r);
    double lo, hi, klo, khi;
    range(sc, "tail_tokens", &lo, &hi);
    range(sc, "close_lag_ms", &klo, &khi);
    cJSON_Delete(r);
    /* vendor-b-post stops within one token of the close */
    CHECK(lo >= 0 && hi <= 1);
    CHECK(khi < 250);
    char path[256];
    snprintf(path, sizeof path, "%s/fixed/junit.xml", tmp);
    char *xml = slurp(path);
    snprintf(path, sizeof path, "%s/fixed/summary.md", tmp);
    char *md = slurp(path);
    int ok = xml && strstr(xml, "<testcase classname=\"exact\" name=\"tail_tokens max&lt;=2\">") &&
             !strstr(xml, "<failure") && md && strstr(md, "| exact | pass | 4 |");
    free(xml);
    free(md);
    CHECK(ok);
}

static void runner_should_count_two_upstream_attempts_for_a_retrying_gateway(void)
{
    write_gateway("retry", NULL);
    char args[512];
    snprintf(args, sizeof args, "run --gateway %s/gw-retry.json --out %s/retry %s/exact.json",
             tmp, tmp, tmp);
    CHECK_EQ_INT(run_tailgate(args), 1);
    cJSON *r = results("retry");
    CHECK(r != NULL);
    double lo, hi;
    range(scenario0(r), "upstream_attempts", &lo, &hi);
    int gate = gate_verdict(scenario0(r), "upstream_attempts", "max<=1");
    cJSON_Delete(r);
    CHECK_EQ_INT(lo, 2);
    CHECK_EQ_INT(hi, 2);
    CHECK_EQ_INT(gate, 0);
}

static void runner_should_see_a_stripped_request_id(void)
{
    write_gateway("strip-headers", NULL);
    char args[512];
    snprintf(args, sizeof args,
             "run --gateway %s/gw-strip-headers.json --out %s/strip %s/exact.json", tmp, tmp,
             tmp);
    CHECK_EQ_INT(run_tailgate(args), 1);
    cJSON *r = results("strip");
    CHECK(r != NULL);
    double lo, hi, alo, ahi;
    range(scenario0(r), "rid_propagated", &lo, &hi);
    range(scenario0(r), "upstream_attempts", &alo, &ahi);
    cJSON_Delete(r);
    CHECK_EQ_INT(hi, 0);
    /* the join still worked: the id travels in the body too */
    CHECK_EQ_INT(alo, 1);
}

static void runner_should_measure_a_slow_gateway_close_lag(void)
{
    write_gateway("slow", ",\"--slow-ms\",\"600\"");
    char args[512];
    snprintf(args, sizeof args, "run --gateway %s/gw-slow.json --out %s/slow %s/exact.json",
             tmp, tmp, tmp);
    CHECK_EQ_INT(run_tailgate(args), 1);
    cJSON *r = results("slow");
    CHECK(r != NULL);
    double lo, hi, tlo, thi;
    range(scenario0(r), "close_lag_ms", &lo, &hi);
    range(scenario0(r), "tail_tokens", &tlo, &thi);
    cJSON_Delete(r);
    CHECK(lo >= 600 && hi < 1500);
    /* 600 ms at 20 tokens/s, plus the stop lag of one token */
    CHECK(tlo >= 12 && thi <= 14);
}

static void runner_should_report_the_direct_floor_below_the_gates(void)
{
    char args[512];
    snprintf(args, sizeof args, "run --direct --out %s/direct %s/exact.json", tmp, tmp);
    CHECK_EQ_INT(run_tailgate(args), 0);
    cJSON *r = results("direct");
    CHECK(r != NULL);
    const cJSON *sc = scenario0(r);
    const cJSON *lag = cJSON_GetObjectItem(cJSON_GetObjectItem(sc, "metrics"), "close_lag_ms");
    double p99 = cJSON_GetObjectItem(lag, "p99")->valuedouble;
    int direct = cJSON_IsTrue(cJSON_GetObjectItem(r, "direct"));
    cJSON_Delete(r);
    CHECK(direct);
    /* the harness's own reaction time is far below the 250 ms gate it polices */
    CHECK(p99 >= 0 && p99 < 25);
}

static void runner_should_report_the_floor_beside_a_gateway_run(void)
{
    char args[512];
    snprintf(args, sizeof args, "run --gateway %s/gw-fixed.json --floor %s/direct --out %s/withfloor "
                                "%s/exact.json", tmp, tmp, tmp, tmp);
    CHECK_EQ_INT(run_tailgate(args), 0);
    cJSON *r = results("withfloor");
    CHECK(r != NULL);
    const cJSON *f = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "floor"), "scenarios");
    const cJSON *lag = cJSON_GetObjectItem(cJSON_GetObjectItem(f, "exact"), "close_lag_ms");
    double n = cJSON_GetObjectItem(lag, "count") ? cJSON_GetObjectItem(lag, "count")->valuedouble
                                                 : -1;
    cJSON_Delete(r);
    CHECK_EQ_INT(n, 4);
    char path[256];
    snprintf(path, sizeof path, "%s/withfloor/index.html", tmp);
    CHECK(access(path, F_OK) == 0);
}

static void runner_should_exit_2_naming_file_line_and_key_for_a_bad_scenario(void)
{
    struct {
        const char *text, *needle;
    } rows[] = {
        {"{\"users\":[{\"action\":\"tab_clse\"}]}", "users[0].action: unknown value 'tab_clse'; "
                                                   "did you mean 'tab_close'"},
        {"{\"users\":[{\"action\":\"complete\"}],\n\"gates\":{\"tail_tokenz\":[\"max<=1\"]}}",
         ":2: gates.tail_tokenz: unknown metric; did you mean 'tail_tokens'"},
        {"{\"users\":[{\"action\":\"complete\"}],\n\"gates\":{\"ptdr\":[\"p(95)<=1\"]}}",
         "gates.ptdr[0]: 'ptdr' is one number per scenario"},
        {"{\"users\":[{\"action\":\"complete\"}],\"gates\":{\"tail_tokens\":[\"p(95)=<1\"]}}",
         "expected an operator"},
        {"{\"users\":[{\"action\":\"complete\"}],\n\n\"trafic\":{}}",
         ":3: trafic: unknown key; did you mean 'traffic'"},
        {"{\"users\":[{\"action\":\"complete\"}],\"profile\":\"vendor-b-pots\"}",
         "did you mean 'vendor-b-post'"},
        {"{\"users\":[{\"action\":\"tab_close\",\"after_tokens\":[9,3]}]}",
         "users[0].after_tokens: expected whole numbers"},
        {"{\"users\":[]}", "users: required"},
        {"{\"users\":[{\"action\":\"complete\"}],\"traffic\":{\"requests\":-4}}",
         "traffic.requests: expected a number from 1"},
        {"{\"users\":[{\"action\":\"complete\"}],\"network\":{\"client\":[{\"type\":\"latency\","
         "\"attributes\":{\"latency\":-5}}]}}",
         "network.client[0]"},
        {"{\"users\": [", "not valid JSON"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char path[256], args[512];
        snprintf(path, sizeof path, "%s/bad%zu.json", tmp, i);
        write_file(path, rows[i].text);
        snprintf(args, sizeof args, "run --direct --out %s/bad %s", tmp, path);
        int rc = run_tailgate(args);
        snprintf(path, sizeof path, "%s/stderr.txt", tmp);
        char *err = slurp(path);
        int ok = rc == 2 && err && strstr(err, rows[i].needle) && strstr(err, "bad");
        if (!ok)
            fprintf(stderr, "  row %zu: exit %d: %s", i, rc, err ? err : "");
        free(err);
        CHECK(ok);
    }
}

static void runner_should_exit_3_when_the_environment_fails(void)
{
    char path[256], args[512];
    snprintf(path, sizeof path, "%s/gw-false.json", tmp);
    write_file(path, "{\"name\":\"dies\",\"command\":[\"false\"],\"url\":"
                     "\"http://127.0.0.1:{{PORT}}\",\"ready\":{\"timeout_ms\":3000}}");
    snprintf(args, sizeof args, "run --gateway %s --out %s/env %s/exact.json", path, tmp, tmp);
    CHECK_EQ_INT(run_tailgate(args), 3);
    snprintf(args, sizeof args, "run --direct --mock-url http://127.0.0.1:1 --out %s/env "
                                "%s/exact.json", tmp, tmp);
    CHECK_EQ_INT(run_tailgate(args), 3);
    snprintf(args, sizeof args, "run --out %s/env %s/exact.json", tmp, tmp);
    CHECK_EQ_INT(run_tailgate(args), 2); /* no gateway and no --direct: usage */
}

static void runner_should_reconcile_metering_across_a_billing_change(void)
{
    /* 8% of users cancel; the vendor starts billing what it emitted 1 s in. A gateway whose
     * metering trusts the usage chunk agrees with the invoice before and drifts after. */
    char path[256], args[512];
    snprintf(path, sizeof path, "%s/replay.json", tmp);
    write_file(path, "{\"name\":\"replay\",\"schedule\":\"0s:vendor-a-pre,1s:vendor-a-post\","
                     "\"model\":{\"ttft_ms\":10,\"tps\":200,\"jitter\":0,\"length\":60},"
                     "\"traffic\":{\"requests\":200,\"concurrency\":10},"
                     "\"users\":[{\"action\":\"complete\",\"weight\":92},"
                     "{\"action\":\"tab_close\",\"weight\":8,\"after_tokens\":[10,40]}],"
                     "\"settle_ms\":2000,\"gates\":{\"billing_variance_pct\":[\"value<=0.5\"]}}");
    write_gateway("fixed", ",\"--metering-log\",\"{{RUN_DIR}}/metering.jsonl\"");
    /* the description needs its metering key too */
    snprintf(args, sizeof args, "%s/gw-fixed.json", tmp);
    char *gw = slurp(args);
    CHECK(gw != NULL);
    char *brace = strrchr(gw, '}');
    *brace = '\0';
    char text[2048];
    snprintf(text, sizeof text, "%s,\"metering\":{\"file\":\"{{RUN_DIR}}/metering.jsonl\"}}\n",
             gw);
    free(gw);
    write_file(args, text);
    snprintf(args, sizeof args, "run --gateway %s/gw-fixed.json --out %s/replay %s", tmp, tmp,
             path);
    CHECK_EQ_INT(run_tailgate(args), 1);
    cJSON *r = results("replay");
    CHECK(r != NULL);
    const cJSON *sc = scenario0(r);
    const cJSON *b = cJSON_GetObjectItem(sc, "billing");
    double before = cJSON_GetObjectItem(b, "variance_before_switch_pct")->valuedouble;
    double after = cJSON_GetObjectItem(b, "variance_after_switch_pct")->valuedouble;
    int switches = cJSON_GetArraySize(cJSON_GetObjectItem(b, "switches_s"));
    /* expected after the switch: what cancelled streams were billed, over all that was billed,
     * for requests sent after it */
    double t0 = INFINITY, cancelled = 0, billed = 0;
    const cJSON *q;
    cJSON_ArrayForEach(q, cJSON_GetObjectItem(sc, "requests_detail"))
        t0 = fmin(t0, cJSON_GetObjectItem(q, "t_send_ns")->valuedouble);
    int lost = 0;
    cJSON_ArrayForEach(q, cJSON_GetObjectItem(sc, "requests_detail"))
    {
        double metered = cJSON_IsNumber(cJSON_GetObjectItem(q, "metered_output_tokens"))
                             ? cJSON_GetObjectItem(q, "metered_output_tokens")->valuedouble
                             : -1;
        double bill = cJSON_GetObjectItem(q, "billed_output_tokens")->valuedouble;
        int cut = strcmp(cJSON_GetObjectItem(q, "action")->valuestring, "tab_close") == 0;
        lost |= metered < 0;
        /* the profile switched 1 s after it was set, a few ms before the first send */
        if ((cJSON_GetObjectItem(q, "t_send_ns")->valuedouble - t0) / 1e9 < 0.95)
            continue;
        billed += bill;
        cancelled += cut ? bill : 0;
    }
    cJSON_Delete(r);
    CHECK_EQ_INT(switches, 1);
    CHECK_EQ_INT(lost, 0); /* every request has its metering line */
    CHECK(before == 0);
    CHECK(after > 1);
    CHECK(fabs(after - cancelled / billed * 100) < 0.5);
}

static void runner_should_validate_every_shipped_scenario(void)
{
    CHECK_EQ_INT(run_tailgate("scenarios scenarios/*.json"), 0);
    char path[256];
    snprintf(path, sizeof path, "%s/stdout.txt", tmp);
    char *out = slurp(path);
    int has_ci = out && strstr(out, "tab-close") && strstr(out, "network-drop") &&
                 strstr(out, "background-kill") && strstr(out, "anthropic-tab-close");
    free(out);
    CHECK(has_ci);
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CASE(runner_should_fail_a_naive_gateway_with_the_whole_remainder_as_tail),
        CASE(runner_should_pass_a_fixed_gateway_with_the_tail_within_the_profile_lag),
        CASE(runner_should_count_two_upstream_attempts_for_a_retrying_gateway),
        CASE(runner_should_see_a_stripped_request_id),
        CASE(runner_should_measure_a_slow_gateway_close_lag),
        CASE(runner_should_report_the_direct_floor_below_the_gates),
        CASE(runner_should_report_the_floor_beside_a_gateway_run),
        CASE(runner_should_exit_2_naming_file_line_and_key_for_a_bad_scenario),
        CASE(runner_should_exit_3_when_the_environment_fails),
        CASE(runner_should_reconcile_metering_across_a_billing_change),
        CASE(runner_should_validate_every_shipped_scenario),
    };
    bin = getenv("TAILGATE_BIN") ? getenv("TAILGATE_BIN") : "./tailgate";
    refgw = getenv("REFGW_BIN") ? getenv("REFGW_BIN") : "build/refgw";
    snprintf(tmp, sizeof tmp, "/tmp/tgrun.XXXXXX");
    if (mkdtemp(tmp) == NULL)
        return 1;
    char path[256];
    snprintf(path, sizeof path, "%s/exact.json", tmp);
    write_file(path, scenario_text);
    int rc = check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    return rc;
}
