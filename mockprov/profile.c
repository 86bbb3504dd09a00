/* Vendor profile presets and schedules. */
#include "profile.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Timing defaults shared by the presets: a mid-size hosted model. */
#define P_TTFT 200
#define P_TPS 50.0
#define P_JIT 0.1
#define P_LEN 256

/* Reasoning before a cancel (the last field): the "zero" presets bill none of it, as they bill
 * no output; the "emitted" ones bill the reasoning done before the cancel, like output generated
 * so far (the vendor did that work whether or not a token was shown); the ones that pay for what
 * they generated bill all of it, the tail after the cancel included. */
static const struct profile presets[] = {
    {"vendor-a-pre", "vendor A before its February change: stops within 1 token, "
                     "bills nothing for a cancelled stream, terminal usage says 0",
     PROFILE_STOP, 1, 0, PROFILE_BILL_ZERO, PROFILE_REPORT_USAGE, P_TTFT, P_TPS, P_JIT, P_LEN,
     2.50, 10.00, PROFILE_RBILL_ZERO, 0, 0.0, 0, 0, 0},
    {"vendor-a-post", "vendor A after the change: bills tokens emitted before the cancel, "
                      "tells it only in an x-emitted-tokens-on-cancel trailer",
     PROFILE_STOP, 1, 0, PROFILE_BILL_EMITTED, PROFILE_REPORT_TRAILER, P_TTFT, P_TPS, P_JIT,
     P_LEN, 2.50, 10.00, PROFILE_RBILL_DONE, 0, 0.0, 0, 0, 0},
    {"vendor-b-pre", "vendor B before its change (two days after A): bills nothing for a "
                     "cancelled stream, terminal usage says 0",
     PROFILE_STOP, 1, 0, PROFILE_BILL_ZERO, PROFILE_REPORT_USAGE, P_TTFT, P_TPS, P_JIT, P_LEN,
     3.00, 15.00, PROFILE_RBILL_ZERO, 0, 0.0, 0, 0, 0},
    {"vendor-b-post", "vendor B after the change: bills tokens emitted before the cancel, "
                      "puts the count in the final usage chunk (default)",
     PROFILE_STOP, 1, 0, PROFILE_BILL_EMITTED, PROFILE_REPORT_USAGE, P_TTFT, P_TPS, P_JIT,
     P_LEN, 3.00, 15.00, PROFILE_RBILL_DONE, 0, 0.0, 0, 0, 0},
    {"silent-emitted", "bills tokens emitted before the cancel and reports no usage on "
                       "cancel: only the invoice knows",
     PROFILE_STOP, 1, 0, PROFILE_BILL_EMITTED, PROFILE_REPORT_NONE, P_TTFT, P_TPS, P_JIT, P_LEN,
     0.27, 1.10, PROFILE_RBILL_DONE, 0, 0.0, 0, 0, 0},
    {"runaway", "ignores the disconnect, generates to the natural end and bills all of it",
     PROFILE_CONTINUE, 0, 0, PROFILE_BILL_GENERATED, PROFILE_REPORT_NONE, P_TTFT, P_TPS, P_JIT,
     P_LEN, 2.00, 8.00, PROFILE_RBILL_GENERATED, 0, 0.0, 0, 0, 0},
    {"selfhosted-abort", "self-hosted engine that aborts within one token of a disconnect; "
                         "pays for what it generated (GPU time)",
     PROFILE_STOP, 1, 0, PROFILE_BILL_GENERATED, PROFILE_REPORT_NONE, 50, 80.0, P_JIT, P_LEN,
     0.20, 0.60, PROFILE_RBILL_GENERATED, 0, 0.0, 0, 0, 0},
    {"selfhosted-lag", "self-hosted engine whose abort fires 2 s after the disconnect; pays "
                       "for what it generated",
     PROFILE_STOP, 0, 2000, PROFILE_BILL_GENERATED, PROFILE_REPORT_NONE, 50, 80.0, P_JIT,
     P_LEN, 0.20, 0.60, PROFILE_RBILL_GENERATED, 0, 0.0, 0, 0, 0},
    {"stop-at-once", "stops the moment it sees the disconnect (stop_lag_tokens 0: no token "
                     "after it), bills tokens emitted before the cancel, says so in the final "
                     "usage chunk: measures a gateway alone, with no vendor lag on top",
     PROFILE_STOP, 0, 0, PROFILE_BILL_EMITTED, PROFILE_REPORT_USAGE, P_TTFT, P_TPS, P_JIT,
     P_LEN, 3.00, 15.00, PROFILE_RBILL_DONE, 0, 0.0, 0, 0, 0},
};

#define N_PRESETS (sizeof presets / sizeof presets[0])

const struct profile *profile_find(const char *name)
{
    if (name == NULL)
        return NULL;
    /* linear scan: a handful of presets */
    for (size_t i = 0; i < N_PRESETS; i++)
        if (strcmp(presets[i].name, name) == 0)
            return &presets[i];
    return NULL;
}

size_t profile_count(void)
{
    return N_PRESETS;
}

const struct profile *profile_at(size_t i)
{
    return i < N_PRESETS ? &presets[i] : NULL;
}

const char *profile_disconnect_name(enum profile_disconnect d)
{
    return d == PROFILE_STOP ? "stop" : "continue";
}

