/* Chart data and scripts. Data files hold exact numbers (%.10g), one row per point, so a test or
 * a reader can check a chart against results.json; scripts hold only presentation. */
#include "reports/charts.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/plot.h"
#include "reports/runfile.h"

#define GATES_PER_CHART 8     /* gates of one metric in one scenario drawn; more are listed */
#define TIMELINE_PANELS 4     /* sample requests drawn per scenario */
#define POINTS_MAX 60         /* above this many samples a CDF is a line without markers */
#define BILLING_BUCKETS_MAX 600 /* 1-s buckets, the runner's cap: it adds later ones to the last */

struct gate_mark {
    double thr;
    double level; /* the quantile a "<" gate applies to (p(95): 0.95, max: 1), else NAN */
    char text[192];
};

struct cdf_series {
    char file[200];
    char title[256];
    int ls;
    long n;       /* values in the file */
    size_t denom; /* the fraction's denominator: values, or aborted requests when more */
    double first, median, last;
};

static FILE *open_in(const char *dir, const char *file, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return f;
}

static int close_in(FILE *f, const char *dir, const char *file, char *err, size_t errlen)
{
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        snprintf(err, errlen, "%s/%s: write failed", dir, file);
        return -1;
    }
    return 0;
}

static int add_chart(struct chart_set *set, const char *name, const char *scenario,
                     enum chart_kind kind, char *err, size_t errlen, const char *fmt, ...)
{
    if (set->n >= CHARTS_MAX) {
        snprintf(err, errlen, "more than %d charts", CHARTS_MAX);
        return -1;
    }
    struct chart *c = &set->c[set->n++];
    snprintf(c->name, sizeof c->name, "%s", name);
    snprintf(c->scenario, sizeof c->scenario, "%s", scenario ? scenario : "");
    c->kind = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->caption, sizeof c->caption, fmt, ap);
    va_end(ap);
    return 0;
}

/* A chart's commands are built in memory, then written twice (PNG and SVG) by plot.c. */
struct body {
    char *buf;
    size_t len;
    FILE *f;
};

static FILE *body_open(struct body *b, char *err, size_t errlen)
{
    b->buf = NULL;
    b->len = 0;
    b->f = open_memstream(&b->buf, &b->len);
    if (b->f == NULL)
        snprintf(err, errlen, "open_memstream: out of memory");
    return b->f;
}

static int body_write(struct body *b, const char *dir, const char *name, int w, int h, char *err,
                      size_t errlen)
{
    int rc = -1;
    if (fclose(b->f) != 0 || b->buf == NULL) {
        snprintf(err, errlen, "%s: out of memory", name);
    } else if (b->len > PLOT_MAX_BODY) {
        snprintf(err, errlen, "%s: %zu bytes of gnuplot commands, more than %d", name, b->len,
                 PLOT_MAX_BODY);
    } else {
        rc = plot_write_script(dir, name, w, h, b->buf, err, errlen);
    }
    free(b->buf);
    b->buf = NULL;
    b->f = NULL;
    return rc;
}

/* A title, label or key text as a gnuplot string; printf-style. */
static void qprintf(FILE *f, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    plot_quote(f, text);
}

/* A number in a data file: exact, and "NaN" (gnuplot's word for a missing point) when unknown. */
static void put_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.10g", v);
    else
        fputs("NaN", f);
}

/* Comment text in a data file: one line, whatever the scenario is called. */
static void put_clean(FILE *f, const char *s)
{
    for (; *s; s++)
        fputc((unsigned char)*s < 0x20 ? ' ' : *s, f);
}

void charts_pretty_expr(const char *expr, char *out, size_t len)
{
    size_t o = 0;
    for (const char *p = expr; *p && o + 4 < len; p++) {
        const char *rep = NULL;
        if (p[0] == '<' && p[1] == '=')
            rep = " \xe2\x89\xa4 "; /* ≤ */
        else if (p[0] == '>' && p[1] == '=')
            rep = " \xe2\x89\xa5 "; /* ≥ */
        else if (p[0] == '=' && p[1] == '=')
            rep = " = ";
        else if (p[0] == '<' || p[0] == '>') {
            out[o++] = ' ';
            out[o++] = *p;
            out[o++] = ' ';
            continue;
        }
        if (rep) {
            size_t rl = strlen(rep);
            if (o + rl + 1 >= len)
                break;
            memcpy(out + o, rep, rl);
            o += rl;
            p++;
            continue;
        }
        out[o++] = *p;
    }
    out[o] = '\0';
}

static const char *gateway_of(const cJSON *run)
{
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(run, "direct")))
        return "--direct (no gateway)";
    const char *g = runfile_str(run, "gateway");
    return *g ? g : "gateway";
}

/* ---- CDFs ------------------------------------------------------------------------------- */

/* Writes 'file': "value cumulative_fraction" per sample, sorted; the k-th smallest of n values
 * at k/denom, where denom counts the aborted requests when some have no value (a close that
 * never came): the curve then ends below 1, which is the finding. n == 0 writes no file. */
static int cdf_data(const char *dir, const char *file, const cJSON *sc, const char *field,
                    const char *what, struct cdf_series *s, char *err, size_t errlen)
{
    double *v = NULL;
    size_t aborted = 0;
    long n = runfile_samples(sc, field, &v, &aborted);
    if (n < 0) {
        snprintf(err, errlen, "%s: out of memory", file);
        return -1;
    }
    snprintf(s->file, sizeof s->file, "%s", file);
    s->n = n;
    s->denom = aborted > (size_t)n ? aborted : (size_t)n;
    if (n == 0)
        return 0;
    s->first = v[0];
    s->median = v[n / 2];
    s->last = v[n - 1];
    FILE *f = open_in(dir, file, err, errlen);
    if (f == NULL) {
        free(v);
        return -1;
    }
    fputs("# ", f);
    put_clean(f, what);
    fputs(", scenario '", f);
    put_clean(f, runfile_str(sc, "name"));
    fprintf(f, "'\n# value cumulative_fraction: the k-th smallest of %ld values at k/%zu%s\n", n,
            s->denom, s->denom > (size_t)n ? " (requests without a value count: the curve "
                                               "ends below 1)" : "");
    for (long i = 0; i < n; i++)
        fprintf(f, "%.10g %.6g\n", v[i], (double)(i + 1) / (double)s->denom);
    free(v);
    return close_in(f, dir, file, err, errlen);
}

static double gate_level(const char *expr)
{
    if (strchr(expr, '<') == NULL)
        return NAN; /* a floor ("rate>=1") has no point on a CDF to reach */
    if (strncmp(expr, "p(", 2) == 0)
        return strtod(expr + 2, NULL) / 100.0;
    if (strncmp(expr, "max", 3) == 0)
        return 1.0;
    if (strncmp(expr, "med", 3) == 0)
        return 0.5;
    return NAN;
}

