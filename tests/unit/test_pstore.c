/* ParquetStore end to end on a local lake: append, live reads, merge
 * (dedupe, first_seen fold, tombstones, grace), compact, vacuum, concurrent
 * appends, the fence against maintenance, destroy. */
#include <dirent.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "lh/core/mem.h"
#include "lh/core/storage.h"
#include "lh/core/timeutil.h"
#include "lh/storage/fence.h"
#include "lh/storage/parquet_store.h"
#include "storage/pstore_internal.h"
#include "test.h"

#define DAY (86400LL * 1000000LL)
#define T0 (1700000000LL * 1000000LL)

static void add(lh_stmt_batch *b, const char *ent, const char *prop, const char *value,
                int64_t first, int64_t last, int64_t deleted)
{
    char id[256];
    snprintf(id, sizeof id, "%s.%s.%s", ent, prop, value); /* distinct per value */
    lh_statement s = {0};
    s.id = id;
    s.entity_id = ent;
    s.dataset = "test";
    s.bucket = strcmp(prop, "bodyText") == 0 ? "page" : "thing";
    s.origin = "bulk";
    s.schema = strcmp(prop, "bodyText") == 0 ? "Page" : "Person";
    s.prop = prop;
    s.prop_type = "name";
    s.value = value;
    s.first_seen = first;
    s.last_seen = last;
    s.deleted_at = deleted;
    s.fragment = "";
    lh_stmt_batch_push(b, &s);
}

typedef struct counter {
    size_t entities, rows;
    int64_t first_seen_of_a;
} counter;

static lh_status count_fn(void *ctx, const lh_statement *rows, size_t n, lh_error *err)
{
    counter *c = ctx;
    c->entities++;
    c->rows += n;
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].value, "Alice") == 0) c->first_seen_of_a = rows[i].first_seen;
    return LH_OK;
}

static counter count(lh_pstore *ps, const lh_pstore_filter *q)
{
    counter c = {0};
    lh_error err;
    CHECK_OK(lh_pstore_query(ps, q, count_fn, &c, &err), &err);
    return c;
}

static lh_pstore *open_store(lh_storage *st, int shards)
{
    lh_pstore_opts o;
    lh_pstore_opts_init(&o);
    o.shards = shards;
    o.grace_period_days = 30;
    o.lock_max_retries = 10;
    lh_pstore *ps = NULL;
    lh_error err;
    CHECK_OK(lh_pstore_open(st, "test", &o, &ps, &err), &err);
    return ps;
}

/* A lake in a fresh temporary directory. */
typedef struct scratch_lake {
    char *dir;
    lh_storage *st;
} scratch_lake;

static scratch_lake scratch_open(void)
{
    scratch_lake l = {lh_test_tmpdir(), NULL};
    lh_error err;
    CHECK_OK(lh_storage_open(l.dir, &l.st, &err), &err);
    return l;
}

static void scratch_close(scratch_lake *l)
{
    lh_storage_free(l->st);
    lh_test_rmtree(l->dir);
    free(l->dir);
}

static void test_append_merge_read(void)
{
    scratch_lake lake = scratch_open();
    lh_storage *st = lake.st;
    lh_error err;
    lh_pstore *ps = open_store(st, 8);
    bool exists = true;
    CHECK_OK(lh_pstore_exists(ps, &exists, &err), &err);
    CHECK(!exists);
    CHECK_INT(count(ps, NULL).entities, 0);

    lh_stmt_batch b;
    lh_stmt_batch_init(&b);
    char ent[32];
    for (int i = 0; i < 50; i++) {
        snprintf(ent, sizeof ent, "p%02d", i);
        add(&b, ent, "name", i == 0 ? "Alice" : "Someone", T0 + 5, T0 + 10, LH_TS_NULL);
        add(&b, ent, "country", "de", T0, T0, LH_TS_NULL);
    }
    add(&b, "doc1", "bodyText", "long text", T0, T0, LH_TS_NULL);
    CHECK_OK(lh_pstore_append(ps, &b, &err), &err);
    /* the same again, seen later and earlier: duplicates as extra rows */
    lh_stmt_batch_clear(&b);
    add(&b, "p00", "name", "Alice", T0 + 1, T0 + 20, LH_TS_NULL);
    int64_t now = lh_now_us();
    add(&b, "p01", "country", "de", T0 + 30, now, now); /* tombstone */
    CHECK_OK(lh_pstore_append(ps, &b, &err), &err);

    int64_t rows = 0, version = -1;
    CHECK_OK(lh_pstore_num_rows(ps, &rows, &err), &err);
    CHECK_INT(rows, 103);
    CHECK_OK(lh_pstore_version(ps, &version, &err), &err);
    CHECK_INT(version, 2);
    counter c = count(ps, NULL);
    CHECK_INT(c.entities, 51);
    CHECK_INT(c.rows, 100); /* duplicate collapsed, tombstoned statement hidden */
    CHECK_INT(c.first_seen_of_a, T0 + 1);

    bool needs = false;
    CHECK_OK(lh_pstore_needs_merge(ps, &needs, &err), &err);
    CHECK(needs);
    lh_pstore_report rep;
    CHECK_OK(lh_pstore_merge(ps, false, &rep, &err), &err);
    CHECK(rep.partitions > 0);
    CHECK_INT(rep.rows_in, 103);
    CHECK_INT(rep.rows_out, 101); /* the tombstone is within grace: kept */
    CHECK_OK(lh_pstore_version(ps, &version, &err), &err);
    CHECK_INT(rep.checkpoint_version, version); /* the merge's commit, checkpointed */
    CHECK_OK(lh_pstore_needs_merge(ps, &needs, &err), &err);
    CHECK(!needs);
    /* nothing to merge: no commit, no checkpoint */
    CHECK_OK(lh_pstore_merge(ps, false, &rep, &err), &err);
    CHECK_INT(rep.partitions, 0);
    CHECK_INT(rep.checkpoint_version, -1);
    c = count(ps, NULL);
    CHECK_INT(c.rows, 100);
    CHECK_INT(c.first_seen_of_a, T0 + 1);

    /* filters */
    lh_pstore_filter q;
    lh_pstore_filter_init(&q);
    const char *ids[] = {"p03", "doc1", "nope"};
    q.entity_ids = ids;
    q.num_entity_ids = 3;
    c = count(ps, &q);
    CHECK_INT(c.entities, 2);
    lh_pstore_filter_init(&q);
    q.prop = "name";
    q.value = "Alice";
    c = count(ps, &q);
    CHECK_INT(c.entities, 1);
    CHECK_INT(c.rows, 2);

    lh_strlist changed;
    lh_strlist_init(&changed);
    CHECK_OK(lh_pstore_changed_entity_ids(ps, T0 + 25, &changed, &err), &err);
    CHECK_INT(changed.len, 1);
    CHECK(changed.len == 1 && strcmp(changed.items[0], "p01") == 0);
    lh_strlist_free(&changed);

    size_t deleted = 0;
    CHECK_OK(lh_pstore_vacuum(ps, 0, &deleted, NULL, &err), &err);
    CHECK(deleted > 0);
    c = count(ps, NULL);
    CHECK_INT(c.rows, 100);

    /* maintenance refuses to run while an append is in flight */
    lh_fence *marker = NULL;
    CHECK_OK(lh_fence_acquire(st, "test", LH_FENCE_APPEND, 0, &marker, &err), &err);
    CHECK_RC(lh_pstore_vacuum(ps, 0, &deleted, NULL, &err), LH_ERR_BUSY);
    CHECK_OK(lh_fence_release(marker, &err), &err);

    CHECK_OK(lh_pstore_destroy(ps, &err), &err);
    CHECK_OK(lh_pstore_exists(ps, &exists, &err), &err);
    CHECK(!exists);
    lh_stmt_batch_free(&b);
    lh_pstore_free(ps);
    scratch_close(&lake);
}

