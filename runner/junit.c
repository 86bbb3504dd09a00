/* junit.xml: a testsuite per scenario, a testcase per gate, for CI test reporters. Valid against
 * both schemas in tests/schema/: Apache Ant's JUnit.xsd (the strict one: every testsuite has
 * package, id, hostname, a timestamp without a zone, properties, system-out and system-err,
 * and the root no attributes) and the Jenkins xUnit plugin's junit-10.xsd. */
#include "junit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "markup.h"

/* Ant's schema takes xs:decimal: never an exponent, never nan */
static void decimal(FILE *f, double v)
{
    fprintf(f, "%.3f", isfinite(v) && v > 0 ? v : 0.0);
}

/* "2026-01-31T12:00:00Z" -> "2026-01-31T12:00:00": Ant's timestamp takes no zone (it is UTC) */
static void timestamp(FILE *f, const char *utc)
{
    char t[32];
    snprintf(t, sizeof t, "%s", utc[0] ? utc : "1970-01-01T00:00:00Z");
    size_t n = strlen(t);
    if (n > 0 && t[n - 1] == 'Z')
        t[n - 1] = '\0';
    markup_escape(f, t);
}

static void figure(char *out, size_t len, double v)
{
    if (isfinite(v))
        snprintf(out, len, "%.6g", v);
    else
        snprintf(out, len, "–");
}

/* "tail_tokens p(95)<=8: observed 194.1 vs threshold 8" */
void junit_gate_text(const struct gate_result *g, char *out, size_t len)
{
    char obs[32], thr[32];
    figure(obs, sizeof obs, g->observed);
    figure(thr, sizeof thr, g->gate->threshold);
    if (g->samples == 0)
        snprintf(out, len, "%s %s: no samples vs threshold %s (a gate that measured nothing fails)",
                 g->gate->metric, g->gate->expr, thr);
    else
        snprintf(out, len, "%s %s: observed %s vs threshold %s", g->gate->metric, g->gate->expr,
                 obs, thr);
}

struct suite_counts {
    size_t tests, failures, errors, skipped;
};

static void suite_open(FILE *f, const struct run_result *r, size_t id, const char *name,
                       const struct suite_counts *c, double time_s, const char *started)
{
    fputs("  <testsuite name=\"", f);
    markup_escape(f, name);
    fprintf(f, "\" package=\"tailgate\" id=\"%zu\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
               "skipped=\"%zu\" time=\"",
            id, c->tests, c->failures, c->errors, c->skipped);
    decimal(f, time_s);
    fputs("\" timestamp=\"", f);
    timestamp(f, started);
    fputs("\" hostname=\"", f);
    markup_escape(f, r->hostname[0] ? r->hostname : "localhost");
    fputs("\">\n    <properties>\n", f);
    const char *props[][2] = {
        {"gateway", r->gateway},
        {"seed", NULL},
        {"tailgate_version", r->version},
        {"suite", r->suite},
    };
    for (size_t i = 0; i < sizeof props / sizeof props[0]; i++) {
        fprintf(f, "      <property name=\"%s\" value=\"", props[i][0]);
        if (props[i][1])
            markup_escape(f, props[i][1]);
        else
            fprintf(f, "%llu", (unsigned long long)r->seed);
        fputs("\"/>\n", f);
    }
    fputs("    </properties>\n", f);
}

static void suite_close(FILE *f)
{
    fputs("    <system-out></system-out>\n    <system-err></system-err>\n  </testsuite>\n", f);
}

/* kind: NULL (passed), "failure", "error" or "skipped"; type: the schema's required type
 * (not written for skipped, which has none) */
static void testcase(FILE *f, const char *classname, const char *name, double time_s,
                     const char *kind, const char *type, const char *message)
{
    fputs("    <testcase classname=\"", f);
    markup_escape(f, classname);
    fputs("\" name=\"", f);
    markup_escape(f, name);
    fputs("\" time=\"", f);
    decimal(f, time_s);
    if (kind == NULL) {
        fputs("\"/>\n", f);
        return;
    }
    fprintf(f, "\">\n      <%s", kind);
    if (type)
        fprintf(f, " type=\"%s\"", type);
    fputs(" message=\"", f);
    markup_escape(f, message);
    fputs("\">", f);
    markup_escape(f, message);
    fprintf(f, "</%s>\n    </testcase>\n", kind);
}

