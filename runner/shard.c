/* A shard of a run (shard.h): its spec, scope and share, and the record a merge reads. */
#include "shard.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "cliutil.h"
#include "jparse.h"

#define SHARD_SCENARIO_MAX_BYTES (1024 * 1024) /* as much as the scenario loader reads */

static int parse_u32(const char *s, size_t n, uint32_t *out)
{
    if (n == 0 || n > 9)
        return -1;
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint32_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

int shard_parse(const char *text, uint32_t *index, uint32_t *count, char *err, size_t errlen)
{
    const char *slash = strchr(text, '/');
    uint32_t i, n;
    if (slash == NULL || parse_u32(text, (size_t)(slash - text), &i) != 0 ||
        parse_u32(slash + 1, strlen(slash + 1), &n) != 0) {
        snprintf(err, errlen, "--shard: expected I/N (shard I of N, counting from 0), got '%.64s'",
                 text);
        return -1;
    }
    if (n < 1 || n > SHARD_MAX) {
        snprintf(err, errlen, "--shard %.64s: N must be 1 to %d", text, SHARD_MAX);
        return -1;
    }
    if (i >= n) {
        snprintf(err, errlen, "--shard %.64s: I counts from 0 and must be below N (0 to %u)", text,
                 n - 1);
        return -1;
    }
    *index = i;
    *count = n;
    return 0;
}

void shard_scope(uint32_t index, uint32_t count, char *out, size_t len)
{
    snprintf(out, len, "s%uof%u:", index, count);
}

uint32_t shard_concurrency(uint32_t total, uint32_t index, uint32_t count)
{
    uint32_t share = total / count + (index < total % count);
    return share ? share : 1;
}

int shard_save_scenario(const char *dir, size_t position, const char *src, char *err, size_t errlen)
{
    char sub[1100], name[64];
    snprintf(sub, sizeof sub, "%s/shard", dir);
    if (mkdir(sub, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", sub, strerror(errno));
        return -1;
    }
    size_t len;
    char *text = jparse_read_file(src, SHARD_SCENARIO_MAX_BYTES, NULL, &len, err, errlen);
    if (text == NULL)
        return -1;
    snprintf(name, sizeof name, "scenario-%zu.json", position);
    int rc = cliutil_write_text(sub, name, text, err, errlen);
    free(text);
    return rc;
}

static cJSON *num_or_null(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static cJSON *scenario_json(const struct scenario_result *res, size_t position)
{
    cJSON *o = cJSON_CreateObject();
    char copy[64];
    snprintf(copy, sizeof copy, "shard/scenario-%zu.json", position);
    cJSON_AddStringToObject(o, "name", res->sc->name);
    cJSON_AddStringToObject(o, "file", res->sc->file);
    cJSON_AddStringToObject(o, "copy", copy);
    /* as a decimal string: a 64-bit seed does not fit a JSON number exactly */
    char seed[24];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)res->seed);
    cJSON_AddStringToObject(o, "seed", seed);
    cJSON_AddStringToObject(o, "started_utc", res->started_utc);
    cJSON_AddNumberToObject(o, "duration_s", res->duration_s);
    cJSON_AddStringToObject(o, "profile", res->profile);
    cJSON_AddItemToObject(o, "price_in", num_or_null(res->price_in));
    cJSON_AddItemToObject(o, "price_out", num_or_null(res->price_out));
    cJSON_AddItemToObject(o, "settle_end_ns", num_or_null(res->settle_end_ns));
    cJSON_AddItemToObject(o, "first_send_ns", num_or_null(res->first_send_ns));
    cJSON_AddItemToObject(o, "last_end_ns", num_or_null(res->last_end_ns));
    cJSON_AddNumberToObject(o, "schedule_lead_s", res->schedule_lead_s);
    cJSON_AddNumberToObject(o, "ledger_dropped", (double)res->ledger_dropped);
    cJSON_AddItemToObject(o, "mock_lag_p99_ms", num_or_null(res->mock_lag_p99_ms));
    cJSON_AddItemToObject(o, "mock_late_share", num_or_null(res->mock_late_share));
    cJSON_AddItemToObject(o, "mock_rate_share", num_or_null(res->mock_rate_share));
    cJSON_AddNumberToObject(o, "isolate_timeouts", (double)res->isolate_timeouts);
    if (res->error[0])
        cJSON_AddStringToObject(o, "error", res->error);
    else
        cJSON_AddNullToObject(o, "error");
    cJSON_AddBoolToObject(o, "metered", res->billing.metered);
    /* the gateway's metering, read at the shard: a merge has no gateway to ask */
    cJSON *met = cJSON_AddObjectToObject(o, "metered_output_tokens");
    for (size_t k = 0; res->billing.metered && k < res->nreqs; k++)
        if (!isnan(res->reqs[k].metered))
            cJSON_AddNumberToObject(met, res->reqs[k].cid, res->reqs[k].metered);
    return o;
}

int shard_write(const char *dir, uint32_t index, uint32_t count, const struct run_result *rr,
                char *err, size_t errlen)
{
    cJSON *o = cJSON_CreateObject();
    char scope[32], seed[24];
    shard_scope(index, count, scope, sizeof scope);
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)rr->seed);
    cJSON_AddNumberToObject(o, "format", SHARD_FORMAT);
    cJSON_AddNumberToObject(o, "index", index);
    cJSON_AddNumberToObject(o, "count", count);
    cJSON_AddStringToObject(o, "scope", scope);
    cJSON_AddStringToObject(o, "seed", seed);
    cJSON_AddStringToObject(o, "version", rr->version);
    cJSON_AddStringToObject(o, "gateway", rr->gateway);
    cJSON_AddBoolToObject(o, "direct", rr->direct);
    cJSON_AddBoolToObject(o, "via_proxies", rr->via_proxies);
    cJSON_AddStringToObject(o, "suite", rr->suite);
    cJSON_AddStringToObject(o, "hostname", rr->hostname);
    cJSON_AddStringToObject(o, "started_utc", rr->started_utc);
    cJSON_AddNumberToObject(o, "total_s", rr->total_s);
    cJSON_AddNumberToObject(o, "clock_offset_ns", rr->clock_offset_ns);
    cJSON_AddItemToObject(o, "clock_uncertainty_ns", num_or_null(rr->clock_uncertainty_ns));
    /* judged: every scenario that was meant to run ran and could be judged */
    cJSON_AddBoolToObject(o, "judged", rr->env_error[0] == '\0');
    if (rr->env_error[0])
        cJSON_AddStringToObject(o, "error", rr->env_error);
    else
        cJSON_AddNullToObject(o, "error");
    if (rr->aborted[0])
        cJSON_AddStringToObject(o, "aborted", rr->aborted);
    cJSON *nr = cJSON_AddArrayToObject(o, "not_run");
    for (size_t i = 0; i < rr->nnot_run; i++)
        cJSON_AddItemToArray(nr, cJSON_CreateString(rr->not_run[i]));
    cJSON *arr = cJSON_AddArrayToObject(o, "scenarios");
    for (size_t i = 0; i < rr->n; i++)
        cJSON_AddItemToArray(arr, scenario_json(&rr->sr[i], i));
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    if (text == NULL) {
        snprintf(err, errlen, "%s: out of memory", SHARD_FILE);
        return -1;
    }
    int rc = cliutil_write_text(dir, SHARD_FILE, text, err, errlen);
    free(text);
    return rc;
}
