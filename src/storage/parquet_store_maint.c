/* ParquetStore maintenance: merge, compact, vacuum, destroy, unlock. */
#include <stdlib.h>
#include <string.h>

#include "lh/core/mem.h"
#include "lh/core/timeutil.h"
#include "lh/storage/fence.h"
#include "pstore_internal.h"

/* Merged partitions per Delta commit, as the reference: one commit each
 * would bloat the log, one for all would redo everything after a crash. */
#define MERGE_COMMIT_BATCH 64

lh_status lh_pstore_needs_merge(lh_pstore *ps, bool *needs, lh_error *err)
{
    *needs = false;
    lh_delta_snapshot *snap = NULL;
    LH_TRY(lh_pstore_snapshot(ps, &snap, err));
    if (!snap) return LH_OK;
    lh_parts parts;
    lh_status rc = lh_parts_of(snap, &parts, err);
    for (size_t i = 0; rc == LH_OK && i < parts.len; i++)
        if (!parts.items[i].clean) *needs = true;
    lh_parts_free(&parts);
    lh_delta_snapshot_free(snap);
    return rc;
}

/* Pending rewrites, committed together. */
typedef struct pending {
    const lh_part *parts[MERGE_COMMIT_BATCH];
    lh_delta_add adds[MERGE_COMMIT_BATCH];
    bool has_add[MERGE_COMMIT_BATCH];
    size_t len;
    lh_arena arena;
} pending;

static lh_status commit_pending(lh_pstore *ps, const lh_delta_snapshot *snap, pending *pd,
                                const char *operation, lh_pstore_report *rep, lh_error *err)
{
    if (!pd->len) return LH_OK;
    lh_delta_txn *txn = NULL;
    LH_TRY(lh_delta_txn_new(ps->st, ps->table, snap, &txn, err));
    lh_status rc = LH_OK;
    int64_t now = lh_now_us() / 1000;
    for (size_t i = 0; rc == LH_OK && i < pd->len; i++) {
        if (pd->has_add[i]) {
            rc = lh_delta_txn_add(txn, &pd->adds[i], err);
            if (rep) rep->files_added++;
        }
        for (size_t f = 0; rc == LH_OK && f < pd->parts[i]->num_files; f++) {
            rc = lh_delta_txn_remove(txn, pd->parts[i]->files[f], false, now, err);
            if (rep) rep->files_removed++;
        }
    }
    if (rc == LH_OK) {
        lh_delta_txn_set_operation(txn, operation, NULL, 0);
        int64_t v;
        rc = lh_delta_txn_commit(txn, &v, err);
    }
    lh_delta_txn_free(txn);
    pd->len = 0;
    lh_arena_reset(&pd->arena);
    return rc;
}

/* Rewrite one partition entity by entity: dedupe (merge) or keep every row
 * (compact). Streams: one row group per input file plus one entity. */
static lh_status rewrite_part(lh_pstore *ps, const lh_part *p, bool dedupe, int64_t cutoff,
                              pending *pd, lh_pstore_report *rep, lh_error *err)
{
    lh_entity_stream *es = NULL;
    LH_TRY(lh_entity_stream_open(ps, p, 1, NULL, 0, &es, err));
    lh_part_writer *pw = NULL;
    lh_status rc = LH_OK;
    for (;;) {
        lh_statement *rows;
        size_t n;
        rc = lh_entity_stream_next(es, &rows, &n, err);
        if (rc != LH_OK || n == 0) break;
        if (rep) rep->rows_in += n;
        lh_stmt_sort(rows, n);
        if (dedupe) n = lh_stmt_dedupe(rows, n, cutoff);
        if (rep) rep->rows_out += n;
        if (n && !pw)
            rc = lh_part_writer_open(ps, dedupe ? LH_MERGED_PREFIX : "part", &rows[0], false,
                                     &pw, err);
        if (rc == LH_OK && n) rc = lh_part_writer_add(pw, rows, n, err);
        if (rc != LH_OK) break;
    }
    size_t i = pd->len;
    if (rc == LH_OK) {
        pd->parts[i] = p;
        pd->has_add[i] = pw != NULL; /* every row reaped: the partition just goes */
        if (pw) rc = lh_part_writer_finish(pw, &pd->arena, &pd->adds[i], err);
        if (rc == LH_OK) pd->len++;
    }
    lh_part_writer_free(pw);
    lh_entity_stream_free(es);
    return rc;
}

