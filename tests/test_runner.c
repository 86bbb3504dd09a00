/* `tailgate run` end to end: against every refgw mode and in --direct mode, with exact
 * deterministic values from results.json, every exit code, and scenario validation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "harness.h"
#include "jparse.h"
#include "junit.h"
#include "results.h"
#include "resultsjson.h"
#include "verdict.h"

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

static const char *sget(const cJSON *o, const char *key)
{
    const char *v = harness_str(o, key);
    return v ? v : "(none)";
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
            return strcmp(sget(g, "verdict"), "pass") == 0;
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
    int ok = xml &&
             strstr(xml, "<testcase classname=\"exact\" name=\"tail_tokens max&lt;=2\" time=") &&
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

/* Every request's end_reason, counted per scenario: in --direct runs the users who read on
 * complete and the ones who close their tab abort; a stalled upstream nobody cuts runs into the
 * client's own limit. */
static void runner_should_say_how_every_request_ended(void)
{
    char path[256], args[512];
    snprintf(path, sizeof path, "%s/ends.json", tmp);
    write_file(path, "{\"name\":\"ends\",\"profile\":\"vendor-b-post\",\n"
                     " \"model\":{\"ttft_ms\":0,\"tps\":50,\"jitter\":0,\"length\":10},\n"
                     " \"traffic\":{\"requests\":8,\"concurrency\":4},\n"
                     " \"users\":[{\"action\":\"tab_close\",\"after_tokens\":2},\n"
                     "           {\"action\":\"complete\"}],\n"
                     " \"gates\":{\"tail_tokens\":[\"max<=5\"]}}\n");
    snprintf(args, sizeof args, "run --direct --out %s/ends %s", tmp, path);
    CHECK_EQ_INT(run_tailgate(args), 0);
    cJSON *r = results("ends");
    const cJSON *sc = scenario0(r);
    const cJSON *ends = cJSON_GetObjectItem(sc, "end_reasons");
    int closers = 0, readers = 0, matched = 0, idle_ok = 0;
    const cJSON *q;
    cJSON_ArrayForEach(q, cJSON_GetObjectItem(sc, "requests_detail"))
    {
        const char *a = sget(q, "action"), *e = sget(q, "end_reason");
        const cJSON *idle = cJSON_GetObjectItem(q, "upstream_idle_ms");
        int closer = strcmp(a, "tab_close") == 0;
        closers += closer;
        readers += !closer;
        matched += strcmp(e, closer ? "client_aborted" : "completed") == 0;
        /* a reader's upstream was never silent for long: 20 ms between tokens */
        idle_ok += closer ? cJSON_IsNull(idle) : cJSON_IsNumber(idle) && idle->valuedouble < 500;
    }
    CHECK_EQ_INT(closers + readers, 8);
    CHECK_EQ_INT(matched, 8);
    CHECK_EQ_INT(idle_ok, 8);
    CHECK_EQ_INT(harness_num(ends, "client_aborted"), closers);
    CHECK_EQ_INT(harness_num(ends, "completed"), readers);
    CHECK_EQ_INT(harness_num(ends, "gateway_deadline") + harness_num(ends, "upstream_timeout") +
                     harness_num(ends, "network_closed") + harness_num(ends, "error"),
                 0);
    cJSON_Delete(r);

    /* the upstream stalls after 3 tokens for 3 s; the users wait, and their client gives up at
     * 800 ms: nothing cut the silent upstream */
    snprintf(path, sizeof path, "%s/stall.json", tmp);
    write_file(path, "{\"name\":\"stall\",\"profile\":\"vendor-b-post\",\n"
                     " \"model\":{\"ttft_ms\":0,\"tps\":50,\"jitter\":0,\"length\":10},\n"
                     " \"fault\":\"stall-after=3,stall-ms=3000\",\"timeout_ms\":800,\n"
                     " \"traffic\":{\"requests\":2,\"concurrency\":2},\n"
                     " \"users\":[{\"action\":\"complete\"}],\n"
                     " \"gates\":{\"error_rate\":[\"value<=1\"],\"upstream_idle_ms\":[\"max<=5000\"]}}\n");
    snprintf(args, sizeof args, "run --direct --out %s/stall %s", tmp, path);
    CHECK_EQ_INT(run_tailgate(args), 0);
    r = results("stall");
    sc = scenario0(r);
    ends = cJSON_GetObjectItem(sc, "end_reasons");
    CHECK_EQ_INT(harness_num(ends, "upstream_timeout"), 2);
    double lo, hi;
    range(sc, "upstream_idle_ms", &lo, &hi);
    CHECK(lo >= 500 && hi < 3000); /* silent from its 3rd token to the client's give-up */
    cJSON_Delete(r);
}

/* Agent tasks in --direct runs: two tool loops of 3 requests of 10 tokens, left at each task's
 * 15th token: per task one request read whole, one closed, none sent after; the task metrics
 * sample each task once. */
static void runner_should_judge_agent_tasks_whole(void)
{
    char path[256], args[512];
    snprintf(path, sizeof path, "%s/tasks.json", tmp);
    write_file(path, "{\"name\":\"tasks\",\"profile\":\"vendor-b-post\",\n"
                     " \"model\":{\"ttft_ms\":0,\"tps\":100,\"jitter\":0,\"length\":10},\n"
                     " \"traffic\":{\"requests\":2,\"concurrency\":2},\n"
                     " \"users\":[{\"action\":\"tab_close\",\"after_tokens\":15,\n"
                     "            \"task\":{\"requests\":3}}],\n"
                     " \"gates\":{\"task_tail_tokens\":[\"max<=2\"],"
                     "\"task_close_lag_ms\":[\"count==2\"]}}\n");
    snprintf(args, sizeof args, "run --direct --out %s/tasks %s", tmp, path);
    CHECK_EQ_INT(run_tailgate(args), 0);
    cJSON *r = results("tasks");
    const cJSON *sc = scenario0(r);
    const cJSON *ends = cJSON_GetObjectItem(sc, "end_reasons");
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(sc, "requests_detail")), 4);
    CHECK_EQ_INT(harness_num(ends, "completed"), 2);
    CHECK_EQ_INT(harness_num(ends, "client_aborted"), 2);
    const cJSON *m = cJSON_GetObjectItem(sc, "metrics");
    CHECK_EQ_INT(harness_num(cJSON_GetObjectItem(m, "task_tail_tokens"), "count"), 2);
    CHECK_EQ_INT(harness_num(cJSON_GetObjectItem(m, "task_close_lag_ms"), "count"), 2);
    CHECK_EQ_INT(gate_verdict(sc, "task_tail_tokens", "max<=2"), 1);
    cJSON_Delete(r);
}

