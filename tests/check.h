/* A tiny test harness: cases named <noun>_should_<behaviour>, one PASS/FAIL line each, a failed
 * check prints file:line and the expression. */
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

typedef void (*check_fn)(void);

struct check_case {
    const char *name;
    check_fn fn;
};

#define CASE(fn) {#fn, fn}

/* Runs the cases (or only those named in argv), prints PASS/FAIL lines; returns the exit code. */
int check_run(const struct check_case *cases, int n, int argc, char **argv);

#endif