static size_t collect_gates(const cJSON *sc, const char *metric, struct gate_mark *g)
{
    size_t n = 0;
    const cJSON *gj;
    cJSON_ArrayForEach(gj, cJSON_GetObjectItemCaseSensitive(sc, "gates"))
    {
        double thr = runfile_num(gj, "threshold");
        if (n == GATES_PER_CHART || strcmp(runfile_str(gj, "metric"), metric) != 0 ||
            !isfinite(thr))
            continue;
        char pretty[96];
        charts_pretty_expr(runfile_str(gj, "expr"), pretty, sizeof pretty);
        double obs = runfile_num(gj, "observed");
        int pass = runfile_passed(gj);
        g[n].thr = thr;
        g[n].level = gate_level(runfile_str(gj, "expr"));
        if (isfinite(obs))
            snprintf(g[n].text, sizeof g[n].text, "%s: %s (%.4g)", pretty,
                     pass ? "pass" : "FAIL", obs);
        else
            snprintf(g[n].text, sizeof g[n].text, "%s: %s (no samples)", pretty,
                     pass ? "pass" : "FAIL");
        n++;
    }
    return n;
}

/* Gate thresholds as vertical lines with their verdict written along them, on the side away
 * from most of the data. A label starts at the bottom unless an earlier one is within 6% of the
 * axis; then it hangs from the top, so close thresholds do not write over each other. gnuplot
 * centres rotated text on its anchor: the offset is a whole character to clear the line. */
static void draw_gates(FILE *b, const struct gate_mark *g, size_t ng, const struct cdf_series *m,
                       double lo, double hi, int logx)
{
    double pos[GATES_PER_CHART];
    int top[GATES_PER_CHART];
    for (size_t k = 0; k < ng; k++) {
        int ls = PLOT_LS_GATE + (int)(k % PLOT_LS_GATE_N);
        pos[k] = logx ? (log10(g[k].thr) - log10(lo)) / (log10(hi) - log10(lo))
                      : (g[k].thr - lo) / (hi - lo);
        top[k] = 0;
        for (size_t j = 0; j < k; j++)
            if (fabs(pos[j] - pos[k]) < 0.06 && !top[j])
                top[k] = 1;
        int left = (m && m->n > 0 && m->median > g[k].thr) || pos[k] > 0.9;
        if (pos[k] < 0.04)
            left = 0;
        fprintf(b, "set arrow %zu from first %.10g, graph 0 to first %.10g, graph 1 nohead "
                   "ls %d front\n", k + 1, g[k].thr, g[k].thr, ls);
        fprintf(b, "set label %zu ", k + 1);
        plot_quote(b, g[k].text);
        fprintf(b, " at first %.10g, graph %s rotate by 90 %s offset %s,0 front tc ls %d "
                   "font ',11'\n", g[k].thr, top[k] ? "0.97" : "0.03", top[k] ? "right" : "left",
                left ? "-1.1" : "1.1", ls);
    }
}

/* The key under the plot, one entry per row, with room kept for it: gnuplot's own "below"
 * placement overlaps the x label in 5.4. */
static void key_below(FILE *f, int entries)
{
    fprintf(f, "set key at screen 0.5, screen 0.012 center bottom vertical Left reverse "
               "maxrows %d\nset bmargin %.1f\n", entries, 4.6 + 1.3 * entries);
}

static int cdf_chart(const char *dir, const char *name, const char *title, const char *xlabel,
                     int logx, const struct cdf_series *s, size_t ns, const struct gate_mark *g,
                     size_t ng, char *err, size_t errlen)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < ns; i++) {
        if (s[i].n == 0)
            continue;
        lo = fmin(lo, s[i].first);
        hi = fmax(hi, s[i].last);
    }
    for (size_t k = 0; k < ng; k++) {
        lo = fmin(lo, g[k].thr);
        hi = fmax(hi, g[k].thr);
    }
    if (!isfinite(lo)) {
        /* no values and no gates: an empty frame that still carries the key */
        lo = logx ? 0.1 : 0;
        hi = logx ? 1000 : 1;
    }
    if (logx) {
        /* whole decades around the data; sub-microsecond noise is clamped to the left edge */
        lo = pow(10, floor(log10(fmax(lo, 1e-3))));
        hi = pow(10, ceil(log10(fmax(hi * 1.05, lo * 10))));
    } else {
        lo = lo >= 0 ? 0 : lo * 1.1;
        hi = hi > 0 ? hi * 1.08 : 1;
    }
    struct body b;
    FILE *f = body_open(&b, err, errlen);
    if (f == NULL)
        return -1;
    fputs("set title ", f);
    plot_quote(f, title);
    fputs(" font ',14'\nset xlabel ", f);
    plot_quote(f, xlabel);
    fputs("\nset ylabel 'fraction of aborted requests (CDF)'\n"
          "set yrange [0:1.02]\nset ytics 0,0.1,1 format '%.1f'\n", f);
    fprintf(f, "set xrange [%.10g:%.10g]\n", lo, hi);
    if (logx) {
        fputs("set logscale x 10\nset format x '%g'\nset mxtics 10\n", f);
        if (hi / lo <= 1001) {
            /* three decades or fewer: label 1, 2 and 5 of each, or a narrow axis reads as two
             * numbers */
            fputs("set xtics (", f);
            int n = 0;
            for (double d = lo; d < hi * 1.001; d *= 10)
                for (int m = 1; m <= 5 && d * m < hi * 1.001; m += m == 1 ? 1 : 3)
                    fprintf(f, "%s%.10g", n++ ? ", " : "", d * m);
            fputs(")\n", f);
        }
    }
    int markers = 0, entries = 0;
    for (size_t k = 0; k < ng; k++)
        markers |= isfinite(g[k].level);
    for (size_t i = 0; i < ns; i++)
        entries += s[i].denom > 0;
    key_below(f, entries + (int)ng + markers);
    draw_gates(f, g, ng, ns ? &s[ns - 1] : NULL, lo, hi, logx);
    if (markers) {
        fputs("$GATES << EOD\n", f);
        for (size_t k = 0; k < ng; k++)
            if (isfinite(g[k].level))
                fprintf(f, "%.10g %.6g\n", g[k].thr, g[k].level);
        fputs("EOD\n", f);
    }
    /* steps draws each point's rise from the previous one; the first rise from 0 is an arrow */
    for (size_t i = 0; i < ns; i++)
        if (s[i].n > 0)
            fprintf(f, "set arrow %zu from first %.10g, first 0 to first %.10g, first %.6g "
                       "nohead ls %d\n", 100 + i, fmax(s[i].first, lo), fmax(s[i].first, lo),
                    1.0 / (double)s[i].denom, s[i].ls);
    const char *x = logx ? "(($1 > %.10g) ? $1 : %.10g)" : "1";
    char xcol[96];
    snprintf(xcol, sizeof xcol, x, lo, lo);
    fputs("plot ", f);
    int first = 1;
    for (size_t i = 0; i < ns; i++) {
        if (s[i].denom == 0)
            continue;
        if (s[i].n == 0) {
            /* aborted requests but no value (nothing ever closed): the key still says so */
            fprintf(f, "%sNaN with steps ls %d title ", first ? "" : ", \\\n     ", s[i].ls);
            plot_quote(f, s[i].title);
            first = 0;
            continue;
        }
        fprintf(f, "%s'%s' using %s:2 with steps ls %d title ", first ? "" : ", \\\n     ",
                s[i].file, xcol, s[i].ls);
        plot_quote(f, s[i].title);
        if (s[i].n <= POINTS_MAX)
            fprintf(f, ", \\\n     '%s' using %s:2 with points ls %d notitle", s[i].file, xcol,
                    s[i].ls);
        first = 0;
    }
    /* one key entry per gate line, in the line's own style: with two gates a single "gate
     * threshold" entry showed the first gate's dashes only and left the second unexplained */
    for (size_t k = 0; k < ng; k++) {
        fprintf(f, ", \\\n     NaN with lines ls %d title ",
                PLOT_LS_GATE + (int)(k % PLOT_LS_GATE_N));
        qprintf(f, "gate %s", g[k].text);
    }
    if (markers)
        fputs(", \\\n     $GATES using 1:2 with points pt 12 ps 2.5 lw 2 lc rgb '#D55E00' "
              "title 'gate quantile: the curve must reach it at or left of the line'", f);
    fputc('\n', f);
    return body_write(&b, dir, name, 1000, 640, err, errlen);
}

