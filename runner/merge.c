/* The merge of a sharded run (merge.h): read every shard's shard.json, rejoin each shard's
 * records per scenario, put the requests together on the mock's clock, judge the union. */
#include "merge.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "billing.h"
#include "jget.h"
#include "join.h"
#include "jparse.h"
#include "reports/report.h"
#include "results.h"
#include "run.h"
#include "shard.h"
#include "verdict.h"
#include "version.h"

#define MERGE_SHARD_JSON_MAX (64u * 1024 * 1024)
#define MERGE_LINE_MAX (64u * 1024 * 1024) /* one record line: a ledger record's token times */

/* One shard folder as given. */
struct shard_in {
    const char *dir;
    cJSON *meta; /* shard.json, NULL when unreadable (why says so) */
    char why[600];
    uint32_t index, count;
    double offset_ns;
};

struct merge {
    struct shard_in *in;
    size_t nin;
    uint32_t count;
    struct shard_in *ref; /* the readable shard that ran the most scenarios */
    struct scenario *scs; /* the scenarios the union judges, from ref's copies */
    size_t nsc;
    struct run_result rr;
    double *first_send, *last_end, *lead; /* per scenario, mock clock */
};

static const cJSON *meta_scenario(const struct shard_in *s, size_t k)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItem(s->meta, "scenarios"), (int)k);
}

static size_t meta_nscenarios(const struct shard_in *s)
{
    return s->meta ? (size_t)cJSON_GetArraySize(cJSON_GetObjectItem(s->meta, "scenarios")) : 0;
}

/* Reads DIR/shard.json. Returns 0 (s->meta NULL with s->why when it cannot be used: the merge is
 * then not judged), or -1 with err for a usage error. */
static int read_shard(struct shard_in *s, char *err, size_t errlen)
{
    struct stat st;
    if (stat(s->dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: not a folder%s%s", s->dir, errno ? ": " : "",
                 errno ? strerror(errno) : "");
        return -1;
    }
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s", s->dir, SHARD_FILE);
    if (access(path, F_OK) != 0) {
        char results[PATH_MAX + 32];
        snprintf(results, sizeof results, "%s/results.json", s->dir);
        if (access(results, F_OK) == 0) {
            snprintf(err, errlen,
                     "%s: a run folder but not a shard's (no %s: run it with "
                     "--shard I/N)",
                     s->dir, SHARD_FILE);
            return -1;
        }
        snprintf(s->why, sizeof s->why, "%s: no %s (the shard did not finish)", s->dir, SHARD_FILE);
        return 0;
    }
    char perr[512];
    s->meta = jparse_file(path, MERGE_SHARD_JSON_MAX, NULL, NULL, perr, sizeof perr);
    if (s->meta == NULL) {
        snprintf(s->why, sizeof s->why, "unreadable: %s", perr);
        return 0;
    }
    double format = jget_num(s->meta, "format"), index = jget_num(s->meta, "index");
    double count = jget_num(s->meta, "count");
    if (format != SHARD_FORMAT) {
        snprintf(err, errlen, "%s: %s has format %g, this merge reads format %d", s->dir,
                 SHARD_FILE, format, SHARD_FORMAT);
        return -1;
    }
    if (!(count >= 1 && count <= SHARD_MAX && index >= 0 && index < count) ||
        jget_str(s->meta, "seed") == NULL ||
        !cJSON_IsArray(cJSON_GetObjectItem(s->meta, "scenarios"))) {
        cJSON_Delete(s->meta);
        s->meta = NULL;
        snprintf(s->why, sizeof s->why, "%s: %s is corrupt (index, count, seed or scenarios)",
                 s->dir, SHARD_FILE);
        return 0;
    }
    s->index = (uint32_t)index;
    s->count = (uint32_t)count;
    s->offset_ns = jget_num(s->meta, "clock_offset_ns");
    if (isnan(s->offset_ns))
        s->offset_ns = 0;
    return 0;
}

static void add_env_error(struct run_result *rr, const char *fmt, const char *a, const char *b)
{
    char one[700];
    snprintf(one, sizeof one, fmt, a, b);
    size_t n = strlen(rr->env_error);
    if (n == 0)
        snprintf(rr->env_error, sizeof rr->env_error, "%.500s", one);
    else if (n + 2 < sizeof rr->env_error)
        snprintf(rr->env_error + n, sizeof rr->env_error - n, "; %.*s",
                 (int)(sizeof rr->env_error - n - 3), one);
    snprintf(rr->env_kind, sizeof rr->env_kind, "environment");
}