/* Entity ids from raw rows: an entity in two buckets of its shard (a
 * schema change) is one id; a tombstoned entity counts by its latest
 * tombstone. */
static void test_changed_and_deleted_ids(void)
{
    scratch_lake lake = scratch_open();
    lh_error err;
    lh_pstore *ps = open_store(lake.st, 8);
    lh_stmt_batch b;
    lh_stmt_batch_init(&b);
    add(&b, "a", "name", "Ann", T0, T0, LH_TS_NULL);
    add(&b, "x", "name", "Bo", T0 + 40, T0 + 40, LH_TS_NULL);
    add(&b, "x", "bodyText", "text", T0 + 40, T0 + 40, LH_TS_NULL); /* bucket page */
    add(&b, "x", "country", "fr", T0 + 40, T0 + 41, T0 + 41);      /* tombstone */
    add(&b, "y", "name", "Cy", T0, T0 + 50, T0 + 50);               /* tombstone */
    add(&b, "y", "name", "Cy", T0, T0 + 30, T0 + 30);               /* an older one */
    CHECK_OK(lh_pstore_append(ps, &b, &err), &err);
    lh_stmt_batch_free(&b);
    const struct {
        bool deleted;
        int64_t since;
        const char *want;
    } cases[] = {
        {false, T0 + 35, "x,y"}, {false, T0, "a,x,y"}, {false, T0 + 51, ""},
        {true, T0 + 25, "x,y"},  {true, T0 + 45, "y"}, {true, T0 + 51, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lh_strlist ids;
        lh_strlist_init(&ids);
        if (cases[i].deleted) {
            lh_pstore_deleted_list del;
            CHECK_OK(lh_pstore_deleted_since(ps, cases[i].since, &del, &err), &err);
            for (size_t k = 0; k < del.len; k++) lh_strlist_push(&ids, del.items[k].entity_id);
            lh_pstore_deleted_list_free(&del);
        } else {
            CHECK_OK(lh_pstore_changed_entity_ids(ps, cases[i].since, &ids, &err), &err);
        }
        char got[64] = "";
        for (size_t k = 0; k < ids.len; k++) {
            if (k) strcat(got, ",");
            strncat(got, ids.items[k], sizeof got - strlen(got) - 2);
        }
        CHECK_STR(got, cases[i].want);
        lh_strlist_free(&ids);
    }
    /* a candidate is described by all its tombstones, the latest decides */
    lh_pstore_deleted_list del;
    CHECK_OK(lh_pstore_deleted_since(ps, T0 + 45, &del, &err), &err);
    CHECK(del.len == 1 && del.items[0].deleted_at == T0 + 50);
    CHECK(del.len == 1 && del.items[0].origins.len == 1 &&
          strcmp(del.items[0].origins.items[0], "bulk") == 0);
    CHECK(del.len == 1 && del.items[0].schemata.len == 1 && !del.items[0].content_hash);
    lh_pstore_deleted_list_free(&del);
    lh_pstore_free(ps);
    scratch_close(&lake);
}

static void test_grace_and_compact(void)
{
    scratch_lake lake = scratch_open();
    lh_storage *st = lake.st;
    lh_error err;
    lh_pstore *ps = open_store(st, 0);
    lh_stmt_batch b;
    lh_stmt_batch_init(&b);
    for (int round = 0; round < 3; round++) {
        lh_stmt_batch_clear(&b);
        add(&b, "e1", "name", "Old", T0, T0 + round, LH_TS_NULL);
        CHECK_OK(lh_pstore_append(ps, &b, &err), &err);
    }
    lh_pstore_report rep;
    CHECK_OK(lh_pstore_compact(ps, &rep, &err), &err);
    CHECK_INT(rep.partitions, 1);
    CHECK_INT(rep.rows_out, 3); /* compaction keeps every row */
    CHECK_INT(count(ps, NULL).rows, 1);
    int64_t version = -1;
    CHECK_OK(lh_pstore_version(ps, &version, &err), &err);
    CHECK_INT(rep.checkpoint_version, version); /* its commit, checkpointed */
    /* one file per partition already: nothing to compact, no checkpoint */
    CHECK_OK(lh_pstore_compact(ps, &rep, &err), &err);
    CHECK_INT(rep.partitions, 0);
    CHECK_INT(rep.checkpoint_version, -1);
    /* a tombstone older than the grace period is reaped with its row */
    lh_stmt_batch_clear(&b);
    add(&b, "e1", "name", "Old", T0, T0 + 5, T0 + 5);
    CHECK_OK(lh_pstore_append(ps, &b, &err), &err);
    CHECK_INT(count(ps, NULL).rows, 0);
    CHECK_OK(lh_pstore_merge(ps, false, &rep, &err), &err);
    CHECK_INT(rep.rows_out, 0);
    int64_t rows = -1;
    CHECK_OK(lh_pstore_num_rows(ps, &rows, &err), &err);
    CHECK_INT(rows, 0);
    lh_stmt_batch_free(&b);
    lh_pstore_free(ps);
    scratch_close(&lake);
}

/* Number of parquet files under the lake's table. */
static size_t count_parquet(lh_storage *st)
{
    lh_strlist keys;
    lh_strlist_init(&keys);
    lh_error err;
    CHECK_OK(lh_storage_list(st, "test/statements/", LH_LIST_RECURSIVE, &keys, &err), &err);
    size_t n = 0;
    for (size_t i = 0; i < keys.len; i++) {
        size_t len = strlen(keys.items[i]);
        n += len > 8 && strcmp(keys.items[i] + len - 8, ".parquet") == 0 &&
             !strstr(keys.items[i], "_delta_log");
    }
    lh_strlist_free(&keys);
    return n;
}

/* Another engine turned on a writer feature we cannot honour (change data
 * feed: writer version 4): appends are refused before a file is written,
 * naming the version; reads go on. */
static void test_append_refused_on_newer_writer_protocol(void)
{
    scratch_lake lake = scratch_open();
    lh_storage *st = lake.st;
    lh_error err;
    lh_pstore *ps = open_store(st, 0);
    lh_stmt_batch b;
    lh_stmt_batch_init(&b);
    add(&b, "e1", "name", "One", T0, T0, LH_TS_NULL);
    CHECK_OK(lh_pstore_append(ps, &b, &err), &err);
    int64_t before = -1;
    CHECK_OK(lh_pstore_version(ps, &before, &err), &err);
    char key[128];
    snprintf(key, sizeof key, "test/statements/_delta_log/%020lld.json", (long long)before + 1);
    const char *upgrade = "{\"commitInfo\":{\"operation\":\"SET TBLPROPERTIES\"}}\n"
                          "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":4}}\n";
    CHECK_OK(lh_storage_write(st, key, upgrade, strlen(upgrade), &err), &err);
    size_t files = count_parquet(st);
    lh_stmt_batch_clear(&b);
    add(&b, "e2", "name", "Two", T0, T0, LH_TS_NULL);
    CHECK_RC(lh_pstore_append(ps, &b, &err), LH_ERR_UNSUPPORTED);
    CHECK(strstr(err.msg, "needs writer version 4") != NULL);
    CHECK_INT(count_parquet(st), files);
    int64_t after = -1;
    CHECK_OK(lh_pstore_version(ps, &after, &err), &err);
    CHECK_INT(after, before + 1);
    CHECK_INT(count(ps, NULL).rows, 1);
    lh_stmt_batch_free(&b);
    lh_pstore_free(ps);
    scratch_close(&lake);
}

