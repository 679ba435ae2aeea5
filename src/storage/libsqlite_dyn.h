/* libsqlite3, loaded on first use (lh/core/dynlib.h), as libpq is: the
 * SQLite journal calls it by its own names, which this header points at
 * the loaded functions; a command that never opens the journal (a lookup,
 * a merge) does not pay ~0.4 ms of start-up for it. Include it instead of
 * <sqlite3.h>. */
#ifndef LH_STORAGE_LIBSQLITE_DYN_H
#define LH_STORAGE_LIBSQLITE_DYN_H

#include <sqlite3.h>

#include "lh/core/error.h"

#define LH_LIBSQLITE_FUNCS(X) \
    X(sqlite3_bind_int) X(sqlite3_bind_null) X(sqlite3_bind_text) X(sqlite3_busy_timeout) \
    X(sqlite3_clear_bindings) X(sqlite3_close_v2) X(sqlite3_column_bytes) \
    X(sqlite3_column_count) X(sqlite3_column_int) X(sqlite3_column_int64) \
    X(sqlite3_column_name) X(sqlite3_column_text) X(sqlite3_create_module_v2) \
    X(sqlite3_declare_vtab) X(sqlite3_errmsg) X(sqlite3_exec) X(sqlite3_finalize) \
    X(sqlite3_free) X(sqlite3_get_autocommit) X(sqlite3_mprintf) X(sqlite3_open_v2) \
    X(sqlite3_prepare_v2) X(sqlite3_reset) X(sqlite3_result_int64) X(sqlite3_result_null) \
    X(sqlite3_result_text) X(sqlite3_step) X(sqlite3_system_errno) X(sqlite3_value_text) \
    X(sqlite3_value_type) X(sqlite3_vtab_collation)

typedef struct lh_libsqlite_api {
#define LH_LIBSQLITE_MEMBER(f) __typeof__(f) *p_##f;
    LH_LIBSQLITE_FUNCS(LH_LIBSQLITE_MEMBER)
#undef LH_LIBSQLITE_MEMBER
} lh_libsqlite_api;

extern lh_libsqlite_api lh_libsqlite;

/* Load libsqlite3.so.0, once per process; the outcome (a clear error when
 * the library is missing) on every call. */
lh_status lh_libsqlite_load(lh_error *err);

#define sqlite3_bind_int (lh_libsqlite.p_sqlite3_bind_int)
#define sqlite3_bind_null (lh_libsqlite.p_sqlite3_bind_null)
#define sqlite3_bind_text (lh_libsqlite.p_sqlite3_bind_text)
#define sqlite3_busy_timeout (lh_libsqlite.p_sqlite3_busy_timeout)
#define sqlite3_clear_bindings (lh_libsqlite.p_sqlite3_clear_bindings)
#define sqlite3_close_v2 (lh_libsqlite.p_sqlite3_close_v2)
#define sqlite3_column_bytes (lh_libsqlite.p_sqlite3_column_bytes)
#define sqlite3_column_count (lh_libsqlite.p_sqlite3_column_count)
#define sqlite3_column_int (lh_libsqlite.p_sqlite3_column_int)
#define sqlite3_column_int64 (lh_libsqlite.p_sqlite3_column_int64)
#define sqlite3_column_name (lh_libsqlite.p_sqlite3_column_name)
#define sqlite3_column_text (lh_libsqlite.p_sqlite3_column_text)
#define sqlite3_create_module_v2 (lh_libsqlite.p_sqlite3_create_module_v2)
#define sqlite3_declare_vtab (lh_libsqlite.p_sqlite3_declare_vtab)
#define sqlite3_errmsg (lh_libsqlite.p_sqlite3_errmsg)
#define sqlite3_exec (lh_libsqlite.p_sqlite3_exec)
#define sqlite3_finalize (lh_libsqlite.p_sqlite3_finalize)
#define sqlite3_free (lh_libsqlite.p_sqlite3_free)
#define sqlite3_get_autocommit (lh_libsqlite.p_sqlite3_get_autocommit)
#define sqlite3_mprintf (lh_libsqlite.p_sqlite3_mprintf)
#define sqlite3_open_v2 (lh_libsqlite.p_sqlite3_open_v2)
#define sqlite3_prepare_v2 (lh_libsqlite.p_sqlite3_prepare_v2)
#define sqlite3_reset (lh_libsqlite.p_sqlite3_reset)
#define sqlite3_result_int64 (lh_libsqlite.p_sqlite3_result_int64)
#define sqlite3_result_null (lh_libsqlite.p_sqlite3_result_null)
#define sqlite3_result_text (lh_libsqlite.p_sqlite3_result_text)
#define sqlite3_step (lh_libsqlite.p_sqlite3_step)
#define sqlite3_system_errno (lh_libsqlite.p_sqlite3_system_errno)
#define sqlite3_value_text (lh_libsqlite.p_sqlite3_value_text)
#define sqlite3_value_type (lh_libsqlite.p_sqlite3_value_type)
#define sqlite3_vtab_collation (lh_libsqlite.p_sqlite3_vtab_collation)

#endif
