/* index.html: one static page per run (and per comparison) with the summary table, every gate's
 * verdict and every chart. No script, no network: it opens from a CI artifact or a file:// URL. */
#ifndef REPORTS_HTML_H
#define REPORTS_HTML_H

#include <stddef.h>
#include <stdio.h>

#include "markup.h"

#include <cjson/cJSON.h>

#include "reports/charts.h"

/* Writes DIR/index.html for 'run' (results.json of DIR) with the charts of 'set', which live in
 * DIR/charts/. A chart whose PNG is missing is named with the reason instead; 'note' (may be
 * NULL or "") is shown at the top, e.g. why charts were not drawn. Returns 0, or -1 with err. */
int html_write_run(const cJSON *run, const char *dir, const struct chart_set *set,
                   const char *note, char *err, size_t errlen);

/* <!DOCTYPE> through <body>, with the shared style sheet. */
/* A page written to DIR/index.html.tmp and renamed into place when complete, so a reader never
 * sees half a page. */
struct html_page {
    FILE *f;
    char path[4096], tmp[4200];
};

/* Opens the page and writes its head. Returns the stream, or NULL with err filled. */
FILE *html_open(struct html_page *pg, const char *dir, const char *title, char *err,
                size_t errlen);
/* Writes the foot, closes, renames into place. Returns 0, or -1 with err (nothing renamed). */
int html_close(struct html_page *pg, char *err, size_t errlen);
/* One chart as a figure: the PNG linking to its SVG, or a line saying it was not drawn.
 * 'dir' is the page's folder; charts are in dir/charts/. */
void html_chart(FILE *f, const char *dir, const struct chart *c);
/* <span class="pass">pass</span> or the FAIL one. */
void html_verdict(FILE *f, int pass);

#endif
