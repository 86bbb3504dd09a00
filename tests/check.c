/* The test harness's runner. */
#include "check.h"

#include <string.h>

int check_failed;

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
        cases[i].fn();
        printf("%s %s\n", check_failed ? "FAIL" : "PASS", cases[i].name);
        fflush(stdout);
        failed += check_failed;
    }
    return failed ? 1 : 0;
}
