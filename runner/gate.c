/* k6 thresholds: a metric key with optional tags, NAME{key:value,...}, and an expression
 * AGG OP NUMBER: AGG one of p(N) avg min max med count rate value, OP one of < <= > >= == ===
 * !=, NUMBER decimal (k6's grammar, metrics/thresholds_parser.go, with its ParseFloat's sign and
 * exponent). Everything else is named as unsupported, with what is. */
#include "gate.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUPPORTED_AGGS "p(N), avg, min, max, med, count, rate or value"
#define SUPPORTED_OPS "<, <=, >, >=, ==, === or !="
#define SUPPORTED_TAGS "action and kind"

static const char *skip(const char *p)
{
    while (*p == ' ')
        p++;
    return p;
}

/* [start, end) without blanks at either end */
static void trim(const char **start, const char **end)
{
    while (*start < *end && isspace((unsigned char)**start))
        (*start)++;
    while (*end > *start && isspace((unsigned char)(*end)[-1]))
        (*end)--;
}

static int parse_tag(const char *key, const char *s, const char *e, struct gate *g, char *err,
                     size_t errlen)
{
    trim(&s, &e);
    const char *colon = memchr(s, ':', (size_t)(e - s));
    if (colon == NULL) {
        snprintf(err, errlen, "'%s': expected tag:value in the braces, e.g. "
                              "tail_tokens{action:tab_close}", key);
        return -1;
    }
    const char *ks = s, *ke = colon, *vs = colon + 1, *ve = e;
    trim(&ks, &ke);
    trim(&vs, &ve);
    /* k6 drops quotes around a value: {action:"tab_close"} is {action:tab_close} */
    if (ve - vs >= 2 && (*vs == '"' || *vs == '\'') && ve[-1] == *vs) {
        vs++;
        ve--;
    }
    size_t kl = (size_t)(ke - ks), vl = (size_t)(ve - vs);
    enum gate_tag_key k;
    if (kl == 6 && memcmp(ks, "action", 6) == 0) {
        k = GATE_TAG_ACTION;
    } else if (kl == 4 && memcmp(ks, "kind", 4) == 0) {
        k = GATE_TAG_KIND;
    } else {
        snprintf(err, errlen, "'%s': unsupported tag '%.*s'; a request carries the tags "
                              SUPPORTED_TAGS " (its user's), e.g. tail_tokens{action:tab_close}",
                 key, (int)(kl > 40 ? 40 : kl), ks);
        return -1;
    }
    for (size_t i = 0; i < g->ntags; i++)
        if (g->tags[i].key == k) {
            snprintf(err, errlen, "'%s': tag '%s' given twice", key, gate_tag_key_text(k));
            return -1;
        }
    if (vl == 0 || vl >= GATE_MAX_TAG_VALUE) {
        snprintf(err, errlen, "'%s': tag '%s' needs a value of 1 to %d bytes", key,
                 gate_tag_key_text(k), GATE_MAX_TAG_VALUE - 1);
        return -1;
    }
    for (const char *c = vs; c < ve; c++)
        if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-') {
            snprintf(err, errlen, "'%s': tag '%s': a value is letters, digits, '_' or '-' (an "
                                  "action or a user's kind)", key, gate_tag_key_text(k));
            return -1;
        }
    struct gate_tag *t = &g->tags[g->ntags++];
    t->key = k;
    memcpy(t->value, vs, vl);
    t->value[vl] = '\0';
    return 0;
}

int gate_parse_metric(const char *key, struct gate *g, char *err, size_t errlen)
{
    size_t len = strlen(key);
    if (len >= sizeof g->metric) {
        snprintf(err, errlen, "'%.40s...': a metric key of at most %zu bytes", key,
                 sizeof g->metric - 1);
        return -1;
    }
    snprintf(g->metric, sizeof g->metric, "%s", key);
    g->ntags = 0;
    const char *open = strchr(key, '{'), *close = strrchr(key, '}');
    if (open == NULL && close == NULL) {
        if (len == 0 || len >= sizeof g->base) {
            snprintf(err, errlen, "'%s': expected a metric name", key);
            return -1;
        }
        snprintf(g->base, sizeof g->base, "%s", key);
        return 0;
    }
    if (open == NULL || close == NULL || close < open) {
        snprintf(err, errlen, "'%s': unmatched '%c'; a sub-metric reads "
                              "metric{tag:value}, e.g. tail_tokens{action:tab_close}",
                 key, open == NULL || (close != NULL && close < open) ? '}' : '{');
        return -1;
    }
    if (close[1] != '\0') {
        snprintf(err, errlen, "'%s': nothing may follow the '}' of a sub-metric", key);
        return -1;
    }
    size_t nl = (size_t)(open - key);
    if (nl == 0 || nl >= sizeof g->base) {
        snprintf(err, errlen, "'%s': expected a metric name before '{'", key);
        return -1;
    }
    memcpy(g->base, key, nl);
    g->base[nl] = '\0';
    if (strchr(g->base, '}') != NULL) {
        snprintf(err, errlen, "'%s': a '}' before the '{'", key);
        return -1;
    }
    const char *s = open + 1;
    if (strchr(s, '{') != NULL && strchr(s, '{') < close) {
        snprintf(err, errlen, "'%s': a '{' inside the tags", key);
        return -1;
    }
    const char *t = s, *u = close;
    trim(&t, &u);
    if (t == u) {
        snprintf(err, errlen, "'%s': no tags in the braces; sub-metrics take " SUPPORTED_TAGS
                              ", e.g. tail_tokens{action:tab_close}", key);
        return -1;
    }
    while (s <= close) {
        const char *comma = memchr(s, ',', (size_t)(close - s));
        const char *e = comma ? comma : close;
        if (g->ntags == GATE_MAX_TAGS) {
            snprintf(err, errlen, "'%s': more tags than the %d a request has (" SUPPORTED_TAGS
                                  ")", key, GATE_MAX_TAGS);
            return -1;
        }
        if (parse_tag(key, s, e, g, err, errlen) != 0)
            return -1;
        s = e + 1;
    }
    return 0;
}