static const char *shard_name(const struct shard_in *s, char *buf, size_t len)
{
    snprintf(buf, len, "shard %u/%u", s->index, s->count);
    return buf;
}

/* The shards belong together: one count, one seed, one scenario list where they overlap, each
 * index once. Returns 0, or -1 with err (usage). */
static int check_shards(struct merge *mg, char *err, size_t errlen)
{
    for (size_t i = 0; i < mg->nin; i++) {
        struct shard_in *s = &mg->in[i];
        if (s->meta == NULL)
            continue;
        if (mg->ref == NULL) {
            mg->ref = s;
            mg->count = s->count;
        }
        if (s->count != mg->count) {
            snprintf(err, errlen, "%s is a shard of %u, %s of %u: shards of different runs", s->dir,
                     s->count, mg->ref->dir, mg->count);
            return -1;
        }
        if (strcmp(jget_str(s->meta, "seed"), jget_str(mg->ref->meta, "seed")) != 0) {
            snprintf(err, errlen, "%s ran with seed %s, %s with seed %s: shards of different runs",
                     s->dir, jget_str(s->meta, "seed"), mg->ref->dir,
                     jget_str(mg->ref->meta, "seed"));
            return -1;
        }
        for (size_t j = 0; j < i; j++) {
            if (mg->in[j].meta && mg->in[j].index == s->index) {
                snprintf(err, errlen, "%s and %s are both shard %u/%u", mg->in[j].dir, s->dir,
                         s->index, s->count);
                return -1;
            }
        }
        if (meta_nscenarios(s) > meta_nscenarios(mg->ref))
            mg->ref = s;
    }
    for (size_t i = 0; i < mg->nin; i++) {
        const struct shard_in *s = &mg->in[i];
        for (size_t k = 0; mg->ref && k < meta_nscenarios(s); k++) {
            const cJSON *a = meta_scenario(s, k), *b = meta_scenario(mg->ref, k);
            const char *na = jget_str(a, "name"), *nb = jget_str(b, "name");
            const char *sa = jget_str(a, "seed"), *sb = jget_str(b, "seed");
            if (na == NULL || nb == NULL || sa == NULL || sb == NULL || strcmp(na, nb) != 0 ||
                strcmp(sa, sb) != 0) {
                snprintf(err, errlen, "%s and %s ran different scenarios (#%zu: %s, %s)", s->dir,
                         mg->ref->dir, k + 1, na ? na : "?", nb ? nb : "?");
                return -1;
            }
        }
    }
    return 0;
}

/* The scenarios from ref's copies, restored to the files they came from. Returns 0, or -1. */
static int load_scenarios(struct merge *mg, char *err, size_t errlen)
{
    size_t n = meta_nscenarios(mg->ref);
    mg->scs = calloc(n ? n : 1, sizeof *mg->scs);
    mg->rr.sr = calloc(n ? n : 1, sizeof *mg->rr.sr);
    mg->first_send = calloc(n ? n : 1, sizeof *mg->first_send);
    mg->last_end = calloc(n ? n : 1, sizeof *mg->last_end);
    mg->lead = calloc(n ? n : 1, sizeof *mg->lead);
    if (!mg->scs || !mg->rr.sr || !mg->first_send || !mg->last_end || !mg->lead) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t k = 0; k < n; k++) {
        const cJSON *m = meta_scenario(mg->ref, k);
        const char *copy = jget_str(m, "copy"), *file = jget_str(m, "file");
        char path[PATH_MAX + 80], lerr[512];
        snprintf(path, sizeof path, "%s/%s", mg->ref->dir, copy ? copy : "?");
        if (copy == NULL || strstr(copy, "..") ||
            scenario_load(path, &mg->scs[k], lerr, sizeof lerr) != 0) {
            snprintf(err, errlen, "%s: its copy of scenario #%zu cannot be read: %s", mg->ref->dir,
                     k + 1, copy ? lerr : "no copy named");
            return -1;
        }
        mg->nsc++;
        if (file)
            snprintf(mg->scs[k].file, sizeof mg->scs[k].file, "%s", file);
        struct scenario_result *res = &mg->rr.sr[k];
        res->sc = &mg->scs[k];
        res->seed = strtoull(jget_str(m, "seed"), NULL, 10);
        res->price_in = jget_num(m, "price_in");
        res->price_out = jget_num(m, "price_out");
        res->mock_lag_p99_ms = res->mock_late_share = res->mock_tokens_timed = NAN;
        res->mock_rate_share = NAN;
        const char *p = jget_str(m, "profile");
        snprintf(res->profile, sizeof res->profile, "%s", p ? p : "");
        mg->first_send[k] = INFINITY;
        mg->last_end[k] = -INFINITY;
    }
    return 0;
}

