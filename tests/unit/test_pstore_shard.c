/* Re-shard: the table rewritten onto another shard count keeps every row
 * (duplicates and tombstones too, for the merge after it), puts each entity
 * in the partition its hash names, reads the same live view before and
 * after, and a failed re-shard leaves the table as it was; config.yml gets
 * the new count with its other settings kept. */
#include "lh/core/storage.h"
#include "lh/model/keys.h"
#include "lh/repository/check.h"
#include "lh/repository/dataset.h"
#include "lh/format/delta.h"
#include "lh/storage/parquet_store.h"
#include "lh/storage/stmt_table.h"
#include "test.h"

#define T0 (1700000000LL * 1000000LL)
#define ENTITIES 400

static void add(lh_stmt_batch *b, int e, const char *value, int64_t last, int64_t deleted)
{
    char id[64], ent[32];
    snprintf(ent, sizeof ent, "ent-%04d", e);
    snprintf(id, sizeof id, "%s.%s", ent, value);
    lh_statement s = {0};
    s.id = id;
    s.entity_id = ent;
    s.dataset = "test";
    s.bucket = e % 5 ? "thing" : "interval";
    s.origin = e % 3 ? "bulk" : "crawl";
    s.schema = e % 5 ? "Person" : "Ownership";
    s.prop = "name";
    s.prop_type = "name";
    s.value = value;
    s.first_seen = T0;
    s.last_seen = last;
    s.deleted_at = deleted;
    s.fragment = "";
    lh_stmt_batch_push(b, &s);
}

/* Three appends: every entity, then a changed value for some (the old row
 * stays as a duplicate id until a merge), then tombstones for others. */
static size_t fill(lh_pstore *ps)
{
    lh_stmt_batch b;
    lh_stmt_batch_init(&b);
    lh_error err;
    size_t rows = 0;
    for (int round = 0; round < 3; round++) {
        lh_stmt_batch_clear(&b);
        for (int e = 0; e < ENTITIES; e++) {
            if (round == 0) add(&b, e, "first", T0, LH_TS_NULL);
            if (round == 0 && e % 4 == 0) add(&b, e, "second", T0, LH_TS_NULL);
            if (round == 1 && e % 7 == 0) add(&b, e, "first", T0 + 10, LH_TS_NULL);
            if (round == 2 && e % 11 == 0) add(&b, e, "first", T0 + 20, T0 + 20);
        }
        rows += b.len;
        CHECK_OK(lh_pstore_append(ps, &b, &err), &err);
    }
    lh_stmt_batch_free(&b);
    return rows;
}

/* A digest of the live view (shard left out) and whether every row lives in
 * the shard its entity hashes to. */
typedef struct view {
    int shards;
    uint64_t digest;
    size_t entities, rows, misplaced;
} view;

static uint64_t mix(uint64_t h, const char *s)
{
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h * 31;
}

static lh_status view_fn(void *ctx, const lh_statement *rows, size_t n, lh_error *err)
{
    (void)err;
    view *v = ctx;
    char key[LH_SHARD_MAX];
    lh_shard_key(rows[0].entity_id, v->shards, key);
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < n; i++) {
        h = mix(mix(mix(h, rows[i].entity_id), rows[i].id), rows[i].value);
        h += (uint64_t)rows[i].last_seen;
        if (strcmp(rows[i].shard, key) != 0) v->misplaced++;
    }
    v->digest += h; /* entity order differs between layouts */
    v->entities++;
    v->rows += n;
    return LH_OK;
}

static view read_view(lh_pstore *ps, int shards)
{
    view v = {.shards = shards};
    lh_error err;
    CHECK_OK(lh_pstore_query(ps, NULL, view_fn, &v, &err), &err);
    return v;
}

static lh_pstore *open_store(lh_storage *st, int shards)
{
    lh_pstore_opts o;
    lh_pstore_opts_init(&o);
    o.shards = shards;
    o.lock_max_retries = 2;
    lh_pstore *ps = NULL;
    lh_error err;
    CHECK_OK(lh_pstore_open(st, "test", &o, &ps, &err), &err);
    return ps;
}