static void test_concurrent_appends(void)
{
    scratch_lake lake = scratch_open();
    lh_storage *st = lake.st;
    enum { PROCS = 4, APPENDS = 10 };
    pid_t pids[PROCS];
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        if (pids[p] == 0) {
            lh_pstore *ps = open_store(st, 4);
            lh_stmt_batch b;
            lh_stmt_batch_init(&b);
            lh_error e;
            for (int i = 0; i < APPENDS; i++) {
                char ent[32];
                snprintf(ent, sizeof ent, "w%d-%d", p, i);
                lh_stmt_batch_clear(&b);
                add(&b, ent, "name", "x", T0, T0, LH_TS_NULL);
                if (lh_pstore_append(ps, &b, &e) != LH_OK) {
                    fprintf(stderr, "append: %s\n", e.msg);
                    _exit(1);
                }
            }
            _exit(0);
        }
    }
    int ok = 0;
    for (int p = 0; p < PROCS; p++) {
        int status = 0;
        waitpid(pids[p], &status, 0);
        ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    CHECK_INT(ok, PROCS);
    lh_pstore *ps = open_store(st, 4);
    CHECK_INT(count(ps, NULL).entities, PROCS * APPENDS);
    lh_pstore_free(ps);
    scratch_close(&lake);
}

/* A first import that finds .LOCK held while it creates the table: the
 * holder creates the table, and maintenance takes .LOCK and waits for the
 * import's append marker. The import must see the table and commit rather
 * than wait for .LOCK too, until both give up. */
typedef struct commit_job {
    lh_pstore_txn *txn;
    lh_status rc;
    lh_error err;
} commit_job;

static void *commit_thread(void *arg)
{
    commit_job *j = arg;
    j->rc = lh_pstore_txn_commit(j->txn, &j->err);
    lh_pstore_txn_free(j->txn);
    return NULL;
}

/* Where version 0 of the test table goes. */
static const char V0_KEY[] = "test/statements/_delta_log/00000000000000000000.json";

/* Version 0 of the table as another process's first import of rows
 * creates it (in a lake of its own), into log. */
static void other_first_import(lh_stmt_batch *rows, lh_buf *log)
{
    scratch_lake other = scratch_open();
    lh_error err;
    lh_pstore *ps = open_store(other.st, 1);
    CHECK_OK(lh_pstore_append(ps, rows, &err), &err);
    lh_pstore_free(ps);
    CHECK_OK(lh_storage_read(other.st, V0_KEY, log, &err), &err);
    scratch_close(&other);
}