static void series_title(struct cdf_series *s, const char *who, const char *missing)
{
    if (s->denom > (size_t)s->n)
        snprintf(s->title, sizeof s->title, "%s: %ld of %zu aborted requests; %zu %s", who, s->n,
                 s->denom, s->denom - (size_t)s->n, missing);
    else
        snprintf(s->title, sizeof s->title, "%s: %ld aborted requests", who, s->n);
}

static int run_cdfs(const char *dir, const cJSON *run, const cJSON *sc, const cJSON *floor_sc,
                    const char *stem, struct chart_set *set, char *err, size_t errlen)
{
    const char *name = runfile_str(sc, "name");
    const char *gw = gateway_of(run);
    const char *verdict = runfile_passed(sc) ? "pass" : "FAIL";
    struct gate_mark g[GATES_PER_CHART];
    char file[200], chart[160], title[512];

    struct cdf_series tail = {.ls = PLOT_LS_MAIN};
    snprintf(file, sizeof file, "tail-cdf-%s.dat", stem);
    if (cdf_data(dir, file, sc, "tail_tokens", "tail_tokens: tokens generated after the user's "
                 "abort", &tail, err, errlen) != 0)
        return -1;
    if (tail.n > 0) {
        series_title(&tail, gw, "not measured");
        size_t ng = collect_gates(sc, "tail_tokens", g);
        snprintf(chart, sizeof chart, "tail-cdf-%s", stem);
        snprintf(title, sizeof title, "%s: tail tokens after the user's abort (%s, %s)", name,
                 gw, verdict);
        if (cdf_chart(dir, chart, title, "tail tokens (generated after the abort, per request)",
                      0, &tail, 1, g, ng, err, errlen) != 0 ||
            add_chart(set, chart, name, CHART_TAIL_CDF, err, errlen,
                      "Tail tokens per aborted request, cumulative: how many tokens were "
                      "generated after the user left. %zu gate%s drawn.", ng,
                      ng == 1 ? "" : "s") != 0)
            return -1;
    }

    /* the floor first, so this run's curve is drawn over it */
    struct cdf_series lag[2] = {{.ls = PLOT_LS_THIRD}, {.ls = PLOT_LS_MAIN}};
    if (floor_sc) {
        snprintf(file, sizeof file, "close-lag-floor-%s.dat", stem);
        if (cdf_data(dir, file, floor_sc, "close_lag_ms", "close_lag_ms of the --direct run (the "
                     "harness's own floor)", &lag[0], err, errlen) != 0)
            return -1;
        series_title(&lag[0], "--direct floor (the harness alone)", "never closed");
    }
    snprintf(file, sizeof file, "close-lag-cdf-%s.dat", stem);
    if (cdf_data(dir, file, sc, "close_lag_ms", "close_lag_ms: user abort to mockprov seeing the "
                 "gateway close upstream", &lag[1], err, errlen) != 0)
        return -1;
    if (lag[1].denom == 0)
        return 0; /* nobody left: nothing to close */
    series_title(&lag[1], gw, "never closed upstream");
    size_t ng = collect_gates(sc, "close_lag_ms", g);
    snprintf(chart, sizeof chart, "close-lag-cdf-%s", stem);
    snprintf(title, sizeof title, "%s: close lag, user abort to upstream close (%s, %s)", name,
             gw, verdict);
    return cdf_chart(dir, chart, title,
                     "close lag (ms, log scale): the user left until mockprov saw the gateway "
                     "close upstream", 1, lag, 2, g, ng, err, errlen) ||
           add_chart(set, chart, name, CHART_CLOSE_LAG_CDF, err, errlen,
                     "Close lag per aborted request, cumulative, on a log time axis%s.",
                     lag[0].n ? "; the --direct floor is what the harness alone measures" : "");
}

/* ---- token counter around the abort ------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Writes one counter block: "t_ms count" per token, in time order; returns the token count or -1
 * when out of memory. Nothing is written for an empty array (gnuplot would miscount indexes). */
static long counter_block(FILE *f, const cJSON *arr, const char *cid, const char *what,
                          double *tmin, double *tmax)
{
    int n = cJSON_GetArraySize(arr);
    if (n <= 0)
        return 0;
    double *t = malloc((size_t)n * sizeof *t);
    if (t == NULL)
        return -1;
    long k = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, arr)
    {
        if (cJSON_IsNumber(v) && isfinite(v->valuedouble))
            t[k++] = v->valuedouble;
    }
    if (k > 0) {
        qsort(t, (size_t)k, sizeof *t, cmp_double);
        fputs("# ", f);
        put_clean(f, cid);
        fprintf(f, " %s: t_ms count\n", what);
        for (long i = 0; i < k; i++)
            fprintf(f, "%.10g %ld\n", t[i], i + 1);
        fputs("\n\n", f);
        *tmin = fmin(*tmin, t[0]);
        *tmax = fmax(*tmax, t[k - 1]);
    }
    free(t);
    return k;
}

struct panel {
    char cid[96];
    long gen_idx, del_idx; /* data-file index of each block, -1 when absent */
    long ngen, ndel;
    double last_del, tail;
};

static double tail_of(const cJSON *sc, const char *cid, const cJSON *tl)
{
    const cJSON *q;
    cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(sc, "requests_detail"))
    {
        if (strcmp(runfile_str(q, "correlation_id"), cid) == 0 &&
            isfinite(runfile_num(q, "tail_tokens")))
            return runfile_num(q, "tail_tokens");
    }
    /* not in the detail: count what the timeline shows after the abort */
    double n = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(tl, "generated_ms"))
        n += cJSON_IsNumber(v) && v->valuedouble > 0;
    return n;
}