/* Per scenario of one shard: its client records and its ledger records. */
struct bucket {
    struct chaos_record *recs;
    size_t n, cap;
    cJSON *ledger; /* {"records":[...]} */
};

static int scenario_position(const struct merge *mg, const char *name)
{
    for (size_t k = 0; name && k < mg->nsc; k++)
        if (strcmp(mg->scs[k].name, name) == 0)
            return (int)k;
    return -1;
}

/* Reads DIR/NAME line by line into the buckets. Returns 0, or -1 with why (the shard is then
 * not usable: the merge is not judged). */
static int read_lines(const struct merge *mg, const struct shard_in *s, const char *name,
                      int client, struct bucket *b, char *why, size_t whylen)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s", s->dir, name);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(why, whylen, "%.400s: %s", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = 0;
    unsigned long lineno = 0;
    while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (len <= 1)
            continue;
        struct jparse_error je;
        cJSON *j = (size_t)len <= MERGE_LINE_MAX ? jparse_text(line, (size_t)len, &je) : NULL;
        int k = j ? scenario_position(mg, jget_str(j, "scenario")) : -1;
        if (j == NULL) {
            snprintf(why, whylen, "%.400s:%lu: not one JSON record", path, lineno);
            rc = -1;
        } else if (k < 0) {
            /* a scenario not every shard ran: the union does not judge it */
        } else if (client) {
            struct bucket *bk = &b[k];
            if (bk->n == bk->cap) {
                size_t nc = bk->cap ? bk->cap * 2 : 256;
                struct chaos_record *tmp = realloc(bk->recs, nc * sizeof *tmp);
                if (tmp == NULL) {
                    snprintf(why, whylen, "%.400s: out of memory", path);
                    rc = -1;
                    cJSON_Delete(j);
                    break;
                }
                bk->recs = tmp;
                bk->cap = nc;
            }
            if (chaos_record_from_json(j, &bk->recs[bk->n]) != 0) {
                snprintf(why, whylen, "%.400s:%lu: not a client record", path, lineno);
                rc = -1;
            } else {
                bk->n++;
            }
        } else {
            if (jget_str(j, "correlation_id") == NULL) {
                snprintf(why, whylen, "%.400s:%lu: not a ledger record", path, lineno);
                rc = -1;
            } else {
                cJSON_AddItemToArray(cJSON_GetObjectItem(b[k].ledger, "records"), j);
                j = NULL;
            }
        }
        cJSON_Delete(j);
    }
    free(line);
    fclose(f);
    return rc;
}

static void count_kind(struct scenario_result *res, const char *kind, uint64_t count)
{
    size_t i = 0;
    while (i < res->nerrs && strcmp(res->errs[i].kind, kind) != 0)
        i++;
    if (i == res->nerrs) {
        if (res->nerrs == RESULTS_ERROR_KINDS - 1)
            kind = "other"; /* as the join does: the last slot collects the rest */
        if (res->nerrs < RESULTS_ERROR_KINDS)
            snprintf(res->errs[res->nerrs++].kind, sizeof res->errs[0].kind, "%s", kind);
        else
            i = RESULTS_ERROR_KINDS - 1;
    }
    res->errs[i].count += count;
}