/* A reasoning model's tail, exactly: 40 reasoning tokens then 20 visible ones at 100 tokens/s,
 * under runaway (it generates everything whatever happens), users leaving at 150 ms: about 15
 * reasoning tokens were done, so the rest and all 20 visible ones came for nobody. */
static void runner_should_count_a_reasoning_tail_apart(void)
{
    char path[256], args[512];
    snprintf(path, sizeof path, "%s/think.json", tmp);
    write_file(path, "{\"name\":\"think\",\"profile\":\"runaway\",\n"
                     " \"model\":{\"ttft_ms\":0,\"tps\":100,\"jitter\":0,\"length\":20,\n"
                     "          \"reasoning_tokens\":40,\"reasoning_tps\":100},\n"
                     " \"traffic\":{\"requests\":2,\"concurrency\":2},\n"
                     " \"users\":[{\"action\":\"tab_close\",\"after_ms\":150}],\n"
                     " \"settle_ms\":1500,\"gates\":{\"reasoning_tail_tokens\":[\"max<=2\"]}}\n");
    snprintf(args, sizeof args, "run --direct --out %s/think %s", tmp, path);
    CHECK_EQ_INT(run_tailgate(args), 1); /* the gate fails: the model thought on */
    cJSON *r = results("think");
    const cJSON *sc = scenario0(r);
    double lo, hi, rlo, rhi, blo, bhi;
    range(sc, "tail_tokens", &lo, &hi);
    range(sc, "reasoning_tail_tokens", &rlo, &rhi);
    range(sc, "billed_output_tokens", &blo, &bhi);
    cJSON_Delete(r);
    /* On time the user leaves after 15 reasoning tokens: tail 45, of which reasoning 25. How
     * many were thought by then rides on the machine's load, so exact: every visible token
     * came for nobody; and the user left while the model thought. */
    CHECK_EQ_INT(lo - rlo, 20);
    CHECK_EQ_INT(hi - rhi, 20);
    CHECK(rlo >= 1 && rhi <= 39);
    CHECK_EQ_INT(blo, 60); /* runaway bills it all: 40 reasoning + 20 visible */
    CHECK_EQ_INT(bhi, 60);
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
         "unsupported operator '=<'; supported: <, <=, >, >=, ==, === or !="},
        {"{\"users\":[{\"action\":\"complete\"}],\n\n\"trafic\":{}}",
         ":3: trafic: unknown key; did you mean 'traffic'"},
        {"{\"users\":[{\"action\":\"complete\"}],\"profile\":\"vendor-b-pots\"}",
         "did you mean 'vendor-b-post'"},
        {"{\"users\":[{\"action\":\"tab_close\",\"after_tokens\":[9,3]}]}",
         "users[0].after_tokens: expected whole numbers"},
        {"{\"users\":[]}", "users: required"},
        /* an array's element on a line of its own is named at that line */
        {"{\"users\":[{\"action\":\"complete\"}],\"gates\":{\"tail_tokens\":[\n\"max<=3\",\n"
         "\"p(95)=<1\"]}}",
         ":3: gates.tail_tokens[1]: 'p(95)=<1': unsupported operator"},
        {"{\"users\":[\n{\"action\":\"complete\",\"weight\":1},\n{\"action\":\"complete\",\n"
         "\"weight\":\"x\"}]}",
         ":4: users[1].weight:"},
        {"{\"users\":[{\"action\":\"background\",\"background_ms\":9,\n"
         "\"task\":{\"requests\":2}}]}",
         ":2: users[0].task: a task is left with complete, tab_close, stop_button or reset, not "
         "background"},
        {"{\"stream\":false,\n\"users\":[{\"action\":\"tab_close\",\"after_tokens\":3}]}",
         ":2: users[0]: with \"stream\": false the answer arrives whole at its end: abandon it "
         "with after_ms"},
        {"{\"stream\":\"no\",\"users\":[{\"action\":\"complete\"}]}",
         ":1: stream: expected true or false"},
        {"{\"users\":[{\"action\":\"complete\"}],\"traffic\":{\"requests\":-4}}",
         "traffic.requests: expected a number from 1"},
        {"{\"users\":[{\"action\":\"complete\"}],\"network\":{\"client\":[{\"type\":\"latency\","
         "\"attributes\":{\"latency\":-5}}]}}",
         "network.client[0]"},
        {"{\"users\": [", ":1:12: expected a JSON value at end of file"},
        /* the name prefixes the correlation ids: the mock must be able to take them */
        {"{\"name\":\"tab close\",\"users\":[{\"action\":\"complete\"}]}",
         "name: 'tab close' cannot prefix correlation ids"},
        {"{\"name\":\"\",\"users\":[{\"action\":\"complete\"}]}",
         "name: '' cannot prefix correlation ids"},
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

/* Runs `tailgate ARGS`; 1 when it exits 'code' and its stderr is exactly 'want'. */
static int exits_saying(const char *args, int code, const char *want)
{
    int rc = run_tailgate(args);
    char path[256];
    snprintf(path, sizeof path, "%s/stderr.txt", tmp);
    char *err = slurp(path);
    int ok = rc == code && err && strcmp(err, want) == 0;
    if (!ok)
        fprintf(stderr, "  tailgate %s: exit %d, said: %s  wanted: %s", args, rc,
                err ? err : "(nothing)\n", want);
    free(err);
    return ok;
}

