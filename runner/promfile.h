/* The run folder's metrics.prom: a scenario's distributions as Prometheus histograms, in the
 * textfile format node_exporter's textfile collector reads (no timestamps, HELP and TYPE). */
#ifndef RUNNER_PROMFILE_H
#define RUNNER_PROMFILE_H

#include <stddef.h>

struct run_result;

/* The file's text: malloc'd, caller frees; NULL on out of memory. */
char *promfile_build(const struct run_result *r);
/* Writes dir/metrics.prom. Returns 0, or -1 with err filled. */
int promfile_write(const char *dir, const struct run_result *r, char *err, size_t errlen);

#endif
