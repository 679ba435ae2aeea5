/* ParquetStore: the statements of one dataset as one Delta table at
 * `{dataset}/statements/`, partitioned by (shard, bucket, origin), laid out
 * exactly as the Python reference lays it out (same paths, columns, types,
 * partition values and table configuration), so either side reads and
 * writes the other's lakes.
 *
 * Writes: `append` adds one sorted file per touched partition in one commit
 * (concurrent appends serialize through Delta's optimistic concurrency and
 * register an append marker so maintenance never runs beside them);
 * `merge` rewrites each dirty partition into one `merged-*` file (latest row
 * per statement, first_seen folded, fragments superseded, tombstones past
 * the grace period reaped) in dataChange=false commits under .LOCK-MERGE;
 * `compact`, `vacuum` and `destroy` run under the exclusive fence.
 *
 * Reads see the live view: per partition the same dedupe as merge, without
 * tombstones, so a read before and after merge returns the same rows. Memory
 * is bounded by one (shard, bucket) pair, never the dataset. */
#ifndef LH_STORAGE_PARQUET_STORE_H
#define LH_STORAGE_PARQUET_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "lh/core/error.h"
#include "lh/core/storage.h"
#include "lh/core/str.h"
#include "lh/format/delta.h"
#include "lh/model/statement.h"

typedef struct lh_pstore lh_pstore;

/* Where the owner records the dataset's shard count (config.yml), so that
 * the store reads and writes it under its fences: a writer that read the
 * count before a re-shard must not append with it after. */
typedef struct lh_pstore_layout {
    /* The count now, asked by an append once its marker is registered (no
     * re-shard runs until it commits); leave *shards as is when there is
     * none recorded. NULL: opts.shards. */
    lh_status (*get_shards)(void *ctx, int *shards, lh_error *err);
    /* Record a new count: re-shard calls it after its commit, still
     * holding the maintenance fence. NULL: the caller records it. */
    lh_status (*set_shards)(void *ctx, int shards, lh_error *err);
    void *ctx;
} lh_pstore_layout;

typedef struct lh_pstore_opts {
    int shards;              /* entity-id hash shards; <= 1 = one shard "0" */
    int grace_period_days;   /* merge reaps tombstones older than this */
    int lock_max_retries;    /* fence acquisition attempts (< 0: settings) */
    int workers;             /* merge/compact threads; 0 = one per online CPU, 1 = none */
    lh_pstore_layout layout; /* zero: none */
} lh_pstore_opts;

void lh_pstore_opts_init(lh_pstore_opts *o); /* defaults from LAKEHOUSE_* settings */

/* The store of dataset in st (not owned). Nothing is touched until a write. */
lh_status lh_pstore_open(lh_storage *st, const char *dataset, const lh_pstore_opts *opts,
                         lh_pstore **out, lh_error *err);
void lh_pstore_free(lh_pstore *ps);

/* Key prefix of the Delta table ("{dataset}/statements"). */
const char *lh_pstore_table(const lh_pstore *ps);

lh_status lh_pstore_exists(lh_pstore *ps, bool *exists, lh_error *err);
/* Current version; -1 when there is no table. */
lh_status lh_pstore_version(lh_pstore *ps, int64_t *version, lh_error *err);

/* Append statements (shard is derived here from entity_id; bucket and origin
 * must be set). The batch is sorted in place. */
lh_status lh_pstore_append(lh_pstore *ps, lh_stmt_batch *batch, lh_error *err);

/* An append spanning many batches that commits once: files are written as
 * batches arrive, the Delta commit at the end makes all of them visible at
 * once; free without commit deletes the files (a killed process leaves them
 * as orphans for vacuum). Holds an append marker throughout. Appends may
 * run on several threads at once (each writes its own files); commit and
 * free only after every append returned. */
typedef struct lh_pstore_txn lh_pstore_txn;
lh_status lh_pstore_txn_begin(lh_pstore *ps, lh_pstore_txn **out, lh_error *err);
/* The shard count the txn's appends derive (the layout's, asked at begin). */
int lh_pstore_txn_shards(const lh_pstore_txn *t);
lh_status lh_pstore_txn_append(lh_pstore_txn *t, lh_stmt_batch *batch, lh_error *err);
uint64_t lh_pstore_txn_rows(const lh_pstore_txn *t);
/* Record key = value in the next commit's operationParameters (copied;
 * replaces the previous one; NULL value: none). */
void lh_pstore_txn_set_param(lh_pstore_txn *t, const char *key, const char *value);
lh_status lh_pstore_txn_commit(lh_pstore_txn *t, lh_error *err);
void lh_pstore_txn_free(lh_pstore_txn *t);

