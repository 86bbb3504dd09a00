/* A tiny test harness: cases named <noun>_should_<behaviour>, one PASS/FAIL/SKIP line each, a
 * failed check prints file:line and the expression. */
#ifndef TG_CHECK_H
#define TG_CHECK_H

#include <stdint.h>
#include <stdio.h>

extern int check_failed;

#define CHECK(expr)                                                                          \
    do {                                                                                     \
        if (!(expr)) {                                                                       \
            fprintf(stderr, "  %s:%d: CHECK(%s)\n", __FILE__, __LINE__, #expr);            \
            check_failed = 1;                                                                \
            return;                                                                          \
        }                                                                                    \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                   \
    do {                                                                                     \
        long long va_ = (long long)(a), vb_ = (long long)(b);                                \
        if (va_ != vb_) {                                                                    \
            fprintf(stderr, "  %s:%d: %s == %s: %lld != %lld\n", __FILE__, __LINE__, #a, #b, \
                    va_, vb_);                                                               \
            check_failed = 1;                                                                \
            return;                                                                          \
        }                                                                                    \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                                   \
    do {                                                                                     \
        const char *sa_ = (a), *sb_ = (b);                                                   \
        if (sa_ == NULL || sb_ == NULL || strcmp(sa_, sb_) != 0) {                           \
            fprintf(stderr, "  %s:%d: %s == %s: \"%s\" != \"%s\"\n", __FILE__, __LINE__, #a, \
                    #b, sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");                         \
            check_failed = 1;                                                                \
            return;                                                                          \
        }                                                                                    \
    } while (0)

/* Under valgrind (scripts/run-tests.sh with MEMCHECK=1, which also wraps every program a test
 * starts) code runs 20 to 50 times slower, and on a loaded machine a token period or a timer is
 * no bound on anything. An assertion about elapsed time, or about one event beating another on
 * the clock (a close before the next token 100 ms later), is then not enforced: the case runs
 * to its end and every other check still applies, but it ends as SKIP naming the assertion, so
 * it counts as skipped and never as passed. In the normal run it is a CHECK. */
#define CHECK_TIMING(expr)                                                                   \
    do {                                                                                     \
        if (check_under_valgrind())                                                          \
            check_timing_not_enforced(#expr, __FILE__, __LINE__, (expr) != 0);               \
        else                                                                                 \
            CHECK(expr);                                                                     \
    } while (0)

/* A case that is about timing from end to end: under valgrind it is not run, and its line says
 * SKIP with 'reason'. */
#define SKIP_UNDER_VALGRIND(reason)                                                          \
    do {                                                                                     \
        if (check_under_valgrind()) {                                                        \
            check_skip("under valgrind: " reason);                                           \
            return;                                                                          \
        }                                                                                    \
    } while (0)

/* 1 when the suite runs under valgrind: $MEMCHECK is 1 or $TAILGATE_WRAP names valgrind. */
int check_under_valgrind(void);
/* Ends the running case as SKIP with 'reason' on its line (unless a check failed: FAIL wins).
 * Copies 'reason' (the first one of a case is kept). */
void check_skip(const char *reason);
/* What CHECK_TIMING does under valgrind: remembers the first assertion it did not enforce. */
void check_timing_not_enforced(const char *expr, const char *file, int line, int held);

typedef void (*check_fn)(void);

struct check_case {
    const char *name;
    check_fn fn;
};

#define CASE(fn) {#fn, fn}

/* Runs the cases (or only those named in argv), prints PASS/FAIL lines; returns the exit code. */
int check_run(const struct check_case *cases, int n, int argc, char **argv);

#endif