static void runner_should_exit_2_with_a_clear_message_for_unreadable_or_malformed_input(void)
{
    char dir[128], path[256], args[1024], want[1024];
    snprintf(dir, sizeof dir, "%s/scen-dir", tmp);
    CHECK(mkdir(dir, 0755) == 0 || access(dir, F_OK) == 0);

    /* a folder given where a file belongs */
    snprintf(args, sizeof args, "run --direct --out %s/bad %s", tmp, dir);
    snprintf(want, sizeof want,
             "tailgate run: %s: is a directory (name scenario or suite files, e.g. %s/*.json)\n",
             dir, dir);
    CHECK(exits_saying(args, 2, want));
    snprintf(args, sizeof args, "scenarios %s", dir);
    snprintf(want, sizeof want,
             "%s: is a directory (name scenario or suite files, e.g. %s/*.json)\n", dir, dir);
    CHECK(exits_saying(args, 2, want));
    snprintf(args, sizeof args, "run --gateway %s --out %s/bad %s/exact.json", dir, tmp, tmp);
    snprintf(want, sizeof want, "tailgate run: %s: is a directory (give a gateway description "
                                "file, e.g. examples/gateways/*.json)\n", dir);
    CHECK(exits_saying(args, 2, want));

    /* a suite naming a folder */
    snprintf(path, sizeof path, "%s/suite-dir.json", tmp);
    write_file(path, "{\"suite\":\"s\",\"scenarios\":[\"scen-dir\"]}\n");
    snprintf(args, sizeof args, "run --direct --out %s/bad %s", tmp, path);
    snprintf(want, sizeof want,
             "tailgate run: %s/%s: is a directory (name scenario or suite files, e.g. "
             "%s/%s/*.json)\n", tmp, "scen-dir", tmp, "scen-dir");
    CHECK(exits_saying(args, 2, want));

    /* a missing file */
    snprintf(path, sizeof path, "%s/missing.json", tmp);
    snprintf(args, sizeof args, "run --direct --out %s/bad %s", tmp, path);
    snprintf(want, sizeof want, "tailgate run: %s: No such file or directory\n", path);
    CHECK(exits_saying(args, 2, want));

    /* syntax errors: file, line, column, what, and the text there (or the end of the file) */
    static const struct {
        const char *text, *what;
    } rows[] = {
        {"{\n  \"name\": \"x\",\n  \"users\": [{\"action\": \"complete\"}]\n  \"gates\": {}\n}\n",
         "4:3: expected ',' or '}' after an object member near '\"gates\": {}'"},
        {"{\"users\": [", "1:12: expected a JSON value at end of file"},
        {"", "1:1: empty document (expected a JSON value) at end of file"},
        {"{\"users\": [{\"action\": \"complete\"}]}\n{}\n",
         "2:1: unexpected text after the JSON value near '{}'"},
        {"{\"users\": [{\"action\": \"complete\",}]}",
         "1:34: trailing comma before '}' near '}]}'"},
        {"{\"name\": \"caf\xc3\xa9\xff\"}", "1:15: invalid UTF-8 in a string (byte that never "
                                          "appears in UTF-8) near '\\xff\"}'"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        snprintf(path, sizeof path, "%s/syntax%zu.json", tmp, i);
        write_file(path, rows[i].text);
        snprintf(args, sizeof args, "run --direct --out %s/bad %s", tmp, path);
        snprintf(want, sizeof want, "tailgate run: %s:%s\n", path, rows[i].what);
        CHECK(exits_saying(args, 2, want));
    }
    /* the same words from `tailgate scenarios`, and for a gateway description */
    snprintf(path, sizeof path, "%s/syntax0.json", tmp);
    snprintf(args, sizeof args, "scenarios %s", path);
    snprintf(want, sizeof want, "%s:%s\n", path, rows[0].what);
    CHECK(exits_saying(args, 2, want));
    snprintf(args, sizeof args, "run --gateway %s --out %s/bad %s/exact.json", path, tmp, tmp);
    snprintf(want, sizeof want, "tailgate run: %s:%s\n", path, rows[0].what);
    CHECK(exits_saying(args, 2, want));
    rmdir(dir);
}

static void runner_should_write_valid_utf8_results_for_a_path_that_is_not_utf8(void)
{
    /* the scenario's path reaches results.json ("file"); the report reader is strict */
    char path[256], args[1024];
    snprintf(path, sizeof path, "%s/caf\xff.json", tmp);
    write_file(path, "{\"name\":\"notutf8\",\"model\":{\"ttft_ms\":0,\"tps\":200,\"length\":2},"
                     "\"traffic\":{\"requests\":1,\"concurrency\":1},"
                     "\"users\":[{\"action\":\"complete\"}],\"settle_ms\":0}\n");
    snprintf(args, sizeof args, "run --direct --out %s/notutf8 '%s'", tmp, path);
    CHECK_EQ_INT(run_tailgate(args), 0);
    snprintf(path, sizeof path, "%s/notutf8/results.json", tmp);
    char *text = slurp(path);
    CHECK(text != NULL);
    struct jparse_error je;
    cJSON *r = jparse_text(text, strlen(text), &je);
    free(text);
    if (r == NULL)
        fprintf(stderr, "  results.json: %s near '%s'\n", je.what, je.near);
    CHECK(r != NULL);
    const char *file = harness_str(scenario0(r), "file");
    int ok = file && strstr(file, "/caf\xef\xbf\xbd.json") != NULL;
    cJSON_Delete(r);
    CHECK(ok);
    snprintf(args, sizeof args, "report %s/notutf8", tmp);
    CHECK_EQ_INT(run_tailgate(args), 0);
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
     * for requests the mock billed under the second profile (its records in the run folder say
     * which), however long after the switch was set the first request went out */
    snprintf(args, sizeof args, "%s/replay/ledger.jsonl", tmp);
    char *ledger = slurp(args);
    cJSON *profile_of = cJSON_CreateObject();
    for (char *line = ledger ? strtok(ledger, "\n") : NULL; line; line = strtok(NULL, "\n")) {
        cJSON *j = cJSON_Parse(line);
        const char *cid = harness_str(j, "correlation_id"), *p = harness_str(j, "profile");
        if (cid && p && cJSON_GetObjectItemCaseSensitive(profile_of, cid) == NULL)
            cJSON_AddStringToObject(profile_of, cid, p);
        cJSON_Delete(j);
    }
    free(ledger);
    double cancelled = 0, billed = 0;
    const cJSON *q;
    int lost = 0, unbilled = 0;
    cJSON_ArrayForEach(q, cJSON_GetObjectItem(sc, "requests_detail"))
    {
        double metered = cJSON_IsNumber(cJSON_GetObjectItem(q, "metered_output_tokens"))
                             ? cJSON_GetObjectItem(q, "metered_output_tokens")->valuedouble
                             : -1;
        double bill = cJSON_GetObjectItem(q, "billed_output_tokens")->valuedouble;
        int cut = strcmp(cJSON_GetObjectItem(q, "action")->valuestring, "tab_close") == 0;
        lost |= metered < 0;
        const char *p = harness_str(profile_of, harness_str(q, "correlation_id"));
        unbilled += p == NULL;
        if (p == NULL || strcmp(p, "vendor-a-pre") == 0)
            continue;
        billed += bill;
        cancelled += cut ? bill : 0;
    }
    cJSON_Delete(profile_of);
    cJSON_Delete(r);
    CHECK_EQ_INT(switches, 1);
    CHECK_EQ_INT(lost, 0);     /* every request has its metering line */
    CHECK_EQ_INT(unbilled, 0); /* and its record in the mock's ledger */
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

/* ---- the outputs from a run_result built by hand: exact attributes ------------------------ */

/* One scenario 's1' with two gates, the second failed at 194.1; 's2' not run. */
struct fake_run {
    struct scenario sc;
    struct gate g[2];
    struct scenario_result res;
    struct run_result rr;
};

static struct fake_run *fake_run_new(void)
{
    struct fake_run *f = calloc(1, sizeof *f);
    if (f == NULL)
        return NULL;
    snprintf(f->sc.name, sizeof f->sc.name, "s1");
    snprintf(f->g[0].metric, sizeof f->g[0].metric, "upstream_attempts");
    snprintf(f->g[0].expr, sizeof f->g[0].expr, "max<=1");
    f->g[0].threshold = 1;
    snprintf(f->g[1].metric, sizeof f->g[1].metric, "tail_tokens");
    snprintf(f->g[1].expr, sizeof f->g[1].expr, "p(95)<=8");
    f->g[1].threshold = 8;
    f->res.sc = &f->sc;
    f->res.gates[0] = (struct gate_result){&f->g[0], 1, 1, 16};
    f->res.gates[1] = (struct gate_result){&f->g[1], 194.1, 0, 16};
    f->res.ngates = 2;
    f->res.duration_s = 2;
    snprintf(f->res.started_utc, sizeof f->res.started_utc, "2026-01-31T12:00:05Z");
    for (int m = 0; m < S_N_SCALAR; m++)
        f->res.scalar[m] = NAN;
    f->rr.sr = &f->res;
    f->rr.n = 1;
    snprintf(f->rr.started_utc, sizeof f->rr.started_utc, "2026-01-31T12:00:00Z");
    snprintf(f->rr.hostname, sizeof f->rr.hostname, "ci-host");
    snprintf(f->rr.gateway, sizeof f->rr.gateway, "gw");
    snprintf(f->rr.version, sizeof f->rr.version, "9.9.9");
    f->rr.seed = 7;
    f->rr.total_s = 5;
    f->rr.not_run[f->rr.nnot_run++] = "s2";
    snprintf(f->rr.aborted, sizeof f->rr.aborted, "aborted: gate tail_tokens p(95)<=8 failed");
    return f;
}

static void totals(const struct run_result *r, size_t want_t, size_t want_f, size_t want_e,
                   size_t want_s)
{
    size_t t, f, e, s;
    junit_totals(r, &t, &f, &e, &s);
    CHECK_EQ_INT(t, want_t);
    CHECK_EQ_INT(f, want_f);
    CHECK_EQ_INT(e, want_e);
    CHECK_EQ_INT(s, want_s);
}

static void junit_should_write_exact_attributes_for_a_failed_gate_and_a_scenario_not_run(void)
{
    struct fake_run *f = fake_run_new();
    CHECK(f != NULL);
    if (f == NULL)
        return;
    char *xml = junit_build(&f->rr);
    CHECK(xml != NULL);
    const char *want[] = {
        "<testsuites>\n",
        "<testsuite name=\"s1\" package=\"tailgate\" id=\"0\" tests=\"2\" failures=\"1\" "
        "errors=\"0\" skipped=\"0\" time=\"2.000\" timestamp=\"2026-01-31T12:00:05\" "
        "hostname=\"ci-host\">",
        "<property name=\"seed\" value=\"7\"/>",
        "<testcase classname=\"s1\" name=\"upstream_attempts max&lt;=1\" time=\"1.000\"/>",
        "<testcase classname=\"s1\" name=\"tail_tokens p(95)&lt;=8\" time=\"1.000\">\n"
        "      <failure type=\"gate\" message=\"tail_tokens p(95)&lt;=8: observed 194.1 vs "
        "threshold 8\">",
        "<testsuite name=\"s2\" package=\"tailgate\" id=\"1\" tests=\"1\" failures=\"0\" "
        "errors=\"0\" skipped=\"1\" time=\"0.000\" timestamp=\"2026-01-31T12:00:00\"",
        "<skipped message=\"did not run: the run stopped early: aborted: gate tail_tokens "
        "p(95)&lt;=8 failed\">",
        "<system-out></system-out>\n    <system-err></system-err>\n  </testsuite>",
    };
    for (size_t i = 0; xml && i < sizeof want / sizeof want[0]; i++)
        CHECK(strstr(xml, want[i]) != NULL);
    CHECK(xml && strstr(xml, "name=\"environment\"") == NULL); /* no environment failure */
    totals(&f->rr, 3, 1, 0, 1);
    free(xml);
    free(f);
}

static void junit_should_skip_the_gates_of_a_scenario_that_could_not_be_judged(void)
{
    struct fake_run *f = fake_run_new();
    CHECK(f != NULL);
    if (f == NULL)
        return;
    f->rr.aborted[0] = '\0';
    snprintf(f->res.error, sizeof f->res.error, "mockprov exited during the scenario");
    snprintf(f->rr.env_error, sizeof f->rr.env_error, "s1: mockprov exited during the scenario");
    snprintf(f->rr.env_kind, sizeof f->rr.env_kind, "environment");
    char *xml = junit_build(&f->rr);
    CHECK(xml && strstr(xml, "<testsuite name=\"s1\" package=\"tailgate\" id=\"0\" tests=\"3\" "
                             "failures=\"0\" errors=\"1\" skipped=\"2\" time=\"2.000\""));
    CHECK(xml && strstr(xml, "<skipped message=\"not judged: mockprov exited during the "
                             "scenario\">"));
    CHECK(xml && strstr(xml, "<testcase classname=\"s1\" name=\"scenario could be judged\" "
                             "time=\"0.667\">\n      <error type=\"environment\" "
                             "message=\"mockprov exited during the scenario\">"));
    CHECK(xml && strstr(xml, "<skipped message=\"did not run: the run stopped: s1: mockprov "
                             "exited during the scenario\">"));
    /* the scenario holds the error: no second, run-level testcase for it */
    CHECK(xml && strstr(xml, "name=\"environment\"") == NULL);
    totals(&f->rr, 4, 0, 1, 3);
    free(xml);
    free(f);
}

static void junit_should_name_an_environment_failure_in_its_own_error_testcase(void)
{
    struct fake_run *f = fake_run_new();
    CHECK(f != NULL);
    if (f == NULL)
        return;
    f->rr.n = 0; /* the gateway never started: nothing ran */
    f->rr.aborted[0] = '\0';
    f->rr.hostname[0] = '\0';
    /* a path from the command line: a control byte and a byte that is not UTF-8 */
    snprintf(f->rr.env_error, sizeof f->rr.env_error, "mockprov unreachable at x\x01y\xff");
    snprintf(f->rr.env_kind, sizeof f->rr.env_kind, "environment");
    char *xml = junit_build(&f->rr);
    CHECK(xml && strstr(xml, "<testsuite name=\"tailgate\" package=\"tailgate\" id=\"1\" "
                             "tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\" "
                             "time=\"5.000\" timestamp=\"2026-01-31T12:00:00\" "
                             "hostname=\"localhost\">"));
    CHECK(xml && strstr(xml, "<testcase classname=\"tailgate\" name=\"environment\" "
                             "time=\"5.000\">\n      <error type=\"environment\" "
                             "message=\"mockprov unreachable at x?y\xef\xbf\xbd\">"));
    totals(&f->rr, 2, 0, 1, 1);
    free(xml);
    free(f);
}

static void summary_should_write_every_figure_at_one_precision(void)
{
    static const struct {
        double v;
        const char *want;
    } rows[] = {
        {194.1, "194.1"}, {1953.46, "1953.5"}, {1.689, "1.69"}, {2.10, "2.1"},
        {0.004, "0.004"}, {0.5, "0.5"},       {3, "3"},         {0, "0"},
        {-0.0, "0"},      {NAN, "–"},         {INFINITY, "–"},  {-INFINITY, "–"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char out[48];
        report_summary_figure(out, sizeof out, rows[i].v);
        CHECK_EQ_STR(out, rows[i].want);
    }
}

static void summary_should_start_red_or_green_and_match_the_gate_figure(void)
{
    struct fake_run *f = fake_run_new();
    CHECK(f != NULL);
    if (f == NULL)
        return;
    for (int m = 0; m < M_N_SAMPLE; m++)
        stats_init(&f->res.m[m]);
    stats_add(&f->res.m[M_TAIL_TOKENS], 194.1);
    char *md = report_summary_md(&f->rr);
    CHECK(md && strncmp(md, "### 🔴 FAIL: tailgate, 1 of 1 scenarios failed against gw\n", 60) == 0);
    /* the p95 column and the failed gate show 194.1 alike */
    CHECK(md && strstr(md, "| s1 | **FAIL** | 0 | 0 | 194.1 | – | – | – | – | "
                           "`tail_tokens p(95)<=8` (194.1) |"));
    CHECK(md && strstr(md, "**Stopped early:** aborted: gate tail_tokens p(95)<=8 failed"));
    CHECK(md && strstr(md, "nan") == NULL && strstr(md, "lock offset") == NULL);
    free(md);
    f->res.gates[1].pass = 1;
    f->res.pass = 1;
    f->rr.pass = 1;
    f->rr.nnot_run = 0;
    f->rr.aborted[0] = '\0';
    md = report_summary_md(&f->rr);
    CHECK(md && strncmp(md, "### 🟢 PASS: tailgate, every gate passed against gw\n", 50) == 0);
    free(md);
    stats_cleanup(&f->res.m[M_TAIL_TOKENS]);
    free(f);
}

static void results_should_start_with_the_schema_version(void)
{
    struct fake_run *f = fake_run_new();
    CHECK(f != NULL);
    if (f == NULL)
        return;
    snprintf(f->sc.file, sizeof f->sc.file, "s1.json");
    snprintf(f->rr.env_error, sizeof f->rr.env_error, "usage: bad toxic");
    snprintf(f->rr.env_kind, sizeof f->rr.env_kind, "usage");
    cJSON *o = resultsjson_build(&f->rr);
    CHECK(o && o->child && strcmp(o->child->string, "schema_version") == 0);
    CHECK_EQ_STR(harness_str(o, "schema_version"), RESULTS_SCHEMA_VERSION);
    CHECK_EQ_STR(harness_str(o, "hostname"), "ci-host");
    CHECK_EQ_STR(harness_str(o, "verdict"), "error");
    CHECK_EQ_STR(harness_str(o, "error_kind"), "usage");
    CHECK_EQ_STR(harness_str(o, "aborted"), "aborted: gate tail_tokens p(95)<=8 failed");
    const cJSON *sc = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "scenarios"), 0);
    CHECK_EQ_STR(harness_str(sc, "started_utc"), "2026-01-31T12:00:05Z");
    cJSON_Delete(o);
    free(f);
}

static void verdict_should_leave_a_scenario_whose_mock_fell_behind_not_judged(void)
{
    struct scenario_result res;
    memset(&res, 0, sizeof res);
    char why[256] = "";
    res.mock_rate_share = NAN; /* the lag alone, first */
    res.mock_lag_p99_ms = 106.94;
    res.mock_late_share = 0.975;
    res.mock_tokens_timed = 800;
    CHECK_EQ_INT(verdict_mock_overloaded(&res, 50, why, sizeof why), 1);
    CHECK_EQ_STR(why, "mockprov fell behind: token lag p99 106.9 ms > --max-mock-lag-ms 50 "
                      "(97.5% of 800 tokens more than 5 ms late); the mock, not the gateway, was "
                      "the bottleneck");
    why[0] = '\0';
    res.mock_lag_p99_ms = 50; /* at the limit is within it */
    CHECK_EQ_INT(verdict_mock_overloaded(&res, 50, why, sizeof why), 0);
    CHECK_EQ_STR(why, "");
    res.mock_lag_p99_ms = NAN; /* a mock that does not say is not checked */
    CHECK_EQ_INT(verdict_mock_overloaded(&res, 50, why, sizeof why), 0);
    res.mock_lag_p99_ms = 1e9; /* --max-mock-lag-ms off */
    CHECK_EQ_INT(verdict_mock_overloaded(&res, INFINITY, why, sizeof why), 0);
    CHECK_EQ_STR(why, "");
    /* a quick loop whose streams all ran slow: little lag behind the slid timetables, a third
     * of the asked rate */
    res.mock_lag_p99_ms = 35.2;
    res.mock_rate_share = 0.3333;
    CHECK_EQ_INT(verdict_mock_overloaded(&res, 50, why, sizeof why), 1);
    CHECK_EQ_STR(why, "mockprov fell behind: it kept 33.3% of the token rate its profiles asked "
                      "(< 90%; token lag p99 35.2 ms); the mock, not the gateway, was the "
                      "bottleneck");
    why[0] = '\0';
    res.mock_rate_share = 0.9; /* at the limit is within it */
    CHECK_EQ_INT(verdict_mock_overloaded(&res, 50, why, sizeof why), 0);
    res.mock_rate_share = NAN; /* a mock that does not say */
    CHECK_EQ_INT(verdict_mock_overloaded(&res, 50, why, sizeof why), 0);
    res.mock_rate_share = 0.2; /* off judges it anyway */
    CHECK_EQ_INT(verdict_mock_overloaded(&res, INFINITY, why, sizeof why), 0);
    CHECK_EQ_STR(why, "");
}

static void results_should_carry_the_mocks_lag_per_scenario(void)
{
    struct fake_run *f = fake_run_new();
    CHECK(f != NULL);
    if (f == NULL)
        return;
    f->res.mock_lag_p99_ms = 1.5;
    f->res.mock_late_share = 0.25;
    f->res.mock_rate_share = 0.5;
    cJSON *o = resultsjson_build(&f->rr);
    const cJSON *sc = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "scenarios"), 0);
    CHECK(harness_num(sc, "mock_lag_p99_ms") == 1.5);
    CHECK(harness_num(sc, "mock_late_share") == 0.25);
    CHECK(harness_num(sc, "mock_rate_share") == 0.5);
    cJSON_Delete(o);
    f->res.mock_lag_p99_ms = f->res.mock_late_share = f->res.mock_rate_share = NAN; /* no say */
    o = resultsjson_build(&f->rr);
    sc = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "scenarios"), 0);
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(sc, "mock_lag_p99_ms")));
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(sc, "mock_late_share")));
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(sc, "mock_rate_share")));
    cJSON_Delete(o);
    free(f);
}

