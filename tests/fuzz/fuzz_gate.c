/* Fuzz target: the gate grammar (runner/gate.c, k6 thresholds such as "p(95)<=16"). A parsed gate
 * printed in canonical form parses back to the same gate, and judging it over samples drawn
 * from the input neither crashes nor passes on no samples. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "gate.h"
#include "stats.h"

#define FUZZ_GATE_MAX_EXPR 256

static const char *agg_text(const struct gate *g, char *buf, size_t len)
{
    static const char *const names[] = {"p", "avg", "min", "max", "med", "count", "rate", "value"};
    if (g->agg == GATE_P)
        snprintf(buf, len, "p(%.17g)", g->p);
    else
        snprintf(buf, len, "%s", names[g->agg]);
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_GATE_MAX_EXPR)
        return 0;
    char expr[FUZZ_GATE_MAX_EXPR + 1];
    memcpy(expr, data, size);
    expr[size] = '\0';
    struct gate g;
    char err[512];
    err[0] = '\0';
    if (gate_parse("tail_tokens", expr, &g, err, sizeof err) != 0) {
        FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof err) != NULL);
        return 0;
    }
    FUZZ_CHECK(g.agg >= GATE_P && g.agg <= GATE_VALUE);
    FUZZ_CHECK(g.op >= GATE_LT && g.op <= GATE_NE);
    FUZZ_CHECK(isfinite(g.threshold));
    FUZZ_CHECK(g.agg != GATE_P || (g.p >= 0 && g.p <= 100));
    FUZZ_CHECK(strcmp(g.metric, "tail_tokens") == 0);

    char canon[160], a[48];
    snprintf(canon, sizeof canon, "%s%s%.17g", agg_text(&g, a, sizeof a), gate_op_text(g.op),
             g.threshold);
    struct gate back;
    FUZZ_CHECK(gate_parse("tail_tokens", canon, &back, err, sizeof err) == 0);
    FUZZ_CHECK(back.agg == g.agg && back.op == g.op && back.threshold == g.threshold);
    FUZZ_CHECK(g.agg != GATE_P || back.p == g.p);

    /* no samples: a gate that measured nothing fails */
    struct stats s;
    stats_init(&s);
    if (g.agg != GATE_VALUE)
        FUZZ_CHECK(gate_check(&g, gate_observe(&g, &s, NAN)) == 0);
    for (size_t i = 0; i < size; i++)
        stats_add(&s, (double)(signed char)data[i]);
    double v = gate_observe(&g, &s, (double)size);
    int pass = gate_check(&g, v);
    FUZZ_CHECK(pass == 0 || pass == 1);
    FUZZ_CHECK(!isnan(v) || pass == 0);
    stats_cleanup(&s);
    return 0;
}