/* One legend row for every panel, in the band under the title, drawn once in screen
 * coordinates: a key belongs to one panel and cannot be wider than it. */
static void legend_row(FILE *o, int width, int height)
{
    static const char *const text[] = {"tokens generated (mockprov)",
                                       "tokens delivered to the user (client)",
                                       "after the abort: generated for nobody"};
    const double sample = 44, gap = 10, sep = 48, per_char = 8.2;
    double total = 0;
    for (int i = 0; i < 3; i++)
        total += sample + gap + per_char * (double)strlen(text[i]) + (i ? sep : 0);
    double x = (width - total) / 2, y = 1 - 58.0 / height;
    for (int i = 0; i < 3; i++) {
        double x0 = x / width, x1 = (x + sample) / width;
        if (i < 2)
            fprintf(o, "set arrow %d from screen %.4f, screen %.4f to screen %.4f, screen %.4f "
                       "nohead ls %d\n", 50 + i, x0, y, x1, y, i ? PLOT_LS_SECOND : PLOT_LS_MAIN);
        else
            fprintf(o, "set object 50 rect from screen %.4f, screen %.4f to screen %.4f, "
                       "screen %.4f fc rgb '#e6e6e6' fs solid 1.0 border rgb '#999999'\n", x0,
                    y - 8.0 / height, x1, y + 8.0 / height);
        if (i == 1)
            fprintf(o, "set label 53 '' at screen %.4f, screen %.4f point ls %d\n",
                    (x + sample / 2) / width, y, PLOT_LS_SECOND);
        fprintf(o, "set label %d '%s' at screen %.4f, screen %.4f left\n", 50 + i, text[i],
                (x + sample + gap) / width, y);
        x += sample + gap + per_char * (double)strlen(text[i]) + sep;
    }
}

static int timeline_chart(const char *dir, const cJSON *run, const cJSON *sc, const char *stem,
                          struct chart_set *set, char *err, size_t errlen)
{
    struct panel p[TIMELINE_PANELS];
    size_t np = 0;
    long block = 0;
    double tmin = INFINITY, tmax = -INFINITY, ymax = 1;
    char file[200], chart[160];
    snprintf(file, sizeof file, "timeline-%s.dat", stem);
    FILE *f = NULL;
    const cJSON *tl;
    cJSON_ArrayForEach(tl, cJSON_GetObjectItemCaseSensitive(sc, "timelines"))
    {
        if (np == TIMELINE_PANELS)
            break;
        /* the chart is about the abort: requests read to the end have nothing to show here */
        const char *ref = runfile_str(tl, "reference");
        if (ref[0] && strcmp(ref, "abort") != 0 && strcmp(ref, "error") != 0)
            continue;
        const cJSON *gen = cJSON_GetObjectItemCaseSensitive(tl, "generated_ms");
        const cJSON *del = cJSON_GetObjectItemCaseSensitive(tl, "delivered_ms");
        if (cJSON_GetArraySize(gen) + cJSON_GetArraySize(del) <= 0)
            continue;
        if (f == NULL) {
            f = open_in(dir, file, err, errlen);
            if (f == NULL)
                return -1;
            fputs("# token counter around the user's abort, scenario '", f);
            put_clean(f, runfile_str(sc, "name"));
            fputs("': ms relative to the abort (0), tokens so far\n"
                  "# per sample request: a block of tokens generated (mockprov), then a block of "
                  "tokens delivered (client); blocks are separated by two blank lines\n\n", f);
        }
        struct panel *q = &p[np];
        snprintf(q->cid, sizeof q->cid, "%s", runfile_str(tl, "correlation_id"));
        double dmin = INFINITY, dmax = -INFINITY;
        q->ngen = counter_block(f, gen, q->cid, "generated", &tmin, &tmax);
        q->gen_idx = q->ngen > 0 ? block++ : -1;
        q->ndel = counter_block(f, del, q->cid, "delivered", &dmin, &dmax);
        q->del_idx = q->ndel > 0 ? block++ : -1;
        if (q->ngen < 0 || q->ndel < 0) {
            fclose(f);
            snprintf(err, errlen, "%s: out of memory", file);
            return -1;
        }
        if (q->ngen == 0 && q->ndel == 0)
            continue;
        tmin = fmin(tmin, dmin);
        tmax = fmax(tmax, dmax);
        q->last_del = dmax;
        q->tail = tail_of(sc, q->cid, tl);
        ymax = fmax(ymax, (double)(q->ngen > q->ndel ? q->ngen : q->ndel));
        np++;
    }
    if (f == NULL)
        return 0;
    if (close_in(f, dir, file, err, errlen) != 0)
        return -1;
    if (np == 0)
        return 0;
    tmin = fmin(tmin, 0);
    tmax = fmax(tmax, 0);
    double pad = (tmax - tmin) * 0.04 + 1;
    double x0 = tmin - pad, x1 = tmax + pad;
    struct body b;
    FILE *o = body_open(&b, err, errlen);
    if (o == NULL)
        return -1;
    const char *name = runfile_str(sc, "name");
    int rows = np > 2 ? 2 : 1, cols = np > 1 ? 2 : 1;
    const int width = 1300, height = rows == 1 ? 600 : 960;
    /* panels placed in pixels: a band under the title holds one legend for all of them, and
     * each cell keeps room for its title, tick labels and axis labels */
    const double band = 96, cell_w = (double)width / cols, cell_h = (height - band) / rows;
    fputs("set multiplot title ", o);
    qprintf(o, "%s: token counter around the user's abort, %zu sample request%s (%s)", name, np,
            np == 1 ? "" : "s", gateway_of(run));
    fputs(" font ',14'\n", o);
    fprintf(o, "set xrange [%.10g:%.10g]\nset yrange [0:%.10g]\n", x0, x1, ymax * 1.12);
    fputs("set xlabel 'time relative to the user''s abort (ms)'\n"
          "set ylabel 'tokens (cumulative)'\n", o);
    /* after the abort every generated token is waste: shade it */
    fputs("set object 1 rect from first 0, graph 0 to graph 1, graph 1 behind "
          "fc rgb '#f2f2f2' fs solid 1.0 noborder\n", o);
    fprintf(o, "set arrow 1 from first 0, graph 0 to first 0, graph 1 nohead ls %d front\n",
            PLOT_LS_MARK);
    if ((0 - x0) / (x1 - x0) > 0.6)
        fputs("set label 1 'user abort' at first 0, graph 0.96 right offset -0.6,0 front "
              "font ',11'\n", o);
    else
        fputs("set label 1 'user abort' at first 0, graph 0.96 left offset 0.6,0 front "
              "font ',11'\n", o);
    for (size_t i = 0; i < np; i++) {
        struct panel *q = &p[i];
        fputs("set title ", o);
        qprintf(o, "%s: %ld delivered, %.0f generated after the abort", q->cid, q->ndel,
                q->tail);
        fputs("\n", o);
        size_t r = i / (size_t)cols, c = i % (size_t)cols;
        fprintf(o, "set lmargin at screen %.4f\nset rmargin at screen %.4f\n"
                   "set tmargin at screen %.4f\nset bmargin at screen %.4f\nunset key\n",
                (c * cell_w + 80) / width, ((c + 1) * cell_w - 24) / width,
                1 - (band + r * cell_h + 40) / height, 1 - (band + (r + 1) * cell_h - 72) / height);
        if (i == 0)
            legend_row(o, width, height);
        if (q->del_idx >= 0 && q->last_del < x1)
            /* the user holds what arrived; the counter stays flat to the right edge */
            fprintf(o, "set arrow 2 from first %.10g, first %ld to graph 1, first %ld nohead "
                       "ls %d\n", q->last_del, q->ndel, q->ndel, PLOT_LS_SECOND);
        else
            fputs("unset arrow 2\n", o);
        fputs("plot ", o);
        if (q->gen_idx >= 0)
            fprintf(o, "'%s' index %ld using 1:2 with steps ls %d notitle, ", file, q->gen_idx,
                    PLOT_LS_MAIN);
        if (q->del_idx >= 0)
            fprintf(o, "'%s' index %ld using 1:2 with steps ls %d notitle, "
                       "'%s' index %ld using 1:2 with points ls %d notitle, ",
                    file, q->del_idx, PLOT_LS_SECOND, file, q->del_idx, PLOT_LS_SECOND);
        fputs("NaN notitle\n", o);
        if (i == 0)
            fputs("unset arrow 50\nunset arrow 51\nunset label 50\nunset label 51\n"
                  "unset label 52\nunset label 53\nunset object 50\n", o);
    }
    fputs("unset multiplot\n", o);
    snprintf(chart, sizeof chart, "timeline-%s", stem);
    return body_write(&b, dir, chart, 1300, height, err, errlen) ||
           add_chart(set, chart, name, CHART_TIMELINE, err, errlen,
                     "Token counter of %zu sample request%s, aligned on the user's abort (0 ms): "
                     "what mockprov generated and what reached the user. Everything generated in "
                     "the shaded part was for nobody.", np, np == 1 ? "" : "s");
}

