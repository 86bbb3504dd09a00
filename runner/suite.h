/* Suite files: lists of scenario files, expanded before a run. */
#ifndef RUNNER_SUITE_H
#define RUNNER_SUITE_H

#include <stddef.h>

#define SUITE_MAX_SCENARIOS 64

/* A suite file ({"suite":..,"scenarios":[paths relative to the suite]}) or a single scenario:
 * fills paths (malloc'd strings, caller frees each). Returns the count, or -1 with err. A name
 * that is not a file is looked up in the scenario library (library.h), and so is a member not
 * found beside its suite. */
int suite_expand(const char *name, char **paths, size_t max, char *err, size_t errlen);
/* suite_expand on the file's bytes in memory; the paths are relative to 'path's folder. */
int suite_expand_buffer(const char *path, const char *data, size_t len, char **paths, size_t max,
                        char *err, size_t errlen);

#endif
