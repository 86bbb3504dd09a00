/* The reports' entry points: load results.json, write chart data and scripts, run gnuplot when it
 * is installed, write the page. Without gnuplot everything but the images is still written, so
 * installing it later and running `tailgate report` is all it takes. */
#include "reports/report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cliutil.h"
#include "reports/charts.h"
#include "reports/compare.h"
#include "reports/html.h"
#include "reports/plot.h"
#include "reports/runfile.h"

static int mkdir_p(const char *path, char *err, size_t errlen)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        snprintf(err, errlen, "%s: path too long", path);
        return -1;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        mkdir(buf, 0755); /* exists already, or the final mkdir reports why not */
        *p = '/';
    }
    struct stat st;
    if (mkdir(buf, 0755) != 0 && (errno != EEXIST || stat(buf, &st) != 0 ||
                                  !S_ISDIR(st.st_mode))) {
        snprintf(err, errlen, "mkdir %s: %s", buf, strerror(errno ? errno : ENOTDIR));
        return -1;
    }
    return 0;
}

/* A chart's old PNG and SVG must go: without gnuplot they would be shown as if current. */
static void remove_images(const char *dir, const struct chart_set *set)
{
    char path[4096];
    for (size_t i = 0; i < set->n; i++) {
        snprintf(path, sizeof path, "%s/%s.png", dir, set->c[i].name);
        unlink(path);
        snprintf(path, sizeof path, "%s/%s.svg", dir, set->c[i].name);
        unlink(path);
    }
}

/* Runs every chart's script. Returns 0 (drawn), 1 (no gnuplot: msg says how to get it and how
 * to redraw with 'again'), or -1 with msg filled. */