/* Joins one shard's scenario k and adds its requests to the union. Returns 0, or -1 (OOM). */
static int add_part(struct merge *mg, const struct shard_in *s, size_t k, struct bucket *b)
{
    struct scenario_result *res = &mg->rr.sr[k];
    const cJSON *m = meta_scenario(s, k);
    double off = s->offset_ns;
    struct scenario_result part;
    memset(&part, 0, sizeof part);
    part.sc = res->sc;
    part.seed = res->seed;
    double settle_end = jget_num(m, "settle_end_ns");
    join_requests(&part, b->recs, b->n, b->ledger, settle_end, off);
    if (part.reqs == NULL)
        return -1;
    const cJSON *met = cJSON_GetObjectItem(m, "metered_output_tokens");
    for (size_t q = 0; q < part.nreqs; q++) {
        struct req_result *r = &part.reqs[q];
        r->metered = jget_num(met, r->cid);
        /* onto the mock's clock, which every shard shares */
        r->t_send_ns += off;
        if (r->t_abort_ns > 0)
            r->t_abort_ns += off;
        if (r->t_first_byte_ns > 0)
            r->t_first_byte_ns += off;
        r->t_ref_ns += off;
    }
    struct req_result *tmp = realloc(res->reqs, (res->nreqs + part.nreqs + 1) * sizeof *res->reqs);
    if (tmp == NULL) {
        for (size_t q = 0; q < part.nreqs; q++) {
            free(part.reqs[q].gen_ms);
            free(part.reqs[q].del_ms);
            free(part.reqs[q].delivery_ms);
        }
        free(part.reqs);
        return -1;
    }
    res->reqs = tmp;
    memcpy(res->reqs + res->nreqs, part.reqs, part.nreqs * sizeof *part.reqs);
    res->nreqs += part.nreqs;
    free(part.reqs);
    res->attempts += part.attempts;
    res->error_attempts += part.error_attempts;
    res->client_errors += part.client_errors;
    res->http_errors += part.http_errors;
    for (size_t e = 0; e < part.nerrs; e++)
        count_kind(res, part.errs[e].kind, part.errs[e].count);
    for (size_t e = 0; e < sizeof res->end_reasons / sizeof res->end_reasons[0]; e++)
        res->end_reasons[e] += part.end_reasons[e];
    res->ledger_dropped += (uint64_t)fmax(0, jget_num(m, "ledger_dropped"));
    res->isolate_timeouts += (uint64_t)fmax(0, jget_num(m, "isolate_timeouts"));
    /* the shards shared one mock: the latest it ran, as any shard saw it (fmax skips a NAN) */
    res->mock_lag_p99_ms = fmax(res->mock_lag_p99_ms, jget_num(m, "mock_lag_p99_ms"));
    res->mock_late_share = fmax(res->mock_late_share, jget_num(m, "mock_late_share"));
    res->mock_rate_share = fmin(res->mock_rate_share, jget_num(m, "mock_rate_share"));
    res->billing.metered |= cJSON_IsTrue(cJSON_GetObjectItem(m, "metered"));
    res->duration_s = fmax(res->duration_s, jget_num(m, "duration_s"));
    const char *started = jget_str(m, "started_utc");
    if (started && (res->started_utc[0] == '\0' || strcmp(started, res->started_utc) < 0))
        snprintf(res->started_utc, sizeof res->started_utc, "%s", started);
    double fs = jget_num(m, "first_send_ns") + off, le = jget_num(m, "last_end_ns") + off;
    if (!isnan(fs) && fs < mg->first_send[k]) {
        mg->first_send[k] = fs;
        mg->lead[k] = jget_num(m, "schedule_lead_s");
    }
    if (!isnan(le) && le > mg->last_end[k])
        mg->last_end[k] = le;
    const char *e = jget_str(m, "error");
    char nm[48];
    if (e && !res->error[0])
        snprintf(res->error, sizeof res->error, "%s: %s", shard_name(s, nm, sizeof nm), e);
    return 0;
}

/* Rejoins every scenario of shard s. Returns 0, or -1 with why (the merge is not judged). */
static int merge_shard(struct merge *mg, const struct shard_in *s, char *why, size_t whylen)
{
    struct bucket *b = calloc(mg->nsc ? mg->nsc : 1, sizeof *b);
    int rc = b ? 0 : -1;
    if (b == NULL)
        snprintf(why, whylen, "out of memory");
    for (size_t k = 0; rc == 0 && k < mg->nsc; k++) {
        b[k].ledger = cJSON_CreateObject();
        if (b[k].ledger == NULL || cJSON_AddArrayToObject(b[k].ledger, "records") == NULL) {
            snprintf(why, whylen, "out of memory");
            rc = -1;
        }
    }
    if (rc == 0)
        rc = read_lines(mg, s, "client.jsonl", 1, b, why, whylen);
    if (rc == 0)
        rc = read_lines(mg, s, "ledger.jsonl", 0, b, why, whylen);
    for (size_t k = 0; rc == 0 && k < mg->nsc; k++) {
        if (add_part(mg, s, k, &b[k]) != 0) {
            snprintf(why, whylen, "out of memory");
            rc = -1;
        }
    }
    for (size_t k = 0; b && k < mg->nsc; k++) {
        for (size_t i = 0; i < b[k].n; i++)
            free(b[k].recs[i].trace_us);
        free(b[k].recs);
        cJSON_Delete(b[k].ledger);
    }
    free(b);
    return rc;
}

