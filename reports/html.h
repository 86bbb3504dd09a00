/* index.html: one static page per run (and per comparison) with the summary table, every gate's
 * verdict and every chart. No script, no network: it opens from a CI artifact or a file:// URL. */
#ifndef REPORTS_HTML_H
#define REPORTS_HTML_H

#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "reports/charts.h"

/* Writes DIR/index.html for 'run' (results.json of DIR) with the charts of 'set', which live in
 * DIR/charts/. A chart whose PNG is missing is named with the reason instead; 'note' (may be
 * NULL or "") is shown at the top, e.g. why charts were not drawn. Returns 0, or -1 with err. */
int html_write_run(const cJSON *run, const char *dir, const struct chart_set *set,
                   const char *note, char *err, size_t errlen);

/* Building blocks for other pages. */
void html_escape(FILE *f, const char *s);
/* <!DOCTYPE> through <body>, with the shared style sheet. */
void html_begin(FILE *f, const char *title);
void html_end(FILE *f);
/* One chart as a figure: the PNG linking to its SVG, or a line saying it was not drawn.
 * 'dir' is the page's folder; charts are in dir/charts/. */
void html_chart(FILE *f, const char *dir, const struct chart *c);
/* <span class="pass">pass</span> or the FAIL one. */
void html_verdict(FILE *f, int pass);

#endif