static int draw(const char *dir, const struct chart_set *set, const char *again, char *msg,
                size_t msglen)
{
    char gnuplot[4096];
    if (plot_find(gnuplot, sizeof gnuplot) != 0) {
        snprintf(msg, msglen, "gnuplot not found on PATH: charts not drawn (their data and "
                 "scripts are in %s/); install it with `%s`, then run `%s`", dir,
                 PLOT_INSTALL_HINT, again);
        return 1;
    }
    const char **names = calloc(set->n ? set->n : 1, sizeof *names);
    if (names == NULL) {
        snprintf(msg, msglen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < set->n; i++)
        names[i] = set->c[i].name;
    int rc = plot_run(gnuplot, dir, names, set->n, msg, msglen);
    free(names);
    return rc;
}

int reports_render(const char *run_dir, const char *floor_dir, char *note, size_t notelen)
{
    cJSON *run = NULL, *floor = NULL;
    struct chart_set *set = NULL;
    char charts[4096], err[1024], again[4200], msg[2048] = "";
    int rc = -1;
    if (notelen)
        note[0] = '\0';
    run = runfile_load(run_dir, note, notelen);
    if (run == NULL)
        goto fail;
    if (floor_dir) {
        floor = runfile_load(floor_dir, err, sizeof err);
        if (floor == NULL) {
            snprintf(note, notelen, "floor run: %s", err);
            goto fail;
        }
    }
    snprintf(charts, sizeof charts, "%s/charts", run_dir);
    set = calloc(1, sizeof *set);
    if (set == NULL) {
        snprintf(note, notelen, "out of memory");
        goto fail;
    }
    if (mkdir_p(charts, note, notelen) != 0 ||
        charts_write_run(run, floor, charts, set, note, notelen) != 0)
        goto fail;
    remove_images(charts, set);
    snprintf(again, sizeof again, "tailgate report %s%s%s", run_dir, floor_dir ? " --floor " : "",
             floor_dir ? floor_dir : "");
    int drawn = draw(charts, set, again, msg, sizeof msg);
    char page_note[2200] = "";
    if (drawn < 0)
        snprintf(page_note, sizeof page_note, "Some charts could not be drawn: %s", msg);
    else if (drawn > 0)
        snprintf(page_note, sizeof page_note, "%s", msg);
    if (html_write_run(run, run_dir, set, page_note, note, notelen) != 0)
        goto fail;
    if (drawn == 0)
        snprintf(note, notelen, "%zu charts in %s/, page %s/index.html", set->n, charts, run_dir);
    else
        snprintf(note, notelen, "%s", msg);
    rc = drawn == 0 ? 0 : drawn > 0 ? 1 : -1;
fail:
    free(set);
    cJSON_Delete(floor);
    cJSON_Delete(run);
    return rc;
}

static void run_label(const cJSON *run, const char *dir, char *out, size_t len)
{
    const char *gw = runfile_str(run, "gateway");
    snprintf(out, len, "%s (%s)", dir, *gw ? gw : "?");
}

/* Copies text into table; when it does not fit, keeps whole lines and says where the rest is. */
static void copy_table(const char *text, const char *out_dir, char *table, size_t tablelen)
{
    if (tablelen == 0)
        return;
    size_t n = strlen(text);
    if (n < tablelen) {
        memcpy(table, text, n + 1);
        return;
    }
    char tail[4400];
    snprintf(tail, sizeof tail, "... table truncated%s%s%s\n", out_dir ? "; the whole table is in "
                                                                        : "",
             out_dir ? out_dir : "", out_dir ? "/compare.md" : "");
    size_t keep = tablelen > strlen(tail) + 1 ? tablelen - strlen(tail) - 1 : 0;
    while (keep > 0 && text[keep - 1] != '\n')
        keep--;
    memcpy(table, text, keep);
    snprintf(table + keep, tablelen - keep, "%s", tail);
}

int reports_compare(const char *base_dir, const char *cand_dir, const char *out_dir, char *table,
                    size_t tablelen, char *err, size_t errlen)
{
    cJSON *base = NULL, *cand = NULL;
    struct compare *cmp = NULL;
    struct chart_set *set = NULL;
    char *text = NULL, *full = NULL;
    char bl[2048], cl[2048], msg[2048] = "", e2[1024];
    int rc = -1;
    if (tablelen)
        table[0] = '\0';
    base = runfile_load(base_dir, e2, sizeof e2);
    if (base == NULL) {
        snprintf(err, errlen, "baseline: %s", e2);
        goto fail;
    }
    cand = runfile_load(cand_dir, e2, sizeof e2);
    if (cand == NULL) {
        snprintf(err, errlen, "candidate: %s", e2);
        goto fail;
    }
    run_label(base, base_dir, bl, sizeof bl);
    run_label(cand, cand_dir, cl, sizeof cl);
    cmp = compare_new(base, cand, bl, cl, err, errlen);
    if (cmp == NULL)
        goto fail;
    text = compare_text(cmp);
    if (text == NULL) {
        snprintf(err, errlen, "compare: out of memory");
        goto fail;
    }
    int drawn = 0;
    if (out_dir) {
        char charts[4096], again[8400];
        snprintf(charts, sizeof charts, "%s/charts", out_dir);
        set = calloc(1, sizeof *set);
        if (set == NULL) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        /* legends name the gateways (the table names the folders too), or the folders when
         * both runs tested the same gateway */
        const char *bshort = runfile_str(base, "gateway"), *cshort = runfile_str(cand, "gateway");
        if (strcmp(bshort, cshort) == 0) {
            bshort = bl;
            cshort = cl;
        }
        if (mkdir_p(charts, err, errlen) != 0 ||
            charts_write_compare(base, cand, bshort, cshort, charts, set, err, errlen) != 0)
            goto fail;
        remove_images(charts, set);
        snprintf(again, sizeof again, "tailgate compare %s %s --out %s", base_dir, cand_dir,
                 out_dir);
        drawn = draw(charts, set, again, msg, sizeof msg);
        size_t fl = strlen(text) + strlen(msg) + 2;
        full = malloc(fl);
        if (full == NULL) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        snprintf(full, fl, "%s%s%s", text, drawn > 0 ? msg : "", drawn > 0 ? "\n" : "");
        if (cliutil_write_text(out_dir, "compare.md", full, err, errlen) != 0 ||
            compare_write_html(cmp, out_dir, set, drawn ? msg : NULL, err, errlen) != 0)
            goto fail;
    }
    copy_table(full ? full : text, out_dir, table, tablelen);
    if (drawn < 0) {
        snprintf(err, errlen, "charts: %s", msg);
        goto fail;
    }
    rc = compare_regressions(cmp) ? 1 : 0;
fail:
    free(full);
    free(text);
    free(set);
    compare_free(cmp);
    cJSON_Delete(cand);
    cJSON_Delete(base);
    return rc;
}
