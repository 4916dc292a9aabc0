/* check.h -- the few macros of the C tests: a failed check prints where and why, counts,
 * and the test's main returns nonzero if any check failed. */
#ifndef FASTLSTM_TEST_CHECK_H
#define FASTLSTM_TEST_CHECK_H

#include <stdio.h>

static int check_failures = 0;
static int check_count = 0;

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        check_count++;                                                                    \
        if (!(cond)) {                                                                    \
            check_failures++;                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);      \
        }                                                                                 \
    } while (0)

/* a status: expected and got, both printed on failure */
#define CHECK_RC(expr, want)                                                              \
    do {                                                                                  \
        int check_rc_ = (expr);                                                           \
        check_count++;                                                                    \
        if (check_rc_ != (want)) {                                                        \
            check_failures++;                                                             \
            fprintf(stderr, "%s:%d: %s returned %d, expected %s (%d)\n", __FILE__,        \
                    __LINE__, #expr, check_rc_, #want, (int)(want));                      \
        }                                                                                 \
    } while (0)

#define CHECK_DONE(name)                                                                  \
    (printf("%s: %d checks, %d failed\n", (name), check_count, check_failures),           \
     check_failures ? 1 : 0)

#endif
