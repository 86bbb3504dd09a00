/* The nearest valid name to a misspelt one, by edit distance, for "did you mean" hints. */
#include "didyoumean.h"

#include <string.h>

static size_t lev(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 99;
    size_t prev[64], cur[64];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, (lb + 1) * sizeof *prev);
    }
    return prev[lb];
}

const char *scenario_did_you_mean(const char *word, const char *const *names, size_t n)
{
    const char *best = NULL;
    size_t bd = 99;
    for (size_t i = 0; i < n; i++) {
        size_t d = lev(word, names[i]);
        if (d < bd) {
            bd = d;
            best = names[i];
        }
    }
    /* close means a slip of the fingers, not a different word */
    size_t len = strlen(word);
    return bd <= (len < 6 ? 2u : 3u) ? best : NULL;
}