/* ---- billing over time ------------------------------------------------------------------- */

static void fmt_pct(double v, char *out, size_t len)
{
    if (isfinite(v))
        snprintf(out, len, "%.1f%%", v);
    else
        snprintf(out, len, "n/a");
}

/* One bucket's three counts; a bucket the timeline does not list counted nothing. */
struct bill_bucket {
    double inv, wire, met;
};

static int billing_chart(const char *dir, const cJSON *run, const cJSON *sc, const char *stem,
                         struct chart_set *set, char *err, size_t errlen)
{
    const cJSON *bill = cJSON_GetObjectItemCaseSensitive(sc, "billing");
    const cJSON *tl = cJSON_GetObjectItemCaseSensitive(bill, "timeline");
    if (!cJSON_IsObject(bill) || cJSON_GetArraySize(tl) <= 0)
        return 0;
    const char *name = runfile_str(sc, "name");
    char file[200], chart[160];
    /* buckets are 1 s of request start from 0; the chart runs to the end of the traffic, so a
     * quiet last second shows as zero instead of the axis stopping at the last send */
    double last = -1, ymax = 1;
    int metered = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, tl)
    {
        double t = runfile_num(e, "t_s");
        if (isfinite(t) && t >= 0 && t < BILLING_BUCKETS_MAX)
            last = fmax(last, floor(t));
        metered |= isfinite(runfile_num(e, "metered_output_tokens"));
    }
    if (last < 0)
        return 0;
    double traffic = runfile_num(sc, "traffic_s");
    if (isfinite(traffic) && traffic > 0)
        last = fmax(last, fmin(ceil(traffic) - 1, BILLING_BUCKETS_MAX - 1));
    size_t nb = (size_t)last + 1;
    struct bill_bucket *bk = calloc(nb, sizeof *bk);
    if (bk == NULL) {
        snprintf(err, errlen, "%s: out of memory", name);
        return -1;
    }
    cJSON_ArrayForEach(e, tl)
    {
        double t = runfile_num(e, "t_s");
        if (!isfinite(t) || t < 0 || t >= (double)nb)
            continue;
        struct bill_bucket *q = &bk[(size_t)t];
        double inv = runfile_num(e, "invoice_output_tokens");
        double wire = runfile_num(e, "wire_output_tokens");
        double met = runfile_num(e, "metered_output_tokens");
        q->inv += isfinite(inv) ? inv : 0;
        q->wire += isfinite(wire) ? wire : 0;
        q->met = isfinite(met) ? q->met + met : NAN; /* listed but not known stays unknown */
    }
    snprintf(file, sizeof file, "billing-%s.dat", stem);
    FILE *f = open_in(dir, file, err, errlen);
    if (f == NULL) {
        free(bk);
        return -1;
    }
    fputs("# output tokens per 1-s bucket of request start, scenario '", f);
    put_clean(f, name);
    fputs("': what mockprov invoiced, what the wire's usage told the gateway, what the gateway "
          "metered (NaN: not known)\n# every bucket from 0 to the end of the traffic, empty ones "
          "as 0\n# t_s invoice_output_tokens wire_output_tokens metered_output_tokens\n", f);
    for (size_t i = 0; i < nb; i++) {
        struct bill_bucket *q = &bk[i];
        fprintf(f, "%zu ", i);
        put_num(f, q->inv);
        fputc(' ', f);
        put_num(f, q->wire);
        fputc(' ', f);
        put_num(f, metered ? q->met : NAN);
        fputc('\n', f);
        ymax = fmax(ymax, fmax(q->inv, q->wire));
        if (metered && isfinite(q->met))
            ymax = fmax(ymax, q->met);
    }
    free(bk);
    if (close_in(f, dir, file, err, errlen) != 0)
        return -1;
    double thi = (double)nb;
    const cJSON *sw = cJSON_GetObjectItemCaseSensitive(bill, "switches_s");
    const cJSON *s;
    cJSON_ArrayForEach(s, sw)
    {
        if (cJSON_IsNumber(s))
            thi = fmax(thi, s->valuedouble);
    }
    char v[32], vb[32], va[32];
    fmt_pct(runfile_num(bill, "variance_pct"), v, sizeof v);
    fmt_pct(runfile_num(bill, "variance_before_switch_pct"), vb, sizeof vb);
    fmt_pct(runfile_num(bill, "variance_after_switch_pct"), va, sizeof va);
    struct body b;
    FILE *o = body_open(&b, err, errlen);
    if (o == NULL)
        return -1;
    /* two lines: the variances do not fit after a long scenario or gateway name */
    fputs("set title ", o);
    qprintf(o, "%s: billed vs reported output tokens over time (%s)", name, gateway_of(run));
    fputs(".\"\\n\".", o);
    if (cJSON_GetArraySize(sw) > 0)
        qprintf(o, "invoice vs metering: %s over the run, %s before the switch, %s after", v, vb,
                va);
    else
        qprintf(o, "invoice vs metering: %s over the run", v);
    fputs(" font ',13'\n", o);
    fprintf(o, "set xrange [0:%.10g]\nset yrange [0:%.10g]\n", thi, ymax * 1.15);
    fputs("set xlabel 'time in the scenario (s): one group of bars per 1-s bucket of request "
          "start'\nset ylabel 'output tokens per bucket'\n", o);
    if (thi <= 20)
        fputs("set xtics 1\n", o);
    /* a count per interval is a bar over the interval, not a point on a curve: lines joined
     * through an empty bucket drew a V that read as billing dropping to zero. The series stand
     * side by side in each bucket, so equal counts show as equal bars instead of hiding each
     * other; fill patterns differ too, for greyscale prints. */
    int ns = 2 + metered;
    double w = 0.84 / ns;
    fprintf(o, "set boxwidth %.4f absolute\n", w);
    fputs("set style line 41 lc rgb '#000000' lw 1\n"
          "set style line 42 lc rgb '#0072B2' lw 1.5\n"
          "set style line 43 lc rgb '#E69F00' lw 1.5\n", o);
    int k = 0;
    cJSON_ArrayForEach(s, sw)
    {
        if (!cJSON_IsNumber(s))
            continue;
        k++;
        fprintf(o, "set arrow %d from first %.10g, graph 0 to first %.10g, graph 1 nohead ls %d "
                   "front\n", k, s->valuedouble, s->valuedouble, PLOT_LS_GATE + 1);
        /* bottom up, left of the line (rotated text is centred on its anchor) */
        fprintf(o, "set label %d 'profile switch at %.4g s' at first %.10g, graph %.2f rotate by "
                   "90 left offset -1.1,0 front tc ls %d font ',11'\n", k, s->valuedouble,
                s->valuedouble, k % 2 ? 0.03 : 0.5, PLOT_LS_GATE + 1);
    }
    key_below(o, ns + (k > 0));
    fprintf(o, "plot '%s' using ($1+%.4f):2 with boxes ls 41 fs solid 0.85 border lc rgb "
               "'#000000' title 'invoice (what mockprov bills): left bar', \\\n"
               "     '' using ($1+%.4f):3 with boxes ls 42 fs pattern 4 border lc rgb '#0072B2' "
               "title 'wire usage (what the gateway was told): %s bar'", file, 0.08 + w / 2,
            0.08 + w * 1.5, metered ? "middle" : "right");
    if (metered)
        fprintf(o, ", \\\n     '' using ($1+%.4f):4 with boxes ls 43 fs pattern 5 border lc rgb "
                   "'#E69F00' title 'gateway metering (what it would charge): right bar'",
                0.08 + w * 2.5);
    if (k)
        fprintf(o, ", \\\n     NaN with lines ls %d title 'vendor profile switch'",
                PLOT_LS_GATE + 1);
    fputc('\n', o);
    snprintf(chart, sizeof chart, "billing-%s", stem);
    return body_write(&b, dir, chart, 1000, 600, err, errlen) ||
           add_chart(set, chart, name, CHART_BILLING, err, errlen,
                     "Output tokens per 1-s bucket of request start, as invoiced and as the wire "
                     "reported them%s, side by side; %s.",
                     metered ? ", and as the gateway metered them" : "",
                     k == 0 ? "no vendor profile switch during this scenario"
                     : k == 1 ? "the vendor profile switch is marked"
                              : "each vendor profile switch is marked");
}

