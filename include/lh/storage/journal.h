/* JournalStore: the write-ahead statement buffer of one dataset, on SQLite
 * (embedded default) or PostgreSQL.
 *
 * Layout, shared with the Python reference (ftm-lakehouse 0.9.0 SqlJournalStore)
 * so either side can write and flush one journal database:
 *   - live table "journal_{dataset}": an append-only heap, no key, no index,
 *     columns of the reference JOURNAL_SCHEMA (id, entity_id, dataset, bucket,
 *     origin, source, schema, prop, prop_type, value, original_value, lang,
 *     external, first_seen, last_seen, fragment, role, deleted_at) plus one
 *     trailing nullable "shard" column of ours (the reference ignores it; rows
 *     the reference wrote carry NULL there);
 *   - segments "journal_{dataset}-seg-{YYYYmmddTHHMMSS}{4 hex}": a flush renames
 *     the live table to a segment and recreates it in one transaction, so new
 *     rows keep landing while the segment drains; segments are drained oldest
 *     first and dropped only after the consumer accepted every row.
 * SQLite stores timestamps as "YYYY-MM-DD HH:MM:SS.ffffff" text (UTC) and
 * booleans as 0/1, as SQLAlchemy does; PostgreSQL uses timestamptz/boolean.
 *
 * URIs: "sqlite:///abs/path.db", "sqlite:////abs/path.db", "sqlite://rel.db",
 * a plain path, "sqlite:///:memory:" (one handle only), "postgresql://...",
 * "postgres://...", "postgresql+driver://..." (the driver part is dropped).
 *
 * Concurrency: any number of writer processes and flushers. A handle is one
 * connection and not thread-safe; open one handle per thread. Flushes of one
 * dataset are serialized: SQLite by an flock(2) on "{db}-flush-{table}.lock"
 * beside the database, PostgreSQL by pg_advisory_lock(crc32(table name)) —
 * the key the reference uses, so C and Python flushers exclude each other.
 * Both locks die with their holder.
 *
 * Delivery is at-least-once: a consumer failure, or a process killed during a
 * flush, leaves the undropped segment for the next flush, which re-delivers
 * all of it (the parquet merge dedupes). A row is acknowledged once the
 * insert call returned LH_OK; acknowledged rows are never lost. */
#ifndef LH_STORAGE_JOURNAL_H
#define LH_STORAGE_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lh/core/error.h"
#include "lh/model/statement.h"

typedef struct lh_journal lh_journal;

/* Receives one batch of rows. The batch and its strings are valid only during
 * the call. The batch is the journal's own scratch, never read again after
 * the call: a consumer may cast away const and reorder or modify its rows in
 * place (e.g. hand it to lh_pstore_append), or take them by swapping the
 * batch's contents for an empty batch (lh_relay_send), instead of copying
 * it. Return LH_OK to accept it; anything else aborts the flush (the message
 * in err is kept, prefixed with the journal table). The consumer must not
 * call back into the handle that feeds it (LH_ERR_INVALID); use a second
 * handle. */
typedef lh_status (*lh_journal_consumer)(void *ctx, const lh_stmt_batch *batch, lh_error *err);

typedef struct lh_journal_options {
    int busy_timeout_ms; /* SQLite busy wait / PostgreSQL rotation lock_timeout; 0 = 30000 */
    bool relaxed_sync;   /* SQLite: synchronous=NORMAL (survives process crashes, not power
                          * loss); default FULL (fsync per committed batch) */
    int shards;          /* > 0: the dataset's shard count; rows inserted without a shard
                          * get lh_shard_key(entity_id, shards), so flushes group by
                          * shard. 0: a NULL shard stays NULL. */
    bool existing;       /* SQLite: open the file only if it exists (LH_ERR_NOT_FOUND
                          * otherwise), for readers that must not make one */
} lh_journal_options;

/* Open (and create if needed) the journal of dataset at uri. opts may be NULL. */
lh_status lh_journal_open(const char *uri, const char *dataset, const lh_journal_options *opts,
                          lh_journal **out, lh_error *err);
void lh_journal_free(lh_journal *j);

/* "journal_{dataset}" */
const char *lh_journal_table(const lh_journal *j);
/* true for PostgreSQL, false for SQLite */
bool lh_journal_is_postgres(const lh_journal *j);
/* true for an in-memory SQLite journal, whose rows die with the handle */
bool lh_journal_is_memory(const lh_journal *j);
/* LH_OK if rows can go in (a postgres journal's table is made now if it
 * is not there); else the error an insert would give (a dataset name too
 * long for a postgres journal, a role that may not CREATE), for a writer
 * to refuse before it reads its input or makes its dataset. */
lh_status lh_journal_check_writable(lh_journal *j, lh_error *err);

/* Append rows in one transaction (SQLite) / one COPY (PostgreSQL). Durable
 * and acknowledged when LH_OK is returned; nothing is written on failure.
 * canonical_id is not stored (it equals entity_id); role "" is stored NULL;
 * a NULL shard is derived from entity_id when the options gave shards > 0.
 * Required fields (id, entity_id, dataset, bucket, origin, schema, prop,
 * value) must be non-NULL: LH_ERR_INVALID names the row and column. */
