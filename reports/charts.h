/* The charts of a run and of a comparison: a .dat data file and a .gp gnuplot script per chart,
 * written into a charts folder; plot.h runs the scripts. */
#ifndef REPORTS_CHARTS_H
#define REPORTS_CHARTS_H

#include <stddef.h>

#include <cjson/cJSON.h>

#define CHARTS_MAX 512 /* 5 per scenario at most, 64 scenarios, and the run-wide ones */

enum chart_kind {
    CHART_TAIL_CDF,
    CHART_CLOSE_LAG_CDF,
    CHART_TIMELINE,
    CHART_BILLING,
    CHART_PTDR,
    CHART_WASTED,
};

struct chart {
    char name[160];     /* file stem in the charts folder: NAME.gp, NAME.png, NAME.svg */
    char caption[320];  /* one sentence for the page under the image */
    char scenario[128]; /* the scenario it belongs to, "" for a run-wide chart */
    enum chart_kind kind;
};

struct chart_set {
    size_t n;
    struct chart c[CHARTS_MAX];
};

/* Writes the data files and scripts of every chart of 'run' (a results.json tree) into 'dir',
 * which exists, and appends them to 'set'. 'floor' is a --direct run's tree drawn for reference
 * on the close-lag CDFs, or NULL. Scenarios with nothing to show (no aborted request, no
 * timeline, no billing) get no chart of that kind. Returns 0, or -1 with err filled. */
int charts_write_run(const cJSON *run, const cJSON *floor, const char *dir, struct chart_set *set,
                     char *err, size_t errlen);

/* The comparison overlays of 'base' and 'cand' into 'dir': tail and close-lag CDFs of every
 * scenario both ran, PTDR and monthly waste per scenario side by side. The labels name each run
 * in legends ("baseline: refgw-fixed"). Same contract as charts_write_run. */
int charts_write_compare(const cJSON *base, const cJSON *cand, const char *base_label,
                         const char *cand_label, const char *dir, struct chart_set *set,
                         char *err, size_t errlen);

/* A gate expression for people: "p(95)<=8" becomes "p(95) ≤ 8" (UTF-8). */
void charts_pretty_expr(const char *expr, char *out, size_t len);

#endif
