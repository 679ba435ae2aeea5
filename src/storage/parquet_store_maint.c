/* ParquetStore maintenance: merge, compact, vacuum, destroy, unlock. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lh/core/mem.h"
#include "lh/core/str.h"
#include "lh/core/timeutil.h"
#include "lh/format/pq_reader.h"
#include "lh/storage/fence.h"
#include "pstore_internal.h"

/* Merged partitions per Delta commit, as the reference: one commit each
 * would bloat the log, one for all would redo everything after a crash. */
#define MERGE_COMMIT_BATCH 64
/* Rows a worker reads between progress reports. */
#define PROGRESS_ROWS 16384

lh_status lh_pstore_needs_merge(lh_pstore *ps, bool *needs, lh_error *err)
{
    *needs = false;
    lh_delta_snapshot *snap = NULL;
    lh_parts parts;
    LH_TRY(lh_pstore_parts(ps, &snap, &parts, err));
    for (size_t i = 0; i < parts.len; i++)
        if (!parts.items[i].clean) *needs = true;
    lh_parts_free(&parts);
    lh_delta_snapshot_free(snap);
    return LH_OK;
}

/* One partition's rewrite: its new file (none when every row was reaped),
 * filled by a worker thread. */
typedef struct slot {
    const lh_part *p;
    bool has_add;
    lh_delta_add add;
    lh_arena arena;
    lh_status rc;
    lh_error err;
    lh_pstore_report rep;
} slot;

/* The new files of the successful slots, which no commit references. */
static void discard_slots(lh_pstore *ps, const slot *slots, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (slots[i].rc == LH_OK && slots[i].has_add) lh_pstore_discard_adds(ps, &slots[i].add, 1);
}

/* Commit the successful slots as one dataChange=false transaction; *version
 * gets its version (unchanged when there was nothing to commit). A commit
 * that did not reach the log deletes their files. */
static lh_status commit_slots(lh_pstore *ps, const lh_delta_snapshot *snap, slot *slots,
                              size_t n, lh_pstore_report *rep, int64_t *version, lh_error *err)
{
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) ok += slots[i].rc == LH_OK;
    if (!ok) return LH_OK;
    lh_delta_txn *txn = NULL;
    lh_status rc = lh_delta_txn_new(ps->st, ps->table, snap, &txn, err);
    if (rc != LH_OK) {
        discard_slots(ps, slots, n);
        return rc;
    }
    int64_t now = lh_now_us() / 1000;
    for (size_t i = 0; rc == LH_OK && i < n; i++) {
        slot *sl = &slots[i];
        if (sl->rc != LH_OK) continue;
        if (sl->has_add) {
            rc = lh_delta_txn_add(txn, &sl->add, err);
            if (rep) rep->files_added++;
        }
        for (size_t f = 0; rc == LH_OK && f < sl->p->num_files; f++) {
            rc = lh_delta_txn_remove(txn, sl->p->files[f], false, now, err);
            if (rep) rep->files_removed++;
        }
    }
    if (rc == LH_OK) {
        lh_delta_txn_set_operation(txn, "OPTIMIZE", NULL, 0);
        rc = lh_delta_txn_commit(txn, version, err);
    }
    if (rc != LH_OK && lh_delta_txn_outcome(txn, NULL) == LH_DELTA_NOT_COMMITTED)
        discard_slots(ps, slots, n);
    lh_delta_txn_free(txn);
    return rc;
}

/* Rewrite one partition entity by entity: dedupe (merge) or keep every row
 * (compact). Streams: one row group per input file, and two batches of
 * output rows while the pipe's thread writes one of them. Output rows are
 * not copied: they point into the input row groups, which the batches hold
 * once spent (so a few row groups per file at most). */
