/* Shared libraries loaded on first use. The PostgreSQL journal (libpq) and
 * S3 storage (libcurl) bring dozens of libraries whose loading and
 * constructors cost every process a few milliseconds; a command that uses
 * neither (a lookup, a tag read) does not pay for them. */
#ifndef LH_CORE_DYNLIB_H
#define LH_CORE_DYNLIB_H

#include <stddef.h>

#include "lh/core/error.h"

/* Open soname (kept open for the life of the process) and resolve
 * names[0..n) into fns[0..n). what names the feature for the error, e.g.
 * "the PostgreSQL journal"; LH_ERR_UNSUPPORTED when the library or a symbol
 * is missing. Not thread-safe: callers load once (pthread_once). */
lh_status lh_dynlib_load(const char *soname, const char *what, const char *const *names,
                         void **fns, size_t n, lh_error *err);

#endif
