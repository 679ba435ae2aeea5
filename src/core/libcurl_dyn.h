/* libcurl, loaded on first use (lh/core/dynlib.h): the S3 storage calls
 * it by its own names, which this header points at the loaded functions.
 * Include it instead of <curl/curl.h>. */
#ifndef LH_CORE_LIBCURL_DYN_H
#define LH_CORE_LIBCURL_DYN_H

#include <curl/curl.h>

#include "lh/core/error.h"

#define LH_LIBCURL_FUNCS(X)                                                                     \
    X(curl_easy_cleanup) X(curl_easy_getinfo) X(curl_easy_init) X(curl_easy_perform)             \
    X(curl_easy_reset) X(curl_easy_setopt) X(curl_easy_strerror) X(curl_getdate)                 \
    X(curl_global_init) X(curl_slist_append) X(curl_slist_free_all)

typedef struct lh_libcurl_api {
#define LH_LIBCURL_MEMBER(f) __typeof__(f) *p_##f;
    LH_LIBCURL_FUNCS(LH_LIBCURL_MEMBER)
#undef LH_LIBCURL_MEMBER
} lh_libcurl_api;

extern lh_libcurl_api lh_libcurl;

/* Load libcurl.so.4 and run curl_global_init, once per process; the
 * outcome (a clear error when the library is missing) on every call. */
lh_status lh_libcurl_load(lh_error *err);

/* curl's gcc type-checking wrappers are macros of these two names */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_easy_cleanup (lh_libcurl.p_curl_easy_cleanup)
#define curl_easy_getinfo (lh_libcurl.p_curl_easy_getinfo)
#define curl_easy_init (lh_libcurl.p_curl_easy_init)
#define curl_easy_perform (lh_libcurl.p_curl_easy_perform)
#define curl_easy_reset (lh_libcurl.p_curl_easy_reset)
#define curl_easy_setopt (lh_libcurl.p_curl_easy_setopt)
#define curl_easy_strerror (lh_libcurl.p_curl_easy_strerror)
#define curl_getdate (lh_libcurl.p_curl_getdate)
#define curl_global_init (lh_libcurl.p_curl_global_init)
#define curl_slist_append (lh_libcurl.p_curl_slist_append)
#define curl_slist_free_all (lh_libcurl.p_curl_slist_free_all)

#endif
