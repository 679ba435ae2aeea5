/* Ad-hoc SQL over a dataset's statements, as the reference's `statements
 * sql`: an in-memory SQLite database in which two read-only tables stream
 * the Delta table, both at the one version the run started from:
 *   statement      the live view (deduped, tombstones hidden), with
 *                  canonical_id = entity_id as its last column;
 *   statement_raw  every physical row, duplicates and tombstones included.
 * Columns in table order; timestamps as ISO text (UTC), NULL when unset;
 * `external` as 0/1. Equality on entity_id (canonical_id), prop, schema,
 * dataset, origin, bucket and shard narrows what is read. SQLite's dialect,
 * not DuckDB's. */
#ifndef LH_STORAGE_STMT_SQL_H
#define LH_STORAGE_STMT_SQL_H

#include <stddef.h>
#include <stdint.h>

#include "lh/core/error.h"
#include "lh/storage/parquet_store.h"

/* Results of statement number stmt (0-based, counting only those that
 * return columns) of the script: first its header (values NULL), then each
 * row, counted from 0; values[i] is NULL for SQL NULL. Return non-OK to
 * stop (that status is returned). */
typedef lh_status (*lh_stmt_sql_row_fn)(void *ctx, size_t stmt, uint64_t row, int ncols,
                                        const char *const *names, const char *const *values,
                                        lh_error *err);

/* Run every statement of sql in turn. A failing statement stops the run:
 * LH_ERR_INVALID with SQLite's message for bad SQL, or the store's own
 * status and message when reading the table failed. */
lh_status lh_stmt_sql_run(lh_pstore *ps, const char *sql, lh_stmt_sql_row_fn fn, void *ctx,
                          lh_error *err);

#endif
