/* Shared internals of the ParquetStore (parquet_store*.c). */
#ifndef LH_STORAGE_PSTORE_INTERNAL_H
#define LH_STORAGE_PSTORE_INTERNAL_H

#include <pthread.h>

#include "lh/format/delta.h"
#include "lh/storage/fence.h"
#include "lh/storage/parquet_store.h"
#include "lh/storage/stmt_table.h"

struct lh_pstore {
    lh_storage *st;
    char *dataset;
    char *table; /* "{dataset}/statements" */
    lh_pstore_opts opts;
    lh_pstore_progress_fn progress; /* maintenance progress, may be NULL */
    void *progress_ctx;
    pthread_mutex_t progress_mu; /* one progress call at a time */
};

/* Report n more rows read to the progress callback (any thread). */
void lh_pstore_report_progress(lh_pstore *ps, uint64_t n);

/* One (shard, bucket, origin) partition of a snapshot and its live files. */
typedef struct lh_part {
    const char *shard, *bucket, *origin; /* point into the snapshot */
    const lh_delta_file **files;
    size_t num_files;
    bool clean; /* every file is merge output */
    uint64_t bytes;
} lh_part;

typedef struct lh_parts {
    lh_part *items;
    size_t len;
} lh_parts;

/* Group the snapshot's live files by partition, sorted by (shard, bucket, origin). */
lh_status lh_parts_of(const lh_delta_snapshot *snap, lh_parts *out, lh_error *err);
void lh_parts_free(lh_parts *p);

/* The current snapshot and its partitions (*snap = NULL, no parts, when
 * there is no table); the caller frees both. */
lh_status lh_pstore_parts(lh_pstore *ps, lh_delta_snapshot **snap, lh_parts *parts,
                          lh_error *err);

/* The table properties the store creates its table with (and migrates an
 * older table to). */
#define LH_PSTORE_NCONF 2
extern const lh_delta_kv lh_pstore_table_configuration[LH_PSTORE_NCONF];

/* LH_ERR_UNSUPPORTED, naming the columns and `maintenance migrate`, when
 * the table lacks a statement column: rows written there would lose it to
 * every reader (the reference's writer refuses such a table too); also,
 * naming it, when the table has a required column this writer does not
 * write. */
lh_status lh_pstore_check_columns(const lh_pstore *ps, const lh_delta_snapshot *snap,
                                  lh_error *err);

/* LH_ERR_UNSUPPORTED, naming it, when the table has a column this version
 * does not know: merge, compact and re-shard write only the statement
 * columns, so its values would go. */
lh_status lh_pstore_check_rewritable(const lh_pstore *ps, const lh_delta_snapshot *snap,
                                     lh_error *err);

/* Load the current snapshot; *snap = NULL when there is no table. */
lh_status lh_pstore_snapshot(lh_pstore *ps, lh_delta_snapshot **snap, lh_error *err);

/* Write rows (one partition, already in file order) as a new data file
 * named prefix-<uuid>-c000.zstd.parquet in the partition directory and
 * describe it as an add action (strings in arena). */
lh_status lh_part_write(lh_pstore *ps, const char *prefix, const lh_statement *rows, size_t n,
                        bool data_change, lh_arena *arena, lh_delta_add *add,
                        lh_error *err);

/* A data file being written row by row (rows in file order). */
typedef struct lh_part_writer lh_part_writer;
lh_status lh_part_writer_open(lh_pstore *ps, const char *prefix, const lh_statement *first,
                              bool data_change, lh_part_writer **out, lh_error *err);
lh_status lh_part_writer_add(lh_part_writer *pw, const lh_statement *rows, size_t n,
                             lh_error *err);
uint64_t lh_part_writer_rows(const lh_part_writer *pw);
/* Finish and commit the file; describe it as an add action (strings in arena). */
lh_status lh_part_writer_finish(lh_part_writer *pw, lh_arena *arena, lh_delta_add *add,
                                lh_error *err);
/* Free; a file not finished is discarded. */
void lh_part_writer_free(lh_part_writer *pw);

/* Next entity of a set of partitions' files: all its rows, from every file,
 * as stored (not deduped). Streams when every file is sorted by entity_id
 * (one row group per file in memory), else loads and sorts them. */
typedef struct lh_entity_stream lh_entity_stream;
/* ids (sorted byte-wise, may be NULL): only these entities are wanted, row
 * groups proven not to hold any are skipped (others may still come).
 * pred (may be NULL): only entities with a row matching it are wanted;
 * over a single sorted file the others are mostly skipped (others may
 * still come). */