/* k6's number: [+-] digits [. digits] | [+-] . digits, then [eE] [+-] digits; its length, or 0 */
static size_t number_len(const char *p)
{
    const char *q = p;
    if (*q == '+' || *q == '-')
        q++;
    const char *d = q;
    while (isdigit((unsigned char)*q))
        q++;
    size_t whole = (size_t)(q - d), frac = 0;
    if (*q == '.') {
        q++;
        const char *f = q;
        while (isdigit((unsigned char)*q))
            q++;
        frac = (size_t)(q - f);
    }
    if (whole == 0 && frac == 0)
        return 0;
    if (*q == 'e' || *q == 'E') {
        const char *x = q + 1;
        if (*x == '+' || *x == '-')
            x++;
        if (isdigit((unsigned char)*x)) {
            while (isdigit((unsigned char)*x))
                x++;
            q = x;
        }
    }
    return (size_t)(q - p);
}

static int parse_agg(const char *expr, const char **pp, struct gate *t, char *err, size_t errlen)
{
    static const struct {
        const char *name;
        enum gate_agg agg;
    } aggs[] = {{"avg", GATE_AVG},     {"min", GATE_MIN},     {"max", GATE_MAX},
                {"med", GATE_MED},     {"count", GATE_COUNT}, {"rate", GATE_RATE},
                {"value", GATE_VALUE}};
    const char *p = *pp;
    if (strncmp(p, "p(", 2) == 0) {
        t->agg = GATE_P;
        size_t n = number_len(p + 2);
        char *end;
        t->p = n ? strtod(p + 2, &end) : NAN;
        if (n == 0 || p[2] == '+' || p[2 + n] != ')' || !(t->p >= 0 && t->p <= 100)) {
            snprintf(err, errlen, "'%s': expected p(N) with N a number from 0 to 100, e.g. "
                                  "p(95) or p(99.9)", expr);
            return -1;
        }
        *pp = p + 2 + n + 1;
        return 0;
    }
    size_t wl = 0;
    while (isalnum((unsigned char)p[wl]) || p[wl] == '_')
        wl++;
    for (size_t i = 0; i < sizeof aggs / sizeof aggs[0]; i++)
        if (wl == strlen(aggs[i].name) && strncmp(p, aggs[i].name, wl) == 0) {
            t->agg = aggs[i].agg;
            *pp = p + wl;
            return 0;
        }
    if (wl >= 2 && p[0] == 'p' && isdigit((unsigned char)p[1]) && number_len(p + 1) == wl - 1) {
        snprintf(err, errlen, "'%s': unsupported aggregation '%.*s'; k6 writes a percentile "
                              "p(%.*s); supported: " SUPPORTED_AGGS, expr, (int)wl, p,
                 (int)(wl - 1), p + 1);
        return -1;
    }
    if (wl > 0)
        snprintf(err, errlen, "'%s': unsupported aggregation '%.*s'; supported: " SUPPORTED_AGGS,
                 expr, (int)(wl > 24 ? 24 : wl), p);
    else
        snprintf(err, errlen, "'%s': expected an aggregation first: " SUPPORTED_AGGS, expr);
    return -1;
}

static int parse_op(const char *expr, const char **pp, struct gate *t, char *err, size_t errlen)
{
    static const struct {
        const char *text;
        enum gate_op op;
    } ops[] = {{"<", GATE_LT},   {"<=", GATE_LE},  {">", GATE_GT}, {">=", GATE_GE},
               {"==", GATE_EQ},  {"===", GATE_EQ}, {"!=", GATE_NE}};
    const char *p = *pp;
    size_t n = strspn(p, "<>=!");
    for (size_t i = 0; n && i < sizeof ops / sizeof ops[0]; i++)
        if (n == strlen(ops[i].text) && strncmp(p, ops[i].text, n) == 0) {
            t->op = ops[i].op;
            *pp = p + n;
            return 0;
        }
    if (n > 0)
        snprintf(err, errlen, "'%s': unsupported operator '%.*s'; supported: " SUPPORTED_OPS,
                 expr, (int)(n > 8 ? 8 : n), p);
    else
        snprintf(err, errlen, "'%s': expected an operator after the aggregation: "
                              SUPPORTED_OPS, expr);
    return -1;
}

