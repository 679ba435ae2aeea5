/* Minimal unit-test harness: CHECK macros count failures, each test binary
 * ends with the plain "N passed, N failed" line and a non-zero exit on any
 * failure. Header-only so each test file is one executable. */
#ifndef LH_TEST_H
#define LH_TEST_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lh/core/error.h"

static int lh_test_failures;
static int lh_test_checks;
static int lh_test_passed_tests;
static int lh_test_failed_tests;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        lh_test_checks++;                                                            \
        if (!(cond)) {                                                               \
            lh_test_failures++;                                                      \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

#define CHECK_STR(a, b)                                                                      \
    do {                                                                                     \
        const char *ca_ = (a), *cb_ = (b);                                                   \
        lh_test_checks++;                                                                    \
        if (!ca_ || !cb_ || strcmp(ca_, cb_) != 0) {                                         \
            lh_test_failures++;                                                              \
            fprintf(stderr, "%s:%d: CHECK_STR failed: %s == %s\n  got:      \"%s\"\n  expected: \"%s\"\n", \
                    __FILE__, __LINE__, #a, #b, ca_ ? ca_ : "(null)", cb_ ? cb_ : "(null)");  \
        }                                                                                    \
    } while (0)

#define CHECK_INT(a, b)                                                                     \
    do {                                                                                    \
        long long ca_ = (long long)(a), cb_ = (long long)(b);                               \
        lh_test_checks++;                                                                   \
        if (ca_ != cb_) {                                                                   \
            lh_test_failures++;                                                             \
            fprintf(stderr, "%s:%d: CHECK_INT failed: %s == %s (%lld != %lld)\n", __FILE__, \
                    __LINE__, #a, #b, ca_, cb_);                                            \
        }                                                                                   \
    } while (0)

/* Expect a call to succeed; prints the error message otherwise. */
#define CHECK_OK(expr, errp)                                                                \
    do {                                                                                    \
        lh_status co_ = (expr);                                                             \
        lh_test_checks++;                                                                   \
        if (co_ != LH_OK) {                                                                 \
            lh_test_failures++;                                                             \
            fprintf(stderr, "%s:%d: %s failed: [%s] %s\n", __FILE__, __LINE__, #expr,       \
                    lh_status_name(co_), (errp)->msg);                                      \
        }                                                                                   \
    } while (0)

/* Expect a specific failure status. */
#define CHECK_RC(expr, code)                                                                \
    do {                                                                                    \
        lh_status co_ = (expr);                                                             \
        lh_test_checks++;                                                                   \
        if (co_ != (code)) {                                                                \
            lh_test_failures++;                                                             \
            fprintf(stderr, "%s:%d: %s returned %s, expected %s\n", __FILE__, __LINE__,     \
                    #expr, lh_status_name(co_), lh_status_name(code));                      \
        }                                                                                   \
    } while (0)

#define RUN(test_fn)                                                         \
    do {                                                                     \
        int before_ = lh_test_failures;                                      \
        test_fn();                                                           \
        if (lh_test_failures == before_) {                                   \
            lh_test_passed_tests++;                                          \
        } else {                                                             \
            lh_test_failed_tests++;                                          \
            fprintf(stderr, "FAILED: %s\n", #test_fn);                       \
        }                                                                    \
    } while (0)

static inline int lh_test_report(void)
{
    printf("%d passed, %d failed\n", lh_test_passed_tests, lh_test_failed_tests);
    return lh_test_failed_tests ? 1 : 0;
}

static int lh_test_rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(path);
}

/* Remove a directory tree (test cleanup). */
static inline void lh_test_rmtree(const char *dir)
{
    nftw(dir, lh_test_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh temp directory; caller frees the string and removes the tree. */
static inline char *lh_test_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/lh-test-XXXXXX", base && *base ? base : "/tmp");
    char *dir = mkdtemp(tmpl);
    if (!dir) {
        perror("mkdtemp");
        exit(2);
    }
    return strdup(dir);
}

#endif