static void test_first_import_vs_maintenance(void)
{
    scratch_lake lake = scratch_open();
    lh_error err;
    lh_stmt_batch b;
    lh_stmt_batch_init(&b);
    add(&b, "p1", "name", "x", T0, T0, LH_TS_NULL);
    const char *v0 = V0_KEY;
    lh_buf log = LH_BUF_INIT;
    other_first_import(&b, &log);

    lh_pstore *ps = open_store(lake.st, 1);
    commit_job j = {0};
    CHECK_OK(lh_pstore_txn_begin(ps, &j.txn, &err), &err);
    CHECK_OK(lh_pstore_txn_append(j.txn, &b, &err), &err);
    lh_fence *lock = NULL;
    CHECK_OK(lh_fence_acquire(lake.st, "test", LH_FENCE_LOCK, 0, &lock, &err), &err);
    pthread_t th;
    pthread_create(&th, NULL, commit_thread, &j);
    usleep(100 * 1000); /* the import found no table and waits for .LOCK */
    CHECK_OK(lh_storage_write(lake.st, v0, log.data, log.len, &err), &err);
    /* .LOCK now stands for maintenance: wait (longer than the import's
     * retries take) for its marker to go */
    size_t markers = 1;
    for (int i = 0; i < 400 && markers; i++) {
        lh_strlist keys;
        lh_strlist_init(&keys);
        CHECK_OK(lh_storage_list(lake.st, "test/.LOCK-APPENDS", 0, &keys, &err), &err);
        markers = keys.len;
        lh_strlist_free(&keys);
        if (markers) usleep(10 * 1000);
    }
    CHECK_OK(lh_fence_release(lock, &err), &err);
    pthread_join(th, NULL);
    CHECK_OK(j.rc, &j.err);
    CHECK_INT(markers, 0);
    CHECK_INT(count(ps, NULL).rows, 1);
    lh_pstore_free(ps);
    lh_buf_free(&log);
    lh_stmt_batch_free(&b);
    scratch_close(&lake);
}

/* A storage that, right after the first listing of the table's log,
 * writes version 0 into it: another process creating the table then. */
typedef struct racing_storage {
    lh_storage base;
    lh_storage *inner;
    const char *log_dir, *v0_key;
    lh_buf v0;
    bool done;
} racing_storage;

static lh_status racing_list(lh_storage *s, const char *prefix, int flags, lh_strlist *out,
                             lh_error *err)
{
    racing_storage *r = (racing_storage *)s;
    LH_TRY(lh_storage_list(r->inner, prefix, flags, out, err));
    if (!r->done && strcmp(prefix, r->log_dir) == 0) {
        r->done = true;
        LH_TRY(lh_storage_write(r->inner, r->v0_key, r->v0.data, r->v0.len, err));
    }
    return LH_OK;
}

static lh_status racing_read(lh_storage *s, const char *key, lh_buf *out, lh_error *err)
{
    return lh_storage_read(((racing_storage *)s)->inner, key, out, err);
}

static lh_status racing_stat(lh_storage *s, const char *key, lh_stat *st, lh_error *err)
{
    return lh_storage_stat(((racing_storage *)s)->inner, key, st, err);
}

static lh_status racing_reader(lh_storage *s, const char *key, lh_storage_reader **out,
                               lh_error *err)
{
    return lh_storage_reader_open(((racing_storage *)s)->inner, key, out, err);
}

static void test_table_created_between_listings(void)
{
    scratch_lake lake = scratch_open();
    lh_error err;
    lh_stmt_batch b;
    lh_stmt_batch_init(&b);
    add(&b, "p1", "name", "x", T0, T0, LH_TS_NULL);
    static const lh_storage_ops ops = {.scheme = "racing", .read = racing_read, .stat = racing_stat,
                                       .reader_open = racing_reader, .list = racing_list};
    racing_storage r = {.base = {.ops = &ops, .uri = "racing"}, .inner = lake.st,
                        .log_dir = "test/statements/_delta_log", .v0_key = V0_KEY};
    lh_buf_init(&r.v0);
    other_first_import(&b, &r.v0);
    lh_pstore *ps = open_store(&r.base, 1);
    lh_delta_snapshot *snap = NULL;
    CHECK_OK(lh_pstore_snapshot(ps, &snap, &err), &err);
    CHECK(r.done && snap != NULL);
    lh_delta_snapshot_free(snap);
    lh_pstore_free(ps);
    lh_buf_free(&r.v0);
    lh_stmt_batch_free(&b);
    scratch_close(&lake);
}

/* Several sorted files spanning several row groups stream through merge and
 * reads entity by entity; the result equals the in-memory semantics. */

/* A storage with S3's semantics for open files: a read of an object that
 * has been deleted since it was opened fails NOT_FOUND (local files stay
 * readable through their descriptor). */
typedef struct vanishing_storage {
    lh_storage base;
    lh_storage *inner;
    int gone; /* reads that found their object deleted */
} vanishing_storage;

typedef struct vanishing_reader {
    lh_storage_reader base;
    lh_storage_reader *inner;
    vanishing_storage *st;
} vanishing_reader;

static lh_status vanishing_pread(lh_storage_reader *r, uint64_t off, void *dst, size_t n,
                                 lh_error *err)
{
    vanishing_reader *v = (vanishing_reader *)r;
    lh_stat stat;
    lh_status rc = lh_storage_stat(v->st->inner, v->inner->key, &stat, err);
    if (rc == LH_ERR_NOT_FOUND) v->st->gone++;
    if (rc != LH_OK) return rc;
    return lh_storage_reader_pread(v->inner, off, dst, n, err);
}

static void vanishing_reader_free(lh_storage_reader *r)
{
    vanishing_reader *v = (vanishing_reader *)r;
    lh_storage_reader_free(v->inner);
    free(v);
}

static lh_status vanishing_open(lh_storage *s, const char *key, lh_storage_reader **out,
                                lh_error *err)
{
    vanishing_storage *vs = (vanishing_storage *)s;
    lh_storage_reader *inner = NULL;
    lh_status rc = lh_storage_reader_open(vs->inner, key, &inner, err);
    if (rc == LH_ERR_NOT_FOUND) vs->gone++;
    if (rc != LH_OK) return rc;
    vanishing_reader *v = lh_calloc(1, sizeof *v);
    v->base = (lh_storage_reader){vanishing_pread, vanishing_reader_free, inner->size, inner->key};
    v->inner = inner;
    v->st = vs;
    *out = &v->base;
    return LH_OK;
}

static lh_status vanishing_read(lh_storage *s, const char *key, lh_buf *out, lh_error *err)
{
    return lh_storage_read(((vanishing_storage *)s)->inner, key, out, err);
}

static lh_status vanishing_stat(lh_storage *s, const char *key, lh_stat *st, lh_error *err)
{
    return lh_storage_stat(((vanishing_storage *)s)->inner, key, st, err);
}

static lh_status vanishing_list(lh_storage *s, const char *prefix, int flags, lh_strlist *out,
                                lh_error *err)
{
    return lh_storage_list(((vanishing_storage *)s)->inner, prefix, flags, out, err);
}

