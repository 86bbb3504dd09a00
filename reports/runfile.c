/* Reading results.json for the reports: load, shape check, and accessors that never fail. */
#include "reports/runfile.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "jparse.h"

static cJSON *parse_run(const char *path, const char *text, size_t len, char *err,
                        size_t errlen);

cJSON *runfile_load(const char *dir, char *err, size_t errlen)
{
    char path[4096];
    char *text = NULL;
    cJSON *run = NULL;
    FILE *f = NULL;
    if (snprintf(path, sizeof path, "%s/results.json", dir) >= (int)sizeof path) {
        snprintf(err, errlen, "%s: path too long", dir);
        goto done;
    }
    f = fopen(path, "rb");
    struct stat st;
    if (f == NULL || fstat(fileno(f), &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto done;
    }
    if (st.st_size > RUNFILE_MAX_BYTES) {
        snprintf(err, errlen, "%s: %lld bytes, more than the %ld a report reads", path,
                 (long long)st.st_size, RUNFILE_MAX_BYTES);
        goto done;
    }
    text = malloc((size_t)st.st_size + 1);
    if (text == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto done;
    }
    size_t n = fread(text, 1, (size_t)st.st_size, f);
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read failed", path);
        goto done;
    }
    run = parse_run(path, text, n, err, errlen);
done:
    free(text);
    if (f)
        fclose(f);
    return run;
}

cJSON *runfile_parse_buffer(const char *path, const char *data, size_t len, char *err,
                            size_t errlen)
{
    if (len > (size_t)RUNFILE_MAX_BYTES) {
        snprintf(err, errlen, "%s: %zu bytes, more than the %ld a report reads", path, len,
                 RUNFILE_MAX_BYTES);
        return NULL;
    }
    return parse_run(path, data, len, err, errlen);
}

/* schema_version is "MAJOR.MINOR.PATCH" (an integer MAJOR is taken too). A major this reader
 * does not know is refused by name: its fields may mean something else. Absent: a file written
 * before the field existed, the 1.0 format. */
static int check_schema_version(const char *path, const cJSON *run, char *err, size_t errlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(run, "schema_version");
    if (v == NULL)
        return 0;
    long major = -1;
    char shown[40];
    if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e9 &&
        v->valuedouble == floor(v->valuedouble)) {
        major = (long)v->valuedouble;
        snprintf(shown, sizeof shown, "%ld", major);
    } else if (cJSON_IsString(v) && v->valuestring) {
        const char *s = v->valuestring;
        snprintf(shown, sizeof shown, "'%.30s'", s);
        size_t digits = strspn(s, "0123456789");
        if (digits > 0 && digits < 10 && (s[digits] == '\0' || s[digits] == '.'))
            major = strtol(s, NULL, 10);
    } else if (cJSON_IsNumber(v)) {
        snprintf(shown, sizeof shown, "%g", v->valuedouble);
    } else {
        snprintf(shown, sizeof shown, "of JSON type %s",
                 cJSON_IsNull(v) ? "null" : cJSON_IsBool(v) ? "boolean" : "array or object");
    }
    if (major < 0) {
        snprintf(err, errlen, "%s: schema_version %s is not MAJOR.MINOR.PATCH", path, shown);
        return -1;
    }
    if (major != RUNFILE_SCHEMA_MAJOR) {
        snprintf(err, errlen,
                 "%s: schema_version %s: this tailgate reads results.json major %d only "
                 "(%s); use the tailgate that wrote it",
                 path, shown, RUNFILE_SCHEMA_MAJOR,
                 major > RUNFILE_SCHEMA_MAJOR ? "a newer format" : "an older format");
        return -1;
    }
    return 0;
}

/* Parses a results.json text (exactly one JSON value in len bytes) and checks the shape the
 * reports rely on. */
static cJSON *parse_run(const char *path, const char *text, size_t len, char *err, size_t errlen)
{
    struct jparse_error je;
    cJSON *run = jparse_text(text, len, &je);
    if (run == NULL) {
        jparse_message(&je, path, err, errlen);
        return NULL;
    }
    if (check_schema_version(path, run, err, errlen) != 0) {
        cJSON_Delete(run);
        return NULL;
    }
    const cJSON *scs = cJSON_GetObjectItemCaseSensitive(run, "scenarios");
    if (!cJSON_IsArray(scs)) {
        snprintf(err, errlen, "%s: no \"scenarios\" array: not a tailgate results.json", path);
        cJSON_Delete(run);
        return NULL;
    }
    const cJSON *sc;
    cJSON_ArrayForEach(sc, scs)
    {
        if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(sc, "name"))) {
            snprintf(err, errlen, "%s: a scenario without a \"name\"", path);
            cJSON_Delete(run);
            return NULL;
        }
    }
    return run;
}

