/* gnuplot as a child process: find it, write scripts that draw one chart as PNG (pngcairo) and
 * SVG, and run them a few at a time. One look shared by every chart lives here too. */
#ifndef REPORTS_PLOT_H
#define REPORTS_PLOT_H

#include <stddef.h>
#include <stdio.h>

#define PLOT_JOBS 8              /* gnuplot processes at once */
#define PLOT_TIMEOUT_MS 60000    /* one script; a hung gnuplot is killed and reported */
#define PLOT_MAX_BODY (1 << 20)  /* one chart's commands */
#define PLOT_INSTALL_HINT "apt-get install gnuplot-nox"

/* Looks for an executable 'gnuplot' on $PATH. Returns 0 with its path in 'path', or -1. */
int plot_find(char *path, size_t len);

/* Writes DIR/NAME.gp, which draws 'body' (gnuplot commands) twice: into NAME.png (pngcairo) and
 * NAME.svg, both width x height pixels, with the shared line styles set first. Borrows all.
 * Returns 0, or -1 with err filled. */
int plot_write_script(const char *dir, const char *name, int width, int height, const char *body,
                      char *err, size_t errlen);

/* Runs 'gnuplot NAME.gp' in DIR for each of names[0..n), at most PLOT_JOBS at once. Each child's
 * output goes to DIR/NAME.log, removed when it exits 0. Returns 0 when every script exited 0;
 * else -1 with err naming the first script that failed and gnuplot's last message. */
int plot_run(const char *gnuplot, const char *dir, const char *const *names, size_t n, char *err,
             size_t errlen);

/* Writes s as a gnuplot single-quoted string (quotes doubled, control characters dropped). */
void plot_quote(FILE *f, const char *s);
/* Writes s as a double-quoted data-file column (gnuplot data files cannot escape '"': it becomes
 * '\''). */
void plot_data_string(FILE *f, const char *s);

/* Line styles, by role. Colour-blind-safe hues of different lightness, each with its own dash
 * pattern and point shape, so a greyscale print still tells them apart. */
#define PLOT_LS_MAIN 1     /* this run, the candidate, tokens generated */
#define PLOT_LS_SECOND 2   /* the baseline, tokens delivered */
#define PLOT_LS_THIRD 3    /* the --direct floor, metered tokens */
#define PLOT_LS_GATE 10    /* gate thresholds: 10, 11, 12 ... one dash pattern each */
#define PLOT_LS_GATE_N 4
#define PLOT_LS_MARK 20    /* the user's abort, a profile switch */

#endif