/* Entities found by id through a store opened with the new count. */
static void check_lookups(lh_storage *st, int shards)
{
    lh_pstore *ps = open_store(st, shards);
    const char *ids[] = {"ent-0001", "ent-0002", "ent-0078", "ent-0150", "ent-0399"};
    for (size_t i = 0; i < 5; i++) {
        lh_pstore_filter q;
        lh_pstore_filter_init(&q);
        q.entity_ids = &ids[i];
        q.num_entity_ids = 1;
        view v = {.shards = shards};
        lh_error err;
        CHECK_OK(lh_pstore_query(ps, &q, view_fn, &v, &err), &err);
        CHECK_INT(v.entities, 1);
        CHECK_INT(v.misplaced, 0);
    }
    lh_pstore_free(ps);
}

/* Every data file of the table holds its rows in the order its footer
 * names (entity, then within the entity), and each row the shard its
 * partition says; returns the rows read. */
static size_t check_files_in_order(lh_storage *st)
{
    lh_error err;
    lh_delta_snapshot *snap = NULL;
    CHECK_OK(lh_delta_snapshot_load(st, "test/statements", -1, &snap, &err), &err);
    size_t total = 0;
    for (size_t i = 0; i < lh_delta_snapshot_num_files(snap); i++) {
        const lh_delta_file *f = lh_delta_snapshot_file(snap, i);
        const char *shard = lh_delta_map_get(&f->partition_values, "shard", NULL);
        const char *bucket = lh_delta_map_get(&f->partition_values, "bucket", NULL);
        const char *origin = lh_delta_map_get(&f->partition_values, "origin", NULL);
        char key[1024];
        snprintf(key, sizeof key, "test/statements/%s", f->path);
        lh_stmt_batch b;
        lh_stmt_batch_init(&b);
        CHECK_OK(lh_stmt_read_file(st, key, shard, bucket, origin, &b, &err), &err);
        for (size_t r = 1; r < b.len; r++)
            if (lh_stmt_cmp(&b.rows[r - 1], &b.rows[r]) > 0) {
                fprintf(stderr, "%s: row %zu (%s %s) before row %zu (%s %s)\n", f->path, r - 1,
                        b.rows[r - 1].entity_id, b.rows[r - 1].id, r, b.rows[r].entity_id,
                        b.rows[r].id);
                CHECK(false);
                break;
            }
        total += b.len;
        lh_stmt_batch_free(&b);
    }
    lh_delta_snapshot_free(snap);
    return total;
}

/* Problems `check` finds in the layout for a shard count (0: none). */
static size_t layout_problems(lh_storage *st, int shards, const char *want)
{
    lh_check_report rep;
    lh_check_report_init(&rep);
    lh_error err;
    CHECK_OK(lh_check_dataset(st, "test", shards, NULL, true, &rep, &err), &err);
    size_t n = 0;
    for (size_t i = 0; i < rep.problems.len; i++) {
        n += strstr(rep.problems.items[i], "partition:") != NULL;
        if (want && !strstr(rep.problems.items[i], want))
            fprintf(stderr, "unexpected: %s\n", rep.problems.items[i]);
        if (want) CHECK(strstr(rep.problems.items[i], want) != NULL);
    }
    lh_check_report_free(&rep);
    return n;
}