/* Append every entity's name v{round}. */
static void append_round(lh_pstore *ps, int entities, int round)
{
    lh_stmt_batch b;
    lh_stmt_batch_init(&b);
    char ent[32], val[32];
    for (int i = 0; i < entities; i++) {
        snprintf(ent, sizeof ent, "e%06d", i);
        snprintf(val, sizeof val, "v%d", round);
        add(&b, ent, "name", val, T0 + round, T0 + round, LH_TS_NULL);
    }
    lh_error err;
    CHECK_OK(lh_pstore_append(ps, &b, &err), &err);
    lh_stmt_batch_free(&b);
}

static void merge_and_vacuum(lh_pstore *ps, size_t want_deleted)
{
    lh_error err;
    lh_pstore_report rep;
    size_t deleted = 0;
    CHECK_OK(lh_pstore_merge(ps, false, &rep, &err), &err);
    CHECK_OK(lh_pstore_vacuum(ps, 0, &deleted, NULL, &err), &err);
    CHECK_INT(deleted, want_deleted);
}

/* A read that merges overtake (files replaced and vacuumed at once, as
 * optimize does) goes on from the newest version: in the middle of the
 * pair it streams (a read of a deleted object), and at the next pair (an
 * open of one); every entity handed out once, in order within its pair,
 * with the rows of the version it was read from. */
static void test_read_resumes_after_vacuum(void)
{
    scratch_lake lake = scratch_open();
    lh_error err;
    enum { ENTITIES = 50000 };
    lh_pstore *maint = open_store(lake.st, 2);
    append_round(maint, ENTITIES, 0);
    append_round(maint, ENTITIES, 1);
    /* entities of shard 0, the first pair */
    size_t first_pair = 0;
    lh_arena a;
    lh_arena_init(&a, 4096);
    char ent[32];
    for (int i = 0; i < ENTITIES; i++) {
        snprintf(ent, sizeof ent, "e%06d", i);
        first_pair += strcmp(lh_pstore_entity_shard(ent, 2, &a), "0") == 0;
    }
    lh_arena_free(&a);
    CHECK(first_pair > 20000 && first_pair < 30000); /* two row groups */
    static const lh_storage_ops ops = {.scheme = "vanishing", .read = vanishing_read,
                                       .stat = vanishing_stat, .reader_open = vanishing_open,
                                       .list = vanishing_list};
    vanishing_storage vs = {.base = {.ops = &ops, .uri = "vanishing"}, .inner = lake.st};
    lh_pstore *ps = open_store(&vs.base, 2);
    lh_pstore_filter q;
    lh_pstore_filter_init(&q);
    lh_pstore_cursor *c = NULL;
    CHECK_OK(lh_pstore_cursor_open(ps, &q, NULL, false, &c, &err), &err);
    static unsigned char seen[ENTITIES];
    memset(seen, 0, sizeof seen);
    size_t entities = 0, bad = 0;
    char last[32] = "", shard[8] = "";
    for (;;) {
        if (entities == 5000) { /* inside the first pair's first row group */
            merge_and_vacuum(maint, 4); /* two shards' two appended files each */
        } else if (entities == first_pair - 1) {
            /* the first pair's last entity: its rows are loaded, the
             * second pair's files not yet opened */
            CHECK_INT(vs.gone, 1);
            append_round(maint, ENTITIES, 2);
            merge_and_vacuum(maint, 4); /* merged and appended, per shard */
        }
        const lh_statement *rows;
        size_t n;
        CHECK_OK(lh_pstore_cursor_next(c, &rows, &n, &err), &err);
        if (!n) break;
        int e = atoi(rows[0].entity_id + 1);
        bool second = strcmp(rows[0].shard, "1") == 0;
        if (strcmp(shard, rows[0].shard) != 0) last[0] = 0; /* the next pair */
        if (last[0] && strcmp(last, rows[0].entity_id) >= 0) bad++;
        if (n != (second ? 3u : 2u) || e < 0 || e >= ENTITIES || seen[e]++) bad++;
        snprintf(last, sizeof last, "%s", rows[0].entity_id);
        snprintf(shard, sizeof shard, "%s", rows[0].shard);
        entities++;
    }
    CHECK_INT(bad, 0);
    CHECK_INT(entities, ENTITIES);
    CHECK_INT(vs.gone, 2);
    lh_pstore_cursor_free(c);
    lh_pstore_free(ps);
    lh_pstore_free(maint);
    scratch_close(&lake);
}

/* Rows digested as text, for comparing one read path with another. */
typedef struct digest {
    const char *const *only; /* sorted ids to keep; NULL = all */
    size_t num_only;
    lh_buf text;
} digest;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static lh_status digest_fn(void *ctx, const lh_statement *rows, size_t n, lh_error *err)
{
    (void)err;
    digest *d = ctx;
    if (d->only && n && !bsearch(&rows[0].entity_id, d->only, d->num_only, sizeof *d->only, cmp_str))
        return LH_OK;
    for (size_t i = 0; i < n; i++) {
        const lh_statement *r = &rows[i];
        lh_buf_printf(&d->text, "%s|%s|%s|%s|%s|%s|%lld|%lld\n", r->id, r->entity_id, r->prop,
                      r->value, r->lang ? r->lang : "-", r->original_value ? r->original_value : "-",
                      (long long)r->first_seen, (long long)r->last_seen);
    }
    return LH_OK;
}

/* A lookup by ids returns exactly the rows a full scan holds for them,
 * NULL columns included, whether the ids share a row group or not. */
static void check_lookups(lh_pstore *ps, const char *const *ids, size_t n)
{
    lh_error err;
    digest scan = {ids, n, LH_BUF_INIT}, look = {NULL, 0, LH_BUF_INIT};
    CHECK_OK(lh_pstore_query(ps, NULL, digest_fn, &scan, &err), &err);
    lh_pstore_filter q;
    lh_pstore_filter_init(&q);
    q.entity_ids = ids;
    q.num_entity_ids = n;
    CHECK_OK(lh_pstore_query(ps, &q, digest_fn, &look, &err), &err);
    CHECK(scan.text.len > 0);
    CHECK(scan.text.len == look.text.len &&
          memcmp(scan.text.data, look.text.data, scan.text.len) == 0);
    lh_buf_free(&scan.text);
    lh_buf_free(&look.text);
}

static void add_progress(void *ctx, uint64_t n)
{
    *(uint64_t *)ctx += n; /* the store serialises the calls */
}