/* ---- run-wide bars ------------------------------------------------------------------------ */

/* Shared bar-chart settings: clustered bars with scenario names slanted under them. */
static void bars_setup(FILE *o, double ymax)
{
    fputs("set style data histograms\nset style histogram clustered gap 1\n"
          "set boxwidth 0.9 relative\n"
          "set xtics rotate by 30 right nomirror font ',11'\nset grid noxtics ytics\n"
          "set key at graph 0.5, graph 1.02 center bottom horizontal Left reverse\n"
          "set tmargin 5.5\nset lmargin 12\n", o);
    fprintf(o, "set yrange [0:%.10g]\n", ymax > 0 ? ymax * 1.22 : 1);
}

static int ptdr_chart(const char *dir, const cJSON *run, struct chart_set *set, char *err,
                      size_t errlen)
{
    const cJSON *scs = cJSON_GetObjectItemCaseSensitive(run, "scenarios");
    if (cJSON_GetArraySize(scs) <= 0)
        return 0;
    FILE *f = open_in(dir, "ptdr.dat", err, errlen);
    if (f == NULL)
        return -1;
    fputs("# delivered vs billed output tokens per scenario; delivered = every token the client "
          "received (all attempts),\n# billed = the vendor's output tokens; PTDR = billed / "
          "delivered (the runner's scalar)\n"
          "# scenario delivered_tokens billed_output_tokens ptdr label\n", f);
    double ymax = 0;
    const cJSON *sc;
    cJSON_ArrayForEach(sc, scs)
    {
        double del = runfile_sum(sc, "total_tokens");
        double bil = runfile_sum(sc, "billed_output_tokens");
        double ptdr = runfile_scalar(sc, "ptdr");
        char label[64];
        if (isfinite(ptdr))
            snprintf(label, sizeof label, "PTDR %.2f", ptdr);
        else
            snprintf(label, sizeof label, "PTDR n/a");
        plot_data_string(f, runfile_str(sc, "name"));
        double row[3] = {del, bil, ptdr};
        for (int i = 0; i < 3; i++) {
            fputc(' ', f);
            put_num(f, row[i]);
        }
        fputc(' ', f);
        plot_data_string(f, label);
        fputc('\n', f);
        ymax = fmax(ymax, fmax(isfinite(del) ? del : 0, isfinite(bil) ? bil : 0));
    }
    if (close_in(f, dir, "ptdr.dat", err, errlen) != 0)
        return -1;
    struct body b;
    FILE *o = body_open(&b, err, errlen);
    if (o == NULL)
        return -1;
    fputs("set title ", o);
    qprintf(o, "Delivered vs billed output tokens per scenario, PTDR = billed / delivered (%s)",
            gateway_of(run));
    fputs(" font ',14' offset 0,1.8\n", o);
    bars_setup(o, ymax);
    fputs("set ylabel 'output tokens (sum over the scenario''s requests)'\n"
          "plot 'ptdr.dat' using 2:xtic(1) title 'delivered to users (every attempt)' "
          "fs solid 1.0 border rgb '#222222' lc rgb '#0072B2', \\\n"
          "     '' using 3 title 'billed by the vendor' fs pattern 4 border rgb '#222222' "
          "lc rgb '#D55E00', \\\n"
          "     '' using 0:(($2 > $3 ? $2 : $3)):5 with labels center offset 0,1 "
          "font ',10' notitle\n", o);
    return body_write(&b, dir, "ptdr", 1200, 680, err, errlen) ||
           add_chart(set, "ptdr", NULL, CHART_PTDR, err, errlen,
                     "Output tokens delivered to users and billed by the vendor per scenario, "
                     "with the paid-to-delivered ratio over each pair.");
}

