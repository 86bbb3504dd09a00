/* Gates in k6's threshold grammar: every accepted form with its exact parse (through the
 * scenario loader, as a file gives it), every rejected form with its exact message, k6
 * durations, and end to end in --direct runs: an abortOnFail gate stopping the run, its
 * delayAbortEval holding the abort back, and sub-metrics over only their tagged requests. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "gate.h"
#include "harness.h"
#include "scenario.h"

static char tmp[64];
static const char *bin;

/* a scenario around one "gates" member; the gate's line is 3 */
static int load(const char *gates, struct scenario *s, char *err, size_t errlen)
{
    char text[2048];
    snprintf(text, sizeof text,
             "{\"name\":\"g\",\"users\":[{\"action\":\"tab_close\",\"kind\":\"mobile\"},\n"
             "{\"action\":\"complete\",\"kind\":\"desktop\"}],\n"
             "\"gates\":{%s}}\n",
             gates);
    return scenario_parse_buffer("g.json", text, strlen(text), s, err, errlen);
}

static void gate_should_parse_every_accepted_form_exactly(void)
{
    static const struct {
        const char *gates;
        const char *metric, *base, *tag1, *tag2; /* "key=value" */
        enum gate_agg agg;
        double p;
        enum gate_op op;
        double threshold;
        int abort;
        uint64_t delay_ns;
    } rows[] = {
        {"\"tail_tokens\":[\"p(95)<=8\"]", "tail_tokens", "tail_tokens", NULL, NULL, GATE_P, 95,
         GATE_LE, 8, 0, 0},
        {"\"tail_tokens\":[\"p(99.9) < 2.5e3\"]", "tail_tokens", "tail_tokens", NULL, NULL, GATE_P,
         99.9, GATE_LT, 2500, 0, 0},
        {"\"close_lag_ms\":[\"avg>=-0.5\"]", "close_lag_ms", "close_lag_ms", NULL, NULL, GATE_AVG,
         0, GATE_GE, -0.5, 0, 0},
        {"\"tail_tokens\":[\"med>.5\"]", "tail_tokens", "tail_tokens", NULL, NULL, GATE_MED, 0,
         GATE_GT, 0.5, 0, 0},
        {"\"tail_tokens\":[\"min===0\"]", "tail_tokens", "tail_tokens", NULL, NULL, GATE_MIN, 0,
         GATE_EQ, 0, 0, 0},
        {"\"tail_tokens\":[\"max==3\"]", "tail_tokens", "tail_tokens", NULL, NULL, GATE_MAX, 0,
         GATE_EQ, 3, 0, 0},
        {"\"tail_tokens\":[\"count!=0\"]", "tail_tokens", "tail_tokens", NULL, NULL, GATE_COUNT, 0,
         GATE_NE, 0, 0, 0},
        {"\"rid_propagated\":[\"rate>=1\"]", "rid_propagated", "rid_propagated", NULL, NULL,
         GATE_RATE, 0, GATE_GE, 1, 0, 0},
        {"\"ptdr\":[\"value<=1.1\"]", "ptdr", "ptdr", NULL, NULL, GATE_VALUE, 0, GATE_LE, 1.1, 0,
         0},
        {"\"tail_tokens{action:tab_close}\":[\"p(95)<=8\"]", "tail_tokens{action:tab_close}",
         "tail_tokens", "action=tab_close", NULL, GATE_P, 95, GATE_LE, 8, 0, 0},
        {"\"delivered_tokens{ kind : 'mobile' , action:\\\"tab_close\\\"}\":[\"max<=5\"]",
         "delivered_tokens{ kind : 'mobile' , action:\"tab_close\"}", "delivered_tokens",
         "kind=mobile", "action=tab_close", GATE_MAX, 0, GATE_LE, 5, 0, 0},
        {"\"tail_tokens\":[{\"threshold\":\"p(95)<=8\",\"abortOnFail\":true,"
         "\"delayAbortEval\":\"10s\"}]",
         "tail_tokens", "tail_tokens", NULL, NULL, GATE_P, 95, GATE_LE, 8, 1, 10000000000ull},
        {"\"tail_tokens\":[{\"threshold\":\"max<=1\",\"abortOnFail\":false}]", "tail_tokens",
         "tail_tokens", NULL, NULL, GATE_MAX, 0, GATE_LE, 1, 0, 0},
        {"\"orphaned{kind:desktop}\":[{\"threshold\":\"rate==0\",\"delayAbortEval\":\"1m30s\"}]",
         "orphaned{kind:desktop}", "orphaned", "kind=desktop", NULL, GATE_RATE, 0, GATE_EQ, 0, 0,
         90000000000ull},
        {"\"tail_tokens\":[{\"threshold\":\"max<=1\",\"abortOnFail\":true,"
         "\"delayAbortEval\":\"500ms\"}]",
         "tail_tokens", "tail_tokens", NULL, NULL, GATE_MAX, 0, GATE_LE, 1, 1, 500000000ull},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct scenario s;
        char err[1024] = "";
        int rc = load(rows[i].gates, &s, err, sizeof err);
        if (rc != 0)
            fprintf(stderr, "  row %zu: %s\n", i, err);
        CHECK_EQ_INT(rc, 0);
        const struct gate *g = &s.gates[0];
        char tag[2][64] = {"", ""};
        for (size_t t = 0; t < g->ntags; t++)
            snprintf(tag[t], sizeof tag[t], "%s=%s", gate_tag_key_text(g->tags[t].key),
                     g->tags[t].value);
        int ok = s.ngates == 1 && strcmp(g->metric, rows[i].metric) == 0 &&
                 strcmp(g->base, rows[i].base) == 0 &&
                 strcmp(tag[0], rows[i].tag1 ? rows[i].tag1 : "") == 0 &&
                 strcmp(tag[1], rows[i].tag2 ? rows[i].tag2 : "") == 0 &&
                 g->agg == rows[i].agg && g->p == rows[i].p && g->op == rows[i].op &&
                 g->threshold == rows[i].threshold && g->abort_on_fail == rows[i].abort &&
                 g->delay_abort_ns == rows[i].delay_ns;
        if (!ok)
            fprintf(stderr, "  row %zu: %s|%s|%s|%s agg %d p %g op %d thr %g abort %d delay %llu\n",
                    i, g->metric, g->base, tag[0], tag[1], g->agg, g->p, g->op, g->threshold,
                    g->abort_on_fail, (unsigned long long)g->delay_abort_ns);
        scenario_cleanup(&s);
        CHECK(ok);
    }
}

