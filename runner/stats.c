/* Sample distributions. */
#include "stats.h"

#include <math.h>
#include <stdlib.h>

void stats_init(struct stats *s)
{
    s->v = NULL;
    s->n = s->cap = 0;
    s->sorted = 1;
    s->oom = 0;
}

void stats_cleanup(struct stats *s)
{
    free(s->v);
    stats_init(s);
}

int stats_add(struct stats *s, double x)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        if (cap > STATS_MAX_SAMPLES) {
            s->oom = 1;
            return -1;
        }
        double *tmp = realloc(s->v, cap * sizeof *tmp);
        if (tmp == NULL) {
            s->oom = 1;
            return -1;
        }
        s->v = tmp;
        s->cap = cap;
    }
    s->v[s->n++] = x;
    s->sorted = 0;
    return 0;
}

size_t stats_count(const struct stats *s)
{
    return s->n;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void sort(struct stats *s)
{
    if (!s->sorted) {
        qsort(s->v, s->n, sizeof *s->v, cmp);
        s->sorted = 1;
    }
}

double stats_pct(struct stats *s, double p)
{
    if (s->n == 0)
        return NAN;
    sort(s);
    if (p <= 0)
        return s->v[0];
    if (p >= 100)
        return s->v[s->n - 1];
    double rank = p / 100.0 * (double)(s->n - 1);
    size_t lo = (size_t)rank;
    double frac = rank - (double)lo;
    if (lo + 1 >= s->n)
        return s->v[s->n - 1];
    return s->v[lo] + frac * (s->v[lo + 1] - s->v[lo]);
}

double stats_min(struct stats *s)
{
    return stats_pct(s, 0);
}

double stats_max(struct stats *s)
{
    return stats_pct(s, 100);
}

double stats_sum(const struct stats *s)
{
    double t = 0;
    for (size_t i = 0; i < s->n; i++)
        t += s->v[i];
    return t;
}

double stats_avg(const struct stats *s)
{
    return s->n ? stats_sum(s) / (double)s->n : NAN;
}

double stats_rate(const struct stats *s)
{
    if (s->n == 0)
        return NAN;
    size_t t = 0;
    for (size_t i = 0; i < s->n; i++)
        t += s->v[i] != 0;
    return (double)t / (double)s->n;
}
