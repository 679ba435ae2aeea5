/* libpq loaded on first use (libpq_dyn.h). */
#include "libpq_dyn.h"

#include <string.h>

#include "lh/core/dynlib.h"

lh_libpq_api lh_libpq;

static const char *const NAMES[] = {
#define LH_NAME(f) #f,
    LH_LIBPQ_FUNCS(LH_NAME)
#undef LH_NAME
};
enum { N = sizeof NAMES / sizeof *NAMES };

static lh_status loaded(void *const *fns, lh_error *err)
{
    (void)err;
    size_t i = 0;
#define LH_SET(f) memcpy(&lh_libpq.p_##f, &fns[i++], sizeof fns[0]);
    LH_LIBPQ_FUNCS(LH_SET)
#undef LH_SET
    return LH_OK;
}

lh_status lh_libpq_load(lh_error *err)
{
    static lh_dynlib_once once = LH_DYNLIB_ONCE_INIT;
    static void *fns[N];
    return lh_dynlib_load_once(&once, "libpq.so.5", "the PostgreSQL journal", NAMES, fns, N,
                               loaded, err);
}