lh_status lh_journal_insert(lh_journal *j, const lh_statement *rows, size_t n, lh_error *err);
static inline lh_status lh_journal_insert_batch(lh_journal *j, const lh_stmt_batch *b,
                                                lh_error *err)
{
    return lh_journal_insert(j, b->rows, b->len, err);
}

/* Buffered writer over a handle: add() copies the row and inserts every
 * batch_size rows (0 = 10,000); flush() inserts what is buffered; free()
 * drops unflushed rows (call flush first to keep them). */
typedef struct lh_journal_writer lh_journal_writer;
lh_journal_writer *lh_journal_writer_new(lh_journal *j, size_t batch_size);
lh_status lh_journal_writer_add(lh_journal_writer *w, const lh_statement *s, lh_error *err);
lh_status lh_journal_writer_flush(lh_journal_writer *w, lh_error *err);
size_t lh_journal_writer_pending(const lh_journal_writer *w);
void lh_journal_writer_free(lh_journal_writer *w);

typedef struct lh_journal_flush_stats {
    int64_t rows;     /* rows handed to the consumer (re-deliveries counted) */
    int64_t batches;  /* consumer calls */
    int segments;     /* segments drained and dropped */
} lh_journal_flush_stats;

/* Rotate the live table into a segment, then drain every segment (leftovers
 * of failed or killed flushes first, oldest first): rows go to fn in batches
 * of at most batch_size rows (0 = 100,000), ordered by shard, entity_id, id
 * within a segment (rows without a shard sort first on SQLite, last on
 * PostgreSQL); a batch never spans two segments. A segment is dropped after fn
 * returned LH_OK for all its rows. Waits for a concurrent flush of the same
 * dataset. stats may be NULL. */
lh_status lh_journal_flush(lh_journal *j, size_t batch_size, lh_journal_consumer fn, void *ctx,
                           lh_journal_flush_stats *stats, lh_error *err);

/* Called once a segment's last batch was accepted, before the segment is
 * dropped: a consumer that buffers or writes asynchronously makes the rows
 * durable here (anything but LH_OK keeps the segment and aborts the flush). */
typedef lh_status (*lh_journal_segment_done)(void *ctx, const char *segment, lh_error *err);
/* Asked before a segment left by an earlier flush is read: *done when its
 * rows are in the store already (that flush made them durable, then failed
 * to drop the segment, e.g. on a full disk); the segment is then dropped
 * unread. rotated_us: when the segment was rotated (its commit came after). */
typedef lh_status (*lh_journal_segment_stored)(void *ctx, const char *segment, int64_t rotated_us,
                                               bool *done, lh_error *err);

typedef struct lh_journal_flush_opts {
    size_t batch_size;                  /* rows per consumer call; 0 = 100,000 */
    bool unordered;                     /* rows in storage order: no sort in the
                                         * database (the consumer sorts) */
    lh_journal_segment_done segment_done; /* may be NULL */
    lh_journal_segment_stored segment_stored; /* may be NULL */
} lh_journal_flush_opts;

/* lh_journal_flush with options. */
lh_status lh_journal_flush_with(lh_journal *j, const lh_journal_flush_opts *o,
                                lh_journal_consumer fn, void *ctx,
                                lh_journal_flush_stats *stats, lh_error *err);

/* Rows in the live table and all segments (SQLite: one snapshot;
 * PostgreSQL: may over-count rows a concurrent rotation is moving). */
lh_status lh_journal_count(lh_journal *j, int64_t *out, lh_error *err);

/* Every row of the live table, then of the segments, unordered, in batches
 * of at most batch_size (0 = 100,000). Not destructive. SQLite reads one
 * snapshot; on PostgreSQL a concurrent flush may make rows appear twice,
 * never be missed (rows drained meanwhile have left the journal). */
lh_status lh_journal_iterate(lh_journal *j, size_t batch_size, lh_journal_consumer fn, void *ctx,
                             lh_error *err);

/* Live (deleted_at IS NULL) rows of one entity across segments and the live
 * table (the reference's iterate_entity; a full scan: the journal has no
 * index by entity). */
lh_status lh_journal_iterate_entity(lh_journal *j, const char *entity_id, lh_journal_consumer fn,
                                    void *ctx, lh_error *err);
/* The same for n entities at once, filtered in the database: one scan per
 * table whatever n, rows in batches of at most 100,000. */
lh_status lh_journal_iterate_entities(lh_journal *j, const char *const *entity_ids, size_t n,
                                      lh_journal_consumer fn, void *ctx, lh_error *err);

/* Drop all segments and delete all live rows; *deleted (may be NULL) gets the
 * row count removed. Takes the flush lock. */
lh_status lh_journal_clear(lh_journal *j, int64_t *deleted, lh_error *err);

#endif
