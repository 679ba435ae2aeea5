/* Storage faults (fsync failing with ENOSPC / EIO) at every fsync of an
 * append, a transaction, a merge, a compact and a re-shard: a failed write leaves the
 * table at its old version, readable, with the old rows, and `check` finds
 * nothing wrong (orphans allowed); the next write succeeds. A fault after
 * the commit landed (the log directory's fsync) fails the call with the new
 * version in place and every file it references kept. A destroy stopped
 * after any of its deletes leaves the table as it was or no table. */
#include <errno.h>

#include "lh/core/storage.h"
#include "lh/format/delta.h"
#include "lh/repository/check.h"
#include "lh/storage/parquet_store.h"
#include "test.h"

#define T0 (1700000000LL * 1000000LL)

static void add_rows(lh_stmt_batch *b, const char *tag, int n)
{
    for (int i = 0; i < n; i++) {
        char id[64], ent[64], val[64];
        snprintf(ent, sizeof ent, "%s-%d", tag, i);
        snprintf(id, sizeof id, "%s.name", ent);
        snprintf(val, sizeof val, "Name %s %d", tag, i);
        lh_statement s = {0};
        s.id = id;
        s.entity_id = ent;
        s.dataset = "ds";
        s.bucket = i % 3 ? "thing" : "interval";
        s.origin = i % 2 ? "bulk" : "other";
        s.schema = "Person";
        s.prop = "name";
        s.prop_type = "name";
        s.value = val;
        s.first_seen = s.last_seen = T0 + i;
        s.deleted_at = LH_TS_NULL;
        s.fragment = "";
        lh_stmt_batch_push(b, &s);
    }
}

static lh_status count_fn(void *ctx, const lh_statement *rows, size_t n, lh_error *err)
{
    *(size_t *)ctx += n;
    return LH_OK;
}

static size_t live_rows(lh_pstore *ps)
{
    size_t n = 0;
    lh_error err;
    CHECK_OK(lh_pstore_query(ps, NULL, count_fn, &n, &err), &err);
    return n;
}

static bool healthy(lh_storage *st, int shards)
{
    lh_check_report rep;
    lh_check_report_init(&rep);
    lh_error err;
    CHECK_OK(lh_check_dataset(st, "ds", shards, NULL, false, &rep, &err), &err);
    bool ok = lh_check_healthy(&rep);
    for (size_t i = 0; i < rep.problems.len; i++) fprintf(stderr, "  %s\n", rep.problems.items[i]);
    lh_check_report_free(&rep);
    return ok;
}

enum op { OP_APPEND, OP_TXN, OP_MERGE, OP_COMPACT, OP_RESHARD, OP_N };
static const char *const op_names[OP_N] = {"append", "txn", "merge", "compact", "reshard"};

#define ROWS_PER_OP 300

/* The shard count re-shard moves the table to (from 4). */
#define RESHARD_TO 16

static lh_status do_op(lh_pstore *ps, enum op op, int round, lh_error *err)
{
    lh_stmt_batch b;
    lh_stmt_batch_init(&b);
    char tag[32];
    snprintf(tag, sizeof tag, "r%d", round);
    /* enough rows for every partition in every round: the ops' fsyncs are
     * the same in number each round, so the sweep reaches the last one */
    add_rows(&b, tag, ROWS_PER_OP);
    lh_status rc = LH_OK;
    lh_pstore_report rep;
    switch (op) {
    case OP_APPEND: rc = lh_pstore_append(ps, &b, err); break;
    case OP_TXN: {
        lh_pstore_txn *t = NULL;
        rc = lh_pstore_txn_begin(ps, &t, err);
        if (rc == LH_OK) rc = lh_pstore_txn_append(t, &b, err);
        if (rc == LH_OK) rc = lh_pstore_txn_commit(t, err);
        lh_pstore_txn_free(t);
        break;
    }
    case OP_MERGE: rc = lh_pstore_merge(ps, true, &rep, err); break;
    case OP_COMPACT: rc = lh_pstore_compact(ps, &rep, err); break;
    case OP_RESHARD: rc = lh_pstore_reshard(ps, RESHARD_TO, &rep, err); break;
    default: break;
    }
    lh_stmt_batch_free(&b);
    return rc;
}

/* A store of 4 shards in a new directory, two appends in it (so merge
 * and compact have several files per partition). workers as the option. */