static lh_status rewrite_part(lh_pstore *ps, bool dedupe, int64_t cutoff, bool threaded,
                              slot *sl)
{
    lh_error *err = &sl->err;
    lh_entity_stream *es = NULL;
    LH_TRY(lh_entity_stream_open(ps, sl->p, 1, NULL, 0, NULL, &es, err));
    lh_part_pipe *pipe = lh_part_pipe_new(ps, dedupe ? LH_MERGED_PREFIX : "part", false, threaded);
    lh_status rc = LH_OK;
    uint64_t unreported = 0;
    for (;;) {
        lh_stmt_batch *b = lh_part_pipe_batch(pipe);
        size_t start = b->len, n = 0;
        rc = lh_entity_stream_next_shallow(es, b, &n, err);
        if (rc != LH_OK || n == 0) break;
        sl->rep.rows_in += n;
        if ((unreported += n) >= PROGRESS_ROWS) {
            lh_pstore_report_progress(ps, unreported);
            unreported = 0;
        }
        lh_stmt_sort(b->rows + start, n);
        if (dedupe) n = lh_stmt_dedupe(b->rows + start, n, cutoff);
        b->len = start + n; /* reaped rows' strings stay in the arena until sent */
        sl->rep.rows_out += n;
        if (lh_part_pipe_full(pipe)) rc = lh_part_pipe_send(pipe, err);
        if (rc != LH_OK) break;
    }
    lh_pstore_report_progress(ps, unreported);
    /* every row reaped: no file, the partition just goes */
    if (rc == LH_OK) rc = lh_part_pipe_finish(pipe, &sl->arena, &sl->add, &sl->has_add, err);
    lh_part_pipe_free(pipe);
    lh_entity_stream_free(es);
    return rc;
}

typedef struct pool {
    lh_pstore *ps;
    bool dedupe;
    int64_t cutoff;
    bool threaded; /* a writer thread per partition */
    slot *slots;
} pool;

static void rewrite_slot(void *ctx, size_t i)
{
    pool *pl = ctx;
    pl->slots[i].rc = rewrite_part(pl->ps, pl->dedupe, pl->cutoff, pl->threaded, &pl->slots[i]);
}

typedef struct tasks {
    void (*fn)(void *ctx, size_t i);
    void *ctx;
    size_t n;
    size_t *order; /* the tasks in the order they are handed out */
    size_t next;   /* atomic */
} tasks;

static void *worker(void *arg)
{
    tasks *t = arg;
    for (;;) {
        size_t i = __atomic_fetch_add(&t->next, 1, __ATOMIC_RELAXED);
        if (i >= t->n) break;
        t->fn(t->ctx, t->order[i]);
    }
    return NULL;
}

typedef struct sized_task {
    uint64_t size;
    size_t i;
} sized_task;

static int larger_first(const void *a, const void *b)
{
    const sized_task *x = a, *y = b;
    if (x->size != y->size) return x->size < y->size ? 1 : -1;
    return (x->i > y->i) - (x->i < y->i);
}

size_t lh_pstore_workers(const lh_pstore *ps)
{
    long n = ps->opts.workers > 0 ? ps->opts.workers : sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 64 ? 64 : (size_t)n;
}

void lh_pstore_run_tasks(lh_pstore *ps, size_t n, const uint64_t *sizes,
                         void (*fn)(void *ctx, size_t i), void *ctx)
{
    size_t nthreads = lh_pstore_workers(ps);
    /* Largest first: partitions of one lake differ twentyfold in size (by
     * bucket), and a worker that drew a large one last would finish alone
     * while the others idle. */
    sized_task *st = lh_calloc(n ? n : 1, sizeof *st);
    for (size_t i = 0; i < n; i++) st[i] = (sized_task){sizes ? sizes[i] : 0, i};
    qsort(st, n, sizeof *st, larger_first);
    size_t *order = lh_calloc(n ? n : 1, sizeof *order);
    for (size_t i = 0; i < n; i++) order[i] = st[i].i;
    free(st);
    tasks t = {fn, ctx, n, order, 0};
    if (nthreads > n) nthreads = n;
    pthread_t th[64];
    size_t started = 0;
    for (size_t k = 1; k < nthreads; k++)
        if (pthread_create(&th[started], NULL, worker, &t) == 0) started++;
    worker(&t); /* this thread works too */
    for (size_t k = 0; k < started; k++) pthread_join(th[k], NULL);
    free(order);
}

/* Rewrite slots[0..n) on a few threads; every slot gets its rc. */
static void run_slots(lh_pstore *ps, bool dedupe, int64_t cutoff, slot *slots, size_t n)
{
    uint64_t *sizes = lh_calloc(n, sizeof *sizes);
    for (size_t i = 0; i < n; i++) sizes[i] = slots[i].p->bytes;
    /* LAKEHOUSE_WORKERS=1: one thread does everything */
    pool pl = {ps, dedupe, cutoff, lh_pstore_workers(ps) > 1, slots};
    lh_pstore_run_tasks(ps, n, sizes, rewrite_slot, &pl);
    free(sizes);
}

