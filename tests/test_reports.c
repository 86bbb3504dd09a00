/* Reports from fixed results.json fixtures (tests/fixtures/reports/): every chart's data file
 * checked value by value, every gnuplot script run, index.html's contents, the page without
 * gnuplot, and `tailgate compare`'s regression verdict and exit codes. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "check.h"
#include "reports/report.h"
#include "reports/runfile.h"

#define FIXTURES "tests/fixtures/reports"

static char tmp[64];
static const char *bin;

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t k;
    while (buf && (k = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += k;
        if (n + 1 == cap) {
            char *t = realloc(buf, cap * 2);
            if (t == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = t;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

static int run_cmd(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A fresh run folder under tmp holding a copy of a fixture's results.json. */
static const char *fresh(const char *fixture, const char *name)
{
    static char dir[4][256];
    static int slot;
    char *d = dir[slot++ % 4];
    snprintf(d, sizeof dir[0], "%s/%s", tmp, name);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s' && cp %s/%s/results.json '%s'/", d, d,
             FIXTURES, fixture, d);
    return run_cmd(cmd) == 0 ? d : NULL;
}

/* The data rows of a chart file (comment lines dropped), malloc'd. */
static char *rows(const char *dir, const char *file)
{
    char path[512];
    snprintf(path, sizeof path, "%s/charts/%s", dir, file);
    char *text = slurp(path);
    if (text == NULL)
        return NULL;
    char *out = calloc(1, strlen(text) + 1);
    size_t o = 0;
    for (char *line = text; out && *line;) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) + 1 : strlen(line);
        if (line[0] != '#') {
            memcpy(out + o, line, len);
            o += len;
        }
        line += len;
    }
    free(text);
    return out;
}

static int exists(const char *dir, const char *file)
{
    char path[512];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    return stat(path, &st) == 0 && st.st_size > 0;
}

static int rendered(const char *dir)
{
    char note[2048];
    int rc = reports_render(dir, NULL, note, sizeof note);
    if (rc != 0)
        fprintf(stderr, "  reports_render: %d: %s\n", rc, note);
    return rc;
}

static void reports_should_write_the_tail_cdf_sorted_with_cumulative_fractions(void)
{
    const char *d = fresh("base", "tail");
    CHECK(d != NULL);
    CHECK_EQ_INT(rendered(d), 0);
    char *r = rows(d, "tail-cdf-tab-close.dat");
    /* tails 3, 1, 2, 5 of four aborted requests; the completed fifth has none */
    int ok = r && strcmp(r, "1 0.25\n2 0.5\n3 0.75\n5 1\n") == 0;
    if (!ok)
        fprintf(stderr, "  got:\n%s", r ? r : "(none)");
    free(r);
    CHECK(ok);
    /* no abort in "billing switch": no CDF for it */
    CHECK(!exists(d, "charts/tail-cdf-billing_switch.dat"));
    CHECK(!exists(d, "charts/tail-cdf-billing_switch.png"));
}

static void reports_should_count_never_closed_requests_in_the_close_lag_cdf(void)
{
    const char *d = fresh("base", "lag");
    const char *fl = fresh("floor", "lag-floor");
    CHECK(d != NULL && fl != NULL);
    char note[2048];
    CHECK_EQ_INT(reports_render(d, fl, note, sizeof note), 0);
    /* four aborted, three closes seen: the curve stops at 3/4 */
    char *r = rows(d, "close-lag-cdf-tab-close.dat");
    char *f = rows(d, "close-lag-floor-tab-close.dat");
    char *gp = NULL;
    char path[512];
    snprintf(path, sizeof path, "%s/charts/close-lag-cdf-tab-close.gp", d);
    gp = slurp(path);
    int ok = r && strcmp(r, "0.8 0.25\n3.25 0.5\n12.5 0.75\n") == 0;
    int fok = f && strcmp(f, "0.2 0.25\n0.25 0.5\n0.3 0.75\n0.4 1\n") == 0;
    int gok = gp && strstr(gp, "set logscale x 10") && strstr(gp, "1 never closed upstream") &&
              strstr(gp, "p(99) < 250: pass (12.31)") && strstr(gp, "--direct floor");
    if (!ok || !fok || !gok)
        fprintf(stderr, "  got:\n%s--\n%s", r ? r : "(none)", f ? f : "(none)");
    free(r);
    free(f);
    free(gp);
    CHECK(ok);
    CHECK(fok);
    CHECK(gok);
}