int gate_parse(const char *metric, const char *expr, struct gate *g, char *err, size_t errlen)
{
    struct gate t;
    memset(&t, 0, sizeof t);
    if (gate_parse_metric(metric, &t, err, errlen) != 0)
        return -1;
    if (strlen(expr) >= sizeof t.expr) {
        snprintf(err, errlen, "'%.40s...': an expression of at most %zu bytes", expr,
                 sizeof t.expr - 1);
        return -1;
    }
    snprintf(t.expr, sizeof t.expr, "%s", expr);
    const char *p = skip(expr);
    if (parse_agg(expr, &p, &t, err, errlen) != 0)
        return -1;
    p = skip(p);
    if (parse_op(expr, &p, &t, err, errlen) != 0)
        return -1;
    p = skip(p);
    size_t n = number_len(p);
    if (n == 0) {
        snprintf(err, errlen, "'%s': expected a decimal number after the operator, e.g. 8, "
                              "0.95, -0.5 or 2.5e3", expr);
        return -1;
    }
    t.threshold = strtod(p, NULL);
    if (!isfinite(t.threshold)) {
        snprintf(err, errlen, "'%s': the number is out of range", expr);
        return -1;
    }
    if (*skip(p + n) != '\0') {
        snprintf(err, errlen, "'%s': unexpected '%.16s' after the number; an expression is "
                              "aggregation operator number, e.g. p(95)<=8", expr, skip(p + n));
        return -1;
    }
    *g = t;
    return 0;
}

int gate_check_type(const struct gate *g, enum gate_type type, char *err, size_t errlen)
{
    char agg[32];
    if (g->agg == GATE_P)
        snprintf(agg, sizeof agg, "p(%g)", g->p);
    else
        snprintf(agg, sizeof agg, "%s", gate_agg_text(g->agg));
    switch (type) {
    case GATE_TYPE_GAUGE:
        if (g->agg == GATE_VALUE)
            return 0;
        snprintf(err, errlen, "'%s' is one number per scenario: gauges take 'value', not '%s', "
                              "e.g. \"value<=1.1\"", g->base, agg);
        return -1;
    case GATE_TYPE_RATE:
        if (g->agg == GATE_RATE)
            return 0;
        snprintf(err, errlen, "'%s' is 1 or 0 per request: rate metrics take 'rate' (the share "
                              "of 1s), not '%s', e.g. \"rate>=1\"", g->base, agg);
        return -1;
    case GATE_TYPE_TREND:
        if (g->agg != GATE_RATE && g->agg != GATE_VALUE)
            return 0;
        snprintf(err, errlen, "'%s' has a sample per request: trends take p(N), avg, min, max, "
                              "med or count, not '%s'", g->base, agg);
        return -1;
    }
    snprintf(err, errlen, "unknown metric type");
    return -1;
}

int gate_parse_duration(const char *text, uint64_t *ns, char *err, size_t errlen)
{
    static const struct {
        const char *unit;
        double ns;
    } units[] = {{"ns", 1},     {"us", 1e3},     {"\xc2\xb5s", 1e3}, {"ms", 1e6},
                 {"s", 1e9},    {"m", 60e9},     {"h", 3600e9},      {"d", 86400e9}};
    const char *p = text;
    double total = 0;
    if (*p == '\0')
        goto bad;
    while (*p) {
        const char *d = p;
        while (isdigit((unsigned char)*p) || *p == '.')
            p++;
        char *end;
        double v = p > d ? strtod(d, &end) : NAN;
        if (p == d || end != p || isnan(v))
            goto bad;
        size_t ul = 0;
        while (p[ul] && !isdigit((unsigned char)p[ul]) && p[ul] != '.')
            ul++;
        size_t i = 0;
        for (; i < sizeof units / sizeof units[0]; i++)
            if (ul == strlen(units[i].unit) && strncmp(p, units[i].unit, ul) == 0)
                break;
        if (i == sizeof units / sizeof units[0])
            goto bad;
        total += v * units[i].ns;
        p += ul;
    }
    if (!(total <= 365 * 86400e9)) {
        snprintf(err, errlen, "'%s': at most 365d", text);
        return -1;
    }
    *ns = (uint64_t)llround(total);
    return 0;
bad:
    snprintf(err, errlen, "'%.40s': expected a duration, numbers each with a unit (d, h, m, s, "
                          "ms, us, ns), e.g. \"10s\", \"1m30s\" or \"500ms\"", text);
    return -1;
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

const char *gate_agg_text(enum gate_agg agg)
{
    static const char *const t[] = {"p", "avg", "min", "max", "med", "count", "rate", "value"};
    return (unsigned)agg < 8 ? t[agg] : "?";
}

const char *gate_tag_key_text(enum gate_tag_key key)
{
    return key == GATE_TAG_ACTION ? "action" : key == GATE_TAG_KIND ? "kind" : "?";
}

const char *gate_type_text(enum gate_type type)
{
    static const char *const t[] = {"trend", "rate", "gauge"};
    return (unsigned)type < 3 ? t[type] : "?";
}