static void test_streaming_many_row_groups(void)
{
    scratch_lake lake = scratch_open();
    lh_storage *st = lake.st;
    lh_error err;
    lh_pstore *ps = open_store(st, 0);
    lh_stmt_batch b;
    lh_stmt_batch_init(&b);
    enum { ENTITIES = 60000 };
    char ent[32], val[32];
    for (int round = 0; round < 3; round++) {
        lh_stmt_batch_clear(&b);
        /* every round touches every entity; round 2 re-sends round 0's values */
        for (int i = 0; i < ENTITIES; i++) {
            snprintf(ent, sizeof ent, "e%06d", i);
            snprintf(val, sizeof val, "v%d", round == 2 ? 0 : round);
            add(&b, ent, "name", val, T0 + round, T0 + round, LH_TS_NULL);
            if (i % 7 == 0) { /* NULL and set optional columns, interleaved */
                b.rows[b.len - 1].lang = "eng";
                b.rows[b.len - 1].original_value = "Orig";
            }
        }
        CHECK_OK(lh_pstore_append(ps, &b, &err), &err);
    }
    counter c = count(ps, NULL);
    CHECK_INT(c.entities, ENTITIES);
    CHECK_INT(c.rows, 2 * ENTITIES); /* v0 (twice) and v1 */
    lh_pstore_report rep;
    uint64_t progressed = 0;
    lh_pstore_set_progress(ps, add_progress, &progressed);
    CHECK_OK(lh_pstore_merge(ps, false, &rep, &err), &err);
    CHECK_INT(rep.rows_in, 3 * ENTITIES);
    CHECK_INT(progressed, rep.rows_in); /* every row read was reported, from any worker */
    CHECK_INT(rep.rows_out, 2 * ENTITIES);
    c = count(ps, NULL);
    CHECK_INT(c.entities, ENTITIES);
    CHECK_INT(c.rows, 2 * ENTITIES);
    /* sorted ids: neighbours in one row group, the ends, one per row group */
    const char *ids[] = {"e000000", "e000001", "e000007", "e000008", "e019999", "e020000",
                         "e031337", "e045000", "e059999"};
    check_lookups(ps, ids, sizeof ids / sizeof *ids);
    check_lookups(ps, ids + 6, 1);
    lh_stmt_batch_free(&b);
    lh_pstore_free(ps);
    scratch_close(&lake);
}


/* Entities handed out in order, each with every row of every file it is in. */
typedef struct order_check {
    char last[32];
    size_t entities, rows, bad;
    const int *want_rows; /* per entity number */
} order_check;

static lh_status order_fn(void *ctx, const lh_statement *rows, size_t n, lh_error *err)
{
    order_check *o = ctx;
    int e = atoi(rows[0].entity_id + 1);
    if (o->entities && strcmp(o->last, rows[0].entity_id) >= 0) o->bad++;
    if ((size_t)o->want_rows[e] != n) o->bad++;
    for (size_t i = 1; i < n; i++)
        if (strcmp(rows[i].entity_id, rows[0].entity_id) != 0) o->bad++;
    snprintf(o->last, sizeof o->last, "%s", rows[0].entity_id);
    o->entities++;
    o->rows += n;
    return LH_OK;
}

/* Eleven appended files per partition, each holding an interleaved subset
 * of the entities (some in one file, some in all): reads and the merge
 * stream every entity once, in order, with all its rows. */
static void test_many_files(void)
{
    scratch_lake lake = scratch_open();
    lh_error err;
    lh_pstore *ps = open_store(lake.st, 0);
    lh_stmt_batch b;
    lh_stmt_batch_init(&b);
    enum { ENTITIES = 3000, FILES = 11 };
    static int want[ENTITIES];
    size_t total = 0, present = 0, in_file3 = 0;
    char ent[32], val[32];
    for (int f = 0; f < FILES; f++) {
        lh_stmt_batch_clear(&b);
        for (int i = 0; i < ENTITIES; i++) {
            if (i % 97 != 0 && (i * (f + 3) + f) % 7 >= 3) continue; /* e0, e97... in all */
            snprintf(ent, sizeof ent, "e%05d", i);
            snprintf(val, sizeof val, "v%d", f);
            add(&b, ent, "name", val, T0, T0 + f, LH_TS_NULL);
            want[i]++;
            total++;
            in_file3 += f == 3;
        }
        CHECK_OK(lh_pstore_append(ps, &b, &err), &err);
    }
    for (int i = 0; i < ENTITIES; i++) present += want[i] > 0;
    for (int pass = 0; pass < 2; pass++) { /* appended files, then merged */
        order_check o = {.want_rows = want};
        CHECK_OK(lh_pstore_query(ps, NULL, order_fn, &o, &err), &err);
        CHECK_INT(o.bad, 0);
        CHECK_INT(o.entities, present);
        CHECK_INT(o.rows, total);
        /* found by a value of one file: still every row of every file */
        lh_pstore_filter q;
        lh_pstore_filter_init(&q);
        q.prop = "name";
        q.value = "v3";
        order_check f3 = {.want_rows = want};
        CHECK_OK(lh_pstore_query(ps, &q, order_fn, &f3, &err), &err);
        CHECK_INT(f3.bad, 0);
        CHECK_INT(f3.entities, in_file3);
        /* the same by the property's type; another type finds nothing */
        q.prop = NULL;
        q.prop_type = "name";
        order_check t3 = {.want_rows = want};
        CHECK_OK(lh_pstore_query(ps, &q, order_fn, &t3, &err), &err);
        CHECK_INT(t3.bad, 0);
        CHECK_INT(t3.entities, in_file3);
        q.prop_type = "date";
        order_check none = {.want_rows = want};
        CHECK_OK(lh_pstore_query(ps, &q, order_fn, &none, &err), &err);
        CHECK_INT(none.entities, 0);
        /* lookups by id of entities across data pages (rows 1998-2000,
         * 3999-4001) read what a scan reads */
        const char *across[] = {"e00666", "e00667", "e01333"};
        check_lookups(ps, across, 3);
        lh_pstore_report rep;
        if (pass == 0) CHECK_OK(lh_pstore_merge(ps, false, &rep, &err), &err);
        if (pass == 0) CHECK_INT(rep.rows_out, total);
    }
    lh_stmt_batch_free(&b);
    lh_pstore_free(ps);
    scratch_close(&lake);
}

