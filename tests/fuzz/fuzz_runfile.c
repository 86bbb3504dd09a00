/* Fuzz target: results.json as `tailgate report` and `tailgate compare` read it
 * (reports/runfile.c, reports/compare.c). The input is one results.json, or a baseline and a
 * candidate split by a NUL; every accessor the reports use runs over every scenario. */
#include <math.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fuzz.h"
#include "reports/compare.h"
#include "reports/runfile.h"

static void read_scenario(const cJSON *sc)
{
    static const char *const metrics[] = {"tail_tokens", "close_lag_ms", "delivered_tokens",
                                          "billed_output_tokens", "delivery_ms"};
    char stem[64], usd[64];
    const char *name = runfile_str(sc, "name");
    runfile_stem(name, stem, sizeof stem);
    FUZZ_CHECK(strlen(stem) < sizeof stem);
    runfile_stem(name, stem, 1);
    FUZZ_CHECK(stem[0] == '\0');
    (void)runfile_passed(sc);
    for (size_t i = 0; i < sizeof metrics / sizeof metrics[0]; i++) {
        (void)runfile_stat(sc, metrics[i], "p95");
        double *v = NULL;
        size_t aborted = 0;
        long n = runfile_samples(sc, metrics[i], &v, &aborted);
        FUZZ_CHECK(n >= 0);
        for (long k = 1; k < n; k++)
            FUZZ_CHECK(v[k - 1] <= v[k] && isfinite(v[k]));
        free(v);
        double sum = runfile_sum(sc, metrics[i]);
        FUZZ_CHECK(n > 0 || isnan(sum));
    }
    runfile_usd(runfile_scalar(sc, "wasted_cost_usd"), usd, sizeof usd);
    runfile_usd(runfile_scalar(sc, "monthly_wasted_usd"), usd, sizeof usd);
    FUZZ_CHECK(usd[0] == '$' || usd[0] == '-' || strcmp(usd, "n/a") == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *nul = memchr(text, '\0', size);
    size_t n1 = nul ? (size_t)(nul - text) : size;
    char err[512];
    err[0] = '\0';
    cJSON *base = runfile_parse_buffer("base/results.json", text, n1, err, sizeof err);
    if (base == NULL) {
        /* the file named first: "base/results.json: ..." or "base/results.json:1:2: ..." */
        FUZZ_CHECK(strncmp(err, "base/results.json:", 18) == 0);
        return 0;
    }
    cJSON *cand =
        nul ? runfile_parse_buffer("cand/results.json", nul + 1, size - n1 - 1, err, sizeof err)
            : NULL;
    const cJSON *sc;
    cJSON_ArrayForEach(sc, cJSON_GetObjectItemCaseSensitive(base, "scenarios"))
    {
        read_scenario(sc);
        FUZZ_CHECK(runfile_scenario(base, runfile_str(sc, "name")) != NULL);
    }
    struct compare *c = compare_new(base, cand ? cand : base, "base", "cand", err, sizeof err);
    if (c) {
        char *table = compare_text(c);
        FUZZ_CHECK(table != NULL);
        free(table);
        FUZZ_CHECK(compare_regressions(c) <= COMPARE_MAX_ROWS);
        compare_free(c);
    }
    cJSON_Delete(cand);
    cJSON_Delete(base);
    return 0;
}