/* ---- a run that could not judge never says pass ------------------------------------------ */

static void write_badgw(const char *mode)
{
    char path[256], text[1024];
    snprintf(path, sizeof path, "%s/gw-bad%s.json", tmp, mode);
    snprintf(text, sizeof text,
             "{\"name\":\"bad-%s\",\"command\":[\"python3\","
             "\"tests/fixtures/gateways/badgw.py\",\"--mode\",\"%s\",\"--listen\",\"{{PORT}}\","
             "\"--upstream\",\"{{MOCK_URL}}\"],\"url\":\"http://127.0.0.1:{{PORT}}\","
             "\"ready\":{\"path\":\"/healthz\",\"timeout_ms\":10000},\"style\":\"openai-chat\"}\n",
             mode, mode);
    write_file(path, text);
}

static int file_has(const char *dir, const char *name, const char *needle)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s/%s", tmp, dir, name);
    char *text = slurp(path);
    int yes = text && strstr(text, needle) != NULL;
    free(text);
    return yes;
}

static double kind_count(const cJSON *sc, const char *kind)
{
    const cJSON *k = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(sc, "errors"),
                                                             "by_kind"),
                                         kind);
    return cJSON_IsNumber(k) ? k->valuedouble : -1;
}

/* The control scenario against a broken gateway: fails, naming the cause everywhere. */
static void check_bad_gateway(const char *mode, const char *kind)
{
    write_badgw(mode);
    char args[512], out[32], needle[64];
    snprintf(out, sizeof out, "bad%s", mode);
    /* the shipped control scenario: 16 users who read 200 tokens to the end */
    snprintf(args, sizeof args, "run --gateway %s/gw-bad%s.json --out %s/%s scenarios/control.json",
             tmp, mode, tmp, out);
    CHECK_EQ_INT(run_tailgate(args), 1);
    cJSON *r = results(out);
    CHECK(r != NULL);
    const cJSON *sc = scenario0(r);
    CHECK_EQ_STR(sget(r, "verdict"), "fail");
    CHECK_EQ_STR(sget(sc, "verdict"), "fail");
    CHECK(kind_count(sc, kind) == 16);
    CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(sc, "scalars"), "error_rate")->valuedouble ==
          1);
    CHECK_EQ_INT(gate_verdict(sc, "upstream_attempts", "max<=1"), 1); /* the gate alone passes */
    snprintf(needle, sizeof needle, "16 x %s", kind);
    CHECK(file_has(out, "summary.md", needle));
    CHECK(file_has(out, "junit.xml", needle));
    CHECK(file_has(out, "junit.xml", "<failure"));
    cJSON_Delete(r);
}

