/* libsqlite3 loaded on first use (libsqlite_dyn.h). */
#include "libsqlite_dyn.h"

#include <string.h>

#include "lh/core/dynlib.h"

lh_libsqlite_api lh_libsqlite;

static const char *const NAMES[] = {
#define LH_NAME(f) #f,
    LH_LIBSQLITE_FUNCS(LH_NAME)
#undef LH_NAME
};
enum { N = sizeof NAMES / sizeof *NAMES };

static lh_status loaded(void *const *fns, lh_error *err)
{
    (void)err;
    size_t i = 0;
#define LH_SET(f) memcpy(&lh_libsqlite.p_##f, &fns[i++], sizeof fns[0]);
    LH_LIBSQLITE_FUNCS(LH_SET)
#undef LH_SET
    return LH_OK;
}

lh_status lh_libsqlite_load(lh_error *err)
{
    static lh_dynlib_once once = LH_DYNLIB_ONCE_INIT;
    static void *fns[N];
    return lh_dynlib_load_once(&once, "libsqlite3.so.0", "the SQLite journal", NAMES, fns, N,
                               loaded, err);
}
