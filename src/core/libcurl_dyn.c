/* libcurl loaded on first use (libcurl_dyn.h). */
#include "libcurl_dyn.h"

#include <pthread.h>
#include <string.h>

#include "lh/core/dynlib.h"

lh_libcurl_api lh_libcurl;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static lh_status load_rc;
static lh_error load_err;

static void load(void)
{
    static const char *const names[] = {
#define LH_NAME(f) #f,
        LH_LIBCURL_FUNCS(LH_NAME)
#undef LH_NAME
    };
    enum { N = sizeof names / sizeof *names };
    void *fns[N];
    load_rc = lh_dynlib_load("libcurl.so.4", "S3 storage", names, fns, N, &load_err);
    if (load_rc != LH_OK) return;
    size_t i = 0;
#define LH_SET(f) memcpy(&lh_libcurl.p_##f, &fns[i++], sizeof fns[0]);
    LH_LIBCURL_FUNCS(LH_SET)
#undef LH_SET
    CURLcode c = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (c != CURLE_OK)
        load_rc = lh_error_set(&load_err, LH_ERR_IO, "S3 storage: curl_global_init failed (%d)",
                               (int)c);
}

lh_status lh_libcurl_load(lh_error *err)
{
    pthread_once(&once, load);
    if (load_rc != LH_OK) *err = load_err;
    return load_rc;
}
