/* Fuzz target: the gate grammar (runner/gate.c, k6 thresholds such as "p(95)<=16" on a metric or
 * a sub-metric "tail_tokens{action:tab_close}", and k6 durations for delayAbortEval). An input
 * with a newline is "METRIC KEY\nEXPRESSION", else the expression for tail_tokens. A parsed gate
 * printed in canonical form parses back to the same gate, its type check answers for every
 * type, judging it over samples drawn from the input neither crashes nor passes on no samples,
 * and a parsed duration printed in ns parses back to itself. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "gate.h"
#include "stats.h"

#define FUZZ_GATE_MAX_INPUT 256

static void check_err(const char *err, size_t len)
{
    FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', len) != NULL);
}

/* base{action:v,kind:v} from the parsed tags */
static void canon_key(const struct gate *g, char *out, size_t len)
{
    snprintf(out, len, "%s", g->base);
    for (size_t i = 0; i < g->ntags; i++)
        snprintf(out + strlen(out), len - strlen(out), "%s%s:%s", i ? "," : "{",
                 gate_tag_key_text(g->tags[i].key), g->tags[i].value);
    if (g->ntags)
        snprintf(out + strlen(out), len - strlen(out), "}");
}

static void check_duration(const char *text)
{
    uint64_t ns = 0, back = 0;
    char err[512];
    err[0] = '\0';
    if (gate_parse_duration(text, &ns, err, sizeof err) != 0) {
        check_err(err, sizeof err);
        return;
    }
    FUZZ_CHECK(ns <= 365ull * 86400 * 1000000000ull);
    char canon[32];
    snprintf(canon, sizeof canon, "%lluns", (unsigned long long)ns);
    FUZZ_CHECK(gate_parse_duration(canon, &back, err, sizeof err) == 0 && back == ns);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_GATE_MAX_INPUT)
        return 0;
    char in[FUZZ_GATE_MAX_INPUT + 1];
    memcpy(in, data, size);
    in[size] = '\0';
    const char *metric = "tail_tokens", *expr = in;
    char *nl = strchr(in, '\n');
    if (nl) {
        *nl = '\0';
        metric = in;
        expr = nl + 1;
    }
    check_duration(expr);
    struct gate g;
    char err[512];
    err[0] = '\0';
    if (gate_parse(metric, expr, &g, err, sizeof err) != 0) {
        check_err(err, sizeof err);
        return 0;
    }
    FUZZ_CHECK(g.agg >= GATE_P && g.agg <= GATE_VALUE);
    FUZZ_CHECK(g.op >= GATE_LT && g.op <= GATE_NE);
    FUZZ_CHECK(isfinite(g.threshold));
    FUZZ_CHECK(g.agg != GATE_P || (g.p >= 0 && g.p <= 100));
    FUZZ_CHECK(strcmp(g.metric, metric) == 0);
    FUZZ_CHECK(g.base[0] != '\0' && strchr(g.base, '{') == NULL && strchr(g.base, '}') == NULL);
    FUZZ_CHECK(g.ntags <= GATE_MAX_TAGS);
    FUZZ_CHECK(g.ntags == 0 || strchr(g.metric, '{') != NULL);
    for (size_t i = 0; i < g.ntags; i++) {
        FUZZ_CHECK(g.tags[i].key == GATE_TAG_ACTION || g.tags[i].key == GATE_TAG_KIND);
        FUZZ_CHECK(g.tags[i].value[0] != '\0');
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK(g.tags[i].key != g.tags[j].key);
    }
    FUZZ_CHECK(!g.abort_on_fail && g.delay_abort_ns == 0);

    /* canonical: the bare name, tags without blanks or quotes (never longer), AGG OP %.17g */
    char key[GATE_MAX_NAME], canon[160], a[48];
    canon_key(&g, key, sizeof key);
    if (g.agg == GATE_P)
        snprintf(a, sizeof a, "p(%.17g)", g.p);
    else
        snprintf(a, sizeof a, "%s", gate_agg_text(g.agg));
    snprintf(canon, sizeof canon, "%s%s%.17g", a, gate_op_text(g.op), g.threshold);
    struct gate back;
    FUZZ_CHECK(gate_parse(key, canon, &back, err, sizeof err) == 0);
    FUZZ_CHECK(back.agg == g.agg && back.op == g.op && back.threshold == g.threshold);
    FUZZ_CHECK(g.agg != GATE_P || back.p == g.p);
    FUZZ_CHECK(strcmp(back.base, g.base) == 0 && back.ntags == g.ntags);
    for (size_t i = 0; i < g.ntags; i++)
        FUZZ_CHECK(back.tags[i].key == g.tags[i].key &&
                   strcmp(back.tags[i].value, g.tags[i].value) == 0);

    /* every type answers: accepted, or refused with a message */
    int accepted = 0;
    for (int t = GATE_TYPE_TREND; t <= GATE_TYPE_GAUGE; t++) {
        err[0] = '\0';
        if (gate_check_type(&g, (enum gate_type)t, err, sizeof err) == 0)
            accepted++;
        else
            check_err(err, sizeof err);
    }
    FUZZ_CHECK(accepted == 1); /* each aggregation belongs to exactly one type */

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