static void reports_should_write_the_token_counter_aligned_on_the_abort(void)
{
    const char *d = fresh("base", "timeline");
    CHECK(d != NULL);
    CHECK_EQ_INT(rendered(d), 0);
    char *r = rows(d, "timeline-tab-close.dat");
    /* index 0: generated (3 before the abort, 3 after), index 1: delivered */
    int ok = r && strcmp(r, "\n-30 1\n-20 2\n-10 3\n5 4\n15 5\n25 6\n\n\n"
                            "-25 1\n-15 2\n-5 3\n\n\n") == 0;
    if (!ok)
        fprintf(stderr, "  got:\n%s", r ? r : "(none)");
    free(r);
    CHECK(ok);
    char path[512];
    snprintf(path, sizeof path, "%s/charts/timeline-tab-close.gp", d);
    char *gp = slurp(path);
    ok = gp && strstr(gp, "tab-close-0: 3 delivered, 3 generated after the abort") &&
         strstr(gp, "index 0 using 1:2") && strstr(gp, "index 1 using 1:2");
    free(gp);
    CHECK(ok);
}

static void reports_should_write_delivered_billed_and_ptdr_per_scenario(void)
{
    const char *d = fresh("base", "ptdr");
    CHECK(d != NULL);
    CHECK_EQ_INT(rendered(d), 0);
    char *r = rows(d, "ptdr.dat");
    /* delivered = every token received (66), billed 77: PTDR 7/6 */
    int ok = r && strcmp(r, "\"tab-close\" 66 77 1.166666667 \"PTDR 1.17\"\n"
                            "\"billing switch\" 200 200 1 \"PTDR 1.00\"\n") == 0;
    if (!ok)
        fprintf(stderr, "  got:\n%s", r ? r : "(none)");
    free(r);
    CHECK(ok);
}

static void reports_should_write_wasted_cost_and_its_monthly_projection(void)
{
    const char *d = fresh("base", "wasted");
    CHECK(d != NULL);
    CHECK_EQ_INT(rendered(d), 0);
    char *r = rows(d, "wasted.dat");
    /* 11 tokens at $15/Mtok over 5 requests, at 200000 requests/day for 30 days */
    int ok = r && strcmp(r, "\"tab-close\" 11 0.000165 198 200000 \"$0.000165\" \"$198\"\n"
                            "\"billing switch\" 0 0 0 1000 \"$0.00\" \"$0.00\"\n") == 0;
    if (!ok)
        fprintf(stderr, "  got:\n%s", r ? r : "(none)");
    free(r);
    CHECK(ok);
}

static void reports_should_chart_billing_with_each_switch_only_when_present(void)
{
    const char *d = fresh("base", "billing");
    CHECK(d != NULL);
    CHECK_EQ_INT(rendered(d), 0);
    char *r = rows(d, "billing-billing_switch.dat");
    int ok = r && strcmp(r, "0 40 40 40\n1 60 60 60\n2 80 60 60\n3 20 15 NaN\n") == 0;
    if (!ok)
        fprintf(stderr, "  got:\n%s", r ? r : "(none)");
    free(r);
    CHECK(ok);
    char path[512];
    snprintf(path, sizeof path, "%s/charts/billing-billing_switch.gp", d);
    char *gp = slurp(path);
    ok = gp && strstr(gp, "'profile switch at 2 s'") && strstr(gp, "0.0% before the switch") &&
         strstr(gp, "25.0% after") && strstr(gp, "gateway metering");
    free(gp);
    CHECK(ok);
    /* tab-close has no billing object: no billing chart, and nothing failed */
    CHECK(!exists(d, "charts/billing-tab-close.dat"));
}

/* A run folder holding the base fixture changed by 'edit', which gets the parsed results. */
static const char *edited(const char *name, void (*edit)(cJSON *root))
{
    const char *d = fresh("base", name);
    char path[512];
    snprintf(path, sizeof path, "%s/results.json", d ? d : "");
    char *text = d ? slurp(path) : NULL;
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    free(text);
    if (root == NULL)
        return NULL;
    edit(root);
    char *out = cJSON_Print(root);
    cJSON_Delete(root);
    FILE *f = out ? fopen(path, "w") : NULL;
    int ok = f && fputs(out, f) >= 0;
    if (f && fclose(f) != 0)
        ok = 0;
    free(out);
    return ok ? d : NULL;
}