/* What one scenario's testsuite holds. A scenario that could not be judged has its gates
 * skipped (what was measured proves nothing) and one error; a judged one a testcase per gate
 * and, when users got errors no gate allows, one failure more. */
static void scenario_counts(const struct scenario_result *res, struct suite_counts *c)
{
    memset(c, 0, sizeof *c);
    c->tests = res->ngates;
    if (res->error[0]) {
        c->skipped = res->ngates;
        c->tests++;
        c->errors = 1;
        return;
    }
    for (size_t g = 0; g < res->ngates; g++)
        c->failures += !res->gates[g].pass;
    if (res->fail_reason[0]) {
        c->tests++;
        c->failures++;
    }
}

/* Did any scenario carry the run's environment error itself? Else it gets its own testcase,
 * so a run that stopped always shows red. */
static int error_in_a_scenario(const struct run_result *r)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->sr[i].error[0])
            return 1;
    return 0;
}

void junit_totals(const struct run_result *r, size_t *tests, size_t *failures, size_t *errors,
                  size_t *skipped)
{
    *tests = *failures = *errors = *skipped = 0;
    for (size_t i = 0; i < r->n; i++) {
        struct suite_counts c;
        scenario_counts(&r->sr[i], &c);
        *tests += c.tests;
        *failures += c.failures;
        *errors += c.errors;
        *skipped += c.skipped;
    }
    *tests += r->nnot_run;
    *skipped += r->nnot_run;
    if (r->env_error[0] && !error_in_a_scenario(r)) {
        (*tests)++;
        (*errors)++;
    }
}

char *junit_build(const struct run_result *r)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL)
        return NULL;
    size_t id = 0;
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n", f);
    for (size_t i = 0; i < r->n; i++) {
        const struct scenario_result *res = &r->sr[i];
        struct suite_counts c;
        scenario_counts(res, &c);
        size_t ncases = c.tests ? c.tests : 1;
        /* the gates are judged together at the scenario's end: its time is split between its
         * testcases, so a reporter that adds them up shows the scenario's time */
        double each = res->duration_s / (double)ncases;
        suite_open(f, r, id++, res->sc->name, &c, res->duration_s,
                   res->started_utc[0] ? res->started_utc : r->started_utc);
        for (size_t g = 0; g < res->ngates; g++) {
            const struct gate_result *gr = &res->gates[g];
            char text[512], name[200], why[400];
            junit_gate_text(gr, text, sizeof text);
            snprintf(name, sizeof name, "%s %s", gr->gate->metric, gr->gate->expr);
            if (res->error[0]) {
                snprintf(why, sizeof why, "not judged: %s", res->error);
                testcase(f, res->sc->name, name, each, "skipped", NULL, why);
            } else {
                testcase(f, res->sc->name, name, each, gr->pass ? NULL : "failure", "gate", text);
            }
        }
        if (res->error[0])
            testcase(f, res->sc->name, "scenario could be judged", each, "error",
                     r->env_kind[0] ? r->env_kind : "environment", res->error);
        else if (res->fail_reason[0])
            testcase(f, res->sc->name, "users got no unexpected errors", each, "failure",
                     "errors", res->fail_reason);
        suite_close(f);
    }
    /* not run: skipped, not errors; the red is the cause's (the error above or below, or the
     * failed gate that stopped the run), so one broken gateway reads 1 error, not N */
    for (size_t i = 0; i < r->nnot_run; i++) {
        struct suite_counts c = {1, 0, 0, 1};
        char msg[700];
        if (r->env_error[0])
            snprintf(msg, sizeof msg, "did not run: the run stopped: %s", r->env_error);
        else if (r->aborted[0])
            snprintf(msg, sizeof msg, "did not run: the run stopped early: %s", r->aborted);
        else
            snprintf(msg, sizeof msg, "did not run: the run stopped before this scenario");
        suite_open(f, r, id++, r->not_run[i], &c, 0, r->started_utc);
        testcase(f, r->not_run[i], "scenario ran", 0, "skipped", NULL, msg);
        suite_close(f);
    }
    if (r->env_error[0] && !error_in_a_scenario(r)) {
        struct suite_counts c = {1, 0, 1, 0};
        const char *kind = r->env_kind[0] ? r->env_kind : "environment";
        suite_open(f, r, id++, "tailgate", &c, r->total_s, r->started_utc);
        testcase(f, "tailgate", kind, r->total_s, "error", kind, r->env_error);
        suite_close(f);
    }
    fputs("</testsuites>\n", f);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