static void runner_should_fail_control_against_a_gateway_answering_500(void)
{
    check_bad_gateway("500", "http_500");
}

static void runner_should_fail_control_against_a_gateway_answering_502_and_count_its_waste(void)
{
    check_bad_gateway("502", "http_502");
    /* the gateway left its upstream running after it failed the user: that is a tail */
    cJSON *r = results("bad502");
    double lo, hi;
    range(scenario0(r), "tail_tokens", &lo, &hi);
    CHECK(lo >= 150 && hi <= 200); /* of 200, only the first went out before the 502 */
    cJSON_Delete(r);
}

static void runner_should_fail_control_against_a_gateway_that_truncates_streams(void)
{
    check_bad_gateway("truncate", "truncated");
}

static pid_t spawn_tailgate(const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "exec %s %s >%s/stdout.txt 2>%s/stderr.txt", bin, args, tmp, tmp);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* The exit status within timeout_ms, or -1 (then the child is killed). */
static int wait_exit(pid_t pid, int timeout_ms)
{
    int st;
    for (int waited = 0; waited < timeout_ms; waited += 20) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        harness_sleep_ms(20);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

/* Polls the mock's ledger until it holds a record: the scenario is under way. */
static int wait_traffic(int mock_port)
{
    for (int i = 0; i < 1000; i++) {
        char *body = NULL;
        int st = harness_http(mock_port, "GET", "/_tailgate/ledger", NULL, NULL, &body, NULL);
        cJSON *j = st == 200 && body ? cJSON_Parse(body) : NULL;
        free(body);
        double n = harness_num(j, "count");
        cJSON_Delete(j);
        if (n >= 1)
            return 1;
        harness_sleep_ms(20);
    }
    return 0;
}

/* 8 users reading 100 tokens at 20/s: long enough to kill something mid-scenario. */
static const char *const long_text =
    "{\"name\":\"long\",\"profile\":\"vendor-b-post\",\n"
    " \"model\":{\"ttft_ms\":0,\"tps\":20,\"jitter\":0,\"length\":100},\n"
    " \"traffic\":{\"requests\":8,\"concurrency\":2},\n"
    " \"users\":[{\"action\":\"complete\"}],\n"
    " \"settle_ms\":1000,\n"
    " \"gates\":{\"upstream_attempts\":[\"max<=1\"]}}\n";

static void check_error_artifacts(const char *out, int two_scenarios)
{
    cJSON *r = results(out);
    CHECK(r != NULL);
    CHECK_EQ_STR(sget(r, "verdict"), "error");
    CHECK(cJSON_IsString(cJSON_GetObjectItem(r, "error")));
    CHECK_EQ_STR(sget(scenario0(r), "verdict"), "error");
    if (two_scenarios) /* the second scenario did not run, and says so */
        CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(r, "not_run")), 1);
    cJSON_Delete(r);
    CHECK(file_has(out, "junit.xml", "<error"));
    CHECK(file_has(out, "junit.xml", "errors=\"1\" skipped="));
    CHECK(file_has(out, "summary.md", "### 🔴 ERROR"));
    CHECK(!file_has(out, "summary.md", "all gates pass"));
    CHECK(file_has(out, "index.html", "ERROR"));
}

