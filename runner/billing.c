/* Billing reconciliation: the mock's invoice per request against what the wire told the gateway
 * and what the gateway's own metering says, over the scenario and across a profile switch. */
#include "billing.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fetch.h"
#include "jget.h"
#include "jparse.h"
#include "profile.h"

static void meter_one(const struct gateway *gw, struct scenario_result *res, const cJSON *j)
{
    const char *id = jget_str(j, gw->metering_id_field);
    double tok = jget_num(j, gw->metering_tokens_field);
    for (size_t k = 0; id && !isnan(tok) && k < res->nreqs; k++) {
        if (strcmp(res->reqs[k].cid, id) != 0)
            continue;
        struct req_result *q = &res->reqs[k];
        q->metered = isnan(q->metered) ? tok : q->metered + tok; /* retries add up */
        return;
    }
}

/* Reads the gateway's metering output, a JSON-lines file or an endpoint answering JSON lines or
 * one array, into each request's 'metered'. */
static void read_metering(const struct gateway *gw, struct scenario_result *res)
{
    char *text = NULL;
    if (gw->metering_url[0]) {
        if (fetch("GET", gw->metering_url, NULL, NULL, 30000, &text, NULL) != 200) {
            free(text);
            return;
        }
    } else {
        FILE *f = fopen(gw->metering_file, "r");
        size_t cap = 0;
        if (f == NULL)
            return;
        if (getdelim(&text, &cap, '\0', f) < 0) {
            free(text);
            text = NULL;
        }
        fclose(f);
    }
    if (text == NULL)
        return;
    billing_read_metering(res, gw, text);
    free(text);
}

void billing_read_metering(struct scenario_result *res, const struct gateway *gw, char *text)
{
    res->billing.metered = 1;
    /* each document exactly one JSON value: a line with anything after its value, or cut short
     * (a gateway still writing it), meters nothing rather than something half-read */
    struct jparse_error je;
    cJSON *arr = text[strspn(text, " \t\r\n")] == '[' ? jparse_text(text, strlen(text), &je)
                                                        : NULL;
    if (arr) {
        const cJSON *j;
        cJSON_ArrayForEach(j, arr)
            meter_one(gw, res, j);
        cJSON_Delete(arr);
    } else {
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            cJSON *j = jparse_text(line, strlen(line), &je);
            meter_one(gw, res, j);
            cJSON_Delete(j);
        }
    }
}

void billing_reconcile(struct scenario_result *res, const struct gateway *gw)
{
    for (size_t k = 0; k < res->nreqs; k++)
        res->reqs[k].metered = NAN;
    if (gw && (gw->metering_file[0] || gw->metering_url[0]))
        read_metering(gw, res);
    billing_compute(res);
}

/* Invoice against wire and metering, over time in 1-s buckets of request start. */
void billing_compute(struct scenario_result *res)
{
    struct billing *b = &res->billing;
    const struct scenario *sc = res->sc;
    const char *first_profile = NULL;
    if (sc->schedule[0]) {
        struct schedule sch;
        char e[128];
        if (schedule_parse(sc->schedule, &sch, e, sizeof e) == 0) {
            first_profile = sch.steps[0].profile->name;
            for (size_t i = 1; i < sch.n && b->nswitches < 16; i++)
                b->switches_s[b->nswitches++] = (double)sch.steps[i].at_ms / 1000.0;
        }
    }
    double t0 = INFINITY;
    for (size_t k = 0; k < res->nreqs; k++)
        t0 = fmin(t0, res->reqs[k].t_send_ns);
    /* the schedule started when the profile was set, just before the first send */
    double inv[2] = {0, 0}, met[2] = {0, 0}, inv_all = 0, met_all = 0;
    for (size_t k = 0; k < res->nreqs; k++) {
        const struct req_result *q = &res->reqs[k];
        double t = (q->t_send_ns - t0) / 1e9 + res->schedule_lead_s;
        size_t bucket = t < 0 ? 0 : (size_t)t;
        if (bucket >= BILLING_MAX_BUCKETS)
            bucket = BILLING_MAX_BUCKETS - 1;
        if (bucket + 1 > b->nbuckets)
            b->nbuckets = bucket + 1;
        double billed = q->sample[M_BILLED_OUTPUT_TOKENS];
        b->buckets[bucket].invoice += billed;
        b->buckets[bucket].wire += isnan(q->usage_value) ? 0 : q->usage_value;
        b->buckets[bucket].metered += isnan(q->metered) ? 0 : q->metered;
        if (!b->metered)
            continue;
        double m = isnan(q->metered) ? 0 : q->metered;
        /* before or after the switch: by the profile the mock billed the request under, so a
         * request sent a hair before the switch and answered after it lands where it was
         * billed; by send time when the ledger did not say */
        int after = b->nswitches && (q->profile[0] && first_profile
                                         ? strcmp(q->profile, first_profile) != 0
                                         : t >= b->switches_s[0]);
        inv[after] += billed;
        met[after] += m;
        inv_all += billed;
        met_all += m;
        if (billed != m) {
            if (b->ndis < BILLING_MAX_DISAGREEMENTS) {
                struct disagreement *d = &b->dis[b->ndis++];
                snprintf(d->cid, sizeof d->cid, "%s", q->cid);
                d->billed = billed;
                d->metered = m;
            }
            b->ndis_total++;
        }
    }
    b->variance_pct = b->metered && inv_all > 0 ? (inv_all - met_all) / inv_all * 100 : NAN;
    b->variance_before_pct = b->metered && inv[0] > 0 ? (inv[0] - met[0]) / inv[0] * 100 : NAN;
    b->variance_after_pct = b->metered && inv[1] > 0 ? (inv[1] - met[1]) / inv[1] * 100 : NAN;
}
