/* dlopen/dlsym behind lh_status (see dynlib.h). */
#include "lh/core/dynlib.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "lh/core/mem.h"

lh_status lh_dynlib_load(const char *soname, const char *what, const char *const *names,
                         size_t n, void *api, size_t api_size, lh_error *err)
{
    /* dlsym hands function pointers over as void * (POSIX): the api
     * members take their bytes */
    if (api_size != n * sizeof(void *))
        return lh_error_set(err, LH_ERR_INTERNAL, "%s: %zu symbols for an API of %zu bytes",
                            soname, n, api_size);
    void *lib = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *why = dlerror();
        return lh_error_set(err, LH_ERR_UNSUPPORTED, "%s needs %s, which cannot be loaded: %s",
                            what, soname, why ? why : "unknown reason");
    }
    void **fns = lh_calloc(n ? n : 1, sizeof *fns);
    for (size_t i = 0; i < n; i++) {
        dlerror();
        fns[i] = dlsym(lib, names[i]);
        if (!fns[i]) {
            const char *why = dlerror(); /* freed by dlclose: used first */
            lh_error_set(err, LH_ERR_UNSUPPORTED, "%s needs %s with symbol %s: %s", what, soname,
                         names[i], why ? why : "not found");
            dlclose(lib);
            free(fns);
            return LH_ERR_UNSUPPORTED;
        }
    }
    memcpy(api, fns, api_size);
    free(fns);
    return LH_OK; /* lib stays open: the pointers live as long as the process */
}

lh_status lh_dynlib_load_once(lh_dynlib_once *once, const char *soname, const char *what,
                              const char *const *names, size_t n, void *api, size_t api_size,
                              lh_status (*loaded)(lh_error *err), lh_error *err)
{
    pthread_mutex_lock(&once->mu);
    if (!once->tried) {
        once->tried = true;
        once->rc = lh_dynlib_load(soname, what, names, n, api, api_size, &once->err);
        if (once->rc == LH_OK && loaded) once->rc = loaded(&once->err);
    }
    lh_status rc = once->rc;
    if (rc != LH_OK) *err = once->err;
    pthread_mutex_unlock(&once->mu);
    return rc;
}