static void test_reshard_round_trip(void)
{
    char *dir = lh_test_tmpdir();
    lh_storage *st = NULL;
    lh_error err;
    CHECK_OK(lh_storage_open(dir, &st, &err), &err);
    lh_pstore *ps = open_store(st, 0);
    size_t stored = fill(ps);
    view before = read_view(ps, 0);
    size_t gone = 0; /* every live row tombstoned */
    for (int e = 0; e < ENTITIES; e++) gone += e % 11 == 0 && e % 4 != 0;
    CHECK_INT(before.entities, ENTITIES - gone);
    CHECK_INT(before.misplaced, 0);
    const int counts[] = {4, 16, 3, 1, 256, 0};
    for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
        int n = counts[c];
        lh_pstore_report rep;
        CHECK_OK(lh_pstore_reshard(ps, n, &rep, &err), &err);
        CHECK_INT(rep.rows_in, stored); /* raw rows: duplicates and tombstones kept */
        CHECK_INT(rep.rows_out, stored);
        CHECK(rep.checkpoint_version >= 0);
        /* one file per non-empty (shard, bucket, origin) */
        CHECK(rep.files_added == rep.partitions);
        CHECK(rep.files_added <= (size_t)(n > 1 ? n : 1) * 4);
        view after = read_view(ps, n);
        CHECK_INT(after.misplaced, 0);
        CHECK_INT(after.entities, before.entities);
        CHECK_INT(after.rows, before.rows);
        CHECK(after.digest == before.digest);
        check_lookups(st, n);
        CHECK_INT(check_files_in_order(st), stored);
        /* shard keys are hex of the count's width: `check` tells them apart */
        CHECK_INT(layout_problems(st, n, NULL), 0);
        if (n == 16) CHECK(layout_problems(st, 4, "not a key of 4 shard(s) (0..3)") > 0);
        if (n == 16) CHECK(layout_problems(st, 17, "not a key of 17 shard(s) (0..10)") > 0);
        if (n == 256) CHECK(layout_problems(st, 16, "not a key of 16 shard(s) (0..f)") > 0);
    }
    /* the merge after it dedupes as before */
    lh_pstore_report rep;
    CHECK_OK(lh_pstore_merge(ps, false, &rep, &err), &err);
    CHECK(rep.rows_out < stored);
    view merged = read_view(ps, 0);
    CHECK(merged.digest == before.digest);
    lh_pstore_free(ps);
    lh_storage_free(st);
    lh_test_rmtree(dir);
    free(dir);
}

static void test_reshard_refusals(void)
{
    char *dir = lh_test_tmpdir();
    lh_storage *st = NULL;
    lh_error err;
    CHECK_OK(lh_storage_open(dir, &st, &err), &err);
    lh_pstore *ps = open_store(st, 0);
    lh_pstore_report rep;
    /* no table yet: nothing to rewrite, the count is taken */
    CHECK_OK(lh_pstore_reshard(ps, 8, &rep, &err), &err);
    CHECK_INT(rep.files_added, 0);
    CHECK(lh_pstore_reshard(ps, LH_PSTORE_MAX_RESHARD + 1, &rep, &err) == LH_ERR_INVALID);
    CHECK(strstr(err.msg, "4097 shards") != NULL);
    CHECK(lh_pstore_reshard(ps, -1, &rep, &err) == LH_ERR_INVALID);
    /* a corrupt data file: the re-shard fails naming it, nothing is committed */
    fill(ps);
    int64_t v0 = -1, v1 = -1;
    CHECK_OK(lh_pstore_version(ps, &v0, &err), &err);
    lh_strlist files;
    lh_strlist_init(&files);
    CHECK_OK(lh_storage_list(st, "test/statements", LH_LIST_RECURSIVE, &files, &err), &err);
    const char *victim = NULL;
    for (size_t i = 0; i < files.len && !victim; i++)
        if (strstr(files.items[i], "origin=crawl") && strstr(files.items[i], ".parquet"))
            victim = files.items[i];
    CHECK(victim != NULL);
    CHECK_OK(lh_storage_write(st, victim, "PAR1 not a parquet file PAR1", 28, &err), &err);
    CHECK(lh_pstore_reshard(ps, 4, &rep, &err) != LH_OK);
    CHECK(strstr(err.msg, strrchr(victim, '/') + 1) != NULL);
    CHECK_OK(lh_pstore_version(ps, &v1, &err), &err);
    CHECK_INT(v1, v0);
    bool released = true;
    CHECK_OK(lh_pstore_unlock(ps, &released, &err), &err);
    CHECK(!released); /* the fence was let go */
    lh_strlist_free(&files);
    lh_pstore_free(ps);
    lh_storage_free(st);
    lh_test_rmtree(dir);
    free(dir);
}

