/* Baseline run against candidate run: every gate and metric side by side with the change, and
 * the regressions a pull request must not merge (a gate the baseline passed that the candidate
 * fails or no longer has). */
#ifndef REPORTS_COMPARE_H
#define REPORTS_COMPARE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "reports/charts.h"

#define COMPARE_MAX_ROWS 20000 /* 64 scenarios x (gates + 3 stats x metrics + scalars), roomy */

struct compare;

/* Builds the comparison of two results.json trees (borrowed for this call only). Returns it
 * (caller frees with compare_free) or NULL with err filled. 'base_label'/'cand_label' name the
 * runs in the table ("/tmp/rf (refgw-fixed)"); copied. */
struct compare *compare_new(const cJSON *base, const cJSON *cand, const char *base_label,
                            const char *cand_label, char *err, size_t errlen);
void compare_free(struct compare *c);

/* Gates that passed in the baseline and fail (or are missing) in the candidate. */
size_t compare_regressions(const struct compare *c);

/* The whole table as text: padded Markdown, readable in a terminal and in a pull-request
 * comment, ending with the verdict line. Returns a malloc'd string (caller frees) or NULL. */
char *compare_text(const struct compare *c);

/* DIR/index.html for the comparison, with the charts of 'set' (in DIR/charts/) and 'note' (may
 * be NULL). Returns 0, or -1 with err filled. */
int compare_write_html(const struct compare *c, const char *dir, const struct chart_set *set,
                       const char *note, char *err, size_t errlen);

#endif
