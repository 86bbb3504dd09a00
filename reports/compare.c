/* The comparison table. Gates are matched by scenario name, metric and expression; a gate the
 * baseline passed that the candidate lacks counts as a regression (fail closed, as a gate with
 * no samples does), so deleting a scenario cannot sneak a regression past the guard. */
#include "reports/compare.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/html.h"
#include "reports/runfile.h"

enum cmp_status {
    CMP_SAME,
    CMP_REGRESSED,
    CMP_FIXED,
    CMP_STILL_FAILING,
    CMP_NEW,
    CMP_DROPPED,
};

static const char *const status_text[] = {"", "REGRESSED", "fixed", "still failing", "new",
                                          "dropped"};

struct cmp_row {
    int gate; /* a gate row; else a metric row */
    enum cmp_status status;
    char scenario[128];
    char item[128];
    char base[64], cand[64], change[64];
};

struct compare {
    char base_label[512], cand_label[512];
    int base_pass, cand_pass;
    struct cmp_row *rows;
    size_t n, cap;
    size_t ngates, regressions, fixed, failing;
};

static struct cmp_row *add_row(struct compare *c)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        if (cap > COMPARE_MAX_ROWS)
            cap = COMPARE_MAX_ROWS;
        if (cap == c->n)
            return NULL;
        struct cmp_row *tmp = realloc(c->rows, cap * sizeof *tmp);
        if (tmp == NULL)
            return NULL;
        c->rows = tmp;
        c->cap = cap;
    }
    struct cmp_row *r = &c->rows[c->n++];
    memset(r, 0, sizeof *r);
    return r;
}

/* What a cell without a figure reads, as summary.md has it: an en dash, never nan or inf. */
#define COMPARE_NONE "–"

/* Numbers for people: four significant digits, whole numbers past ten thousand. */
static void fmt_num(double v, char *out, size_t len)
{
    if (!isfinite(v))
        snprintf(out, len, "%s", COMPARE_NONE);
    else if (fabs(v) >= 1e4)
        snprintf(out, len, "%.0f", v);
    else
        snprintf(out, len, "%.4g", v);
}

static void fmt_change(double b, double c, char *out, size_t len)
{
    if (!isfinite(b) || !isfinite(c)) {
        snprintf(out, len, "%s", COMPARE_NONE);
        return;
    }
    double d = c - b;
    if (d == 0) {
        snprintf(out, len, "0");
        return;
    }
    char n[32];
    fmt_num(fabs(d), n, sizeof n);
    if (b != 0)
        snprintf(out, len, "%c%s (%+.0f%%)", d > 0 ? '+' : '-', n, d / fabs(b) * 100);
    else
        snprintf(out, len, "%c%s", d > 0 ? '+' : '-', n);
}

static void fmt_gate(const cJSON *g, char *out, size_t len)
{
    if (g == NULL) {
        snprintf(out, len, "%s", COMPARE_NONE);
        return;
    }
    double obs = runfile_num(g, "observed");
    char n[32];
    fmt_num(obs, n, sizeof n);
    snprintf(out, len, "%s %s", runfile_passed(g) ? "pass" : "FAIL",
             isfinite(obs) ? n : "(no samples)");
}

static const cJSON *find_gate(const cJSON *sc, const char *metric, const char *expr)
{
    const cJSON *g;
    cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(sc, "gates"))
    {
        if (strcmp(runfile_str(g, "metric"), metric) == 0 &&
            strcmp(runfile_str(g, "expr"), expr) == 0)
            return g;
    }
    return NULL;
}

static int gate_row(struct compare *c, const char *scn, const cJSON *bg, const cJSON *cg)
{
    struct cmp_row *r = add_row(c);
    if (r == NULL)
        return -1;
    const cJSON *g = bg ? bg : cg;
    r->gate = 1;
    snprintf(r->scenario, sizeof r->scenario, "%s", scn);
    snprintf(r->item, sizeof r->item, "%s %s", runfile_str(g, "metric"), runfile_str(g, "expr"));
    fmt_gate(bg, r->base, sizeof r->base);
    fmt_gate(cg, r->cand, sizeof r->cand);
    fmt_change(runfile_num(bg, "observed"), runfile_num(cg, "observed"), r->change,
               sizeof r->change);
    int bp = bg && runfile_passed(bg), cp = cg && runfile_passed(cg);
    if (bg == NULL)
        r->status = CMP_NEW;
    else if (bp && !cp)
        r->status = CMP_REGRESSED;
    else if (!bp && cg == NULL)
        r->status = CMP_DROPPED;
    else if (!bp && cp)
        r->status = CMP_FIXED;
    else if (!bp)
        r->status = CMP_STILL_FAILING;
    c->ngates++;
    c->regressions += r->status == CMP_REGRESSED;
    c->fixed += r->status == CMP_FIXED;
    c->failing += !cp && cg != NULL;
    return 0;
}

