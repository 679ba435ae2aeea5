/* libsqlite3 loaded on first use (libsqlite_dyn.h). */
#include "libsqlite_dyn.h"

#include "lh/core/dynlib.h"

lh_libsqlite_api lh_libsqlite;

static const char *const NAMES[] = {
#define LH_NAME(f) #f,
    LH_LIBSQLITE_FUNCS(LH_NAME)
#undef LH_NAME
};
enum { N = sizeof NAMES / sizeof *NAMES };

lh_status lh_libsqlite_load(lh_error *err)
{
    static lh_dynlib_once once = LH_DYNLIB_ONCE_INIT;
    return lh_dynlib_load_once(&once, "libsqlite3.so.0", "the SQLite journal and `statements sql`", NAMES, N,
                               &lh_libsqlite, sizeof lh_libsqlite, NULL, err);
}