/* *found: a commit of the table, no older than since_ms (by its
 * commitInfo.timestamp), has operationParameters[key] == value. Reads the
 * commits from the newest back; a commit gone (log cleanup) ends the search. */
lh_status lh_pstore_find_commit_param(lh_pstore *ps, const char *key, const char *value,
                                      int64_t since_ms, bool *found, lh_error *err);

typedef struct lh_pstore_report {
    size_t partitions;       /* rewritten */
    size_t skipped;          /* already clean */
    size_t files_removed;
    size_t files_added;
    uint64_t rows_in, rows_out;
    /* merge: the version checkpointed after its commits; -1 when nothing
     * was committed or the checkpoint failed (checkpoint_error says why) */
    int64_t checkpoint_version;
    lh_error checkpoint_error;
} lh_pstore_report;

/* Whether any partition holds a file merge did not write. */
lh_status lh_pstore_needs_merge(lh_pstore *ps, bool *needs, lh_error *err);
/* Progress of merge and compact: fn(ctx, n) as n more rows have been read.
 * Called from the worker threads, one call at a time. fn NULL: none. */
typedef void (*lh_pstore_progress_fn)(void *ctx, uint64_t n);
void lh_pstore_set_progress(lh_pstore *ps, lh_pstore_progress_fn fn, void *ctx);

lh_status lh_pstore_merge(lh_pstore *ps, bool force, lh_pstore_report *rep, lh_error *err);
/* Bin-pack partitions with several files into one, rows unchanged. */
lh_status lh_pstore_compact(lh_pstore *ps, lh_pstore_report *rep, lh_error *err);
/* Rewrite the table onto `shards` entity-id hash shards (<= 1: one), as
 * the reference's re-shard: each (bucket, origin) group streamed into one
 * file per new shard, rows as stored (sorted, not deduped: every partition
 * comes out to be merged), all of it in one commit under the maintenance
 * fence (its commitInfo carries the count as operationParameters
 * LH_PSTORE_SHARDS_PARAM), then the count recorded through
 * opts.layout.set_shards (still under the fence; without it, config.yml is
 * the caller's). The store then writes with the new count. At most
 * LH_PSTORE_MAX_RESHARD shards. */
#define LH_PSTORE_MAX_RESHARD 4096
#define LH_PSTORE_SHARDS_PARAM "lakehouse.shards"
lh_status lh_pstore_reshard(lh_pstore *ps, int shards, lh_pstore_report *rep, lh_error *err);
/* A re-shard killed between its commit and recording its count leaves the
 * table in the new layout and the recorded count (appends, entity reads)
 * at the old one, its fence held. committed: the count of the table's
 * newest commit when that is a re-shard, else -1; recorded: the layout's
 * count (before any repair); differs: the two are different layouts. */
typedef struct lh_pstore_layout_state {
    int committed;
    int recorded;
    bool differs;
} lh_pstore_layout_state;
/* The state; with repair, a committed count that differs is recorded (run
 * it before writers go on, as `maintenance unlock` does). */
lh_status lh_pstore_layout_repair(lh_pstore *ps, bool repair, lh_pstore_layout_state *state,
                                  lh_error *err);
/* Delete files the log no longer references, older than retention_hours,
 * and what interrupted writes left in the table as old (temp files, S3
 * multipart uploads; *debris counts those, debris may be NULL). */
lh_status lh_pstore_vacuum(lh_pstore *ps, int retention_hours, size_t *deleted, size_t *debris,
                           lh_error *err);
/* Drop every row of origin at once, no grace period, as the reference's
 * delete_origin: its files leave the table in one DELETE commit (vacuum
 * deletes them later); *deleted gets the row count (0, and no commit, when
 * the origin has none). The origin is checked as a name (no quotes).
 * Under the maintenance fence. */
lh_status lh_pstore_delete_origin(lh_pstore *ps, const char *origin, int64_t *deleted,
                                  lh_error *err);
/* Migrations of a table an older writer created, as the reference's
 * evolve_schema and configure_table, each a metadata-only commit under the
 * maintenance fence and a no-op (no commit) when there is nothing to do
 * or no table. evolve_schema adds the statement columns the table lacks
 * (nullable: older files read NULL there), their names appended to added;
 * configure_table sets the store's table properties where they differ
 * (keys appended to changed), then checkpoints and drops the log the new
 * retention has expired. */
