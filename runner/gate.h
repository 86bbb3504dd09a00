/* Release gates in k6's threshold grammar: "p(95)<=16", "max<=64", "rate>=1", "value<=1.1".
 * A gate with no samples fails: a gate that measured nothing proves nothing. */
#ifndef RUNNER_GATE_H
#define RUNNER_GATE_H

#include <stddef.h>

#include "stats.h"

enum gate_agg {
    GATE_P,     /* p(N) */
    GATE_AVG,
    GATE_MIN,
    GATE_MAX,
    GATE_MED,
    GATE_COUNT,
    GATE_RATE,
    GATE_VALUE, /* a scenario-level scalar (ptdr, wasted cost) */
};

enum gate_op { GATE_LT, GATE_LE, GATE_GT, GATE_GE, GATE_EQ, GATE_NE };

struct gate {
    char metric[48];
    char expr[64]; /* as written */
    enum gate_agg agg;
    double p; /* for GATE_P */
    enum gate_op op;
    double threshold;
};

/* Parses one expression for 'metric'. Returns 0, or -1 with err saying what was expected. */
int gate_parse(const char *metric, const char *expr, struct gate *g, char *err, size_t errlen);

/* The aggregate the gate reads; NAN when there are no samples. For GATE_VALUE, 'value' is used
 * and 's' ignored. */
double gate_observe(const struct gate *g, struct stats *s, double value);

/* 1 pass, 0 fail (NAN fails). */
int gate_check(const struct gate *g, double observed);

const char *gate_op_text(enum gate_op op);

#endif
