/* The test harness's runner. */
#include "check.h"

#include <stdlib.h>
#include <string.h>

int check_failed;

/* the running case's SKIP reason, or empty; one case at a time, so one buffer */
static char skip_reason[512];

int check_under_valgrind(void)
{
    const char *mc = getenv("MEMCHECK");
    const char *wrap = getenv("TAILGATE_WRAP");
    return (mc && strcmp(mc, "1") == 0) || (wrap && strstr(wrap, "valgrind") != NULL);
}

void check_skip(const char *reason)
{
    if (skip_reason[0] == '\0')
        snprintf(skip_reason, sizeof skip_reason, "%s", reason);
}

void check_timing_not_enforced(const char *expr, const char *file, int line, int held)
{
    char reason[sizeof skip_reason];
    snprintf(reason, sizeof reason, "under valgrind: timing not enforced: %s (%s:%d, %s)", expr,
             file, line, held ? "held this time" : "did not hold");
    check_skip(reason);
}

int check_run(const struct check_case *cases, int n, int argc, char **argv)
{
    int failed = 0;
    for (int i = 0; i < n; i++) {
        int selected = argc < 2;
        for (int a = 1; a < argc; a++)
            selected |= strcmp(argv[a], cases[i].name) == 0;
        if (!selected)
            continue;
        check_failed = 0;
        skip_reason[0] = '\0';
        cases[i].fn();
        if (check_failed)
            printf("FAIL %s\n", cases[i].name);
        else if (skip_reason[0] != '\0')
            printf("SKIP %s: %s\n", cases[i].name, skip_reason);
        else
            printf("PASS %s\n", cases[i].name);
        fflush(stdout);
        failed += check_failed;
    }
    return failed ? 1 : 0;
}
