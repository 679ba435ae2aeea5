/* The statement table's physical layout (columns, types, writer profiles per
 * bucket, Delta schema) and the row operations every store path shares:
 * the file sort order and the dedupe that merge and live reads apply. */
#ifndef LH_STORAGE_STMT_TABLE_H
#define LH_STORAGE_STMT_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lh/core/error.h"
#include "lh/core/storage.h"
#include "lh/format/pq_writer.h"
#include "lh/model/statement.h"

/* Column names in physical order (lh_stmt_col). */
extern const char *const lh_stmt_col_names[LH_STMT_NCOLS];
/* The lh_stmt_col of a column name; -1 when it is none of them. */
int lh_stmt_col_index(const char *name);

/* The Delta partition columns. */
#define LH_STMT_NPART 3
extern const char *const lh_stmt_partition_cols[LH_STMT_NPART];

/* Columns stored in data files: all but the partition columns. */
#define LH_STMT_FILE_NCOLS (LH_STMT_NCOLS - LH_STMT_NPART)

/* Delta type ("string", "boolean", "timestamp") and nullability of column c. */
const char *lh_stmt_col_type(int c);
bool lh_stmt_col_nullable(int c);

/* Writer columns and options for a data file of bucket (the reference's
 * per-bucket profile: full-text buckets get small row groups and no
 * dictionary on `value`). cols must hold LH_STMT_FILE_NCOLS entries.
 * zstd level 1: the reference's 3 costs a merge ~15% for ~1% smaller files. */
void lh_stmt_writer_profile(const char *bucket, lh_pq_col_spec *cols, lh_pq_writer_opts *opts);

/* The data-file cells of s (LH_STMT_FILE_NCOLS values, pointing into s).
 * prev (may be NULL): the cells of a row whose strings are still alive; a
 * string s shares with it by address takes its length from there. */
void lh_stmt_file_values(const lh_statement *s, const lh_pq_value *prev, lh_pq_value *vals);
/* Add the nulls among rows rows of such cells to nulls (LH_STMT_FILE_NCOLS
 * counters): what a data file's add says as its nullCount. */
void lh_stmt_count_nulls(const lh_pq_value *vals, size_t rows, int64_t *nulls);

/* Read every row of one data file into out, filling the partition columns
 * from the given values (the log's, never the path's). Columns a file
 * predates read as NULL (fragment as ""). */
lh_status lh_stmt_read_file(lh_storage *st, const char *key, const char *shard,
                            const char *bucket, const char *origin, lh_stmt_batch *out,
                            lh_error *err);

/* A data file read row group by row group. */
typedef struct lh_stmt_file lh_stmt_file;
lh_status lh_stmt_file_open(lh_storage *st, const char *key, const char *shard,
                            const char *bucket, const char *origin, lh_stmt_file **out,
                            lh_error *err);
size_t lh_stmt_file_row_groups(const lh_stmt_file *f);
/* Rows in the file, from its footer. */
int64_t lh_stmt_file_num_rows(const lh_stmt_file *f);
/* Append the rows of row group rg to out. */
lh_status lh_stmt_file_read(lh_stmt_file *f, size_t rg, lh_stmt_batch *out, lh_error *err);
/* *may false when the entity_id statistics of row group rg prove it holds
 * none of ids (sorted byte-wise, n > 0). */
lh_status lh_stmt_file_may_contain(lh_stmt_file *f, size_t rg, const char *const *ids, size_t n,
                                   bool *may, lh_error *err);
/* The row groups that may hold any of ids (sorted byte-wise, n > 0), in
 * file order, in *rgs (the caller frees it). In a file sorted by entity_id
 * a binary search over the row groups' bounds finds them, decoding the
 * metadata of a few row groups per id instead of all; otherwise every row
 * group is checked as lh_stmt_file_may_contain does. */
lh_status lh_stmt_file_candidates(lh_stmt_file *f, const char *const *ids, size_t n,
                                  size_t **rgs, size_t *count, lh_error *err);
/* Append the rows of row group rg whose entity_id is among ids (sorted
 * byte-wise). Decodes the entity_id column first and the others only when
 * a wanted entity is there. */
lh_status lh_stmt_file_read_ids(lh_stmt_file *f, size_t rg, const char *const *ids, size_t n,
                                lh_stmt_batch *out, lh_error *err);
/* What a filtered scan looks for in a row: its schema is one of schemata
 * (when any) and, with prop or prop_type, those (and value, when set)
 * match. */
typedef struct lh_stmt_pred {
    const char *const *schemata;
    size_t num_schemata;
    const char *prop, *value;
    const char *prop_type;
} lh_stmt_pred;
/* Append the rows of row group rg of the entities that may match pred: an
 * entity with a matching row here, and the row group's first and last
 * entities (they may go on in the neighbouring row groups). Only for a
 * sorted file. The predicate's columns are decoded first, each evaluated
 * once per dictionary entry; the other columns fill only the kept rows. */
lh_status lh_stmt_file_read_where(lh_stmt_file *f, size_t rg, const lh_stmt_pred *pred,
                                  lh_stmt_batch *out, lh_error *err);
/* Each tombstone of row group rg (a row with deleted_at) to fn: its
 * entity_id, deleted_at, schema and prop. Reads deleted_at (skipped when
 * its statistics count only nulls), then those columns only when a
 * tombstone is there. */
typedef lh_status (*lh_stmt_tombstone_fn)(void *ctx, const char *entity_id, int64_t deleted_at,
                                          const char *schema, const char *prop, lh_error *err);
lh_status lh_stmt_file_tombstones(lh_stmt_file *f, size_t rg, lh_stmt_tombstone_fn fn, void *ctx,
                                  lh_error *err);
/* True when the rows are in entity_id order (our files say so in their
 * footer; merge output of either side is). */
bool lh_stmt_file_sorted(const lh_stmt_file *f);
/* Close the file once no row group will be read from it again (see
 * lh_pq_reader_release): rows read stay valid until lh_stmt_file_free. */
void lh_stmt_file_release(lh_stmt_file *f);
void lh_stmt_file_free(lh_stmt_file *f);

/* Footer key our writers set to the sort order of the rows. */
#define LH_STMT_SORT_KEY "ftm_lakehouse.sorting_columns"
#define LH_STMT_SORT_ORDER "entity_id,fragment,role,prop,id,last_seen DESC"

/* File order: entity_id, fragment, role (NULL first), prop, id,
 * last_seen DESC, deleted_at DESC (NULL last). */
int lh_stmt_cmp(const lh_statement *a, const lh_statement *b);
void lh_stmt_sort(lh_statement *rows, size_t n);

/* Collapse rows of ONE partition, sorted with lh_stmt_sort, in place:
 * - fragment "" : one row per (entity_id, id, role), the latest last_seen
 *   winning, a tombstone winning a tie;
 * - fragment set: per (entity_id, prop, fragment, role) only rows at the
 *   group's latest last_seen survive, one per id;
 * - first_seen folds to the minimum over the surviving row's id (and role).
 * Tombstones then go: all of them when keep_tombstones_after == INT64_MAX
 * (the live view), else those with deleted_at <= keep_tombstones_after (a
 * merge's grace cutoff). Returns the new row count; order is kept. */
size_t lh_stmt_dedupe(lh_statement *rows, size_t n, int64_t keep_tombstones_after);

#endif
