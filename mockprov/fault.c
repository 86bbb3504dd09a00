/* Server-side fault specs. */
#include "fault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fault_init(struct fault *f)
{
    memset(f, 0, sizeof *f);
    f->retry_after = -1;
    f->should_retry = -1;
    f->error_after = -1;
    f->stall_after = -1;
    f->stall_ms = 0;
    f->truncate_after = -1;
    f->slow_first_ms = -1;
}

static int parse_int(const char *v, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    if (*v == '\0')
        return -1;
    long long x = strtoll(v, &end, 10);
    if (*end != '\0' || x < lo || x > hi)
        return -1;
    *out = x;
    return 0;
}

int fault_parse(const char *spec, struct fault *out, char *err, size_t errlen)
{
    struct fault f;
    fault_init(&f);
    if (spec == NULL || strlen(spec) >= FAULT_TEXT_MAX) {
        snprintf(err, errlen, "fault: missing or longer than %d bytes", FAULT_TEXT_MAX - 1);
        return -1;
    }
    snprintf(f.text, sizeof f.text, "%s", spec);
    char work[FAULT_TEXT_MAX];
    snprintf(work, sizeof work, "%s", spec);
    char *save = NULL;
    for (char *kv = strtok_r(work, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        while (*kv == ' ')
            kv++;
        char *eq = strchr(kv, '=');
        if (eq == NULL) {
            snprintf(err, errlen, "fault: '%s' is not key=value", kv);
            return -1;
        }
        *eq = '\0';
        const char *k = kv, *v = eq + 1;
        int64_t x = 0;
        int bad = 0;
        if (strcmp(k, "status") == 0) {
            bad = parse_int(v, 400, 599, &x);
            f.status = (int)x;
        } else if (strcmp(k, "retry-after") == 0) {
            bad = parse_int(v, 0, 86400, &f.retry_after);
        } else if (strcmp(k, "should-retry") == 0) {
            if (strcmp(v, "true") == 0)
                f.should_retry = 1;
            else if (strcmp(v, "false") == 0)
                f.should_retry = 0;
            else
                bad = 1;
        } else if (strcmp(k, "error-after") == 0) {
            bad = parse_int(v, 0, 1 << 20, &f.error_after);
        } else if (strcmp(k, "stall-after") == 0) {
            bad = parse_int(v, 0, 1 << 20, &f.stall_after);
        } else if (strcmp(k, "stall-ms") == 0) {
            bad = parse_int(v, 0, 3600000, &f.stall_ms);
        } else if (strcmp(k, "truncate-after") == 0) {
            bad = parse_int(v, 0, 1 << 20, &f.truncate_after);
        } else if (strcmp(k, "slow-first-token-ms") == 0) {
            bad = parse_int(v, 0, 3600000, &f.slow_first_ms);
        } else {
            snprintf(err, errlen,
                     "fault: unknown key '%s' (status, retry-after, should-retry, error-after, "
                     "stall-after, stall-ms, truncate-after, slow-first-token-ms)", k);
            return -1;
        }
        if (bad) {
            snprintf(err, errlen, "fault: bad value '%s' for '%s'", v, k);
            return -1;
        }
    }
    if (f.stall_after >= 0 && f.stall_ms == 0) {
        snprintf(err, errlen, "fault: 'stall-after' needs 'stall-ms' of at least 1");
        return -1;
    }
    *out = f;
    return 0;
}