static void gate_should_reject_what_it_does_not_support_saying_what_it_does(void)
{
    static const struct {
        const char *gates, *err;
    } rows[] = {
        {"\"rid_propagated\":[\"p(95)<=1\"]",
         "g.json:3: gates.rid_propagated[0]: 'rid_propagated' is 1 or 0 per request: rate "
         "metrics take 'rate' (the share of 1s), not 'p(95)', e.g. \"rate>=1\""},
        {"\"ptdr\":[\"max<=1\"]", "g.json:3: gates.ptdr[0]: 'ptdr' is one number per scenario: "
                                  "gauges take 'value', not 'max', e.g. \"value<=1.1\""},
        {"\"tail_tokens\":[\"rate<=1\"]",
         "g.json:3: gates.tail_tokens[0]: 'tail_tokens' has a sample per request: trends take "
         "p(N), avg, min, max, med or count, not 'rate'"},
        {"\"tail_tokens\":[\"p95<=1\"]",
         "g.json:3: gates.tail_tokens[0]: 'p95<=1': unsupported aggregation 'p95'; k6 writes a "
         "percentile p(95); supported: p(N), avg, min, max, med, count, rate or value"},
        {"\"tail_tokens\":[\"stddev<1\"]",
         "g.json:3: gates.tail_tokens[0]: 'stddev<1': unsupported aggregation 'stddev'; "
         "supported: p(N), avg, min, max, med, count, rate or value"},
        {"\"tail_tokens\":[\"p(101)<1\"]",
         "g.json:3: gates.tail_tokens[0]: 'p(101)<1': expected p(N) with N a number from 0 to "
         "100, e.g. p(95) or p(99.9)"},
        {"\"tail_tokens\":[\"max=<1\"]",
         "g.json:3: gates.tail_tokens[0]: 'max=<1': unsupported operator '=<'; supported: <, "
         "<=, >, >=, ==, === or !="},
        {"\"tail_tokens\":[\"max 1\"]",
         "g.json:3: gates.tail_tokens[0]: 'max 1': expected an operator after the aggregation: "
         "<, <=, >, >=, ==, === or !="},
        {"\"tail_tokens\":[\"max<=\"]",
         "g.json:3: gates.tail_tokens[0]: 'max<=': expected a decimal number after the "
         "operator, e.g. 8, 0.95, -0.5 or 2.5e3"},
        {"\"tail_tokens\":[\"max<=1ms\"]",
         "g.json:3: gates.tail_tokens[0]: 'max<=1ms': unexpected 'ms' after the number; an "
         "expression is aggregation operator number, e.g. p(95)<=8"},
        {"\"tail_tokens\":[\"max<=1e999\"]",
         "g.json:3: gates.tail_tokens[0]: 'max<=1e999': the number is out of range"},
        {"\"tail_tokens\":[7]",
         "g.json:3: gates.tail_tokens[0]: expected a threshold: a string like \"p(95)<=16\" or "
         "an object like {\"threshold\": \"p(95)<=16\", \"abortOnFail\": true, "
         "\"delayAbortEval\": \"10s\"}"},
        {"\"tail_tokens\":[{\"threshold\":\"max<=1\",\"abortOnFial\":true}]",
         "g.json:3: gates.tail_tokens[0].abortOnFial: unsupported threshold option (did you "
         "mean 'abortOnFail'?); supported: threshold, abortOnFail, delayAbortEval"},
        {"\"tail_tokens\":[{\"threshold\":\"max<=1\",\"gracePeriod\":\"1s\"}]",
         "g.json:3: gates.tail_tokens[0].gracePeriod: unsupported threshold option; supported: "
         "threshold, abortOnFail, delayAbortEval"},
        {"\"tail_tokens\":[{\"abortOnFail\":true}]",
         "g.json:3: gates.tail_tokens[0]: required: threshold: an expression like "
         "\"p(95)<=16\""},
        {"\"tail_tokens\":[{\"threshold\":\"max<=1\",\"abortOnFail\":1}]",
         "g.json:3: gates.tail_tokens[0].abortOnFail: expected true or false"},
        {"\"tail_tokens\":[{\"threshold\":\"max<=1\",\"delayAbortEval\":\"10\"}]",
         "g.json:3: gates.tail_tokens[0].delayAbortEval: '10': expected a duration, numbers "
         "each with a unit (d, h, m, s, ms, us, ns), e.g. \"10s\", \"1m30s\" or \"500ms\""},
        {"\"tail_tokens\":[{\"threshold\":\"max<=1\",\"delayAbortEval\":10}]",
         "g.json:3: gates.tail_tokens[0].delayAbortEval: expected a duration string, e.g. "
         "\"10s\", \"1m30s\" or \"500ms\""},
        {"\"tail_tokens\":[{\"threshold\":\"max=<1\"}]",
         "g.json:3: gates.tail_tokens[0].threshold: 'max=<1': unsupported operator '=<'; "
         "supported: <, <=, >, >=, ==, === or !="},
        {"\"tail_tokens{action:reset}\":[\"max<=1\"]",
         "g.json:3: gates.tail_tokens{action:reset}: no user of this scenario has action "
         "'reset' (its users have: tab_close, complete)"},
        {"\"tail_tokens{action:tab_clse}\":[\"max<=1\"]",
         "g.json:3: gates.tail_tokens{action:tab_clse}: unknown action 'tab_clse'; did you "
         "mean 'tab_close'; expected one of complete, tab_close, reset, network_drop, "
         "background, stop_button, supersede or half_close"},
        {"\"tail_tokens{kind:tablet}\":[\"max<=1\"]",
         "g.json:3: gates.tail_tokens{kind:tablet}: no user of this scenario has kind 'tablet' "
         "(its users have: mobile, desktop)"},
        {"\"tail_tokens{action:complete,kind:mobile}\":[\"max<=1\"]",
         "g.json:3: gates.tail_tokens{action:complete,kind:mobile}: no user of this scenario "
         "has all of these tags at once"},
        {"\"tail_tokens{status:200}\":[\"max<=1\"]",
         "g.json:3: gates.tail_tokens{status:200}: 'tail_tokens{status:200}': unsupported tag "
         "'status'; a request carries the tags action and kind (its user's), e.g. "
         "tail_tokens{action:tab_close}"},
        {"\"tail_tokens{action}\":[\"max<=1\"]",
         "g.json:3: gates.tail_tokens{action}: 'tail_tokens{action}': expected tag:value in the "
         "braces, e.g. tail_tokens{action:tab_close}"},
        {"\"tail_tokens{}\":[\"max<=1\"]",
         "g.json:3: gates.tail_tokens{}: 'tail_tokens{}': no tags in the braces; sub-metrics "
         "take action and kind, e.g. tail_tokens{action:tab_close}"},
        {"\"tail_tokens{action:tab_close\":[\"max<=1\"]",
         "g.json:3: gates.tail_tokens{action:tab_close: 'tail_tokens{action:tab_close': "
         "unmatched '{'; a sub-metric reads metric{tag:value}, e.g. "
         "tail_tokens{action:tab_close}"},
        {"\"tail_tokens{action:tab_close,action:complete}\":[\"max<=1\"]",
         "g.json:3: gates.tail_tokens{action:tab_close,action:complete}: "
         "'tail_tokens{action:tab_close,action:complete}': tag 'action' given twice"},
        {"\"ptdr{action:tab_close}\":[\"value<=1\"]",
         "g.json:3: gates.ptdr{action:tab_close}: 'ptdr' is one number per scenario: it has no "
         "sub-metrics (tags go on per-request metrics, e.g. tail_tokens{action:tab_close})"},
        {"\"tail_tokenz{action:tab_close}\":[\"max<=1\"]",
         "g.json:3: gates.tail_tokenz{action:tab_close}: unknown metric; did you mean "
         "'tail_tokens' (see docs/runner.md for the list)"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct scenario s;
        char err[1024] = "";
        int rc = load(rows[i].gates, &s, err, sizeof err);
        if (rc == 0)
            scenario_cleanup(&s);
        int ok = rc == -1 && strcmp(err, rows[i].err) == 0;
        if (!ok)
            fprintf(stderr, "  row %zu: rc %d\n   got: %s\n  want: %s\n", i, rc, err,
                    rows[i].err);
        CHECK(ok);
    }
}

static void gate_should_reject_a_bad_user_kind_naming_its_key(void)
{
    const char *text = "{\"users\":[{\"action\":\"complete\",\"kind\":\"a\"},\n"
                       "{\"action\":\"reset\","
                       "\"kind\":\"a b\"}]}";
    struct scenario s;
    char err[512] = "";
    CHECK_EQ_INT(scenario_parse_buffer("k.json", text, strlen(text), &s, err, sizeof err), -1);
    CHECK_EQ_STR(err, "k.json:2: users[1].kind: expected a name of 1 to 31 letters, digits, '_' "
                      "or '-'");
}

static void gate_should_read_k6_durations(void)
{
    static const struct {
        const char *text;
        int ok;
        uint64_t ns;
    } rows[] = {
        {"10s", 1, 10000000000ull}, {"1m30s", 1, 90000000000ull}, {"500ms", 1, 500000000ull},
        {"1.5h", 1, 5400000000000ull}, {"2d", 1, 172800000000000ull}, {"250us", 1, 250000},
        {"0s", 1, 0}, {"1h2m3s4ms", 1, 3723004000000ull}, {"10", 0, 0}, {"", 0, 0},
        {"-1s", 0, 0}, {"1x", 0, 0}, {"s", 0, 0}, {"366d", 0, 0}, {"1 s", 0, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint64_t ns = 7;
        char err[256] = "";
        int rc = gate_parse_duration(rows[i].text, &ns, err, sizeof err);
        int ok = rows[i].ok ? rc == 0 && ns == rows[i].ns : rc == -1 && err[0] != '\0';
        if (!ok)
            fprintf(stderr, "  '%s': rc %d ns %llu %s\n", rows[i].text, rc,
                    (unsigned long long)ns, err);
        CHECK(ok);
    }
}

/* ---- end to end ------------------------------------------------------------------------ */

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static int run_tailgate(const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "timeout 120 %s %s >%s/stdout.txt 2>%s/stderr.txt </dev/null", bin,
             args, tmp, tmp);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static cJSON *read_json(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    static char buf[1 << 22];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return cJSON_Parse(buf);
}

static int exists(const char *dir, const char *name)
{
    char path[512];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0 && st.st_size > 0;
}

/* 8 users at 40 tokens/s of a 16-token answer; tab_close users leave after exactly 5 tokens
 * (the next is 25 ms away), complete users read all 16: delivered_tokens is exact per user. */
static void write_two_action_scenario(const char *name, const char *gates)
{
    char path[256], text[2048];
    snprintf(path, sizeof path, "%s/%s.json", tmp, name);
    snprintf(text, sizeof text,
             "{\"name\":\"%s\",\"model\":{\"ttft_ms\":0,\"tps\":40,\"jitter\":0,\"length\":16},\n"
             " \"traffic\":{\"requests\":8,\"concurrency\":8},\n"
             " \"users\":[{\"action\":\"tab_close\",\"after_tokens\":5,\"kind\":\"quick\"},\n"
             "   {\"action\":\"complete\",\"kind\":\"patient\"}],\n"
             " \"settle_ms\":3000,\n \"gates\":{%s}}\n",
             name, gates);
    write_file(path, text);
}

static const cJSON *gate_named(const cJSON *sc, const char *metric, const char *expr)
{
    const cJSON *g;
    cJSON_ArrayForEach(g, cJSON_GetObjectItem(sc, "gates"))
    {
        const char *m = harness_str(g, "metric"), *e = harness_str(g, "expr");
        if (m && e && strcmp(m, metric) == 0 && strcmp(e, expr) == 0)
            return g;
    }
    return NULL;
}

static void gate_should_stop_the_run_when_an_abort_on_fail_gate_fails(void)
{
    /* delivered_tokens max is 16: the gate fails in the first scenario */
    write_two_action_scenario(
        "first", "\"delivered_tokens\":[{\"threshold\":\"max<=1\",\"abortOnFail\":true}]");
    write_two_action_scenario("second", "\"delivered_tokens\":[\"max<=16\"]");
    char args[1024], out[256];
    snprintf(out, sizeof out, "%s/abort", tmp);
    snprintf(args, sizeof args, "run --direct --out %s %s/first.json %s/second.json", out, tmp,
             tmp);
    CHECK_EQ_INT(run_tailgate(args), 1);
    char path[512];
    snprintf(path, sizeof path, "%s/results.json", out);
    cJSON *r = read_json(path);
    CHECK(r != NULL);
    const cJSON *scs = cJSON_GetObjectItem(r, "scenarios");
    const cJSON *nr = cJSON_GetObjectItem(r, "not_run");
    int ran = cJSON_GetArraySize(scs), notrun = cJSON_GetArraySize(nr);
    const char *first = harness_str(cJSON_GetArrayItem(scs, 0), "name");
    const char *second = cJSON_IsString(cJSON_GetArrayItem(nr, 0))
                             ? cJSON_GetArrayItem(nr, 0)->valuestring
                             : NULL;
    char aborted[256], verdict[16];
    snprintf(aborted, sizeof aborted, "%s", harness_str(r, "aborted") ? harness_str(r, "aborted")
                                                                       : "(none)");
    snprintf(verdict, sizeof verdict, "%s", harness_str(r, "verdict") ? harness_str(r, "verdict")
                                                                       : "(none)");
    char firstname[32];
    snprintf(firstname, sizeof firstname, "%s", first ? first : "(none)");
    char secondname[32];
    snprintf(secondname, sizeof secondname, "%s", second ? second : "(none)");
    cJSON_Delete(r);
    CHECK_EQ_INT(ran, 1);
    CHECK_EQ_STR(firstname, "first");
    CHECK_EQ_INT(notrun, 1);
    CHECK_EQ_STR(secondname, "second");
    CHECK_EQ_STR(aborted, "aborted: gate delivered_tokens max<=1 failed in scenario first");
    CHECK_EQ_STR(verdict, "fail");
    /* every artifact, as for any failed run */
    CHECK(exists(out, "junit.xml"));
    CHECK(exists(out, "summary.md"));
    CHECK(exists(out, "index.html"));
    CHECK(exists(out, "charts/tail-cdf-first.dat"));
}

static void gate_should_not_abort_before_its_delay_has_passed(void)
{
    write_two_action_scenario("late", "\"delivered_tokens\":[{\"threshold\":\"max<=1\","
                                      "\"abortOnFail\":true,\"delayAbortEval\":\"1h\"}]");
    write_two_action_scenario("after", "\"delivered_tokens\":[\"max<=16\"]");
    char args[1024], path[512];
    snprintf(args, sizeof args, "run --direct --out %s/delay %s/late.json %s/after.json", tmp, tmp,
             tmp);
    CHECK_EQ_INT(run_tailgate(args), 1); /* the gate still fails and counts */
    snprintf(path, sizeof path, "%s/delay/results.json", tmp);
    cJSON *r = read_json(path);
    CHECK(r != NULL);
    int ran = cJSON_GetArraySize(cJSON_GetObjectItem(r, "scenarios"));
    int notrun = cJSON_GetArraySize(cJSON_GetObjectItem(r, "not_run"));
    int has_abort = cJSON_GetObjectItem(r, "aborted") != NULL;
    const cJSON *late = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "scenarios"), 0);
    const cJSON *g = gate_named(late, "delivered_tokens", "max<=1");
    int failed = g && strcmp(harness_str(g, "verdict"), "fail") == 0;
    cJSON_Delete(r);
    CHECK_EQ_INT(ran, 2);
    CHECK_EQ_INT(notrun, 0);
    CHECK_EQ_INT(has_abort, 0);
    CHECK(failed);
}