static size_t open_descriptors(void)
{
    size_t n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d) return 0;
    while (readdir(d)) n++;
    closedir(d);
    return n;
}

/* Hundreds of origins in one (shard, bucket) pair, a file each, read as
 * one k-way merge: with few descriptors left (a file is closed once read,
 * it was held until the pair was done: `Too many open files`), and a
 * file's first read sized to its rows (it held room for 256 rows each,
 * and a 64 KiB string block: 100 KB a file, 600 MB of address space for
 * 6000 origins of two statements). */
static void test_many_origins(void)
{
    scratch_lake lake = scratch_open();
    lh_error err;
    lh_pstore *ps = open_store(lake.st, 0);
    lh_stmt_batch b;
    lh_stmt_batch_init(&b);
    enum { ORIGINS = 300 };
    char ent[32], origin[32];
    for (int i = 0; i < ORIGINS; i++) {
        snprintf(ent, sizeof ent, "e%05d", i);
        snprintf(origin, sizeof origin, "o%04d", i);
        add(&b, ent, "name", "n", T0, T0, LH_TS_NULL);
        b.rows[b.len - 1].origin = lh_arena_strdup(&b.arena, origin);
    }
    CHECK_OK(lh_pstore_append(ps, &b, &err), &err);
    struct rlimit saved, low;
    CHECK(getrlimit(RLIMIT_NOFILE, &saved) == 0);
    low = saved;
    low.rlim_cur = open_descriptors() + 32;
    CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
    counter c = count(ps, NULL);
    CHECK_INT(c.entities, ORIGINS);
    CHECK_INT(c.rows, ORIGINS);
    lh_pstore_report rep;
    lh_status rc = lh_pstore_merge(ps, true, &rep, &err);
    CHECK(setrlimit(RLIMIT_NOFILE, &saved) == 0);
    CHECK_OK(rc, &err);
    CHECK_INT(rep.rows_out, ORIGINS);
    /* one file's row group read into a fresh batch: room for its row */
    lh_delta_snapshot *snap = NULL;
    lh_parts parts;
    CHECK_OK(lh_pstore_parts(ps, &snap, &parts, &err), &err);
    CHECK_INT(parts.len, ORIGINS);
    char key[512];
    snprintf(key, sizeof key, "%s/%s", lh_pstore_table(ps), parts.items[0].files[0]->path);
    lh_stmt_file *f = NULL;
    CHECK_OK(lh_stmt_file_open(lake.st, key, parts.items[0].shard, parts.items[0].bucket,
                               parts.items[0].origin, &f, &err), &err);
    lh_stmt_batch one;
    lh_stmt_batch_init(&one);
    CHECK_OK(lh_stmt_file_read(f, 0, &one, &err), &err);
    CHECK_INT(one.len, 1);
    CHECK_INT(one.cap, 1);
    lh_stmt_batch_free(&one);
    lh_stmt_file_free(f);
    lh_parts_free(&parts);
    lh_delta_snapshot_free(snap);
    lh_stmt_batch_free(&b);
    lh_pstore_free(ps);
    scratch_close(&lake);
}

/* Entities whose rows cross row-group boundaries of a single file (three
 * rows each; row groups of 5000 appended and 20000 merged rows): each is
 * handed out once, whole, appended and merged, also when a filter finds it
 * by a row on one side of the boundary. */
static void test_entities_across_row_groups(void)
{
    scratch_lake lake = scratch_open();
    lh_error err;
    lh_pstore *ps = open_store(lake.st, 0);
    lh_stmt_batch b;
    lh_stmt_batch_init(&b);
    enum { ENTITIES = 12000 };
    static int want[ENTITIES];
    static const char *const props[] = {"alias", "name", "weakAlias"};
    char ent[32], val[32];
    for (int i = 0; i < ENTITIES; i++) {
        snprintf(ent, sizeof ent, "e%05d", i);
        for (int k = 0; k < 3; k++) {
            snprintf(val, sizeof val, "%c%d", props[k][0], i); /* a1, n1, w1 */
            add(&b, ent, props[k], val, T0, T0, LH_TS_NULL);
        }
        want[i] = 3;
    }
    CHECK_OK(lh_pstore_append(ps, &b, &err), &err);
    /* entities on a boundary (appended: rows 4998-5000, 9999-10001; merged:
     * 19998-20000; a data page: 1998-2000), found by their first row or their
     * last one, and two inside a row group */
    static const char *const finds[][2] = {
        {"alias", "a666"}, {"weakAlias", "w666"},
        {"alias", "a1666"}, {"weakAlias", "w1666"}, {"alias", "a3333"}, {"weakAlias", "w3333"},
        {"alias", "a6666"}, {"weakAlias", "w6666"}, {"name", "n0"}, {"name", "n11999"}};
    for (int pass = 0; pass < 2; pass++) { /* the appended file, then the merged one */
        order_check o = {.want_rows = want};
        CHECK_OK(lh_pstore_query(ps, NULL, order_fn, &o, &err), &err);
        CHECK_INT(o.bad, 0);
        CHECK_INT(o.entities, ENTITIES);
        CHECK_INT(o.rows, 3 * ENTITIES);
        for (size_t f = 0; f < sizeof finds / sizeof *finds; f++) {
            lh_pstore_filter q;
            lh_pstore_filter_init(&q);
            q.prop = finds[f][0];
            q.value = finds[f][1];
            counter c = count(ps, &q);
            CHECK_INT(c.entities, 1);
            CHECK_INT(c.rows, 3);
        }
        lh_pstore_filter q;
        lh_pstore_filter_init(&q);
        const char *person[] = {"Person"}, *page[] = {"Page"};
        q.schemata = person;
        q.num_schemata = 1;
        counter c = count(ps, &q);
        CHECK_INT(c.entities, ENTITIES);
        CHECK_INT(c.rows, 3 * ENTITIES);
        q.schemata = page;
        c = count(ps, &q);
        CHECK_INT(c.entities, 0);
        /* lookups by id of entities across data pages (rows 1998-2000,
         * 3999-4001) read what a scan reads */
        const char *across[] = {"e00666", "e00667", "e01333"};
        check_lookups(ps, across, 3);
        /* and across row groups (found by binary search over their
         * bounds), with ids that are in none between and after them */
        const char *straddle[] = {"e00000", "e01666", "e03333", "e033330", "e06666", "e11999", "e2"};
        check_lookups(ps, straddle, sizeof straddle / sizeof *straddle);
        check_lookups(ps, straddle + 1, 1);
        check_lookups(ps, straddle + 4, 1);
        lh_pstore_report rep;
        if (pass == 0) CHECK_OK(lh_pstore_merge(ps, false, &rep, &err), &err);
    }
    lh_stmt_batch_free(&b);
    lh_pstore_free(ps);
    scratch_close(&lake);
}

