/* Fuzz target: the runner's reader of a gateway's metering output (runner/billing.c): JSON lines
 * or one JSON array, matched to the scenario's requests by the description's id and token
 * fields. The requests are named control-0 .. control-7, as in the shipped demo's metering. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "billing.h"
#include "fuzz.h"
#include "results.h"

#define FUZZ_REQS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct scenario_result *res = calloc(1, sizeof *res);
    struct req_result *reqs = calloc(FUZZ_REQS, sizeof *reqs);
    struct gateway *gw = calloc(1, sizeof *gw);
    char *text = malloc(size + 1);
    FUZZ_CHECK(res && reqs && gw && text);
    memcpy(text, data, size);
    text[size] = '\0';
    for (size_t k = 0; k < FUZZ_REQS; k++) {
        snprintf(reqs[k].cid, sizeof reqs[k].cid, "control-%zu", k);
        reqs[k].metered = NAN;
    }
    res->reqs = reqs;
    res->nreqs = FUZZ_REQS;
    /* the defaults, or the field names a description may choose instead */
    int custom = size & 1;
    snprintf(gw->metering_id_field, sizeof gw->metering_id_field, "%s",
             custom ? "id" : "request_id");
    snprintf(gw->metering_tokens_field, sizeof gw->metering_tokens_field, "%s",
             custom ? "tokens" : "output_tokens");

    billing_read_metering(res, gw, text);
    FUZZ_CHECK(res->billing.metered == 1);
    FUZZ_CHECK(res->nreqs == FUZZ_REQS && res->reqs == reqs);
    for (size_t k = 0; k < FUZZ_REQS; k++) {
        char want[16];
        snprintf(want, sizeof want, "control-%zu", k);
        FUZZ_CHECK(strcmp(reqs[k].cid, want) == 0);
    }
    free(text);
    free(gw);
    free(reqs);
    free(res);
    return 0;
}