static cJSON *scenario_named(cJSON *root, const char *name)
{
    cJSON *sc;
    cJSON_ArrayForEach(sc, cJSON_GetObjectItemCaseSensitive(root, "scenarios"))
    {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(sc, "name");
        if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
            return sc;
    }
    return NULL;
}

/* The billing switch scenario as a sparse timeline: an empty second 1 listed as zeros, second 2
 * not listed at all, traffic to 5.5 s after the last send in second 3. */
static void sparse_billing(cJSON *root)
{
    cJSON *sc = scenario_named(root, "billing switch");
    cJSON *bill = cJSON_GetObjectItemCaseSensitive(sc, "billing");
    cJSON_ReplaceItemInObjectCaseSensitive(sc, "traffic_s", cJSON_CreateNumber(5.5));
    cJSON *tl = cJSON_Parse("[{\"t_s\": 0, \"invoice_output_tokens\": 40, \"wire_output_tokens\": "
                            "40, \"metered_output_tokens\": 40},"
                            "{\"t_s\": 1, \"invoice_output_tokens\": 0, \"wire_output_tokens\": 0, "
                            "\"metered_output_tokens\": 0},"
                            "{\"t_s\": 3, \"invoice_output_tokens\": 20, \"wire_output_tokens\": "
                            "15, \"metered_output_tokens\": 15}]");
    cJSON_ReplaceItemInObjectCaseSensitive(bill, "timeline", tl);
}

static void reports_should_chart_every_billing_bucket_as_bars_to_the_end_of_the_traffic(void)
{
    const char *d = edited("billing-buckets", sparse_billing);
    CHECK(d != NULL);
    CHECK_EQ_INT(rendered(d), 0);
    /* every bucket from 0 to the one holding 5.5 s, the unlisted and the empty ones as zeros */
    char *r = rows(d, "billing-billing_switch.dat");
    int ok = r && strcmp(r, "0 40 40 40\n1 0 0 0\n2 0 0 0\n3 20 15 15\n4 0 0 0\n5 0 0 0\n") == 0;
    if (!ok)
        fprintf(stderr, "  got:\n%s", r ? r : "(none)");
    free(r);
    CHECK(ok);
    char path[512];
    snprintf(path, sizeof path, "%s/charts/billing-billing_switch.gp", d);
    char *gp = slurp(path);
    CHECK(gp != NULL);
    /* a count per bucket is a bar, never a line through the buckets; three bars side by side
     * (0.28 wide from 0.08 into the second), so equal counts do not hide each other */
    ok = strstr(gp, "with lines ls 4") == NULL && strstr(gp, "linespoints") == NULL &&
         strstr(gp, "set xrange [0:6]") && strstr(gp, "set boxwidth 0.2800 absolute") &&
         strstr(gp, "using ($1+0.2200):2 with boxes") &&
         strstr(gp, "using ($1+0.5000):3 with boxes") &&
         strstr(gp, "using ($1+0.7800):4 with boxes") && strstr(gp, ": left bar'") &&
         strstr(gp, ": middle bar'") && strstr(gp, ": right bar'");
    if (!ok)
        fprintf(stderr, "  got:\n%s", gp);
    free(gp);
    CHECK(ok);
}

/* tab-close with a second tail_tokens gate */
static void second_tail_gate(cJSON *root)
{
    cJSON *gates = cJSON_GetObjectItemCaseSensitive(scenario_named(root, "tab-close"), "gates");
    cJSON_AddItemToArray(gates, cJSON_Parse("{\"metric\": \"tail_tokens\", \"expr\": "
                                            "\"max<=4\", \"observed\": 5, \"threshold\": 4, "
                                            "\"samples\": 4, \"verdict\": \"fail\"}"));
}