lh_status lh_pstore_evolve_schema(lh_pstore *ps, lh_strlist *added, lh_error *err);
lh_status lh_pstore_configure_table(lh_pstore *ps, lh_strlist *changed, lh_error *err);
/* Remove the whole table (log, data, debris of interrupted writes). */
lh_status lh_pstore_destroy(lh_pstore *ps, lh_error *err);
/* Forcibly release .LOCK, .LOCK-MERGE and append markers. */
lh_status lh_pstore_unlock(lh_pstore *ps, bool *released, lh_error *err);

/* ------------------------------------------------------------------ reads */

typedef struct lh_pstore_filter {
    const char *const *entity_ids; /* NULL = any */
    size_t num_entity_ids;
    const char *const *schemata;   /* any of these schema names (caller expands descendants) */
    size_t num_schemata;
    const char *prop;              /* property name, NULL = any */
    const char *prop_type;         /* property type name, NULL = any */
    const char *value;             /* with prop or prop_type: an entity having a row of
                                    * them with this value */
    const char *dataset;
    const char *origin;
    const char *bucket;
    /* only partitions of these buckets (NULL = any): a caller with
     * schemata passes their buckets, as a row's bucket follows its schema */
    const char *const *buckets;
    size_t num_buckets;
    int64_t changed_since;         /* LH_TS_NULL = any; else last_seen >= */
    bool include_tombstones;       /* raw rows (get_changed_entity_ids) */
    /* An entity's rows in every bucket of its shard together, as a query
     * over the whole table sees them (a schema change can leave an entity
     * in two buckets); else one (shard, bucket) pair at a time. */
    bool whole_entities;
    /* An entity-level predicate on an entity's rows (after the filters
     * above), NULL = none: the store knows nothing of what it tests. */
    bool (*match)(const void *ctx, const lh_statement *rows, size_t n);
    const void *match_ctx;
} lh_pstore_filter;

void lh_pstore_filter_init(lh_pstore_filter *q);

/* Called with all live statements of one entity at a time (rows sorted by
 * the file order); return non-OK to stop (that status is returned). */
typedef lh_status (*lh_pstore_entity_fn)(void *ctx, const lh_statement *rows, size_t n,
                                         lh_error *err);

/* Entities matching q (filters apply per entity: an entity matches when one
 * of its live statements matches every statement-level filter), in
 * (shard, bucket) pair order (shard order with whole_entities), entity_id
 * order within a pair. */
lh_status lh_pstore_query(lh_pstore *ps, const lh_pstore_filter *q, lh_pstore_entity_fn fn,
                          void *ctx, lh_error *err);

/* Statements matching q row by row (no entity grouping of the filters). */
lh_status lh_pstore_query_statements(lh_pstore *ps, const lh_pstore_filter *q,
                                     lh_pstore_entity_fn fn, void *ctx, lh_error *err);

/* The same reads, pulled: a cursor over snap (NULL = the latest version),
 * the filter q held (not copied) until it is freed. Each call gives the
 * next entity's rows (by_statement: only its matching rows), valid until
 * the next call; *n = 0 at the end. */
typedef struct lh_pstore_cursor lh_pstore_cursor;
lh_status lh_pstore_cursor_open(lh_pstore *ps, const lh_pstore_filter *q,
                                const lh_delta_snapshot *snap, bool by_statement,
                                lh_pstore_cursor **out, lh_error *err);
lh_status lh_pstore_cursor_next(lh_pstore_cursor *c, const lh_statement **rows, size_t *n,
                                lh_error *err);
void lh_pstore_cursor_free(lh_pstore_cursor *c);

/* Distinct entity ids with first_seen >= since or deleted_at >= since (raw
 * rows, tombstones included), sorted. */
lh_status lh_pstore_changed_entity_ids(lh_pstore *ps, int64_t since, lh_strlist *out,
                                       lh_error *err);

/* An entity with tombstones, described by all of them: the candidates a
 * diff reports deleted when the sweep does not meet them alive. */
typedef struct lh_pstore_deleted {
    char *entity_id;
    int64_t deleted_at;          /* the latest tombstone's */
    lh_strlist origins, schemata; /* of its tombstones, distinct */
    bool content_hash;           /* one of them is a contentHash */
} lh_pstore_deleted;

typedef struct lh_pstore_deleted_list {
    lh_pstore_deleted *items; /* by entity_id */
    size_t len, cap;
} lh_pstore_deleted_list;

/* The entities whose latest tombstone has deleted_at >= since. */
lh_status lh_pstore_deleted_since(lh_pstore *ps, int64_t since, lh_pstore_deleted_list *out,
                                  lh_error *err);
void lh_pstore_deleted_list_free(lh_pstore_deleted_list *l);

/* Physical row count from the snapshot's file statistics (no scan). */
lh_status lh_pstore_num_rows(lh_pstore *ps, int64_t *rows, lh_error *err);

#endif