/* As the reference after a merge (and after a compaction too): a
 * checkpoint of the table at version, so that readers load one small
 * parquet file instead of replaying every JSON commit (after a bulk
 * import's commit of hundreds of files, most of a lookup's log reading). A
 * failure is reported, not fatal: the rewrite stands and readers just
 * replay the log. */
void lh_pstore_checkpoint(lh_pstore *ps, int64_t version, lh_pstore_report *rep)
{
    lh_error e;
    lh_delta_snapshot *s = NULL;
    lh_status rc = lh_delta_snapshot_load(ps->st, ps->table, version, &s, &e);
    if (rc == LH_OK) rc = lh_delta_checkpoint_write(ps->st, s, &e);
    lh_delta_snapshot_free(s);
    if (!rep) return;
    if (rc == LH_OK) rep->checkpoint_version = version;
    else rep->checkpoint_error = e;
}

static lh_status rewrite(lh_pstore *ps, bool merge, bool force, lh_pstore_report *rep,
                         lh_error *err)
{
    if (rep) {
        memset(rep, 0, sizeof *rep);
        rep->checkpoint_version = -1;
    }
    int64_t version = -1; /* of the last commit */
    lh_delta_snapshot *snap = NULL;
    lh_parts parts;
    LH_TRY(lh_pstore_parts(ps, &snap, &parts, err));
    if (!snap) return LH_OK;
    lh_status rc = lh_pstore_check_rewritable(ps, snap, err);
    if (rc != LH_OK) {
        lh_parts_free(&parts);
        lh_delta_snapshot_free(snap);
        return rc;
    }
    int64_t cutoff = lh_now_us() - (int64_t)ps->opts.grace_period_days * 86400LL * 1000000LL;
    slot *slots = lh_calloc(MERGE_COMMIT_BATCH, sizeof *slots);
    size_t i = 0;
    while (rc == LH_OK && i < parts.len) {
        /* the next batch of partitions to rewrite */
        size_t n = 0;
        for (; i < parts.len && n < MERGE_COMMIT_BATCH; i++) {
            const lh_part *p = &parts.items[i];
            bool todo = merge ? (force || !p->clean) : p->num_files > 1;
            if (!todo) {
                if (rep) rep->skipped++;
                continue;
            }
            memset(&slots[n], 0, sizeof slots[n]);
            slots[n].p = p;
            lh_arena_init(&slots[n].arena, 4096);
            n++;
        }
        if (!n) break;
        run_slots(ps, merge, cutoff, slots, n);
        for (size_t k = 0; k < n; k++) {
            if (slots[k].rc != LH_OK && rc == LH_OK) {
                *err = slots[k].err;
                rc = slots[k].rc;
            }
            if (rep && slots[k].rc == LH_OK) {
                rep->partitions++;
                rep->rows_in += slots[k].rep.rows_in;
                rep->rows_out += slots[k].rep.rows_out;
            }
        }
        /* also after a failure: commit what finished, so the next run resumes */
        lh_error e2;
        lh_status crc = commit_slots(ps, snap, slots, n, rep, &version, rc == LH_OK ? err : &e2);
        if (rc == LH_OK) rc = crc;
        for (size_t k = 0; k < n; k++) lh_arena_free(&slots[k].arena);
    }
    free(slots);
    lh_parts_free(&parts);
    lh_delta_snapshot_free(snap);
    if (rc == LH_OK && version >= 0) lh_pstore_checkpoint(ps, version, rep);
    return rc;
}

lh_status lh_pstore_merge(lh_pstore *ps, bool force, lh_pstore_report *rep, lh_error *err)
{
    lh_fence *f = NULL;
    LH_TRY(lh_fence_acquire(ps->st, ps->dataset, LH_FENCE_MERGE, ps->opts.lock_max_retries, &f,
                            err));
    return lh_fence_release_keep(f, rewrite(ps, true, force, rep, err), err);
}