static void reports_should_key_every_gate_line_of_a_cdf_in_its_own_style(void)
{
    const char *d = edited("cdf-gates", second_tail_gate);
    CHECK(d != NULL);
    CHECK_EQ_INT(rendered(d), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/charts/tail-cdf-tab-close.gp", d);
    char *gp = slurp(path);
    CHECK(gp != NULL);
    /* each gate's line (ls 10, ls 11) is drawn and has its own key entry; the key has room for
     * the series, both gates and the quantile markers */
    /* gate texts are pretty-printed: "\xe2\x89\xa4" is U+2264, less-than or equal to */
    const char *want10 = "NaN with lines ls 10 title 'gate p(95) \xe2\x89\xa4 8: pass (4.7)'";
    const char *want11 = "NaN with lines ls 11 title 'gate max \xe2\x89\xa4 4: FAIL (5)'";
    int ok = strstr(gp, "graph 1 nohead ls 10 front") && strstr(gp, "graph 1 nohead ls 11 front") &&
             strstr(gp, want10) && strstr(gp, want11) && strstr(gp, "maxrows 4\n") &&
             strstr(gp, "gate threshold (verdict on the line)") == NULL;
    if (!ok)
        fprintf(stderr, "  want %s and %s in:\n%s", want10, want11, gp);
    free(gp);
    CHECK(ok);
}

static void reports_should_run_every_script_through_gnuplot(void)
{
    const char *d = fresh("base", "gnuplot");
    CHECK(d != NULL);
    CHECK_EQ_INT(rendered(d), 0);
    char charts[512];
    snprintf(charts, sizeof charts, "%s/charts", d);
    DIR *dir = opendir(charts);
    CHECK(dir != NULL);
    struct dirent *e;
    int scripts = 0, failed = 0;
    while ((e = readdir(dir)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 4 || strcmp(e->d_name + l - 3, ".gp") != 0)
            continue;
        char cmd[1024], stem[256], png[300], svg[300];
        snprintf(cmd, sizeof cmd, "cd '%s' && gnuplot '%s' 2>&1", charts, e->d_name);
        snprintf(stem, sizeof stem, "%.*s", (int)(l - 3), e->d_name);
        snprintf(png, sizeof png, "charts/%s.png", stem);
        snprintf(svg, sizeof svg, "charts/%s.svg", stem);
        int rc = run_cmd(cmd);
        if (rc != 0 || !exists(d, png) || !exists(d, svg)) {
            fprintf(stderr, "  %s: exit %d\n", e->d_name, rc);
            failed++;
        }
        scripts++;
    }
    closedir(dir);
    CHECK_EQ_INT(failed, 0);
    /* tail, close lag, timeline (tab-close); billing (switch); ptdr; wasted */
    CHECK_EQ_INT(scripts, 6);
    char path[512];
    snprintf(path, sizeof path, "%s/charts/ptdr.png", d);
    char *png = slurp(path);
    CHECK(png && memcmp(png, "\x89PNG", 4) == 0);
    free(png);
}

static void reports_should_list_every_scenario_verdict_and_chart_in_the_index(void)
{
    const char *d = fresh("cand", "index");
    CHECK(d != NULL);
    CHECK_EQ_INT(rendered(d), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/index.html", d);
    char *html = slurp(path);
    CHECK(html != NULL);
    static const char *const want[] = {
        "<a href=\"#s-tab-close\">tab-close</a>",
        "<a href=\"#s-billing_switch\">billing switch</a>",
        "<span class=\"fail\">FAIL</span>",
        "<span class=\"pass\">pass</span>",
        "<code>tail_tokens p(95)&lt;=8</code> (39.25)",
        "<code>close_lag_ms</code></td><td><code>p(99)&lt;250</code>",
        "The vendor starts billing cancelled streams &lt;at 2 s&gt;.",
        "<img src=\"charts/tail-cdf-tab-close.png\"",
        "<a href=\"charts/tail-cdf-tab-close.svg\">",
        "<img src=\"charts/close-lag-cdf-tab-close.png\"",
        "<img src=\"charts/timeline-tab-close.png\"",
        "<img src=\"charts/billing-billing_switch.png\"",
        "<img src=\"charts/ptdr.png\"",
        "<img src=\"charts/wasted.png\"",
        "No request was abandoned in this scenario",
        "$2,340",
    };
    int missing = 0;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        if (strstr(html, want[i]) == NULL) {
            fprintf(stderr, "  index.html lacks: %s\n", want[i]);
            missing++;
        }
    }
    /* static and self-contained: no script, nothing fetched */
    int network = strstr(html, "<script") || strstr(html, "http://") || strstr(html, "https://");
    free(html);
    CHECK_EQ_INT(missing, 0);
    CHECK(!network);
}

static void reports_should_write_data_scripts_and_index_without_gnuplot(void)
{
    const char *d = fresh("base", "nognuplot");
    CHECK(d != NULL);
    /* drawn once with gnuplot, so stale images exist that must not be shown as current */
    CHECK_EQ_INT(rendered(d), 0);
    CHECK(exists(d, "charts/ptdr.png"));
    char empty[256];
    snprintf(empty, sizeof empty, "%s/empty-path", tmp);
    mkdir(empty, 0755);
    char *saved = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    setenv("PATH", empty, 1);
    char note[2048];
    int rc = reports_render(d, NULL, note, sizeof note);
    setenv("PATH", saved, 1);
    free(saved);
    CHECK_EQ_INT(rc, 1);
    CHECK(strstr(note, "apt-get install gnuplot-nox") != NULL);
    CHECK(strchr(note, '\n') == NULL);
    CHECK(exists(d, "index.html"));
    CHECK(exists(d, "charts/tail-cdf-tab-close.dat"));
    CHECK(exists(d, "charts/tail-cdf-tab-close.gp"));
    CHECK(exists(d, "charts/wasted.dat"));
    CHECK(!exists(d, "charts/ptdr.png"));
    CHECK(!exists(d, "charts/tail-cdf-tab-close.svg"));
    char path[512];
    snprintf(path, sizeof path, "%s/index.html", d);
    char *html = slurp(path);
    int ok = html && strstr(html, "apt-get install gnuplot-nox") &&
             strstr(html, "<code>tail-cdf-tab-close</code> was not drawn") &&
             !strstr(html, "<img");
    free(html);
    CHECK(ok);
}

static void reports_should_fail_with_a_message_when_results_are_missing(void)
{
    char d[256], note[2048];
    snprintf(d, sizeof d, "%s/no-such-run", tmp);
    CHECK_EQ_INT(reports_render(d, NULL, note, sizeof note), -1);
    CHECK(strstr(note, "results.json") != NULL);
    char table[256], err[512];
    CHECK_EQ_INT(reports_compare(d, d, NULL, table, sizeof table, err, sizeof err), -1);
    CHECK(strstr(err, "baseline") != NULL);
}

static void reports_should_flag_a_gate_that_passed_in_base_and_fails_in_cand(void)
{
    const char *b = fresh("base", "cmp-base");
    const char *c = fresh("cand", "cmp-cand");
    CHECK(b != NULL && c != NULL);
    char out[256], err[1024];
    snprintf(out, sizeof out, "%s/cmp-out", tmp);
    static char table[1 << 16];
    int rc = reports_compare(b, c, out, table, sizeof table, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "  %s\n", err);
    CHECK_EQ_INT(rc, 1);
    CHECK(strstr(table, "| tab-close      | tail_tokens p(95)<=8     |   pass 4.7 | FAIL 39.25 | "
                        "+34.55 (+735%) | REGRESSED |\n") != NULL);
    CHECK(strstr(table, "REGRESSED: 1 gate passed in the baseline and fails in the candidate:\n"
                        "  tab-close: tail_tokens p(95)<=8 (baseline pass 4.7, candidate FAIL "
                        "39.25)\n") != NULL);
    /* the close-lag gate still passes: listed, not flagged */
    CHECK(strstr(table, "| close_lag_ms p(99)<250   | pass 12.31 | pass 12.31 |              0 "
                        "|           |\n") != NULL);
    /* every metric: the p95 tail and the PTDR with their change */
    CHECK(strstr(table, "| tab-close      | tail_tokens p95          |      4.7 |     39.25 |     "
                        "+34.55 (+735%) |\n") != NULL);
    CHECK(strstr(table, "| tab-close      | ptdr                     |    1.167 |      2.97 |     "
                        "+1.803 (+155%) |\n") != NULL);
    CHECK(exists(out, "compare.md"));
    CHECK(exists(out, "index.html"));
    CHECK(exists(out, "charts/cmp-tail-cdf-tab-close.png"));
    CHECK(exists(out, "charts/cmp-close-lag-cdf-tab-close.svg"));
    CHECK(exists(out, "charts/cmp-ptdr.png"));
    CHECK(exists(out, "charts/cmp-wasted.png"));
    char *r = rows(out, "cmp-tail-cand-tab-close.dat");
    int ok = r && strcmp(r, "25 0.25\n30 0.5\n35 0.75\n40 1\n") == 0;
    free(r);
    CHECK(ok);
    r = rows(out, "cmp-ptdr.dat");
    ok = r && strcmp(r, "\"tab-close\" 1.166666667 2.96969697 \"1.17\" \"2.97\"\n"
                        "\"billing switch\" 1 1 \"1.00\" \"1.00\"\n") == 0;
    if (!ok)
        fprintf(stderr, "  got:\n%s", r ? r : "(none)");
    free(r);
    CHECK(ok);
}

static void reports_should_pass_a_candidate_identical_to_the_baseline(void)
{
    const char *b = fresh("base", "same-base");
    CHECK(b != NULL);
    static char table[1 << 16];
    char err[1024];
    CHECK_EQ_INT(reports_compare(b, b, NULL, table, sizeof table, err, sizeof err), 0);
    CHECK(strstr(table, "No regression") != NULL);
    CHECK(strstr(table, "REGRESSED") == NULL);
}

static void reports_should_count_a_vanished_gate_as_a_regression(void)
{
    const char *b = fresh("base", "gone-base");
    const char *c = fresh("base", "gone-cand");
    CHECK(b != NULL && c != NULL);
    /* the candidate dropped the tab-close scenario: its passing gates cannot pass silently */
    char path[512];
    snprintf(path, sizeof path, "%s/results.json", c);
    char *text = slurp(path);
    cJSON *run = text ? cJSON_Parse(text) : NULL;
    free(text);
    CHECK(run != NULL);
    cJSON_DeleteItemFromArray(cJSON_GetObjectItem(run, "scenarios"), 0);
    char *out = cJSON_Print(run);
    cJSON_Delete(run);
    FILE *f = fopen(path, "w");
    int ok = f && out && fputs(out, f) >= 0;
    if (f)
        fclose(f);
    free(out);
    CHECK(ok);
    static char table[1 << 16];
    char err[1024];
    CHECK_EQ_INT(reports_compare(b, c, NULL, table, sizeof table, err, sizeof err), 1);
    CHECK(strstr(table, "REGRESSED: 3 gates") != NULL);
    CHECK(strstr(table, "tab-close: upstream_attempts max<=1 (baseline pass 1, candidate –)") !=
          NULL);
}

static void reports_should_exit_by_verdict_from_the_report_and_compare_commands(void)
{
    const char *b = fresh("base", "cli-base");
    const char *c = fresh("cand", "cli-cand");
    CHECK(b != NULL && c != NULL);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s report %s >/dev/null 2>&1", bin, b);
    CHECK_EQ_INT(run_cmd(cmd), 0);
    CHECK(exists(b, "index.html"));
    snprintf(cmd, sizeof cmd, "%s compare %s %s --out %s/cli-out >%s/cmp.txt 2>/dev/null", bin, b,
             c, tmp, tmp);
    CHECK_EQ_INT(run_cmd(cmd), 1);
    char path[512];
    snprintf(path, sizeof path, "%s/cmp.txt", tmp);
    char *txt = slurp(path);
    int ok = txt && strstr(txt, "tab-close: tail_tokens p(95)<=8 (baseline pass 4.7");
    free(txt);
    CHECK(ok);
    snprintf(cmd, sizeof cmd, "%s compare %s %s >/dev/null 2>&1", bin, b, b);
    CHECK_EQ_INT(run_cmd(cmd), 0);
    CHECK(exists(b, "compare/index.html"));
    /* usage errors: exit 2 with one line */
    snprintf(cmd, sizeof cmd, "%s compare %s >/dev/null 2>%s/usage.txt", bin, b, tmp);
    CHECK_EQ_INT(run_cmd(cmd), 2);
    snprintf(path, sizeof path, "%s/usage.txt", tmp);
    txt = slurp(path);
    ok = txt && strncmp(txt, "tailgate compare: ", 18) == 0 &&
         strstr(txt, "see 'tailgate compare --help'") != NULL &&
         strchr(txt, '\n') == txt + strlen(txt) - 1;
    free(txt);
    CHECK(ok);
    snprintf(cmd, sizeof cmd, "%s report >/dev/null 2>&1", bin);
    CHECK_EQ_INT(run_cmd(cmd), 2);
    snprintf(cmd, sizeof cmd, "%s report %s/nothing-here >/dev/null 2>&1", bin, tmp);
    CHECK_EQ_INT(run_cmd(cmd), 2);
}

/* results.json's schema_version as the reader takes it: any 1.x, none (a file from before the
 * field), and an unknown major or a malformed value refused with a message naming it. */
static void runfile_should_accept_major_1_and_refuse_an_unknown_major(void)
{
    static const struct {
        const char *version; /* the JSON text of the value, NULL: no schema_version */
        const char *err;     /* NULL: accepted; else a part of the message */
    } rows[] = {
        {NULL, NULL},
        {"\"1.0.0\"", NULL},
        {"\"1.7.2\"", NULL},
        {"1", NULL},
        {"\"2.0.0\"", "schema_version '2.0.0': this tailgate reads results.json major 1 only "
                      "(a newer format)"},
        {"\"0.9.0\"", "(an older format)"},
        {"3", "schema_version 3: this tailgate reads results.json major 1 only"},
        {"\"v1\"", "schema_version 'v1' is not MAJOR.MINOR.PATCH"},
        {"\"\"", "is not MAJOR.MINOR.PATCH"},
        {"1.5", "schema_version 1.5 is not MAJOR.MINOR.PATCH"},
        {"true", "schema_version of JSON type boolean is not"},
        {"null", "schema_version of JSON type null is not MAJOR.MINOR.PATCH"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char text[256], err[512] = "";
        if (rows[i].version)
            snprintf(text, sizeof text,
                     "{\"schema_version\": %s, \"scenarios\": [{\"name\": \"a\"}]}",
                     rows[i].version);
        else
            snprintf(text, sizeof text, "{\"scenarios\": [{\"name\": \"a\"}]}");
        cJSON *run = runfile_parse_buffer("x/results.json", text, strlen(text), err, sizeof err);
        if (rows[i].err == NULL) {
            CHECK(run != NULL);
        } else {
            CHECK(run == NULL);
            CHECK(strncmp(err, "x/results.json: ", 16) == 0);
            CHECK(strstr(err, rows[i].err) != NULL);
            if (strstr(err, rows[i].err) == NULL)
                fprintf(stderr, "row %zu: %s\n", i, err);
        }
        cJSON_Delete(run);
    }
}

int main(int argc, char **argv)
{
    static const struct check_case cases[] = {
        CASE(reports_should_write_the_tail_cdf_sorted_with_cumulative_fractions),
        CASE(reports_should_count_never_closed_requests_in_the_close_lag_cdf),
        CASE(reports_should_write_the_token_counter_aligned_on_the_abort),
        CASE(reports_should_write_delivered_billed_and_ptdr_per_scenario),
        CASE(reports_should_write_wasted_cost_and_its_monthly_projection),
        CASE(reports_should_chart_billing_with_each_switch_only_when_present),
        CASE(reports_should_chart_every_billing_bucket_as_bars_to_the_end_of_the_traffic),
        CASE(reports_should_key_every_gate_line_of_a_cdf_in_its_own_style),
        CASE(reports_should_run_every_script_through_gnuplot),
        CASE(reports_should_list_every_scenario_verdict_and_chart_in_the_index),
        CASE(reports_should_write_data_scripts_and_index_without_gnuplot),
        CASE(reports_should_fail_with_a_message_when_results_are_missing),
        CASE(reports_should_flag_a_gate_that_passed_in_base_and_fails_in_cand),
        CASE(reports_should_pass_a_candidate_identical_to_the_baseline),
        CASE(reports_should_count_a_vanished_gate_as_a_regression),
        CASE(reports_should_exit_by_verdict_from_the_report_and_compare_commands),
        CASE(runfile_should_accept_major_1_and_refuse_an_unknown_major),
    };
    bin = getenv("TAILGATE_BIN") ? getenv("TAILGATE_BIN") : "./tailgate";
    snprintf(tmp, sizeof tmp, "/tmp/tgreports.XXXXXX");
    if (mkdtemp(tmp) == NULL)
        return 1;
    int rc = check_run(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmp);
    return rc;
}
