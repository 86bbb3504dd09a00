/* The nearest valid name to a misspelt one, for "did you mean" hints in error messages. */
#ifndef RUNNER_DIDYOUMEAN_H
#define RUNNER_DIDYOUMEAN_H

#include <stddef.h>

/* Levenshtein-nearest of 'word' among 'names' (n of them), or NULL when nothing is close.
 * Borrows all; the result is one of 'names'. */
const char *scenario_did_you_mean(const char *word, const char *const *names, size_t n);

#endif