lh_status lh_entity_stream_open(lh_pstore *ps, const lh_part *parts, size_t n,
                                const char *const *ids, size_t num_ids,
                                const lh_stmt_pred *pred, lh_entity_stream **out,
                                lh_error *err);
/* rows and n: the next entity's rows, valid until the next call; *n = 0 at the end. */
lh_status lh_entity_stream_next(lh_entity_stream *s, lh_statement **rows, size_t *n,
                                lh_error *err);
/* The same, appending the next entity's rows to dst (copied): *n of them. */
lh_status lh_entity_stream_next_into(lh_entity_stream *s, lh_stmt_batch *dst, size_t *n,
                                     lh_error *err);
/* The same without copying strings: the rows point into row groups the
 * stream holds, and dst takes each row group once the stream is done with
 * it. Valid while both dst's rows and the stream live (a merge's pipe
 * batches, written before the stream is freed). */
lh_status lh_entity_stream_next_shallow(lh_entity_stream *s, lh_stmt_batch *dst, size_t *n,
                                        lh_error *err);
void lh_entity_stream_free(lh_entity_stream *s);

/* A data file written on a thread of its own (an lh_relay): the caller
 * fills batches while the thread encodes and compresses the batch before (a
 * merge spends about as long reading as writing). Rows in file order.
 * Without `threaded` each batch is written when it is sent. */
typedef struct lh_part_pipe lh_part_pipe;
lh_part_pipe *lh_part_pipe_new(lh_pstore *ps, const char *prefix, bool data_change,
                               bool threaded);
/* The batch to append to; it belongs to the pipe. */
lh_stmt_batch *lh_part_pipe_batch(lh_part_pipe *p);
/* Whether the batch is big enough to send. */
bool lh_part_pipe_full(const lh_part_pipe *p);
/* Hand the batch to the writer (waits while two are in flight); an error
 * of the writer comes back here or from finish. */
lh_status lh_part_pipe_send(lh_part_pipe *p, lh_error *err);
/* Write what is left and commit the file: *has_add is false when no row
 * was ever sent (no file). */
lh_status lh_part_pipe_finish(lh_part_pipe *p, lh_arena *arena, lh_delta_add *add,
                              bool *has_add, lh_error *err);
/* Free; a file not finished is discarded. */
void lh_part_pipe_free(lh_part_pipe *p);

/* The live (or, with a cutoff, merge) dedupe of one entity's rows that may
 * span origins: per origin, in place; returns the new count, rows in file order. */
size_t lh_entity_dedupe(lh_statement *rows, size_t n, int64_t keep_tombstones_after);

/* Shard of an entity id (string in arena, or the static "0"). */
const char *lh_pstore_entity_shard(const char *entity_id, int shards, lh_arena *arena);

/* Maintenance helpers (parquet_store_maint.c). */
/* .LOCK with the appends drained, then .LOCK-MERGE: no other writer. */
lh_status lh_pstore_maintenance_fence(lh_pstore *ps, lh_fence_life life, lh_fence **lock,
                                      lh_fence **merge, lh_error *err);
/* fn(ps, ctx, err) under the maintenance fence, released after; nothing
 * (LH_OK) when there is no table. */
typedef lh_status (*lh_pstore_fenced_fn)(lh_pstore *ps, void *ctx, lh_error *err);
lh_status lh_pstore_fenced(lh_pstore *ps, lh_pstore_fenced_fn fn, void *ctx, lh_error *err);
/* Checkpoint the table at version (a failure goes to rep, not fatal). */
void lh_pstore_checkpoint(lh_pstore *ps, int64_t version, lh_pstore_report *rep);

/* Delete data files a rewrite wrote but did not commit (the commit failed
 * before it reached the log, e.g. on a full disk): they are nobody's, and
 * left for vacuum they would hold the space a retry needs. Best effort. */
void lh_pstore_discard_adds(lh_pstore *ps, const lh_delta_add *adds, size_t n);
/* Threads maintenance may use: the workers setting, else one per CPU. */
size_t lh_pstore_workers(const lh_pstore *ps);
/* fn(ctx, i) for every i in [0, n), on up to lh_pstore_workers threads
 * (the caller's included); returns when all are done. With sizes (the
 * task's bytes, say), the largest tasks are handed out first. */
void lh_pstore_run_tasks(lh_pstore *ps, size_t n, const uint64_t *sizes,
                         void (*fn)(void *ctx, size_t i), void *ctx);

/* The reference names merge output with this prefix. */
#define LH_MERGED_PREFIX "merged-"

#endif
