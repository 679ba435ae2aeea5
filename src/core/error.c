#include "lh/core/error.h"

#include <stdio.h>
#include <string.h>

void lh_error_clear(lh_error *err)
{
    if (!err) return;
    err->code = LH_OK;
    err->sys_errno = 0;
    err->msg[0] = '\0';
}

lh_status lh_error_vset(lh_error *err, lh_status code, const char *fmt, va_list ap)
{
    if (!err) return code;
    err->code = code;
    err->sys_errno = 0;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    return code;
}

lh_status lh_error_set(lh_error *err, lh_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lh_error_vset(err, code, fmt, ap);
    va_end(ap);
    return code;
}

lh_status lh_error_errno(lh_error *err, lh_status code, int errnum, const char *fmt, ...)
{
    if (!err) return code;
    va_list ap;
    va_start(ap, fmt);
    lh_error_vset(err, code, fmt, ap);
    va_end(ap);
    size_t len = strlen(err->msg);
    snprintf(err->msg + len, sizeof err->msg - len, ": %s", strerror(errnum));
    err->sys_errno = errnum;
    return code;
}

lh_status lh_error_prefix(lh_error *err, const char *fmt, ...)
{
    if (!err) return LH_ERR_INTERNAL;
    char prefix[LH_ERROR_MSG_MAX];
    char old[LH_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
    return err->code;
}

lh_status lh_error_suffix(lh_error *err, const char *fmt, ...)
{
    if (!err) return LH_ERR_INTERNAL;
    size_t used = strnlen(err->msg, sizeof err->msg);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg + used, sizeof err->msg - used, fmt, ap);
    va_end(ap);
    return err->code;
}

const char *lh_status_name(lh_status code)
{
    switch (code) {
    case LH_OK: return "ok";
    case LH_ERR_IO: return "io";
    case LH_ERR_NOT_FOUND: return "not-found";
    case LH_ERR_EXISTS: return "exists";
    case LH_ERR_INVALID: return "invalid";
    case LH_ERR_CORRUPT: return "corrupt";
    case LH_ERR_UNSUPPORTED: return "unsupported";
    case LH_ERR_CONFLICT: return "conflict";
    case LH_ERR_BUSY: return "busy";
    case LH_ERR_NOMEM: return "out-of-memory";
    case LH_ERR_INTERNAL: return "internal";
    }
    return "unknown";
}
