/* dlopen/dlsym behind lh_status (see dynlib.h). */
#include "lh/core/dynlib.h"

#include <dlfcn.h>
#include <string.h>

lh_status lh_dynlib_load(const char *soname, const char *what, const char *const *names,
                         void **fns, size_t n, lh_error *err)
{
    void *lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *why = dlerror();
        return lh_error_set(err, LH_ERR_UNSUPPORTED, "%s needs %s, which cannot be loaded: %s",
                            what, soname, why ? why : "unknown reason");
    }
    for (size_t i = 0; i < n; i++) {
        dlerror();
        fns[i] = dlsym(lib, names[i]);
        if (!fns[i]) {
            const char *why = dlerror(); /* freed by dlclose: used first */
            lh_error_set(err, LH_ERR_UNSUPPORTED, "%s needs %s with symbol %s: %s", what, soname,
                         names[i], why ? why : "not found");
            dlclose(lib);
            memset(fns, 0, n * sizeof *fns);
            return LH_ERR_UNSUPPORTED;
        }
    }
    return LH_OK; /* lib stays open: the pointers live as long as the process */
}

lh_status lh_dynlib_load_once(lh_dynlib_once *once, const char *soname, const char *what,
                              const char *const *names, void **fns, size_t n,
                              lh_status (*loaded)(void *const *fns, lh_error *err),
                              lh_error *err)
{
    pthread_mutex_lock(&once->mu);
    if (!once->tried) {
        once->tried = true;
        once->rc = lh_dynlib_load(soname, what, names, fns, n, &once->err);
        if (once->rc == LH_OK) once->rc = loaded(fns, &once->err);
    }
    lh_status rc = once->rc;
    if (rc != LH_OK) *err = once->err;
    pthread_mutex_unlock(&once->mu);
    return rc;
}
