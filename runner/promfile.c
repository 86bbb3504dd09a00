/* metrics.prom: per scenario, close lag, tail tokens and time to first token as histograms with
 * fixed buckets, the scenario's verdict and the build, for node_exporter's textfile collector
 * (copy or link the file into its --collector.textfile.directory). */
#include "promfile.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cliutil.h"
#include "results.h"
#include "version.h"

#define PROMFILE_MAX_BYTES (16u * 1024 * 1024) /* far above 64 scenarios x 3 histograms */

struct out {
    char *s;
    size_t len, cap;
    int oom;
};

static void put(struct out *o, const char *fmt, ...)
{
    if (o->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->s ? o->s + o->len : NULL, o->s ? o->cap - o->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            o->oom = 1;
            return;
        }
        if (o->s && o->len + (size_t)n < o->cap) {
            o->len += (size_t)n;
            return;
        }
        size_t cap = o->cap ? o->cap * 2 : 8192;
        while (cap <= o->len + (size_t)n)
            cap *= 2;
        char *tmp = cap <= PROMFILE_MAX_BYTES ? realloc(o->s, cap) : NULL;
        if (tmp == NULL) {
            o->oom = 1;
            return;
        }
        o->s = tmp;
        o->cap = cap;
    }
}

/* A label value: backslash, double quote and newline escaped (exposition format). */
static void put_label(struct out *o, const char *v)
{
    for (; v && *v; v++) {
        if (*v == '\\' || *v == '"')
            put(o, "\\%c", *v);
        else if (*v == '\n')
            put(o, "\\n");
        else
            put(o, "%c", *v);
    }
}

struct hist {
    const char *name, *help;
    enum metric_sample m;
    double scale; /* sample unit -> the family's unit */
    const double *le;
    size_t nle;
};

static const double seconds_le[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                    0.5,   1,      2.5,   5,    10,    30,   60};
static const double tokens_le[] = {0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384};

#define NLE(a) (sizeof(a) / sizeof((a)[0]))

static const struct hist hists[] = {
    {"tailgate_run_close_lag_seconds",
     "The user's action (t_abort) to the mock seeing the gateway close the upstream or cancel; "
     "a request never closed counts the settle window (close_lag_ms).",
     M_CLOSE_LAG_MS, 1e-3, seconds_le, NLE(seconds_le)},
    {"tailgate_run_tail_tokens",
     "Tokens the mock generated after the user's action, per request (tail_tokens).", M_TAIL_TOKENS,
     1, tokens_le, NLE(tokens_le)},
    {"tailgate_run_time_to_first_token_seconds",
     "The client's request sent to the first byte of the answer, per request (ttft_ms).", M_TTFT_MS,
     1e-3, seconds_le, NLE(seconds_le)},
};

static void put_hist(struct out *o, const struct run_result *r, const struct hist *h)
{
    put(o, "# HELP %s %s\n# TYPE %s histogram\n", h->name, h->help, h->name);
    for (size_t s = 0; s < r->n; s++) {
        const struct scenario_result *sr = &r->sr[s];
        const char *name = sr->sc ? sr->sc->name : "";
        uint64_t count = 0;
        double sum = 0;
        for (size_t i = 0; i < sr->nreqs; i++) {
            double v = sr->reqs[i].sample[h->m];
            if (!isnan(v)) {
                count++;
                sum += v * h->scale;
            }
        }
        for (size_t b = 0; b <= h->nle; b++) {
            uint64_t cum = 0;
            for (size_t i = 0; b < h->nle && i < sr->nreqs; i++) {
                double v = sr->reqs[i].sample[h->m];
                cum += !isnan(v) && v * h->scale <= h->le[b];
            }
            put(o, "%s_bucket{scenario=\"", h->name);
            put_label(o, name);
            if (b < h->nle)
                put(o, "\",le=\"%g\"} %llu\n", h->le[b], (unsigned long long)cum);
            else
                put(o, "\",le=\"+Inf\"} %llu\n", (unsigned long long)count);
        }
        put(o, "%s_sum{scenario=\"", h->name);
        put_label(o, name);
        put(o, "\"} %.9g\n%s_count{scenario=\"", isfinite(sum) ? sum : 0, h->name);
        put_label(o, name);
        put(o, "\"} %llu\n", (unsigned long long)count);
    }
}

char *promfile_build(const struct run_result *r)
{
    struct out o = {0};
    put(&o, "# HELP tailgate_build_info The build's version (VERSION) and source revision; always "
            "1.\n# TYPE tailgate_build_info gauge\ntailgate_build_info{version=\"");
    put_label(&o, version_number());
    put(&o, "\",revision=\"");
    put_label(&o, version_revision());
    put(&o, "\"} 1\n");
    put(&o, "# HELP tailgate_run_scenario_pass 1 when every gate of the scenario passed, else 0."
            "\n# TYPE tailgate_run_scenario_pass gauge\n");
    for (size_t s = 0; s < r->n; s++) {
        put(&o, "tailgate_run_scenario_pass{scenario=\"");
        put_label(&o, r->sr[s].sc ? r->sr[s].sc->name : "");
        put(&o, "\"} %d\n", r->sr[s].pass ? 1 : 0);
    }
    for (size_t k = 0; k < NLE(hists); k++)
        put_hist(&o, r, &hists[k]);
    if (o.oom) {
        free(o.s);
        return NULL;
    }
    return o.s;
}

int promfile_write(const char *dir, const struct run_result *r, char *err, size_t errlen)
{
    char *text = promfile_build(r);
    if (text == NULL) {
        snprintf(err, errlen, "metrics.prom: out of memory");
        return -1;
    }
    int rc = cliutil_write_text(dir, "metrics.prom", text, err, errlen);
    free(text);
    return rc;
}