static int wasted_chart(const char *dir, const cJSON *run, struct chart_set *set, char *err,
                        size_t errlen)
{
    const cJSON *scs = cJSON_GetObjectItemCaseSensitive(run, "scenarios");
    if (cJSON_GetArraySize(scs) <= 0)
        return 0;
    FILE *f = open_in(dir, "wasted.dat", err, errlen);
    if (f == NULL)
        return -1;
    fputs("# wasted output tokens (billed minus delivered) at the scenario's output price, and "
          "the monthly projection\n# (waste per request x requests_per_day x 30)\n"
          "# scenario wasted_tokens wasted_usd monthly_wasted_usd requests_per_day run_label "
          "monthly_label\n", f);
    double ymax_run = 0, ymax_month = 0, rpd0 = NAN;
    int same_rpd = 1;
    const cJSON *sc;
    cJSON_ArrayForEach(sc, scs)
    {
        double wt = runfile_scalar(sc, "wasted_tokens");
        double usd = runfile_scalar(sc, "wasted_cost_usd");
        double month = runfile_scalar(sc, "monthly_wasted_usd");
        double rpd = runfile_num(sc, "requests_per_day");
        char lr[48], lm[48];
        runfile_usd(usd, lr, sizeof lr);
        runfile_usd(month, lm, sizeof lm);
        plot_data_string(f, runfile_str(sc, "name"));
        double row[4] = {wt, usd, month, rpd};
        for (int i = 0; i < 4; i++) {
            fputc(' ', f);
            put_num(f, row[i]);
        }
        fputc(' ', f);
        plot_data_string(f, lr);
        fputc(' ', f);
        plot_data_string(f, lm);
        fputc('\n', f);
        if (isfinite(usd))
            ymax_run = fmax(ymax_run, usd);
        if (isfinite(month))
            ymax_month = fmax(ymax_month, month);
        if (isnan(rpd0))
            rpd0 = rpd;
        else if (rpd != rpd0)
            same_rpd = 0;
    }
    if (close_in(f, dir, "wasted.dat", err, errlen) != 0)
        return -1;
    struct body b;
    FILE *o = body_open(&b, err, errlen);
    if (o == NULL)
        return -1;
    fputs("set multiplot layout 2,1 title ", o);
    qprintf(o, "Wasted cost per scenario: output tokens billed but never delivered (%s)",
            gateway_of(run));
    fputs(" font ',14'\n", o);
    bars_setup(o, ymax_run);
    fputs("unset key\nset tmargin 3.5\nset title 'in this run' font ',12'\nset ylabel 'USD'\n"
          "plot 'wasted.dat' using 3:xtic(1) fs solid 1.0 border rgb '#222222' "
          "lc rgb '#E69F00', \\\n"
          "     '' using 0:3:6 with labels center offset 0,0.8 font ',10'\n", o);
    fprintf(o, "set yrange [0:%.10g]\nset title ", ymax_month > 0 ? ymax_month * 1.22 : 1);
    if (same_rpd && isfinite(rpd0))
        qprintf(o, "projected per month at %.0f requests/day", rpd0);
    else
        qprintf(o, "projected per month at each scenario's requests_per_day");
    fputs(" font ',12'\nset ylabel 'USD per month'\n"
          "plot 'wasted.dat' using 4:xtic(1) fs pattern 5 border rgb '#222222' "
          "lc rgb '#D55E00', \\\n"
          "     '' using 0:4:7 with labels center offset 0,0.8 font ',10'\n"
          "unset multiplot\n", o);
    return body_write(&b, dir, "wasted", 1200, 900, err, errlen) ||
           add_chart(set, "wasted", NULL, CHART_WASTED, err, errlen,
                     "Wasted output cost per scenario in this run, and projected per month at "
                     "the scenario's traffic.");
}

/* ---- a run -------------------------------------------------------------------------------- */

/* Stems are unique per run even when two names sanitise alike ("a b" and "a_b"). */
static void unique_stem(const cJSON *scs, const cJSON *sc, char *out, size_t len)
{
    runfile_stem(runfile_str(sc, "name"), out, len);
    int before = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, scs)
    {
        if (o == sc)
            break;
        char other[128];
        runfile_stem(runfile_str(o, "name"), other, sizeof other);
        before += strcmp(other, out) == 0;
    }
    if (before) {
        size_t l = strlen(out);
        snprintf(out + l, len - l, "-%d", before + 1);
    }
}

int charts_write_run(const cJSON *run, const cJSON *floor, const char *dir, struct chart_set *set,
                     char *err, size_t errlen)
{
    if (ptdr_chart(dir, run, set, err, errlen) != 0 ||
        wasted_chart(dir, run, set, err, errlen) != 0)
        return -1;
    const cJSON *scs = cJSON_GetObjectItemCaseSensitive(run, "scenarios");
    const cJSON *sc;
    cJSON_ArrayForEach(sc, scs)
    {
        char stem[128];
        unique_stem(scs, sc, stem, sizeof stem);
        const cJSON *fsc = floor && floor != run ? runfile_scenario(floor,
                                                                    runfile_str(sc, "name"))
                                                 : NULL;
        if (run_cdfs(dir, run, sc, fsc, stem, set, err, errlen) != 0 ||
            timeline_chart(dir, run, sc, stem, set, err, errlen) != 0 ||
            billing_chart(dir, run, sc, stem, set, err, errlen) != 0)
            return -1;
    }
    return 0;
}

/* ---- a comparison ------------------------------------------------------------------------- */

static int compare_cdf(const char *dir, const cJSON *bsc, const cJSON *csc, const char *stem,
                       const char *bl, const char *cl, const char *field, const char *what,
                       struct chart_set *set, char *err, size_t errlen)
{
    int lag = strcmp(field, "close_lag_ms") == 0;
    const char *kind = lag ? "close-lag" : "tail";
    struct cdf_series s[2] = {{.ls = PLOT_LS_SECOND}, {.ls = PLOT_LS_MAIN}};
    char file[200], chart[160], title[512], who[200];
    snprintf(file, sizeof file, "cmp-%s-base-%s.dat", kind, stem);
    if (cdf_data(dir, file, bsc, field, what, &s[0], err, errlen) != 0)
        return -1;
    snprintf(file, sizeof file, "cmp-%s-cand-%s.dat", kind, stem);
    if (cdf_data(dir, file, csc, field, what, &s[1], err, errlen) != 0)
        return -1;
    if (s[0].denom == 0 && s[1].denom == 0)
        return 0;
    const char *missing = lag ? "never closed upstream" : "not measured";
    snprintf(who, sizeof who, "baseline %s", bl);
    series_title(&s[0], who, missing);
    snprintf(who, sizeof who, "candidate %s", cl);
    series_title(&s[1], who, missing);
    struct gate_mark g[GATES_PER_CHART];
    /* the candidate's gates are the ones it is held to */
    size_t ng = collect_gates(csc, field, g);
    const char *name = runfile_str(csc, "name");
    snprintf(chart, sizeof chart, "cmp-%s-cdf-%s", kind, stem);
    snprintf(title, sizeof title, "%s: %s, baseline vs candidate (candidate %s)", name,
             lag ? "close lag" : "tail tokens", runfile_passed(csc) ? "pass" : "FAILS");
    return cdf_chart(dir, chart, title,
                     lag ? "close lag (ms, log scale): the user left until mockprov saw the "
                           "gateway close upstream"
                         : "tail tokens (generated after the abort, per request)",
                     lag, s, 2, g, ng, err, errlen) ||
           add_chart(set, chart, name, lag ? CHART_CLOSE_LAG_CDF : CHART_TAIL_CDF, err, errlen,
                     "%s per aborted request, baseline and candidate overlaid; the candidate's "
                     "gates drawn.", lag ? "Close lag" : "Tail tokens");
}