const char *profile_bill_name(enum profile_bill b)
{
    switch (b) {
    case PROFILE_BILL_ZERO:
        return "zero";
    case PROFILE_BILL_EMITTED:
        return "emitted";
    case PROFILE_BILL_GENERATED:
        return "generated";
    }
    return "?";
}

const char *profile_report_name(enum profile_report r)
{
    switch (r) {
    case PROFILE_REPORT_USAGE:
        return "usage";
    case PROFILE_REPORT_TRAILER:
        return "trailer";
    case PROFILE_REPORT_NONE:
        return "none";
    }
    return "?";
}

uint64_t profile_billed_output(const struct profile *p, int cancelled, uint64_t emitted,
                               uint64_t generated)
{
    if (!cancelled)
        return generated;
    switch (p->bill) {
    case PROFILE_BILL_ZERO:
        return 0;
    case PROFILE_BILL_EMITTED:
        return emitted;
    case PROFILE_BILL_GENERATED:
        return generated;
    }
    return generated;
}

const char *profile_reasoning_bill_name(enum profile_reasoning_bill b)
{
    switch (b) {
    case PROFILE_RBILL_ZERO:
        return "zero";
    case PROFILE_RBILL_DONE:
        return "before_cancel";
    case PROFILE_RBILL_GENERATED:
        return "generated";
    }
    return "?";
}

uint64_t profile_billed_reasoning(const struct profile *p, int cancelled, uint64_t before,
                                  uint64_t generated)
{
    if (!cancelled)
        return generated;
    switch (p->reasoning_bill) {
    case PROFILE_RBILL_ZERO:
        return 0;
    case PROFILE_RBILL_DONE:
        return before < generated ? before : generated;
    case PROFILE_RBILL_GENERATED:
        return generated;
    }
    return generated;
}

static int parse_offset_ms(const char *s, size_t len, uint64_t *out)
{
    char num[32];
    size_t i = 0;
    while (i < len && isdigit((unsigned char)s[i]))
        i++;
    if (i == 0 || i >= sizeof num)
        return -1;
    memcpy(num, s, i);
    num[i] = '\0';
    uint64_t v = strtoull(num, NULL, 10);
    const char *unit = s + i;
    size_t ulen = len - i;
    uint64_t mul;
    if (ulen == 0 || (ulen == 1 && unit[0] == 's'))
        mul = 1000;
    else if (ulen == 2 && memcmp(unit, "ms", 2) == 0)
        mul = 1;
    else if (ulen == 1 && unit[0] == 'm')
        mul = 60000;
    else
        return -1;
    if (v > UINT64_MAX / mul / 2)
        return -1;
    *out = v * mul;
    return 0;
}

int schedule_parse(const char *spec, struct schedule *out, char *err, size_t errlen)
{
    struct schedule s;
    memset(&s, 0, sizeof s);
    if (spec == NULL || *spec == '\0') {
        snprintf(err, errlen, "schedule: empty; expected '0s:NAME[,30s:NAME2...]'");
        return -1;
    }
    const char *p = spec;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *colon = memchr(p, ':', len);
        if (colon == NULL) {
            snprintf(err, errlen, "schedule: step '%.*s' has no ':'; expected OFFSET:NAME",
                     (int)len, p);
            return -1;
        }
        if (s.n == SCHEDULE_MAX_STEPS) {
            snprintf(err, errlen, "schedule: more than %d steps", SCHEDULE_MAX_STEPS);
            return -1;
        }
        uint64_t at;
        if (parse_offset_ms(p, (size_t)(colon - p), &at) != 0) {
            snprintf(err, errlen, "schedule: bad offset '%.*s'; expected e.g. 0s, 500ms, 2m",
                     (int)(colon - p), p);
            return -1;
        }
        char name[64];
        size_t nlen = len - (size_t)(colon - p) - 1;
        if (nlen == 0 || nlen >= sizeof name) {
            snprintf(err, errlen, "schedule: bad profile name in '%.*s'", (int)len, p);
            return -1;
        }
        memcpy(name, colon + 1, nlen);
        name[nlen] = '\0';
        const struct profile *prof = profile_find(name);
        if (prof == NULL) {
            snprintf(err, errlen, "schedule: unknown profile '%s' (see 'tailgate profiles')",
                     name);
            return -1;
        }
        if (s.n == 0 && at != 0) {
            snprintf(err, errlen, "schedule: the first step must be at 0s");
            return -1;
        }
        if (s.n > 0 && at <= s.steps[s.n - 1].at_ms) {
            snprintf(err, errlen, "schedule: offsets must increase ('%.*s')", (int)len, p);
            return -1;
        }
        s.steps[s.n].at_ms = at;
        s.steps[s.n].profile = prof;
        s.n++;
        if (end == NULL)
            break;
        p = end + 1;
        if (*p == '\0') {
            snprintf(err, errlen, "schedule: trailing ','");
            return -1;
        }
    }
    *out = s;
    return 0;
}

const struct profile *schedule_at(const struct schedule *s, uint64_t elapsed_ms)
{
    const struct profile *p = s->n ? s->steps[0].profile : NULL;
    for (size_t i = 1; i < s->n; i++)
        if (elapsed_ms >= s->steps[i].at_ms)
            p = s->steps[i].profile;
    return p;
}