static lh_status rewrite(lh_pstore *ps, bool merge, bool force, lh_pstore_report *rep,
                         lh_error *err)
{
    if (rep) memset(rep, 0, sizeof *rep);
    lh_delta_snapshot *snap = NULL;
    LH_TRY(lh_pstore_snapshot(ps, &snap, err));
    if (!snap) return LH_OK;
    lh_parts parts;
    lh_status rc = lh_parts_of(snap, &parts, err);
    if (rc != LH_OK) {
        lh_delta_snapshot_free(snap);
        return rc;
    }
    int64_t cutoff = lh_now_us() - (int64_t)ps->opts.grace_period_days * 86400LL * 1000000LL;
    pending pd = {0};
    lh_arena_init(&pd.arena, 16 * 1024);
    for (size_t i = 0; rc == LH_OK && i < parts.len; i++) {
        const lh_part *p = &parts.items[i];
        bool todo = merge ? (force || !p->clean) : p->num_files > 1;
        if (!todo) {
            if (rep) rep->skipped++;
            continue;
        }
        rc = rewrite_part(ps, p, merge, cutoff, &pd, rep, err);
        if (rc == LH_OK && rep) rep->partitions++;
        if (rc == LH_OK && pd.len == MERGE_COMMIT_BATCH)
            rc = commit_pending(ps, snap, &pd, merge ? "OPTIMIZE" : "OPTIMIZE", rep, err);
    }
    /* also after a failure: commit what finished, so the next run resumes */
    lh_error e2;
    lh_status crc = commit_pending(ps, snap, &pd, "OPTIMIZE", rep, rc == LH_OK ? err : &e2);
    if (rc == LH_OK) rc = crc;
    lh_arena_free(&pd.arena);
    lh_parts_free(&parts);
    lh_delta_snapshot_free(snap);
    return rc;
}

static lh_status release_keep(lh_fence *f, lh_status rc, lh_error *err)
{
    lh_error e2;
    lh_status rel = lh_fence_release(f, &e2);
    if (rc == LH_OK && rel != LH_OK) {
        *err = e2;
        return rel;
    }
    return rc;
}

lh_status lh_pstore_merge(lh_pstore *ps, bool force, lh_pstore_report *rep, lh_error *err)
{
    lh_fence *f = NULL;
    LH_TRY(lh_fence_acquire(ps->st, ps->dataset, LH_FENCE_MERGE, ps->opts.lock_max_retries, &f,
                            err));
    return release_keep(f, rewrite(ps, true, force, rep, err), err);
}

lh_status lh_pstore_compact(lh_pstore *ps, lh_pstore_report *rep, lh_error *err)
{
    lh_fence *f = NULL;
    LH_TRY(lh_fence_acquire(ps->st, ps->dataset, LH_FENCE_MERGE, ps->opts.lock_max_retries, &f,
                            err));
    return release_keep(f, rewrite(ps, false, false, rep, err), err);
}

/* .LOCK (appends drained) plus .LOCK-MERGE. */
static lh_status maintenance_fence(lh_pstore *ps, lh_fence **lock, lh_fence **merge,
                                   lh_error *err)
{
    LH_TRY(lh_fence_acquire_exclusive(ps->st, ps->dataset, ps->opts.lock_max_retries, lock, err));
    lh_status rc = lh_fence_acquire(ps->st, ps->dataset, LH_FENCE_MERGE,
                                    ps->opts.lock_max_retries, merge, err);
    if (rc != LH_OK) {
        lh_error e2;
        lh_fence_release(*lock, &e2);
    }
    return rc;
}

lh_status lh_pstore_vacuum(lh_pstore *ps, int retention_hours, size_t *deleted, lh_error *err)
{
    *deleted = 0;
    bool exists = false;
    LH_TRY(lh_pstore_exists(ps, &exists, err));
    if (!exists) return LH_OK;
    lh_fence *lock = NULL, *merge = NULL;
    LH_TRY(maintenance_fence(ps, &lock, &merge, err));
    int64_t now = lh_now_us() / 1000;
    lh_status rc = lh_delta_vacuum(ps->st, ps->table, (int64_t)retention_hours * 3600000LL, now,
                                   false, NULL, deleted, err);
    rc = release_keep(merge, rc, err);
    return release_keep(lock, rc, err);
}

lh_status lh_pstore_destroy(lh_pstore *ps, lh_error *err)
{
    lh_fence *lock = NULL, *merge = NULL;
    LH_TRY(maintenance_fence(ps, &lock, &merge, err));
    /* the log first: from then on there is no table, whatever remains */
    lh_buf log = LH_BUF_INIT;
    lh_buf_printf(&log, "%s/_delta_log", ps->table);
    lh_status rc = lh_storage_delete_prefix(ps->st, log.data, err);
    if (rc == LH_OK) rc = lh_storage_delete_prefix(ps->st, ps->table, err);
    lh_buf_free(&log);
    rc = release_keep(merge, rc, err);
    return release_keep(lock, rc, err);
}

lh_status lh_pstore_unlock(lh_pstore *ps, bool *released, lh_error *err)
{
    return lh_fence_unlock(ps->st, ps->dataset, released, err);
}