/* Clustered bars of one scalar, baseline next to candidate, with the value on each bar. */
static int compare_bars(const char *dir, const cJSON *base, const cJSON *cand, const char *bl,
                        const char *cl, const char *scalar, const char *name,
                        const char *title, const char *ylabel, int usd, struct chart_set *set,
                        const char *caption, char *err, size_t errlen)
{
    char file[200];
    snprintf(file, sizeof file, "%s.dat", name);
    FILE *f = open_in(dir, file, err, errlen);
    if (f == NULL)
        return -1;
    fprintf(f, "# %s per scenario, baseline vs candidate (NaN: the run has no such scenario)\n"
               "# scenario base cand base_label cand_label\n", scalar);
    double ymax = 0;
    size_t rows = 0;
    for (int pass = 0; pass < 2; pass++) {
        /* the baseline's scenarios in order, then any the candidate added */
        const cJSON *sc;
        cJSON_ArrayForEach(sc, cJSON_GetObjectItemCaseSensitive(pass ? cand : base, "scenarios"))
        {
            const char *sn = runfile_str(sc, "name");
            if (pass && runfile_scenario(base, sn))
                continue;
            double v[2] = {runfile_scalar(runfile_scenario(base, sn), scalar),
                           runfile_scalar(runfile_scenario(cand, sn), scalar)};
            char lab[2][48];
            for (int i = 0; i < 2; i++) {
                if (usd)
                    runfile_usd(v[i], lab[i], sizeof lab[i]);
                else if (isfinite(v[i]))
                    snprintf(lab[i], sizeof lab[i], "%.2f", v[i]);
                else
                    snprintf(lab[i], sizeof lab[i], "n/a");
                if (isfinite(v[i]))
                    ymax = fmax(ymax, v[i]);
            }
            plot_data_string(f, sn);
            fputc(' ', f);
            put_num(f, v[0]);
            fputc(' ', f);
            put_num(f, v[1]);
            fputc(' ', f);
            plot_data_string(f, lab[0]);
            fputc(' ', f);
            plot_data_string(f, lab[1]);
            fputc('\n', f);
            rows++;
        }
    }
    if (close_in(f, dir, file, err, errlen) != 0)
        return -1;
    if (rows == 0)
        return 0;
    struct body b;
    FILE *o = body_open(&b, err, errlen);
    if (o == NULL)
        return -1;
    fputs("set title ", o);
    plot_quote(o, title);
    fputs(" font ',14' offset 0,1.8\nset ylabel ", o);
    plot_quote(o, ylabel);
    fputc('\n', o);
    bars_setup(o, ymax);
    if (!usd)
        fprintf(o, "set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead ls %d dt (4,4) "
                   "back\n", PLOT_LS_MARK);
    /* two bars per cluster with gap 1: each a third wide, centred a sixth either side; when the
     * two values are within a label's height the candidate's label goes one label higher */
    double lift = (ymax > 0 ? ymax : 1) * 0.05;
    fprintf(o, "plot '%s' using 2:xtic(1) title ", file);
    qprintf(o, "baseline %s", bl);
    fputs(" fs solid 1.0 border rgb '#222222' lc rgb '#0072B2', \\\n     '' using 3 title ", o);
    qprintf(o, "candidate %s", cl);
    fputs(" fs pattern 4 border rgb '#222222' lc rgb '#D55E00', \\\n"
          "     '' using ($0 - 1.0/6):2:4 with labels center offset 0,0.8 font ',9' notitle, "
          "\\\n", o);
    fprintf(o, "     '' using ($0 + 1.0/6):($3 + (abs($3 - $2) < %.10g ? %.10g : 0)):5 with labels "
               "center offset 0,0.8 font ',9' notitle\n", lift, lift);
    return body_write(&b, dir, name, 1200, 680, err, errlen) ||
           add_chart(set, name, NULL, usd ? CHART_WASTED : CHART_PTDR, err, errlen, "%s",
                     caption);
}

int charts_write_compare(const cJSON *base, const cJSON *cand, const char *base_label,
                         const char *cand_label, const char *dir, struct chart_set *set,
                         char *err, size_t errlen)
{
    char title[512];
    snprintf(title, sizeof title, "PTDR per scenario (billed / delivered output tokens): "
             "baseline vs candidate");
    if (compare_bars(dir, base, cand, base_label, cand_label, "ptdr", "cmp-ptdr", title,
                     "PTDR (1 = billed what was delivered)", 0, set,
                     "Paid-to-delivered ratio per scenario, baseline next to candidate.", err,
                     errlen) != 0)
        return -1;
    snprintf(title, sizeof title, "Projected monthly wasted cost per scenario: baseline vs "
             "candidate");
    if (compare_bars(dir, base, cand, base_label, cand_label, "monthly_wasted_usd", "cmp-wasted",
                     title, "USD per month (projected)", 1, set,
                     "Wasted output cost per month at each scenario's traffic, baseline next to "
                     "candidate.", err, errlen) != 0)
        return -1;
    const cJSON *scs = cJSON_GetObjectItemCaseSensitive(cand, "scenarios");
    const cJSON *csc;
    cJSON_ArrayForEach(csc, scs)
    {
        const cJSON *bsc = runfile_scenario(base, runfile_str(csc, "name"));
        if (bsc == NULL)
            continue;
        char stem[128];
        unique_stem(scs, csc, stem, sizeof stem);
        if (compare_cdf(dir, bsc, csc, stem, base_label, cand_label, "tail_tokens",
                        "tail_tokens: tokens generated after the user's abort", set, err,
                        errlen) != 0 ||
            compare_cdf(dir, bsc, csc, stem, base_label, cand_label, "close_lag_ms",
                        "close_lag_ms: user abort to mockprov seeing the gateway close upstream",
                        set, err, errlen) != 0)
            return -1;
    }
    return 0;
}