lh_status lh_pstore_compact(lh_pstore *ps, lh_pstore_report *rep, lh_error *err)
{
    lh_fence *f = NULL;
    LH_TRY(lh_fence_acquire(ps->st, ps->dataset, LH_FENCE_MERGE, ps->opts.lock_max_retries, &f,
                            err));
    return lh_fence_release_keep(f, rewrite(ps, false, false, rep, err), err);
}

/* .LOCK (appends drained) plus .LOCK-MERGE. */
lh_status lh_pstore_maintenance_fence(lh_pstore *ps, lh_fence_life life, lh_fence **lock,
                                      lh_fence **merge, lh_error *err)
{
    LH_TRY(lh_fence_acquire_exclusive(ps->st, ps->dataset, life, ps->opts.lock_max_retries, lock,
                                      err));
    lh_status rc = lh_fence_acquire_life(ps->st, ps->dataset, LH_FENCE_MERGE, life,
                                         ps->opts.lock_max_retries, merge, err);
    if (rc != LH_OK) {
        lh_error e2;
        lh_fence_release(*lock, &e2);
    }
    return rc;
}

lh_status lh_pstore_fenced(lh_pstore *ps, lh_pstore_fenced_fn fn, void *ctx, lh_error *err)
{
    bool exists = false;
    LH_TRY(lh_pstore_exists(ps, &exists, err));
    if (!exists) return LH_OK;
    lh_fence *lock = NULL, *merge = NULL;
    LH_TRY(lh_pstore_maintenance_fence(ps, LH_FENCE_LEASED, &lock, &merge, err));
    lh_status rc = fn(ps, ctx, err);
    rc = lh_fence_release_keep(merge, rc, err);
    return lh_fence_release_keep(lock, rc, err);
}

typedef struct vacuum_job {
    int retention_hours;
    size_t *deleted, *debris;
} vacuum_job;

/* What killed writers left elsewhere in the dataset (an export's half
 * statements.csv can be gigabytes) goes once it is this old: under the
 * fence no export runs, and the writers outside it (configure, tags, the
 * queue, a lock being taken) write small files in well under that. */
#define DEBRIS_MIN_AGE_MS (60LL * 1000)

static lh_status vacuum_fenced(lh_pstore *ps, void *ctx, lh_error *err)
{
    vacuum_job *j = ctx;
    int64_t now = lh_now_us() / 1000;
    int64_t retention_ms = (int64_t)j->retention_hours * 3600000LL;
    LH_TRY(lh_delta_vacuum(ps->st, ps->table, retention_ms, now, false, NULL, j->deleted, err));
    /* The fence is held: no writer of ours is mid-file in the table, whose
     * debris goes at the retention; with a retention of a minute or more
     * the dataset-wide pass below has that cutoff and walks the table too. */
    if (retention_ms < DEBRIS_MIN_AGE_MS)
        LH_TRY(lh_storage_remove_debris(ps->st, ps->table, now - retention_ms, false, j->debris,
                                        err));
    int64_t age = retention_ms > DEBRIS_MIN_AGE_MS ? retention_ms : DEBRIS_MIN_AGE_MS;
    size_t elsewhere = 0;
    lh_status rc = lh_storage_remove_debris(ps->st, ps->dataset, now - age, false, &elsewhere, err);
    *j->debris += elsewhere;
    return rc;
}

lh_status lh_pstore_vacuum(lh_pstore *ps, int retention_hours, size_t *deleted, size_t *debris,
                           lh_error *err)
{
    *deleted = 0;
    size_t ignored;
    if (!debris) debris = &ignored;
    *debris = 0;
    vacuum_job j = {retention_hours, deleted, debris};
    return lh_pstore_fenced(ps, vacuum_fenced, &j, err);
}

/* Rows in file f: its stats' numRecords, else its footer's count (a writer
 * may leave stats out). */
static lh_status file_rows(lh_pstore *ps, const lh_delta_file *f, int64_t *rows, lh_error *err)
{
    *rows = lh_delta_file_num_records(f);
    if (*rows >= 0) return LH_OK;
    lh_buf key = LH_BUF_INIT;
    lh_buf_printf(&key, "%s/%s", ps->table, f->path);
    lh_pq_reader *r = NULL;
    lh_status rc = lh_pq_reader_open(ps->st, key.data, &r, err);
    if (rc == LH_OK) *rows = lh_pq_reader_meta(r)->num_rows;
    lh_pq_reader_free(r);
    lh_buf_free(&key);
    return rc;
}

