/* A location in a JSON document, named by its key path (users[1].action), and the validation
 * of the keys and values found there. An error reads "FILE:LINE: KEY.PATH: what was wrong". */
#include "jsonpath.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "didyoumean.h"

/* Past one JSON value at p (already parsed by cJSON, so well formed): a string, a bracketed
 * value, or a bare word. For finding lines only. */
static const char *skip_value(const char *p)
{
    if (*p == '"') {
        for (p++; *p && *p != '"'; p++)
            if (*p == '\\' && p[1])
                p++;
        return *p ? p + 1 : p;
    }
    if (*p == '[' || *p == '{') {
        int depth = 0;
        for (; *p; p++) {
            if (*p == '"') {
                p = skip_value(p) - 1;
            } else if (*p == '[' || *p == '{') {
                depth++;
            } else if ((*p == ']' || *p == '}') && --depth == 0) {
                return p + 1;
            }
        }
        return p;
    }
    while (*p && *p != ',' && *p != ']' && *p != '}')
        p++;
    return p;
}

/* The start of element i of the array that opens at or after p, or NULL. */
static const char *array_element(const char *p, int i)
{
    p = strchr(p, '[');
    if (p == NULL)
        return NULL;
    for (p++;; i--) {
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        if (*p == '\0' || *p == ']')
            return NULL;
        if (i == 0)
            return p;
        p = skip_value(p);
        while (*p && *p != ',' && *p != ']')
            p++;
        if (*p != ',')
            return NULL;
        p++;
    }
}

/* The line of a key path in the raw text: each key is searched after the previous one, and an
 * index [i] walks to that element of the array that follows. Keys are found by their quoted
 * name, so a value spelling a later key's name can mislead it: lines are a guide. */
int jctx_line_of(const struct jctx *c, const char *path)
{
    const char *pos = c->text;
    char comp[80];
    const char *p = path;
    while (*p) {
        size_t n = 0;
        if (*p == '[') {
            const char *el = array_element(pos, atoi(p + 1));
            p = strchr(p, ']');
            if (el == NULL || p == NULL)
                break;
            pos = el;
            p++;
            if (*p == '.')
                p++;
            continue;
        }
        while (*p && *p != '.' && *p != '[' && n < sizeof comp - 3)
            comp[n++] = *p++;
        if (*p == '.')
            p++;
        comp[n] = '\0';
        char quoted[96];
        snprintf(quoted, sizeof quoted, "\"%s\"", comp);
        const char *hit = strstr(pos, quoted);
        if (hit == NULL)
            break;
        pos = hit + strlen(quoted);
    }
    int line = 1;
    for (const char *q = c->text; q < pos; q++)
        line += *q == '\n';
    return line;
}

int jctx_fail(const struct jctx *c, const char *path, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(c->err, c->errlen, "%s:%d: %s: %s", c->file, jctx_line_of(c, path), path, msg);
    return -1;
}

/* Every key of 'o' must be in 'allowed'. */
int jctx_check_keys(const struct jctx *c, const cJSON *o, const char *path,
                    const char *const *allowed, size_t n)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, o)
    {
        size_t i = 0;
        while (i < n && strcmp(allowed[i], it->string) != 0)
            i++;
        if (i < n)
            continue;
        char full[160];
        snprintf(full, sizeof full, "%s%s%s", path, *path ? "." : "", it->string);
        const char *dym = scenario_did_you_mean(it->string, allowed, n);
        char list[400] = "";
        for (size_t k = 0; k < n; k++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", k ? ", " : "",
                     allowed[k]);
        return dym ? jctx_fail(c, full, "unknown key; did you mean '%s'? (expected one of: %s)",
                               dym, list)
                   : jctx_fail(c, full, "unknown key (expected one of: %s)", list);
    }
    return 0;
}

int jctx_get_num(const struct jctx *c, const cJSON *o, const char *key, const char *path, double lo,
                 double hi, double *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (v == NULL)
        return 0;
    char full[160];
    snprintf(full, sizeof full, "%s%s%s", path, *path ? "." : "", key);
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi))
        return jctx_fail(c, full, "expected a number from %g to %g", lo, hi);
    *out = v->valuedouble;
    return 0;
}

int jctx_get_u32(const struct jctx *c, const cJSON *o, const char *key, const char *path,
                 uint32_t lo, uint32_t hi, uint32_t *out)
{
    double d = -1;
    if (jctx_get_num(c, o, key, path, lo, hi, &d) != 0)
        return -1;
    if (d < 0)
        return 0;
    if (d != floor(d)) {
        char full[160];
        snprintf(full, sizeof full, "%s.%s", path, key);
        return jctx_fail(c, full, "expected a whole number");
    }
    *out = (uint32_t)d;
    return 0;
}

int jctx_get_bool(const struct jctx *c, const cJSON *o, const char *key, const char *path, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (v == NULL)
        return 0;
    if (!cJSON_IsBool(v)) {
        char full[160];
        snprintf(full, sizeof full, "%s%s%s", path, *path ? "." : "", key);
        return jctx_fail(c, full, "expected true or false");
    }
    *out = cJSON_IsTrue(v);
    return 0;
}

int jctx_get_str(const struct jctx *c, const cJSON *o, const char *key, const char *path, char *out,
                 size_t outlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (v == NULL)
        return 0;
    char full[160];
    snprintf(full, sizeof full, "%s%s%s", path, *path ? "." : "", key);
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= outlen)
        return jctx_fail(c, full, "expected a string of at most %zu bytes", outlen - 1);
    snprintf(out, outlen, "%s", v->valuestring);
    return 0;
}

/* [lo, hi] or a single number */
int jctx_get_range(const struct jctx *c, const cJSON *o, const char *key, const char *path,
                   struct chaos_range *r, int *present)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (v == NULL)
        return 0;
    char full[160];
    snprintf(full, sizeof full, "%s.%s", path, key);
    *present = 1;
    double lo, hi;
    if (cJSON_IsNumber(v)) {
        lo = hi = v->valuedouble;
    } else if (cJSON_IsArray(v) && cJSON_GetArraySize(v) == 2 &&
               cJSON_IsNumber(cJSON_GetArrayItem(v, 0)) &&
               cJSON_IsNumber(cJSON_GetArrayItem(v, 1))) {
        lo = cJSON_GetArrayItem(v, 0)->valuedouble;
        hi = cJSON_GetArrayItem(v, 1)->valuedouble;
    } else {
        return jctx_fail(c, full, "expected a number or [low, high] (drawn uniformly, seeded)");
    }
    if (!(lo >= 0 && hi <= 100000000 && lo <= hi) || lo != floor(lo) || hi != floor(hi))
        return jctx_fail(c, full, "expected whole numbers 0 <= low <= high <= 100000000");
    r->lo = (uint32_t)lo;
    r->hi = (uint32_t)hi;
    return 0;
}
