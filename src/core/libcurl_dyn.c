/* libcurl loaded on first use (libcurl_dyn.h). */
#include "libcurl_dyn.h"

#include "lh/core/dynlib.h"

lh_libcurl_api lh_libcurl;

static const char *const NAMES[] = {
#define LH_NAME(f) #f,
    LH_LIBCURL_FUNCS(LH_NAME)
#undef LH_NAME
};
enum { N = sizeof NAMES / sizeof *NAMES };

static lh_status init_curl(lh_error *err)
{
    CURLcode c = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (c != CURLE_OK)
        return lh_error_set(err, LH_ERR_IO, "S3 storage: curl_global_init failed (%d)", (int)c);
    return LH_OK;
}

lh_status lh_libcurl_load(lh_error *err)
{
    static lh_dynlib_once once = LH_DYNLIB_ONCE_INIT;
    return lh_dynlib_load_once(&once, "libcurl.so.4", "S3 storage", NAMES, N, &lh_libcurl,
                               sizeof lh_libcurl, init_curl, err);
}