static void runner_should_report_error_when_the_mock_dies_mid_run(void)
{
    struct proc mock;
    CHECK_EQ_INT(harness_start_mock(&mock, NULL), 0);
    write_gateway("fixed", NULL);
    char args[1024];
    snprintf(args, sizeof args,
             "run --gateway %s/gw-fixed.json --mock-url http://127.0.0.1:%d --out %s/mockdies "
             "%s/long.json %s/exact.json",
             tmp, mock.port, tmp, tmp, tmp);
    pid_t pid = spawn_tailgate(args);
    CHECK(wait_traffic(mock.port));
    kill(mock.pid, SIGKILL);
    CHECK_EQ_INT(wait_exit(pid, 60000), 3);
    harness_stop(&mock);
    check_error_artifacts("mockdies", 1);
}

static void runner_should_report_error_when_the_gateway_dies_mid_run(void)
{
    struct proc mock;
    CHECK_EQ_INT(harness_start_mock(&mock, NULL), 0);
    char path[256], text[1024], args[1024];
    snprintf(path, sizeof path, "%s/gw-dies.json", tmp);
    /* the shell records the gateway's pid, then becomes it */
    snprintf(text, sizeof text,
             "{\"name\":\"dies-mid-run\",\"command\":[\"sh\",\"-c\",\"echo $$ > %s/gw.pid; "
             "exec %s --mode fixed --listen 127.0.0.1:{{PORT}} --upstream {{MOCK_URL}}\"],"
             "\"url\":\"http://127.0.0.1:{{PORT}}\",\"ready\":{\"path\":\"/healthz\"},"
             "\"style\":\"openai-chat\"}\n",
             tmp, refgw);
    write_file(path, text);
    snprintf(args, sizeof args,
             "run --gateway %s --mock-url http://127.0.0.1:%d --out %s/gwdies %s/long.json "
             "%s/exact.json",
             path, mock.port, tmp, tmp, tmp);
    pid_t pid = spawn_tailgate(args);
    CHECK(wait_traffic(mock.port));
    snprintf(path, sizeof path, "%s/gw.pid", tmp);
    char *p = slurp(path);
    CHECK(p != NULL);
    pid_t gw = p ? (pid_t)atol(p) : 0;
    free(p);
    if (gw > 0)
        kill(gw, SIGKILL);
    CHECK_EQ_INT(wait_exit(pid, 60000), 3);
    harness_stop(&mock);
    check_error_artifacts("gwdies", 1);
    CHECK(file_has("gwdies", "summary.md", "the gateway exited during the scenario"));
}