static int value_row(struct compare *c, const char *scn, const char *item, double b, double v)
{
    if (!isfinite(b) && !isfinite(v))
        return 0; /* measured in neither run: nothing to say */
    struct cmp_row *r = add_row(c);
    if (r == NULL)
        return -1;
    snprintf(r->scenario, sizeof r->scenario, "%s", scn);
    snprintf(r->item, sizeof r->item, "%s", item);
    fmt_num(b, r->base, sizeof r->base);
    fmt_num(v, r->cand, sizeof r->cand);
    fmt_change(b, v, r->change, sizeof r->change);
    return 0;
}

/* Every key of obj[field] in either scenario, the baseline's order first. */
static int for_keys(const cJSON *bsc, const cJSON *csc, const char *field,
                    int (*fn)(struct compare *, const char *, const cJSON *, const cJSON *,
                              const char *),
                    struct compare *c, const char *scn)
{
    const cJSON *bo = cJSON_GetObjectItemCaseSensitive(bsc, field);
    const cJSON *co = cJSON_GetObjectItemCaseSensitive(csc, field);
    const cJSON *k;
    cJSON_ArrayForEach(k, bo)
    {
        if (k->string && fn(c, scn, bsc, csc, k->string) != 0)
            return -1;
    }
    cJSON_ArrayForEach(k, co)
    {
        if (k->string && !cJSON_GetObjectItemCaseSensitive(bo, k->string) &&
            fn(c, scn, bsc, csc, k->string) != 0)
            return -1;
    }
    return 0;
}

static int metric_rows(struct compare *c, const char *scn, const cJSON *bsc, const cJSON *csc,
                       const char *metric)
{
    static const char *const stats[] = {"p50", "p95", "max"};
    for (size_t i = 0; i < sizeof stats / sizeof stats[0]; i++) {
        char item[128];
        snprintf(item, sizeof item, "%s %s", metric, stats[i]);
        if (value_row(c, scn, item, runfile_stat(bsc, metric, stats[i]),
                      runfile_stat(csc, metric, stats[i])) != 0)
            return -1;
    }
    return 0;
}

static int scalar_row(struct compare *c, const char *scn, const cJSON *bsc, const cJSON *csc,
                      const char *name)
{
    return value_row(c, scn, name, runfile_scalar(bsc, name), runfile_scalar(csc, name));
}

static int build(struct compare *c, const cJSON *base, const cJSON *cand)
{
    const cJSON *bscs = cJSON_GetObjectItemCaseSensitive(base, "scenarios");
    const cJSON *cscs = cJSON_GetObjectItemCaseSensitive(cand, "scenarios");
    const cJSON *bsc, *csc, *g;
    /* gates first: they decide the verdict */
    cJSON_ArrayForEach(bsc, bscs)
    {
        const char *scn = runfile_str(bsc, "name");
        csc = runfile_scenario(cand, scn);
        cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(bsc, "gates"))
        {
            const cJSON *cg = find_gate(csc, runfile_str(g, "metric"), runfile_str(g, "expr"));
            if (gate_row(c, scn, g, cg) != 0)
                return -1;
        }
        cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(csc, "gates"))
        {
            if (!find_gate(bsc, runfile_str(g, "metric"), runfile_str(g, "expr")) &&
                gate_row(c, scn, NULL, g) != 0)
                return -1;
        }
    }
    cJSON_ArrayForEach(csc, cscs)
    {
        const char *scn = runfile_str(csc, "name");
        if (runfile_scenario(base, scn))
            continue;
        cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(csc, "gates"))
        {
            if (gate_row(c, scn, NULL, g) != 0)
                return -1;
        }
    }
    for (int pass = 0; pass < 2; pass++) {
        const cJSON *sc;
        cJSON_ArrayForEach(sc, (pass ? cscs : bscs))
        {
            const char *scn = runfile_str(sc, "name");
            if (pass && runfile_scenario(base, scn))
                continue;
            const cJSON *b = runfile_scenario(base, scn), *v = runfile_scenario(cand, scn);
            if (for_keys(b, v, "metrics", metric_rows, c, scn) != 0 ||
                for_keys(b, v, "scalars", scalar_row, c, scn) != 0)
                return -1;
        }
    }
    return 0;
}