double runfile_num(const cJSON *o, const char *key)
{
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

const char *runfile_str(const cJSON *o, const char *key)
{
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
    return cJSON_IsString(v) && v->valuestring ? v->valuestring : "";
}

const cJSON *runfile_scenario(const cJSON *run, const char *name)
{
    const cJSON *sc;
    cJSON_ArrayForEach(sc, cJSON_GetObjectItemCaseSensitive(run, "scenarios"))
    {
        if (strcmp(runfile_str(sc, "name"), name) == 0)
            return sc;
    }
    return NULL;
}

double runfile_stat(const cJSON *sc, const char *metric, const char *stat)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(sc, "metrics");
    return runfile_num(m ? cJSON_GetObjectItemCaseSensitive(m, metric) : NULL, stat);
}

double runfile_scalar(const cJSON *sc, const char *name)
{
    return runfile_num(cJSON_GetObjectItemCaseSensitive(sc, "scalars"), name);
}

int runfile_passed(const cJSON *o)
{
    return strcmp(runfile_str(o, "verdict"), "pass") == 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

long runfile_samples(const cJSON *sc, const char *field, double **out, size_t *aborted)
{
    const cJSON *reqs = cJSON_GetObjectItemCaseSensitive(sc, "requests_detail");
    int total = cJSON_GetArraySize(reqs);
    *out = NULL;
    if (aborted)
        *aborted = 0;
    if (total <= 0)
        return 0;
    double *v = malloc((size_t)total * sizeof *v);
    if (v == NULL)
        return -1;
    long n = 0;
    const cJSON *q;
    cJSON_ArrayForEach(q, reqs)
    {
        double x = runfile_num(q, field);
        if (isfinite(x))
            v[n++] = x;
        if (aborted && isfinite(runfile_num(q, "t_abort_ns")))
            (*aborted)++;
    }
    if (n == 0) {
        free(v);
        return 0;
    }
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    *out = v;
    return n;
}

double runfile_sum(const cJSON *sc, const char *field)
{
    double sum = 0;
    int any = 0;
    const cJSON *q;
    cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(sc, "requests_detail"))
    {
        double x = runfile_num(q, field);
        if (isfinite(x)) {
            sum += x;
            any = 1;
        }
    }
    return any ? sum : NAN;
}

void runfile_stem(const char *name, char *out, size_t len)
{
    size_t i = 0;
    for (; name[i] && i + 1 < len; i++) {
        char c = name[i];
        int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '.' || c == '_' || c == '-';
        out[i] = keep && !(i == 0 && c == '.') ? c : '_';
    }
    if (len)
        out[i < len ? i : len - 1] = '\0';
}

void runfile_usd(double v, char *out, size_t len)
{
    if (!isfinite(v)) {
        snprintf(out, len, "n/a");
        return;
    }
    if (fabs(v) < 1 && v != 0) {
        /* one run's waste is cents or less: three significant digits, no exponent */
        int decimals = 2 - (int)floor(log10(fabs(v)));
        decimals = decimals < 2 ? 2 : decimals > 9 ? 9 : decimals;
        snprintf(out, len, "$%.*f", decimals, v);
        size_t n = strlen(out);
        while (n > 0 && out[n - 1] == '0' && strchr(out, '.') + 3 < out + n)
            out[--n] = '\0';
        return;
    }
    if (fabs(v) < 100) {
        snprintf(out, len, "$%.2f", v);
        return;
    }
    /* whole dollars with thousands separators: "$17,364" */
    char digits[32];
    snprintf(digits, sizeof digits, "%.0f", fabs(v));
    size_t nd = strlen(digits), o = 0;
    char tmp[48];
    if (v < 0)
        tmp[o++] = '-';
    tmp[o++] = '$';
    for (size_t i = 0; i < nd && o + 2 < sizeof tmp; i++) {
        if (i > 0 && (nd - i) % 3 == 0)
            tmp[o++] = ',';
        tmp[o++] = digits[i];
    }
    tmp[o] = '\0';
    snprintf(out, len, "%s", tmp);
}