/* As the reference's (a delta-rs DELETE on the partition column): every
 * file of the origin removed with dataChange=true in one commit, so
 * readers see all of its rows or none; no commit when it has none. */
typedef struct drop_job {
    const char *origin;
    int64_t *deleted;
} drop_job;

static lh_status drop_origin(lh_pstore *ps, void *ctx, lh_error *err)
{
    const drop_job *j = ctx;
    const char *origin = j->origin;
    int64_t *deleted = j->deleted;
    lh_delta_snapshot *snap = NULL;
    LH_TRY(lh_pstore_snapshot(ps, &snap, err));
    if (!snap) return LH_OK;
    lh_status rc = LH_OK;
    size_t n = lh_delta_snapshot_num_files(snap), removed = 0;
    lh_delta_txn *txn = NULL;
    int64_t now = lh_now_us() / 1000;
    for (size_t i = 0; rc == LH_OK && i < n; i++) {
        const lh_delta_file *f = lh_delta_snapshot_file(snap, i);
        const char *v = lh_delta_map_get(&f->partition_values, "origin", NULL);
        if (!v || strcmp(v, origin) != 0) continue;
        int64_t rows = 0;
        rc = file_rows(ps, f, &rows, err);
        if (rc == LH_OK && !txn) rc = lh_delta_txn_new(ps->st, ps->table, snap, &txn, err);
        if (rc == LH_OK) rc = lh_delta_txn_remove(txn, f, true, now, err);
        if (rc == LH_OK) {
            *deleted += rows;
            removed++;
        }
    }
    if (rc == LH_OK && txn) {
        /* an add into the origin meanwhile (a writer that ignores the
         * fence) is a conflict, not silently kept or lost */
        lh_delta_kv part = {"origin", origin};
        lh_delta_txn_read_partition(txn, &part, 1);
        lh_buf pred = LH_BUF_INIT, metrics = LH_BUF_INIT;
        lh_buf_printf(&pred, "origin = '%s'", origin); /* no quotes in an origin */
        lh_delta_kv param = {"predicate", pred.data};
        lh_delta_txn_set_operation(txn, "DELETE", &param, 1);
        lh_buf_printf(&metrics,
                      "{\"num_added_files\":0,\"num_removed_files\":%zu,"
                      "\"num_deleted_rows\":%lld,\"num_copied_rows\":0}",
                      removed, (long long)*deleted);
        lh_delta_txn_set_info_json(txn, "operationMetrics", metrics.data);
        int64_t version = -1;
        rc = lh_delta_txn_commit(txn, &version, err);
        lh_buf_free(&pred);
        lh_buf_free(&metrics);
    }
    if (rc != LH_OK) *deleted = 0;
    lh_delta_txn_free(txn);
    lh_delta_snapshot_free(snap);
    return rc;
}

lh_status lh_pstore_delete_origin(lh_pstore *ps, const char *origin, int64_t *deleted,
                                  lh_error *err)
{
    *deleted = 0;
    LH_TRY(lh_name_check(origin, "origin", true, err));
    drop_job j = {origin, deleted};
    return lh_pstore_fenced(ps, drop_origin, &j, err);
}

lh_status lh_pstore_destroy(lh_pstore *ps, lh_error *err)
{
    lh_fence *lock = NULL, *merge = NULL;
    LH_TRY(lh_pstore_maintenance_fence(ps, LH_FENCE_LEASED, &lock, &merge, err));
    /* the log first, in an order that a kill leaves the table whole or
     * gone: from then on there is no table, whatever remains */
    lh_status rc = lh_delta_delete_log(ps->st, ps->table, err);
    if (rc == LH_OK) rc = lh_storage_delete_prefix(ps->st, ps->table, err);
    size_t debris = 0;
    if (rc == LH_OK) rc = lh_storage_remove_debris(ps->st, ps->table, INT64_MAX, false, &debris, err);
    rc = lh_fence_release_keep(merge, rc, err);
    return lh_fence_release_keep(lock, rc, err);
}

lh_status lh_pstore_unlock(lh_pstore *ps, bool *released, lh_error *err)
{
    return lh_fence_unlock(ps->st, ps->dataset, released, err);
}