/* The merge's writer thread: many batches make one file with every row in
 * order; a row the writer refuses fails the pipe with its name, at a later
 * send or at finish, and leaves no file. Threaded and inline alike. */
static void test_part_pipe(void)
{
    scratch_lake lake = scratch_open();
    lh_storage *st = lake.st;
    lh_error err;
    lh_pstore *ps = open_store(st, 0);
    enum { ROWS = 40000 };
    char ent[32], val[32];
    for (int threaded = 0; threaded < 2; threaded++) {
        lh_part_pipe *pipe = lh_part_pipe_new(ps, "part", false, threaded);
        for (int i = 0; i < ROWS; i++) {
            snprintf(ent, sizeof ent, "e%06d", i);
            snprintf(val, sizeof val, "v%d", i);
            add(lh_part_pipe_batch(pipe), ent, "name", val, T0, T0, LH_TS_NULL);
            lh_stmt_batch *b = lh_part_pipe_batch(pipe);
            b->rows[b->len - 1].shard = "0"; /* as rows read back from a partition */
            if (lh_part_pipe_full(pipe)) CHECK_OK(lh_part_pipe_send(pipe, &err), &err);
        }
        lh_arena arena;
        lh_arena_init(&arena, 0);
        lh_delta_add a;
        bool has_add = false;
        CHECK_OK(lh_part_pipe_finish(pipe, &arena, &a, &has_add, &err), &err);
        lh_part_pipe_free(pipe);
        CHECK(has_add);
        lh_buf key = LH_BUF_INIT;
        lh_buf_printf(&key, "test/statements/%s", a.path);
        lh_stmt_batch got;
        lh_stmt_batch_init(&got);
        CHECK_OK(lh_stmt_read_file(st, key.data, "0", "thing", "bulk", &got, &err), &err);
        CHECK_INT(got.len, ROWS);
        for (size_t i = 0; i < got.len; i++) {
            snprintf(val, sizeof val, "v%zu", i);
            if (strcmp(got.rows[i].value, val) != 0) {
                CHECK(!"rows out of order");
                break;
            }
        }
        lh_stmt_batch_free(&got);
        lh_buf_free(&key);
        lh_arena_free(&arena);

        /* a bad row in the third batch: later sends or finish report it */
        pipe = lh_part_pipe_new(ps, "part", false, threaded);
        lh_status rc = LH_OK;
        for (int i = 0; i < ROWS && rc == LH_OK; i++) {
            snprintf(ent, sizeof ent, "bad%06d", i);
            add(lh_part_pipe_batch(pipe), ent, "name", "x", T0, T0, LH_TS_NULL);
            lh_stmt_batch *b = lh_part_pipe_batch(pipe);
            b->rows[b->len - 1].shard = "0";
            if (i == 35000) b->rows[b->len - 1].value = NULL; /* value is required */
            if (lh_part_pipe_full(pipe)) rc = lh_part_pipe_send(pipe, &err);
        }
        lh_arena_init(&arena, 0);
        if (rc == LH_OK) rc = lh_part_pipe_finish(pipe, &arena, &a, &has_add, &err);
        lh_part_pipe_free(pipe);
        lh_arena_free(&arena);
        CHECK(rc != LH_OK);
        CHECK(strstr(err.msg, "bad035000") != NULL);
    }
    lh_pstore_free(ps);
    scratch_close(&lake);
}

typedef struct call_log {
    size_t order[8];
    size_t n;
} call_log;

static void log_call(void *ctx, size_t i)
{
    call_log *l = ctx;
    l->order[l->n++] = i;
}

/* Maintenance hands out the largest task first (so that a worker does not
 * draw the largest partition last and finish alone), ties in index order;
 * without sizes, in index order. One worker, so the calls are the order. */
static void test_run_tasks_largest_first(void)
{
    scratch_lake lake = scratch_open();
    lh_pstore_opts o;
    lh_pstore_opts_init(&o);
    o.workers = 1;
    lh_pstore *ps = NULL;
    lh_error err;
    CHECK_OK(lh_pstore_open(lake.st, "test", &o, &ps, &err), &err);
    const uint64_t sizes[] = {5, 40, 0, 40, 10};
    const size_t want[] = {1, 3, 4, 0, 2};
    call_log l = {{0}, 0};
    lh_pstore_run_tasks(ps, 5, sizes, log_call, &l);
    CHECK_INT(l.n, 5);
    for (size_t i = 0; i < 5; i++) CHECK_INT(l.order[i], want[i]);
    l.n = 0;
    lh_pstore_run_tasks(ps, 3, NULL, log_call, &l);
    CHECK_INT(l.n, 3);
    for (size_t i = 0; i < 3; i++) CHECK_INT(l.order[i], i);
    l.n = 0;
    lh_pstore_run_tasks(ps, 0, NULL, log_call, &l);
    CHECK_INT(l.n, 0);
    lh_pstore_free(ps);
    scratch_close(&lake);
}

int main(void)
{
    setenv("LAKEHOUSE_LOCK_BACKOFF_MS", "25", 1); /* generous: CI machines are loaded */
    RUN(test_append_merge_read);
    RUN(test_many_origins);
    RUN(test_first_import_vs_maintenance);
    RUN(test_table_created_between_listings);
    RUN(test_read_resumes_after_vacuum);
    RUN(test_changed_and_deleted_ids);
    RUN(test_grace_and_compact);
    RUN(test_append_refused_on_newer_writer_protocol);
    RUN(test_concurrent_appends);
    RUN(test_streaming_many_row_groups);
    RUN(test_many_files);
    RUN(test_entities_across_row_groups);
    RUN(test_part_pipe);
    RUN(test_run_tasks_largest_first);
    return lh_test_report();
}
