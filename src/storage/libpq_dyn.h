/* libpq, loaded on first use (lh/core/dynlib.h): the PostgreSQL journal
 * calls it by its own names, which this header points at the loaded
 * functions. Include it instead of <libpq-fe.h>. */
#ifndef LH_STORAGE_LIBPQ_DYN_H
#define LH_STORAGE_LIBPQ_DYN_H

#include <libpq-fe.h>

#include "lh/core/error.h"

#define LH_LIBPQ_FUNCS(X)                                                                        \
    X(PQclear) X(PQconnectdb) X(PQconnectdbParams) X(PQerrorMessage) X(PQexec) X(PQexecParams) X(PQfinish)           \
    X(PQgetisnull) X(PQgetResult) X(PQgetvalue) X(PQntuples) X(PQputCopyData) X(PQputCopyEnd)   \
    X(PQreset) X(PQresultErrorField) X(PQresultErrorMessage) X(PQresultStatus)                   \
    X(PQsetClientEncoding) X(PQsetNoticeProcessor) X(PQstatus) X(PQtransactionStatus)

typedef struct lh_libpq_api {
#define LH_LIBPQ_MEMBER(f) __typeof__(f) *p_##f;
    LH_LIBPQ_FUNCS(LH_LIBPQ_MEMBER)
#undef LH_LIBPQ_MEMBER
} lh_libpq_api;

extern lh_libpq_api lh_libpq;

/* Load libpq.so.5, once per process; the outcome (a clear error when the
 * library is missing) on every call. */
lh_status lh_libpq_load(lh_error *err);

#define PQclear (lh_libpq.p_PQclear)
#define PQconnectdb (lh_libpq.p_PQconnectdb)
#define PQconnectdbParams (lh_libpq.p_PQconnectdbParams)
#define PQerrorMessage (lh_libpq.p_PQerrorMessage)
#define PQexec (lh_libpq.p_PQexec)
#define PQexecParams (lh_libpq.p_PQexecParams)
#define PQfinish (lh_libpq.p_PQfinish)
#define PQgetisnull (lh_libpq.p_PQgetisnull)
#define PQgetResult (lh_libpq.p_PQgetResult)
#define PQgetvalue (lh_libpq.p_PQgetvalue)
#define PQntuples (lh_libpq.p_PQntuples)
#define PQputCopyData (lh_libpq.p_PQputCopyData)
#define PQputCopyEnd (lh_libpq.p_PQputCopyEnd)
#define PQreset (lh_libpq.p_PQreset)
#define PQresultErrorField (lh_libpq.p_PQresultErrorField)
#define PQresultErrorMessage (lh_libpq.p_PQresultErrorMessage)
#define PQresultStatus (lh_libpq.p_PQresultStatus)
#define PQsetClientEncoding (lh_libpq.p_PQsetClientEncoding)
#define PQsetNoticeProcessor (lh_libpq.p_PQsetNoticeProcessor)
#define PQstatus (lh_libpq.p_PQstatus)
#define PQtransactionStatus (lh_libpq.p_PQtransactionStatus)

#endif
