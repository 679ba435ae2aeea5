/* libpq loaded on first use (libpq_dyn.h). */
#include "libpq_dyn.h"

#include "lh/core/dynlib.h"

lh_libpq_api lh_libpq;

static const char *const NAMES[] = {
#define LH_NAME(f) #f,
    LH_LIBPQ_FUNCS(LH_NAME)
#undef LH_NAME
};
enum { N = sizeof NAMES / sizeof *NAMES };

lh_status lh_libpq_load(lh_error *err)
{
    static lh_dynlib_once once = LH_DYNLIB_ONCE_INIT;
    return lh_dynlib_load_once(&once, "libpq.so.5", "the PostgreSQL journal", NAMES, N, &lh_libpq,
                               sizeof lh_libpq, NULL, err);
}
