/* junit.xml: a testcase per gate per scenario, for CI test reporters. */
#include "junit.h"

#include <stdio.h>
#include <stdlib.h>

#include "markup.h"

static void gate_text(const struct gate_result *g, char *out, size_t len)
{
    if (g->samples == 0)
        snprintf(out, len, "%s %s: no samples (a gate that measured nothing fails)",
                 g->gate->metric, g->gate->expr);
    else
        snprintf(out, len, "%s %s: observed %.4g %s threshold %g", g->gate->metric,
                 g->gate->expr, g->observed, g->pass ? "meets" : "violates", g->gate->threshold);
}

static void testcase_open(FILE *f, const char *classname, const char *name, double time_s)
{
    fprintf(f, "    <testcase classname=\"");
    markup_escape(f, classname);
    fprintf(f, "\" name=\"");
    markup_escape(f, name);
    fprintf(f, "\" time=\"%.3f\">", time_s);
}

static void element(FILE *f, const char *tag, const char *message)
{
    fprintf(f, "<%s message=\"", tag);
    markup_escape(f, message);
    fprintf(f, "\"/>");
}

char *junit_build(const struct run_result *r)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL)
        return NULL;
    /* per scenario: a testcase per gate; one "errors" testcase when users got errors no gate
     * allows; one <error> testcase when the scenario could not be judged or did not run */
    size_t tests = 0, failures = 0, errors = 0;
    for (size_t i = 0; i < r->n; i++) {
        const struct scenario_result *res = &r->sr[i];
        tests += res->ngates + (res->fail_reason[0] != 0) + (res->error[0] != 0);
        for (size_t g = 0; g < res->ngates; g++)
            failures += !res->gates[g].pass;
        failures += res->fail_reason[0] != 0;
        errors += res->error[0] != 0;
    }
    tests += r->nnot_run;
    errors += r->nnot_run;
    if (r->n == 0 && r->nnot_run == 0 && r->env_error[0]) {
        tests++;
        errors++;
    }
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f,
            "<testsuites name=\"tailgate\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
            "time=\"%.3f\">\n",
            tests, failures, errors, r->total_s);
    for (size_t i = 0; i < r->n; i++) {
        const struct scenario_result *res = &r->sr[i];
        size_t fails = res->fail_reason[0] != 0;
        for (size_t g = 0; g < res->ngates; g++)
            fails += !res->gates[g].pass;
        size_t n = res->ngates + (res->fail_reason[0] != 0) + (res->error[0] != 0);
        fprintf(f, "  <testsuite name=\"");
        markup_escape(f, res->sc->name);
        fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%d\" skipped=\"0\" time=\"%.3f\" "
                   "timestamp=\"",
                n, fails, res->error[0] != 0, res->duration_s);
        markup_escape(f, r->started_utc);
        fprintf(f, "\">\n");
        /* a gate's time is its scenario's: the gates are judged together */
        for (size_t g = 0; g < res->ngates; g++) {
            const struct gate_result *gr = &res->gates[g];
            char text[256], name[200];
            gate_text(gr, text, sizeof text);
            snprintf(name, sizeof name, "%s %s", gr->gate->metric, gr->gate->expr);
            testcase_open(f, res->sc->name, name, res->duration_s);
            if (!gr->pass)
                element(f, "failure", text);
            fprintf(f, "</testcase>\n");
        }
        if (res->fail_reason[0]) {
            testcase_open(f, res->sc->name, "users got no unexpected errors", res->duration_s);
            element(f, "failure", res->fail_reason);
            fprintf(f, "</testcase>\n");
        }
        if (res->error[0]) {
            testcase_open(f, res->sc->name, "scenario could be judged", res->duration_s);
            element(f, "error", res->error);
            fprintf(f, "</testcase>\n");
        }
        fprintf(f, "  </testsuite>\n");
    }
    for (size_t i = 0; i < r->nnot_run; i++) {
        char msg[700];
        snprintf(msg, sizeof msg, "did not run: %s", r->env_error);
        fprintf(f, "  <testsuite name=\"");
        markup_escape(f, r->not_run[i]);
        fprintf(f, "\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\" time=\"0\" "
                   "timestamp=\"");
        markup_escape(f, r->started_utc);
        fprintf(f, "\">\n");
        testcase_open(f, r->not_run[i], "scenario ran", 0);
        element(f, "error", msg);
        fprintf(f, "</testcase>\n  </testsuite>\n");
    }
    if (r->n == 0 && r->nnot_run == 0 && r->env_error[0]) {
        fprintf(f, "  <testsuite name=\"run\" tests=\"1\" failures=\"0\" errors=\"1\" "
                   "skipped=\"0\" time=\"%.3f\">\n",
                r->total_s);
        testcase_open(f, "run", "environment", r->total_s);
        element(f, "error", r->env_error);
        fprintf(f, "</testcase>\n  </testsuite>\n");
    }
    fprintf(f, "</testsuites>\n");
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
