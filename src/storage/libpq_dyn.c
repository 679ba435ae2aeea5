/* libpq loaded on first use (libpq_dyn.h). */
#include "libpq_dyn.h"

#include <pthread.h>
#include <string.h>

#include "lh/core/dynlib.h"

lh_libpq_api lh_libpq;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static lh_status load_rc;
static lh_error load_err;

static void load(void)
{
    static const char *const names[] = {
#define LH_NAME(f) #f,
        LH_LIBPQ_FUNCS(LH_NAME)
#undef LH_NAME
    };
    enum { N = sizeof names / sizeof *names };
    void *fns[N];
    load_rc = lh_dynlib_load("libpq.so.5", "the PostgreSQL journal", names, fns, N, &load_err);
    if (load_rc != LH_OK) return;
    size_t i = 0;
#define LH_SET(f) memcpy(&lh_libpq.p_##f, &fns[i++], sizeof fns[0]);
    LH_LIBPQ_FUNCS(LH_SET)
#undef LH_SET
}

lh_status lh_libpq_load(lh_error *err)
{
    pthread_once(&once, load);
    if (load_rc != LH_OK) *err = load_err;
    return load_rc;
}
