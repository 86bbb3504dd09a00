/* Reports from results.json: charts (gnuplot, PNG and SVG) and index.html for a run, and the
 * comparison of a baseline run with a candidate run. */
#ifndef REPORTS_REPORT_H
#define REPORTS_REPORT_H

#include <stddef.h>

/* Draws RUN_DIR/charts/ (a .dat, .gp, .png and .svg per chart) and writes RUN_DIR/index.html
 * from RUN_DIR/results.json. 'floor_dir' is a --direct run whose close lags are drawn for
 * reference, or NULL. Returns 0 when everything was written (note: one line saying where);
 * 1 when gnuplot is not installed: data files, scripts and index.html are written, and note is
 * one line naming `apt-get install gnuplot-nox`; -1 on error, with note saying what failed
 * (index.html is still written when only a chart failed). Borrows all arguments. */
int reports_render(const char *run_dir, const char *floor_dir, char *note, size_t notelen);

/* Compares BASE_DIR/results.json with CAND_DIR/results.json: every gate and metric with the
 * change, as text into 'table' (truncated to tablelen with a line saying so). When 'out_dir' is
 * not NULL it also writes there compare.md (the whole table), overlay charts in charts/ and
 * index.html; without gnuplot the table ends with a line saying how to install it. Returns 0
 * when no gate regressed, 1 when a gate that passed in the baseline fails (or is missing) in
 * the candidate, -1 with err filled on error. */
int reports_compare(const char *base_dir, const char *cand_dir, const char *out_dir, char *table,
                    size_t tablelen, char *err, size_t errlen);

#endif