static char *config_after(lh_storage *st, const char *yml, int shards, lh_status *rc,
                          lh_error *err)
{
    if (yml) CHECK_OK(lh_storage_write(st, "ds/config.yml", yml, strlen(yml), err), err);
    else lh_storage_delete(st, "ds/config.yml", err);
    *rc = lh_dataset_set_shards(st, "ds", shards, err);
    lh_buf out = LH_BUF_INIT;
    lh_error e2;
    CHECK_OK(lh_storage_read(st, "ds/config.yml", &out, &e2), &e2);
    return lh_buf_detach(&out, NULL);
}

static void test_config_shards(void)
{
    char *dir = lh_test_tmpdir();
    lh_storage *st = NULL;
    lh_error err;
    lh_status rc;
    CHECK_OK(lh_storage_open(dir, &st, &err), &err);
    char *y = config_after(st, "# made by hand\nname: ds\ntitle: \"Spenden — Ü\"\nshards: 4\n"
                               "publisher:\n  name: P\n  shards: 9\nlist: [a, b]\n",
                           16, &rc, &err);
    CHECK_OK(rc, &err);
    CHECK_STR(y, "name: ds\ntitle: \"Spenden — Ü\"\nshards: 16\npublisher:\n  name: P\n"
                 "  shards: 9\nlist: [a, b]\n");
    free(y);
    y = config_after(st, "name: ds\n", 2, &rc, &err); /* added when missing */
    CHECK_OK(rc, &err);
    CHECK_STR(y, "name: ds\nshards: 2\n");
    free(y);
    y = config_after(st, NULL, 3, &rc, &err); /* no file yet */
    CHECK_OK(rc, &err);
    CHECK_STR(y, "name: ds\nshards: 3\n");
    free(y);
    lh_dataset_config cfg;
    CHECK_OK(lh_dataset_config_read(st, "ds", &cfg, &err), &err);
    CHECK_INT(cfg.shards, 3);
    lh_dataset_config_free(&cfg);
    /* refused, the file left as it was */
    y = config_after(st, "- a\n- b\n", 2, &rc, &err);
    CHECK(rc == LH_ERR_CORRUPT);
    CHECK(strstr(err.msg, "ds/config.yml:1: not a mapping") != NULL);
    CHECK_STR(y, "- a\n- b\n");
    free(y);
    y = config_after(st, "shards:\n  nested: 1\n", 2, &rc, &err);
    CHECK(rc == LH_ERR_CORRUPT);
    CHECK(strstr(err.msg, "shards: not a count") != NULL);
    free(y);
    y = config_after(st, "name: [unclosed\n", 2, &rc, &err);
    CHECK(rc == LH_ERR_CORRUPT);
    CHECK(strstr(err.msg, "ds/config.yml:") != NULL);
    free(y);
    lh_storage_free(st);
    lh_test_rmtree(dir);
    free(dir);
}

/* A layout kept by the test: the count appends ask for, and what a
 * re-shard recorded (with whether it held the maintenance fence then). */
typedef struct layout {
    lh_storage *st;
    int shards;
    int recorded;
    bool fenced;
    bool fail;
} layout;

static lh_status layout_get(void *ctx, int *shards, lh_error *err)
{
    (void)err;
    *shards = ((layout *)ctx)->shards;
    return LH_OK;
}

static lh_status layout_set(void *ctx, int shards, lh_error *err)
{
    layout *l = ctx;
    bool lock = false, merge = false;
    lh_storage_exists(l->st, "test/.LOCK", &lock, err);
    lh_storage_exists(l->st, "test/.LOCK-MERGE", &merge, err);
    l->fenced = lock && merge;
    if (l->fail) return lh_error_set(err, LH_ERR_IO, "config.yml: disk full");
    l->recorded = shards;
    return LH_OK;
}

