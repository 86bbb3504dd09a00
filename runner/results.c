/* Small shared readings of a run's results, the same in every output. */
#include <stdio.h>
#include <string.h>

#include "results.h"

const char *results_verdict(int pass, const char *error)
{
    if (error && error[0])
        return "error";
    return pass ? "pass" : "fail";
}

void results_error_text(const struct scenario_result *res, char *out, size_t len)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < res->nerrs && used < len; i++) {
        int n = snprintf(out + used, len - used, "%s%llu x %s", i ? ", " : "",
                         (unsigned long long)res->errs[i].count, res->errs[i].kind);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}
