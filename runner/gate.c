/* k6 threshold expressions: AGG OP NUMBER, AGG one of p(N) avg min max med count rate value. */
#include "gate.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *skip(const char *p)
{
    while (*p == ' ')
        p++;
    return p;
}

int gate_parse(const char *metric, const char *expr, struct gate *g, char *err, size_t errlen)
{
    struct gate t;
    memset(&t, 0, sizeof t);
    snprintf(t.metric, sizeof t.metric, "%s", metric);
    snprintf(t.expr, sizeof t.expr, "%s", expr);
    const char *p = skip(expr);
    static const struct {
        const char *name;
        enum gate_agg agg;
    } aggs[] = {{"avg", GATE_AVG},     {"min", GATE_MIN},   {"max", GATE_MAX},
                {"med", GATE_MED},     {"count", GATE_COUNT}, {"rate", GATE_RATE},
                {"value", GATE_VALUE}};
    if (strncmp(p, "p(", 2) == 0) {
        char *end;
        t.agg = GATE_P;
        t.p = strtod(p + 2, &end);
        if (end == p + 2 || *end != ')' || !(t.p >= 0 && t.p <= 100)) {
            snprintf(err, errlen, "'%s': expected p(N) with N from 0 to 100", expr);
            return -1;
        }
        p = end + 1;
    } else {
        size_t i = 0;
        for (; i < sizeof aggs / sizeof aggs[0]; i++) {
            size_t l = strlen(aggs[i].name);
            if (strncmp(p, aggs[i].name, l) == 0 && !isalnum((unsigned char)p[l])) {
                t.agg = aggs[i].agg;
                p += l;
                break;
            }
        }
        if (i == sizeof aggs / sizeof aggs[0]) {
            snprintf(err, errlen, "'%s': expected an aggregation: p(N), avg, min, max, med, "
                                  "count, rate or value", expr);
            return -1;
        }
    }
    p = skip(p);
    static const struct {
        const char *text;
        enum gate_op op;
    } ops[] = {{"<=", GATE_LE}, {">=", GATE_GE}, {"==", GATE_EQ},
               {"!=", GATE_NE}, {"<", GATE_LT},  {">", GATE_GT}};
    size_t i = 0;
    for (; i < sizeof ops / sizeof ops[0]; i++) {
        size_t l = strlen(ops[i].text);
        if (strncmp(p, ops[i].text, l) == 0) {
            t.op = ops[i].op;
            p += l;
            break;
        }
    }
    if (i == sizeof ops / sizeof ops[0]) {
        snprintf(err, errlen, "'%s': expected an operator: <, <=, >, >=, ==, !=", expr);
        return -1;
    }
    p = skip(p);
    char *end;
    t.threshold = strtod(p, &end);
    if (end == p || *skip(end) != '\0' || !isfinite(t.threshold)) {
        snprintf(err, errlen, "'%s': expected a number after the operator", expr);
        return -1;
    }
    *g = t;
    return 0;
}

double gate_observe(const struct gate *g, struct stats *s, double value)
{
    switch (g->agg) {
    case GATE_P:
        return stats_pct(s, g->p);
    case GATE_AVG:
        return stats_avg(s);
    case GATE_MIN:
        return stats_min(s);
    case GATE_MAX:
        return stats_max(s);
    case GATE_MED:
        return stats_pct(s, 50);
    case GATE_COUNT:
        return stats_count(s) ? (double)stats_count(s) : NAN;
    case GATE_RATE:
        return stats_rate(s);
    case GATE_VALUE:
        return value;
    }
    return NAN;
}

int gate_check(const struct gate *g, double v)
{
    if (isnan(v))
        return 0;
    switch (g->op) {
    case GATE_LT:
        return v < g->threshold;
    case GATE_LE:
        return v <= g->threshold;
    case GATE_GT:
        return v > g->threshold;
    case GATE_GE:
        return v >= g->threshold;
    case GATE_EQ:
        return v == g->threshold;
    case GATE_NE:
        return v != g->threshold;
    }
    return 0;
}

const char *gate_op_text(enum gate_op op)
{
    static const char *const t[] = {"<", "<=", ">", ">=", "==", "!="};
    return (unsigned)op < 6 ? t[op] : "?";
}