static void runner_should_report_error_when_interrupted(void)
{
    struct proc mock;
    CHECK_EQ_INT(harness_start_mock(&mock, NULL), 0);
    write_gateway("fixed", NULL);
    char args[1024];
    snprintf(args, sizeof args,
             "run --gateway %s/gw-fixed.json --mock-url http://127.0.0.1:%d --out %s/intr "
             "%s/long.json %s/exact.json",
             tmp, mock.port, tmp, tmp, tmp);
    pid_t pid = spawn_tailgate(args);
    CHECK(wait_traffic(mock.port));
    kill(pid, SIGINT);
    CHECK_EQ_INT(wait_exit(pid, 60000), 3);
    harness_stop(&mock);
    check_error_artifacts("intr", 1);
}

static void runner_should_write_artifacts_when_the_gateway_never_starts(void)
{
    char path[256], args[512];
    snprintf(path, sizeof path, "%s/gw-false.json", tmp);
    write_file(path, "{\"name\":\"dies\",\"command\":[\"false\"],\"url\":"
                     "\"http://127.0.0.1:{{PORT}}\",\"ready\":{\"timeout_ms\":3000}}");
    snprintf(args, sizeof args, "run --gateway %s --out %s/nostart %s/exact.json", path, tmp,
             tmp);
    CHECK_EQ_INT(run_tailgate(args), 3);
    cJSON *r = results("nostart");
    CHECK(r != NULL);
    CHECK_EQ_STR(sget(r, "verdict"), "error");
    CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(r, "not_run")), 1);
    cJSON_Delete(r);
    CHECK(file_has("nostart", "junit.xml", "<error"));
    CHECK(file_has("nostart", "summary.md", "did not run"));
    CHECK(file_has("nostart", "index.html", "could not judge"));
}

