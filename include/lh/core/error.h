/* Error object: every fallible call returns an lh_status and, on failure,
 * fills an lh_error with a human-readable message naming what and where. */
#ifndef LH_CORE_ERROR_H
#define LH_CORE_ERROR_H

#include <stdarg.h>

typedef enum lh_status {
    LH_OK = 0,
    LH_ERR_IO,          /* operating system / backend I/O failure */
    LH_ERR_NOT_FOUND,   /* file, key, table or entity does not exist */
    LH_ERR_EXISTS,      /* put-if-absent lost: the key already exists */
    LH_ERR_INVALID,     /* bad input from the caller or user */
    LH_ERR_CORRUPT,     /* stored data does not parse */
    LH_ERR_UNSUPPORTED, /* valid but not implemented (feature, codec) */
    LH_ERR_CONFLICT,    /* concurrent commit conflict that cannot be retried */
    LH_ERR_BUSY,        /* lock held by someone else after bounded retries */
    LH_ERR_NOMEM,
    LH_ERR_INTERNAL,
} lh_status;

#define LH_ERROR_MSG_MAX 1024

typedef struct lh_error {
    lh_status code;
    int sys_errno; /* errno of the failing system call, or 0 */
    char msg[LH_ERROR_MSG_MAX];
} lh_error;

/* Reset to LH_OK with an empty message. */
void lh_error_clear(lh_error *err);

/* Record a failure; returns code so callers can `return lh_error_set(...)`.
 * err may be NULL (the message is then dropped). */
lh_status lh_error_set(lh_error *err, lh_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
lh_status lh_error_vset(lh_error *err, lh_status code, const char *fmt, va_list ap);

/* Like lh_error_set, appending ": strerror(errno)" and keeping errno. */
lh_status lh_error_errno(lh_error *err, lh_status code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prepend context ("reading x.parquet: " + old message); returns err->code. */
lh_status lh_error_prefix(lh_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Append context (old message + " (more)"); returns err->code. */
lh_status lh_error_suffix(lh_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Short stable name of a status ("io", "not-found", ...). */
const char *lh_status_name(lh_status code);

/* Propagate a failing status. */
#define LH_TRY(expr)                                                           \
    do {                                                                       \
        lh_status lh_try_rc_ = (expr);                                         \
        if (lh_try_rc_ != LH_OK) return lh_try_rc_;                            \
    } while (0)

#endif