/* Appends DIR/NAME of every readable shard to OUT/NAME: the union's forensics. */
static int concat(const struct merge *mg, const char *out, const char *name, char *err,
                  size_t errlen)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%s", out, name);
    FILE *o = fopen(path, "w");
    if (o == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char buf[65536];
    for (size_t i = 0; i < mg->nin; i++) {
        if (mg->in[i].meta == NULL)
            continue;
        char src[PATH_MAX + 32];
        snprintf(src, sizeof src, "%s/%s", mg->in[i].dir, name);
        FILE *f = fopen(src, "r");
        size_t n;
        while (f && (n = fread(buf, 1, sizeof buf, f)) > 0)
            fwrite(buf, 1, n, o);
        if (f)
            fclose(f);
    }
    if (fclose(o) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static void merge_free(struct merge *mg)
{
    for (size_t i = 0; mg->rr.sr && i < mg->nsc; i++)
        results_scenario_free(&mg->rr.sr[i]); /* zeroed stats free nothing */
    free(mg->rr.sr);
    for (size_t k = 0; k < mg->nsc; k++)
        scenario_cleanup(&mg->scs[k]);
    free(mg->scs);
    free(mg->first_send);
    free(mg->last_end);
    free(mg->lead);
    for (size_t i = 0; i < mg->nin; i++)
        cJSON_Delete(mg->in[i].meta);
    free(mg->in);
}

/* The run-level fields, from the shards: the earliest start, the longest run, the worst clock
 * uncertainty; the union's clock is the mock's (offset 0). */
static void run_fields(struct merge *mg)
{
    struct run_result *rr = &mg->rr;
    const cJSON *ref = mg->ref ? mg->ref->meta : NULL;
    snprintf(rr->version, sizeof rr->version, "%s", version_number());
    const char *v = jget_str(ref, "gateway");
    snprintf(rr->gateway, sizeof rr->gateway, "%s", v ? v : "the gateway");
    v = jget_str(ref, "suite");
    snprintf(rr->suite, sizeof rr->suite, "%s", v ? v : "");
    rr->direct = cJSON_IsTrue(cJSON_GetObjectItem(ref, "direct"));
    rr->via_proxies = cJSON_IsTrue(cJSON_GetObjectItem(ref, "via_proxies"));
    v = jget_str(ref, "seed");
    rr->seed = v ? strtoull(v, NULL, 10) : 0;
    if (gethostname(rr->hostname, sizeof rr->hostname) != 0)
        rr->hostname[0] = '\0';
    rr->hostname[sizeof rr->hostname - 1] = '\0';
    rr->clock_offset_ns = 0;
    rr->clock_uncertainty_ns = 0;
    for (size_t i = 0; i < mg->nin; i++) {
        const cJSON *m = mg->in[i].meta;
        if (m == NULL)
            continue;
        rr->clock_uncertainty_ns =
            fmax(rr->clock_uncertainty_ns, jget_num(m, "clock_uncertainty_ns"));
        rr->total_s = fmax(rr->total_s, jget_num(m, "total_s"));
        const char *s = jget_str(m, "started_utc");
        if (s && (rr->started_utc[0] == '\0' || strcmp(s, rr->started_utc) < 0))
            snprintf(rr->started_utc, sizeof rr->started_utc, "%s", s);
    }
    if (rr->started_utc[0] == '\0') {
        time_t now = time(NULL);
        strftime(rr->started_utc, sizeof rr->started_utc, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    }
}

/* What no shard judged: missing shards, shards that could not judge or be read, scenarios some
 * shard did not run. */
static void judge_shards(struct merge *mg)
{
    struct run_result *rr = &mg->rr;
    char nm[48];
    for (size_t i = 0; i < mg->nin; i++) {
        const struct shard_in *s = &mg->in[i];
        if (s->meta == NULL) {
            add_env_error(rr, "%s%s", s->why, "");
            continue;
        }
        const char *e = jget_str(s->meta, "error");
        if (!cJSON_IsTrue(cJSON_GetObjectItem(s->meta, "judged")))
            add_env_error(rr, "%s could not judge: %s", shard_name(s, nm, sizeof nm),
                          e ? e : "(no reason recorded)");
        const char *ab = jget_str(s->meta, "aborted");
        if (ab && !rr->aborted[0])
            snprintf(rr->aborted, sizeof rr->aborted, "%s: %s", shard_name(s, nm, sizeof nm), ab);
    }
    for (uint32_t idx = 0; mg->ref && idx < mg->count; idx++) {
        size_t i = 0;
        while (i < mg->nin && !(mg->in[i].meta && mg->in[i].index == idx))
            i++;
        if (i == mg->nin) {
            char which[48], total[24];
            snprintf(which, sizeof which, "%u", idx);
            snprintf(total, sizeof total, "%u", mg->count);
            add_env_error(rr, "shard %s/%s is missing: the union is not the whole run", which,
                          total);
        }
    }
    if (mg->ref == NULL)
        add_env_error(rr, "%s%s", "no shard could be read", "");
}

int merge_execute(const char *out_dir, char *const *dirs, size_t ndirs, char *note, size_t notelen,
                  char *err, size_t errlen)
{
    struct merge mg;
    memset(&mg, 0, sizeof mg);
    int rc = RUN_USAGE;
    note[0] = '\0';
    mg.in = calloc(ndirs ? ndirs : 1, sizeof *mg.in);
    if (mg.in == NULL) {
        snprintf(err, errlen, "out of memory");
        return RUN_ENV;
    }
    mg.nin = ndirs;
    char out_real[PATH_MAX];
    int out_exists = realpath(out_dir, out_real) != NULL;
    for (size_t i = 0; i < ndirs; i++) {
        mg.in[i].dir = dirs[i];
        errno = 0;
        if (read_shard(&mg.in[i], err, errlen) != 0)
            goto done;
        char in_real[PATH_MAX];
        if (out_exists && realpath(dirs[i], in_real) && strcmp(in_real, out_real) == 0) {
            snprintf(err, errlen, "--out %s is one of the shard folders: name a new folder",
                     out_dir);
            goto done;
        }
    }
    if (check_shards(&mg, err, errlen) != 0)
        goto done;
    if (mg.ref && load_scenarios(&mg, err, errlen) != 0)
        goto done;
    rc = RUN_ENV;
    run_fields(&mg);
    judge_shards(&mg);
    /* the union judges the scenarios every readable shard ran; the rest did not run */
    size_t common = mg.nsc;
    for (size_t i = 0; i < mg.nin; i++)
        if (mg.in[i].meta && meta_nscenarios(&mg.in[i]) < common)
            common = meta_nscenarios(&mg.in[i]);
    for (size_t i = 0; i < mg.nin; i++) {
        char why[700];
        if (mg.in[i].meta && merge_shard(&mg, &mg.in[i], why, sizeof why) != 0)
            add_env_error(&mg.rr, "%s%s", why, "");
    }
    mg.rr.n = common;
    mg.rr.pass = 1;
    for (size_t k = 0; k < common; k++) {
        struct scenario_result *res = &mg.rr.sr[k];
        if (res->reqs == NULL)
            res->reqs = calloc(1, sizeof *res->reqs);
        res->traffic_s = isfinite(mg.first_send[k]) && isfinite(mg.last_end[k])
                             ? (mg.last_end[k] - mg.first_send[k]) / 1e9
                             : 0;
        res->schedule_lead_s = mg.lead[k];
        billing_compute(res);
        verdict_compute(res);
        if (res->error[0])
            res->pass = 0;
        mg.rr.pass &= res->pass;
    }
    for (size_t k = common; k < mg.nsc && mg.rr.nnot_run < SCENARIO_MAX_PER_RUN; k++)
        mg.rr.not_run[mg.rr.nnot_run++] = mg.scs[k].name;
    if (mg.rr.env_error[0] || mg.rr.aborted[0])
        mg.rr.pass = 0;
    if (mkdir(out_dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "--out %s: %s", out_dir, strerror(errno));
        goto done;
    }
    if (report_write_run(out_dir, &mg.rr, err, errlen) != 0 ||
        concat(&mg, out_dir, "client.jsonl", err, errlen) != 0 ||
        concat(&mg, out_dir, "ledger.jsonl", err, errlen) != 0)
        goto done;
    /* charts and index.html; without gnuplot everything else is still there */
    if (reports_render(out_dir, NULL, note, notelen) == 0)
        note[0] = '\0';
    if (mg.rr.env_error[0]) {
        snprintf(err, errlen, "not judged: %s", mg.rr.env_error);
        rc = RUN_ENV;
    } else {
        rc = mg.rr.pass ? RUN_PASS : RUN_GATE_FAILED;
    }
done:
    merge_free(&mg);
    return rc;
}