struct compare *compare_new(const cJSON *base, const cJSON *cand, const char *base_label,
                            const char *cand_label, char *err, size_t errlen)
{
    struct compare *c = calloc(1, sizeof *c);
    if (c == NULL) {
        snprintf(err, errlen, "compare: out of memory");
        return NULL;
    }
    snprintf(c->base_label, sizeof c->base_label, "%s", base_label);
    snprintf(c->cand_label, sizeof c->cand_label, "%s", cand_label);
    c->base_pass = runfile_passed(base);
    c->cand_pass = runfile_passed(cand);
    if (build(c, base, cand) != 0) {
        snprintf(err, errlen, "compare: more than %d rows, or out of memory", COMPARE_MAX_ROWS);
        compare_free(c);
        return NULL;
    }
    return c;
}

void compare_free(struct compare *c)
{
    if (c == NULL)
        return;
    free(c->rows);
    free(c);
}

size_t compare_regressions(const struct compare *c)
{
    return c->regressions;
}

#define NCOLS 6

static void cells(const struct cmp_row *r, const char *out[NCOLS])
{
    out[0] = r->scenario;
    out[1] = r->item;
    out[2] = r->base;
    out[3] = r->cand;
    out[4] = r->change;
    out[5] = status_text[r->status];
}

/* Columns a cell takes on a terminal: its UTF-8 characters, not its bytes (the en dash is 3). */
static size_t width(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* Prints "| cell " padded to w columns, numbers right-aligned. */
static void md_cell(FILE *f, const char *cell, size_t w, int right)
{
    size_t pad = w > width(cell) ? w - width(cell) : 0;
    fputs("| ", f);
    for (size_t j = 0; right && j < pad; j++)
        fputc(' ', f);
    fputs(cell, f);
    for (size_t j = 0; !right && j < pad; j++)
        fputc(' ', f);
    fputc(' ', f);
}

/* One padded Markdown table of the rows with gate == want. */
static void md_table(FILE *f, const struct compare *c, int want, const char *const head[],
                     size_t ncols)
{
    size_t w[NCOLS];
    for (size_t k = 0; k < ncols; k++)
        w[k] = width(head[k]);
    for (size_t i = 0; i < c->n; i++) {
        if (c->rows[i].gate != want)
            continue;
        const char *cell[NCOLS];
        cells(&c->rows[i], cell);
        for (size_t k = 0; k < ncols; k++)
            if (width(cell[k]) > w[k])
                w[k] = width(cell[k]);
    }
    for (size_t k = 0; k < ncols; k++)
        fprintf(f, "| %-*s ", (int)w[k], head[k]);
    fputs("|\n", f);
    for (size_t k = 0; k < ncols; k++) {
        /* numbers right-aligned, as Markdown renders them */
        int right = k >= 2 && k <= 4;
        fputs("|", f);
        for (size_t j = 0; j < w[k] + 2 - (size_t)right; j++)
            fputc('-', f);
        if (right)
            fputc(':', f);
    }
    fputs("|\n", f);
    for (size_t i = 0; i < c->n; i++) {
        if (c->rows[i].gate != want)
            continue;
        const char *cell[NCOLS];
        cells(&c->rows[i], cell);
        for (size_t k = 0; k < ncols; k++)
            md_cell(f, cell[k], w[k], k >= 2 && k <= 4);
        fputs("|\n", f);
    }
}

static void verdict_line(FILE *f, const struct compare *c)
{
    if (c->regressions) {
        fprintf(f, "REGRESSED: %zu gate%s passed in the baseline and fail%s in the candidate:\n",
                c->regressions, c->regressions == 1 ? "" : "s",
                c->regressions == 1 ? "s" : "");
        for (size_t i = 0; i < c->n; i++) {
            const struct cmp_row *r = &c->rows[i];
            if (r->gate && r->status == CMP_REGRESSED)
                fprintf(f, "  %s: %s (baseline %s, candidate %s)\n", r->scenario, r->item,
                        r->base, r->cand);
        }
    } else {
        fprintf(f, "No regression: every gate the baseline passed passes in the candidate "
                   "(%zu gates compared, %zu fixed, %zu failing in the candidate).\n",
                c->ngates, c->fixed, c->failing);
    }
}

char *compare_text(const struct compare *c)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL)
        return NULL;
    static const char *const gate_head[] = {"scenario", "gate", "baseline", "candidate",
                                            "change", "status"};
    static const char *const metric_head[] = {"scenario", "metric", "baseline", "candidate",
                                              "change"};
    fprintf(f, "tailgate compare: baseline %s: %s; candidate %s: %s\n\n", c->base_label,
            c->base_pass ? "pass" : "FAIL", c->cand_label, c->cand_pass ? "pass" : "FAIL");
    fputs("Gates\n\n", f);
    md_table(f, c, 1, gate_head, 6);
    fputs("\nMetrics (p50, p95 and max of each distribution; scalars)\n\n", f);
    md_table(f, c, 0, metric_head, 5);
    fputc('\n', f);
    verdict_line(f, c);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static void html_rows(FILE *f, const struct compare *c, int want)
{
    fputs("<table>\n<tr><th>scenario</th><th>", f);
    fputs(want ? "gate" : "metric", f);
    fputs("</th><th>baseline</th><th>candidate</th><th>change</th>", f);
    if (want)
        fputs("<th>status</th>", f);
    fputs("</tr>\n", f);
    for (size_t i = 0; i < c->n; i++) {
        const struct cmp_row *r = &c->rows[i];
        if (r->gate != want)
            continue;
        const char *cell[NCOLS];
        cells(r, cell);
        fputs("<tr>", f);
        for (size_t k = 0; k < (want ? 6u : 5u); k++) {
            fputs(k >= 2 && k <= 4 ? "<td class=\"num\">" : "<td>", f);
            if (k == 5 && r->status == CMP_REGRESSED)
                fputs("<span class=\"fail\">REGRESSED</span>", f);
            else if (k == 1) {
                fputs("<code>", f);
                markup_escape(f, cell[k]);
                fputs("</code>", f);
            } else
                markup_escape(f, cell[k]);
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
}

int compare_write_html(const struct compare *c, const char *dir, const struct chart_set *set,
                       const char *note, char *err, size_t errlen)
{
    struct html_page pg;
    FILE *f = html_open(&pg, dir,
                        c->regressions ? "tailgate compare: REGRESSED"
                                       : "tailgate compare: no regression",
                        err, errlen);
    if (f == NULL)
        return -1;
    fputs("<h1>tailgate compare: ", f);
    if (c->regressions)
        fprintf(f, "<span class=\"fail\">%zu gate%s REGRESSED</span>", c->regressions,
                c->regressions == 1 ? "" : "s");
    else
        fputs("no regression", f);
    fputs("</h1>\n<p class=\"meta\">Baseline ", f);
    markup_escape(f, c->base_label);
    fputs(" (", f);
    html_verdict(f, c->base_pass);
    fputs("), candidate ", f);
    markup_escape(f, c->cand_label);
    fputs(" (", f);
    html_verdict(f, c->cand_pass);
    fprintf(f, "). %zu gates compared, %zu fixed, %zu failing in the candidate. The same table "
               "as text: <a href=\"compare.md\">compare.md</a>.</p>\n",
            c->ngates, c->fixed, c->failing);
    if (note && *note) {
        fputs("<p class=\"note\">", f);
        markup_escape(f, note);
        fputs("</p>\n", f);
    }
    fputs("<h2>Gates</h2>\n", f);
    html_rows(f, c, 1);
    fputs("<h2>Charts</h2>\n<div class=\"charts\">\n", f);
    for (size_t i = 0; i < set->n; i++)
        html_chart(f, dir, &set->c[i]);
    fputs("</div>\n<h2>Metrics</h2>\n", f);
    html_rows(f, c, 0);
    return html_close(&pg, err, errlen);
}