/* Every verdict traces to its requests: both sides' records, one JSON line each. */
static void runner_should_keep_both_sides_records_as_json_lines(void)
{
    char args[512];
    snprintf(args, sizeof args, "run --direct --out %s/forensics %s/exact.json", tmp, tmp);
    CHECK_EQ_INT(run_tailgate(args), 0);
    int lines[2] = {0, 0};
    const char *names[2] = {"ledger.jsonl", "client.jsonl"};
    for (int i = 0; i < 2; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/forensics/%s", tmp, names[i]);
        char *text = slurp(path);
        for (char *line = text ? strtok(text, "\n") : NULL; line; line = strtok(NULL, "\n")) {
            cJSON *j = cJSON_Parse(line);
            lines[i] += j && strcmp(harness_str(j, "scenario"), "exact") == 0;
            cJSON_Delete(j);
        }
        free(text);
    }
    CHECK_EQ_INT(lines[0], 4);
    CHECK_EQ_INT(lines[1], 4);
    /* delivery through the (absent) gateway: every delivered token has a delay, one read each */
    cJSON *r = results("forensics");
    const cJSON *m = cJSON_GetObjectItem(cJSON_GetObjectItem(scenario0(r), "metrics"),
                                         "delivery_ms");
    CHECK(harness_num(m, "count") == 20); /* 4 users x 5 tokens before the abort */
    CHECK(harness_num(m, "p50") >= 0 && harness_num(m, "p50") < 50);
    double lo, hi;
    range(scenario0(r), "tokens_per_arrival", &lo, &hi);
    CHECK(lo >= 1 && hi <= 1.5);
    cJSON_Delete(r);
}

/* isolate: the next request starts only after the mock saw the previous one's upstream end.
 * refgw slow closes upstream 600 ms after its user left, so without isolation the second
 * request would start during that time. */
static void runner_should_isolate_requests_at_concurrency_1(void)
{
    char path[256], args[512];
    snprintf(path, sizeof path, "%s/iso.json", tmp);
    write_file(path, "{\"name\":\"iso\",\"profile\":\"vendor-b-post\",\n"
                     " \"model\":{\"ttft_ms\":0,\"tps\":20,\"jitter\":0,\"length\":40},\n"
                     " \"traffic\":{\"requests\":3,\"concurrency\":1,\"isolate\":true,"
                     "\"think_ms\":50},\n"
                     " \"users\":[{\"action\":\"tab_close\",\"after_tokens\":3}],\n"
                     " \"settle_ms\":4000,\"gates\":{\"tail_tokens\":[\"max<=40\"]}}\n");
    write_gateway("slow", NULL);
    snprintf(args, sizeof args, "run --gateway %s/gw-slow.json --out %s/iso %s", tmp, tmp, path);
    CHECK_EQ_INT(run_tailgate(args), 0);
    /* pair each request's send with the previous one's upstream close, from the forensics */
    snprintf(path, sizeof path, "%s/iso/ledger.jsonl", tmp);
    char *text = slurp(path);
    double closed[3] = {0, 0, 0};
    for (char *line = text ? strtok(text, "\n") : NULL; line; line = strtok(NULL, "\n")) {
        cJSON *j = cJSON_Parse(line);
        const char *cid = harness_str(j, "correlation_id");
        int k = cid ? atoi(cid + strlen(cid) - 1) : -1;
        if (k >= 0 && k < 3)
            closed[k] = harness_num(j, "t_peer_closed_ns");
        cJSON_Delete(j);
    }
    free(text);
    cJSON *r = results("iso");
    const cJSON *q;
    int ordered = 0, n = 0;
    cJSON_ArrayForEach(q, cJSON_GetObjectItem(scenario0(r), "requests_detail"))
    {
        const char *cid = harness_str(q, "correlation_id");
        int k = atoi(cid + strlen(cid) - 1);
        n++;
        if (k > 0)
            ordered += harness_num(q, "t_send_ns") > closed[k - 1] && closed[k - 1] > 0;
    }
    cJSON_Delete(r);
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_INT(ordered, 2);
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
        CASE(runner_should_say_how_every_request_ended),
        CASE(runner_should_judge_agent_tasks_whole),
        CASE(runner_should_count_a_reasoning_tail_apart),
        CASE(runner_should_exit_2_naming_file_line_and_key_for_a_bad_scenario),
        CASE(runner_should_exit_2_with_a_clear_message_for_unreadable_or_malformed_input),
        CASE(runner_should_write_valid_utf8_results_for_a_path_that_is_not_utf8),
        CASE(runner_should_exit_3_when_the_environment_fails),
        CASE(runner_should_reconcile_metering_across_a_billing_change),
        CASE(runner_should_validate_every_shipped_scenario),
        CASE(runner_should_fail_control_against_a_gateway_answering_500),
        CASE(runner_should_fail_control_against_a_gateway_answering_502_and_count_its_waste),
        CASE(runner_should_fail_control_against_a_gateway_that_truncates_streams),
        CASE(runner_should_report_error_when_the_mock_dies_mid_run),
        CASE(runner_should_report_error_when_the_gateway_dies_mid_run),
        CASE(runner_should_report_error_when_interrupted),
        CASE(runner_should_write_artifacts_when_the_gateway_never_starts),
        CASE(junit_should_write_exact_attributes_for_a_failed_gate_and_a_scenario_not_run),
        CASE(junit_should_skip_the_gates_of_a_scenario_that_could_not_be_judged),
        CASE(junit_should_name_an_environment_failure_in_its_own_error_testcase),
        CASE(summary_should_write_every_figure_at_one_precision),
        CASE(summary_should_start_red_or_green_and_match_the_gate_figure),
        CASE(results_should_start_with_the_schema_version),
        CASE(verdict_should_leave_a_scenario_whose_mock_fell_behind_not_judged),
        CASE(results_should_carry_the_mocks_lag_per_scenario),
        CASE(runner_should_keep_both_sides_records_as_json_lines),
        CASE(runner_should_isolate_requests_at_concurrency_1),
    };
    bin = getenv("TAILGATE_BIN") ? getenv("TAILGATE_BIN") : "./tailgate";
    refgw = getenv("REFGW_BIN") ? getenv("REFGW_BIN") : "build/refgw";
    snprintf(tmp, sizeof tmp, "/tmp/tgrun.XXXXXX");
    if (mkdtemp(tmp) == NULL)
        return 1;
    char path[256];
    snprintf(path, sizeof path, "%s/exact.json", tmp);
    write_file(path, scenario_text);
    snprintf(path, sizeof path, "%s/long.json", tmp);
    write_file(path, long_text);
    int rc = check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    return rc;
}
