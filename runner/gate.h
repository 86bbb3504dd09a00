/* Release gates in k6's threshold grammar: an expression "p(95)<=16", "max<=64", "rate>=1",
 * "value<=1.1" (k6's `<aggregation> <operator> <value>`) for a metric or a sub-metric
 * "tail_tokens{action:tab_close}", with k6's object form's abortOnFail and delayAbortEval.
 * A gate with no samples fails: a gate that measured nothing proves nothing. */
#ifndef RUNNER_GATE_H
#define RUNNER_GATE_H

#include <stddef.h>
#include <stdint.h>

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

/* === is k6's alias of ==: it parses to GATE_EQ (the expression keeps what was written) */
enum gate_op { GATE_LT, GATE_LE, GATE_GT, GATE_GE, GATE_EQ, GATE_NE };

/* k6's metric types, by what the aggregations read: a trend is a distribution of per-request
 * samples, a rate the share of per-request 0/1 samples that are 1, a gauge one number per
 * scenario. */
enum gate_type { GATE_TYPE_TREND, GATE_TYPE_RATE, GATE_TYPE_GAUGE };

/* The tags a request carries: its user entry's action and its optional kind. */
enum gate_tag_key { GATE_TAG_ACTION, GATE_TAG_KIND };

#define GATE_MAX_TAGS 2       /* one per key */
#define GATE_MAX_TAG_VALUE 32 /* bytes with the NUL */
#define GATE_MAX_NAME 96      /* the metric key as written, with its tags */

struct gate_tag {
    enum gate_tag_key key;
    char value[GATE_MAX_TAG_VALUE];
};

struct gate {
    char metric[GATE_MAX_NAME]; /* as written: "tail_tokens{action:tab_close}" */
    char base[48];              /* the metric itself: "tail_tokens" */
    struct gate_tag tags[GATE_MAX_TAGS]; /* a request counts when it has every one */
    size_t ntags;
    char expr[64]; /* as written */
    enum gate_agg agg;
    double p; /* for GATE_P */
    enum gate_op op;
    double threshold;
    int abort_on_fail;       /* object form: a failure stops the run */
    uint64_t delay_abort_ns; /* object form's delayAbortEval: no abort before this run time */
};

/* Parses a metric key, "name" or "name{key:value,...}" (k6's sub-metric syntax: pairs split at
 * ',' and ':', blanks around them and quotes around a value dropped), into g->metric (as
 * written), g->base and g->tags. The tag keys are action and kind. Returns 0, or -1 with err
 * saying what is wrong and what is supported. Does not check that the metric exists. */
int gate_parse_metric(const char *key, struct gate *g, char *err, size_t errlen);

/* Parses one expression for the metric key 'metric' (as gate_parse_metric) into a gate with no
 * abort. Returns 0, or -1 with err saying what was expected. */
int gate_parse(const char *metric, const char *expr, struct gate *g, char *err, size_t errlen);

/* 0 if g's aggregation is one the metric type takes, else -1 with err saying which it takes:
 * "rate metrics take 'rate'". Trends take avg, min, med, max, p(N) and, beyond k6, count. */
int gate_check_type(const struct gate *g, enum gate_type type, char *err, size_t errlen);

/* A k6 duration ("10s", "1m30s", "500ms", "1.5h", "2d": numbers with units d h m s ms us ns,
 * each with a unit) into ns. Returns 0, or -1 with err. */
int gate_parse_duration(const char *text, uint64_t *ns, char *err, size_t errlen);

/* The aggregate the gate reads; NAN when there are no samples. For GATE_VALUE, 'value' is used
 * and 's' ignored. */
double gate_observe(const struct gate *g, struct stats *s, double value);

/* 1 pass, 0 fail (NAN fails). */
int gate_check(const struct gate *g, double observed);

const char *gate_op_text(enum gate_op op);
/* "p" for GATE_P, else the aggregation's name. */
const char *gate_agg_text(enum gate_agg agg);
/* "action" or "kind". */
const char *gate_tag_key_text(enum gate_tag_key key);
const char *gate_type_text(enum gate_type type);

#endif
