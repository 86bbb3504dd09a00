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

char *junit_build(const struct run_result *r)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL)
        return NULL;
    size_t tests = 0, failures = 0;
    for (size_t i = 0; i < r->n; i++)
        for (size_t g = 0; g < r->sr[i].ngates; g++) {
            tests++;
            failures += !r->sr[i].gates[g].pass;
        }
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f, "<testsuites name=\"tailgate\" tests=\"%zu\" failures=\"%zu\" time=\"%.3f\">\n",
            tests, failures, r->total_s);
    for (size_t i = 0; i < r->n; i++) {
        const struct scenario_result *res = &r->sr[i];
        size_t fails = 0;
        for (size_t g = 0; g < res->ngates; g++)
            fails += !res->gates[g].pass;
        fprintf(f, "  <testsuite name=\"");
        markup_escape(f, res->sc->name);
        fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" time=\"%.3f\">\n", res->ngates, fails,
                res->duration_s);
        for (size_t g = 0; g < res->ngates; g++) {
            const struct gate_result *gr = &res->gates[g];
            char text[256];
            gate_text(gr, text, sizeof text);
            fprintf(f, "    <testcase classname=\"");
            markup_escape(f, res->sc->name);
            fprintf(f, "\" name=\"");
            markup_escape(f, gr->gate->metric);
            fputc(' ', f);
            markup_escape(f, gr->gate->expr);
            fprintf(f, "\">");
            if (!gr->pass) {
                fprintf(f, "<failure message=\"");
                markup_escape(f, text);
                fprintf(f, "\"/>");
            }
            fprintf(f, "</testcase>\n");
        }
        if (res->error[0]) {
            fprintf(f, "    <testcase classname=\"");
            markup_escape(f, res->sc->name);
            fprintf(f, "\" name=\"scenario ran\"><failure message=\"");
            markup_escape(f, res->error);
            fprintf(f, "\"/></testcase>\n");
        }
        fprintf(f, "  </testsuite>\n");
    }
    fprintf(f, "</testsuites>\n");
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