/* An append derives its shards from the layout's count, asked once its
 * marker is registered (a writer that opened the store before a re-shard
 * finished appends with the new count); a re-shard records its count
 * while it still holds the fence, and fails when that fails. */
static void test_layout(void)
{
    char *dir = lh_test_tmpdir();
    lh_storage *st = NULL;
    lh_error err;
    CHECK_OK(lh_storage_open(dir, &st, &err), &err);
    layout l = {st, 16, -1, false, false};
    lh_pstore_opts o;
    lh_pstore_opts_init(&o);
    o.shards = 4; /* stale: the layout says 16 */
    o.lock_max_retries = 2;
    o.layout = (lh_pstore_layout){layout_get, layout_set, &l};
    lh_pstore *ps = NULL;
    CHECK_OK(lh_pstore_open(st, "test", &o, &ps, &err), &err);
    lh_pstore_txn *t = NULL;
    CHECK_OK(lh_pstore_txn_begin(ps, &t, &err), &err);
    if (t) CHECK_INT(lh_pstore_txn_shards(t), 16);
    lh_pstore_txn_free(t);
    fill(ps);
    view v = read_view(ps, 16);
    CHECK_INT(v.misplaced, 0);
    CHECK(v.entities > 0);
    CHECK_INT(layout_problems(st, 16, NULL), 0);
    lh_pstore_report rep;
    CHECK_OK(lh_pstore_reshard(ps, 3, &rep, &err), &err);
    CHECK_INT(l.recorded, 3);
    CHECK(l.fenced);
    bool lock = true;
    CHECK_OK(lh_storage_exists(st, "test/.LOCK", &lock, &err), &err);
    CHECK(!lock);
    l.fail = true;
    CHECK_RC(lh_pstore_reshard(ps, 5, &rep, &err), LH_ERR_IO);
    CHECK(strstr(err.msg, "disk full") != NULL);
    CHECK(strstr(err.msg, "committed in 5 shard(s)") != NULL);
    /* committed but not recorded: the fence stays, as after a kill there */
    CHECK_OK(lh_storage_exists(st, "test/.LOCK", &lock, &err), &err);
    CHECK(lock);
    /* its commit carries the count, which the repair records (as `unlock`
     * does before it releases the fence) */
    l.fail = false;
    lh_pstore_layout_state ls;
    CHECK_OK(lh_pstore_layout_repair(ps, false, &ls, &err), &err);
    CHECK_INT(ls.committed, 5);
    CHECK_INT(ls.recorded, 16);
    CHECK(ls.differs);
    CHECK_INT(l.recorded, 3); /* not without repair */
    CHECK_OK(lh_pstore_layout_repair(ps, true, &ls, &err), &err);
    CHECK(ls.differs);
    CHECK_INT(l.recorded, 5);
    bool released = false;
    CHECK_OK(lh_pstore_unlock(ps, &released, &err), &err);
    CHECK(released);
    l.shards = 5;
    CHECK_OK(lh_pstore_layout_repair(ps, true, &ls, &err), &err);
    CHECK(!ls.differs);
    CHECK_INT(ls.committed, 5);
    l.shards = 1; /* 0 and 1 are one layout */
    CHECK_OK(lh_pstore_reshard(ps, 0, &rep, &err), &err);
    CHECK_OK(lh_pstore_layout_repair(ps, false, &ls, &err), &err);
    CHECK_INT(ls.committed, 0);
    CHECK(!ls.differs);
    /* the newest commit no re-shard: nothing to say */
    fill(ps);
    CHECK_OK(lh_pstore_layout_repair(ps, false, &ls, &err), &err);
    CHECK_INT(ls.committed, -1);
    CHECK(!ls.differs);
    lh_pstore_free(ps);
    lh_storage_free(st);
    lh_test_rmtree(dir);
    free(dir);
}

int main(void)
{
    setenv("LAKEHOUSE_LOCK_BACKOFF_MS", "25", 1);
    RUN(test_reshard_round_trip);
    RUN(test_reshard_refusals);
    RUN(test_config_shards);
    RUN(test_layout);
    return lh_test_report();
}