static lh_pstore *store_new(char **dir, lh_storage **st, int workers)
{
    lh_error err;
    *dir = lh_test_tmpdir();
    *st = NULL;
    CHECK_OK(lh_storage_open(*dir, st, &err), &err);
    lh_pstore_opts o;
    lh_pstore_opts_init(&o);
    o.shards = 4;
    o.lock_max_retries = 0;
    o.workers = workers;
    lh_pstore *ps = NULL;
    CHECK_OK(lh_pstore_open(*st, "ds", &o, &ps, &err), &err);
    CHECK_OK(do_op(ps, OP_APPEND, 1000, &err), &err);
    CHECK_OK(do_op(ps, OP_APPEND, 1001, &err), &err);
    return ps;
}

static void store_free(lh_pstore *ps, lh_storage *st, char *dir)
{
    lh_pstore_free(ps);
    lh_storage_free(st);
    lh_test_rmtree(dir);
    free(dir);
}

/* Fail the nth fsync of op, for n = 1.. until op no longer reaches it. */
static void sweep(enum op op, int errnum, int *faults, int *landed)
{
    char *dir;
    lh_storage *st;
    lh_error err;
    /* A re-shard on threads fsyncs a directory two of them create at once
     * twice (each makes sure of it), so its count of fsyncs varies from run
     * to run and the sweep could step past the one after the commit: one
     * thread keeps it at one count. Merge and compact keep their threads. */
    lh_pstore *ps = store_new(&dir, &st, op == OP_RESHARD ? 1 : 0);
    int layout = 4; /* the shard count the table is laid out for */
    int landed_before = *landed;
    for (int nth = 1; nth < 200; nth++) {
        int64_t v0 = -2, v1 = -2;
        CHECK_OK(lh_pstore_version(ps, &v0, &err), &err);
        size_t rows0 = live_rows(ps);
        lh_storage_fault_fsync(nth, errnum);
        lh_status rc = do_op(ps, op, nth, &err);
        lh_storage_fault_fsync(0, 0);
        CHECK_OK(lh_pstore_version(ps, &v1, &err), &err);
        size_t rows1 = live_rows(ps);
        if (rc == LH_OK) {
            /* the op needs fewer than nth fsyncs: the sweep is complete. Compact
             * may find nothing left: partitions run on worker threads, and
             * those the fault missed were committed by the failing run. */
            CHECK(v1 > v0 || op == OP_COMPACT);
            printf("%s: %d fsync faults (%d after the commit landed), each left the table readable with its rows\n",
                   op_names[op], nth - 1, *landed - landed_before);
            break;
        }
        (*faults)++;
        bool one_commit = op == OP_APPEND || op == OP_TXN;
        if (one_commit && v1 == v0 + 1) {
            /* the fault came after the commit landed: its rows are in */
            CHECK(strstr(err.msg, "in the log all the same") != NULL);
            CHECK_INT(rows1, rows0 + ROWS_PER_OP);
            CHECK(healthy(st, layout));
            (*landed)++;
            continue;
        }
        /* otherwise appends leave the table as it was; merge and compact
         * commit partition by partition (rows unchanged either way), so
         * only they may advance */
        /* a re-shard is one commit too; a fault after it landed (the log
         * directory's fsync) fails the call with the new layout in place */
        if (op == OP_RESHARD && v1 > v0) layout = RESHARD_TO;
        if (op == OP_RESHARD) CHECK(v1 <= v0 + 1);
        if ((one_commit && v1 != v0) || rows1 != rows0)
            fprintf(stderr, "%s, fsync %d failing (%s): version %lld -> %lld, rows %zu -> %zu: %s\n",
                    op_names[op], nth, errnum == ENOSPC ? "ENOSPC" : "EIO", (long long)v0,
                    (long long)v1, rows0, rows1, err.msg);
        if (one_commit) CHECK_INT(v1, v0);
        CHECK(v1 >= v0);
        CHECK_INT(rows1, rows0);
        CHECK(healthy(st, layout));
        /* a stuck fence would fail the next op */
        bool released = true;
        char msg[LH_ERROR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", err.msg);
        CHECK_OK(lh_pstore_unlock(ps, &released, &err), &err);
        if (op == OP_RESHARD && v1 > v0) {
            /* the new layout is committed, its count not recorded: the
             * fence stayed for `unlock`, which finds the count in the log */
            CHECK(strstr(msg, "is or may be committed in 16 shard(s)") != NULL);
            CHECK(released);
            lh_pstore_layout_state state;
            CHECK_OK(lh_pstore_layout_repair(ps, true, &state, &err), &err);
            CHECK_INT(state.committed, RESHARD_TO);
            (*landed)++;
            continue;
        }
        if (released)
            fprintf(stderr, "%s, fsync %d failing: a fence stayed held after: %s\n",
                    op_names[op], nth, msg);
        CHECK(!released);
    }
    CHECK(healthy(st, op == OP_RESHARD ? RESHARD_TO : 4));
    store_free(ps, st, dir);
}

static void test_fsync_faults(void)
{
    int faults = 0;
    for (int op = 0; op < OP_N; op++) {
        int landed = 0;
        sweep((enum op)op, ENOSPC, &faults, &landed);
        /* the errno only changes the message: one op is enough */
        if (op == OP_APPEND) sweep((enum op)op, EIO, &faults, &landed);
        /* the sweep reached the fsync after the commit */
        if (op == OP_APPEND || op == OP_TXN || op == OP_RESHARD) CHECK(landed > 0);
    }
    printf("fsync faults injected: %d\n", faults);
    CHECK(faults > 8);
}

/* The table's state as a reader sees it: its version and live files,
 * version -1 when there is no table, -2 when its log does not replay. */
static void table_state(lh_storage *st, int64_t *version, size_t *files)
{
    lh_delta_snapshot *s = NULL;
    lh_error err;
    lh_status rc = lh_delta_snapshot_load(st, "ds/statements", LH_DELTA_LATEST, &s, &err);
    if (rc == LH_ERR_NOT_FOUND) {
        *version = -1;
        *files = 0;
        return;
    }
    if (rc != LH_OK) {
        fprintf(stderr, "  the log does not replay: %s\n", err.msg);
        *version = -2;
        *files = 0;
        return;
    }
    *version = lh_delta_snapshot_version(s);
    *files = lh_delta_snapshot_num_files(s);
    lh_delta_snapshot_free(s);
}

/* A destroy stopped after its nth delete (the fsync of the directory
 * fails, as if the process were killed there) leaves the table whole, at
 * its last version, or no table: never a log with a gap that no reader
 * replays, nor an older version that replays without the newer commits.
 * Run again, it completes. */
static void test_destroy_faults(void)
{
    int stops = 0, whole = 0, gone = 0;
    for (int nth = 1; nth < 200; nth++) {
        char *dir;
        lh_storage *st;
        lh_error err;
        lh_pstore *ps = store_new(&dir, &st, 0);
        /* commits before a checkpoint (the merge's) and after it */
        CHECK_OK(do_op(ps, OP_MERGE, 1002, &err), &err);
        CHECK_OK(do_op(ps, OP_APPEND, 1003, &err), &err);
        CHECK_OK(do_op(ps, OP_APPEND, 1004, &err), &err);
        int64_t v0, v1;
        size_t files0, files1;
        table_state(st, &v0, &files0);
        lh_storage_fault_fsync(nth, EIO);
        lh_status rc = lh_pstore_destroy(ps, &err);
        lh_storage_fault_fsync(0, 0);
        bool done = rc == LH_OK;
        table_state(st, &v1, &files1);
        if (!done) {
            stops++;
            if (v1 >= 0) whole++;
            else gone++;
            if (v1 != -1 && (v1 != v0 || files1 != files0))
                fprintf(stderr, "destroy stopped at fsync %d: version %lld (%zu files), was %lld (%zu)\n",
                        nth, (long long)v1, files1, (long long)v0, files0);
            CHECK(v1 == -1 || (v1 == v0 && files1 == files0));
            CHECK_OK(lh_pstore_destroy(ps, &err), &err);
            table_state(st, &v1, &files1);
        }
        CHECK_INT(v1, -1);
        store_free(ps, st, dir);
        if (done) break;
    }
    printf("destroy: stopped %d times, the table whole %d times, gone %d times\n", stops, whole,
           gone);
    CHECK(whole > 0 && gone > 0);
}

int main(void)
{
    RUN(test_fsync_faults);
    RUN(test_destroy_faults);
    return lh_test_report();
}
