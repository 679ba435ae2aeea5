/* Shared libraries loaded on first use. The PostgreSQL journal (libpq) and
 * S3 storage (libcurl) bring dozens of libraries whose loading and
 * constructors cost every process a few milliseconds, the SQLite journal
 * (libsqlite3) and the snappy and brotli codecs a fraction of one; a
 * command that uses none of them (a lookup, a tag read) does not pay. */
#ifndef LH_CORE_DYNLIB_H
#define LH_CORE_DYNLIB_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "lh/core/error.h"

/* Open soname (kept open for the life of the process) and resolve
 * names[0..n) into api: a struct of exactly n function pointers declared in
 * the order of names (api_size is checked against that), left untouched
 * unless every symbol resolves. what names the feature for the error, e.g.
 * "the PostgreSQL journal"; LH_ERR_UNSUPPORTED when the library or a symbol
 * is missing. Not thread-safe: lh_dynlib_load_once serializes it. */
lh_status lh_dynlib_load(const char *soname, const char *what, const char *const *names,
                         size_t n, void *api, size_t api_size, lh_error *err);

/* A library loaded once per process: the first lh_dynlib_load_once loads
 * it and runs loaded (NULL: nothing; it may fail too) under a lock; every
 * call returns that first outcome. */
typedef struct lh_dynlib_once {
    pthread_mutex_t mu;
    bool tried;
    lh_status rc;
    lh_error err;
} lh_dynlib_once;
#define LH_DYNLIB_ONCE_INIT {PTHREAD_MUTEX_INITIALIZER, false, LH_OK, {0}}

lh_status lh_dynlib_load_once(lh_dynlib_once *once, const char *soname, const char *what,
                              const char *const *names, size_t n, void *api, size_t api_size,
                              lh_status (*loaded)(lh_error *err), lh_error *err);

#endif