static void gate_should_aggregate_a_sub_metric_over_only_its_tagged_requests(void)
{
    write_two_action_scenario("tagged", "\"delivered_tokens{action:tab_close}\":[\"max==5\","
                                        "\"count>=1\"],"
                                        "\"delivered_tokens{kind:patient}\":[\"min===16\","
                                        "\"count>=1\"],"
                                        "\"delivered_tokens\":[\"count==8\"],"
                                        "\"tail_tokens{action:complete}\":[\"count>=1\"]");
    char args[1024], path[512];
    snprintf(args, sizeof args, "run --direct --out %s/tagged %s/tagged.json", tmp, tmp);
    int rc = run_tailgate(args);
    snprintf(path, sizeof path, "%s/tagged/results.json", tmp);
    cJSON *r = read_json(path);
    CHECK(r != NULL);
    const cJSON *sc = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "scenarios"), 0);
    /* the truth, from each request's own record */
    int closers = 0, readers = 0, exact = 1;
    const cJSON *q;
    cJSON_ArrayForEach(q, cJSON_GetObjectItem(sc, "requests_detail"))
    {
        const char *a = harness_str(q, "action");
        double d = harness_num(q, "delivered_tokens");
        if (a && strcmp(a, "tab_close") == 0) {
            closers++;
            exact &= d == 5;
        } else {
            readers++;
            exact &= d == 16;
        }
    }
    const cJSON *gmax = gate_named(sc, "delivered_tokens{action:tab_close}", "max==5");
    const cJSON *gcnt = gate_named(sc, "delivered_tokens{action:tab_close}", "count>=1");
    const cJSON *gmin = gate_named(sc, "delivered_tokens{kind:patient}", "min===16");
    const cJSON *gkc = gate_named(sc, "delivered_tokens{kind:patient}", "count>=1");
    const cJSON *gall = gate_named(sc, "delivered_tokens", "count==8");
    const cJSON *gtail = gate_named(sc, "tail_tokens{action:complete}", "count>=1");
    int found = gmax && gcnt && gmin && gkc && gall && gtail;
    double vmax = found ? harness_num(gmax, "observed") : NAN;
    double vcnt = found ? harness_num(gcnt, "observed") : NAN;
    double vmin = found ? harness_num(gmin, "observed") : NAN;
    double vkc = found ? harness_num(gkc, "observed") : NAN;
    double vall = found ? harness_num(gall, "observed") : NAN;
    double ntail = found ? harness_num(gtail, "samples") : NAN;
    int tail_failed = found && strcmp(harness_str(gtail, "verdict"), "fail") == 0;
    cJSON_Delete(r);
    CHECK(found);
    CHECK_EQ_INT(closers + readers, 8);
    CHECK(closers > 0 && readers > 0); /* the seed's plan mixes both */
    CHECK(exact);
    CHECK(vmax == 5);
    CHECK(vcnt == closers);
    CHECK(vmin == 16);
    CHECK(vkc == readers);
    CHECK(vall == 8);
    /* complete users never act: no tail samples, and a gate without samples fails */
    CHECK(ntail == 0);
    CHECK(tail_failed);
    CHECK_EQ_INT(rc, 1);
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CASE(gate_should_parse_every_accepted_form_exactly),
        CASE(gate_should_reject_what_it_does_not_support_saying_what_it_does),
        CASE(gate_should_reject_a_bad_user_kind_naming_its_key),
        CASE(gate_should_read_k6_durations),
        CASE(gate_should_stop_the_run_when_an_abort_on_fail_gate_fails),
        CASE(gate_should_not_abort_before_its_delay_has_passed),
        CASE(gate_should_aggregate_a_sub_metric_over_only_its_tagged_requests),
    };
    bin = getenv("TAILGATE_BIN") ? getenv("TAILGATE_BIN") : "./tailgate";
    snprintf(tmp, sizeof tmp, "/tmp/tggate.XXXXXX");
    if (mkdtemp(tmp) == NULL)
        return 1;
    int rc = check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    return rc;
}
